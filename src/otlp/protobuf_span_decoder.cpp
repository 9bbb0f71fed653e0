// Why the request is walked by hand (wire_reader.h) rather than parsed with the classes protoc
// generates from otlp/proto/: protobuf 3.21 copies every string field into a std::string whose
// buffer comes from malloc even on an arena (most attribute keys are longer than the 15 bytes kept
// inline), about 40 malloc/free pairs per OpenLLMetry chat span, and that parse was most of the
// decode time. Walking the wire format in place copies nothing. On bench/otlp_bench.cpp's request
// (512 such spans, 1.09 MB), the two builds taking turns in one session on the 2-core VM,
// BM_DecodeOtlpProtobuf went from 163k spans/s with the generated classes to 748k (medians of 5
// runs, 4.6 times; 5.2 times in an earlier session; bench/README.md): 1.3 µs of CPU a span, of
// the 3.3 µs a span may take at 300,000 spans/s end to end. The generated classes stay for what
// they do well: export_response.cpp encodes the response with them, the tests build requests with
// them, and fuzz/otlp_protobuf_fuzzer.cpp checks on every input that this walk reads exactly what
// they read.
//
// What the walk keeps of protobuf's parse, so that both read every body alike:
// - a field whose wire type differs from the schema's is an unknown field, and skipped;
// - of a singular field given more than once the last wins; a singular message given more than
//   once (a resource, a scope, a span's status, an attribute's value) is merged, so each of its
//   fields is read from every occurrence, the last winning and repeated ones appended;
// - AnyValue's fields are a oneof: the last one on the wire is the value; array_value and
//   kvlist_value are bytes in the agent's schema, typed and never walked into;
// - a malformed byte anywhere, in a span that is refused or a field nobody reads included,
//   refuses the whole body.
#include "otlp/protobuf_span_decoder.h"

#include <fmt/format.h>

#include <bit>
#include <climits>
#include <cstring>
#include <string>

#include "otlp/span_text.h"
#include "otlp/wire_reader.h"

namespace llm_exporter::otlp {
namespace {

using WireType = WireReader::WireType;

// A field number and wire type as one value to switch on: a known field that comes with another
// wire type matches no case, and is skipped.
constexpr uint32_t Key(uint32_t field_number, WireType wire_type) {
  return field_number << 3 | static_cast<uint32_t>(wire_type);
}
constexpr uint32_t Varint(uint32_t field_number) { return Key(field_number, WireType::kVarint); }
constexpr uint32_t Fixed64(uint32_t field_number) { return Key(field_number, WireType::kFixed64); }
constexpr uint32_t LengthDelimited(uint32_t field_number) {
  return Key(field_number, WireType::kLengthDelimited);
}

// Calls read(key) for every field of the message, in wire order; read returns false for a field it
// does not read, which is then skipped.
template <typename Read>
void ForEachField(WireReader& r, Read&& read) {
  uint32_t field_number = 0;
  WireType wire_type = WireType::kVarint;
  while (r.NextField(&field_number, &wire_type)) {
    if (!read(Key(field_number, wire_type))) r.Skip(wire_type);
  }
}

// Walks every occurrence of the embedded message `field_number` with walk(WireReader&), and skips
// the other fields.
template <typename Walk>
void ForEachMessage(WireReader& r, uint32_t field_number, Walk&& walk) {
  ForEachField(r, [&](uint32_t key) {
    if (key != LengthDelimited(field_number)) return false;
    r.ReadMessage(walk);
    return true;
  });
}

// opentelemetry.proto.common.v1.AnyValue, into `v`, which may hold an earlier occurrence's value.
void ReadAnyValue(WireReader& r, AttributeValue* v) {
  using Type = AttributeValue::Type;
  const auto set = [v](Type type) -> AttributeValue& {
    *v = AttributeValue{};
    v->type = type;
    return *v;
  };
  ForEachField(r, [&](uint32_t key) {
    switch (key) {
      case LengthDelimited(1): set(Type::kString).string = r.ReadBytes(); return true;
      case Varint(2): set(Type::kBool).bool_value = r.ReadVarint() != 0; return true;
      case Varint(3): set(Type::kInt).int_value = static_cast<int64_t>(r.ReadVarint()); return true;
      case Fixed64(4): {
        const uint64_t bits = r.ReadFixed64();
        set(Type::kDouble).double_value = std::bit_cast<double>(bits);
        return true;
      }
      case LengthDelimited(5):
        r.Skip(WireType::kLengthDelimited);
        set(Type::kArray);
        return true;
      case LengthDelimited(6):
        r.Skip(WireType::kLengthDelimited);
        set(Type::kKvList);
        return true;
      case LengthDelimited(7):
        r.Skip(WireType::kLengthDelimited);
        set(Type::kBytes);
        return true;
      default: return false;
    }
  });
}

// opentelemetry.proto.common.v1.KeyValue.
void ReadKeyValue(WireReader& r, Attribute* out) {
  *out = Attribute{};
  ForEachField(r, [&](uint32_t key) {
    switch (key) {
      case LengthDelimited(1): out->key = r.ReadBytes(); return true;
      case LengthDelimited(2):
        r.ReadMessage([out](WireReader& value) { ReadAnyValue(value, &out->value); });
        return true;
      default: return false;
    }
  });
}

enum class AttributeProblem { kNone, kKey, kValue };

// The attributes of a span or of a resource, read one KeyValue at a time: all of them counted, and
// handed to the collector while they are valid UTF-8 and within the limit (a span of a million
// attributes is refused without storing them).
class AttributeList {
 public:
  explicit AttributeList(bool of_resource) : of_resource_(of_resource) {}

