// Real-socket helpers for the proxy's tests: a scripted fake upstream HTTP server, a raw HTTP
// client that sees each byte as it arrives, a ProxyIngest that keeps copies of what it is given,
// and the agent's HTTP server with the proxy behind it.
#pragma once

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "config/proxy_config.h"
#include "llm_exporter/event_ingest.h"
#include "llm_exporter/metrics_source.h"
#include "llm_exporter/proxy_ingest.h"
#include "llm_exporter/reload.h"
#include "telemetry/agent_metrics.h"
#include "telemetry/proxy_metrics.h"
#include "transport/http/http_server.h"
#include "transport/proxy/metering_proxy.h"

namespace llm_exporter::testing {

using namespace std::chrono_literals;

inline std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// One request as the fake upstream read it.
struct ReceivedRequest {
  int connection = 0;  // which connection (0, 1, ...) it came on
  std::string method, target, body;
  std::vector<std::pair<std::string, std::string>> headers;  // in order, as sent
  // The value of the first header `name` (ignoring case), or nullopt.
  std::optional<std::string> Header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
      if (Lower(n) == Lower(name)) return v;
    }
    return std::nullopt;
  }
};

// The fake upstream's side of one connection.
class UpstreamConnection {
 public:
  explicit UpstreamConnection(int fd) : fd_(fd) {}
  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  // One chunk of a chunked body.
  bool SendChunk(std::string_view data) {
    char size[32];
    const auto end = std::to_chars(size, size + sizeof size, data.size(), 16).ptr;
    return Send(std::string(size, end) + "\r\n" + std::string(data) + "\r\n");
  }
  // Waits until the peer closes the connection; true when it did within `timeout`.
  bool WaitClosed(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char buffer[4096];
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) return true;
    }
  }
  int fd() const { return fd_; }

 private:
  int fd_;
};

// A scripted HTTP/1.1 server on 127.0.0.1: each request is read (Content-Length bodies) and
// handed with its connection to the handler, which writes the answer; the handler returns
// whether the connection may carry another request. Thread per connection.
class FakeUpstream {
 public:
  using Handler = std::function<bool(UpstreamConnection&, const ReceivedRequest&)>;

  explicit FakeUpstream(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listen_fd_ >= 0);
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(listen_fd_, 64) == 0);
    socklen_t length = sizeof address;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }

  ~FakeUpstream() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    accept_thread_.join();
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    }
    for (std::thread& t : connection_threads_) t.join();
    ::close(listen_fd_);
  }

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  std::vector<ReceivedRequest> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  int connections() const { return connections_.load(); }

 private:
  void AcceptLoop() {
    while (!stopping_) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (stopping_) return;
        continue;
      }
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      const int number = connections_++;
      std::lock_guard<std::mutex> lock(mu_);
      open_fds_.insert(fd);
      connection_threads_.emplace_back([this, fd, number] { Serve(fd, number); });
    }
  }

  void Serve(int fd, int number) {
    UpstreamConnection connection(fd);
    std::string buffer;
    char chunk[16384];
    bool keep_alive = true;
    while (keep_alive) {
      std::size_t head_end;
      while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
        const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) goto done;
        buffer.append(chunk, static_cast<std::size_t>(n));
      }
      {
        ReceivedRequest request;
        request.connection = number;
        const std::string head = buffer.substr(0, head_end);
        buffer.erase(0, head_end + 4);
        std::size_t line_end = head.find("\r\n");
        const std::string line = head.substr(0, line_end);
        const std::size_t sp1 = line.find(' ');
        const std::size_t sp2 = line.rfind(' ');
        request.method = line.substr(0, sp1);
        request.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
        std::size_t at = line_end == std::string::npos ? head.size() : line_end + 2;
        while (at < head.size()) {
          std::size_t end = head.find("\r\n", at);
          if (end == std::string::npos) end = head.size();
          const std::string header = head.substr(at, end - at);
          const std::size_t colon = header.find(':');
          std::string value = header.substr(colon + 1);
          while (!value.empty() && value.front() == ' ') value.erase(0, 1);
          request.headers.emplace_back(header.substr(0, colon), value);
          at = end + 2;
        }
        std::size_t length = 0;
        if (const auto cl = request.Header("Content-Length")) length = std::stoul(*cl);
        while (buffer.size() < length) {
          const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
          if (n <= 0) goto done;
          buffer.append(chunk, static_cast<std::size_t>(n));
        }
        request.body = buffer.substr(0, length);
        buffer.erase(0, length);
        {
          std::lock_guard<std::mutex> lock(mu_);
          requests_.push_back(request);
        }
        keep_alive = handler_(connection, request);
      }
    }
  done:
    std::lock_guard<std::mutex> lock(mu_);
    open_fds_.erase(fd);
    ::close(fd);
  }

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::thread accept_thread_;
  mutable std::mutex mu_;
  std::vector<std::thread> connection_threads_;
  std::set<int> open_fds_;
  std::vector<ReceivedRequest> requests_;
};

