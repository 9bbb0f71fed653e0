// The client's side of one request under /proxy/, over civetweb: what the metering proxy reads of
// the request and how it writes the answer (llm_exporter/proxy_service.h).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "llm_exporter/proxy_service.h"
#include "telemetry/agent_metrics.h"
#include "transport/http/body_deadline.h"

struct mg_connection;
struct mg_request_info;

namespace llm_exporter::transport {

// Lives on the stack of the handler serving the request, used by that thread only.
class CivetwebProxyExchange final : public ProxyExchange {
 public:
  // `path`: the raw target after "/proxy/" (the server does not decode URLs, see
  // HttpServer::Start); `body_timeout`: how long the body may take after the headers.
  CivetwebProxyExchange(mg_connection* conn, std::string_view path,
                        std::chrono::steady_clock::time_point received,
                        BodyDeadline& body_deadline, std::chrono::milliseconds body_timeout,
                        telemetry::AgentMetrics& agent_metrics);

  std::string_view method() const override;
  std::string_view path() const override { return path_; }
  std::string_view query() const override;
  std::span<const HeaderField> request_headers() const override { return headers_; }
  std::chrono::steady_clock::time_point received() const override { return received_; }
  int client_fd() override;
  ProxyBodyRead ReadBody(std::size_t limit, std::string* body) override;
  bool SendHead(int status, std::span<const HeaderField> headers, ResponseFraming framing,
                uint64_t content_length) override;
  bool Write(std::string_view bytes) override;
  bool Finish() override;
  void Cut() override;
  int status_sent() const override { return status_; }

 private:
  // Whether the connection may serve another request after this one, as the client asked.
  bool ClientKeepsAlive() const;

  mg_connection* conn_;
  const mg_request_info* info_;
  std::string_view path_;
  std::chrono::steady_clock::time_point received_;
  BodyDeadline& body_deadline_;
  std::chrono::milliseconds body_timeout_;
  telemetry::AgentMetrics& agent_metrics_;
  std::vector<HeaderField> headers_;
  int fd_ = -2;  // -2: not looked up yet
  int status_ = 0;
  bool body_read_ = false;   // ReadBody() was called
  bool must_close_ = false;  // the body was not read to its end
  bool chunked_ = false;
  bool close_delimited_ = false;
  bool failed_ = false;  // a write failed: nothing more is sent
};

}  // namespace llm_exporter::transport
