#include "otlp/json_span_decoder.h"

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "otlp/span_text.h"

namespace llm_exporter::otlp {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

// Protobuf's JSON mapping accepts the proto field name as well as its lowerCamelCase form;
// OTLP/JSON exporters send the latter.
bool KeyIs(std::string_view key, std::string_view camel, std::string_view snake) {
  return key == camel || key == snake;
}
bool KeyIs(std::string_view key, std::string_view name) { return key == name; }

bool IsNull(const element& e) { return e.type() == element_type::NULL_VALUE; }

// What is wrong with a value inside a span or resource: its path (e.g. "startTimeUnixNano", or
// ".value.intValue" inside an attribute) and what it must be. Static strings: finding one
// allocates nothing; the message is written only if it is listed.
struct Problem {
  static constexpr std::size_t kNoItem = static_cast<std::size_t>(-1);
  std::string_view path;
  std::string_view what;
  SpanRejectReason reason = SpanRejectReason::kInvalidValue;
  std::size_t item = kNoItem;  // inside attributes[item] or events[item]
  std::string_view inner;      // the path inside that attribute or event
  std::size_t count = 0;       // kTooManyAttributes: how many there are

  Problem() = default;
  Problem(std::string_view path_, std::string_view what_,
          SpanRejectReason reason_ = SpanRejectReason::kInvalidValue)
      : path(path_), what(what_), reason(reason_) {}
  // A problem inside attributes[item] or events[item].
  static Problem InItem(std::string_view list, std::size_t item, const Problem& inside) {
    Problem p(list, inside.what, inside.reason);
    p.item = item;
    p.inner = inside.path;
    return p;
  }
  static Problem TooMany(std::string_view list, std::size_t count) {
    Problem p(list, "too many", SpanRejectReason::kTooManyAttributes);
    p.count = count;
    return p;
  }
  explicit operator bool() const { return !what.empty(); }
};

constexpr std::string_view kMustBeUint =
    "must be a non-negative integer (a number, a decimal string or {\"low\", \"high\"})";
constexpr std::string_view kMustBeInt =
    "must be an integer (a number, a decimal string or {\"low\", \"high\"})";

bool ParseDecimal(std::string_view text, uint64_t* out) {
  if (text.empty() || text.size() > 20) return false;
  uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
    if (__builtin_mul_overflow(value, 10, &value) ||
        __builtin_add_overflow(value, static_cast<uint64_t>(c - '0'), &value)) {
      return false;
    }
  }
  *out = value;
  return true;
}

// Long.js's {low, high} (some JavaScript exporters send 64-bit integers so): the two 32-bit
// halves, each as a signed or unsigned 32-bit number; `unsigned` is ignored.
bool ReadLowHigh(const object& halves, uint64_t* out) {
  bool have_low = false;
  bool have_high = false;
  uint32_t low = 0;
  uint32_t high = 0;
  for (const auto field : halves) {
    const bool is_low = field.key == "low";
    if (!is_low && field.key != "high") continue;
    int64_t v;
    if (field.value.get_int64().get(v) != simdjson::SUCCESS) return false;
    if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<uint32_t>::max()) {
      return false;
    }
    (is_low ? low : high) = static_cast<uint32_t>(v);
    (is_low ? have_low : have_high) = true;
  }
  if (!have_low || !have_high) return false;
  *out = (static_cast<uint64_t>(high) << 32) | low;
  return true;
}

// fixed64 / uint64: a number, a decimal string or {low, high}.
bool ReadUint64(const element& e, uint64_t* out) {
  switch (e.type()) {
    case element_type::UINT64:
      *out = e.get_uint64().value_unsafe();
      return true;
    case element_type::INT64: {
      const int64_t v = e.get_int64().value_unsafe();
      if (v < 0) return false;
      *out = static_cast<uint64_t>(v);
      return true;
    }
    case element_type::DOUBLE: {  // 1.7e18: integral values written with an exponent
      const double d = e.get_double().value_unsafe();
      if (!(d >= 0 && d < 18446744073709551616.0) || d != std::floor(d)) return false;
      *out = static_cast<uint64_t>(d);
      return true;
    }
    case element_type::STRING:
      return ParseDecimal(e.get_string().value_unsafe(), out);
    case element_type::OBJECT:
      return ReadLowHigh(e.get_object().value_unsafe(), out);
    default:
      return false;
  }
}

