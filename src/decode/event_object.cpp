#include "decode/event_object.h"

#include <fmt/format.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

#include "decode/json_text.h"
#include "llm_exporter/money.h"

namespace llm_exporter::decode {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

// The largest count, and the largest magnitude of any other number, an event may carry: 2^53.
// Prometheus stores samples as doubles, exact only up to 2^53; no run of such values can push a
// histogram's double sum to Inf; and a uint64 token total no longer wraps after two events.
constexpr uint64_t kMaxCount = uint64_t{1} << 53;
constexpr double kMaxMagnitude = 9007199254740992.0;  // 2^53

enum class Field : uint8_t {
  kType, kModel, kEndpoint, kStatus, kUserId, kTeamId, kTraceId, kSpanId, kInputTokens,
  kOutputTokens, kCachedInputTokens, kCacheWriteInputTokens, kReasoningTokens, kLatency, kTtft,
  kCache, kCostUsd, kEvaluator, kScore, kCount,
};

// The OpenAI names prompt_tokens/completion_tokens are aliases of input/output_tokens.
// Called for every key of every event: dispatch on the length first, so that most keys are
// compared with one or two names instead of all twenty-one.
std::optional<Field> LookUpField(std::string_view key) {
  const auto is = [&](std::string_view name, Field field) -> std::optional<Field> {
    if (key == name) return field;
    return std::nullopt;
  };
  switch (key.size()) {
    case 4: return key == "type" ? Field::kType : is("ttft", Field::kTtft);
    case 5:
      if (key == "model") return Field::kModel;
      if (key == "cache") return Field::kCache;
      return is("score", Field::kScore);
    case 6: return is("status", Field::kStatus);
    case 7:
      if (key == "latency") return Field::kLatency;
      if (key == "user_id") return Field::kUserId;
      if (key == "span_id") return Field::kSpanId;
      return is("team_id", Field::kTeamId);
    case 8:
      if (key == "endpoint") return Field::kEndpoint;
      if (key == "trace_id") return Field::kTraceId;
      return is("cost_usd", Field::kCostUsd);
    case 9: return is("evaluator", Field::kEvaluator);
    case 12: return is("input_tokens", Field::kInputTokens);
    case 13: return key == "output_tokens" ? Field::kOutputTokens : is("prompt_tokens", Field::kInputTokens);
    case 16: return is("reasoning_tokens", Field::kReasoningTokens);
    case 17: return is("completion_tokens", Field::kOutputTokens);
    case 19: return is("cached_input_tokens", Field::kCachedInputTokens);
    case 24: return is("cache_write_input_tokens", Field::kCacheWriteInputTokens);
    default: return std::nullopt;
  }
}

// How a value is shown in an error: numbers as written, other values by kind.
std::string Describe(const element& value) {
  switch (value.type()) {
    case element_type::INT64: return std::to_string(int64_t(value));
    case element_type::UINT64: return std::to_string(uint64_t(value));
    case element_type::DOUBLE: return fmt::format("{}", double(value));
    case element_type::STRING: return "a string";
    case element_type::BOOL: return bool(value) ? "true" : "false";
    case element_type::NULL_VALUE: return "null";
    case element_type::ARRAY: return "an array";
    case element_type::OBJECT: return "an object";
  }
  return "a value";
}

bool IsNumber(const element& value) {
  const element_type t = value.type();
  return t == element_type::INT64 || t == element_type::UINT64 || t == element_type::DOUBLE;
}

// Collects an object's known fields, then checks them in a fixed order.
class ObjectValidator {
 public:
  ObjectValidator(const ObjectContext& context, EventError* error)
      : context_(context), error_(error) {}

  bool Collect(simdjson::dom::object object) {
    for (auto [key, value] : object) {
      const std::optional<Field> field = LookUpField(key);
      if (!field) continue;  // Unknown fields are ignored, so apps may send more than we use.
      const auto slot = static_cast<std::size_t>(*field);
      if (present_[slot]) {
        return Fail(key, RejectReason::kDuplicateField,
                    names_[slot] == key
                        ? fmt::format("{} appears more than once", key)
                        : fmt::format("{} and {} name the same field", names_[slot], key));
      }
      present_[slot] = true;
      names_[slot] = key;
      values_[slot] = value;
    }
    return true;
  }

