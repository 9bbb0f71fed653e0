// A deterministic mix of events for benchmarks and the load generator: a fixed pool of events
// (LLM calls with a few quality scores among them), each kept both as fields and as its JSON text.
// Event i of a run is pool[i % pool size], so any count of events has totals known in advance.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llm_exporter/event.h"

namespace llm_exporter::bench {

struct EventMixOptions {
  std::size_t pool_size = 4096;
  std::size_t users = 100;          // distinct user_id values
  std::size_t teams = 10;           // distinct team_id values (user u is in team u % teams)
  bool sequential_users = false;    // event i has user i % users: one new cost series each
  std::size_t quality_every = 50;   // every n-th pool event is a quality score; 0: none
  uint64_t seed = 1;
};

// One event of the pool, as fields (owned) and as one line of JSON (no trailing newline).
struct MixEvent {
  bool quality = false;
  std::string model;
  std::string endpoint;
  std::string status;
  std::string user_id;
  std::string team_id;
  std::string trace_id;
  uint64_t input_tokens = 0;
  uint64_t output_tokens = 0;
  uint64_t cached_input_tokens = 0;
  double latency_seconds = 0;
  std::optional<double> ttft_seconds;
  std::optional<double> cost_usd;
  CacheOutcome cache = CacheOutcome::kUnknown;
  std::string evaluator;  // quality only
  double score = 0;       // quality only
  std::string json;

  // Views of the fields, valid while this MixEvent lives (cost_usd is not carried over).
  LlmCall AsLlmCall() const;
  QualityScore AsQualityScore() const;
};

// How events are joined into one body: a JSON array, or NDJSON (one event a line).
enum class BodyFormat { kArray, kNdjson };

// Immutable once built: any number of threads may read it at once.
class EventMix {
 public:
  explicit EventMix(EventMixOptions options = {});

  std::size_t size() const { return events_.size(); }
  const MixEvent& at(std::size_t i) const { return events_[i % events_.size()]; }

  // Events [first, first + count) of a run (wrapping around the pool) as one body.
  std::string Body(uint64_t first, std::size_t count, BodyFormat format) const;

  // The whole pool as NDJSON, each line ending in '\n', and where each event's line starts:
  // line_offsets()[j] .. line_offsets()[j + 1] is event j's line (size() + 1 offsets).
  const std::string& ndjson() const { return ndjson_; }
  const std::vector<std::size_t>& line_offsets() const { return line_offsets_; }

  // Of the first `count` events of a run, how many are LLM calls and how many quality scores.
  uint64_t CallsIn(uint64_t count) const;
  uint64_t QualityScoresIn(uint64_t count) const { return count - CallsIn(count); }

 private:
  std::vector<MixEvent> events_;
  std::vector<uint64_t> calls_before_;  // calls among pool events [0, j)
  std::string ndjson_;
  std::vector<std::size_t> line_offsets_;
};

}  // namespace llm_exporter::bench
