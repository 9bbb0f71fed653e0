// Fuzzes the protobuf span decoder: it must never crash, refuse a body exactly when protobuf
// itself cannot parse it, account for every span of the body once, decode every span the rules
// allow with exactly the values the generated classes read, refuse the others for one of the
// reasons that apply, give the same result however often the decoder is reused, and copy no
// string: every one it hands on points into the body.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "otlp/span_decoder.h"
#include "otlp_fuzz_support.h"

namespace {

namespace pb_common = opentelemetry::proto::common::v1;
namespace pb_trace = opentelemetry::proto::trace::v1;
using opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;
using llm_exporter::SpanEncoding;
using llm_exporter::SpanRejectReason;
using llm_exporter::fuzz::IsValidUtf8;
using llm_exporter::fuzz::Require;
using llm_exporter::otlp::AttributeValue;
using llm_exporter::otlp::DecodedSpans;
using llm_exporter::otlp::Span;
using llm_exporter::otlp::SpanDecodeLimits;
using llm_exporter::otlp::SpanDecoder;

// A bit per reason that would refuse a span, by the rules of span_decoder.h.
uint32_t Bit(SpanRejectReason r) { return 1u << static_cast<unsigned>(r); }

bool AttributesUtf8(const google::protobuf::RepeatedPtrField<pb_common::KeyValue>& list) {
  for (const pb_common::KeyValue& kv : list) {
    if (!IsValidUtf8(kv.key())) return false;
    if (kv.value().value_case() == pb_common::AnyValue::kStringValue &&
        !IsValidUtf8(kv.value().string_value())) {
      return false;
    }
  }
  return true;
}

uint32_t Problems(const pb_trace::ResourceSpans& rs, const pb_trace::ScopeSpans& ss,
                  const pb_trace::Span& span, const SpanDecodeLimits& limits) {
  uint32_t problems = 0;
  const auto& resource = rs.resource().attributes();
  if (static_cast<std::size_t>(resource.size()) > limits.max_attributes_per_span) {
    problems |= Bit(SpanRejectReason::kTooManyAttributes);
  } else if (!AttributesUtf8(resource)) {
    problems |= Bit(SpanRejectReason::kInvalidUtf8);
  }
  if (!IsValidUtf8(ss.scope().name())) problems |= Bit(SpanRejectReason::kInvalidUtf8);
  const auto id_ok = [](const std::string& id, std::size_t n) {
    return id.empty() || id.size() == n;
  };
  if (!id_ok(span.trace_id(), 16) || !id_ok(span.span_id(), 8) ||
      !id_ok(span.parent_span_id(), 8)) {
    problems |= Bit(SpanRejectReason::kInvalidId);
  }
  if (static_cast<std::size_t>(span.attributes_size()) > limits.max_attributes_per_span ||
      static_cast<std::size_t>(span.events_size()) > limits.max_events_per_span) {
    problems |= Bit(SpanRejectReason::kTooManyAttributes);
  }
  if (!IsValidUtf8(span.name()) || !AttributesUtf8(span.attributes())) {
    problems |= Bit(SpanRejectReason::kInvalidUtf8);
  }
  for (const auto& event : span.events()) {
    if (!IsValidUtf8(event.name())) problems |= Bit(SpanRejectReason::kInvalidUtf8);
  }
  return problems;
}

void CheckValue(const pb_common::KeyValue& kv, const llm_exporter::otlp::Attribute& a,
                std::string_view body) {
  Require(a.key == kv.key(), "an attribute key differs from protobuf's", body);
  using Type = AttributeValue::Type;
  const pb_common::AnyValue& v = kv.value();
  switch (v.value_case()) {
    case pb_common::AnyValue::kStringValue:
      Require(a.value.type == Type::kString && a.value.string == v.string_value(),
              "a string value differs", body);
      break;
    case pb_common::AnyValue::kBoolValue:
      Require(a.value.type == Type::kBool && a.value.bool_value == v.bool_value(),
              "a bool value differs", body);
      break;
    case pb_common::AnyValue::kIntValue:
      Require(a.value.type == Type::kInt && a.value.int_value == v.int_value(),
              "an int value differs", body);
      break;
    case pb_common::AnyValue::kDoubleValue: {
      const double expected = v.double_value();
      Require(a.value.type == Type::kDouble &&
                  std::memcmp(&a.value.double_value, &expected, sizeof(double)) == 0,
              "a double value differs", body);
      break;
    }
    case pb_common::AnyValue::kArrayValue:
      Require(a.value.type == Type::kArray, "an array value differs", body);
      break;
    case pb_common::AnyValue::kKvlistValue:
      Require(a.value.type == Type::kKvList, "a kvlist value differs", body);
      break;
    case pb_common::AnyValue::kBytesValue:
      Require(a.value.type == Type::kBytes, "a bytes value differs", body);
      break;
    case pb_common::AnyValue::VALUE_NOT_SET:
      Require(a.value.type == Type::kEmpty, "an empty value differs", body);
      break;
  }
}

void CheckSpan(const pb_trace::Span& ref, const pb_trace::ScopeSpans& ss,
               const pb_trace::ResourceSpans& rs, const Span& s, std::string_view body) {
  const auto same_id = [](const std::string& ref_id, const auto& id) {
    if (ref_id.empty()) return std::all_of(id.begin(), id.end(), [](uint8_t b) { return b == 0; });
    return std::memcmp(ref_id.data(), id.data(), id.size()) == 0;
  };
  Require(same_id(ref.trace_id(), s.trace_id) && same_id(ref.span_id(), s.span_id) &&
              same_id(ref.parent_span_id(), s.parent_span_id),
          "an id differs from protobuf's", body);
  Require(s.name == ref.name() && s.scope_name == ss.scope().name(), "a name differs", body);
  Require(s.start_time_unix_nano == ref.start_time_unix_nano() &&
              s.end_time_unix_nano == ref.end_time_unix_nano(),
          "a time differs", body);
  const int code = ref.status().code();
  Require(static_cast<int>(s.status) == (code >= 0 && code <= 2 ? code : 0), "status differs",
          body);
  Require(s.attributes.size() == static_cast<std::size_t>(ref.attributes_size()),
          "attribute count differs", body);
  for (int i = 0; i < ref.attributes_size(); ++i) CheckValue(ref.attributes(i), s.attributes[i], body);
  const auto& resource = rs.resource().attributes();
  Require(s.resource->attributes.size() == static_cast<std::size_t>(resource.size()),
          "resource attribute count differs", body);
  for (int i = 0; i < resource.size(); ++i) CheckValue(resource[i], s.resource->attributes[i], body);
  Require(s.events.size() == static_cast<std::size_t>(ref.events_size()), "event count differs",
          body);
  for (int i = 0; i < ref.events_size(); ++i) {
    Require(s.events[i].name == ref.events(i).name() &&
                s.events[i].time_unix_nano == ref.events(i).time_unix_nano(),
            "an event differs", body);
  }
}

// The decoder reads the body in place: every non-empty string of the result lies within it.
void CheckPointsIntoBody(const DecodedSpans& d, std::string_view body) {
  const auto inside = [body](std::string_view text) {
    return text.empty() ||
           (text.data() >= body.data() && text.data() + text.size() <= body.data() + body.size());
  };
  const auto attributes_inside = [&](std::span<const llm_exporter::otlp::Attribute> list) {
    return std::all_of(list.begin(), list.end(), [&](const auto& a) {
      return inside(a.key) && inside(a.value.string);
    });
  };
  for (const Span& s : d.spans) {
    Require(inside(s.name) && inside(s.scope_name) && attributes_inside(s.attributes) &&
                attributes_inside(s.resource->attributes) &&
                std::all_of(s.events.begin(), s.events.end(),
                            [&](const auto& e) { return inside(e.name); }),
            "a string does not point into the body", body);
  }
}

// Compares a result with what the generated classes make of the same body.
void CheckAgainstProtobuf(const DecodedSpans& d, const SpanDecodeLimits& limits,
                          std::string_view body) {
  ExportTraceServiceRequest ref;
  const bool parsed = ref.ParseFromArray(body.data(), static_cast<int>(body.size()));
  Require(parsed == d.ok(), "the decoder and protobuf disagree on whether the body parses", body);
  std::size_t total = 0;
  if (parsed) {
    for (const auto& rs : ref.resource_spans()) {
      for (const auto& ss : rs.scope_spans()) total += ss.spans_size();
    }
  }
  llm_exporter::fuzz::CheckDecoded(d, limits, body, parsed ? total : SIZE_MAX);
  if (!parsed) return;
  std::size_t index = 0;
  std::size_t next_span = 0;
  std::size_t next_error = 0;
  for (const auto& rs : ref.resource_spans()) {
    for (const auto& ss : rs.scope_spans()) {
      for (const auto& span : ss.spans()) {
        const uint32_t problems = Problems(rs, ss, span, limits);
        const bool decoded = next_span < d.spans.size() && d.spans[next_span].index == index;
        Require(decoded == (problems == 0), "a span decoded or refused against the rules", body);
        if (decoded) {
          CheckSpan(span, ss, rs, d.spans[next_span++], body);
        } else if (next_error < d.errors.size() && d.errors[next_error].index == index) {
          Require((problems & Bit(d.errors[next_error].reason)) != 0,
                  "a span refused for a reason that does not apply", d.errors[next_error].message);
          ++next_error;
        }
        ++index;
      }
    }
  }
}

void CheckOne(std::string_view body) {
  static const SpanDecodeLimits defaults;
  static const SpanDecodeLimits tight = llm_exporter::fuzz::TightSpanLimits();
  static SpanDecoder reused(defaults);  // keeps its arena and buffers from one input to the next

  const DecodedSpans& first = reused.Decode(SpanEncoding::kProtobuf, body);
  CheckAgainstProtobuf(first, defaults, body);
  CheckPointsIntoBody(first, body);
  const std::string summary = llm_exporter::fuzz::Summary(first);

  SpanDecoder fresh(defaults);
  Require(llm_exporter::fuzz::Summary(fresh.Decode(SpanEncoding::kProtobuf, body)) == summary,
          "a fresh and a reused decoder differ", body);
  Require(llm_exporter::fuzz::Summary(reused.Decode(SpanEncoding::kProtobuf, body)) == summary,
          "decoding twice gives different results", body);

  SpanDecoder strict(tight);
  CheckAgainstProtobuf(strict.Decode(SpanEncoding::kProtobuf, body), tight, body);
  // The same bytes as JSON: whatever it makes of them, the invariants hold.
  llm_exporter::fuzz::CheckDecoded(strict.Decode(SpanEncoding::kJson, body), tight, body,
                                   SIZE_MAX);
}

}  // namespace

// On a small stack: nesting in the body must not recurse in the decoder.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  llm_exporter::fuzz::RunOnSmallStack([&] { CheckOne(body); });
  return 0;
}
