#include "server/http_request.h"

#include <array>

namespace llm_exporter::server {

BodyRead ReadBody(mg_connection* conn, std::size_t limit, std::size_t padding, std::string* body) {
  const mg_request_info* info = mg_get_request_info(conn);
  body->clear();
  if (info->content_length > 0) {
    if (static_cast<unsigned long long>(info->content_length) > limit) return BodyRead::kTooLarge;
    body->reserve(static_cast<std::size_t>(info->content_length) + padding);
  }
  std::array<char, 64 * 1024> chunk;
  while (true) {
    const int n = mg_read(conn, chunk.data(), chunk.size());
    if (n == 0) break;
    if (n < 0) return BodyRead::kFailed;
    if (body->size() + static_cast<std::size_t>(n) > limit) return BodyRead::kTooLarge;
    body->append(chunk.data(), static_cast<std::size_t>(n));
  }
  if (body->capacity() < body->size() + padding) body->reserve(body->size() + padding);
  return BodyRead::kOk;
}

void Respond(mg_connection* conn, int status, std::string_view content_type,
             std::string_view body, const Headers& extra, bool head_only) {
  mg_response_header_start(conn, status);
  mg_response_header_add(conn, "Content-Type", content_type.data(),
                         static_cast<int>(content_type.size()));
  const std::string length = std::to_string(body.size());
  mg_response_header_add(conn, "Content-Length", length.c_str(), -1);
  for (const auto& [name, value] : extra) {
    const std::string header_name(name);
    mg_response_header_add(conn, header_name.c_str(), value.data(), static_cast<int>(value.size()));
  }
  mg_response_header_send(conn);
  if (!head_only && !body.empty()) mg_write(conn, body.data(), body.size());
}

}  // namespace llm_exporter::server
