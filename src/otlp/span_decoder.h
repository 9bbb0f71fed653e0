// Turns the body of an OTLP trace export request (ExportTraceServiceRequest, protobuf or OTLP/JSON)
// into Spans (span.h), or into a precise error: for the whole body when it cannot be decoded, or
// for one span when only that span is wrong, so the valid spans beside it are kept.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "llm_exporter/span_ingest.h"
#include "otlp/span.h"

namespace llm_exporter::otlp {

struct SpanDecodeLimits {
  std::size_t max_attributes_per_span = 1024;      // span attributes, and resource attributes
  std::size_t max_events_per_span = 1024;
  std::size_t max_reported_errors = 100;           // errors listed; all are counted
};

// A span refused while decoding; it is not among the decoded spans.
struct SpanError {
  std::size_t index = 0;  // Span::index it would have had
  SpanRejectReason reason = SpanRejectReason::kUndecodable;
  std::string message;    // "span 3: attribute 2's key is not valid UTF-8"
};

struct DecodedSpans {
  std::string body_error;           // non-empty: nothing below is set
  std::vector<Span> spans;          // the valid spans, in wire order
  std::size_t rejected = 0;         // spans refused while decoding
  std::vector<SpanError> errors;    // the first max_reported_errors of them

  bool ok() const { return body_error.empty(); }
};

// Owns a reusable JSON parser and buffers. Not thread-safe: use one decoder per thread.
// What Decode() returns, and every view in it, stays valid until the next Decode() call or the
// decoder's destruction, provided `body` stays alive as long.
class SpanDecoder {
 public:
  explicit SpanDecoder(SpanDecodeLimits limits = {});
  ~SpanDecoder();
  SpanDecoder(const SpanDecoder&) = delete;
  SpanDecoder& operator=(const SpanDecoder&) = delete;

  const DecodedSpans& Decode(SpanEncoding encoding, std::string_view body);

  // Bytes of memory the decoder keeps warm between calls (span vectors, JSON parse buffers), for a
  // pool that frees decoders grown by an unusually large request.
  std::size_t retained_bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace llm_exporter::otlp
