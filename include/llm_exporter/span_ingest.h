// The interface between the OTLP transports (OTLP/HTTP POST /v1/traces, OTLP/gRPC
// TraceService/Export) and the pipeline: a transport hands over the body of one export request
// with its encoding, and gets back what became of its spans, for the OTLP response
// (ExportTraceServiceResponse.partial_success).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace llm_exporter {

enum class SpanTransport : uint8_t { kHttp, kGrpc };
inline constexpr std::size_t kSpanTransportCount = 2;
inline constexpr std::array<std::string_view, kSpanTransportCount> kSpanTransportNames = {"http",
                                                                                          "grpc"};

// The body's encoding: Content-Type application/x-protobuf (and every gRPC message) or
// application/json.
enum class SpanEncoding : uint8_t { kProtobuf, kJson };

// What a span turned out to be (llm_exporter_otlp_spans_received_total{kind}).
enum class SpanKind : uint8_t { kLlmCall, kWorkflow, kAgent, kTool, kIgnored };
inline constexpr std::size_t kSpanKindCount = 5;
inline constexpr std::array<std::string_view, kSpanKindCount> kSpanKindNames = {
    "llm_call", "workflow", "agent", "tool", "ignored"};

// Why a request or a span was refused (llm_exporter_otlp_spans_rejected_total{reason}). The
// first four refuse a whole request, which counts as one; the others one span each.
enum class SpanRejectReason : uint8_t {
  kUndecodable,           // the body is not an ExportTraceServiceRequest in its encoding
  kTooLarge,              // the body, or its gzip-decompressed form, is over the size limit
  kUnsupportedMediaType,  // neither application/x-protobuf nor application/json
  kBadEncoding,           // a Content-Encoding other than gzip or identity, or broken gzip
  kInvalidUtf8,           // a string of the span is not valid UTF-8
  kTooManyAttributes,     // more attributes or events than the limit
  kInvalidId,             // a trace or span id of the wrong length (or not hex, in JSON)
  kEndBeforeStart,        // end time before start time
  kInvalidValue,          // a negative, fractional, NaN or absurd token count or duration
  kLabelTooLong,          // a model, user, team or endpoint longer than --ingest.max-label-bytes
};
inline constexpr std::size_t kSpanRejectReasonCount = 10;
inline constexpr std::array<std::string_view, kSpanRejectReasonCount> kSpanRejectReasonNames = {
    "undecodable",      "too_large",    "unsupported_media_type", "bad_encoding",
    "invalid_utf8",     "too_many_attributes", "invalid_id",     "end_before_start",
    "invalid_value",    "label_too_long"};

inline std::string_view SpanTransportName(SpanTransport t) {
  return kSpanTransportNames[static_cast<std::size_t>(t)];
}
inline std::string_view SpanKindName(SpanKind k) {
  return kSpanKindNames[static_cast<std::size_t>(k)];
}
inline std::string_view SpanRejectReasonName(SpanRejectReason r) {
  return kSpanRejectReasonNames[static_cast<std::size_t>(r)];
}

// What became of one export request.
struct SpanIngestResult {
  // Non-empty when the body as a whole could not be decoded; then no span was counted.
  std::string body_error;
  uint64_t accepted = 0;  // spans taken in, of any kind (an ignored span is accepted too)
  uint64_t rejected = 0;  // ExportTraceServiceResponse.partial_success.rejected_spans
  // partial_success.error_message: the first few span errors ("span 3 (chat gpt-4o): end time
  // is before start time"), empty when none was rejected.
  std::string error_message;
  std::array<uint64_t, kSpanKindCount> accepted_by_kind{};

  bool ok() const { return body_error.empty(); }
};

// Implementations are thread-safe: any number of transports call them at once.
class SpanIngest {
 public:
  virtual ~SpanIngest() = default;
  // Decodes one ExportTraceServiceRequest (already decompressed) and records its spans.
  virtual SpanIngestResult IngestSpans(SpanTransport transport, SpanEncoding encoding,
                                       std::string_view body) = 0;
  // A request the transport refused before decoding (kTooLarge, kUnsupportedMediaType,
  // kBadEncoding): counted as one under `reason` and logged with `detail`.
  virtual void CountRefused(SpanTransport transport, SpanRejectReason reason,
                            std::string_view detail) = 0;
};

}  // namespace llm_exporter
