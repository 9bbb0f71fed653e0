#include "transport/http/proxy_exchange.h"

#include <civetweb.h>
#include <strings.h>

#include <array>
#include <charconv>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "transport/http/http_request.h"

namespace llm_exporter::transport {
namespace {

// Chunks up to this size go out in one write with their framing; a larger one is not copied.
constexpr std::size_t kInlineChunk = 64 * 1024;

bool WriteAll(mg_connection* conn, std::string_view bytes) {
  if (bytes.empty()) return true;
  return mg_write(conn, bytes.data(), bytes.size()) == static_cast<int>(bytes.size());
}

// Whether the comma-separated header value `list` holds `token` (ignoring case).
bool HasToken(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item.size() == token.size() && strncasecmp(item.data(), token.data(), token.size()) == 0) {
      return true;
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

// civetweb keeps the connection's socket to itself, so it is found among the process's
// descriptors by its two ends. Each worker thread serves one connection at a time, usually for
// many requests: the descriptor found for the last request is checked against this request's
// ends first (two system calls). A new connection is looked up in what the last scan of the
// descriptors saw, and only then scanned for, one scan at a time: when many connections arrive
// together (a thousand streams opened at once) one scan finds them all, rather than each
// connection scanning every other's descriptor.
class SocketDirectory {
 public:
  int Find(const ConnectionEnds& ends) {
    if (const int fd = Seen(ends); fd >= 0) return fd;
    std::lock_guard<std::mutex> scanning(scan_mu_);
    if (const int fd = Seen(ends); fd >= 0) return fd;  // found by the scan just waited for
    std::vector<ConnectionSocket> sockets = ListConnectionSockets(ends.local_port);
    std::lock_guard<std::mutex> lock(mu_);
    seen_.clear();
    int found = -1;
    for (ConnectionSocket& socket : sockets) {
      if (socket.ends.remote_port == ends.remote_port &&
          socket.ends.remote_address == ends.remote_address) {
        found = socket.fd;
      }
      seen_.emplace(Key(socket.ends), socket.fd);
    }
    return found;
  }

 private:
  using SeenKey = std::tuple<int, std::string, int>;
  static SeenKey Key(const ConnectionEnds& ends) {
    return {ends.local_port, ends.remote_address, ends.remote_port};
  }
  // The descriptor the last scan saw with these ends, if it still has them.
  int Seen(const ConnectionEnds& ends) {
    int fd = -1;
    {
      std::lock_guard<std::mutex> lock(mu_);
      const auto it = seen_.find(Key(ends));
      if (it == seen_.end()) return -1;
      fd = it->second;
    }
    return SocketHasEnds(fd, ends) ? fd : -1;
  }

  std::mutex scan_mu_;
  std::mutex mu_;
  std::map<SeenKey, int> seen_;
};

int ClientSocket(const ConnectionEnds& ends) {
  static SocketDirectory directory;
  thread_local int cached = -1;
  if (cached >= 0 && SocketHasEnds(cached, ends)) return cached;
  cached = directory.Find(ends);
  return cached;
}

}  // namespace

CivetwebProxyExchange::CivetwebProxyExchange(mg_connection* conn, std::string_view path,
                                             std::chrono::steady_clock::time_point received,
                                             BodyDeadline& body_deadline,
                                             std::chrono::milliseconds body_timeout,
                                             telemetry::AgentMetrics& agent_metrics)
    : conn_(conn),
      info_(mg_get_request_info(conn)),
      path_(path),
      received_(received),
      body_deadline_(body_deadline),
      body_timeout_(body_timeout),
      agent_metrics_(agent_metrics) {
  headers_.reserve(static_cast<std::size_t>(info_->num_headers));
  for (int i = 0; i < info_->num_headers; ++i) {
    const mg_header& header = info_->http_headers[i];
    if (header.name == nullptr) continue;
    headers_.push_back({header.name, header.value != nullptr ? header.value : ""});
  }
}

std::string_view CivetwebProxyExchange::method() const { return info_->request_method; }

std::string_view CivetwebProxyExchange::query() const {
  return info_->query_string != nullptr ? info_->query_string : "";
}

int CivetwebProxyExchange::client_fd() {
  if (fd_ == -2) {
    fd_ = ClientSocket(ConnectionEnds{info_->server_port, info_->remote_addr, info_->remote_port});
  }
  return fd_;
}

ProxyBodyRead CivetwebProxyExchange::ReadBody(std::size_t limit, std::string* body) {
  body->clear();
  body_read_ = true;
  if (info_->content_length > 0 && static_cast<unsigned long long>(info_->content_length) > limit) {
    must_close_ = true;
    return ProxyBodyRead::kTooLarge;
  }
  // civetweb answers "Expect: 100-continue" only for the requests it serves itself (PUT of a
  // file, CGI); a client that waits for the go-ahead (curl does, for bodies over 1 MiB) would
  // otherwise stall for a second before sending its body.
  const std::optional<std::string_view> expect = RequestHeader("Expect");
  if (expect && HasToken(*expect, "100-continue") && info_->http_version != nullptr &&
      std::string_view(info_->http_version) == "1.1") {
    WriteAll(conn_, "HTTP/1.1 100 Continue\r\n\r\n");
  }
  BodyRead read;
  bool cut_off = false;
  {
    BodyDeadline::Watch watch(body_deadline_,
                              ConnectionEnds{info_->server_port, info_->remote_addr,
                                             info_->remote_port},
                              BodyDeadline::Clock::now() + body_timeout_);
    read = transport::ReadBody(conn_, limit, 0, body);
    cut_off = watch.expired();
  }
  if (cut_off) read = BodyRead::kIncomplete;
  if (read != BodyRead::kOk) must_close_ = true;
  switch (read) {
    case BodyRead::kOk:
      return ProxyBodyRead::kOk;
    case BodyRead::kTooLarge:
      return ProxyBodyRead::kTooLarge;
    case BodyRead::kIncomplete:
      agent_metrics_.CountHttpDrop(telemetry::HttpDrop::kBodyTimeout);
      return ProxyBodyRead::kIncomplete;
    case BodyRead::kFailed:
      break;
  }
  return ProxyBodyRead::kFailed;
}

bool CivetwebProxyExchange::ClientKeepsAlive() const {
  const std::optional<std::string_view> connection = RequestHeader("Connection");
  const bool http11 =
      info_->http_version != nullptr && std::string_view(info_->http_version) == "1.1";
  if (connection) {
    if (HasToken(*connection, "close")) return false;
    return http11 || HasToken(*connection, "keep-alive");
  }
  return http11;
}

bool CivetwebProxyExchange::SendHead(int status, std::span<const HeaderField> headers,
                                     ResponseFraming framing, uint64_t content_length) {
  if (status_ != 0 || failed_) return false;
  status_ = status;
  // A body left unread (an answer given before it was needed) would be read and thrown away by
  // civetweb to keep the connection, however large: the connection closes instead.
  const bool unread_body =
      !body_read_ && (info_->content_length > 0 || RequestHeader("Transfer-Encoding"));
  bool close = must_close_ || unread_body || !ClientKeepsAlive();
  // The status line and the headers in one write: with TCP_NODELAY each write is a packet of its
  // own (civetweb's mg_response_header_send writes every header line by itself).
  thread_local std::string head;
  head.clear();
  head.append("HTTP/1.1 ").append(std::to_string(status)).push_back(' ');
  // No connection given: civetweb would log every status it does not know (Anthropic's 529) as
  // an error; without one it names the status's class ("Server Error").
  head.append(status == 408 ? "Request Timeout" : mg_get_response_code_text(nullptr, status));
  head.append("\r\n");
  for (const HeaderField& header : headers) {
    head.append(header.name).append(": ").append(header.value).append("\r\n");
  }
  switch (framing) {
    case ResponseFraming::kContentLength:
      head.append("Content-Length: ").append(std::to_string(content_length)).append("\r\n");
      break;
    case ResponseFraming::kChunked:
      if (info_->http_version != nullptr && std::string_view(info_->http_version) == "1.1") {
        head.append("Transfer-Encoding: chunked\r\n");
        chunked_ = true;
      } else {
        // HTTP/1.0 has no chunks: the end of the body is the end of the connection.
        close_delimited_ = true;
        close = true;
      }
      break;
    case ResponseFraming::kNoBody:
      break;
  }
  head.append(close ? "Connection: close\r\n\r\n" : "Connection: keep-alive\r\n\r\n");
  if (close) mg_disable_keep_alive(conn_);
  if (!WriteAll(conn_, head)) failed_ = true;
  return !failed_;
}

bool CivetwebProxyExchange::Write(std::string_view bytes) {
  if (failed_ || status_ == 0) return false;
  if (bytes.empty()) return true;
  if (!chunked_) {
    failed_ = !WriteAll(conn_, bytes);
    return !failed_;
  }
  // One write per chunk, framing included: mg_send_chunk() writes the size line, the data and the
  // CRLF with three system calls, three packets per streamed event with TCP_NODELAY.
  std::array<char, 24> size_line{};
  char* end = std::to_chars(size_line.data(), size_line.data() + 16, bytes.size(), 16).ptr;
  *end++ = '\r';
  *end++ = '\n';
  const std::string_view size_text(size_line.data(), static_cast<std::size_t>(end - size_line.data()));
  if (bytes.size() <= kInlineChunk) {
    thread_local std::string chunk;
    chunk.clear();
    chunk.append(size_text).append(bytes).append("\r\n");
    failed_ = !WriteAll(conn_, chunk);
  } else {
    failed_ = !WriteAll(conn_, size_text) || !WriteAll(conn_, bytes) || !WriteAll(conn_, "\r\n");
  }
  return !failed_;
}

bool CivetwebProxyExchange::Finish() {
  if (failed_ || status_ == 0) return false;
  if (chunked_) failed_ = !WriteAll(conn_, "0\r\n\r\n");
  if (close_delimited_) mg_disable_keep_alive(conn_);
  return !failed_;
}

void CivetwebProxyExchange::Cut() {
  // civetweb closes a connection marked so as soon as the handler returns.
  mg_disable_keep_alive(conn_);
  failed_ = true;
}

}  // namespace llm_exporter::transport
