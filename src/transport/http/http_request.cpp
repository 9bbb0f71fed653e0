#include "transport/http/http_request.h"

#include <strings.h>

#include <algorithm>
#include <limits>

namespace llm_exporter::transport {
namespace {

// The value of request header `name` (compared ignoring case), or null. mg_get_header() runs
// civetweb's byte-at-a-time case-insensitive compare over each header name; this looks at the
// names' lengths first.
const char* HeaderValue(const mg_request_info* info, std::string_view name) {
  for (int i = 0; i < info->num_headers; ++i) {
    const mg_header& header = info->http_headers[i];
    if (header.name != nullptr && strncasecmp(header.name, name.data(), name.size()) == 0 &&
        header.name[name.size()] == '\0') {
      return header.value;
    }
  }
  return nullptr;
}

}  // namespace

BodyRead ReadBody(mg_connection* conn, std::size_t limit, std::size_t padding, std::string* body) {
  const mg_request_info* info = mg_get_request_info(conn);
  const long long declared = info->content_length;  // -1: chunked, or none given
  if (declared > 0 && static_cast<unsigned long long>(declared) > limit) return BodyRead::kTooLarge;
  // Memory follows the bytes that arrived, not the Content-Length a client claims: each read
  // asks for at most as much again as has come so far (16 KiB at first), into the string's own
  // storage. A chunked body is read until its last chunk, up to the limit plus one byte.
  const std::size_t expected =
      declared >= 0 ? static_cast<std::size_t>(declared) : std::numeric_limits<std::size_t>::max();
  std::size_t size = 0;
  BodyRead outcome = BodyRead::kOk;
  while (size < expected) {
    const std::size_t want =
        std::min({std::max(std::size_t{16} << 10, size), expected - size, limit + 1 - size});
    body->resize(size + want + padding);
    const int n = mg_read(conn, body->data() + size, want);
    if (n < 0) {
      outcome = BodyRead::kFailed;
      break;
    }
    size += static_cast<std::size_t>(n);
    if (size > limit) {
      outcome = BodyRead::kTooLarge;
      break;
    }
    if (n == 0) {  // the connection ended or went silent; for a chunked body, the last chunk
      if (declared >= 0) outcome = BodyRead::kIncomplete;
      break;
    }
  }
  body->resize(size);
  if (body->capacity() < size + padding) body->reserve(size + padding);
  return outcome;
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
    const char* connection = HeaderValue(info, "Connection");
    const bool http11 = info->http_version != nullptr && std::string_view(info->http_version) == "1.1";
    close = connection != nullptr ? strcasecmp(connection, "close") == 0 || (!http11 && strcasecmp(connection, "keep-alive") != 0)
                                  : !http11;
  }
  if (close) mg_disable_keep_alive(conn);

  thread_local std::string head;
  head.clear();
  head.append("HTTP/1.1 ").append(std::to_string(status)).push_back(' ');
  // civetweb 1.15 says "Request Time-out" (RFC 2616's spelling); the headers' own timeout
  // answer, written by HttpServer::HttpError, uses today's "Request Timeout".
  head.append(status == 408 ? "Request Timeout" : mg_get_response_code_text(conn, status));
  head.append("\r\nContent-Type: ");
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

}  // namespace llm_exporter::transport
