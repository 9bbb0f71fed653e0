#include "loadgen/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace llm_exporter::bench {
namespace {

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

HttpClient::HttpClient(std::string host, int port, bool quick_ack)
    : host_(std::move(host)), port_(port), quick_ack_(quick_ack) {}

HttpClient::~HttpClient() { Close(); }

void HttpClient::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  begin_ = end_ = 0;
}

bool HttpClient::Connect(std::string* error) {
  Close();
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port_));
  if (::inet_pton(AF_INET, host_.c_str(), &address.sin_addr) != 1) {
    *error = "not an IPv4 address: " + host_;
    Close();
    return false;
  }
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    *error = "connect to " + host_ + ":" + std::to_string(port_) + ": " + std::strerror(errno);
    Close();
    return false;
  }
  ++connects_;
  server_closes_ = false;
  return true;
}

bool HttpClient::Post(std::string_view path, std::string_view content_type, std::string_view body,
                      HttpResponse* response, std::string* error) {
  return Request("POST", path, content_type, body, response, error);
}

bool HttpClient::Get(std::string_view path, HttpResponse* response, std::string* error) {
  return Request("GET", path, {}, {}, response, error);
}

bool HttpClient::Request(std::string_view method, std::string_view path,
                         std::string_view content_type, std::string_view body,
                         HttpResponse* response, std::string* error) {
  head_.clear();
  head_.append(method).append(" ").append(path).append(" HTTP/1.1\r\nHost: ").append(host_);
  head_.append("\r\nConnection: keep-alive\r\n");
  if (method == "POST") {
    head_.append("Content-Type: ").append(content_type).append("\r\nContent-Length: ");
    head_.append(std::to_string(body.size())).append("\r\n");
  }
  head_.append("\r\n");
  // A kept-alive connection may have been closed by the server while idle: retry once on a new
  // one, but only when nothing at all came back (so a request is never counted twice).
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool reused = fd_ >= 0 && !server_closes_;
    if (!reused && !Connect(error)) return false;
    bool closed_early = false;
    if (SendAll(head_, body, error) && ReadResponse(response, &closed_early, error)) {
      ++requests_;
      if (server_closes_) Close();
      return true;
    }
    Close();
    if (!(reused && closed_early)) return false;
  }
  return false;
}

bool HttpClient::SendAll(std::string_view head, std::string_view body, std::string* error) {
  iovec parts[2] = {{const_cast<char*>(head.data()), head.size()},
                    {const_cast<char*>(body.data()), body.size()}};
  int count = body.empty() ? 1 : 2;
  iovec* part = parts;
  while (count > 0) {
    const ssize_t n = ::writev(fd_, part, count);
    if (n < 0) {
      if (errno == EINTR) continue;
      *error = std::string("send: ") + std::strerror(errno);
      return false;
    }
    std::size_t left = static_cast<std::size_t>(n);
    while (count > 0 && left >= part->iov_len) {
      left -= part->iov_len;
      ++part;
      --count;
    }
    if (count > 0) {
      part->iov_base = static_cast<char*>(part->iov_base) + left;
      part->iov_len -= left;
    }
  }
  return true;
}

bool HttpClient::ReadResponse(HttpResponse* response, bool* closed_early, std::string* error) {
  // Receives up to `want` more bytes after end_; the buffer only grows, so no per-call zeroing.
  const auto fill = [&](std::size_t want) -> ssize_t {
    if (begin_ == end_) begin_ = end_ = 0;
    if (buffer_.size() < end_ + want) buffer_.resize(end_ + want);
    ssize_t n;
    do {
      if (quick_ack_) {
        // The kernel leaves quick-ack mode on its own, so ask again before every read.
        const int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
      }
      n = ::recv(fd_, buffer_.data() + end_, want, 0);
    } while (n < 0 && errno == EINTR);
    if (n > 0) end_ += static_cast<std::size_t>(n);
    return n;
  };
  const auto pending = [&] { return std::string_view(buffer_.data() + begin_, end_ - begin_); };
  std::size_t head_end;
  while ((head_end = pending().find("\r\n\r\n")) == std::string_view::npos) {
    const ssize_t n = fill(16 * 1024);
    if (n <= 0) {
      *closed_early = begin_ == end_;
      *error = n == 0 ? "connection closed by the server"
                      : std::string("recv: ") + std::strerror(errno);
      return false;
    }
  }
  // Parse the head from a copy of its position: fill() below may move the buffer.
  const std::string head(pending().substr(0, head_end));
  // "HTTP/1.1 200 OK"
  const std::size_t space = head.find(' ');
  if (!head.starts_with("HTTP/1.") || space == std::string::npos || head.size() < space + 4) {
    *error = "malformed status line";
    return false;
  }
  response->status = 0;
  std::from_chars(head.data() + space + 1, head.data() + space + 4, response->status);
  std::size_t content_length = std::string::npos;
  server_closes_ = head.starts_with("HTTP/1.0");
  std::size_t line_start = head.find("\r\n");
  while (line_start != std::string::npos && line_start < head.size()) {
    line_start += 2;
    std::size_t line_end = head.find("\r\n", line_start);
    if (line_end == std::string::npos) line_end = head.size();
    const std::string_view line = std::string_view(head).substr(line_start, line_end - line_start);
    const std::size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      const std::string_view name = Trim(line.substr(0, colon));
      const std::string_view value = Trim(line.substr(colon + 1));
      if (IEquals(name, "content-length")) {
        std::size_t length = 0;
        std::from_chars(value.data(), value.data() + value.size(), length);
        content_length = length;
      } else if (IEquals(name, "connection")) {
        server_closes_ = IEquals(value, "close");
      } else if (IEquals(name, "transfer-encoding")) {
        *error = "chunked responses are not supported";
        return false;
      }
    }
    line_start = line_end;
  }
  begin_ += head_end + 4;
  if (content_length == std::string::npos) {
    // No length: the body runs to the end of the connection.
    while (fill(64 * 1024) > 0) {
    }
    response->body.assign(pending());
    server_closes_ = true;
    begin_ = end_ = 0;
    return true;
  }
  while (end_ - begin_ < content_length) {
    const std::size_t missing = content_length - (end_ - begin_);
    if (fill(missing > 64 * 1024 ? missing : 64 * 1024) <= 0) {
      *error = "connection closed in the middle of a response body";
      return false;
    }
  }
  response->body.assign(pending().substr(0, content_length));
  begin_ += content_length;
  return true;
}

}  // namespace llm_exporter::bench
