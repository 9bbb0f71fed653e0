// The spans of one OTLP export request as the decoders hand them on, whatever the encoding
// (protobuf or JSON) or transport (OTLP/HTTP, OTLP/gRPC). Only what the span reader uses is kept.
// Every string_view points into the request body or the decoder's buffers and stays valid only
// while the SpanBatch that holds it lives.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace llm_exporter::otlp {

// An attribute's value (opentelemetry.proto.common.v1.AnyValue). Arrays, key-value lists and
// bytes are kept only as their type: no attribute the agent reads has such a value.
struct AttributeValue {
  enum class Type : uint8_t { kEmpty, kString, kBool, kInt, kDouble, kBytes, kArray, kKvList };
  Type type = Type::kEmpty;
  std::string_view string;  // kString: valid UTF-8
  int64_t int_value = 0;    // kInt
  double double_value = 0;  // kDouble
  bool bool_value = false;  // kBool
};

struct Attribute {
  std::string_view key;
  AttributeValue value;
};

// One time-stamped event of a span (opentelemetry.proto.trace.v1.Span.Event), e.g. OpenLLMetry's
// "First Token Stream Event".
struct SpanEvent {
  std::string_view name;
  uint64_t time_unix_nano = 0;
};

// opentelemetry.proto.trace.v1.Status.StatusCode.
enum class StatusCode : uint8_t { kUnset = 0, kOk = 1, kError = 2 };

using TraceId = std::array<uint8_t, 16>;
using SpanId = std::array<uint8_t, 8>;

// A resource (the service that emitted its spans) and its attributes, shared by its spans.
struct Resource {
  std::span<const Attribute> attributes;
};

struct Span {
  TraceId trace_id{};        // all zero when the span carries none
  SpanId span_id{};          // all zero when the span carries none
  SpanId parent_span_id{};   // all zero for a root span
  std::string_view name;
  uint64_t start_time_unix_nano = 0;
  uint64_t end_time_unix_nano = 0;
  StatusCode status = StatusCode::kUnset;
  std::string_view scope_name;  // the instrumentation scope, e.g. "opentelemetry.instrumentation.openai"
  std::span<const Attribute> attributes;
  std::span<const SpanEvent> events;
  const Resource* resource = nullptr;  // never null in a decoded batch
  std::size_t index = 0;  // 0-based position among all spans of the request, in wire order
};

}  // namespace llm_exporter::otlp
