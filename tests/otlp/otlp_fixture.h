// Building OTLP export requests with the generated protobuf classes, for the otlp module's tests.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "otlp/span.h"

namespace llm_exporter::otlp::testing {

namespace pb_common = opentelemetry::proto::common::v1;
namespace pb_trace = opentelemetry::proto::trace::v1;
using opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;

inline pb_common::KeyValue* AddAttribute(
    google::protobuf::RepeatedPtrField<pb_common::KeyValue>* attributes, std::string_view key) {
  pb_common::KeyValue* kv = attributes->Add();
  kv->set_key(std::string(key));
  return kv;
}
inline void AddString(google::protobuf::RepeatedPtrField<pb_common::KeyValue>* attributes,
                      std::string_view key, std::string_view value) {
  AddAttribute(attributes, key)->mutable_value()->set_string_value(std::string(value));
}
inline void AddInt(google::protobuf::RepeatedPtrField<pb_common::KeyValue>* attributes,
                   std::string_view key, int64_t value) {
  AddAttribute(attributes, key)->mutable_value()->set_int_value(value);
}

// A span with 16-byte trace id 0x01..0x10 and 8-byte span id 0x11..0x18, named `name`.
inline pb_trace::Span* AddSpan(pb_trace::ScopeSpans* scope, std::string_view name) {
  pb_trace::Span* span = scope->add_spans();
  std::string trace_id(16, '\0');
  for (int i = 0; i < 16; ++i) trace_id[i] = static_cast<char>(i + 1);
  std::string span_id(8, '\0');
  for (int i = 0; i < 8; ++i) span_id[i] = static_cast<char>(0x11 + i);
  span->set_trace_id(trace_id);
  span->set_span_id(span_id);
  span->set_name(std::string(name));
  span->set_start_time_unix_nano(1'700'000'000'000'000'000ULL);
  span->set_end_time_unix_nano(1'700'000'001'500'000'000ULL);
  return span;
}

// A request with one resource and one scope holding `count` good spans named "span <i>".
inline ExportTraceServiceRequest GoodRequest(int count) {
  ExportTraceServiceRequest request;
  pb_trace::ResourceSpans* resource = request.add_resource_spans();
  AddString(resource->mutable_resource()->mutable_attributes(), "service.name", "chat-api");
  pb_trace::ScopeSpans* scope = resource->add_scope_spans();
  scope->mutable_scope()->set_name("opentelemetry.instrumentation.openai");
  for (int i = 0; i < count; ++i) {
    pb_trace::Span* span = AddSpan(scope, "span " + std::to_string(i));
    AddString(span->mutable_attributes(), "gen_ai.request.model", "gpt-4o");
  }
  return request;
}

// The value of attribute `key` of `span`, or nullptr.
inline const AttributeValue* Find(const Span& span, std::string_view key) {
  for (const Attribute& a : span.attributes) {
    if (a.key == key) return &a.value;
  }
  return nullptr;
}

}  // namespace llm_exporter::otlp::testing
