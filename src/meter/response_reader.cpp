#include "meter/response_reader.h"

#include <simdjson.h>

#include "meter/wire_fields.h"

namespace llm_exporter::meter {

Metered ReadResponse(ApiKind kind, Operation op, std::string_view body) {
  Metered metered;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS || !root.is_object()) {
    return metered;
  }
  ReadError(root, /*named_error=*/false, &metered);
  SetModel(StringField(root, "model"), &metered);
  simdjson::dom::element usage;
  if (root.at_key("usage").get(usage) != simdjson::SUCCESS) return metered;
  if (kind == ApiKind::kAnthropic) {
    AnthropicUsage anthropic;
    if (anthropic.Merge(usage)) metered.usage = anthropic.ToUsage();
  } else {
    ReadOpenAiUsage(usage, &metered.usage);
    // Embeddings bill input only; their usage has no completion count, but a compatible server
    // may still write one as 0 or as total - prompt.
    if (op == Operation::kEmbeddings) metered.usage.output = metered.usage.reasoning = 0;
  }
  return metered;
}

}  // namespace llm_exporter::meter
