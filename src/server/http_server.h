// The HTTP face of the agent (civetweb): POST /v1/events, GET /metrics, POST /-/reload,
// GET /-/ready and /-/healthy, and a landing page at /.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "config/reloader.h"
#include "expose/metrics_renderer.h"
#include "ingest/event_pipeline.h"
#include "telemetry/agent_metrics.h"

struct mg_context;
struct mg_connection;

namespace llm_exporter::server {

struct HttpServerOptions {
  std::string listen_address = "127.0.0.1:9778";  // host:port; port 0 picks a free port
  std::string telemetry_path = "/metrics";
  std::size_t max_request_bytes = 16u << 20;
  std::size_t threads = 16;
  int request_timeout_ms = 10000;
  int keep_alive_timeout_ms = 5000;
};

// Start() and Stop() from one thread; handlers run on civetweb's worker threads and use only
// thread-safe collaborators.
class HttpServer {
 public:
  HttpServer(HttpServerOptions options, ingest::EventPipeline& pipeline,
             expose::MetricsRenderer& renderer, config::Reloader& reloader,
             telemetry::AgentMetrics& agent_metrics);
  ~HttpServer();

  // Binds and starts serving; throws std::runtime_error with civetweb's reason.
  void Start();
  // Stops accepting, lets requests in flight finish, then returns.
  void Stop();
  // The bound address, with the port the OS chose when 0 was asked for.
  const std::string& bound_address() const { return bound_address_; }
  int port() const { return port_; }

 private:
  static int Dispatch(mg_connection* conn, void* self);
  int Handle(mg_connection* conn);
  int HandleEvents(mg_connection* conn);
  int HandleMetrics(mg_connection* conn, bool head_only);
  int HandleReload(mg_connection* conn);

  HttpServerOptions options_;
  ingest::EventPipeline& pipeline_;
  expose::MetricsRenderer& renderer_;
  config::Reloader& reloader_;
  telemetry::AgentMetrics& agent_metrics_;
  mg_context* context_ = nullptr;
  std::string bound_address_;
  int port_ = 0;
};

// "host:port" -> civetweb's listening_ports value; throws std::invalid_argument naming the problem.
std::string CivetwebListeningPort(const std::string& listen_address);

// True for 127.0.0.0/8, "localhost" and ::1.
bool IsLoopbackHost(const std::string& listen_address);

}  // namespace llm_exporter::server
