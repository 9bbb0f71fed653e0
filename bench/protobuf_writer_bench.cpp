// The protobuf exposition writer on the series BM_WriteText (render_bench.cpp) writes as text:
// 100,000 counters and 10,000 histograms of 12 buckets. Apart from render_bench.cpp because
// text_writer.h and exposition.h each declare expose::Label until the text writer takes
// exposition.h's calls.
#include <benchmark/benchmark.h>

#include <string>

#include "bench_fixtures.h"
#include "expose/protobuf_writer.h"

namespace llm_exporter::bench {
namespace {

void BM_WriteProtobuf(benchmark::State& state) {
  const WriterSeries& series = SharedWriterSeries();
  const std::vector<std::string> les(series.bounds.size() + 1);  // not read by this writer
  const expose::BucketBounds buckets{series.bounds, les};
  std::string out;
  for (auto _ : state) {
    out.clear();  // keeps its capacity, as MetricsRenderer sizes its buffer from the last scrape
    expose::ProtobufWriter w(&out);
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
BENCHMARK(BM_WriteProtobuf)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace llm_exporter::bench