// A response as a raw client read it.
struct RawResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;       // de-chunked
  bool complete = false;  // the body's end was seen (its length, or the last chunk)
  std::optional<std::string> Header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
      if (Lower(n) == Lower(name)) return v;
    }
    return std::nullopt;
  }
};

// Parses what a client received so far (nullopt until the head is complete).
inline std::optional<RawResponse> ParseResponse(std::string_view raw) {
  const std::size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return std::nullopt;
  RawResponse response;
  const std::string_view head = raw.substr(0, head_end);
  std::size_t line_end = head.find("\r\n");
  const std::string_view status_line = head.substr(0, line_end);
  std::from_chars(status_line.data() + 9, status_line.data() + 12, response.status);
  std::size_t at = line_end == std::string_view::npos ? head.size() : line_end + 2;
  while (at < head.size()) {
    std::size_t end = head.find("\r\n", at);
    if (end == std::string_view::npos) end = head.size();
    const std::string_view header = head.substr(at, end - at);
    const std::size_t colon = header.find(':');
    std::string_view value = header.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    response.headers.emplace_back(std::string(header.substr(0, colon)), std::string(value));
    at = end + 2;
  }
  std::string_view rest = raw.substr(head_end + 4);
  if (const auto te = response.Header("Transfer-Encoding"); te && Lower(*te) == "chunked") {
    while (true) {
      const std::size_t size_end = rest.find("\r\n");
      if (size_end == std::string_view::npos) break;
      std::size_t size = 0;
      std::from_chars(rest.data(), rest.data() + size_end, size, 16);
      if (rest.size() < size_end + 2 + size + 2) break;
      if (size == 0) {
        response.complete = true;
        break;
      }
      response.body.append(rest.substr(size_end + 2, size));
      rest.remove_prefix(size_end + 2 + size + 2);
    }
  } else if (const auto cl = response.Header("Content-Length")) {
    const std::size_t length = std::stoul(*cl);
    response.body = std::string(rest.substr(0, length));
    response.complete = rest.size() >= length;
  } else {
    response.body = std::string(rest);
  }
  return response;
}

// A blocking HTTP client over one TCP connection, reading whatever arrives.
class RawClient {
 public:
  explicit RawClient(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~RawClient() { Close(); }

  void Send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      REQUIRE(n > 0);
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  // Reads until `done(received())` holds, the connection ends or 10 s pass; returns `done`'s
  // last answer.
  bool ReadUntil(const std::function<bool(std::string_view)>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    char buffer[16384];
    while (!done(received_)) {
      if (eof_) return false;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) {
        eof_ = true;
        continue;
      }
      received_.append(buffer, static_cast<std::size_t>(n));
    }
    return true;
  }
  // Reads until the response is complete (or the connection ends); returns it as parsed.
  RawResponse ReadResponse() {
    ReadUntil([](std::string_view raw) {
      const auto parsed = ParseResponse(raw);
      return parsed && parsed->complete;
    });
    std::optional<RawResponse> parsed = ParseResponse(received_);
    REQUIRE(parsed.has_value());
    return *parsed;
  }
  // Reads until the server closes the connection; true when it did.
  bool ReadToEnd() {
    ReadUntil([this](std::string_view) { return eof_; });
    return eof_;
  }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  const std::string& received() const { return received_; }
  void Forget() { received_.clear(); }

 private:
  int fd_ = -1;
  std::string received_;
  bool eof_ = false;
};

// What the proxy recorded of one call, copied.
struct RecordedCall {
  std::string model, endpoint, status, user_id, team_id, trace_id;
  uint64_t input_tokens = 0, output_tokens = 0, cached_input_tokens = 0,
           cache_write_input_tokens = 0, reasoning_tokens = 0;
  bool usage_known = false;
  double latency_seconds = 0;
  std::optional<double> ttft_seconds;
  bool metered = false;
  std::string upstream, upstream_model;
  ProxyOutcome outcome = ProxyOutcome::kOk;
  bool client_retry = false;
  RateLimits rate_limits;
};

