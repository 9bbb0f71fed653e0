#include "server/http_server.h"

#include <civetweb.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <charconv>
#include <stdexcept>

#include "server/http_request.h"

namespace llm_exporter::server {
namespace {

using telemetry::Handler;

constexpr std::string_view kTextPlain = "text/plain; charset=utf-8";
constexpr std::string_view kJson = "application/json";
constexpr std::string_view kExposition = "text/plain; version=0.0.4; charset=utf-8";

std::pair<std::string, std::string> SplitHostPort(const std::string& address) {
  const std::size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    throw std::invalid_argument("--web.listen-address \"" + address +
                                "\" must be host:port, e.g. 127.0.0.1:9778");
  }
  return {address.substr(0, colon), address.substr(colon + 1)};
}

int CivetwebLog(const mg_connection*, const char* message) {
  spdlog::warn("HTTP server: {}", message);
  return 1;
}

std::string EventsResponse(const decode::DecodeResult& result) {
  nlohmann::json errors = nlohmann::json::array();
  for (const decode::EventError& e : result.errors) {
    errors.push_back({{"index", e.index},
                      {"field", e.field},
                      {"reason", RejectReasonName(e.reason)},
                      {"message", e.message}});
  }
  nlohmann::json body = {{"accepted", result.accepted},
                         {"rejected", result.rejected},
                         {"errors", std::move(errors)}};
  if (result.errors.size() < result.rejected) {
    body["errors_truncated"] = true;  // every rejection is counted, the first ones listed
  }
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string ErrorJson(std::string_view message) {
  return nlohmann::json{{"error", message}}.dump(-1, ' ', false,
                                                 nlohmann::json::error_handler_t::replace) +
         "\n";
}

constexpr std::string_view kLandingPage = R"(<!DOCTYPE html>
<html><head><title>llm_exporter</title></head>
<body>
<h1>llm_exporter</h1>
<p>Receives LLM call events and serves them as Prometheus metrics.</p>
<ul>
<li><a href="%METRICS%">%METRICS%</a>: metrics for Prometheus</li>
<li>POST /v1/events: LLM call events and quality scores (JSON, JSON array or NDJSON)</li>
<li>POST /-/reload: reload the price table and budgets</li>
<li><a href="/-/ready">/-/ready</a>, <a href="/-/healthy">/-/healthy</a></li>
</ul>
</body></html>
)";

}  // namespace

std::string CivetwebListeningPort(const std::string& listen_address) {
  auto [host, port] = SplitHostPort(listen_address);
  int port_number = -1;
  const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), port_number);
  if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || port_number < 0 ||
      port_number > 65535) {
    throw std::invalid_argument("--web.listen-address \"" + listen_address +
                                "\": port must be a number from 0 to 65535");
  }
  if (host.starts_with('[')) {
    throw std::invalid_argument("--web.listen-address \"" + listen_address +
                                "\": IPv6 addresses are not supported by this build");
  }
  if (host == "localhost") host = "127.0.0.1";
  if (host.empty()) return port;  // all interfaces
  return host + ":" + port;
}

bool IsLoopbackHost(const std::string& listen_address) {
  const std::string host = SplitHostPort(listen_address).first;
  return host == "localhost" || host.starts_with("127.") || host == "[::1]";
}

HttpServer::HttpServer(HttpServerOptions options, ingest::EventPipeline& pipeline,
                       expose::MetricsRenderer& renderer, config::Reloader& reloader,
                       telemetry::AgentMetrics& agent_metrics)
    : options_(std::move(options)),
      pipeline_(pipeline),
      renderer_(renderer),
      reloader_(reloader),
      agent_metrics_(agent_metrics) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Start() {
  const std::string ports = CivetwebListeningPort(options_.listen_address);
  const std::string threads = std::to_string(options_.threads);
  const std::string request_timeout = std::to_string(options_.request_timeout_ms);
  const std::string keep_alive_timeout = std::to_string(options_.keep_alive_timeout_ms);
  const char* civet_options[] = {"listening_ports",       ports.c_str(),
                                 "num_threads",           threads.c_str(),
                                 "request_timeout_ms",    request_timeout.c_str(),
                                 "enable_keep_alive",     "yes",
                                 "keep_alive_timeout_ms", keep_alive_timeout.c_str(),
                                 nullptr};
  mg_callbacks callbacks{};
  callbacks.log_message = CivetwebLog;
  mg_init_library(0);
  std::array<char, 256> error_text{};
  unsigned error_code = 0;
  mg_error_data error{&error_code, error_text.data(), error_text.size()};
  mg_init_data init{&callbacks, this, civet_options};
  context_ = mg_start2(&init, &error);
  if (context_ == nullptr) {
    throw std::runtime_error("cannot listen on " + options_.listen_address + ": " +
                             (error_text[0] ? error_text.data() : "unknown civetweb error"));
  }
  mg_set_request_handler(context_, "/", &HttpServer::Dispatch, this);

  std::array<mg_server_port, 4> bound{};
  const int n = mg_get_server_ports(context_, static_cast<int>(bound.size()), bound.data());
  port_ = n > 0 ? bound[0].port : 0;
  const std::string host = SplitHostPort(options_.listen_address).first;
  bound_address_ = (host.empty() ? std::string("0.0.0.0") : host) + ":" + std::to_string(port_);
}