  bool Build(Event* event) {
    std::string_view type = "llm_call";
    if (Has(Field::kType)) {
      if (!String(Field::kType, &type)) return false;
      if (type != "llm_call" && type != "quality") {
        return Fail("type", RejectReason::kUnknownType,
                    fmt::format("type must be \"llm_call\" or \"quality\", got \"{}\"",
                                ShortForMessage(type)));
      }
    }
    if (type == "quality") {
      QualityScore score;
      if (!Label(Field::kModel, "model", /*required=*/true, &score.model) ||
          !Label(Field::kEvaluator, "evaluator", /*required=*/true, &score.evaluator) ||
          !Number(Field::kScore, "score", /*required=*/true, /*min=*/-INFINITY, &score.score) ||
          !Id(Field::kTraceId, "trace_id", &score.trace_id)) {
        return false;
      }
      *event = score;
      return true;
    }
    LlmCall call;
    std::optional<double> ttft;
    std::optional<double> cost_usd;
    if (!Label(Field::kModel, "model", true, &call.model) ||
        !Label(Field::kEndpoint, "endpoint", false, &call.endpoint) ||
        !Label(Field::kStatus, "status", false, &call.status) ||
        !Label(Field::kUserId, "user_id", false, &call.user_id) ||
        !Label(Field::kTeamId, "team_id", false, &call.team_id) ||
        !Id(Field::kTraceId, "trace_id", &call.trace_id) ||
        !Id(Field::kSpanId, "span_id", &call.span_id) ||
        !Count(Field::kInputTokens, "input_tokens", false, &call.input_tokens) ||
        !Count(Field::kOutputTokens, "output_tokens", false, &call.output_tokens) ||
        !Count(Field::kCachedInputTokens, "cached_input_tokens", false,
               &call.cached_input_tokens) ||
        !Count(Field::kCacheWriteInputTokens, "cache_write_input_tokens", false,
               &call.cache_write_input_tokens) ||
        !Count(Field::kReasoningTokens, "reasoning_tokens", false, &call.reasoning_tokens) ||
        !Number(Field::kLatency, "latency", true, 0, &call.latency_seconds) ||
        !OptionalNumber(Field::kTtft, "ttft", &ttft) ||
        !OptionalNumber(Field::kCostUsd, "cost_usd", &cost_usd) || !Cache(&call.cache)) {
      return false;
    }
    if (Has(Field::kStatus) && call.status.empty()) {
      return Fail("status", RejectReason::kInvalidValue, "status must not be empty");
    }
    // No token count given (null counts as absent), as streams often end: the tokens are
    // unknown, not zero. One count alone is a call whose other count is 0. A part given without
    // its whole keeps the usage known and is held to a whole of 0, so it is refused, not lost.
    call.usage_known = counted_;
    if (call.cached_input_tokens > call.input_tokens) {
      return Fail("cached_input_tokens", RejectReason::kInvalidValue,
                  fmt::format("cached_input_tokens ({}) must not exceed input_tokens ({})",
                              call.cached_input_tokens, call.input_tokens));
    }
    // Each part is at most 2^53, so the sum cannot wrap.
    if (call.cached_input_tokens + call.cache_write_input_tokens > call.input_tokens) {
      return Fail("cache_write_input_tokens", RejectReason::kInvalidValue,
                  fmt::format("cached_input_tokens ({}) + cache_write_input_tokens ({}) must not "
                              "exceed input_tokens ({})",
                              call.cached_input_tokens, call.cache_write_input_tokens,
                              call.input_tokens));
    }
    if (call.reasoning_tokens > call.output_tokens) {
      return Fail("reasoning_tokens", RejectReason::kInvalidValue,
                  fmt::format("reasoning_tokens ({}) must not exceed output_tokens ({})",
                              call.reasoning_tokens, call.output_tokens));
    }
    call.ttft_seconds = ttft;
    if (cost_usd) {
      call.caller_cost_pico = UsdToPico(*cost_usd);
      if (!call.caller_cost_pico) {
        return Fail("cost_usd", RejectReason::kInvalidValue,
                    fmt::format("cost_usd must be at most 9000000, got {}", *cost_usd));
      }
    }
    *event = call;
    return true;
  }

 private:
  bool Has(Field f) const { return present_[static_cast<std::size_t>(f)]; }
  const element& Value(Field f) const { return values_[static_cast<std::size_t>(f)]; }
  bool IsNull(Field f) const { return Has(f) && Value(f).type() == element_type::NULL_VALUE; }

  bool Fail(std::string_view field, RejectReason reason, std::string message) {
    error_->index = context_.index;
    error_->field = std::string(field);
    error_->reason = reason;
    error_->message = fmt::format("event {}: {}", context_.index, message);
    return false;
  }

  bool Missing(std::string_view name) {
    return Fail(name, RejectReason::kMissingField, fmt::format("{} is required", name));
  }

  bool WrongType(std::string_view name, std::string_view expected, const element& value) {
    return Fail(name, RejectReason::kWrongType,
                fmt::format("{} must be {}, got {}", name, expected, Describe(value)));
  }

  bool String(Field f, std::string_view* out) {
    const element& value = Value(f);
    const std::string_view name = names_[static_cast<std::size_t>(f)];
    if (value.type() != element_type::STRING) return WrongType(name, "a string", value);
    *out = std::string_view(value);
    if (context_.sanitized && out->find(kInvalidTextMarker) != std::string_view::npos) {
      return Fail(name, RejectReason::kInvalidUtf8,
                  fmt::format("{} is not valid UTF-8 (or holds a lone \\u surrogate)", name));
    }
    return true;
  }

