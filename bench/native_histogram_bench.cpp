// Micro-benchmarks of native histograms: NativeHistogram::Observe() beside the classic
// HistogramCell::Observe() on the same latencies (the ratio is the cost of turning native
// histograms on), and CopyTo(), what a scrape pays per series.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "aggregate/histogram.h"
#include "aggregate/native_histogram.h"

namespace llm_exporter::bench {
namespace {

constexpr std::size_t kValues = 4096;  // a power of two: the index wraps with a mask

// Log-uniform latencies from 0.05 s to 30 s in a fixed random order, the range the
// llm_request_duration_seconds family sees.
const std::vector<double>& Latencies() {
  static const std::vector<double> values = [] {
    std::vector<double> v;
    std::mt19937_64 random(3);
    for (std::size_t i = 0; i < kValues; ++i) {
      const double u = static_cast<double>(random() >> 11) * 0x1p-53;
      v.push_back(0.05 * std::pow(600.0, u));
    }
    return v;
  }();
  return values;
}

// The default --metrics.buckets.request-duration.
const std::vector<double> kDurationBounds = {0.1, 0.5, 1, 2, 5, 10, 30};

void BM_NativeHistogram_Observe(benchmark::State& state) {
  const std::vector<double>& values = Latencies();
  aggregate::NativeHistogram histogram;
  std::size_t i = 0;
  for (auto _ : state) {
    histogram.Observe(values[i++ & (kValues - 1)]);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["schema"] = histogram.schema();
}
BENCHMARK(BM_NativeHistogram_Observe);

// The same loop through the classic cell with the default duration buckets: the baseline.
void BM_NativeHistogram_ClassicBaseline(benchmark::State& state) {
  const std::vector<double>& values = Latencies();
  const aggregate::BucketLayout layout(kDurationBounds);
  aggregate::HistogramCell cell(layout);
  std::size_t i = 0;
  for (auto _ : state) {
    cell.Observe(layout, values[i++ & (kValues - 1)]);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NativeHistogram_ClassicBaseline);

// Both, as a latency series observes each call when native histograms are on.
void BM_NativeHistogram_BesideClassic(benchmark::State& state) {
  const std::vector<double>& values = Latencies();
  const aggregate::BucketLayout layout(kDurationBounds);
  aggregate::HistogramCell cell(layout);
  aggregate::NativeHistogram histogram;
  std::size_t i = 0;
  for (auto _ : state) {
    const double value = values[i++ & (kValues - 1)];
    cell.Observe(layout, value);
    histogram.Observe(value);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NativeHistogram_BesideClassic);

// One series' read-out into a reused value (75 populated buckets at schema 3).
void BM_NativeHistogram_CopyTo(benchmark::State& state) {
  aggregate::NativeHistogram histogram;
  for (double value : Latencies()) histogram.Observe(value);
  aggregate::NativeHistogramValue out;
  for (auto _ : state) {
    histogram.CopyTo(&out);
    benchmark::DoNotOptimize(out.positive_deltas.data());
    benchmark::ClobberMemory();
  }
  state.counters["buckets"] = static_cast<double>(histogram.populated_buckets());
}
BENCHMARK(BM_NativeHistogram_CopyTo);

}  // namespace
}  // namespace llm_exporter::bench