void HttpServer::Stop() {
  if (context_ != nullptr) {
    mg_stop(context_);
    context_ = nullptr;
  }
}

int HttpServer::Dispatch(mg_connection* conn, void* self) {
  auto* server = static_cast<HttpServer*>(self);
  try {
    return server->Handle(conn);
  } catch (const std::exception& e) {
    spdlog::error("Internal error while serving {}: {}", mg_get_request_info(conn)->local_uri,
                  e.what());
  } catch (...) {
    spdlog::error("Internal error while serving {}", mg_get_request_info(conn)->local_uri);
  }
  server->agent_metrics_.CountHttpRequest(Handler::kOther, 500);
  Respond(conn, 500, kJson, ErrorJson("internal error; see the agent's log"));
  return 500;
}

int HttpServer::Handle(mg_connection* conn) {
  const mg_request_info* info = mg_get_request_info(conn);
  const std::string_view method = info->request_method;
  const std::string_view path = info->local_uri ? info->local_uri : "";
  const bool get = method == "GET" || method == "HEAD";
  const auto not_allowed = [&](Handler handler, std::string_view allow) {
    agent_metrics_.CountHttpRequest(handler, 405);
    Respond(conn, 405, kTextPlain,
            "method " + std::string(method) + " is not allowed here; use " + std::string(allow) +
                "\n",
            {{"Allow", allow}});
    return 405;
  };

  if (path == "/v1/events") {
    if (method != "POST") return not_allowed(Handler::kEvents, "POST");
    return HandleEvents(conn);
  }
  if (path == options_.telemetry_path) {
    if (!get) return not_allowed(Handler::kMetrics, "GET, HEAD");
    return HandleMetrics(conn, method == "HEAD");
  }
  if (path == "/-/reload") {
    if (method != "POST" && method != "PUT") return not_allowed(Handler::kReload, "POST, PUT");
    return HandleReload(conn);
  }
  if (path == "/-/ready" || path == "/-/healthy") {
    const Handler handler = path == "/-/ready" ? Handler::kReady : Handler::kHealthy;
    if (!get) return not_allowed(handler, "GET, HEAD");
    agent_metrics_.CountHttpRequest(handler, 200);
    Respond(conn, 200, kTextPlain,
            path == "/-/ready" ? "llm_exporter is Ready.\n" : "llm_exporter is Healthy.\n", {},
            method == "HEAD");
    return 200;
  }
  if (path == "/") {
    if (!get) return not_allowed(Handler::kLanding, "GET, HEAD");
    std::string page(kLandingPage);
    for (std::size_t at; (at = page.find("%METRICS%")) != std::string::npos;) {
      page.replace(at, 9, options_.telemetry_path);
    }
    agent_metrics_.CountHttpRequest(Handler::kLanding, 200);
    Respond(conn, 200, "text/html; charset=utf-8", page, {}, method == "HEAD");
    return 200;
  }
  agent_metrics_.CountHttpRequest(Handler::kOther, 404);
  Respond(conn, 404, kTextPlain,
          "not found: " + std::string(path) + " (try " + options_.telemetry_path +
              " or POST /v1/events)\n");
  return 404;
}

int HttpServer::HandleEvents(mg_connection* conn) {
  thread_local std::string body;
  switch (ReadBody(conn, options_.max_request_bytes, decode::kPadding, &body)) {
    case BodyRead::kOk:
      break;
    case BodyRead::kTooLarge:
      agent_metrics_.CountHttpRequest(Handler::kEvents, 413);
      pipeline_.CountRejected(Transport::kHttp, RejectReason::kTooLarge);
      Respond(conn, 413, kJson,
              ErrorJson("request body is larger than --web.max-request-bytes (" +
                        std::to_string(options_.max_request_bytes) + " bytes); send smaller batches"),
              {{"Connection", "close"}});
      return 413;
    case BodyRead::kFailed:
      agent_metrics_.CountHttpRequest(Handler::kEvents, 400);
      Respond(conn, 400, kJson, ErrorJson("could not read the request body"));
      return 400;
  }
  const decode::DecodeResult result = pipeline_.Ingest(Transport::kHttp, body, body.capacity());
  if (body.capacity() > 2 * options_.max_request_bytes) body = std::string();  // do not hoard
  int status = 200;
  std::string response;
  if (!result.ok()) {
    status = 400;
    response = ErrorJson(result.body_error);
  } else {
    // 400 when every event was refused, so a client that checks the status code notices.
    if (result.accepted == 0 && result.rejected > 0) status = 400;
    response = EventsResponse(result);
  }
  agent_metrics_.CountHttpRequest(Handler::kEvents, status);
  Respond(conn, status, kJson, response);
  return status;
}

int HttpServer::HandleMetrics(mg_connection* conn, bool head_only) {
  const std::string text = renderer_.Render();
  agent_metrics_.CountHttpRequest(Handler::kMetrics, 200);
  Respond(conn, 200, kExposition, text, {}, head_only);
  return 200;
}

int HttpServer::HandleReload(mg_connection* conn) {
  const std::string error = reloader_.Reload();
  const int status = error.empty() ? 200 : 500;
  agent_metrics_.CountHttpRequest(Handler::kReload, status);
  Respond(conn, status, kTextPlain,
          error.empty() ? std::string("reloaded\n")
                        : "reload failed, keeping the previous configuration: " + error + "\n");
  return status;
}

}  // namespace llm_exporter::server
