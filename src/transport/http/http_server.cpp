#include "transport/http/http_server.h"

#include <civetweb.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "otlp/export_response.h"
#include "transport/common/listen_address.h"
#include "transport/http/events_response.h"
#include "transport/http/exposition_negotiation.h"
#include "transport/http/gzip_body.h"
#include "transport/http/civetweb_openssl3.h"
#include "transport/http/http_request.h"
#include "transport/http/proxy_exchange.h"
#include "transport/http/thread_stack.h"
#include "transport/http/tls_context.h"

namespace llm_exporter::transport {
namespace {

using telemetry::Handler;

constexpr std::string_view kTextPlain = "text/plain; charset=utf-8";
constexpr std::string_view kJson = "application/json";
// The zlib level of a gzip-compressed scrape: bench/README.md ("gzip") has the measurements
// behind it.
constexpr int kScrapeGzipLevel = 1;
constexpr std::string_view kProtobufMedia = "application/x-protobuf";
// google.rpc.Code values that OTLP/HTTP error bodies carry.
constexpr int kGrpcInvalidArgument = 3;
constexpr int kGrpcResourceExhausted = 8;
// Requests whose path begins so go to the metering proxy.
constexpr std::string_view kProxyPrefix = "/proxy/";
// The code counted for a proxied request whose client went away before it was answered
// (nginx's "client closed request").
constexpr int kClientClosedRequest = 499;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// "application/json; charset=utf-8" -> "application/json" (compared ignoring case, as media
// types are).
std::string_view MediaType(std::string_view content_type) {
  return Trim(content_type.substr(0, content_type.find(';')));
}

// --web.listen-address parsed; throws std::invalid_argument naming the flag and the problem.
HostPort ParseListenAddress(const std::string& address) {
  AddressError error = AddressError::kNone;
  std::optional<HostPort> parsed = ParseHostPort(address, &error);
  if (error == AddressError::kBadPort) {
    throw std::invalid_argument("--web.listen-address \"" + address +
                                "\": port must be a number from 0 to 65535");
  }
  if (!parsed) {
    throw std::invalid_argument("--web.listen-address \"" + address +
                                "\" must be host:port, e.g. 127.0.0.1:9778");
  }
  return std::move(*parsed);
}

HttpServer* ServerOf(const mg_connection* conn) {
  return static_cast<HttpServer*>(mg_get_user_data(mg_get_context(conn)));
}

// The steady time a connection began waiting for its current request, kept in civetweb's
// per-connection user data pointer (64 bits hold the nanoseconds), so nothing is allocated.
void* EncodeTime(std::chrono::steady_clock::time_point t) {
  return reinterpret_cast<void*>(static_cast<std::uintptr_t>(t.time_since_epoch().count()));
}
std::chrono::steady_clock::time_point DecodeTime(const void* data) {
  return std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(
      static_cast<std::chrono::steady_clock::rep>(reinterpret_cast<std::uintptr_t>(data))));
}
static_assert(sizeof(void*) >= sizeof(std::chrono::steady_clock::rep));

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
<li>POST /v1/traces: OpenTelemetry spans (OTLP/HTTP, protobuf or JSON)</li>
<li>/proxy/&lt;upstream&gt;/...: the metering proxy, when --proxy.config.file names upstreams</li>
<li>POST /-/reload: reload the price table and budgets</li>
<li><a href="/-/ready">/-/ready</a>, <a href="/-/healthy">/-/healthy</a></li>
</ul>
</body></html>
)";

}  // namespace

std::string CivetwebListeningPort(const std::string& listen_address) {
  HostPort parsed = ParseListenAddress(listen_address);
  if (parsed.bracketed) {
    throw std::invalid_argument("--web.listen-address \"" + listen_address +
                                "\": IPv6 addresses are not supported by this build");
  }
  if (parsed.host == "localhost") parsed.host = "127.0.0.1";
  const std::string port = std::to_string(parsed.port);
  if (parsed.host.empty()) return port;  // all interfaces
  return parsed.host + ":" + port;
}

