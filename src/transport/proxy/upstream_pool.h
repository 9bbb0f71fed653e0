// Forwarding requests to one upstream with libcurl: a pool of sessions that keep their connections
// to the upstream open between requests, and one transfer at a time on each, run on the calling
// thread while it watches the client's socket for a hang-up.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "config/proxy_config.h"
#include "llm_exporter/proxy_service.h"

namespace llm_exporter::transport::proxy {

// Told of the answer as it arrives, on the thread running the transfer.
class AnswerSink {
 public:
  virtual ~AnswerSink() = default;
  // The final answer's status and headers as received (informational 1xx answers are passed
  // over). False stops the transfer (the client is gone).
  virtual bool OnHead(int status, std::span<const HeaderField> headers) = 0;
  // Body bytes as they arrive: de-chunked, still in the answer's content coding. False stops the
  // transfer.
  virtual bool OnBody(std::string_view bytes) = 0;
};

struct UpstreamRequest {
  std::string url;  // the upstream's url with the client's path and query
  std::string_view method;
  std::span<const std::string> headers;  // header_rules.h's UpstreamRequestHeaders
  std::string_view body;
  bool send_body = false;  // send `body` (also when empty: "Content-Length: 0")
};

// How a transfer ended.
enum class TransferEnd : uint8_t {
  kComplete,
  kStopped,         // the sink stopped it: a write to the client failed
  kClientGone,      // the client hung up while the upstream was waited on
  kShutdown,        // the agent is stopping
  kConnectFailed,   // DNS or TCP connect
  kTlsFailed,       // the TLS handshake or the certificate check
  kConnectTimeout,  // connect_timeout passed
  kIdleTimeout,     // idle_timeout passed with no byte either way
  kBroken,          // the connection broke or the answer was malformed
};

struct TransferResult {
  TransferEnd end = TransferEnd::kComplete;
  std::string error;  // libcurl's words when it failed; names no header value or body
};

// Thread-safe: any number of threads run transfers at once, each on a session of its own. A
// session (a curl multi handle with one easy handle) returns to the pool after a complete
// transfer, with its connection open for the next; after any other end it is closed, so that the
// upstream sees an abandoned request's connection go at once.
class UpstreamPool {
 public:
  // `max_idle`: sessions kept open between requests; more are closed as they finish.
  explicit UpstreamPool(const config::Upstream& upstream, std::size_t max_idle = 64);
  ~UpstreamPool();
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  // Runs one request to its end. `client_fd` (when >= 0) is watched for a hang-up while the
  // upstream is waited on.
  TransferResult Transfer(const UpstreamRequest& request, AnswerSink& sink, int client_fd);

  // Ends every transfer in flight at once (kShutdown), and every later one before it starts.
  void Shutdown();

  std::size_t idle_sessions() const;

 private:
  struct Session;
  std::unique_ptr<Session> Acquire();
  void Release(std::unique_ptr<Session> session, bool reusable);

  const config::Upstream upstream_;
  const std::size_t max_idle_;
  std::atomic<bool> shutdown_{false};
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Session>> idle_;
  std::unordered_set<Session*> active_;
};

// Sets libcurl up once per process (curl_global_init); the pools call it themselves.
void InitCurl();

}  // namespace llm_exporter::transport::proxy
