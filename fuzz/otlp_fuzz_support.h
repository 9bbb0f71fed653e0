// Checks shared by the OTLP span decoder fuzz targets: what must hold of any DecodedSpans whatever
// the body, and a text summary of a result to compare two decodings of the same body.
#pragma once

#include <cmath>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.h"
#include "otlp/span_decoder.h"

namespace llm_exporter::fuzz {

// The limits the targets decode with besides the defaults: small enough that inputs of a few
// kilobytes reach them.
inline otlp::SpanDecodeLimits TightSpanLimits() {
  otlp::SpanDecodeLimits limits;
  limits.max_attributes_per_span = 3;
  limits.max_events_per_span = 2;
  limits.max_reported_errors = 2;
  return limits;
}

// Reads every byte of `text`, so that ASan reports a view that points at freed or foreign memory.
inline uint64_t Touch(std::string_view text) {
  uint64_t sum = text.size();
  for (const char c : text) sum = sum * 31 + static_cast<unsigned char>(c);
  return sum;
}

inline void CheckAttributes(std::span<const otlp::Attribute> attributes, std::size_t limit,
                            std::string_view body) {
  Require(attributes.size() <= limit, "more attributes than the limit", body);
  for (const otlp::Attribute& a : attributes) {
    Touch(a.key);
    Require(IsValidUtf8(a.key), "an attribute key is not UTF-8", body);
    const auto type = a.value.type;
    Require(type <= otlp::AttributeValue::Type::kKvList, "an attribute type out of range", body);
    if (type == otlp::AttributeValue::Type::kString) {
      Touch(a.value.string);
      Require(IsValidUtf8(a.value.string), "a string value is not UTF-8", body);
    } else {
      Require(a.value.string.empty(), "a non-string value carries a string", body);
    }
  }
}

// What must hold of any result. `total_spans` is the number of spans in the body as counted
// independently of the decoder, or SIZE_MAX when unknown.
inline void CheckDecoded(const otlp::DecodedSpans& d, const otlp::SpanDecodeLimits& limits,
                         std::string_view body, std::size_t total_spans) {
  if (!d.ok()) {
    Require(d.spans.empty() && d.rejected == 0 && d.errors.empty(),
            "a refused body still holds spans or errors", body);
    Require(d.body_error.size() < 512, "a body error is unbounded", d.body_error);
    Require(IsValidUtf8(d.body_error), "a body error is not UTF-8", body);
    return;
  }
  const std::size_t total = d.spans.size() + d.rejected;
  if (total_spans != SIZE_MAX) {
    Require(total == total_spans, "spans + rejected differs from the spans in the body", body);
  }
  Require(d.errors.size() == std::min(d.rejected, limits.max_reported_errors),
          "errors listed do not match the rejections", body);
  std::vector<bool> seen(total, false);
  for (std::size_t i = 0; i < d.spans.size(); ++i) {
    const otlp::Span& s = d.spans[i];
    Require(s.index < total, "a span's index is past the last span", body);
    Require(!seen[s.index], "two spans share an index", body);
    seen[s.index] = true;
    Require(i == 0 || s.index > d.spans[i - 1].index, "spans are not in wire order", body);
    Require(s.resource != nullptr, "a span without its resource", body);
    CheckAttributes(s.resource->attributes, limits.max_attributes_per_span, body);
    CheckAttributes(s.attributes, limits.max_attributes_per_span, body);
    Require(s.events.size() <= limits.max_events_per_span, "more events than the limit", body);
    for (const otlp::SpanEvent& e : s.events) {
      Touch(e.name);
      Require(IsValidUtf8(e.name), "an event name is not UTF-8", body);
    }
    Touch(s.name);
    Touch(s.scope_name);
    Require(IsValidUtf8(s.name) && IsValidUtf8(s.scope_name), "a span name is not UTF-8", body);
    Require(s.status <= otlp::StatusCode::kError, "a status out of range", body);
  }
  for (std::size_t i = 0; i < d.errors.size(); ++i) {
    const otlp::SpanError& e = d.errors[i];
    Require(e.index < total, "an error's index is past the last span", body);
    Require(!seen[e.index], "a refused span is also decoded, or refused twice", body);
    seen[e.index] = true;
    Require(i == 0 || e.index > d.errors[i - 1].index, "errors are not in wire order", body);
    Require(e.message.starts_with("span " + std::to_string(e.index) + ": "),
            "an error message does not name its span", e.message);
    Require(e.message.size() < 512, "an error message is unbounded", e.message);
    Require(IsValidUtf8(e.message), "an error message is not UTF-8", e.message);
    Require(e.reason != SpanRejectReason::kUndecodable && e.reason != SpanRejectReason::kTooLarge,
            "a span refused for a whole-body reason", e.message);
  }
}

// Everything a result says, as text, to compare two decodings.
inline std::string Summary(const otlp::DecodedSpans& d) {
  std::string out = d.body_error + "|" + std::to_string(d.rejected) + "\n";
  const auto attributes = [&out](std::span<const otlp::Attribute> list) {
    for (const otlp::Attribute& a : list) {
      uint64_t bits;
      std::memcpy(&bits, &a.value.double_value, sizeof bits);
      out += std::string(a.key) + "=" + std::to_string(static_cast<int>(a.value.type)) + ":" +
             std::string(a.value.string) + ":" + std::to_string(a.value.int_value) + ":" +
             std::to_string(bits) + ":" + std::to_string(a.value.bool_value) + ",";
    }
    out += ";";
  };
  for (const otlp::Span& s : d.spans) {
    out += std::to_string(s.index) + " " + std::string(s.name) + " " + std::string(s.scope_name) +
           " " + std::to_string(s.start_time_unix_nano) + " " +
           std::to_string(s.end_time_unix_nano) + " " + std::to_string(static_cast<int>(s.status));
    for (const uint8_t b : s.trace_id) out += std::to_string(b) + ".";
    for (const uint8_t b : s.span_id) out += std::to_string(b) + ".";
    for (const uint8_t b : s.parent_span_id) out += std::to_string(b) + ".";
    attributes(s.attributes);
    attributes(s.resource->attributes);
    for (const otlp::SpanEvent& e : s.events) {
      out += std::string(e.name) + "@" + std::to_string(e.time_unix_nano) + ",";
    }
    out += "\n";
  }
  for (const otlp::SpanError& e : d.errors) {
    out += std::to_string(e.index) + " " + std::to_string(static_cast<int>(e.reason)) + " " +
           e.message + "\n";
  }
  return out;
}

}  // namespace llm_exporter::fuzz
