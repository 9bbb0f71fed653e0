// The in-process scrape benchmarks:
// - BM_Render: a SeriesStore holding N distinct llm_cost_usd_total series (every call carrying a
//   trace and span id, so every series has its exemplars), rendered by MetricsRenderer::Render()
//   as /metrics does, in each format (second argument: 0 text, 1 OpenMetrics, 2 protobuf);
//   traced:0 runs the same calls without trace ids, so no series has an exemplar.
//   Reports the time per scrape, the bytes, the time per series (flat across N means linear
//   growth) and the heap bytes each series holds. Targets: <= 40 ms per text scrape at
//   N = 100,000, and at most 100 ns per series there, as flat from 10,000 to 1,000,000 series;
//   OpenMetrics with exemplars at most 1.2x the text render. The text render at N = 1,000,000
//   (filling its store takes about 4 s, a render 0.1 s) is also there for
//   BM_RemoteWriteEncode (remote_write_bench.cpp), which encodes the same stores.
// - BM_Gzip: the 100,000-series OpenMetrics scrape compressed at each zlib level.
// - BM_RecordCall: SeriesStore::RecordCall per event, with or without a trace id (the exemplar's
//   cost) and with or without native histograms.
#include <benchmark/benchmark.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "aggregate/series_store.h"
#include "bench_fixtures.h"
#include "expose/metrics_renderer.h"
#include "llm_exporter/clock.h"
#include "pricing/price_table.h"
#include "telemetry/agent_metrics.h"
#include "transport/http/gzip_body.h"

namespace llm_exporter::bench {
namespace {

constexpr ExpositionFormat kFormats[] = {ExpositionFormat::kText, ExpositionFormat::kOpenMetrics,
                                         ExpositionFormat::kProtobuf};

void BM_Render(benchmark::State& state) {
  const auto series = static_cast<std::size_t>(state.range(0));
  const FilledStore& filled =
      SharedFilledStore(series, /*native=*/false, /*traced=*/state.range(2) != 0);
  if (filled.store->SeriesCount(aggregate::Family::kCost) != series) {
    state.SkipWithError("the store does not hold one cost series per user");
    return;
  }
  telemetry::AgentMetrics agent_metrics;
  SystemClock clock;
  expose::MetricsRenderer renderer(*filled.store, agent_metrics, clock);
  std::size_t bytes = 0;
  for (auto _ : state) {
    const std::string text = renderer.Render(kFormats[state.range(1)]);
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["series"] = static_cast<double>(series);
  state.counters["bytes"] = static_cast<double>(bytes);
  state.counters["per_series"] = benchmark::Counter(
      static_cast<double>(series),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  // All families together, but at these N nearly all of it is the cost family.
  state.counters["heap_bytes_per_series"] =
      static_cast<double>(filled.heap_bytes) / static_cast<double>(series);
}
BENCHMARK(BM_Render)
    ->ArgsProduct({{1000, 10000, 100000}, {0, 1, 2}, {1}})
    ->Args({100000, 1, 0})
    ->Args({100000, 2, 0})
    ->Args({1000000, 0, 1})  // the text peer of BM_RemoteWriteEncode at a million series
    ->ArgNames({"series", "format", "traced"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The 100,000-series OpenMetrics scrape gzip-compressed at zlib level N: time (CPU, one thread)
// and the compressed size beside the plain one.
void BM_Gzip(benchmark::State& state) {
  static const std::string* const scrape = [] {
    const FilledStore& filled = SharedFilledStore(100'000);
    telemetry::AgentMetrics agent_metrics;
    SystemClock clock;
    expose::MetricsRenderer renderer(*filled.store, agent_metrics, clock);
    return new std::string(renderer.Render(ExpositionFormat::kOpenMetrics));
  }();
  std::string out;
  for (auto _ : state) {
    if (!transport::Gzip(*scrape, static_cast<int>(state.range(0)), &out)) {
      state.SkipWithError("gzip failed");
      return;
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["plain_bytes"] = static_cast<double>(scrape->size());
  state.counters["gzip_bytes"] = static_cast<double>(out.size());
  state.counters["ratio"] = static_cast<double>(out.size()) / static_cast<double>(scrape->size());
}
BENCHMARK(BM_Gzip)->DenseRange(1, 9, 1)->ArgName("level")->Unit(benchmark::kMillisecond);

// One LlmCall recorded in a store that already holds its series: the per-event cost of the
// exemplar (traced = 1: the call has a trace and span id) and of native histograms (native = 1).
void BM_RecordCall(benchmark::State& state) {
  const bool traced = state.range(0) != 0;
  const bool native = state.range(1) != 0;
  EventMixOptions options;
  options.pool_size = 4096;
  options.users = 1000;
  options.quality_every = 0;
  const EventMix mix(options);
  std::vector<LlmCall> calls;
  for (std::size_t i = 0; i < mix.size(); ++i) {
    LlmCall call = mix.at(i).AsLlmCall();
    if (traced) {
      call.span_id = call.trace_id.substr(0, 16);
    } else {
      call.trace_id = {};
    }
    calls.push_back(call);
  }
  SystemClock clock;
  aggregate::StoreOptions store_options;
  if (native) store_options.native = aggregate::NativeHistogramOptions{};
  aggregate::SeriesStore store(store_options, clock);
  for (const LlmCall& call : calls) store.RecordCall(call, 1000, false);  // every series made
  std::size_t i = 0;
  for (auto _ : state) {
    store.RecordCall(calls[i], 1000, false);
    if (++i == calls.size()) i = 0;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_RecordCall)->ArgsProduct({{0, 1}, {0, 1}})->ArgNames({"traced", "native"});


}  // namespace
}  // namespace llm_exporter::bench
