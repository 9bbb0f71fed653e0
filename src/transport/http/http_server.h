// The HTTP face of the agent (civetweb): POST /v1/events, POST /v1/traces (OTLP/HTTP),
// GET /metrics, POST /-/reload, GET /-/ready and /-/healthy, a landing page at /, and the metering
// proxy under /proxy/; over TLS and behind basic auth when the web config (--web.config.file) asks
// for them.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/web_config.h"
#include "llm_exporter/event_ingest.h"
#include "llm_exporter/metrics_source.h"
#include "llm_exporter/proxy_service.h"
#include "llm_exporter/span_ingest.h"
#include "llm_exporter/reload.h"
#include "telemetry/agent_metrics.h"
#include "transport/common/basic_auth.h"
#include "transport/http/body_deadline.h"
#include "transport/http/buffer_pool.h"

struct mg_context;
struct mg_connection;

namespace llm_exporter::transport {

inline constexpr std::size_t kDefaultThreads = 1536;

struct HttpServerOptions {
  std::string listen_address = "127.0.0.1:9778";  // host:port; port 0 picks a free port
  std::string telemetry_path = "/metrics";
  std::size_t max_request_bytes = 16u << 20;
  // Worker threads, which is also the most connections served at once: civetweb gives each
  // connection a thread for its whole life, so a stalled client holds one until its deadline.
  std::size_t threads = kDefaultThreads;
  // A request's headers (and TLS handshake) must arrive in this, and then its body in as much again.
  int request_timeout_ms = 10000;
  int keep_alive_timeout_ms = 5000;  // idle time allowed between keep-alive requests
  std::optional<config::WebConfig> web_config;  // TLS and basic auth; nullopt: plain HTTP, no auth
};

// Start() and Stop() from one thread; handlers run on civetweb's worker threads and use only
// thread-safe collaborators. The server knows them by their interfaces: events go to an
// EventIngest, /metrics comes from a MetricsSource, /-/reload runs a ReloadAction, /proxy/... goes
// to a ProxyService.
class HttpServer {
 public:
  // `spans` serves POST /v1/traces (OTLP/HTTP) when given; `proxy` serves /proxy/... when given
  // (without it those answer 404, saying how to turn the proxy on).
  HttpServer(HttpServerOptions options, EventIngest& events, MetricsSource& metrics,
             ReloadAction& reload, telemetry::AgentMetrics& agent_metrics,
             SpanIngest* spans = nullptr, ProxyService* proxy = nullptr);
  ~HttpServer();

  // Binds and starts serving; throws std::runtime_error with civetweb's (or OpenSSL's) reason.
  void Start();
  // Stops accepting, lets requests in flight finish, then returns.
  void Stop();
  // The bound address, with the port the OS chose when 0 was asked for.
  const std::string& bound_address() const { return bound_address_; }
  int port() const { return port_; }
  // "https" when the web config sets up TLS, else "http".
  const char* scheme() const;

 private:
  // civetweb's begin_request callback: every request comes here, so the routes exist before
  // the port accepts its first connection.
  static int Dispatch(mg_connection* conn);
  static int InitTls(void* ssl_ctx, void* self);
  // civetweb's callbacks for what happens outside handlers: the time each request's wait began
  // (InitConnection, EndRequest), errors civetweb answers itself (HttpError), its log lines
  // (Log). They find the server through the context's user data.
  static int InitConnection(const mg_connection* conn, void** conn_data);
  static void EndRequest(const mg_connection* conn, int status);
  static void ConnectionClosed(const mg_connection* conn);
  static int HttpError(mg_connection* conn, int status, const char* message);
  static int Log(const mg_connection* conn, const char* message);
  telemetry::Handler HandlerFor(std::string_view path) const;
  int Handle(mg_connection* conn);
  // 401 with a WWW-Authenticate challenge (407 with Proxy-Authenticate for the proxy), counted by
  // handler and reason.
  int Unauthorized(mg_connection* conn, telemetry::Handler handler, AuthResult result);
  // Reads the request body into *body under --web.max-request-bytes and the body deadline.
  // Returns 0 when it was read, else the status it answered with (408, 413, 400); `counted` ends
  // the 408 message ("no event of it was counted"), too_large(what) counts a 413.
  int ReadBodyOrRespond(mg_connection* conn, telemetry::Handler handler, std::string* body,
                        std::string_view counted,
                        const std::function<void(const std::string&)>& too_large);
  int HandleEvents(mg_connection* conn);
  int HandleTraces(mg_connection* conn);
  int HandleMetrics(mg_connection* conn, bool head_only);
  int HandleReload(mg_connection* conn);
  // `target`: the raw path after "/proxy/".
  int HandleProxy(mg_connection* conn, std::string_view target,
                  std::chrono::steady_clock::time_point received);

  HttpServerOptions options_;
  EventIngest& events_;
  SpanIngest* spans_;
  ProxyService* proxy_;
  MetricsSource& metrics_;
  ReloadAction& reload_;
  telemetry::AgentMetrics& agent_metrics_;
  std::unique_ptr<BasicAuth> auth_;  // null when the web config lists no users
  std::string tls_error_;            // set by InitTls when the TLS set-up fails
  std::mutex start_error_mu_;
  std::vector<std::string> start_log_;  // civetweb's log lines while Start() runs
  std::atomic<bool> starting_{false};
  BufferPool body_buffers_;
  BodyDeadline body_deadline_;
  mg_context* context_ = nullptr;
  std::string bound_address_;
  int port_ = 0;
};

// "host:port" (transport/common/listen_address.h) -> civetweb's listening_ports value; throws
// std::invalid_argument naming the flag and the problem.
std::string CivetwebListeningPort(const std::string& listen_address);

// The start-up warning for --web.listen-address when others can reach it (ExposureWarning in
// transport/common/listen_address.h, with what the web config sets up), or nullopt.
std::optional<std::string> HttpExposureWarning(const std::string& listen_address,
                                               const std::string& bound_address,
                                               const config::WebConfig* web_config);

}  // namespace llm_exporter::transport
