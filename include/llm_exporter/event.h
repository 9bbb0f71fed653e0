// The events apps report: one LLM call, or one quality score for a model's output.
// Decoders produce them, the pipeline prices and aggregates them. String fields are views into
// the decoder's buffers and stay valid only while the sink handles the event.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace llm_exporter {

// Whether the call was answered from a prompt/response cache, as the app reported it.
enum class CacheOutcome : uint8_t { kUnknown, kHit, kMiss };

// Where a call came in: the `transport` label of llm_calls_without_usage_total. JSON events name
// their transport (transport.h); calls read from OTLP trace spans, over HTTP or gRPC, are "otlp";
// calls relayed by the metering proxy (transport/proxy/) are "proxy".
enum class CallSource : uint8_t { kHttp, kUnix, kUnixgram, kUdp, kOtlp, kProxy };
inline constexpr std::size_t kCallSourceCount = 6;
inline constexpr std::array<std::string_view, kCallSourceCount> kCallSourceNames = {
    "http", "unix", "unixgram", "udp", "otlp", "proxy"};

struct LlmCall {
  std::string_view model;
  std::string_view endpoint;
  std::string_view status = "success";
  std::string_view user_id;
  std::string_view team_id;
  // The trace and span behind the call, for exemplars (any strings; aggregate/exemplar.h says
  // which become exemplars).
  std::string_view trace_id;
  std::string_view span_id;
  uint64_t input_tokens = 0;
  uint64_t output_tokens = 0;
  uint64_t cached_input_tokens = 0;  // Part of input_tokens, priced at the cached rate if known.
  // Part of input_tokens: written to a prompt cache (Anthropic's cache creation), priced at the
  // cache-write rate if known. cached_input_tokens + cache_write_input_tokens <= input_tokens.
  uint64_t cache_write_input_tokens = 0;
  uint64_t reasoning_tokens = 0;  // Part of output_tokens, and billed as output.
  // False when the call arrived with no token counts at all (common for streams): its tokens are
  // unknown, not zero. It is priced at 0 and counted in llm_calls_without_usage_total.
  bool usage_known = true;
  double latency_seconds = 0;
  std::optional<double> ttft_seconds;       // Absent: nothing is observed.
  std::optional<int64_t> caller_cost_pico;  // A caller-known cost that replaces the priced one.
  CacheOutcome cache = CacheOutcome::kUnknown;
};

struct QualityScore {
  std::string_view model;
  std::string_view evaluator;
  std::string_view trace_id;
  double score = 0;
};

}  // namespace llm_exporter
