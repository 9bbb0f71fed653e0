// An EventSink that keeps copies of what it is handed, for decoder tests.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "llm_exporter/event_sink.h"

namespace llm_exporter::testing {

struct CapturedCall {
  std::string model, endpoint, status, user_id, team_id, trace_id, span_id;
  uint64_t input_tokens, output_tokens, cached_input_tokens;
  double latency;
  std::optional<double> ttft;
  std::optional<int64_t> cost_pico;
  CacheOutcome cache;
  uint64_t cache_write_input_tokens, reasoning_tokens;
  bool usage_known;
};

struct CapturedScore {
  std::string model, evaluator, trace_id;
  double score;
};

// Not thread-safe: one decoder feeds it.
class CapturingSink final : public EventSink {
 public:
  void OnLlmCall(const LlmCall& c) override {
    calls.push_back({std::string(c.model), std::string(c.endpoint), std::string(c.status),
                     std::string(c.user_id), std::string(c.team_id), std::string(c.trace_id),
                     std::string(c.span_id), c.input_tokens, c.output_tokens, c.cached_input_tokens, c.latency_seconds,
                     c.ttft_seconds, c.caller_cost_pico, c.cache, c.cache_write_input_tokens,
                     c.reasoning_tokens, c.usage_known});
  }
  void OnQualityScore(const QualityScore& s) override {
    scores.push_back({std::string(s.model), std::string(s.evaluator), std::string(s.trace_id),
                      s.score});
  }

  std::vector<CapturedCall> calls;
  std::vector<CapturedScore> scores;
};

}  // namespace llm_exporter::testing