  void Read(WireReader& key_value, SpanCollector& out) {
    Attribute attribute;
    ReadKeyValue(key_value, &attribute);
    const std::size_t index = count_++;
    if (problem_ != AttributeProblem::kNone || count_ > out.limits().max_attributes_per_span) {
      return;
    }
    if (!IsValidUtf8(attribute.key)) {
      problem_ = AttributeProblem::kKey;
    } else if (attribute.value.type == AttributeValue::Type::kString &&
               !IsValidUtf8(attribute.value.string)) {
      problem_ = AttributeProblem::kValue;
    } else {
      return of_resource_ ? out.AddResourceAttribute(attribute) : out.AddAttribute(attribute);
    }
    problem_index_ = index;
    problem_key_ = attribute.key;
  }

  std::size_t count() const { return count_; }
  // The first attribute that is not valid UTF-8, its index, and its key (valid UTF-8 for kValue).
  AttributeProblem problem() const { return problem_; }
  std::size_t problem_index() const { return problem_index_; }
  std::string_view problem_key() const { return problem_key_; }

 private:
  const bool of_resource_;
  std::size_t count_ = 0;
  AttributeProblem problem_ = AttributeProblem::kNone;
  std::size_t problem_index_ = 0;
  std::string_view problem_key_;
};

// Why every span of a resource or scope is refused, if one is.
struct GroupProblem {
  bool refused = false;
  SpanRejectReason reason = SpanRejectReason::kUndecodable;
  std::string detail;
};

GroupProblem ResourceProblem(const AttributeList& attributes, std::size_t limit) {
  if (attributes.count() > limit) {
    return {true, SpanRejectReason::kTooManyAttributes,
            fmt::format("its resource has {} attributes, over the limit of {}", attributes.count(),
                        limit)};
  }
  switch (attributes.problem()) {
    case AttributeProblem::kNone: break;
    case AttributeProblem::kKey:
      return {true, SpanRejectReason::kInvalidUtf8,
              fmt::format("the key of resource attribute {} is not valid UTF-8",
                          attributes.problem_index())};
    case AttributeProblem::kValue:
      return {true, SpanRejectReason::kInvalidUtf8,
              fmt::format("the value of resource attribute {} is not valid UTF-8",
                          QuotedForMessage(attributes.problem_key()))};
  }
  return {};
}

// What the spans of one scope share.
struct SpanGroup {
  const GroupProblem* resource = nullptr;
  std::string_view scope_name;
  bool scope_name_ok = true;
};

// A span's fields as the wire gives them; its attributes and events go to the collector as they
// are read.
struct SpanFields {
  std::string_view trace_id;
  std::string_view span_id;
  std::string_view parent_span_id;
  std::string_view name;
  uint64_t start_time_unix_nano = 0;
  uint64_t end_time_unix_nano = 0;
  int32_t status_code = 0;  // an enum, so an int32: protobuf keeps a varint's low 32 bits
  AttributeList attributes{false};
  std::size_t events = 0;
  std::size_t bad_event = SIZE_MAX;  // the first event whose name is not valid UTF-8
};

void ReadEvent(WireReader& r, SpanFields* f, SpanCollector& out) {
  SpanEvent event;
  ForEachField(r, [&](uint32_t key) {
    switch (key) {
      case Fixed64(1): event.time_unix_nano = r.ReadFixed64(); return true;
      case LengthDelimited(2): event.name = r.ReadBytes(); return true;
      default: return false;
    }
  });
  const std::size_t index = f->events++;
  if (f->bad_event != SIZE_MAX || f->events > out.limits().max_events_per_span) return;
  if (!IsValidUtf8(event.name)) {
    f->bad_event = index;
    return;
  }
  out.AddEvent(event);
}

void ReadSpanFields(WireReader& r, SpanFields* f, SpanCollector& out) {
  ForEachField(r, [&](uint32_t key) {
    switch (key) {
      case LengthDelimited(1): f->trace_id = r.ReadBytes(); return true;
      case LengthDelimited(2): f->span_id = r.ReadBytes(); return true;
      case LengthDelimited(4): f->parent_span_id = r.ReadBytes(); return true;
      case LengthDelimited(5): f->name = r.ReadBytes(); return true;
      case Fixed64(7): f->start_time_unix_nano = r.ReadFixed64(); return true;
      case Fixed64(8): f->end_time_unix_nano = r.ReadFixed64(); return true;
      case LengthDelimited(9):
        r.ReadMessage([&](WireReader& kv) { f->attributes.Read(kv, out); });
        return true;
      case LengthDelimited(11):
        r.ReadMessage([&](WireReader& event) { ReadEvent(event, f, out); });
        return true;
      case LengthDelimited(15):
        r.ReadMessage([f](WireReader& status) {
          ForEachField(status, [&](uint32_t status_key) {
            if (status_key != Varint(3)) return false;
            f->status_code = static_cast<int32_t>(status.ReadVarint());
            return true;
          });
        });
        return true;
      default: return false;
    }
  });
}

bool IdLengthOk(std::string_view id, std::size_t length) {
  return id.empty() || id.size() == length;
}

// Copies an id of the right length (IdLengthOk); an empty one leaves `out` all zero.
template <std::size_t N>
void CopyId(std::string_view bytes, std::array<uint8_t, N>* out) {
  if (bytes.size() == N) std::memcpy(out->data(), bytes.data(), N);
}

// Refuses the span for the first rule it breaks, if it breaks one.
bool Refuse(const SpanFields& f, const SpanGroup& group, std::size_t index, SpanCollector& out) {
  const SpanDecodeLimits& limits = out.limits();
  const AttributeList& attributes = f.attributes;
  if (group.resource->refused) {
    out.RejectWith(index, group.resource->reason, group.resource->detail);
  } else if (!group.scope_name_ok) {
    out.Reject(index, SpanRejectReason::kInvalidUtf8,
               "the name of its instrumentation scope is not valid UTF-8");
  } else if (!IdLengthOk(f.trace_id, 16)) {
    out.Reject(index, SpanRejectReason::kInvalidId,
               "trace_id is {} bytes long, must be 16 (or empty)", f.trace_id.size());
  } else if (!IdLengthOk(f.span_id, 8)) {
    out.Reject(index, SpanRejectReason::kInvalidId,
               "span_id is {} bytes long, must be 8 (or empty)", f.span_id.size());
  } else if (!IdLengthOk(f.parent_span_id, 8)) {
    out.Reject(index, SpanRejectReason::kInvalidId,
               "parent_span_id is {} bytes long, must be 8 (or empty)", f.parent_span_id.size());
  } else if (attributes.count() > limits.max_attributes_per_span) {
    out.Reject(index, SpanRejectReason::kTooManyAttributes, "{} attributes, over the limit of {}",
               attributes.count(), limits.max_attributes_per_span);
  } else if (f.events > limits.max_events_per_span) {
    out.Reject(index, SpanRejectReason::kTooManyAttributes, "{} events, over the limit of {}",
               f.events, limits.max_events_per_span);
  } else if (!IsValidUtf8(f.name)) {
    out.Reject(index, SpanRejectReason::kInvalidUtf8, "the span name is not valid UTF-8");
  } else if (attributes.problem() == AttributeProblem::kKey) {
    out.Reject(index, SpanRejectReason::kInvalidUtf8, "the key of attribute {} is not valid UTF-8",
               attributes.problem_index());
  } else if (attributes.problem() == AttributeProblem::kValue) {
    out.Reject(index, SpanRejectReason::kInvalidUtf8,
               "the value of attribute {} is not valid UTF-8",
               QuotedForMessage(attributes.problem_key()));
  } else if (f.bad_event != SIZE_MAX) {
    out.Reject(index, SpanRejectReason::kInvalidUtf8, "the name of event {} is not valid UTF-8",
               f.bad_event);
  } else {
    return false;
  }
  return true;
}

// A span of a refused resource or scope is walked too: a malformed byte in it refuses the body.
void ReadSpan(WireReader& r, const SpanGroup& group, SpanCollector& out) {
  const std::size_t index = out.NextIndex();
  Span& s = out.BeginSpan(index);
  SpanFields f;
  ReadSpanFields(r, &f, out);
  if (Refuse(f, group, index, out)) return out.AbandonSpan();
  CopyId(f.trace_id, &s.trace_id);
  CopyId(f.span_id, &s.span_id);
  CopyId(f.parent_span_id, &s.parent_span_id);
  s.name = f.name;
  s.start_time_unix_nano = f.start_time_unix_nano;
  s.end_time_unix_nano = f.end_time_unix_nano;
  s.status = f.status_code == 1   ? StatusCode::kOk
             : f.status_code == 2 ? StatusCode::kError
                                  : StatusCode::kUnset;  // 0, and codes newer than this agent
  s.scope_name = group.scope_name;
  out.CommitSpan();
}

// opentelemetry.proto.trace.v1.ScopeSpans: its scope first, wherever it lies, then its spans.
void ReadScopeSpans(WireReader& r, const GroupProblem& resource, SpanCollector& out) {
  SpanGroup group{&resource, {}, true};
  ForEachMessage(r, 1, [&](WireReader& scope) {
    ForEachField(scope, [&](uint32_t key) {
      if (key != LengthDelimited(1)) return false;
      group.scope_name = scope.ReadBytes();
      return true;
    });
  });
  group.scope_name_ok = IsValidUtf8(group.scope_name);
  r.Rewind();
  ForEachMessage(r, 2, [&](WireReader& span) { ReadSpan(span, group, out); });
}

// opentelemetry.proto.trace.v1.ResourceSpans: its resource first, wherever it lies, then its
// scopes.
void ReadResourceSpans(WireReader& r, SpanCollector& out) {
  AttributeList attributes(true);
  out.StartResource();
  ForEachMessage(r, 1, [&](WireReader& resource) {
    ForEachMessage(resource, 1, [&](WireReader& kv) { attributes.Read(kv, out); });
  });
  out.EndResource();
  const GroupProblem problem = ResourceProblem(attributes, out.limits().max_attributes_per_span);
  r.Rewind();
  ForEachMessage(r, 2, [&](WireReader& scope_spans) { ReadScopeSpans(scope_spans, problem, out); });
}

}  // namespace

void ProtobufSpanDecoder::Decode(std::string_view body, SpanCollector& out) const {
  if (body.size() > static_cast<std::size_t>(INT_MAX)) {  // as protobuf refuses it
    out.SetBodyError("the body is not a valid protobuf ExportTraceServiceRequest: over 2 GiB");
    return;
  }
  WireReader request(body);
  ForEachMessage(request, 1,
                 [&](WireReader& resource_spans) { ReadResourceSpans(resource_spans, out); });
  if (request.ok()) return;
  std::string message = fmt::format(
      "the body is not a valid protobuf ExportTraceServiceRequest ({} bytes): {} at byte {}",
      body.size(), request.error(), request.error_position() - body.data());
  const std::size_t first = body.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && (body[first] == '{' || body[first] == '[')) {
    message += "; it looks like JSON, which is sent with Content-Type application/json";
  }
  out.SetBodyError(std::move(message));
}

}  // namespace llm_exporter::otlp
