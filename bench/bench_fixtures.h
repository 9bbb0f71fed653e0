// What the micro-benchmarks share: the deterministic event mix (bench/loadgen/event_mix.h) as
// padded bodies and as decoded calls, a store filled with N distinct cost series, and a "time per
// event" counter.
#pragma once

#include <benchmark/benchmark.h>
#include <malloc.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "aggregate/series_store.h"
#include "decode/event_decoder.h"
#include "llm_exporter/clock.h"
#include "loadgen/event_mix.h"
#include "pricing/price_table.h"

namespace llm_exporter::bench {

// A body with decode::kPadding readable bytes after it, so the decoder parses it in place as the
// HTTP server's bodies are.
struct PaddedBody {
  explicit PaddedBody(std::string text) : bytes(std::move(text)) {
    bytes.reserve(bytes.size() + decode::kPadding);
  }
  std::string_view view() const { return bytes; }
  std::size_t readable() const { return bytes.capacity(); }
  std::string bytes;
};

// The default mix (4,000 events: 100 users, 4 models, a quality score in 50), built once.
inline const EventMix& DefaultMix() {
  static const EventMix mix([] {
    EventMixOptions options;
    options.pool_size = 4000;
    return options;
  }());
  return mix;
}

// Heap bytes in use (glibc), to see what the store itself holds per series.
inline std::size_t HeapInUse() { return mallinfo2().uordblks; }

// A SeriesStore holding `series` distinct llm_cost_usd_total series: one LLM call per user of the
// mix, each call carrying a trace and span id (so every series has its exemplars) unless
// `traced` is false. The few request, token and latency series of the mix's models come with them.
struct FilledStore {
  explicit FilledStore(std::size_t series, bool native = false, bool traced = true) {
    EventMixOptions options;
    options.pool_size = series;
    options.users = series;
    options.sequential_users = true;  // event i has user i: one new cost series each
    options.quality_every = 0;
    const EventMix mix(options);
    const pricing::PriceTable table = pricing::PriceTable::Default();
    const std::size_t heap_before = HeapInUse();
    aggregate::StoreOptions store_options;
    if (native) store_options.native = aggregate::NativeHistogramOptions{};
    store = std::make_unique<aggregate::SeriesStore>(store_options, clock);
    for (std::size_t i = 0; i < mix.size(); ++i) {
      LlmCall call = mix.at(i).AsLlmCall();
      call.span_id = call.trace_id.substr(0, 16);
      if (!traced) call.trace_id = call.span_id = {};
      const pricing::PricedCall priced = table.Price(call);
      store->RecordCall(call, priced.cost, priced.fallback);
    }
    heap_bytes = HeapInUse() - heap_before;
  }
  SystemClock clock;
  std::unique_ptr<aggregate::SeriesStore> store;
  std::size_t heap_bytes = 0;  // what filling it added to the heap
};

// One FilledStore per (series, native, traced), built on first use and kept until the process
// ends: Google Benchmark calls a benchmark function more than once (a trial run, then the timed
// one, then each repetition), and a million series take seconds to fill. Benchmarks of different
// writers over the same N then read the very same store. Not thread-safe: for the benchmarks'
// main thread.
inline FilledStore& SharedFilledStore(std::size_t series, bool native = false,
                                      bool traced = true) {
  static std::map<std::tuple<std::size_t, bool, bool>, std::unique_ptr<FilledStore>> stores;
  std::unique_ptr<FilledStore>& slot = stores[{series, native, traced}];
  if (!slot) slot = std::make_unique<FilledStore>(series, native, traced);
  return *slot;
}

// The series the exposition writer benchmarks write, alike for every writer: 100,000 cost
// counters labelled by user, model and provider, and 10,000 latency histograms of 12 buckets
// labelled by model and endpoint. Built once.
struct WriterSeries {
  static constexpr std::size_t kCounters = 100'000;
  static constexpr std::size_t kHistograms = 10'000;
  std::vector<std::string> users;      // one a counter
  std::vector<std::string> models;     // 40, cycled
  std::vector<std::string> endpoints;  // 250, cycled through the histograms
  std::vector<double> costs;           // one a counter
  std::vector<double> bounds{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 20, 30, 60};
  std::vector<std::vector<uint64_t>> counts;  // one a histogram: 11 bounds, then +Inf
  std::vector<double> sums;
};

inline const WriterSeries& SharedWriterSeries() {
  static const WriterSeries series = [] {
    WriterSeries s;
    for (std::size_t i = 0; i < 40; ++i) s.models.push_back("model-" + std::to_string(i));
    for (std::size_t i = 0; i < 250; ++i) {
      s.endpoints.push_back("/v1/endpoint/" + std::to_string(i));
    }
    for (std::size_t i = 0; i < WriterSeries::kCounters; ++i) {
      s.users.push_back("user-" + std::to_string(i));
      s.costs.push_back(static_cast<double>(i % 9973) * 0.000125);
    }
    for (std::size_t i = 0; i < WriterSeries::kHistograms; ++i) {
      std::vector<uint64_t> counts;
      for (std::size_t b = 0; b <= s.bounds.size(); ++b) counts.push_back((i * 7 + b * 13) % 500);
      s.counts.push_back(std::move(counts));
      s.sums.push_back(static_cast<double>(i) * 1.5);
    }
    return s;
  }();
  return series;
}

// Reports the time per event as "per_event" (e.g. 251.3ns): the benchmark's time (real time
// under UseRealTime(), else CPU time) divided by the events of all threads.
inline void SetTimePerEvent(benchmark::State& state, std::size_t events_per_iteration) {
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * events_per_iteration));
  state.counters["per_event"] = benchmark::Counter(
      static_cast<double>(events_per_iteration),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

}  // namespace llm_exporter::bench
