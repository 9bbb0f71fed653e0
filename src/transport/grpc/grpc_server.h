// The OTLP/gRPC face of the agent: the one method of the OpenTelemetry trace service, served with
// gRPC's callback API, over TLS and behind basic auth when the web config asks for them.
//
// What a client meets (--otlp.grpc-listen-address, e.g. 127.0.0.1:4317, OTLP's usual port):
//   /opentelemetry.proto.collector.trace.v1.TraceService/Export
//     The request message, an ExportTraceServiceRequest in protobuf (gzip-compressed when the
//     client sets grpc-encoding: gzip, which gRPC undoes before the agent sees it), goes to
//     SpanIngest::IngestSpans(kGrpc, kProtobuf, bytes) whole.
//       OK                  an ExportTraceServiceResponse; partial_success carries the spans
//                           refused one by one (rejected_spans, error_message), or is empty
//       INVALID_ARGUMENT    the message is not an ExportTraceServiceRequest (the decoder's error
//                           text), or the call carried no message at all
//       RESOURCE_EXHAUSTED  the message, or its gunzipped form, is over max_message_bytes
//                           (16 MiB by default, like --web.max-request-bytes); gRPC refuses
//                           it before the agent's code runs (see GrpcServer::Start)
//       UNAUTHENTICATED     the web config lists users and the call's `authorization` metadata
//                           is missing, malformed or wrong ("Basic base64(user:password)");
//                           counted in llm_exporter_http_auth_failures_total{reason} as the HTTP
//                           refusals are: gRPC runs over HTTP/2 with the same users
//       INTERNAL            an unexpected error (logged); the server goes on serving
//   any other method        UNIMPLEMENTED, naming the one that is served
//   gRPC's own refusals (a message over the size limit, a failed TLS handshake) never reach the
//   service: the client gets gRPC's status; gRPC's log lines (handshake failures among them)
//   go through the agent's logger as warnings.
// TLS: the web config's tls_server_config (certificate, key, client CA and client_auth_type).
// gRPC negotiates TLS 1.2 or 1.3 whatever the config says: a min_version of TLS13, which it
// cannot honour, makes Start() fail; a max_version of TLS12 is logged as not honoured. Without
// TLS in the web config: plaintext (h2c), what OTLP exporters send with `insecure`.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "config/web_config.h"
#include "llm_exporter/span_ingest.h"
#include "telemetry/agent_metrics.h"

namespace llm_exporter::transport {

inline constexpr char kOtlpGrpcListenFlag[] = "--otlp.grpc-listen-address";
// The method served, as gRPC names it on the wire.
inline constexpr char kTraceExportMethod[] =
    "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

struct GrpcServerOptions {
  std::string listen_address = "127.0.0.1:4317";  // host:port; port 0 picks a free port
  // Largest request message, after gzip is undone: like --web.max-request-bytes.
  std::size_t max_message_bytes = std::size_t{16} << 20;
  std::optional<config::WebConfig> web_config;  // TLS and basic auth; nullopt: plaintext, no auth
};

// Start() and Stop() from one thread; calls are served on gRPC's own threads and use only
// thread-safe collaborators: spans go to a SpanIngest, auth failures to AgentMetrics.
class GrpcServer {
 public:
  GrpcServer(GrpcServerOptions options, SpanIngest& ingest,
             telemetry::AgentMetrics& agent_metrics);
  ~GrpcServer();
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  // Binds and starts serving; throws std::runtime_error naming --otlp.grpc-listen-address and
  // the reason (a bad address, the port in use, a certificate gRPC refuses ...).
  void Start();
  // Stops accepting calls, gives those in flight up to kStopGraceMs to finish, cancels the rest,
  // then returns. Idempotent.
  void Stop();
  static constexpr int kStopGraceMs = 5000;

  // The bound address, with the port the OS chose when 0 was asked for. Valid after Start().
  const std::string& bound_address() const { return bound_address_; }
  int port() const { return port_; }
  bool tls() const { return options_.web_config && options_.web_config->tls_enabled(); }
  // The start-up warning when others can reach the listener without TLS and client
  // authentication both, or nullopt (on loopback, or well protected). Valid after Start().
  std::optional<std::string> exposure_warning() const;

 private:
  struct Impl;

  GrpcServerOptions options_;
  std::unique_ptr<Impl> impl_;
  std::string bound_address_;
  int port_ = 0;
};

}  // namespace llm_exporter::transport