  // A label value: a string within the length limit; `required` ones must be non-empty.
  bool Label(Field f, std::string_view name, bool required, std::string_view* out) {
    if (!Has(f) || (!required && IsNull(f))) return required ? Missing(name) : true;
    if (!String(f, out)) return false;
    if (required && out->empty()) {
      return Fail(name, RejectReason::kInvalidValue, fmt::format("{} must not be empty", name));
    }
    if (out->size() > context_.limits->max_label_bytes) {
      return Fail(name, RejectReason::kLabelTooLong,
                  fmt::format("{} is {} bytes long, the limit is {}", name, out->size(),
                              context_.limits->max_label_bytes));
    }
    return true;
  }

  // trace_id or span_id: an optional string within the id length limit.
  bool Id(Field f, std::string_view name, std::string_view* out) {
    if (!Has(f) || IsNull(f)) return true;
    if (!String(f, out)) return false;
    if (out->size() > context_.limits->max_trace_id_bytes) {
      return Fail(name, RejectReason::kInvalidValue,
                  fmt::format("{} is {} bytes long, the limit is {}", name, out->size(),
                              context_.limits->max_trace_id_bytes));
    }
    return true;
  }

  bool Count(Field f, std::string_view name, bool required, uint64_t* out) {
    if (!Has(f) || (!required && IsNull(f))) return required ? Missing(name) : true;
    const element& value = Value(f);
    name = names_[static_cast<std::size_t>(f)];  // as sent: prompt_tokens is reported as such
    switch (value.type()) {
      case element_type::UINT64:
      case element_type::INT64:
        if (value.type() == element_type::UINT64 || int64_t(value) >= 0) {
          const uint64_t count = value.type() == element_type::UINT64
                                     ? uint64_t(value)
                                     : static_cast<uint64_t>(int64_t(value));
          if (count > kMaxCount) {
            return Fail(name, RejectReason::kInvalidValue,
                        fmt::format("{} must be at most 2^53 ({}), got {}", name, kMaxCount,
                                    count));
          }
          *out = count;
          counted_ = true;
          return true;
        }
        return Fail(name, RejectReason::kInvalidValue,
                    fmt::format("{} must be a non-negative integer, got {}", name,
                                Describe(value)));
      case element_type::DOUBLE:
        return Fail(name, RejectReason::kInvalidValue,
                    fmt::format("{} must be a non-negative integer, got {}", name,
                                Describe(value)));
      default:
        return WrongType(name, "a non-negative integer", value);
    }
  }

  // A finite number no smaller than `min`.
  bool Number(Field f, std::string_view name, bool required, double min, double* out) {
    if (!Has(f)) return required ? Missing(name) : true;
    const element& value = Value(f);
    if (!IsNumber(value)) return WrongType(name, "a number", value);
    const double number = double(value);
    if (!std::isfinite(number)) {  // simdjson refuses 1e400, but keep the promise local
      return Fail(name, RejectReason::kInvalidValue, fmt::format("{} must be finite", name));
    }
    if (number < min) {
      return Fail(name, RejectReason::kInvalidValue,
                  fmt::format("{} must not be negative, got {}", name, Describe(value)));
    }
    if (std::fabs(number) > kMaxMagnitude) {
      return Fail(name, RejectReason::kInvalidValue,
                  fmt::format("{} must be {}at most 2^53 ({}), got {}", name,
                              min < 0 ? "in magnitude " : "", kMaxCount, Describe(value)));
    }
    *out = number;
    return true;
  }

  // An optional non-negative number; null counts as absent.
  bool OptionalNumber(Field f, std::string_view name, std::optional<double>* out) {
    if (!Has(f) || IsNull(f)) return true;
    double number = 0;
    if (!Number(f, name, true, 0, &number)) return false;
    *out = number;
    return true;
  }

  bool Cache(CacheOutcome* out) {
    if (!Has(Field::kCache) || IsNull(Field::kCache)) return true;
    std::string_view text;
    if (!String(Field::kCache, &text)) return false;
    if (text == "hit") {
      *out = CacheOutcome::kHit;
    } else if (text == "miss") {
      *out = CacheOutcome::kMiss;
    } else {
      return Fail("cache", RejectReason::kInvalidValue,
                  fmt::format("cache must be \"hit\" or \"miss\", got \"{}\"",
                              ShortForMessage(text)));
    }
    return true;
  }

  static constexpr std::size_t kSlots = static_cast<std::size_t>(Field::kCount);
  const ObjectContext& context_;
  EventError* error_;
  std::array<bool, kSlots> present_{};
  bool counted_ = false;  // a token count was given: the call's usage is known
  std::array<std::string_view, kSlots> names_{};
  std::array<element, kSlots> values_{};
};

}  // namespace

bool DecodeEventObject(simdjson::dom::object object, const ObjectContext& context, Event* event,
                       EventError* error) {
  ObjectValidator validator(context, error);
  return validator.Collect(object) && validator.Build(event);
}

}  // namespace llm_exporter::decode
