#include "otlp/export_response.h"

#include <doctest/doctest.h>

#include <string>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace llm_exporter::otlp {
namespace {

using opentelemetry::proto::collector::trace::v1::ExportTraceServiceResponse;

TEST_CASE("EncodeExportResponse: everything accepted leaves partial_success unset") {
  CHECK(EncodeExportResponse(SpanEncoding::kJson, 0, "") == "{}");
  CHECK(EncodeExportResponse(SpanEncoding::kProtobuf, 0, "").empty());
}

TEST_CASE("EncodeExportResponse: OTLP/JSON, int64 as a string, the message escaped") {
  CHECK(EncodeExportResponse(SpanEncoding::kJson, 3, "span 1: the \"name\"\tis\nbad\x01") ==
        R"({"partialSuccess":{"rejectedSpans":"3","errorMessage":"span 1: the \"name\"\tis\nbad\u0001"}})");
  CHECK(EncodeExportResponse(SpanEncoding::kJson, 2, "") ==
        R"({"partialSuccess":{"rejectedSpans":"2"}})");
  CHECK(EncodeExportResponse(SpanEncoding::kJson, 0, "a warning") ==
        R"({"partialSuccess":{"errorMessage":"a warning"}})");
  CHECK(EncodeExportResponse(SpanEncoding::kJson, 1, "bad \xFF byte") ==
        "{\"partialSuccess\":{\"rejectedSpans\":\"1\",\"errorMessage\":\"bad \xEF\xBF\xBD byte\"}}");
}

TEST_CASE("EncodeExportResponse: protobuf parses back as an ExportTraceServiceResponse") {
  const std::string bytes = EncodeExportResponse(SpanEncoding::kProtobuf, 5, "span 0: bad");
  ExportTraceServiceResponse response;
  REQUIRE(response.ParseFromString(bytes));
  REQUIRE(response.has_partial_success());
  CHECK(response.partial_success().rejected_spans() == 5);
  CHECK(response.partial_success().error_message() == "span 0: bad");
  // Field 1 (partial_success), then rejected_spans = 5 and error_message, on the wire.
  CHECK(bytes == std::string("\x0A\x0F\x08\x05\x12\x0Bspan 0: bad", 17));
}

}  // namespace
}  // namespace llm_exporter::otlp
