// Reads what a span means: whether it is an LLM call, a workflow (or task), an agent invocation,
// a tool call or none of these, and the fields of each, from the attributes that OpenTelemetry's
// GenAI semantic conventions, OpenLLMetry (Traceloop), OpenInference, OpenLIT, Langfuse and the
// Vercel AI SDK set. docs/otlp.md has the mapping table this code implements.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "llm_exporter/event.h"
#include "llm_exporter/span_ingest.h"
#include "otlp/span.h"
#include "otlp/span_decoder.h"

namespace llm_exporter::otlp {

// The attribute lists that can be set by flags; the first attribute present wins, then the same
// list on the resource.
struct SpanAttributeNames {
  std::vector<std::string> user = {"user.id", "langfuse.user.id",
                                   "traceloop.association.properties.user_id",
                                   "gen_ai.request.user", "ai.telemetry.metadata.userId"};
  std::vector<std::string> team = {"traceloop.association.properties.team_id",
                                   "ai.telemetry.metadata.teamId",
                                   "langfuse.trace.metadata.team_id"};
  std::vector<std::string> endpoint = {"traceloop.workflow.name", "gen_ai.workflow.name",
                                       "ai.telemetry.functionId", "langfuse.trace.name"};
};

struct SpanReaderOptions {
  SpanAttributeNames attributes;
  std::size_t max_label_bytes = 128;  // as --ingest.max-label-bytes
};

// A token count above this is refused as absurd: no model reads or writes a billion tokens in
// one call, and such a number is a unit or encoding mistake upstream.
inline constexpr uint64_t kMaxSpanTokens = 1'000'000'000;

// What one span says. For an LLM call `call` is filled, its string views pointing into the span
// (or into the reader's constants); for a workflow, agent or tool, `name`, `status` and
// `duration_seconds`.
struct SpanMeaning {
  SpanKind kind = SpanKind::kIgnored;
  LlmCall call;
  std::string_view name;
  std::string_view status = "success";
  double duration_seconds = 0;
};

// The result of reading one span: its meaning, or why it is refused.
struct ReadSpan {
  std::optional<SpanError> error;
  SpanMeaning meaning;
};

// Immutable after construction; Read() is thread-safe.
class SpanReader {
 public:
  explicit SpanReader(SpanReaderOptions options = {});

  ReadSpan Read(const Span& span) const;

 private:
  // The attributes found under the reader's keys, by slot.
  struct Found;
  void Collect(std::span<const Attribute> attributes, Found* found) const;

  // A cheap hash of an attribute key: its length and its first and last 8 bytes. Every
  // attribute of every span is looked up, most of them message contents the reader does not
  // read; std::hash over the whole key was 6-8 % of the agent's CPU for OTLP (bench/README.md).
  struct KeyHash {
    std::size_t operator()(std::string_view key) const;
  };

  SpanReaderOptions options_;
  std::unordered_map<std::string_view, uint16_t, KeyHash> slots_;  // attribute key -> slot
  std::vector<std::string> slot_keys_;                    // slot -> key (owns the map's views)
  std::vector<uint16_t> user_slots_, team_slots_, endpoint_slots_;
};

// 32 lower-case hex digits of a trace id; empty for an all-zero id.
std::string TraceIdHex(const TraceId& id);
// 16 lower-case hex digits of a span id; empty for an all-zero id.
std::string SpanIdHex(const SpanId& id);

}  // namespace llm_exporter::otlp
