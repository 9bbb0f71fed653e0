// The in-process scrape benchmark: a SeriesStore holding N distinct llm_cost_usd_total series,
// rendered by MetricsRenderer::Render() as /metrics does. Reports the time per scrape, the bytes,
// the time per series (flat across N means linear growth) and the heap bytes each series holds.
// Target: <= 40 ms per scrape at N = 100,000. BM_WriteText times the text writer alone.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <memory>

#include "aggregate/series_store.h"
#include "bench_fixtures.h"
#include "expose/metrics_renderer.h"
#include "expose/text_writer.h"
#include "llm_exporter/clock.h"
#include "pricing/price_table.h"
#include "telemetry/agent_metrics.h"

namespace llm_exporter::bench {
namespace {

// Heap bytes in use (glibc), to see what the store itself holds per series.
std::size_t HeapInUse() { return mallinfo2().uordblks; }

struct FilledStore {
  explicit FilledStore(std::size_t series) {
    EventMixOptions options;
    options.pool_size = series;
    options.users = series;
    options.sequential_users = true;  // event i has user i: one new cost series each
    options.quality_every = 0;
    const EventMix mix(options);
    const pricing::PriceTable table = pricing::PriceTable::Default();
    const std::size_t heap_before = HeapInUse();
    store = std::make_unique<aggregate::SeriesStore>(aggregate::StoreOptions{}, clock);
    for (std::size_t i = 0; i < mix.size(); ++i) {
      const LlmCall call = mix.at(i).AsLlmCall();
      const pricing::PricedCall priced = table.Price(call);
      store->RecordCall(call, priced.cost, priced.fallback);
    }
    heap_bytes = HeapInUse() - heap_before;
  }
  SystemClock clock;
  std::unique_ptr<aggregate::SeriesStore> store;
  std::size_t heap_bytes = 0;
};

void BM_Render(benchmark::State& state) {
  const auto series = static_cast<std::size_t>(state.range(0));
  const FilledStore filled(series);
  if (filled.store->SeriesCount(aggregate::Family::kCost) != series) {
    state.SkipWithError("the store does not hold one cost series per user");
    return;
  }
  telemetry::AgentMetrics agent_metrics;
  SystemClock clock;
  expose::MetricsRenderer renderer(*filled.store, agent_metrics, clock);
  std::size_t bytes = 0;
  for (auto _ : state) {
    const std::string text = renderer.Render(ExpositionFormat::kText);
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
BENCHMARK(BM_Render)->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The text writer alone on WriterSeries, to set against BM_WriteProtobuf
// (protobuf_writer_bench.cpp), which writes the same series: 110,000 series an iteration.
void BM_WriteText(benchmark::State& state) {
  const WriterSeries& series = SharedWriterSeries();
  const std::vector<std::string> les = expose::TextWriter::FormatBounds(series.bounds);
  std::string out;
  for (auto _ : state) {
    out.clear();  // keeps its capacity, as MetricsRenderer sizes its buffer from the last scrape
    expose::TextWriter w(&out);
    w.Family("llm_cost_usd_total", "counter", "Total cost in USD");
    for (std::size_t i = 0; i < WriterSeries::kCounters; ++i) {
      w.Sample("llm_cost_usd_total",
               {{"user", series.users[i]},
                {"model", series.models[i % series.models.size()]},
                {"provider", "openai"}},
               series.costs[i]);
    }
    w.Family("llm_request_duration_seconds", "histogram", "LLM request latency");
    for (std::size_t i = 0; i < WriterSeries::kHistograms; ++i) {
      w.Histogram("llm_request_duration_seconds",
                  {{"model", series.models[i % series.models.size()]},
                   {"endpoint", series.endpoints[i % series.endpoints.size()]}},
                  les, series.counts[i], series.sums[i]);
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * out.size()));
  state.counters["bytes"] = static_cast<double>(out.size());
  SetTimePerEvent(state, WriterSeries::kCounters + WriterSeries::kHistograms);
}
BENCHMARK(BM_WriteText)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace llm_exporter::bench
