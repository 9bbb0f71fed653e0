// BM_RemoteWriteEncode: one remote write snapshot of a store of N distinct llm_cost_usd_total
// series, as RemoteWriter takes it: MetricsRenderer::WriteAll() through a RequestEncoder with
// 2,000 samples a request and the external labels instance and job, every request
// snappy-compressed. Reports samples per second, compressed bytes per sample and the requests.
// Its peer is BM_Render/series:N/format:0/traced:1 (render_bench.cpp), the text scrape of the
// very same store (SharedFilledStore), so one run gives both and their ratio:
//   llm_exporter_bench
//     --benchmark_filter='BM_RemoteWriteEncode|BM_Render/series:[0-9]+0000/format:0/traced:1'
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "bench_fixtures.h"
#include "expose/metrics_renderer.h"
#include "expose/metrics_walk.h"
#include "llm_exporter/clock.h"
#include "remote_write/request_encoder.h"
#include "telemetry/agent_metrics.h"

namespace llm_exporter::bench {
namespace {

void BM_RemoteWriteEncode(benchmark::State& state) {
  const auto series = static_cast<std::size_t>(state.range(0));
  const FilledStore& filled = SharedFilledStore(series);
  if (filled.store->SeriesCount(aggregate::Family::kCost) != series) {
    state.SkipWithError("the store does not hold one cost series per user");
    return;
  }
  telemetry::AgentMetrics agent_metrics;
  SystemClock clock;
  expose::MetricsRenderer renderer(*filled.store, agent_metrics, clock);
  remote_write::EncoderOptions options;
  // The agent's defaults: instance "<hostname>:<port>", job "llm_exporter" (sorted by name).
  options.external_labels = {{"instance", "llm-gateway-1:9464"}, {"job", "llm_exporter"}};
  options.max_samples_per_send = 2000;
  options.timestamp_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             clock.WallNow().time_since_epoch())
                             .count();
  std::size_t samples = 0;
  std::size_t bytes = 0;
  std::size_t requests = 0;
  for (auto _ : state) {
    // A fresh vector each time, as each snapshot of the agent's has.
    std::vector<remote_write::EncodedRequest> out;
    remote_write::RequestEncoder encoder(options, /*relabel=*/nullptr, &out);
    renderer.WriteAll(encoder);
    samples = encoder.samples();
    requests = out.size();
    bytes = 0;
    for (const remote_write::EncodedRequest& request : out) bytes += request.body.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["series"] = static_cast<double>(series);
  state.counters["samples"] = static_cast<double>(samples);
  state.counters["requests"] = static_cast<double>(requests);
  state.counters["bytes"] = static_cast<double>(bytes);
  state.counters["bytes_per_sample"] = static_cast<double>(bytes) / static_cast<double>(samples);
  state.counters["samples_per_s"] = benchmark::Counter(
      static_cast<double>(samples), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["per_sample"] = benchmark::Counter(
      static_cast<double>(samples),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_RemoteWriteEncode)
    ->Arg(10'000)
    ->Arg(100'000)
    ->Arg(1'000'000)
    ->ArgName("series")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace llm_exporter::bench