// int64: a number, a decimal string with an optional '-', or {low, high} (two's complement).
bool ReadInt64(const element& e, int64_t* out) {
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  switch (e.type()) {
    case element_type::INT64:
      *out = e.get_int64().value_unsafe();
      return true;
    case element_type::UINT64:
      return false;  // above INT64_MAX
    case element_type::DOUBLE: {
      const double d = e.get_double().value_unsafe();
      if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != std::floor(d)) {
        return false;
      }
      *out = static_cast<int64_t>(d);
      return true;
    }
    case element_type::STRING: {
      std::string_view text = e.get_string().value_unsafe();
      const bool negative = !text.empty() && text[0] == '-';
      if (negative) text.remove_prefix(1);
      uint64_t magnitude;
      if (!ParseDecimal(text, &magnitude) || magnitude > kMax + (negative ? 1 : 0)) return false;
      *out = negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
      return true;
    }
    case element_type::OBJECT: {
      uint64_t bits;
      if (!ReadLowHigh(e.get_object().value_unsafe(), &bits)) return false;
      *out = static_cast<int64_t>(bits);
      return true;
    }
    default:
      return false;
  }
}

// double: a number, or a string: "NaN", "Infinity", "-Infinity" or a decimal number.
bool ReadDouble(const element& e, double* out) {
  switch (e.type()) {
    case element_type::DOUBLE:
      *out = e.get_double().value_unsafe();
      return true;
    case element_type::INT64:
      *out = static_cast<double>(e.get_int64().value_unsafe());
      return true;
    case element_type::UINT64:
      *out = static_cast<double>(e.get_uint64().value_unsafe());
      return true;
    case element_type::STRING: {
      const std::string_view text = e.get_string().value_unsafe();
      if (text == "NaN") {
        *out = std::numeric_limits<double>::quiet_NaN();
      } else if (text == "Infinity") {
        *out = std::numeric_limits<double>::infinity();
      } else if (text == "-Infinity") {
        *out = -std::numeric_limits<double>::infinity();
      } else {
        // from_chars would also take "nan", "inf" and "infinity": only digits, signs, '.', 'e'.
        if (text.find_first_not_of("0123456789+-.eE") != std::string_view::npos) return false;
        const char* end = text.data() + text.size();
        const auto [ptr, ec] = std::from_chars(text.data(), end, *out);
        return ec == std::errc() && ptr == end;
      }
      return true;
    }
    default:
      return false;
  }
}

