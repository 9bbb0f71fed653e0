// llm_exporter_loadgen: sends a deterministic event mix to a running llm_exporter over HTTP, the
// unix stream socket or the unix datagram socket, or as OpenTelemetry spans over OTLP/HTTP or
// OTLP/gRPC, then scrapes /metrics until every event is counted and reports events/s end to end.
// --mode=scrape runs the scrape benchmark instead; --mode=remote-write plays a fleet of agents
// pushing Prometheus remote write to one receiver.
// Composition only: the work is done by the classes beside this file.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>

#include "loadgen/baseline_server.h"
#include "loadgen/event_mix.h"
#include "loadgen/http_sender.h"
#include "loadgen/metrics_poller.h"
#include "loadgen/otlp_grpc_sender.h"
#include "loadgen/otlp_http_sender.h"
#include "loadgen/process_probe.h"
#include "loadgen/remote_write_load.h"
#include "loadgen/scrape_benchmark.h"
#include "loadgen/send_report.h"
#include "loadgen/span_bodies.h"
#include "loadgen/unix_datagram_sender.h"
#include "loadgen/unix_stream_sender.h"

namespace {

using namespace llm_exporter::bench;
using Clock = std::chrono::steady_clock;

struct Flags {
  std::string mode = "http";
  std::string address = "127.0.0.1:9778";
  std::string metrics_path = "/metrics";
  std::string unix_path;
  std::string unixgram_path;
  std::string grpc_address = "127.0.0.1:4317";
  uint64_t events = 100000;
  std::size_t batch = 1000;  // 512 in the OTLP modes unless given
  std::string format = "array";
  std::size_t connections = 1;
  std::size_t pool = 4096;
  std::size_t users = 100;
  std::size_t quality_every = 50;
  uint64_t seed = 1;
  double timeout_seconds = 120;
  int poll_ms = 5;
  int agent_pid = 0;
  std::string dump_events;
  std::size_t series = 100000;
  std::size_t repeat = 7;
  bool quick_ack = false;
  std::size_t agents = 10;
  double interval_seconds = 0;
  double duration_seconds = 20;
  int receiver_pid = 0;
  std::string baseline;
};

double LoadgenCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

std::string MiB(std::optional<uint64_t> bytes) {
  return bytes ? fmt::format("{:.1f} MiB", static_cast<double>(*bytes) / (1 << 20)) : "n/a";
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

int RunScrape(const Flags& flags, const std::string& host, int port) {
  ScrapeBenchmarkOptions options;
  options.host = host;
  options.port = port;
  options.metrics_path = flags.metrics_path;
  options.series = flags.series;
  options.batch = flags.batch;
  options.repeat = std::max<std::size_t>(flags.repeat, 1);
  if (flags.agent_pid > 0) options.agent_pid = flags.agent_pid;
  options.quick_ack = flags.quick_ack;
  const ScrapeBenchmarkResult r = ScrapeBenchmark(options).Run();
  if (!r.ok()) {
    std::cerr << "llm_exporter_loadgen: scrape benchmark failed: " << r.error << "\n";
    return 1;
  }
  const double client_min = *std::min_element(r.client_seconds.begin(), r.client_seconds.end());
  const double render_min = *std::min_element(r.render_seconds.begin(), r.render_seconds.end());
  fmt::print("scrape: series={} (agent reports {} cost series) scrapes={}\n", r.series,
             r.cost_series_seen, r.client_seconds.size());
  fmt::print("scrape: GET /metrics {:.2f} ms median, {:.2f} ms min (client: request to last byte)\n",
             Median(r.client_seconds) * 1e3, client_min * 1e3);
  fmt::print("scrape: render {:.2f} ms median, {:.2f} ms min (agent: "
             "llm_exporter_last_scrape_duration_seconds)\n",
             Median(r.render_seconds) * 1e3, render_min * 1e3);
  fmt::print("scrape: {} bytes, {:.1f} bytes per series, {:.1f} ns per series (client median)\n",
             r.bytes, static_cast<double>(r.bytes) / r.series,
             Median(r.client_seconds) * 1e9 / r.series);
  fmt::print("memory: rss start {}, with {} series {}, with {} series {}, after scrapes {}\n",
             MiB(r.rss_start), r.warm_series, MiB(r.rss_warm), r.series, MiB(r.rss_filled),
             MiB(r.rss_after_scrapes));
  if (const auto per_series = r.BytesPerSeries()) {
    fmt::print("memory: {:.0f} bytes of RSS per additional cost series ({} -> {} series)\n",
               *per_series, r.warm_series, r.series);
  } else {
    fmt::print("memory: not measured (pass --agent-pid)\n");
  }
  if (r.cost_series_seen < static_cast<double>(r.series)) {
    std::cerr << "llm_exporter_loadgen: the agent holds fewer cost series than were sent; raise "
                 "--metrics.max-series-per-family\n";
    return 1;
  }
  return 0;
}

// --address as a receiver's remote write URL: a URL as it is, host:port as Prometheus' path.
std::string RemoteWriteUrl(const std::string& address) {
  if (address.find("://") != std::string::npos) return address;
  return "http://" + address + "/api/v1/write";
}

int RunRemoteWrite(const Flags& flags, bool connections_given) {
  RemoteWriteLoadOptions options;
  options.url = RemoteWriteUrl(flags.address);
  options.agents = std::max<std::size_t>(flags.agents, 1);
  options.series = std::max<std::size_t>(flags.series, 1);
  options.threads =
      connections_given ? flags.connections : std::min<std::size_t>(options.agents, 256);
  options.interval = std::chrono::milliseconds(static_cast<int64_t>(flags.interval_seconds * 1000));
  options.duration = std::chrono::milliseconds(static_cast<int64_t>(flags.duration_seconds * 1000));
  options.max_samples_per_send = std::max<std::size_t>(flags.batch, 1);
  options.request_timeout =
      std::chrono::milliseconds(static_cast<int64_t>(flags.timeout_seconds * 1000));
  if (flags.receiver_pid > 0) options.receiver_pid = flags.receiver_pid;
  const SeriesMix mix = RemoteWriteLoad::MixFor(options.series);
  const std::size_t threads = std::min(options.threads, options.agents);
  fmt::print("remote-write: {} agents x {} series ({} llm_requests_total, {} "
             "llm_request_duration_seconds histograms = {} samples, {} llm_cost_usd_total), "
             "{} samples per request, {}, for {} s, {} connection(s), to {}\n",
             options.agents, mix.samples(), mix.requests, mix.histograms, mix.histogram_samples,
             mix.costs, options.max_samples_per_send,
             options.interval.count() == 0
                 ? std::string("as fast as possible")
                 : fmt::format("one round per agent every {} s", flags.interval_seconds),
             flags.duration_seconds, threads, options.url);

  const double loadgen_cpu_before = LoadgenCpuSeconds();
  const RemoteWriteLoadResult r = RemoteWriteLoad(options).Run();
  const double loadgen_cpu = LoadgenCpuSeconds() - loadgen_cpu_before;

  const double rate = static_cast<double>(r.samples_accepted) / r.seconds;
  fmt::print("accepted: {} samples in {:.2f} s: {:.0f} samples/s; {} requests answered 2xx, "
             "{:.1f} requests/s; {} complete rounds ({} started a whole interval late)\n",
             r.samples_accepted, r.seconds, rate, r.requests_accepted,
             static_cast<double>(r.requests_accepted) / r.seconds, r.rounds, r.late_rounds);
  double steady_rate = 0;
  if (r.all_series_seconds) {
    const double after = r.seconds - *r.all_series_seconds;
    steady_rate = after > 0 ? static_cast<double>(r.samples_after_all_series) / after : 0;
    fmt::print("steady:   every agent's series existed at {:.2f} s (first rounds answered); "
               "from then on {:.0f} samples/s\n",
               *r.all_series_seconds, steady_rate);
  } else {
    fmt::print("steady:   not reached: some agent's first round was not answered within the "
               "duration\n");
  }
  if (r.failures.empty()) {
    fmt::print("failed:   none\n");
  }
  for (const auto& [status, f] : r.failures) {
    fmt::print("failed:   {}: {} requests, {} samples; first answer: {}\n",
               status == 0 ? std::string("no answer") : "HTTP " + std::to_string(status),
               f.requests, f.samples, f.first_error.substr(0, 200));
  }
  std::string receiver_fields;
  if (r.receiver_cpu_seconds) {
    fmt::print("receiver: {:.2f} s CPU, {:.2f} cores, {:.2f} us CPU per accepted sample",
               *r.receiver_cpu_seconds, *r.receiver_cpu_seconds / r.seconds,
               r.samples_accepted > 0
                   ? *r.receiver_cpu_seconds * 1e6 / static_cast<double>(r.samples_accepted)
                   : 0.0);
    if (r.receiver_cpu_seconds_after_all_series && r.samples_after_all_series > 0) {
      fmt::print(" ({:.2f} once the series existed)",
                 *r.receiver_cpu_seconds_after_all_series * 1e6 /
                     static_cast<double>(r.samples_after_all_series));
    }
    fmt::print("; rss max {}, at end {}\n", MiB(r.receiver_rss_max), MiB(r.receiver_rss_end));
    receiver_fields = fmt::format(
        " receiver_cores={:.2f} receiver_rss_mib={:.0f}", *r.receiver_cpu_seconds / r.seconds,
        static_cast<double>(r.receiver_rss_max.value_or(0)) / (1 << 20));
  }
  fmt::print("loadgen:  {:.2f} s CPU ({:.0f} ns CPU per accepted sample: encoding, snappy, "
             "HTTP)\n",
             loadgen_cpu,
             r.samples_accepted > 0 ? loadgen_cpu * 1e9 / static_cast<double>(r.samples_accepted)
                                    : 0.0);
  fmt::print("RESULT mode=remote-write agents={} series={} interval_s={} samples_per_s={:.0f} "
             "steady_samples_per_s={:.0f} requests_per_s={:.1f} failed_requests={}{}\n",
             options.agents, mix.samples(), flags.interval_seconds, rate, steady_rate,
             static_cast<double>(r.requests_accepted) / r.seconds, r.failed_requests(),
             receiver_fields);
  return r.samples_accepted > 0 && r.failures.empty() ? 0 : 1;
}

bool IsOtlp(const Flags& flags) { return flags.mode.starts_with("otlp-"); }

uint64_t UnixNanosNow() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// The same HTTP load sent to llm_exporter_baseline, the bare civetweb + simdjson server: its
// events/s, or nullopt (with the reason printed) when it could not be measured. Nothing waits
// for /metrics there: every answer's "accepted" count is checked as the agent's are.
std::optional<double> RunBaseline(const Flags& flags, const EventMix& mix,
                                  HttpLoadOptions options) {
  BaselineServer server;
  std::string error;
  if (!server.Start(flags.baseline, &error)) {
    std::cerr << "llm_exporter_loadgen: baseline: " << error << "\n";
    return std::nullopt;
  }
  options.port = server.port();
  ProcessProbe probe(server.pid());
  const std::optional<double> cpu_before = probe.CpuSeconds();
  const Clock::time_point start = Clock::now();
  const SendReport report = HttpSender(mix, options).Run();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const std::optional<double> cpu_after = probe.CpuSeconds();
  if (!report.ok()) {
    std::cerr << "llm_exporter_loadgen: baseline: sending failed after " << report.events
              << " events: " << report.error << "\n";
    return std::nullopt;
  }
  const double events = static_cast<double>(options.events);
  fmt::print("baseline: {} events in {:.3f} s: {:.0f} events/s (llm_exporter_baseline: civetweb "
             "+ simdjson, parse only)",
             options.events, seconds, events / seconds);
  if (cpu_before && cpu_after) {
    fmt::print("; its CPU {:.2f} s ({:.0f} ns per event)", *cpu_after - *cpu_before,
               (*cpu_after - *cpu_before) * 1e9 / events);
  }
  fmt::print("\n");
  return events / seconds;
}

int RunLoad(const Flags& flags, const std::string& host, int port) {
  const std::size_t batch = std::max<std::size_t>(flags.batch, 1);
  const bool otlp = IsOtlp(flags);
  // What the run counts: spans carry LLM calls only, no quality scores.
  const char* unit = otlp ? "spans" : "events";
  EventMixOptions mix_options;
  mix_options.users = flags.users;
  mix_options.seed = flags.seed;
  mix_options.quality_every = otlp ? 0 : flags.quality_every;
  // A pool that is a whole number of batches, so every full batch body is built once up front.
  mix_options.pool_size = (std::max<std::size_t>(flags.pool, 1) + batch - 1) / batch * batch;
  const EventMix mix(mix_options);
  const BodyFormat format = flags.format == "ndjson" ? BodyFormat::kNdjson : BodyFormat::kArray;
  const uint64_t calls = mix.CallsIn(flags.events);
  const uint64_t scores = mix.QualityScoresIn(flags.events);

  if (!flags.dump_events.empty()) {
    std::ofstream dump(flags.dump_events, std::ios::binary);
    for (uint64_t i = 0; i < flags.events; ++i) dump << mix.at(i).json << '\n';
    if (!dump) {
      std::cerr << "llm_exporter_loadgen: cannot write " << flags.dump_events << "\n";
      return 2;
    }
  }

  std::string describe;
  if (flags.mode == "http") {
    describe = batch == 1 ? "http, one event per POST"
                          : fmt::format("http, {} events per POST ({})", batch, flags.format);
  } else if (flags.mode == "unix") {
    describe = "unix stream, NDJSON";
  } else if (flags.mode == "otlp-http") {
    describe = fmt::format("otlp-http, {} spans per POST /v1/traces (protobuf)", batch);
  } else if (flags.mode == "otlp-grpc") {
    describe = fmt::format("otlp-grpc, {} spans per Export (protobuf) to {}", batch,
                           flags.grpc_address);
  } else {
    describe = batch == 1 ? "unixgram, one event per datagram"
                          : fmt::format("unixgram, {} events per datagram (NDJSON)", batch);
  }
  if ((flags.mode == "http" || flags.mode == "otlp-http") && flags.quick_ack) {
    describe += ", TCP_QUICKACK";
  }
  fmt::print("loadgen: {}; {} {} ({} calls, {} quality scores), {} connection(s), pool {}\n",
             describe, flags.events, unit, calls, scores, flags.connections, mix.size());
  // OTLP bodies are built before the clock starts, as HttpSender builds its own.
  std::optional<SpanBodies> span_bodies;
  if (otlp) {
    SpanBodiesOptions options;
    options.batch = batch;
    options.spans = flags.events;
    options.connections = flags.connections;
    options.batch_options.start_unix_nanos = UnixNanosNow() - 60'000'000'000ull;
    options.batch_options.id_seed = flags.seed;
    span_bodies.emplace(mix, options);
  }

  MetricsPoller poller(host, port, flags.metrics_path, flags.quick_ack);
  MetricsSnapshot before;
  std::string error;
  if (!poller.Scrape(&before, &error)) {
    std::cerr << "llm_exporter_loadgen: cannot scrape the agent: " << error << "\n";
    return 1;
  }
  std::optional<ProcessProbe> probe;
  if (flags.agent_pid > 0) probe.emplace(flags.agent_pid);
  const std::optional<double> agent_cpu_before = probe ? probe->CpuSeconds() : std::nullopt;
  const double loadgen_cpu_before = LoadgenCpuSeconds();

  HttpLoadOptions http_options;
  http_options.host = host;
  http_options.port = port;
  http_options.connections = flags.connections;
  http_options.batch = batch;
  http_options.format = format;
  http_options.events = flags.events;
  http_options.quick_ack = flags.quick_ack;

  const Clock::time_point start = Clock::now();
  SendReport report;
  if (flags.mode == "http") {
    report = HttpSender(mix, http_options).Run();
  } else if (flags.mode == "otlp-http") {
    report = OtlpHttpSender(*span_bodies, {host, port, "/v1/traces", flags.quick_ack}).Run();
  } else if (flags.mode == "otlp-grpc") {
    const std::chrono::milliseconds call_timeout(
        static_cast<int64_t>(flags.timeout_seconds * 1000));
    report = OtlpGrpcSender(*span_bodies, {flags.grpc_address, call_timeout}).Run();
  } else if (flags.mode == "unix") {
    report = UnixStreamSender(mix, {flags.unix_path, flags.connections, flags.events}).Run();
  } else {
    report = UnixDatagramSender(mix, {flags.unixgram_path, flags.connections, batch, flags.events})
                 .Run();
  }
  const Clock::time_point sent = Clock::now();
  if (!report.ok()) {
    std::cerr << "llm_exporter_loadgen: sending failed after " << report.events << " " << unit
              << ": " << report.error << "\n";
    return 1;
  }

  const double want_requests = before.requests + static_cast<double>(calls);
  const double want_scores = before.quality_scores + static_cast<double>(scores);
  const double events = static_cast<double>(flags.events);
  const double want_spans = before.llm_spans + (otlp ? events : 0);
  MetricsSnapshot after;
  const bool reached = poller.PollUntil(
      [&](const MetricsSnapshot& s) {
        if (s.requests >= want_requests && s.quality_scores >= want_scores &&
            s.llm_spans >= want_spans) {
          return true;
        }
        // Spans refused one by one are answered as partial_success, which stops the run before
        // this; a span counted but refused on the way to the store is an event rejection.
        if (otlp) {
          return s.rejected + s.rejected_spans > before.rejected + before.rejected_spans &&
                 s.llm_spans >= want_spans;
        }
        // Every event was decided and some were refused: they will never show up.
        return s.rejected > before.rejected && s.accepted + s.rejected >= before.accepted +
                                                                            before.rejected + events;
      },
      std::chrono::milliseconds(flags.poll_ms),
      std::chrono::milliseconds(static_cast<int64_t>(flags.timeout_seconds * 1000)), &after,
      &error);
  const Clock::time_point visible = Clock::now();
  const double loadgen_cpu = LoadgenCpuSeconds() - loadgen_cpu_before;
  const std::optional<double> agent_cpu_after = probe ? probe->CpuSeconds() : std::nullopt;

  const double send_seconds = std::chrono::duration<double>(sent - start).count();
  const double total_seconds = std::chrono::duration<double>(visible - start).count();
  fmt::print("sent:     {} {} in {:.3f} s ({:.0f} {}/s), {} messages, {} connects\n",
             report.events, unit, send_seconds, events / send_seconds, unit, report.messages,
             report.connects);
  fmt::print("visible:  {} {} in {:.3f} s end to end: {:.0f} {}/s ({} scrapes)\n", flags.events,
             unit, total_seconds, events / total_seconds, unit, poller.scrapes());
  if (agent_cpu_before && agent_cpu_after) {
    const double cpu = *agent_cpu_after - *agent_cpu_before;
    fmt::print("agent:    {:.2f} s CPU ({:.0f} ns CPU per {}), rss {}\n", cpu,
               cpu * 1e9 / events, otlp ? "span" : "event", MiB(probe->ResidentBytes()));
  }
  fmt::print("loadgen:  {:.2f} s CPU ({:.0f} ns CPU per {})\n", loadgen_cpu,
             loadgen_cpu * 1e9 / events, otlp ? "span" : "event");

  const double got_requests = after.requests - before.requests;
  const double got_scores = after.quality_scores - before.quality_scores;
  const double got_rejected = after.rejected - before.rejected;
  const double got_spans = after.llm_spans - before.llm_spans;
  const double got_rejected_spans = after.rejected_spans - before.rejected_spans;
  if (!reached || got_rejected > 0 || got_rejected_spans > 0 ||
      got_requests != static_cast<double>(calls) || got_scores != static_cast<double>(scores) ||
      (otlp && got_spans != events)) {
    fmt::print("NOT all {} {} visible: llm_requests_total +{} of {}, "
               "llm_quality_score_count +{} of {}, rejected +{}",
               flags.events, unit, got_requests, calls, got_scores, scores, got_rejected);
    if (otlp) {
      fmt::print(", llm_exporter_otlp_spans_received_total{{kind=\"llm_call\"}} +{} of {}, "
                 "llm_exporter_otlp_spans_rejected_total +{}",
                 got_spans, flags.events, got_rejected_spans);
    }
    fmt::print("{}\n", reached ? "" : " (" + error + ")");
    return 1;
  }
  if (otlp) {
    fmt::print("all {} spans visible in /metrics (llm_exporter_otlp_spans_received_total"
               "{{kind=\"llm_call\"}} +{}, llm_requests_total +{}, rejected +0)\n",
               flags.events, flags.events, calls);
  } else {
    fmt::print("all {} events visible in /metrics (llm_requests_total +{}, "
               "llm_quality_score_count +{}, rejected +0)\n",
               flags.events, calls, scores);
  }
  const double rate = events / total_seconds;
  std::string baseline_fields;
  if (!flags.baseline.empty()) {
    const std::optional<double> baseline = RunBaseline(flags, mix, http_options);
    if (!baseline) return 1;
    fmt::print("share:    the agent made {:.1f}% of the baseline's rate ({:.0f} of {:.0f} "
               "events/s)\n",
               rate * 100 / *baseline, rate, *baseline);
    baseline_fields = fmt::format(" baseline_per_s={:.0f} share={:.3f}", *baseline, rate / *baseline);
  }
  fmt::print("RESULT mode={} batch={} connections={} quickack={} {}={} {}_per_s={:.0f}{}\n",
             flags.mode, batch, flags.connections, flags.quick_ack ? 1 : 0, unit, flags.events,
             unit, rate, baseline_fields);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  CLI::App app{"llm_exporter_loadgen: a deterministic load of LLM events for llm_exporter, "
               "measured end to end until visible in /metrics (bench/README.md)."};
  app.add_option("--mode", flags.mode,
                 "http, unix (stream, NDJSON), unixgram, otlp-http (POST /v1/traces, protobuf), "
                 "otlp-grpc, scrape, or remote-write (a fleet of agents pushing to a receiver)")
      ->check(CLI::IsMember(
          {"http", "unix", "unixgram", "otlp-http", "otlp-grpc", "scrape", "remote-write"}))
      ->capture_default_str();
  app.add_option("--address", flags.address,
                 "The agent's HTTP address (127.0.0.1:PORT): /metrics, and /v1/events in http "
                 "mode; remote-write: the receiver's URL (host:port: "
                 "http://host:port/api/v1/write)")
      ->capture_default_str();
  app.add_option("--metrics-path", flags.metrics_path)->capture_default_str();
  app.add_option("--unix", flags.unix_path, "The agent's --ingest.listen-unix socket");
  app.add_option("--unixgram", flags.unixgram_path, "The agent's --ingest.listen-unixgram socket");
  app.add_option("--grpc-address", flags.grpc_address,
                 "otlp-grpc: the agent's --otlp.grpc-listen-address")
      ->capture_default_str();
  app.add_option("--events", flags.events, "Events to send (spans in the OTLP modes)")
      ->capture_default_str();
  app.add_option("--batch", flags.batch,
                 "Events per POST or per datagram (1: one JSON object each); scrape: per POST; "
                 "OTLP: spans per export request (default 512, the SDKs' batch); remote-write: "
                 "samples per request (default 2000, the agent's max_samples_per_send)")
      ->capture_default_str();
  app.add_option("--format", flags.format, "HTTP batch body: array or ndjson")
      ->check(CLI::IsMember({"array", "ndjson"}))
      ->capture_default_str();
  app.add_option("--connections", flags.connections,
                 "Connections (sockets), one thread each; remote-write: shared by the agents "
                 "(default one per agent)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{256}))
      ->capture_default_str();
  app.add_option("--pool", flags.pool, "Distinct events in the mix (rounded up to whole batches)")
      ->capture_default_str();
  app.add_option("--users", flags.users, "Distinct user_id values in the mix")->capture_default_str();
  app.add_option("--quality-every", flags.quality_every,
                 "Every n-th event of the mix is a quality score; 0: none (the OTLP modes: none)")
      ->capture_default_str();
  app.add_option("--seed", flags.seed, "Seed of the mix")->capture_default_str();
  app.add_option("--timeout", flags.timeout_seconds,
                 "Seconds to wait, after sending, for every event to be visible (otlp-grpc: also "
                 "for each call; remote-write: for each request)")
      ->capture_default_str();
  app.add_option("--poll-ms", flags.poll_ms, "Milliseconds between scrapes while waiting")
      ->capture_default_str();
  app.add_option("--agent-pid", flags.agent_pid, "The agent's pid: adds its CPU time and RSS");
  app.add_option("--dump-events", flags.dump_events,
                 "Also write the run's events to this file as NDJSON (for checking totals)");
  app.add_flag("--tcp-quickack", flags.quick_ack,
               "Acknowledge HTTP responses at once (TCP_QUICKACK): works around a server that "
               "splits a response into two writes under Nagle's algorithm (40 ms stalls)");
  app.add_option("--series", flags.series,
                 "scrape: distinct llm_cost_usd_total series; remote-write: series (samples) per "
                 "agent, default 10000")
      ->capture_default_str();
  app.add_option("--repeat", flags.repeat, "scrape: timed scrapes")->capture_default_str();
  app.add_option("--agents", flags.agents, "remote-write: simulated agents")
      ->capture_default_str();
  app.add_option("--interval", flags.interval_seconds,
                 "remote-write: seconds between one agent's rounds; 0: as fast as possible")
      ->capture_default_str();
  app.add_option("--duration", flags.duration_seconds, "remote-write: seconds to send")
      ->capture_default_str();
  app.add_option("--receiver-pid", flags.receiver_pid,
                 "remote-write: the receiver's pid: adds its CPU time and RSS");
  app.add_option("--baseline", flags.baseline,
                 "http: after the agent, send the same load to this llm_exporter_baseline binary "
                 "(the bare civetweb + simdjson server, started on a free port) and report the "
                 "agent's share of its rate");
  CLI11_PARSE(app, argc, argv);
  if (!flags.baseline.empty() && flags.mode != "http") {
    std::cerr << "llm_exporter_loadgen: --baseline needs --mode=http (the baseline server parses "
                 "JSON events posted over HTTP)\n";
    return 2;
  }
  if (IsOtlp(flags) && app.count("--batch") == 0) flags.batch = 512;
  if (flags.mode == "remote-write") {
    if (app.count("--batch") == 0) flags.batch = 2000;
    if (app.count("--series") == 0) flags.series = 10000;
    return RunRemoteWrite(flags, app.count("--connections") > 0);
  }

  const std::size_t colon = flags.address.rfind(':');
  if (colon == std::string::npos) {
    std::cerr << "llm_exporter_loadgen: --address must be host:port\n";
    return 2;
  }
  const std::string host = flags.address.substr(0, colon);
  const int port = std::atoi(flags.address.c_str() + colon + 1);
  if ((flags.mode == "unix" && flags.unix_path.empty()) ||
      (flags.mode == "unixgram" && flags.unixgram_path.empty())) {
    std::cerr << "llm_exporter_loadgen: --mode=" << flags.mode << " needs --" << flags.mode
              << "=PATH\n";
    return 2;
  }
  if (flags.mode == "scrape") return RunScrape(flags, host, port);
  return RunLoad(flags, host, port);
}
