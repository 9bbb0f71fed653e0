#include "loadgen/span_batch.h"

#include <fmt/format.h>

#include <cstring>
#include <stdexcept>

#include "google/rpc/status.pb.h"
#include "loadgen/traceloop_chat_span.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace llm_exporter::bench {
namespace {

namespace pb_common = opentelemetry::proto::common::v1;
namespace pb_trace = opentelemetry::proto::trace::v1;
using opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;
using opentelemetry::proto::collector::trace::v1::ExportTraceServiceResponse;

// splitmix64's finalizer: a bijection of 64-bit values, so distinct inputs give distinct ids,
// and only 0 maps to 0.
uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void PutBigEndian(uint64_t value, char* out) {
  for (int b = 7; b >= 0; --b, value >>= 8) out[b] = static_cast<char>(value & 0xFF);
}

struct SpanIds {
  char trace[16];
  char span[8];
  char parent[8];  // the workflow span the call was made under (never sent)
};

SpanIds IdsOf(uint64_t number, uint64_t seed) {
  // Span number n has key base + 2n + 2 and its parent the key after it: all distinct, none 0.
  const uint64_t key = Mix64(seed) * 2 + 2 * number + 2;
  SpanIds ids;
  PutBigEndian(Mix64(key ^ 0x5b8efff798038103ull), ids.trace);
  PutBigEndian(Mix64(key ^ 0xd269b633813fc60cull), ids.trace + 8);
  PutBigEndian(Mix64(key), ids.span);
  PutBigEndian(Mix64(key + 1), ids.parent);
  return ids;
}

void SetValue(const SpanAttribute& a, pb_common::AnyValue* value) {
  switch (a.kind) {
    case SpanAttribute::Kind::kString: value->set_string_value(a.text); break;
    case SpanAttribute::Kind::kInt: value->set_int_value(a.integer); break;
    case SpanAttribute::Kind::kDouble: value->set_double_value(a.number); break;
    case SpanAttribute::Kind::kBool: value->set_bool_value(a.boolean); break;
  }
}

}  // namespace

SpanBatch::SpanBatch(const EventMix& mix, uint64_t first, std::size_t count,
                     SpanBatchOptions options)
    : options_(options) {
  ExportTraceServiceRequest request;
  pb_trace::ResourceSpans* resource_spans = request.add_resource_spans();
  for (const auto& [key, value] : kTraceloopResource) {
    pb_common::KeyValue* kv = resource_spans->mutable_resource()->add_attributes();
    kv->set_key(std::string(key));
    kv->mutable_value()->set_string_value(std::string(value));
  }
  pb_trace::ScopeSpans* scope = resource_spans->add_scope_spans();
  scope->mutable_scope()->set_name(std::string(kTraceloopScope));
  std::vector<SpanIds> placeholders;
  placeholders.reserve(count);
  for (std::size_t k = 0; k < count; ++k) {
    const uint64_t index = first + k;
    const MixEvent& call = mix.at(index);
    if (call.quality) {
      throw std::invalid_argument(fmt::format(
          "mix event {} is a quality score, which no span carries (build the mix without them)",
          index));
    }
    const TraceloopChatSpan shape = TraceloopChatSpanOf(call, index);
    placeholders.push_back(IdsOf(k, options_.id_seed));
    const SpanIds& ids = placeholders.back();
    pb_trace::Span* span = scope->add_spans();
    span->set_trace_id(ids.trace, sizeof ids.trace);
    span->set_span_id(ids.span, sizeof ids.span);
    span->set_parent_span_id(ids.parent, sizeof ids.parent);
    span->set_name(shape.name);
    span->set_kind(pb_trace::Span::SPAN_KIND_CLIENT);
    const uint64_t start = options_.start_unix_nanos + (index % mix.size()) * 1'000'000ull;
    span->set_start_time_unix_nano(start);
    span->set_end_time_unix_nano(start + shape.duration_nanos);
    for (const SpanAttribute& a : shape.attributes) {
      pb_common::KeyValue* kv = span->add_attributes();
      kv->set_key(a.key);
      SetValue(a, kv->mutable_value());
    }
    if (shape.error) {
      span->mutable_status()->set_code(pb_trace::Status::STATUS_CODE_ERROR);
      span->mutable_status()->set_message("Error code: 500 - internal server error");
    } else {
      span->mutable_status()->set_code(pb_trace::Status::STATUS_CODE_OK);
    }
  }
  request.SerializeToString(&bytes_);
  // Where each span's ids landed: they are found in wire order, each after the one before.
  id_offsets_.reserve(count);
  std::size_t at = 0;
  const auto find = [&](const char* id, std::size_t size) {
    at = bytes_.find(std::string_view(id, size), at);
    if (at == std::string::npos) throw std::logic_error("SpanBatch: a span id was not found");
    const auto offset = static_cast<uint32_t>(at);
    at += size;
    return offset;
  };
  for (const SpanIds& ids : placeholders) {
    IdOffsets offsets;
    offsets.trace = find(ids.trace, sizeof ids.trace);
    offsets.span = find(ids.span, sizeof ids.span);
    offsets.parent = find(ids.parent, sizeof ids.parent);
    id_offsets_.push_back(offsets);
  }
}

void SpanBatch::Renumber(uint64_t number) {
  for (std::size_t k = 0; k < id_offsets_.size(); ++k) {
    const SpanIds ids = IdsOf(number + k, options_.id_seed);
    std::memcpy(bytes_.data() + id_offsets_[k].trace, ids.trace, sizeof ids.trace);
    std::memcpy(bytes_.data() + id_offsets_[k].span, ids.span, sizeof ids.span);
    std::memcpy(bytes_.data() + id_offsets_[k].parent, ids.parent, sizeof ids.parent);
  }
}

std::string DescribeExportResponse(std::string_view bytes) {
  ExportTraceServiceResponse response;
  if (!response.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return fmt::format("an answer of {} bytes that is not an ExportTraceServiceResponse",
                       bytes.size());
  }
  return fmt::format("partial_success: {} spans rejected: {}",
                     response.partial_success().rejected_spans(),
                     response.partial_success().error_message());
}

std::string DescribeRpcStatus(std::string_view bytes) {
  google::rpc::Status status;
  if (!status.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return std::string(bytes.substr(0, 300));
  }
  return fmt::format("code {}: {}", status.code(), status.message());
}

}  // namespace llm_exporter::bench
