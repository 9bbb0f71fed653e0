#include "otlp/span_reader.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <algorithm>
#include <stdexcept>
#include <string>

namespace llm_exporter::otlp {
namespace {

// The attribute keys the reader knows, in the order of their slots. The configurable user, team
// and endpoint lists get slots after these.
enum FixedSlot : uint16_t {
  kOperationName,
  kLlmRequestType,
  kOpenInferenceKind,
  kLangfuseType,
  kTraceloopKind,
  kVercelOperationId,
  kModel0, kModel1, kModel2, kModel3, kModel4,
  kProvider0, kProvider1, kProvider2, kProvider3, kProvider4,
  kInput0, kInput1, kInput2, kInput3, kInput4,
  kOutput0, kOutput1, kOutput2, kOutput3, kOutput4,
  kCached0, kCached1, kCached2, kCached3,
  kCacheWrite0, kCacheWrite1, kCacheWrite2, kCacheWrite3, kCacheWrite4,
  kReasoning0, kReasoning1, kReasoning2, kReasoning3, kReasoning4,
  kTtftSeconds0, kTtftSeconds1, kTtftSeconds2,
  kTtftMs0, kTtftMs1,
  kCost0, kCost1,
  kErrorType,
  kLangfuseLevel,
  kEntityName,
  kWorkflowName,
  kAgentName,
  kToolName,
  kVercelToolName,
  kSdkName,
  kFixedSlotCount
};

constexpr std::array<std::string_view, kFixedSlotCount> kFixedKeys = {
    "gen_ai.operation.name",
    "llm.request.type",
    "openinference.span.kind",
    "langfuse.observation.type",
    "traceloop.span.kind",
    "ai.operationId",
    "gen_ai.request.model", "gen_ai.response.model", "llm.model_name",
    "langfuse.observation.model.name", "ai.model.id",
    "gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system", "ai.model.provider",
    "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt",
    "ai.usage.inputTokens", "ai.usage.promptTokens",
    "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.token_count.completion",
    "ai.usage.outputTokens", "ai.usage.completionTokens",
    "gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens",
    "llm.token_count.prompt_details.cache_read", "ai.usage.cachedInputTokens",
    "gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.cache_write.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens", "llm.token_count.prompt_details.cache_write",
    "ai.usage.inputTokenDetails.cacheWriteTokens",
    "gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens",
    "llm.token_count.completion_details.reasoning", "ai.usage.reasoningTokens",
    "ai.usage.outputTokenDetails.reasoningTokens",
    "gen_ai.response.time_to_first_chunk", "gen_ai.client.operation.time_to_first_chunk",
    "gen_ai.server.time_to_first_token",
    "ai.response.msToFirstChunk", "ai.stream.msToFirstChunk",
    "gen_ai.usage.cost", "llm.cost.total",
    "error.type",
    "langfuse.observation.level",
    "traceloop.entity.name",
    "gen_ai.workflow.name",
    "gen_ai.agent.name",
    "gen_ai.tool.name",
    "ai.toolCall.name",
    "telemetry.sdk.name",
};
// A key left out above would leave the last slots empty (std::array pads): the keys must fill
// every slot, so that each slot's key is the one its name says.
static_assert(!kFixedKeys.back().empty(), "kFixedKeys has fewer keys than FixedSlot has slots");

constexpr std::size_t kMaxSlots = 256;
constexpr std::string_view kFirstTokenEvent = "First Token Stream Event";
// A caller-carried cost above this is refused as absurd (and would not fit pico-dollars).
constexpr double kMaxSpanCostUsd = 1e6;

bool IsLlmOperation(std::string_view op) {
  return op == "chat" || op == "text_completion" || op == "generate_content" ||
         op == "completion" || op == "embeddings";
}

// ai.<function>.doGenerate or ai.<function>.doStream (the Vercel AI SDK's provider call spans).
bool IsVercelCall(std::string_view name) {
  if (!name.starts_with("ai.")) return false;
  return name.ends_with(".doGenerate") || name.ends_with(".doStream");
}

std::string_view StripPrefix(std::string_view s, std::string_view prefix) {
  return s.starts_with(prefix) ? s.substr(prefix.size()) : s;
}
std::string_view StripSuffix(std::string_view s, std::string_view suffix) {
  return s.ends_with(suffix) ? s.substr(0, s.size() - suffix.size()) : s;
}

std::string ValueText(const AttributeValue& v) {
  switch (v.type) {
    case AttributeValue::Type::kString: {
      std::string s = "\"";
      s.append(v.string.substr(0, 64));
      if (v.string.size() > 64) s += "...";
      return s + "\"";
    }
    case AttributeValue::Type::kInt: return std::to_string(v.int_value);
    case AttributeValue::Type::kDouble: {
      if (std::isnan(v.double_value)) return "NaN";
      if (std::isinf(v.double_value)) return v.double_value > 0 ? "Infinity" : "-Infinity";
      char buf[32];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v.double_value);
      return std::string(buf, ec == std::errc() ? end : buf);
    }
    case AttributeValue::Type::kBool: return v.bool_value ? "true" : "false";
    case AttributeValue::Type::kEmpty: return "an empty value";
    case AttributeValue::Type::kBytes: return "bytes";
    case AttributeValue::Type::kArray: return "an array";
    case AttributeValue::Type::kKvList: return "a key-value list";
  }
  return "?";
}

}  // namespace

