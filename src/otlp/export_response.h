// The body of the answer to an OTLP trace export request (ExportTraceServiceResponse), in the
// encoding of the request, for the OTLP/HTTP and OTLP/gRPC transports.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "llm_exporter/span_ingest.h"

namespace llm_exporter::otlp {

// The serialized ExportTraceServiceResponse: protobuf bytes, or OTLP/JSON such as
// {"partialSuccess":{"rejectedSpans":"3","errorMessage":"span 2: ..."}}. When nothing was
// rejected and there is no message, partial_success is left unset ("{}" in JSON, no bytes in
// protobuf), which tells the exporter that every span was accepted. Invalid UTF-8 in
// `error_message` is replaced by U+FFFD. Thread-safe.
std::string EncodeExportResponse(SpanEncoding encoding, int64_t rejected_spans,
                                 std::string_view error_message);

}  // namespace llm_exporter::otlp
