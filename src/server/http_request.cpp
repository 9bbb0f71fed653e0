#include "server/http_request.h"

#include <strings.h>

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
  // The status line and headers go out in one write, with the body when it is small. civetweb's
  // header functions send each header line with its own system call, and on a keep-alive
  // connection Nagle's algorithm then holds the rest of the response until the client's delayed
  // ACK, about 40 ms per response.
  bool close = false;
  for (const auto& [name, value] : extra) close |= name == "Connection" && value == "close";
  if (!close) {
    const mg_request_info* info = mg_get_request_info(conn);
    const char* connection = mg_get_header(conn, "Connection");
    const bool http11 = info->http_version != nullptr && std::string_view(info->http_version) == "1.1";
    close = connection != nullptr ? strcasecmp(connection, "close") == 0 || (!http11 && strcasecmp(connection, "keep-alive") != 0)
                                  : !http11;
  }
  if (close) mg_disable_keep_alive(conn);

  thread_local std::string head;
  head.clear();
  head.append("HTTP/1.1 ").append(std::to_string(status)).push_back(' ');
  head.append(mg_get_response_code_text(conn, status)).append("\r\nContent-Type: ");
  head.append(content_type).append("\r\nContent-Length: ").append(std::to_string(body.size()));
  for (const auto& [name, value] : extra) {
    if (name == "Connection") continue;
    head.append("\r\n").append(name).append(": ").append(value);
  }
  head.append(close ? "\r\nConnection: close\r\n\r\n" : "\r\nConnection: keep-alive\r\n\r\n");
  constexpr std::size_t kInlineBody = 64 * 1024;
  if (head_only) {
    mg_write(conn, head.data(), head.size());
  } else if (body.size() <= kInlineBody) {
    head.append(body);
    mg_write(conn, head.data(), head.size());
  } else {
    // A large body is not copied: two writes, and TCP_NODELAY (tcp_nodelay=1) sends both at once.
    mg_write(conn, head.data(), head.size());
    mg_write(conn, body.data(), body.size());
  }
}

}  // namespace llm_exporter::server