// The attributes of one span (and, apart, of its resource) found under the reader's keys.
struct SpanReader::Found {
  std::array<const AttributeValue*, kMaxSlots> at{};
  const AttributeValue* get(uint16_t slot) const { return at[slot]; }
};

SpanReader::SpanReader(SpanReaderOptions options) : options_(std::move(options)) {
  slot_keys_.assign(kFixedKeys.begin(), kFixedKeys.end());
  const auto add_list = [&](const std::vector<std::string>& keys, std::vector<uint16_t>* slots) {
    for (const std::string& key : keys) {
      std::size_t slot = slot_keys_.size();
      for (std::size_t i = 0; i < slot_keys_.size(); ++i) {
        if (slot_keys_[i] == key) slot = i;
      }
      if (slot == slot_keys_.size()) {
        if (slot_keys_.size() >= kMaxSlots) {
          throw std::invalid_argument("too many OTLP attribute names (at most " +
                                      std::to_string(kMaxSlots - kFixedSlotCount) + ")");
        }
        slot_keys_.push_back(key);
      }
      slots->push_back(static_cast<uint16_t>(slot));
    }
  };
  add_list(options_.attributes.user, &user_slots_);
  add_list(options_.attributes.team, &team_slots_);
  add_list(options_.attributes.endpoint, &endpoint_slots_);
  slots_.reserve(slot_keys_.size() * 2);
  for (std::size_t i = 0; i < slot_keys_.size(); ++i) {
    slots_.emplace(slot_keys_[i], static_cast<uint16_t>(i));
  }
}

std::size_t SpanReader::KeyHash::operator()(std::string_view key) const {
  uint64_t head = 0;
  uint64_t tail = 0;
  const std::size_t n = key.size();
  std::memcpy(&head, key.data(), std::min<std::size_t>(n, 8));
  if (n > 8) std::memcpy(&tail, key.data() + n - 8, 8);
  uint64_t h = (head * 0x9E3779B97F4A7C15ull) ^ (tail * 0xC2B2AE3D27D4EB4Full) ^ n;
  h ^= h >> 29;
  return static_cast<std::size_t>(h * 0xBF58476D1CE4E5B9ull);
}

void SpanReader::Collect(std::span<const Attribute> attributes, Found* found) const {
  for (const Attribute& a : attributes) {
    const auto it = slots_.find(a.key);
    if (it == slots_.end()) continue;
    if (found->at[it->second] == nullptr) found->at[it->second] = &a.value;  // the first wins
  }
}

