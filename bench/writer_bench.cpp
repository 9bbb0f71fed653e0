// Each exposition writer alone, without the store, on the same 110,000 series (WriterSeries in
// bench_fixtures.h): 100,000 counters with three labels and 10,000 histograms of 12 buckets with
// two, written into a string kept from one iteration to the next. No exemplars or created times:
// the formats' own cost, to set beside each other.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "bench_fixtures.h"
#include "expose/openmetrics_writer.h"
#include "expose/protobuf_writer.h"
#include "expose/text_writer.h"

namespace llm_exporter::bench {
namespace {

template <typename Writer>
void BM_Write(benchmark::State& state) {
  const WriterSeries& series = SharedWriterSeries();
  const std::vector<std::string> les = expose::TextWriter::FormatBounds(series.bounds);
  const expose::BucketBounds buckets{series.bounds, les};
  std::string out;
  for (auto _ : state) {
    out.clear();  // keeps its capacity, as MetricsRenderer sizes its buffer from the last scrape
    Writer w(&out);
    w.Family("llm_cost_usd_total", expose::MetricType::kCounter, "Total cost in USD", "usd");
    for (std::size_t i = 0; i < WriterSeries::kCounters; ++i) {
      w.Sample("llm_cost_usd_total",
               {{"user", series.users[i]},
                {"model", series.models[i % series.models.size()]},
                {"provider", "openai"}},
               series.costs[i]);
    }
    w.Family("llm_request_duration_seconds", expose::MetricType::kHistogram,
             "LLM request latency", "seconds");
    for (std::size_t i = 0; i < WriterSeries::kHistograms; ++i) {
      w.Histogram("llm_request_duration_seconds",
                  {{"model", series.models[i % series.models.size()]},
                   {"endpoint", series.endpoints[i % series.endpoints.size()]}},
                  buckets, {.counts = series.counts[i], .sum = series.sums[i], .exemplars = {}});
    }
    w.Finish();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * out.size()));
  state.counters["bytes"] = static_cast<double>(out.size());
  SetTimePerEvent(state, WriterSeries::kCounters + WriterSeries::kHistograms);
}
BENCHMARK(BM_Write<expose::TextWriter>)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Write<expose::OpenMetricsWriter>)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Write<expose::ProtobufWriter>)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace llm_exporter::bench
