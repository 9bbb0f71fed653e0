// Decodes a protobuf ExportTraceServiceRequest (OTLP/HTTP application/x-protobuf, OTLP/gRPC) into
// a SpanCollector by walking its wire format in place (wire_reader.h), following the agent's own
// copy of the OTLP schema (otlp/proto/).
#pragma once

#include <string_view>

#include "otlp/span_collector.h"

namespace llm_exporter::otlp {

// Reads the request where it lies: every string of the decoded spans points into the body, and
// nothing is allocated but the collector's vectors. Holds no state; thread-safe.
class ProtobufSpanDecoder {
 public:
  // Decodes `body` into `out`, which the caller has Reset(); what it holds points into `body`.
  void Decode(std::string_view body, SpanCollector& out) const;
};

}  // namespace llm_exporter::otlp
