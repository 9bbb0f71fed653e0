// One LLM call of the event mix as Traceloop's OpenLLMetry instrumentation of the OpenAI (or
// Anthropic) client reports a chat completion: the span's name, status, duration and about 25
// attributes with about 1 KB of prompt and completion text. The OTLP modes of the load generator
// and the span decoder benchmarks build their requests from it.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "loadgen/event_mix.h"

namespace llm_exporter::bench {

// One attribute; `kind` says which AnyValue field carries it.
struct SpanAttribute {
  enum class Kind { kString, kInt, kDouble, kBool };
  Kind kind = Kind::kString;
  std::string key;
  std::string text;
  int64_t integer = 0;
  double number = 0;
  bool boolean = false;
};

struct TraceloopChatSpan {
  std::string name;  // "openai.chat" or "anthropic.chat"
  bool error = false;  // the span's status is ERROR
  uint64_t duration_nanos = 0;
  std::vector<SpanAttribute> attributes;
};

// What OpenLLMetry's Python SDK puts on the resource and the instrumentation scope.
inline constexpr std::array<std::pair<std::string_view, std::string_view>, 4> kTraceloopResource =
    {{{"service.name", "support-bot"},
      {"telemetry.sdk.language", "python"},
      {"telemetry.sdk.name", "opentelemetry"},
      {"telemetry.sdk.version", "1.27.0"}}};
inline constexpr std::string_view kTraceloopScope = "opentelemetry.instrumentation.openai.v1";

// The span of `call`, an LLM call of the mix (not a quality score): its model, endpoint (as the
// workflow name), status, user, team, tokens, cached tokens, latency, time to first token and
// caller-given cost, so the agent counts from it what it counts from the call's JSON; the cache
// outcome has no span attribute and is left out. `index` varies the response id.
TraceloopChatSpan TraceloopChatSpanOf(const MixEvent& call, uint64_t index);

}  // namespace llm_exporter::bench