class RecordingProxyIngest final : public ProxyIngest {
 public:
  void RecordProxied(const LlmCall& c, bool metered, const UpstreamObservation& o) override {
    RecordedCall r;
    r.model = c.model;
    r.endpoint = c.endpoint;
    r.status = c.status;
    r.user_id = c.user_id;
    r.team_id = c.team_id;
    r.trace_id = c.trace_id;
    r.input_tokens = c.input_tokens;
    r.output_tokens = c.output_tokens;
    r.cached_input_tokens = c.cached_input_tokens;
    r.cache_write_input_tokens = c.cache_write_input_tokens;
    r.reasoning_tokens = c.reasoning_tokens;
    r.usage_known = c.usage_known;
    r.latency_seconds = c.latency_seconds;
    r.ttft_seconds = c.ttft_seconds;
    r.metered = metered;
    r.upstream = o.upstream;
    r.upstream_model = o.model;
    r.outcome = o.outcome;
    r.client_retry = o.client_retry;
    r.rate_limits = o.rate_limits;
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back(std::move(r));
    changed_.notify_all();
  }
  // Waits (up to 10 s) until `n` calls were recorded, and returns them.
  std::vector<RecordedCall> WaitFor(std::size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait_for(lock, 10s, [&] { return calls_.size() >= n; });
    return calls_;
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<RecordedCall> calls_;
};

class NoEvents final : public EventIngest {
 public:
  IngestResult Ingest(Transport, std::string_view, std::size_t) override { return {}; }
  IngestResult IngestLines(Transport, std::string_view, std::size_t) override { return {}; }
  void CountRejected(Transport, RejectReason, uint64_t, std::string_view) override {}
};
class NoMetrics final : public MetricsSource {
 public:
  std::string Render(ExpositionFormat) override { return ""; }
};
class NoReload final : public ReloadAction {
 public:
  ReloadStatus Reload() override { return {}; }
};

// The agent's HTTP server on 127.0.0.1:0 with a MeteringProxy for `config` behind it (or none).
class ProxyAgent {
 public:
  explicit ProxyAgent(std::optional<config::ProxyConfig> config,
                      std::optional<config::WebConfig> web_config = std::nullopt,
                      std::size_t max_label_bytes = 128) {
    if (config) {
      std::vector<std::string> names;
      for (const config::Upstream& u : config->upstreams) names.push_back(u.name);
      proxy_metrics = std::make_unique<telemetry::ProxyMetrics>(agent_metrics, names);
      transport::proxy::MeteringProxyOptions options;
      options.max_label_bytes = max_label_bytes;
      proxy = std::make_unique<transport::proxy::MeteringProxy>(std::move(*config), ingest,
                                                                *proxy_metrics, options);
    }
    transport::HttpServerOptions options;
    options.listen_address = "127.0.0.1:0";
    options.threads = 16;
    options.request_timeout_ms = 5000;
    options.web_config = std::move(web_config);
    server = std::make_unique<transport::HttpServer>(options, events, metrics, reload,
                                                     agent_metrics, nullptr, proxy.get());
    server->Start();
  }
  ~ProxyAgent() {
    if (proxy) proxy->Shutdown();
    // civetweb's listening thread polls with a 2 s timeout and mg_stop() waits for it to see
    // the stop flag: connections to the port while it stops end that wait at once.
    std::atomic<bool> stopped{false};
    std::thread poke([&] {
      while (!stopped.load()) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(static_cast<uint16_t>(server->port()));
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
        ::close(fd);
        std::this_thread::sleep_for(20ms);
      }
    });
    server->Stop();
    stopped = true;
    poke.join();
  }
  int port() const { return server->port(); }
  // The agent's own metrics, as /metrics shows them.
  std::string SelfMetrics() const {
    std::string text;
    agent_metrics.AppendText(&text);
    return text;
  }

  NoEvents events;
  NoMetrics metrics;
  NoReload reload;
  telemetry::AgentMetrics agent_metrics;
  RecordingProxyIngest ingest;
  std::unique_ptr<telemetry::ProxyMetrics> proxy_metrics;
  std::unique_ptr<transport::proxy::MeteringProxy> proxy;
  std::unique_ptr<transport::HttpServer> server;
};

inline config::Upstream UpstreamFor(std::string name, std::string url,
                                    config::UpstreamKind kind = config::UpstreamKind::kOpenAi) {
  config::Upstream u;
  u.name = std::move(name);
  u.url = std::move(url);
  u.kind = kind;
  return u;
}

// A request with a Content-Length body.
inline std::string Request(std::string_view method, std::string_view target,
                           std::string_view body,
                           const std::vector<std::string>& headers = {}) {
  std::string r = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: agent\r\n";
  for (const std::string& h : headers) r += h + "\r\n";
  if (!body.empty() || method == "POST") r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  r += "\r\n";
  r += body;
  return r;
}

// Waits for a one-shot signal between threads, up to 10 s.
class Latch {
 public:
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  bool Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, 10s, [&] { return released_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
};

}  // namespace llm_exporter::testing