std::optional<std::string> HttpExposureWarning(const std::string& listen_address,
                                               const std::string& bound_address,
                                               const config::WebConfig* web_config) {
  Safeguards safeguards;
  if (web_config != nullptr) {
    safeguards.tls = web_config->tls_enabled();
    safeguards.authenticates_clients = web_config->authenticates_clients();
  }
  return ExposureWarning(Transport::kHttp, ParseListenAddress(listen_address).host,
                         bound_address, safeguards);
}

HttpServer::HttpServer(HttpServerOptions options, EventIngest& events, MetricsSource& metrics,
                       ReloadAction& reload, telemetry::AgentMetrics& agent_metrics,
                       SpanIngest* spans, ProxyService* proxy)
    : options_(std::move(options)),
      events_(events),
      spans_(spans),
      proxy_(proxy),
      metrics_(metrics),
      reload_(reload),
      agent_metrics_(agent_metrics),
      // A few idle bodies of up to 4 MiB: enough for the requests in flight on a busy agent; a
      // bigger body is allocated for its request and freed after. An OTLP export of 512 spans
      // (about 1.1 MB) grows its buffer by doubling to just over 2 MiB: with a 2 MiB limit each
      // was freed and faulted in anew, a fifth of the agent's CPU for OTLP/HTTP (bench/README.md).
      body_buffers_(4, (std::size_t{4} << 20) + (std::size_t{64} << 10)) {
  if (options_.web_config && options_.web_config->auth_enabled()) {
    auth_ = std::make_unique<BasicAuth>(options_.web_config->basic_auth_users);
  }
}

