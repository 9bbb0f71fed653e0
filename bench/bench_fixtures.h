// What the micro-benchmarks share: the deterministic event mix (bench/loadgen/event_mix.h) as
// padded bodies and as decoded calls, and a "time per event" counter.
#pragma once

#include <benchmark/benchmark.h>

#include <cstddef>
#include <string>
#include <vector>

#include "decode/event_decoder.h"
#include "loadgen/event_mix.h"

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

// Reports the time per event as "per_event" (e.g. 251.3ns): the benchmark's time (real time
// under UseRealTime(), else CPU time) divided by the events of all threads.
inline void SetTimePerEvent(benchmark::State& state, std::size_t events_per_iteration) {
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * events_per_iteration));
  state.counters["per_event"] = benchmark::Counter(
      static_cast<double>(events_per_iteration),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

}  // namespace llm_exporter::bench
