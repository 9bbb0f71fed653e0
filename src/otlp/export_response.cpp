#include "otlp/export_response.h"

#include <fmt/format.h>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "otlp/span_text.h"

namespace llm_exporter::otlp {
namespace {

// `text` (valid UTF-8) as the contents of a JSON string.
void AppendJsonEscaped(std::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (const char c : text) {
    switch (c) {
      case '"': *out += "\\\""; break;
      case '\\': *out += "\\\\"; break;
      case '\n': *out += "\\n"; break;
      case '\r': *out += "\\r"; break;
      case '\t': *out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          *out += "\\u00";
          *out += kHex[(c >> 4) & 0xF];
          *out += kHex[c & 0xF];
        } else {
          *out += c;
        }
    }
  }
}

}  // namespace

std::string EncodeExportResponse(SpanEncoding encoding, int64_t rejected_spans,
                                 std::string_view error_message) {
  const bool partial = rejected_spans != 0 || !error_message.empty();
  std::string message;
  AppendRepairedUtf8(error_message, &message);
  if (encoding == SpanEncoding::kJson) {
    if (!partial) return "{}";
    // Proto3 JSON leaves out fields at their default and writes int64 as a decimal string.
    std::string out = "{\"partialSuccess\":{";
    if (rejected_spans != 0) fmt::format_to(std::back_inserter(out), "\"rejectedSpans\":\"{}\"",
                                            rejected_spans);
    if (!message.empty()) {
      if (rejected_spans != 0) out += ',';
      out += "\"errorMessage\":\"";
      AppendJsonEscaped(message, &out);
      out += '"';
    }
    out += "}}";
    return out;
  }
  if (!partial) return {};
  opentelemetry::proto::collector::trace::v1::ExportTraceServiceResponse response;
  auto* partial_success = response.mutable_partial_success();
  partial_success->set_rejected_spans(rejected_spans);
  partial_success->set_error_message(std::move(message));
  return response.SerializeAsString();
}

}  // namespace llm_exporter::otlp