const char* HttpServer::scheme() const {
  return options_.web_config && options_.web_config->tls_enabled() ? "https" : "http";
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Start() {
  const bool tls = options_.web_config && options_.web_config->tls_enabled();
  // civetweb serves TLS on a port whose number ends in "s".
  const std::string ports = CivetwebListeningPort(options_.listen_address) + (tls ? "s" : "");
  const std::string threads = std::to_string(options_.threads);
  // Connections are accepted into a queue for the workers; a deep enough backlog and queue let a
  // burst of connects in without the kernel dropping SYNs (a dropped SYN costs the client 1 s).
  const std::string backlog = std::to_string(std::clamp<std::size_t>(options_.threads, 128, 4096));
  const std::string queue = std::to_string(std::clamp<std::size_t>(options_.threads / 4, 20, 1024));
  const std::string request_timeout = std::to_string(options_.request_timeout_ms);
  const std::string keep_alive_timeout = std::to_string(options_.keep_alive_timeout_ms);
  const char* civet_options[] = {"listening_ports",       ports.c_str(),
                                 "num_threads",           threads.c_str(),
                                 "listen_backlog",        backlog.c_str(),
                                 "connection_queue",      queue.c_str(),
                                 "request_timeout_ms",    request_timeout.c_str(),
                                 "enable_keep_alive",     "yes",
                                 "keep_alive_timeout_ms", keep_alive_timeout.c_str(),
                                 // Respond() writes each response in one or two calls; no
                                 // reason to let Nagle's algorithm hold the last packet back.
                                 "tcp_nodelay",           "1",
                                 // Paths reach the handlers as sent: the proxy forwards them
                                 // still percent-encoded; Handle() decodes the others itself.
                                 "decode_url",            "no",
                                 nullptr};
  mg_callbacks callbacks{};
  callbacks.begin_request = &HttpServer::Dispatch;
  callbacks.log_message = &HttpServer::Log;
  callbacks.init_connection = &HttpServer::InitConnection;
  callbacks.end_request = &HttpServer::EndRequest;
  callbacks.connection_closed = &HttpServer::ConnectionClosed;
  callbacks.http_error = &HttpServer::HttpError;
  // civetweb creates the SSL_CTX and hands it to InitTls, which sets it up entirely and
  // returns 1, so civetweb loads no certificate of its own (it needs no ssl_certificate option).
  if (tls) {
    callbacks.init_ssl = &HttpServer::InitTls;
    if (!CivetwebOpenSsl3Linked()) throw std::logic_error("OpenSSL 3 names not linked");
    if (options_.web_config->tls->min_version < config::TlsVersion::kTls12) {
      spdlog::warn("Web config: min_version {} allows TLS below 1.2, but OpenSSL 3 at its default "
                   "security level refuses TLS 1.0 and 1.1 handshakes; clients need TLS 1.2 or "
                   "later",
                   config::TlsVersionName(options_.web_config->tls->min_version));
    }
  }
  tls_error_.clear();
  {
    std::lock_guard<std::mutex> lock(start_error_mu_);
    start_log_.clear();
  }
  starting_ = true;
  mg_init_library(0);
  std::array<char, 256> error_text{};
  unsigned error_code = 0;
  mg_error_data error{&error_code, error_text.data(), error_text.size()};
  mg_init_data init{&callbacks, this, civet_options};
  context_ = mg_start2(&init, &error);
  starting_ = false;
  if (context_ == nullptr) {
    if (!tls_error_.empty()) {
      throw std::runtime_error("cannot serve TLS on " + options_.listen_address + ": web config " +
                               tls_error_);
    }
    // civetweb's error text is generic ("Failed to setup server ports"); the cause is in a
    // line it logged before: "cannot bind to 127.0.0.1:9778: 98 (Address already in use)".
    std::string cause = error_text[0] ? error_text.data() : "unknown civetweb error";
    std::lock_guard<std::mutex> lock(start_error_mu_);
    for (const std::string& line : start_log_) {
      const std::size_t open = line.rfind(" (");
      if (line.starts_with("cannot bind to") && open != std::string::npos && line.ends_with(")")) {
        cause = line.substr(open + 2, line.size() - open - 3);
        if (line.find(": 98 (") != std::string::npos) {
          cause += " (another program, or another llm_exporter, listens there; choose another "
                   "port with --web.listen-address)";
        }
        break;
      }
      if (line != cause) cause = line + " (" + cause + ")";
    }
    throw std::runtime_error("cannot listen on " + options_.listen_address + ": " + cause);
  }
  {
    std::lock_guard<std::mutex> lock(start_error_mu_);
    for (const std::string& line : start_log_) spdlog::warn("HTTP server: {}", line);
  }

  std::array<mg_server_port, 4> bound{};
  const int n = mg_get_server_ports(context_, static_cast<int>(bound.size()), bound.data());
  port_ = n > 0 ? bound[0].port : 0;
  bound_address_ = JoinHostPort(ParseListenAddress(options_.listen_address).host,
                                static_cast<uint16_t>(port_));
}

void HttpServer::Stop() {
  if (context_ != nullptr) {
    mg_stop(context_);
    context_ = nullptr;
  }
}

int HttpServer::Dispatch(mg_connection* conn) {
  HttpServer* server = ServerOf(conn);
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

int HttpServer::InitTls(void* ssl_ctx, void* self) {
  auto* server = static_cast<HttpServer*>(self);
  server->tls_error_ = ConfigureServerTls(ssl_ctx, *server->options_.web_config->tls);
  return server->tls_error_.empty() ? 1 : -1;  // 1: "the callback set up the certificate"
}

int HttpServer::InitConnection(const mg_connection*, void** conn_data) {
  *conn_data = EncodeTime(std::chrono::steady_clock::now());
  return 0;
}

void HttpServer::EndRequest(const mg_connection* conn, int) {
  // A keep-alive connection starts waiting for its next request now.
  mg_set_user_connection_data(conn, EncodeTime(std::chrono::steady_clock::now()));
}

void HttpServer::ConnectionClosed(const mg_connection*) {
  // The worker goes idle now, perhaps for a long time: its stack need not keep the pages that
  // this connection's deepest request touched.
  ReleaseUnusedStack();
}

int HttpServer::HttpError(mg_connection* conn, int status, const char* message) {
  HttpServer* server = ServerOf(conn);
  const std::string_view text = message != nullptr ? message : "";
  if (status != 400) {
    server->agent_metrics_.CountHttpRequest(Handler::kOther, status);
    return 1;
  }
  // civetweb says "Malformed message" for garbage, for headers above its 16 KiB buffer and for a
  // request cut off by request_timeout_ms; the time since the connection began waiting for the
  // request (set when a worker takes it up, and after each request) tells a timeout apart.
  const auto waited = std::chrono::steady_clock::now() -
                      DecodeTime(mg_get_user_connection_data(conn));
  const auto timeout = std::chrono::milliseconds(server->options_.request_timeout_ms);
  if (text != "Malformed message" || waited < timeout * 9 / 10) {
    server->agent_metrics_.CountHttpRequest(Handler::kOther, 400);
    server->agent_metrics_.CountHttpDrop(telemetry::HttpDrop::kMalformedRequest);
    return 1;
  }
  server->agent_metrics_.CountHttpRequest(Handler::kOther, 408);
  server->agent_metrics_.CountHttpDrop(telemetry::HttpDrop::kRequestTimeout);
  // Raw bytes: the connection has no parsed request to build a response on, and closes next.
  const std::string body = "408 request timeout: the request's headers did not arrive within " +
                           std::to_string(server->options_.request_timeout_ms) +
                           " ms (--web.request-timeout)\n";
  const std::string response = "HTTP/1.1 408 Request Timeout\r\nContent-Type: " +
                               std::string(kTextPlain) + "\r\nContent-Length: " +
                               std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
                               body;
  mg_write(conn, response.data(), response.size());
  return 0;
}

int HttpServer::Log(const mg_connection* conn, const char* message) {
  const std::string_view text = message;
  // While Start() runs, civetweb's lines explain why it could not start (the port in use, a
  // bad address): keep them for the error Start() throws, which main() prints as the final
  // line, rather than as warnings above it. Start() logs them itself if it succeeds.
  if (conn != nullptr) {
    HttpServer* server = ServerOf(conn);
    if (server != nullptr && server->starting_.load()) {
      std::lock_guard<std::mutex> lock(server->start_error_mu_);
      server->start_log_.emplace_back(text);
      spdlog::debug("HTTP server: {}", text);
      return 1;
    }
  }
  // A failed TLS handshake is the client's doing (plain HTTP on the HTTPS port, a missing or
  // untrusted client certificate, a scanner): counted, and logged at debug so that no client
  // can fill the log.
  if (conn != nullptr && (text.starts_with("sslize error") || text.starts_with("SSL "))) {
    if (text.starts_with("sslize error")) {
      ServerOf(conn)->agent_metrics_.CountHttpDrop(telemetry::HttpDrop::kTlsHandshake);
    }
    spdlog::debug("HTTP server: {}", text);
    return 1;
  }
  spdlog::warn("HTTP server: {}", text);
  return 1;
}

Handler HttpServer::HandlerFor(std::string_view path) const {
  if (path.starts_with(kProxyPrefix)) return Handler::kProxy;
  if (path == "/v1/events") return Handler::kEvents;
  if (path == "/v1/traces" && spans_ != nullptr) return Handler::kTraces;
  if (path == options_.telemetry_path) return Handler::kMetrics;
  if (path == "/-/reload") return Handler::kReload;
  if (path == "/-/ready") return Handler::kReady;
  if (path == "/-/healthy") return Handler::kHealthy;
  if (path == "/") return Handler::kLanding;
  return Handler::kOther;
}

int HttpServer::Unauthorized(mg_connection* conn, Handler handler, AuthResult result) {
  const mg_request_info* info = mg_get_request_info(conn);
  // The proxy's clients send their Authorization header to the upstream; they authenticate to
  // the agent as to any HTTP proxy, with Proxy-Authorization, and are challenged with 407.
  const bool proxy = handler == Handler::kProxy;
  const int status = proxy ? 407 : 401;
  telemetry::AuthFailure reason = telemetry::AuthFailure::kBadCredentials;
  std::string message = "wrong user name or password";
  if (result == AuthResult::kMissing) {
    reason = telemetry::AuthFailure::kMissing;
    message = proxy ? "this agent's proxy needs HTTP basic auth in a Proxy-Authorization header "
                      "(see its web config)"
                    : "this agent needs HTTP basic auth (see its web config)";
  } else if (result == AuthResult::kMalformed) {
    reason = telemetry::AuthFailure::kMalformed;
    message = proxy ? "the Proxy-Authorization header is not Basic base64(user:password)"
                    : "the Authorization header is not Basic base64(user:password)";
  }
  agent_metrics_.CountAuthFailure(reason);
  agent_metrics_.CountHttpRequest(handler, status);
  spdlog::debug("{} for {} {} from {}: {}", status, info->request_method,
                info->local_uri ? info->local_uri : "", info->remote_addr, message);
  Headers headers = {{proxy ? "Proxy-Authenticate" : "WWW-Authenticate",
                      R"(Basic realm="llm_exporter", charset="UTF-8")"}};
  // A body was not read: close the connection rather than parse the body as the next request.
  const std::string_view method = info->request_method;
  if (method != "GET" && method != "HEAD") headers.emplace_back("Connection", "close");
  if (proxy) {
    // JSON, as the SDKs behind the proxy expect of an error answer.
    Respond(conn, status, kJson, ErrorJson("407 proxy authentication required: " + message),
            headers, method == "HEAD");
  } else {
    Respond(conn, status, kTextPlain, "401 unauthorized: " + message + "\n", headers,
            method == "HEAD");
  }
  return status;
}

int HttpServer::Handle(mg_connection* conn) {
  const auto received = std::chrono::steady_clock::now();
  const mg_request_info* info = mg_get_request_info(conn);
  const std::string_view method = info->request_method;
  // civetweb leaves paths encoded (decode_url=no): the proxy's as they came (local_uri_raw; the
  // query is cut off it already), the others with "." and ".." segments resolved (local_uri),
  // decoded here as civetweb would have.
  const std::string_view raw_path = info->local_uri_raw ? info->local_uri_raw : "";
  const bool proxied = raw_path.starts_with(kProxyPrefix);
  thread_local std::string decoded;
  const char* local_uri = info->local_uri ? info->local_uri : "";
  decoded.resize(std::strlen(local_uri) + 1);
  const int decoded_size = mg_url_decode(local_uri, static_cast<int>(decoded.size() - 1),
                                         decoded.data(), static_cast<int>(decoded.size()), 0);
  decoded.resize(decoded_size > 0 ? static_cast<std::size_t>(decoded_size) : 0);
  const std::string_view path = proxied ? raw_path : std::string_view(decoded);
  const bool get = method == "GET" || method == "HEAD";
  // Every endpoint, health checks included, is behind basic auth when it is on, as with
  // exporter-toolkit.
  if (auth_ != nullptr) {
    const char* header = mg_get_header(conn, proxied ? "Proxy-Authorization" : "Authorization");
    const AuthResult result = auth_->Check(
        header != nullptr ? std::optional<std::string_view>(header) : std::nullopt);
    if (result != AuthResult::kOk) return Unauthorized(conn, HandlerFor(path), result);
  }
  if (proxied) return HandleProxy(conn, raw_path.substr(kProxyPrefix.size()), received);
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
  if (path == "/v1/traces" && spans_ != nullptr) {
    if (method != "POST") return not_allowed(Handler::kTraces, "POST");
    return HandleTraces(conn);
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

int HttpServer::HandleProxy(mg_connection* conn, std::string_view target,
                            std::chrono::steady_clock::time_point received) {
  if (proxy_ == nullptr) {
    agent_metrics_.CountHttpRequest(Handler::kProxy, 404);
    Respond(conn, 404, kJson,
            ErrorJson("the metering proxy is off: start the agent with --proxy.config.file "
                      "naming the upstreams to proxy (docs/proxy.md)"));
    return 404;
  }
  CivetwebProxyExchange exchange(conn, target, received, body_deadline_,
                                 std::chrono::milliseconds(options_.request_timeout_ms),
                                 agent_metrics_);
  const int status = proxy_->Serve(exchange);
  const int counted = status != 0 ? status : kClientClosedRequest;
  agent_metrics_.CountHttpRequest(Handler::kProxy, counted);
  return counted;
}

int HttpServer::ReadBodyOrRespond(mg_connection* conn, Handler handler, std::string* body,
                                  std::string_view counted,
                                  const std::function<void(const std::string&)>& too_large) {
  BodyRead read;
  bool cut_off = false;
  {
    // The body must follow its headers within the request timeout; a client trickling it in
    // is cut off then (BodyDeadline), as one that sends nothing is by civetweb's own timeout.
    const mg_request_info* info = mg_get_request_info(conn);
    BodyDeadline::Watch watch(body_deadline_,
                              ConnectionEnds{info->server_port, info->remote_addr,
                                             info->remote_port},
                              BodyDeadline::Clock::now() +
                                  std::chrono::milliseconds(options_.request_timeout_ms));
    read = ReadBody(conn, options_.max_request_bytes, kIngestPadding, body);
    cut_off = watch.expired();
  }
  if (cut_off || read == BodyRead::kIncomplete) {
    agent_metrics_.CountHttpRequest(handler, 408);
    agent_metrics_.CountHttpDrop(telemetry::HttpDrop::kBodyTimeout);
    Respond(conn, 408, kJson,
            ErrorJson("the request body did not all arrive within " +
                      std::to_string(options_.request_timeout_ms) +
                      " ms of its headers (--web.request-timeout); " + std::string(counted)),
            {{"Connection", "close"}});
    return 408;
  }
  switch (read) {
    case BodyRead::kOk:
    case BodyRead::kIncomplete:
      return 0;
    case BodyRead::kTooLarge: {
      agent_metrics_.CountHttpRequest(handler, 413);
      const std::string limit = "--web.max-request-bytes (" +
                                std::to_string(options_.max_request_bytes) + " bytes)";
      too_large("a request body larger than " + limit);
      Respond(conn, 413, kJson,
              ErrorJson("request body is larger than " + limit + "; send smaller batches"),
              {{"Connection", "close"}});
      return 413;
    }
    case BodyRead::kFailed:
      break;
  }
  agent_metrics_.CountHttpRequest(handler, 400);
  Respond(conn, 400, kJson, ErrorJson("could not read the request body"),
          {{"Connection", "close"}});
  return 400;
}

int HttpServer::HandleEvents(mg_connection* conn) {
  PooledBuffer body(body_buffers_);
  if (const int status = ReadBodyOrRespond(
          conn, Handler::kEvents, &*body, "no event of it was counted",
          [&](const std::string& what) {
            events_.CountRejected(Transport::kHttp, RejectReason::kTooLarge, 1, what);
          })) {
    return status;
  }
  const IngestResult result = events_.Ingest(Transport::kHttp, *body, body->capacity());
  if (!result.ok()) {
    agent_metrics_.CountHttpRequest(Handler::kEvents, 400);
    Respond(conn, 400, kJson, ErrorJson(result.body_error));
    return 400;
  }
  // 400 when every event was refused, so a client that checks the status code notices.
  const int status = result.accepted == 0 && result.rejected > 0 ? 400 : 200;
  const EventsResponse response(result);
  agent_metrics_.CountHttpRequest(Handler::kEvents, status);
  Respond(conn, status, kJson, response.body());
  return status;
}

int HttpServer::HandleTraces(mg_connection* conn) {
  // OTLP/HTTP: the encoding is the Content-Type's; the answer is in the same encoding.
  const auto header = [&](const char* name) {
    const char* value = mg_get_header(conn, name);
    return std::string_view(value != nullptr ? value : "");
  };
  const std::string_view media_type = MediaType(header("Content-Type"));
  SpanEncoding encoding = SpanEncoding::kProtobuf;
  if (EqualsIgnoreCase(media_type, "application/x-protobuf")) {
    encoding = SpanEncoding::kProtobuf;
  } else if (EqualsIgnoreCase(media_type, "application/json")) {
    encoding = SpanEncoding::kJson;
  } else {
    const std::string what =
        media_type.empty() ? std::string("no Content-Type")
                           : "Content-Type \"" + std::string(header("Content-Type")) + "\"";
    spans_->CountRefused(SpanTransport::kHttp, SpanRejectReason::kUnsupportedMediaType, what);
    agent_metrics_.CountHttpRequest(Handler::kTraces, 415);
    Respond(conn, 415, kTextPlain,
            "415 unsupported media type: " + what +
                "; OTLP/HTTP takes application/x-protobuf or application/json\n",
            {{"Connection", "close"}});
    return 415;
  }
  const std::string_view content_type =
      encoding == SpanEncoding::kJson ? kJson : kProtobufMedia;
  const auto fail = [&](int status, std::string_view message) {
    agent_metrics_.CountHttpRequest(Handler::kTraces, status);
    Respond(conn, status, content_type, otlp::EncodeStatus(encoding, kGrpcInvalidArgument, message));
    return status;
  };
  const std::string_view coding = Trim(header("Content-Encoding"));
  const bool gzip = EqualsIgnoreCase(coding, "gzip");
  if (!gzip && !coding.empty() && !EqualsIgnoreCase(coding, "identity")) {
    const std::string what = "Content-Encoding \"" + std::string(coding) + "\"";
    spans_->CountRefused(SpanTransport::kHttp, SpanRejectReason::kBadEncoding, what);
    agent_metrics_.CountHttpRequest(Handler::kTraces, 415);
    Respond(conn, 415, kTextPlain,
            "415 unsupported media type: " + what + "; send gzip or identity\n",
            {{"Connection", "close"}});
    return 415;
  }

  PooledBuffer body(body_buffers_);
  if (const int status = ReadBodyOrRespond(
          conn, Handler::kTraces, &*body, "no span of it was counted",
          [&](const std::string& what) {
            spans_->CountRefused(SpanTransport::kHttp, SpanRejectReason::kTooLarge, what);
          })) {
    return status;
  }
  std::string inflated;
  std::string_view payload = *body;
  if (gzip) {
    std::string error;
    switch (Gunzip(*body, options_.max_request_bytes, &inflated, &error)) {
      case Gunzipped::kOk:
        payload = inflated;
        break;
      case Gunzipped::kTooLarge: {
        const std::string what = "a gzip body that inflates past --web.max-request-bytes (" +
                                 std::to_string(options_.max_request_bytes) + " bytes)";
        spans_->CountRefused(SpanTransport::kHttp, SpanRejectReason::kTooLarge, what);
        agent_metrics_.CountHttpRequest(Handler::kTraces, 413);
        Respond(conn, 413, content_type,
                otlp::EncodeStatus(encoding, kGrpcResourceExhausted,
                                   what + "; no span of it was counted"));
        return 413;
      }
      case Gunzipped::kCorrupt:
        spans_->CountRefused(SpanTransport::kHttp, SpanRejectReason::kBadEncoding, error);
        return fail(400, "the body is not valid gzip (" + error + "); no span of it was counted");
    }
  }
  const SpanIngestResult result = spans_->IngestSpans(SpanTransport::kHttp, encoding, payload);
  if (!result.ok()) return fail(400, result.body_error + "; no span of it was counted");
  agent_metrics_.CountHttpRequest(Handler::kTraces, 200);
  Respond(conn, 200, content_type,
          otlp::EncodeExportResponse(encoding, static_cast<int64_t>(result.rejected),
                                     result.error_message));
  return 200;
}

int HttpServer::HandleMetrics(mg_connection* conn, bool head_only) {
  const char* accept = mg_get_header(conn, "Accept");
  const char* accept_encoding = mg_get_header(conn, "Accept-Encoding");
  const ExpositionFormat format = NegotiateExposition(accept != nullptr ? accept : "");
  const std::string body = metrics_.Render(format);
  agent_metrics_.CountHttpRequest(Handler::kMetrics, 200);
  // The answer varies with both headers, so a cache in between must not mix them up.
  Headers headers = {{"Vary", "Accept, Accept-Encoding"}};
  if (accept_encoding != nullptr && AcceptsGzip(accept_encoding)) {
    // Per scrape, not kept per worker thread: with --web.threads workers, a buffer each would
    // hold megabytes in every worker that ever served a gzip scrape.
    std::string compressed;
    if (Gzip(body, kScrapeGzipLevel, &compressed)) {
      agent_metrics_.CountScrape(format, /*gzip=*/true);
      headers.emplace_back("Content-Encoding", "gzip");
      Respond(conn, 200, ContentTypeOf(format), compressed, headers, head_only);
      return 200;
    }
  }
  agent_metrics_.CountScrape(format, /*gzip=*/false);
  Respond(conn, 200, ContentTypeOf(format), body, headers, head_only);
  return 200;
}

int HttpServer::HandleReload(mg_connection* conn) {
  const ReloadStatus reloaded = reload_.Reload();
  const int status = reloaded.ok() ? 200 : 500;
  agent_metrics_.CountHttpRequest(Handler::kReload, status);
  Respond(conn, status, kTextPlain,
          reloaded.ok() ? std::string("reloaded\n")
                        : "reload failed; the file named is kept as it was before (the other file, if "
                              "any, was reloaded): " + reloaded.error + "\n");
  return status;
}

}  // namespace llm_exporter::transport