ReadSpan SpanReader::Read(const Span& span) const {
  Found own;
  Collect(span.attributes, &own);
  Found resource;
  if (span.resource != nullptr) Collect(span.resource->attributes, &resource);

  ReadSpan out;
  SpanMeaning& m = out.meaning;
  const auto fail = [&](SpanRejectReason reason, std::string message) {
    std::string prefix = "span " + std::to_string(span.index);
    if (!span.name.empty()) {
      prefix += " (";
      prefix.append(span.name.substr(0, 64));
      prefix += ")";
    }
    out.error = SpanError{span.index, reason, prefix + ": " + message};
    return out;
  };
  const auto string_of = [](const AttributeValue* v) -> std::optional<std::string_view> {
    if (v == nullptr || v->type != AttributeValue::Type::kString || v->string.empty()) {
      return std::nullopt;
    }
    return v->string;
  };
  // The first of `slots` present as a non-empty string on the span, else on the resource.
  const auto first_string = [&](std::span<const uint16_t> slots) -> std::optional<std::string_view> {
    for (const uint16_t s : slots) {
      if (auto v = string_of(own.get(s))) return v;
    }
    for (const uint16_t s : slots) {
      if (auto v = string_of(resource.get(s))) return v;
    }
    return std::nullopt;
  };
  // The slot (span first, then resource) of the first of `slots` present, and its value.
  struct Hit {
    const AttributeValue* value = nullptr;
    uint16_t slot = 0;
  };
  const auto first_present = [&](std::span<const uint16_t> slots) -> Hit {
    for (const uint16_t s : slots) {
      if (own.get(s) != nullptr) return {own.get(s), s};
    }
    for (const uint16_t s : slots) {
      if (resource.get(s) != nullptr) return {resource.get(s), s};
    }
    return {};
  };
  const auto own_string = [&](uint16_t slot) { return string_of(own.get(slot)); };

  if (span.end_time_unix_nano < span.start_time_unix_nano) {
    return fail(SpanRejectReason::kEndBeforeStart,
                "end time " + std::to_string(span.end_time_unix_nano) +
                    " is before start time " + std::to_string(span.start_time_unix_nano) +
                    " (unix nanoseconds)");
  }
  const double duration =
      static_cast<double>(span.end_time_unix_nano - span.start_time_unix_nano) / 1e9;
  const bool error_status = span.status == StatusCode::kError ||
                            own.get(kErrorType) != nullptr ||
                            own_string(kLangfuseLevel).value_or("") == "ERROR";
  const std::string_view status = error_status ? "error" : "success";

  const auto label = [&](std::string_view what, std::string_view value) -> bool {
    if (value.size() <= options_.max_label_bytes) return true;
    fail(SpanRejectReason::kLabelTooLong,
         std::string(what) + " is " + std::to_string(value.size()) +
             " bytes long, the limit is " + std::to_string(options_.max_label_bytes) +
             " (--ingest.max-label-bytes)");
    return false;
  };
  // Workflow, agent and tool spans: a name, a status and a duration.
  const auto named = [&](SpanKind kind, std::string_view name) -> ReadSpan {
    m.kind = kind;
    m.name = name;
    m.status = status;
    m.duration_seconds = duration;
    if (!label(SpanKindName(kind), name)) return out;
    return out;
  };

  // What the span is.
  const std::string_view operation = own_string(kOperationName).value_or("");
  const std::string_view traceloop_kind = own_string(kTraceloopKind).value_or("");
  const std::string_view openinference = own_string(kOpenInferenceKind).value_or("");
  const std::string_view langfuse_type = own_string(kLangfuseType).value_or("");
  const std::string_view vercel_op = own_string(kVercelOperationId).value_or(span.name);
  const std::string_view entity = own_string(kEntityName).value_or("");

  const auto workflow_name = [&]() -> std::string_view {
    if (!entity.empty()) return entity;
    if (auto w = own_string(kWorkflowName)) return *w;
    return StripSuffix(StripSuffix(span.name, ".workflow"), ".task");
  };
  const auto agent_name = [&]() -> std::string_view {
    if (auto a = own_string(kAgentName)) return *a;
    if (!entity.empty()) return entity;
    return StripSuffix(StripPrefix(span.name, "invoke_agent "), ".agent");
  };
  const auto tool_name = [&]() -> std::string_view {
    if (auto t = own_string(kToolName)) return *t;
    if (!entity.empty()) return entity;
    if (auto t = own_string(kVercelToolName)) return *t;
    return StripSuffix(StripPrefix(span.name, "execute_tool "), ".tool");
  };

  // OpenLLMetry's decorators: never LLM calls, whatever else they carry.
  if (traceloop_kind == "workflow" || traceloop_kind == "task") {
    return named(SpanKind::kWorkflow, workflow_name());
  }
  if (traceloop_kind == "agent") return named(SpanKind::kAgent, agent_name());
  if (traceloop_kind == "tool") return named(SpanKind::kTool, tool_name());

  bool is_call = false;
  if (!operation.empty()) {
    if (operation == "invoke_agent") return named(SpanKind::kAgent, agent_name());
    if (operation == "execute_tool") return named(SpanKind::kTool, tool_name());
    if (operation == "invoke_workflow" || operation == "execute_task") {
      return named(SpanKind::kWorkflow, workflow_name());
    }
    if (operation == "create_agent") return out;  // ignored
    is_call = IsLlmOperation(operation);
  }
  if (!is_call && own.get(kLlmRequestType) != nullptr) is_call = true;
  if (!is_call && !openinference.empty()) {
    if (openinference == "LLM" || openinference == "EMBEDDING") is_call = true;
    else if (openinference == "AGENT") return named(SpanKind::kAgent, agent_name());
    else if (openinference == "TOOL") return named(SpanKind::kTool, tool_name());
  }
  if (!is_call && !langfuse_type.empty()) {
    if (langfuse_type == "generation" || langfuse_type == "embedding") is_call = true;
    else if (langfuse_type == "agent") return named(SpanKind::kAgent, agent_name());
    else if (langfuse_type == "tool") return named(SpanKind::kTool, tool_name());
  }
  if (!is_call && IsVercelCall(vercel_op)) is_call = true;
  if (!is_call && vercel_op == "ai.toolCall") return named(SpanKind::kTool, tool_name());
  // As a last resort: a span that names its model. Not when it said it is something else.
  if (!is_call && operation.empty() &&
      (own.get(kModel0) != nullptr || own.get(kModel2) != nullptr)) {
    is_call = true;
  }
  if (!is_call) return out;  // ignored

  // An LLM call: its fields.
  m.kind = SpanKind::kLlmCall;
  LlmCall& call = m.call;
  call.latency_seconds = duration;
  call.status = status;
  static constexpr std::array<uint16_t, 5> kModelSlots = {kModel0, kModel1, kModel2, kModel3,
                                                          kModel4};
  call.model = first_string(kModelSlots).value_or("unknown");
  if (!label("the model", call.model)) return out;
  std::string_view provider;
  static constexpr std::array<uint16_t, 5> kProviderSlots = {kProvider0, kProvider1, kProvider2,
                                                             kProvider3, kProvider4};
  for (const uint16_t s : kProviderSlots) {
    if (own.get(s) != nullptr || resource.get(s) != nullptr) {
      const std::array<uint16_t, 1> one = {s};
      provider = first_string(one).value_or("");
      if (s == kProvider4) provider = provider.substr(0, provider.find('.'));  // "openai.chat"
      if (!provider.empty()) break;
    }
  }
  if (auto user = first_string(user_slots_)) {
    call.user_id = *user;
    if (!label("the user", call.user_id)) return out;
  }
  if (auto team = first_string(team_slots_)) {
    call.team_id = *team;
    if (!label("the team", call.team_id)) return out;
  }
  if (auto endpoint = first_string(endpoint_slots_)) {
    call.endpoint = *endpoint;
  } else if (!operation.empty()) {
    call.endpoint = operation;
  } else if (auto type = own_string(kLlmRequestType)) {
    call.endpoint = *type;
  }
  if (!label("the endpoint", call.endpoint)) return out;

  // Token counts: whole, non-negative, not absurd. Integers, integral doubles and decimal
  // strings are accepted, as libraries differ.
  bool bad = false;
  // The attribute found (value nullptr: none), whether or not its value was good.
  const auto tokens = [&](std::span<const uint16_t> slots, uint64_t* into) -> Hit {
    const Hit hit = first_present(slots);
    if (hit.value == nullptr || bad) return hit;
    const AttributeValue& v = *hit.value;
    std::optional<uint64_t> n;
    if (v.type == AttributeValue::Type::kInt) {
      if (v.int_value >= 0) n = static_cast<uint64_t>(v.int_value);
    } else if (v.type == AttributeValue::Type::kDouble) {
      const double d = v.double_value;
      if (std::isfinite(d) && d >= 0 && d == std::floor(d) && d <= 1e15) {
        n = static_cast<uint64_t>(d);
      }
    } else if (v.type == AttributeValue::Type::kString) {
      uint64_t parsed = 0;
      const char* first = v.string.data();
      const char* last = first + v.string.size();
      auto [end, ec] = std::from_chars(first, last, parsed);
      if (ec == std::errc() && end == last && !v.string.empty()) n = parsed;
    }
    const std::string_view key = slot_keys_[hit.slot];
    if (!n) {
      bad = true;
      fail(SpanRejectReason::kInvalidValue,
           std::string(key) + " must be a non-negative whole number of tokens, got " +
               ValueText(v));
      return hit;
    }
    if (*n > kMaxSpanTokens) {
      bad = true;
      fail(SpanRejectReason::kInvalidValue,
           std::string(key) + " is " + std::to_string(*n) + " tokens, above the limit of " +
               std::to_string(kMaxSpanTokens) + " for one call");
      return hit;
    }
    *into = *n;
    return hit;
  };
  static constexpr std::array<uint16_t, 5> kInputSlots = {kInput0, kInput1, kInput2, kInput3,
                                                          kInput4};
  static constexpr std::array<uint16_t, 5> kOutputSlots = {kOutput0, kOutput1, kOutput2,
                                                           kOutput3, kOutput4};
  static constexpr std::array<uint16_t, 4> kCachedSlots = {kCached0, kCached1, kCached2,
                                                           kCached3};
  static constexpr std::array<uint16_t, 5> kCacheWriteSlots = {kCacheWrite0, kCacheWrite1,
                                                               kCacheWrite2, kCacheWrite3,
                                                               kCacheWrite4};
  static constexpr std::array<uint16_t, 5> kReasoningSlots = {kReasoning0, kReasoning1,
                                                              kReasoning2, kReasoning3,
                                                              kReasoning4};
  const Hit input = tokens(kInputSlots, &call.input_tokens);
  const Hit output = tokens(kOutputSlots, &call.output_tokens);
  const Hit cached = tokens(kCachedSlots, &call.cached_input_tokens);
  const Hit cache_write = tokens(kCacheWriteSlots, &call.cache_write_input_tokens);
  const Hit reasoning = tokens(kReasoningSlots, &call.reasoning_tokens);
  if (bad) return out;
  // No token count at all (streams often end without one): the usage is unknown, not zero. A
  // part alone (cached, cache write, reasoning) still says something, as in JSON events.
  call.usage_known = input.value != nullptr || output.value != nullptr ||
                     cached.value != nullptr || cache_write.value != nullptr ||
                     reasoning.value != nullptr;
  // Input counts include cached and cache-write tokens in the GenAI conventions, OpenLLMetry and
  // OpenInference; OpenLIT's Anthropic instrumentation and Langfuse count them apart
  // (docs/otlp.md), as Anthropic's API does. Parts above the input count can only mean the same.
  // Each count is at most kMaxSpanTokens, so the sums cannot wrap.
  const bool openlit = string_of(resource.get(kSdkName)).value_or("") == "openlit" ||
                       string_of(own.get(kSdkName)).value_or("") == "openlit";
  const bool excludes_cached =
      (openlit && provider == "anthropic") || !langfuse_type.empty() ||
      call.cached_input_tokens + call.cache_write_input_tokens > call.input_tokens;
  if (excludes_cached) {
    call.input_tokens += call.cached_input_tokens + call.cache_write_input_tokens;
  }
  // Reasoning tokens are part of the output in every convention: more of them than output is a
  // broken span, not another way of counting.
  if (call.reasoning_tokens > call.output_tokens) {
    return fail(SpanRejectReason::kInvalidValue,
                std::string(slot_keys_[reasoning.slot]) + " (" +
                    std::to_string(call.reasoning_tokens) +
                    " reasoning tokens) must not exceed the output tokens (" +
                    std::to_string(call.output_tokens) + ")");
  }

  // Time to first token: seconds, or milliseconds from the Vercel AI SDK, or a span event.
  const auto seconds_value = [&](const Hit& hit, double scale) -> bool {
    const AttributeValue& v = *hit.value;
    double d = 0;
    if (v.type == AttributeValue::Type::kDouble) d = v.double_value;
    else if (v.type == AttributeValue::Type::kInt) d = static_cast<double>(v.int_value);
    else d = std::nan("");
    if (!std::isfinite(d) || d < 0) {
      fail(SpanRejectReason::kInvalidValue, std::string(slot_keys_[hit.slot]) +
                                                " must be a non-negative number, got " +
                                                ValueText(v));
      return false;
    }
    call.ttft_seconds = d * scale;
    return true;
  };
  static constexpr std::array<uint16_t, 3> kTtftSecondsSlots = {kTtftSeconds0, kTtftSeconds1,
                                                                kTtftSeconds2};
  static constexpr std::array<uint16_t, 2> kTtftMsSlots = {kTtftMs0, kTtftMs1};
  if (const Hit s = first_present(kTtftSecondsSlots); s.value != nullptr) {
    if (!seconds_value(s, 1)) return out;
  } else if (const Hit ms = first_present(kTtftMsSlots); ms.value != nullptr) {
    if (!seconds_value(ms, 1e-3)) return out;
  } else {
    for (const SpanEvent& e : span.events) {
      if (e.name == kFirstTokenEvent && e.time_unix_nano >= span.start_time_unix_nano) {
        call.ttft_seconds = static_cast<double>(e.time_unix_nano - span.start_time_unix_nano) / 1e9;
        break;
      }
    }
  }

  static constexpr std::array<uint16_t, 2> kCostSlots = {kCost0, kCost1};
  if (const Hit c = first_present(kCostSlots); c.value != nullptr) {
    const AttributeValue& v = *c.value;
    double usd = std::nan("");
    if (v.type == AttributeValue::Type::kDouble) usd = v.double_value;
    else if (v.type == AttributeValue::Type::kInt) usd = static_cast<double>(v.int_value);
    if (!std::isfinite(usd) || usd < 0 || usd > kMaxSpanCostUsd) {
      return fail(SpanRejectReason::kInvalidValue,
                  std::string(slot_keys_[c.slot]) +
                      " must be a cost in USD from 0 to 1000000, got " + ValueText(v));
    }
    call.caller_cost_pico = static_cast<int64_t>(std::llround(usd * 1e12));
  }
  return out;
}

namespace {

// Lower-case hex digits of an id; empty for an all-zero id.
template <std::size_t N>
std::string IdHex(const std::array<uint8_t, N>& id) {
  static constexpr char kHex[] = "0123456789abcdef";
  bool zero = true;
  for (const uint8_t b : id) zero = zero && b == 0;
  if (zero) return {};
  std::string s(2 * N, '0');
  for (std::size_t i = 0; i < N; ++i) {
    s[2 * i] = kHex[id[i] >> 4];
    s[2 * i + 1] = kHex[id[i] & 0xf];
  }
  return s;
}

}  // namespace

std::string TraceIdHex(const TraceId& id) { return IdHex(id); }
std::string SpanIdHex(const SpanId& id) { return IdHex(id); }

}  // namespace llm_exporter::otlp
