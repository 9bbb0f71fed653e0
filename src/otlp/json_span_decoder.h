// Decodes an OTLP/JSON ExportTraceServiceRequest (OTLP/HTTP with Content-Type application/json)
// into a SpanCollector, following the OTLP/JSON rules: lowerCamelCase keys (snake_case accepted
// too), hex trace and span ids, 64-bit integers as decimal strings or numbers, enums as integers
// or names.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "otlp/span_collector.h"

namespace simdjson::dom {
class parser;
}

namespace llm_exporter::otlp {

// One simdjson DOM parser, reused from one request to the next; the spans' strings point into
// its string buffer, which lives until the next Decode(). Not thread-safe.
class JsonSpanDecoder {
 public:
  // The largest document whose parse buffers are kept for the next request; simdjson's DOM keeps
  // about 15 bytes per byte of it (tape, string buffer, structural indexes, padded copy), and
  // every pooled decoder would keep that much. The same bound as decode::EventDecoder's.
  static constexpr std::size_t kMaxRetainedDocumentBytes = std::size_t{1} << 20;

  JsonSpanDecoder();
  ~JsonSpanDecoder();
  JsonSpanDecoder(const JsonSpanDecoder&) = delete;
  JsonSpanDecoder& operator=(const JsonSpanDecoder&) = delete;

  // Decodes `body` into `out`, which the caller has Reset(); what it holds points into this
  // decoder until the next call.
  void Decode(std::string_view body, SpanCollector& out);

  std::size_t retained_bytes() const;

 private:
  std::unique_ptr<simdjson::dom::parser> parser_;  // simdjson stays out of this header
};

}  // namespace llm_exporter::otlp
