#include "loadgen/scrape_benchmark.h"

#include <algorithm>

#include "loadgen/event_mix.h"
#include "loadgen/http_sender.h"
#include "loadgen/metrics_poller.h"
#include "loadgen/process_probe.h"

namespace llm_exporter::bench {

std::optional<double> ScrapeBenchmarkResult::BytesPerSeries() const {
  if (!rss_warm || !rss_filled || series <= warm_series) return std::nullopt;
  return (static_cast<double>(*rss_filled) - static_cast<double>(*rss_warm)) /
         static_cast<double>(series - warm_series);
}

ScrapeBenchmarkResult ScrapeBenchmark::Run() {
  ScrapeBenchmarkResult result;
  const std::size_t batch = std::max<std::size_t>(options_.batch, 1);
  const std::size_t series = std::max<std::size_t>(options_.series, 1);
  result.series = series;
  // One LLM call per user: N events, N distinct (model, user_id, team_id) cost series.
  EventMixOptions mix_options;
  mix_options.pool_size = series;
  mix_options.users = series;
  mix_options.sequential_users = true;
  mix_options.quality_every = 0;
  const EventMix mix(mix_options);

  std::optional<ProcessProbe> probe;
  if (options_.agent_pid) probe.emplace(*options_.agent_pid);
  const auto rss = [&]() -> std::optional<uint64_t> {
    return probe ? probe->ResidentBytes() : std::nullopt;
  };
  const auto post = [&](uint64_t first, uint64_t count) {
    HttpLoadOptions load;
    load.host = options_.host;
    load.port = options_.port;
    load.batch = batch;
    load.first = first;
    load.events = count;
    load.quick_ack = options_.quick_ack;
    const SendReport report = HttpSender(mix, load).Run();
    if (!report.ok()) result.error = "filling the agent: " + report.error;
    return report.ok();
  };

  MetricsPoller poller(options_.host, options_.port, options_.metrics_path, options_.quick_ack);
  MetricsSnapshot snapshot;
  result.rss_start = rss();
  result.warm_series = std::max<std::size_t>(series / 10 / batch * batch, std::min(series, batch));
  if (result.warm_series >= series) result.warm_series = 0;
  if (result.warm_series > 0) {
    if (!post(0, result.warm_series)) return result;
    if (!poller.Scrape(&snapshot, &result.error)) return result;
  }
  result.rss_warm = rss();
  if (!post(result.warm_series, series - result.warm_series)) return result;
  result.rss_filled = rss();  // every POST was answered, so every series exists

  for (std::size_t i = 0; i <= options_.repeat; ++i) {
    if (!poller.Scrape(&snapshot, &result.error)) return result;
    // Each scrape reports the render time of the one before: skip the first's report, which
    // belongs to a scrape of fewer series.
    if (i > 0) result.render_seconds.push_back(snapshot.last_scrape_seconds);
    if (i < options_.repeat) result.client_seconds.push_back(snapshot.seconds);
    if (i + 1 == options_.repeat) result.bytes = snapshot.bytes;
  }
  result.cost_series_seen = snapshot.cost_series;
  result.rss_after_scrapes = rss();
  return result;
}

}  // namespace llm_exporter::bench
