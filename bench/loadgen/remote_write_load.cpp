#include "loadgen/remote_write_load.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "config/remote_write_config.h"
#include "expose/exposition.h"
#include "loadgen/process_probe.h"
#include "remote_write/http_sender.h"
#include "remote_write/request_encoder.h"

namespace llm_exporter::bench {
namespace {

using Steady = std::chrono::steady_clock;

// The agent's default latency buckets (--metrics.duration-buckets), +Inf implicit.
const std::vector<double> kDurationBounds = {0.1, 0.5, 1, 2, 5, 10, 30};
const std::vector<std::string> kDurationLes = {"0.1", "0.5", "1", "2", "5", "10", "30", "+Inf"};
constexpr std::size_t kBuckets = 8;
constexpr std::size_t kSamplesPerHistogram = kBuckets + 2;  // the buckets, _sum, _count

// Model names as providers spell them, so that label bytes are as long as real ones.
constexpr std::array<std::string_view, 8> kModels = {
    "gpt-4o",         "gpt-4o-mini",      "claude-3-5-sonnet-20241022", "claude-3-5-haiku-20241022",
    "gemini-1.5-pro", "gemini-1.5-flash", "o1-mini",                    "llama-3.1-70b-instruct"};

// The label values of one agent's series; every agent has the same ones and differs from the
// others by its instance label. Immutable once built: shared by all threads.
struct FleetSeries {
  explicit FleetSeries(const SeriesMix& mix) {
    for (std::size_t j = 0; j < mix.requests; ++j) {
      request_endpoints.push_back("/v1/workflow-" + std::to_string(j / 16));
    }
    for (std::size_t h = 0; h < mix.histograms; ++h) {
      histogram_endpoints.push_back("/v1/workflow-" + std::to_string(h / 8));
    }
    for (std::size_t c = 0; c < mix.costs; ++c) {
      users.push_back("user-" + std::to_string(c));
      teams.push_back("team-" + std::to_string(c % 50));
    }
  }
  std::vector<std::string> request_endpoints;    // request j: model j % 8, status by (j / 8) % 2
  std::vector<std::string> histogram_endpoints;  // histogram h: model h % 8
  std::vector<std::string> users;                // cost series c: model c % 8
  std::vector<std::string> teams;
};

// Round r (from 1) of one agent: every series' value as it would be after r scrape intervals of
// steady traffic, counters growing.
void EncodeRound(const FleetSeries& series, uint64_t r, remote_write::RequestEncoder& encoder) {
  using expose::MetricType;
  encoder.Family("llm_requests_total", MetricType::kCounter, "Total LLM requests");
  for (std::size_t j = 0; j < series.request_endpoints.size(); ++j) {
    encoder.Sample("llm_requests_total",
                   {{"model", kModels[j % kModels.size()]},
                    {"endpoint", series.request_endpoints[j]},
                    {"status", (j / 8) % 2 == 0 ? "ok" : "error"}},
                   static_cast<uint64_t>(j % 13 + 1) * r);
  }
  encoder.Family("llm_cost_usd_total", MetricType::kCounter, "Total cost in USD", "usd");
  for (std::size_t c = 0; c < series.users.size(); ++c) {
    encoder.Sample("llm_cost_usd_total",
                   {{"model", kModels[c % kModels.size()]},
                    {"user_id", series.users[c]},
                    {"team_id", series.teams[c]}},
                   static_cast<double>(c % 97 + 1) * 0.0125 * static_cast<double>(r));
  }
  encoder.Family("llm_request_duration_seconds", MetricType::kHistogram, "Request latency",
                 "seconds");
  const expose::BucketBounds buckets{kDurationBounds, kDurationLes};
  std::array<uint64_t, kBuckets> counts{};
  for (std::size_t h = 0; h < series.histogram_endpoints.size(); ++h) {
    uint64_t total = 0;
    for (std::size_t b = 0; b < kBuckets; ++b) {
      counts[b] = static_cast<uint64_t>((h + b) % 5 + 1) * r;
      total += counts[b];
    }
    expose::HistogramSample sample;
    sample.counts = std::span<const uint64_t>(counts);
    sample.sum = static_cast<double>(total) * 0.8;
    encoder.Histogram("llm_request_duration_seconds",
                      {{"model", kModels[h % kModels.size()]},
                       {"endpoint", series.histogram_endpoints[h]}},
                      buckets, sample);
  }
  encoder.Finish();
}

int64_t WallMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One simulated agent, owned by one thread.
struct SimulatedAgent {
  remote_write::EncoderOptions options;
  Steady::time_point due;
  int64_t last_timestamp_ms = 0;
  uint64_t round = 0;  // rounds begun
};

// What the threads share while they run.
struct Progress {
  std::atomic<uint64_t> samples_accepted{0};
  std::atomic<std::size_t> agents_with_series{0};  // agents whose first round was answered
};

struct ThreadReport {
  uint64_t requests_accepted = 0;
  uint64_t rounds = 0;
  uint64_t late_rounds = 0;
  std::map<int, RequestFailures> failures;
};

}  // namespace

uint64_t RemoteWriteLoadResult::failed_requests() const {
  uint64_t n = 0;
  for (const auto& [status, f] : failures) n += f.requests;
  return n;
}

SeriesMix RemoteWriteLoad::MixFor(std::size_t series) {
  SeriesMix mix;
  mix.requests = series / 10;
  mix.histograms = series / 5 / kSamplesPerHistogram;
  mix.histogram_samples = mix.histograms * kSamplesPerHistogram;
  mix.costs = series - mix.requests - mix.histogram_samples;
  return mix;
}

RemoteWriteLoadResult RemoteWriteLoad::Run() {
  RemoteWriteLoadResult result;
  result.mix = MixFor(options_.series);
  const FleetSeries series(result.mix);
  const std::size_t agents = std::max<std::size_t>(options_.agents, 1);
  const std::size_t threads =
      options_.threads == 0 ? agents : std::min(options_.threads, agents);

  config::RemoteWriteTarget target;
  target.url = options_.url;
  target.remote_timeout = options_.request_timeout;
  remote_write::InitHttpClient();

  std::optional<ProcessProbe> probe;
  if (options_.receiver_pid) probe.emplace(*options_.receiver_pid);
  const std::optional<double> receiver_cpu_before = probe ? probe->CpuSeconds() : std::nullopt;

  Progress progress;
  std::vector<ThreadReport> reports(threads);
  std::atomic<std::size_t> running{threads};
  const Steady::time_point start = Steady::now();
  const Steady::time_point end = start + options_.duration;

  const auto work = [&](std::size_t t) {
    ThreadReport& report = reports[t];
    remote_write::HttpSender sender(target);
    std::vector<SimulatedAgent> mine;
    for (std::size_t a = t; a < agents; a += threads) {
      SimulatedAgent agent;
      agent.options.external_labels = {{"instance", "agent-" + std::to_string(a) + ":9464"},
                                       {"job", "llm_exporter"}};
      agent.options.max_samples_per_send = options_.max_samples_per_send;
      agent.due =
          start + options_.interval * static_cast<int64_t>(a) / static_cast<int64_t>(agents);
      mine.push_back(std::move(agent));
    }
    std::vector<remote_write::EncodedRequest> requests;
    bool stop = false;
    while (!stop) {
      SimulatedAgent& agent = *std::min_element(
          mine.begin(), mine.end(), [](const auto& a, const auto& b) { return a.due < b.due; });
      Steady::time_point now = Steady::now();
      if (now >= end) break;
      if (agent.due > now) {
        std::this_thread::sleep_until(std::min(agent.due, end));
        continue;
      }
      if (options_.interval.count() > 0 && now - agent.due >= options_.interval) {
        ++report.late_rounds;
      }
      ++agent.round;
      agent.options.timestamp_ms = std::max(WallMillis(), agent.last_timestamp_ms + 1);
      agent.last_timestamp_ms = agent.options.timestamp_ms;
      requests.clear();
      {
        remote_write::RequestEncoder encoder(agent.options, /*relabel=*/nullptr, &requests);
        EncodeRound(series, agent.round, encoder);
      }
      for (const remote_write::EncodedRequest& request : requests) {
        if (Steady::now() >= end) {
          stop = true;
          break;
        }
        const remote_write::PostResult posted = sender.Post(request.body);
        if (posted.ok()) {
          progress.samples_accepted.fetch_add(request.samples, std::memory_order_relaxed);
          ++report.requests_accepted;
        } else {
          RequestFailures& f = report.failures[posted.status];
          ++f.requests;
          f.samples += request.samples;
          if (f.first_error.empty()) f.first_error = posted.error.empty() ? "-" : posted.error;
        }
      }
      if (stop) break;
      ++report.rounds;
      if (agent.round == 1) progress.agents_with_series.fetch_add(1);
      agent.due = options_.interval.count() > 0 ? agent.due + options_.interval : Steady::now();
    }
    running.fetch_sub(1);
  };
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < threads; ++t) pool.emplace_back(work, t);

