#include "otlp/protobuf_span_decoder.h"

#include <google/protobuf/arena.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <string>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "otlp/span_text.h"

namespace llm_exporter::otlp {
namespace {

namespace common = opentelemetry::proto::common::v1;
namespace trace = opentelemetry::proto::trace::v1;
using opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;

constexpr std::size_t kFirstBlockBytes = std::size_t{64} << 10;
constexpr std::size_t kBlockRounding = std::size_t{64} << 10;

enum class AttributeProblem { kNone, kKey, kValue };

// Fills `out` from `kv`, pointing into the message; says which string is not UTF-8, if one is.
AttributeProblem ReadAttribute(const common::KeyValue& kv, Attribute* out) {
  const std::string& key = kv.key();
  if (!IsValidUtf8(key)) return AttributeProblem::kKey;
  out->key = key;
  out->value = AttributeValue{};
  if (!kv.has_value()) return AttributeProblem::kNone;
  const common::AnyValue& value = kv.value();
  AttributeValue& v = out->value;
  switch (value.value_case()) {
    case common::AnyValue::kStringValue:
      if (!IsValidUtf8(value.string_value())) return AttributeProblem::kValue;
      v.type = AttributeValue::Type::kString;
      v.string = value.string_value();
      break;
    case common::AnyValue::kBoolValue:
      v.type = AttributeValue::Type::kBool;
      v.bool_value = value.bool_value();
      break;
    case common::AnyValue::kIntValue:
      v.type = AttributeValue::Type::kInt;
      v.int_value = value.int_value();
      break;
    case common::AnyValue::kDoubleValue:
      v.type = AttributeValue::Type::kDouble;
      v.double_value = value.double_value();
      break;
    case common::AnyValue::kArrayValue:
      v.type = AttributeValue::Type::kArray;
      break;
    case common::AnyValue::kKvlistValue:
      v.type = AttributeValue::Type::kKvList;
      break;
    case common::AnyValue::kBytesValue:
      v.type = AttributeValue::Type::kBytes;
      break;
    case common::AnyValue::VALUE_NOT_SET:
      break;
  }
  return AttributeProblem::kNone;
}

// Copies an id of exactly out->size() bytes; an empty one leaves `out` all zero.
template <std::size_t N>
bool ReadId(const std::string& bytes, std::array<uint8_t, N>* out) {
  if (bytes.empty()) return true;
  if (bytes.size() != N) return false;
  std::memcpy(out->data(), bytes.data(), N);
  return true;
}

StatusCode ReadStatus(const trace::Span& span) {
  if (!span.has_status()) return StatusCode::kUnset;
  switch (static_cast<int>(span.status().code())) {
    case 1: return StatusCode::kOk;
    case 2: return StatusCode::kError;
    default: return StatusCode::kUnset;  // 0, and codes newer than this agent
  }
}

// Why every span of a resource or scope is refused, if one is.
struct GroupProblem {
  bool refused = false;
  SpanRejectReason reason = SpanRejectReason::kUndecodable;
  std::string detail;
};

// Adds the resource's attributes to `out` (between StartResource and EndResource), or says why
// its spans are refused.
GroupProblem ReadResource(const trace::ResourceSpans& resource_spans, SpanCollector& out) {
  GroupProblem problem;
  const auto& attributes = resource_spans.resource().attributes();
  const std::size_t limit = out.limits().max_attributes_per_span;
  if (static_cast<std::size_t>(attributes.size()) > limit) {
    problem = {true, SpanRejectReason::kTooManyAttributes,
               fmt::format("its resource has {} attributes, over the limit of {}",
                           attributes.size(), limit)};
    return problem;
  }
  for (int i = 0; i < attributes.size(); ++i) {
    Attribute attribute;
    switch (ReadAttribute(attributes[i], &attribute)) {
      case AttributeProblem::kNone:
        out.AddResourceAttribute(attribute);
        break;
      case AttributeProblem::kKey:
        return {true, SpanRejectReason::kInvalidUtf8,
                fmt::format("the key of resource attribute {} is not valid UTF-8", i)};
      case AttributeProblem::kValue:
        return {true, SpanRejectReason::kInvalidUtf8,
                fmt::format("the value of resource attribute {} is not valid UTF-8",
                            QuotedForMessage(attributes[i].key()))};
    }
  }
  return problem;
}

void ReadSpan(const trace::Span& span, std::size_t index, std::string_view scope_name,
              SpanCollector& out) {
  const SpanDecodeLimits& limits = out.limits();
  TraceId trace_id{};
  SpanId span_id{};
  SpanId parent_span_id{};
  if (!ReadId(span.trace_id(), &trace_id)) {
    return out.Reject(index, SpanRejectReason::kInvalidId,
                      "trace_id is {} bytes long, must be 16 (or empty)", span.trace_id().size());
  }
  if (!ReadId(span.span_id(), &span_id)) {
    return out.Reject(index, SpanRejectReason::kInvalidId,
                      "span_id is {} bytes long, must be 8 (or empty)", span.span_id().size());
  }
  if (!ReadId(span.parent_span_id(), &parent_span_id)) {
    return out.Reject(index, SpanRejectReason::kInvalidId,
                      "parent_span_id is {} bytes long, must be 8 (or empty)",
                      span.parent_span_id().size());
  }
  if (static_cast<std::size_t>(span.attributes_size()) > limits.max_attributes_per_span) {
    return out.Reject(index, SpanRejectReason::kTooManyAttributes,
                      "{} attributes, over the limit of {}", span.attributes_size(),
                      limits.max_attributes_per_span);
  }
  if (static_cast<std::size_t>(span.events_size()) > limits.max_events_per_span) {
    return out.Reject(index, SpanRejectReason::kTooManyAttributes,
                      "{} events, over the limit of {}", span.events_size(),
                      limits.max_events_per_span);
  }
  if (!IsValidUtf8(span.name())) {
    return out.Reject(index, SpanRejectReason::kInvalidUtf8, "the span name is not valid UTF-8");
  }

  Span& s = out.BeginSpan(index);
  s.trace_id = trace_id;
  s.span_id = span_id;
  s.parent_span_id = parent_span_id;
  s.name = span.name();
  s.start_time_unix_nano = span.start_time_unix_nano();
  s.end_time_unix_nano = span.end_time_unix_nano();
  s.status = ReadStatus(span);
  s.scope_name = scope_name;
  for (int i = 0; i < span.attributes_size(); ++i) {
    Attribute attribute;
    switch (ReadAttribute(span.attributes(i), &attribute)) {
      case AttributeProblem::kNone:
        out.AddAttribute(attribute);
        break;
      case AttributeProblem::kKey:
        out.AbandonSpan();
        return out.Reject(index, SpanRejectReason::kInvalidUtf8,
                          "the key of attribute {} is not valid UTF-8", i);
      case AttributeProblem::kValue:
        out.AbandonSpan();
        return out.Reject(index, SpanRejectReason::kInvalidUtf8,
                          "the value of attribute {} is not valid UTF-8",
                          QuotedForMessage(span.attributes(i).key()));
    }
  }
  for (int i = 0; i < span.events_size(); ++i) {
    const trace::Span::Event& event = span.events(i);
    if (!IsValidUtf8(event.name())) {
      out.AbandonSpan();
      return out.Reject(index, SpanRejectReason::kInvalidUtf8,
                        "the name of event {} is not valid UTF-8", i);
    }
    out.AddEvent(SpanEvent{event.name(), event.time_unix_nano()});
  }
  out.CommitSpan();
}

}  // namespace

ProtobufSpanDecoder::ProtobufSpanDecoder() = default;
ProtobufSpanDecoder::~ProtobufSpanDecoder() = default;

void ProtobufSpanDecoder::ResetArena() {
  if (arena_) {
    const std::size_t allocated = arena_->SpaceAllocated();
    if (allocated <= block_bytes_ || block_bytes_ >= kMaxArenaBlockBytes) {
      arena_->Reset();  // frees every block but the first, which is ours
      return;
    }
    // The last request needed more than the first block: make it big enough for that one.
    arena_.reset();
    block_bytes_ = std::min(kMaxArenaBlockBytes,
                            (allocated + kBlockRounding - 1) / kBlockRounding * kBlockRounding);
  } else {
    block_bytes_ = kFirstBlockBytes;
  }
  block_.reset(new char[block_bytes_]);  // uninitialised: the arena writes before it reads
  google::protobuf::ArenaOptions options;
  options.initial_block = block_.get();
  options.initial_block_size = block_bytes_;
  options.start_block_size = kFirstBlockBytes;
  options.max_block_size = std::size_t{1} << 20;
  arena_ = std::make_unique<google::protobuf::Arena>(options);
}

void ProtobufSpanDecoder::Decode(std::string_view body, SpanCollector& out) {
  ResetArena();
  if (body.size() > static_cast<std::size_t>(INT_MAX)) {
    out.SetBodyError("the body is not a valid protobuf ExportTraceServiceRequest: over 2 GiB");
    return;
  }
  auto* request = google::protobuf::Arena::CreateMessage<ExportTraceServiceRequest>(arena_.get());
  if (!request->ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    std::string message = fmt::format(
        "the body is not a valid protobuf ExportTraceServiceRequest ({} bytes: truncated, or not "
        "protobuf)",
        body.size());
    const std::size_t first = body.find_first_not_of(" \t\r\n");
    if (first != std::string_view::npos && (body[first] == '{' || body[first] == '[')) {
      message += "; it looks like JSON, which is sent with Content-Type application/json";
    }
    out.SetBodyError(std::move(message));
    return;
  }
  for (const trace::ResourceSpans& resource_spans : request->resource_spans()) {
    out.StartResource();
    const GroupProblem resource = ReadResource(resource_spans, out);
    out.EndResource();
    for (const trace::ScopeSpans& scope_spans : resource_spans.scope_spans()) {
      const std::string& scope_name = scope_spans.scope().name();
      const bool scope_ok = IsValidUtf8(scope_name);
      for (const trace::Span& span : scope_spans.spans()) {
        const std::size_t index = out.NextIndex();
        if (resource.refused) {
          out.RejectWith(index, resource.reason, resource.detail);
        } else if (!scope_ok) {
          out.Reject(index, SpanRejectReason::kInvalidUtf8,
                     "the name of its instrumentation scope is not valid UTF-8");
        } else {
          ReadSpan(span, index, scope_name, out);
        }
      }
    }
  }
}

std::size_t ProtobufSpanDecoder::retained_bytes() const {
  if (!arena_) return 0;
  return std::max<std::size_t>(block_bytes_, arena_->SpaceAllocated());
}

}  // namespace llm_exporter::otlp