// A hex id of N bytes: a string of 2N hex digits, either case, or "" (absent).
template <std::size_t N>
Problem ReadHexId(const element& e, std::string_view name, std::array<uint8_t, N>* out) {
  std::string_view text;
  if (e.get_string().get(text) != simdjson::SUCCESS) {
    return {name, "must be a string of hex digits"};
  }
  if (text.empty()) return {};
  static constexpr std::string_view kWrongLength[] = {"must be 32 hex digits (16 bytes)",
                                                      "must be 16 hex digits (8 bytes)"};
  if (text.size() != 2 * N) {
    return {name, kWrongLength[N == 16 ? 0 : 1], SpanRejectReason::kInvalidId};
  }
  const auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < N; ++i) {
    const int hi = nibble(text[2 * i]);
    const int lo = nibble(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return {name, "is not hexadecimal", SpanRejectReason::kInvalidId};
    (*out)[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return {};
}

// Fills `out` from an AnyValue object ({"stringValue": "..."}, {"intValue": "3"}, ...). Arrays and
// key-value lists are typed, never walked: nesting costs nothing.
Problem ReadAnyValue(const element& e, AttributeValue* out) {
  *out = AttributeValue{};
  if (IsNull(e)) return {};
  object value;
  if (e.get_object().get(value) != simdjson::SUCCESS) return {".value", "must be an object"};
  for (const auto field : value) {
    const std::string_view key = field.key;
    const element& v = field.value;
    if (IsNull(v)) continue;
    if (KeyIs(key, "stringValue", "string_value")) {
      if (v.get_string().get(out->string) != simdjson::SUCCESS) {
        return {".value.stringValue", "must be a string"};
      }
      out->type = AttributeValue::Type::kString;
    } else if (KeyIs(key, "intValue", "int_value")) {
      if (!ReadInt64(v, &out->int_value)) return {".value.intValue", kMustBeInt};
      out->type = AttributeValue::Type::kInt;
    } else if (KeyIs(key, "doubleValue", "double_value")) {
      if (!ReadDouble(v, &out->double_value)) {
        return {".value.doubleValue", "must be a number, \"NaN\", \"Infinity\" or \"-Infinity\""};
      }
      out->type = AttributeValue::Type::kDouble;
    } else if (KeyIs(key, "boolValue", "bool_value")) {
      if (v.get_bool().get(out->bool_value) != simdjson::SUCCESS) {
        return {".value.boolValue", "must be true or false"};
      }
      out->type = AttributeValue::Type::kBool;
    } else if (KeyIs(key, "arrayValue", "array_value")) {
      if (!v.is_object()) return {".value.arrayValue", "must be an object"};
      out->type = AttributeValue::Type::kArray;
    } else if (KeyIs(key, "kvlistValue", "kvlist_value")) {
      if (!v.is_object()) return {".value.kvlistValue", "must be an object"};
      out->type = AttributeValue::Type::kKvList;
    } else if (KeyIs(key, "bytesValue", "bytes_value")) {
      if (!v.is_string()) return {".value.bytesValue", "must be a base64 string"};
      out->type = AttributeValue::Type::kBytes;
    }
  }
  return {};
}

// A KeyValue object: {"key": "...", "value": {...}}.
Problem ReadAttribute(const element& e, Attribute* out) {
  *out = Attribute{};
  object kv;
  if (e.get_object().get(kv) != simdjson::SUCCESS) return {"", "must be an object"};
  for (const auto field : kv) {
    if (KeyIs(field.key, "key")) {
      if (field.value.get_string().get(out->key) != simdjson::SUCCESS) {
        return {".key", "must be a string"};
      }
    } else if (KeyIs(field.key, "value")) {
      if (Problem p = ReadAnyValue(field.value, &out->value)) return p;
    }
  }
  return {};
}

// The array at `e`, if it is one; null counts as an empty array.
bool ReadArray(const element& e, array* out, bool* present) {
  *present = false;
  if (IsNull(e)) return true;
  if (e.get_array().get(*out) != simdjson::SUCCESS) return false;
  *present = true;
  return true;
}

// Walks one request's document into a SpanCollector. A type error above the spans refuses the
// body (its message names the path); one inside a span refuses that span.
class RequestWalker {
 public:
  explicit RequestWalker(SpanCollector& out) : out_(out) {}

  void Walk(const element& root) {
    object request;
    if (root.get_object().get(request) != simdjson::SUCCESS) {
      return BodyError("the body must be a JSON object (an ExportTraceServiceRequest)");
    }
    for (const auto field : request) {
      if (!KeyIs(field.key, "resourceSpans", "resource_spans")) continue;
      array all;
      bool present;
      if (!ReadArray(field.value, &all, &present)) {
        return BodyError("resourceSpans must be an array");
      }
      if (!present) continue;
      std::size_t r = 0;
      for (const element resource_spans : all) {
        if (!WalkResourceSpans(resource_spans, r++)) return;
      }
    }
  }

 private:
  template <typename... Args>
  void BodyError(fmt::format_string<Args...> format, Args&&... args) {
    out_.SetBodyError("the body is not a valid OTLP/JSON ExportTraceServiceRequest: " +
                      fmt::format(format, std::forward<Args>(args)...));
  }

  bool WalkResourceSpans(const element& e, std::size_t r) {
    object resource_spans;
    if (e.get_object().get(resource_spans) != simdjson::SUCCESS) {
      BodyError("resourceSpans[{}] must be an object", r);
      return false;
    }
    element resource;
    element scope_spans;
    bool have_resource = false;
    bool have_scope_spans = false;
    for (const auto field : resource_spans) {
      if (KeyIs(field.key, "resource")) {
        resource = field.value;
        have_resource = true;
      } else if (KeyIs(field.key, "scopeSpans", "scope_spans")) {
        scope_spans = field.value;
        have_scope_spans = true;
      }
    }
    out_.StartResource();
    group_refused_ = false;
    if (have_resource && !WalkResource(resource, r)) return false;
    out_.EndResource();
    if (!have_scope_spans) return true;
    array all;
    bool present;
    if (!ReadArray(scope_spans, &all, &present)) {
      BodyError("resourceSpans[{}].scopeSpans must be an array", r);
      return false;
    }
    if (!present) return true;
    std::size_t s = 0;
    for (const element scope : all) {
      if (!WalkScopeSpans(scope, r, s++)) return false;
    }
    return true;
  }

  bool WalkResource(const element& e, std::size_t r) {
    if (IsNull(e)) return true;
    object resource;
    if (e.get_object().get(resource) != simdjson::SUCCESS) {
      BodyError("resourceSpans[{}].resource must be an object", r);
      return false;
    }
    for (const auto field : resource) {
      if (!KeyIs(field.key, "attributes")) continue;
      array attributes;
      bool present;
      if (!ReadArray(field.value, &attributes, &present)) {
        BodyError("resourceSpans[{}].resource.attributes must be an array", r);
        return false;
      }
      if (!present) continue;
      const std::size_t count = attributes.size();
      const std::size_t limit = out_.limits().max_attributes_per_span;
      if (count > limit) {
        group_refused_ = true;
        group_reason_ = SpanRejectReason::kTooManyAttributes;
        group_detail_ =
            fmt::format("its resource has {} attributes, over the limit of {}", count, limit);
        continue;
      }
      std::size_t a = 0;
      for (const element attribute : attributes) {
        Attribute parsed;
        if (Problem p = ReadAttribute(attribute, &parsed)) {
          BodyError("resourceSpans[{}].resource.attributes[{}]{} {}", r, a, p.path, p.what);
          return false;
        }
        out_.AddResourceAttribute(parsed);
        ++a;
      }
    }
    return true;
  }

  bool WalkScopeSpans(const element& e, std::size_t r, std::size_t s) {
    object scope_spans;
    if (e.get_object().get(scope_spans) != simdjson::SUCCESS) {
      BodyError("resourceSpans[{}].scopeSpans[{}] must be an object", r, s);
      return false;
    }
    std::string_view scope_name;
    array spans;
    bool have_spans = false;
    for (const auto field : scope_spans) {
      if (KeyIs(field.key, "scope")) {
        if (IsNull(field.value)) continue;
        object scope;
        if (field.value.get_object().get(scope) != simdjson::SUCCESS) {
          BodyError("resourceSpans[{}].scopeSpans[{}].scope must be an object", r, s);
          return false;
        }
        for (const auto scope_field : scope) {
          if (KeyIs(scope_field.key, "name") && !IsNull(scope_field.value) &&
              scope_field.value.get_string().get(scope_name) != simdjson::SUCCESS) {
            BodyError("resourceSpans[{}].scopeSpans[{}].scope.name must be a string", r, s);
            return false;
          }
        }
      } else if (KeyIs(field.key, "spans")) {
        if (!ReadArray(field.value, &spans, &have_spans)) {
          BodyError("resourceSpans[{}].scopeSpans[{}].spans must be an array", r, s);
          return false;
        }
      }
    }
    if (!have_spans) return true;
    for (const element span : spans) {
      const std::size_t index = out_.NextIndex();
      if (group_refused_) {
        out_.RejectWith(index, group_reason_, group_detail_);
      } else {
        WalkSpan(span, index, scope_name);
      }
    }
    return true;
  }

  void WalkSpan(const element& e, std::size_t index, std::string_view scope_name) {
    object span;
    if (e.get_object().get(span) != simdjson::SUCCESS) {
      return out_.Reject(index, SpanRejectReason::kInvalidValue, "the span is not a JSON object");
    }
    Span& s = out_.BeginSpan(index);
    s.scope_name = scope_name;
    const Problem p = ReadSpanFields(span, s);
    if (!p) return out_.CommitSpan();
    out_.AbandonSpan();
    if (p.reason == SpanRejectReason::kTooManyAttributes) {
      return out_.Reject(index, p.reason, "{} {}, over the limit of {}", p.count, p.path,
                         p.path == "events" ? out_.limits().max_events_per_span
                                            : out_.limits().max_attributes_per_span);
    }
    if (p.item != Problem::kNoItem) {
      return out_.Reject(index, p.reason, "{}[{}]{} {}", p.path, p.item, p.inner, p.what);
    }
    out_.Reject(index, p.reason, "{} {}", p.path, p.what);
  }

  // Reads the span's fields into `s`, and its attributes and events into the collector.
  Problem ReadSpanFields(const object& span, Span& s) {
    for (const auto field : span) {
      const std::string_view key = field.key;
      const element& v = field.value;
      if (IsNull(v)) continue;
      if (KeyIs(key, "traceId", "trace_id")) {
        if (Problem p = ReadHexId(v, "traceId", &s.trace_id)) return p;
      } else if (KeyIs(key, "spanId", "span_id")) {
        if (Problem p = ReadHexId(v, "spanId", &s.span_id)) return p;
      } else if (KeyIs(key, "parentSpanId", "parent_span_id")) {
        if (Problem p = ReadHexId(v, "parentSpanId", &s.parent_span_id)) return p;
      } else if (KeyIs(key, "name")) {
        if (v.get_string().get(s.name) != simdjson::SUCCESS) return {"name", "must be a string"};
      } else if (KeyIs(key, "kind")) {
        if (!v.is_int64() && !v.is_uint64() && !v.is_string()) {
          return {"kind", "must be an integer or a SpanKind name"};
        }
      } else if (KeyIs(key, "startTimeUnixNano", "start_time_unix_nano")) {
        if (!ReadUint64(v, &s.start_time_unix_nano)) return {"startTimeUnixNano", kMustBeUint};
      } else if (KeyIs(key, "endTimeUnixNano", "end_time_unix_nano")) {
        if (!ReadUint64(v, &s.end_time_unix_nano)) return {"endTimeUnixNano", kMustBeUint};
      } else if (KeyIs(key, "status")) {
        if (Problem p = ReadStatus(v, &s.status)) return p;
      } else if (KeyIs(key, "attributes")) {
        if (Problem p = ReadAttributes(v)) return p;
      } else if (KeyIs(key, "events")) {
        if (Problem p = ReadEvents(v)) return p;
      }
    }
    return {};
  }

  static Problem ReadStatus(const element& e, StatusCode* out) {
    object status;
    if (e.get_object().get(status) != simdjson::SUCCESS) return {"status", "must be an object"};
    for (const auto field : status) {
      if (!KeyIs(field.key, "code") || IsNull(field.value)) continue;
      int64_t code = 0;
      std::string_view name;
      if (field.value.get_int64().get(code) == simdjson::SUCCESS) {
        *out = code == 1 ? StatusCode::kOk : code == 2 ? StatusCode::kError : StatusCode::kUnset;
      } else if (field.value.get_string().get(name) == simdjson::SUCCESS) {
        *out = name == "STATUS_CODE_OK"      ? StatusCode::kOk
               : name == "STATUS_CODE_ERROR" ? StatusCode::kError
                                             : StatusCode::kUnset;
      } else if (field.value.is_uint64()) {
        *out = StatusCode::kUnset;  // a code newer than this agent, as in protobuf
      } else {
        return {"status.code", "must be an integer or a StatusCode name"};
      }
    }
    return {};
  }

  Problem ReadAttributes(const element& e) {
    array attributes;
    if (e.get_array().get(attributes) != simdjson::SUCCESS) {
      return {"attributes", "must be an array"};
    }
    const std::size_t count = attributes.size();
    if (count > out_.limits().max_attributes_per_span) {
      return Problem::TooMany("attributes", count);
    }
    std::size_t a = 0;
    for (const element attribute : attributes) {
      Attribute parsed;
      if (Problem p = ReadAttribute(attribute, &parsed)) {
        return Problem::InItem("attributes", a, p);
      }
      out_.AddAttribute(parsed);
      ++a;
    }
    return {};
  }

  Problem ReadEvents(const element& e) {
    array events;
    if (e.get_array().get(events) != simdjson::SUCCESS) return {"events", "must be an array"};
    const std::size_t count = events.size();
    if (count > out_.limits().max_events_per_span) {
      return Problem::TooMany("events", count);
    }
    std::size_t n = 0;
    for (const element event : events) {
      const auto wrong = [n](std::string_view inner, std::string_view what) {
        return Problem::InItem("events", n, Problem(inner, what));
      };
      object fields;
      if (event.get_object().get(fields) != simdjson::SUCCESS) {
        return wrong("", "must be an object");
      }
      SpanEvent parsed;
      for (const auto field : fields) {
        if (IsNull(field.value)) continue;
        if (KeyIs(field.key, "timeUnixNano", "time_unix_nano")) {
          if (!ReadUint64(field.value, &parsed.time_unix_nano)) {
            return wrong(".timeUnixNano", kMustBeUint);
          }
        } else if (KeyIs(field.key, "name")) {
          if (field.value.get_string().get(parsed.name) != simdjson::SUCCESS) {
            return wrong(".name", "must be a string");
          }
        }
      }
      out_.AddEvent(parsed);
      ++n;
    }
    return {};
  }

  SpanCollector& out_;
  // Why every span of the current resource is refused, when it is.
  bool group_refused_ = false;
  SpanRejectReason group_reason_ = SpanRejectReason::kUndecodable;
  std::string group_detail_;
};

std::string DescribeParseError(simdjson::error_code code, const simdjson::dom::parser& parser) {
  switch (code) {
    case simdjson::UTF8_ERROR:
      return "the body is not valid UTF-8 (OTLP/JSON bodies must be)";
    case simdjson::DEPTH_ERROR:
      return fmt::format("the body is not valid JSON: nested more than {} levels deep",
                         parser.max_depth());
    case simdjson::EMPTY:
      return "the body is empty, which is not an OTLP/JSON ExportTraceServiceRequest";
    case simdjson::NUMBER_ERROR:
    case simdjson::NUMBER_OUT_OF_RANGE:
      return "the body is not valid JSON: a number is malformed or out of range (OTLP/JSON sends "
             "64-bit integers as decimal strings)";
    default:
      return fmt::format("the body is not valid JSON: {}", simdjson::error_message(code));
  }
}

}  // namespace

JsonSpanDecoder::JsonSpanDecoder() = default;
JsonSpanDecoder::~JsonSpanDecoder() = default;

void JsonSpanDecoder::Decode(std::string_view body, SpanCollector& out) {
  // The previous request's views are dead now: a parser grown by a rare huge body goes.
  if (!parser_ || parser_->capacity() > kMaxRetainedDocumentBytes) {
    parser_ = std::make_unique<simdjson::dom::parser>();
  }
  element root;
  // Copies the body into the parser's padded buffer (reused from one request to the next).
  const simdjson::error_code code = parser_->parse(body.data(), body.size(), true).get(root);
  if (code != simdjson::SUCCESS) {
    out.SetBodyError(DescribeParseError(code, *parser_));
    return;
  }
  RequestWalker(out).Walk(root);
}

std::size_t JsonSpanDecoder::retained_bytes() const {
  return parser_ ? parser_->capacity() * 15 : 0;
}

}  // namespace llm_exporter::otlp