  // Meanwhile, every 200 ms: the receiver's RSS; and once every agent's series exist, the time,
  // the samples accepted so far and the receiver's CPU time, read together.
  const auto sample_rss = [&] {
    if (!probe) return;
    if (const auto rss = probe->ResidentBytes()) {
      result.receiver_rss_max = std::max(result.receiver_rss_max.value_or(0), *rss);
    }
  };
  std::optional<double> receiver_cpu_at_all_series;
  uint64_t samples_at_all_series = 0;
  while (running.load() > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    sample_rss();
    if (!result.all_series_seconds && progress.agents_with_series.load() == agents) {
      samples_at_all_series = progress.samples_accepted.load();
      result.all_series_seconds = std::chrono::duration<double>(Steady::now() - start).count();
      if (probe) receiver_cpu_at_all_series = probe->CpuSeconds();
    }
  }
  for (std::thread& thread : pool) thread.join();
  const Steady::time_point finished = Steady::now();
  sample_rss();

  result.seconds = std::chrono::duration<double>(finished - start).count();
  result.samples_accepted = progress.samples_accepted.load();
  for (const ThreadReport& report : reports) {
    result.requests_accepted += report.requests_accepted;
    result.rounds += report.rounds;
    result.late_rounds += report.late_rounds;
    for (const auto& [status, f] : report.failures) {
      RequestFailures& total = result.failures[status];
      total.requests += f.requests;
      total.samples += f.samples;
      if (total.first_error.empty()) total.first_error = f.first_error;
    }
  }
  if (result.all_series_seconds) {
    result.samples_after_all_series = result.samples_accepted - samples_at_all_series;
  }
  if (probe) {
    const std::optional<double> cpu = probe->CpuSeconds();
    if (receiver_cpu_before && cpu) result.receiver_cpu_seconds = *cpu - *receiver_cpu_before;
    if (receiver_cpu_at_all_series && cpu) {
      result.receiver_cpu_seconds_after_all_series = *cpu - *receiver_cpu_at_all_series;
    }
    result.receiver_rss_end = probe->ResidentBytes();
  }
  return result;
}

}  // namespace llm_exporter::bench
