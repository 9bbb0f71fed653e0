#include "meter/operation.h"

namespace llm_exporter::meter {
namespace {

// Whether `path` ends with the segments `tail`, starting at a segment boundary.
bool EndsWithSegments(std::string_view path, std::string_view tail) {
  if (!path.ends_with(tail)) return false;
  const std::size_t start = path.size() - tail.size();
  return start == 0 || path[start - 1] == '/';
}

}  // namespace

Operation ClassifyRequest(ApiKind kind, std::string_view method, std::string_view path) {
  if (method != "POST") return Operation::kOther;
  if (const std::size_t query = path.find('?'); query != std::string_view::npos) {
    path = path.substr(0, query);
  }
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  if (kind == ApiKind::kAnthropic) {
    return EndsWithSegments(path, "messages") ? Operation::kMessages : Operation::kOther;
  }
  if (EndsWithSegments(path, "chat/completions")) return Operation::kChat;
  if (EndsWithSegments(path, "completions")) return Operation::kCompletion;
  if (EndsWithSegments(path, "responses")) return Operation::kResponses;
  if (EndsWithSegments(path, "embeddings")) return Operation::kEmbeddings;
  return Operation::kOther;
}

}  // namespace llm_exporter::meter
