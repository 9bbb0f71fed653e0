#include "transport/grpc/grpc_server.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <grpc/support/log.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "otlp/export_response.h"
#include "transport/common/basic_auth.h"
#include "transport/common/listen_address.h"
#include "transport/common/listener_thread.h"
#include "transport/common/unique_fd.h"

namespace llm_exporter::transport {

namespace {

constexpr std::string_view kInternalError = "internal error; see the agent's log";

// What every call needs: the limit, the ingest, the users. Thread-safe, as its collaborators are.
class TraceExport {
 public:
  TraceExport(std::size_t max_message_bytes, SpanIngest& ingest,
              telemetry::AgentMetrics& agent_metrics,
              const std::optional<config::WebConfig>& web_config)
      : max_message_bytes_(max_message_bytes), ingest_(ingest), agent_metrics_(agent_metrics) {
    if (web_config && web_config->auth_enabled()) {
      auth_ = std::make_unique<BasicAuth>(web_config->basic_auth_users);
    }
  }

  // Checks the call's `authorization` metadata when users are configured; counts a refusal.
  grpc::Status Authenticate(const grpc::GenericCallbackServerContext& context);
  // The answer to one request message, and the response to send with OK.
  grpc::Status Export(std::string_view request, std::string* response);

 private:
  const std::size_t max_message_bytes_;
  SpanIngest& ingest_;
  telemetry::AgentMetrics& agent_metrics_;
  std::unique_ptr<BasicAuth> auth_;  // null when the web config lists no users
};

// One call. Unary calls reach a generic service as bidi streams: read the one request message,
// answer it with the response and the status together. gRPC deletes nothing: OnDone does.
class ExportReactor final : public grpc::ServerGenericBidiReactor {
 public:
  // Calls made from the constructor are held by gRPC until the reactor is bound to its call.
  ExportReactor(TraceExport& exporter, grpc::Status refusal) : exporter_(exporter) {
    if (refusal.ok()) {
      StartRead(&request_);
    } else {
      Finish(refusal);
    }
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // No message: the client half-closed without one, or the call ended first (cancelled,
      // past its deadline, or refused by gRPC as over the size limit, whose own status then
      // reaches the client instead of this one).
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "no ExportTraceServiceRequest message arrived"));
      return;
    }
    grpc::Status status;
    std::string response;
    try {
      grpc::Slice slice;
      // One contiguous view of the message: gRPC hands it over in as many slices as it
      // arrived in (and gunzipped into); only a message of several is copied.
      if (!request_.TrySingleSlice(&slice).ok() && !request_.DumpToSingleSlice(&slice).ok()) {
        throw std::runtime_error("cannot read the request message");
      }
      status = exporter_.Export(
          std::string_view(reinterpret_cast<const char*>(slice.begin()), slice.size()),
          &response);
    } catch (const std::exception& e) {
      spdlog::error("OTLP/gRPC: internal error while serving {}: {}", kTraceExportMethod,
                    e.what());
      status = grpc::Status(grpc::StatusCode::INTERNAL, std::string(kInternalError));
    } catch (...) {
      spdlog::error("OTLP/gRPC: internal error while serving {}", kTraceExportMethod);
      status = grpc::Status(grpc::StatusCode::INTERNAL, std::string(kInternalError));
    }
    request_.Clear();
    if (!status.ok()) {
      Finish(status);
      return;
    }
    grpc::Slice out(std::move(response));
    response_ = grpc::ByteBuffer(&out, 1);
    StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
  }

  void OnDone() override { delete this; }

 private:
  TraceExport& exporter_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
};

// Every call comes here: gRPC's generic service takes any method, so the answer to an unknown
// one is ours to give.
class TraceService final : public grpc::CallbackGenericService {
 public:
  explicit TraceService(TraceExport& exporter) : exporter_(exporter) {}

  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    grpc::Status refusal;
    try {
      if (context->method() != kTraceExportMethod) {
        refusal = grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                               "unknown method " + context->method() + "; this server serves " +
                                   kTraceExportMethod + " only");
      } else {
        refusal = exporter_.Authenticate(*context);
      }
    } catch (const std::exception& e) {
      spdlog::error("OTLP/gRPC: internal error while accepting a call to {}: {}",
                    context->method(), e.what());
      refusal = grpc::Status(grpc::StatusCode::INTERNAL, std::string(kInternalError));
    }
    return new ExportReactor(exporter_, std::move(refusal));
  }

 private:
  TraceExport& exporter_;
};

// gRPC writes its own log lines (a client's failed TLS handshake, a bind that failed) to stderr
// in a format of its own; they go through the agent's logger instead, so that --log.format json
// stays one JSON object a line. Its errors are about a connection, not the agent: warn.
void LogThroughSpdlog(gpr_log_func_args* args) {
  switch (args->severity) {
    case GPR_LOG_SEVERITY_DEBUG:
      spdlog::debug("gRPC: {}", args->message);
      break;
    case GPR_LOG_SEVERITY_INFO:
      spdlog::info("gRPC: {}", args->message);
      break;
    default:
      spdlog::warn("gRPC: {}", args->message);
      break;
  }
}

std::string ReadFile(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) throw std::runtime_error("web config: cannot read " + std::string(what) + " " + path);
  return text.str();
}

// gRPC does not say why it refuses a certificate or key (it logs a line and fails the bind), so
// they are checked here first, with the reasons OpenSSL gives.
void CheckKeyPair(const std::string& cert_pem, const std::string& key_pem,
                  const config::TlsServerConfig& tls) {
  std::unique_ptr<BIO, decltype(&BIO_free)> cert_bio(
      BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())), &BIO_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr), &X509_free);
  if (!cert) {
    throw std::runtime_error("web config: cert_file " + tls.cert_file +
                             " holds no PEM certificate");
  }
  std::unique_ptr<BIO, decltype(&BIO_free)> key_bio(
      BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())), &BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
  if (!key) {
    throw std::runtime_error("web config: key_file " + tls.key_file +
                             " holds no unencrypted PEM private key");
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    throw std::runtime_error("web config: key_file " + tls.key_file +
                             " is not the key of cert_file " + tls.cert_file);
  }
}

grpc_ssl_client_certificate_request_type ClientCertificateRequest(config::ClientAuth auth) {
  switch (auth) {
    case config::ClientAuth::kNoClientCert:
      return GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
    case config::ClientAuth::kRequestClientCert:
      return GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_BUT_DONT_VERIFY;
    case config::ClientAuth::kRequireAnyClientCert:
      return GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_BUT_DONT_VERIFY;
    case config::ClientAuth::kVerifyClientCertIfGiven:
      return GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
    case config::ClientAuth::kRequireAndVerifyClientCert:
      return GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
}

std::shared_ptr<grpc::ServerCredentials> Credentials(const config::WebConfig* web_config) {
  if (web_config == nullptr || !web_config->tls) return grpc::InsecureServerCredentials();
  const config::TlsServerConfig& tls = *web_config->tls;
  // gRPC's SSL credentials offer TLS 1.2 and 1.3 and no way to narrow that: a minimum above 1.2
  // cannot be kept, so the agent does not pretend to keep it.
  if (tls.min_version > config::TlsVersion::kTls12) {
    throw std::runtime_error(std::string("web config: min_version ") +
                             config::TlsVersionName(tls.min_version) +
                             " cannot be enforced by the gRPC transport, which accepts TLS 1.2 "
                             "and 1.3 (set min_version TLS12, or leave " + kOtlpGrpcListenFlag +
                             " unset)");
  }
  if (tls.max_version < config::TlsVersion::kTls13) {
    spdlog::warn("Web config: max_version {} does not apply to OTLP/gRPC, which negotiates TLS "
                 "1.2 or 1.3",
                 config::TlsVersionName(tls.max_version));
  }
  grpc::SslServerCredentialsOptions options(ClientCertificateRequest(tls.client_auth));
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  pair.cert_chain = ReadFile(tls.cert_file, "cert_file");
  pair.private_key = ReadFile(tls.key_file, "key_file");
  CheckKeyPair(pair.cert_chain, pair.private_key, tls);
  options.pem_key_cert_pairs.push_back(std::move(pair));
  if (!tls.client_ca_file.empty()) {
    options.pem_root_certs = ReadFile(tls.client_ca_file, "client_ca_file");
  }
  return grpc::SslServerCredentials(options);
}

// gRPC logs why it could not bind and returns no reason; binding the same address here finds
// it (errno), for the one-line start-up error. 0 when the address binds after all.
int BindError(const HostPort& address) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(address.port);
  if (::getaddrinfo(address.host.empty() ? nullptr : address.host.c_str(), port.c_str(), &hints,
                    &found) != 0 ||
      found == nullptr) {
    return EADDRNOTAVAIL;
  }
  int error = 0;
  UniqueFd fd(::socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    error = errno;
  } else {
    const int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));  // as gRPC does
    if (::bind(fd.get(), found->ai_addr, found->ai_addrlen) != 0) error = errno;
  }
  ::freeaddrinfo(found);
  return error;
}

HostPort ParseListenAddress(const std::string& address) {
  AddressError error = AddressError::kNone;
  std::optional<HostPort> parsed = ParseHostPort(address, &error);
  if (error == AddressError::kBadPort) {
    throw std::runtime_error(std::string(kOtlpGrpcListenFlag) + " \"" + address +
                             "\": port must be a number from 0 to 65535");
  }
  if (!parsed) {
    throw std::runtime_error(std::string(kOtlpGrpcListenFlag) + " \"" + address +
                             "\" must be host:port, e.g. 127.0.0.1:4317");
  }
  return std::move(*parsed);
}

grpc::Status TraceExport::Authenticate(const grpc::GenericCallbackServerContext& context) {
  if (!auth_) return grpc::Status::OK;
  std::optional<std::string_view> header;
  const auto& metadata = context.client_metadata();
  if (const auto it = metadata.find("authorization"); it != metadata.end()) {
    header = std::string_view(it->second.data(), it->second.size());
  }
  // Checking a password not yet cached costs one bcrypt, on this gRPC thread: a few ms at the
  // costs web configs use, once per client, as over HTTP.
  const AuthResult result = auth_->Check(header);
  if (result == AuthResult::kOk) return grpc::Status::OK;
  telemetry::AuthFailure reason = telemetry::AuthFailure::kBadCredentials;
  std::string message = "wrong user name or password";
  if (result == AuthResult::kMissing) {
    reason = telemetry::AuthFailure::kMissing;
    message = "authorization metadata required: Basic base64(user:password)";
  } else if (result == AuthResult::kMalformed) {
    reason = telemetry::AuthFailure::kMalformed;
    message = "authorization metadata must be Basic base64(user:password)";
  }
  agent_metrics_.CountAuthFailure(reason);
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, message);
}

grpc::Status TraceExport::Export(std::string_view request, std::string* response) {
  if (request.size() > max_message_bytes_) {
    // gRPC refuses such messages itself (see Start); this stays in case it ever lets one by.
    const std::string detail = "OTLP/gRPC request of " + std::to_string(request.size()) +
                               " bytes is over the limit of " + std::to_string(max_message_bytes_);
    ingest_.CountRefused(SpanTransport::kGrpc, SpanRejectReason::kTooLarge, detail);
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, detail);
  }
  const SpanIngestResult result =
      ingest_.IngestSpans(SpanTransport::kGrpc, SpanEncoding::kProtobuf, request);
  if (!result.ok()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, result.body_error);
  *response = otlp::EncodeExportResponse(SpanEncoding::kProtobuf,
                                         static_cast<int64_t>(result.rejected),
                                         result.error_message);
  return grpc::Status::OK;
}

}  // namespace

struct GrpcServer::Impl {
  Impl(std::size_t max_message_bytes, SpanIngest& ingest, telemetry::AgentMetrics& metrics,
       const std::optional<config::WebConfig>& web_config)
      : exporter(max_message_bytes, ingest, metrics, web_config), service(exporter) {}

  TraceExport exporter;
  TraceService service;
  std::unique_ptr<grpc::Server> server;
};

GrpcServer::GrpcServer(GrpcServerOptions options, SpanIngest& ingest,
                       telemetry::AgentMetrics& agent_metrics)
    : options_(std::move(options)),
      impl_(std::make_unique<Impl>(options_.max_message_bytes, ingest, agent_metrics,
                                   options_.web_config)) {}

GrpcServer::~GrpcServer() { Stop(); }

void GrpcServer::Start() {
  if (impl_->server) throw std::logic_error("GrpcServer::Start called twice");
  HostPort address = ParseListenAddress(options_.listen_address);
  static std::once_flag log_once;
  std::call_once(log_once, [] { gpr_set_log_function(&LogThroughSpdlog); });
  const std::string where = std::string(kOtlpGrpcListenFlag) + " " + options_.listen_address;
  std::shared_ptr<grpc::ServerCredentials> credentials;
  try {
    credentials = Credentials(options_.web_config ? &*options_.web_config : nullptr);
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot serve TLS on " + where + ": " + e.what());
  }
  HostPort bind_address = address;
  if (bind_address.host == "localhost") bind_address.host = "127.0.0.1";  // as over HTTP

  grpc::ServerBuilder builder;
  int selected_port = 0;
  builder.AddListeningPort(JoinHostPort(bind_address.host, bind_address.port), credentials,
                           &selected_port);
  // gRPC sets SO_REUSEPORT by default, which would let a second agent (or anything else of the
  // same user) bind the same port and silently take half the calls.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Over the limit, gRPC answers RESOURCE_EXHAUSTED ("Received message larger than max") on its
  // own, before the service sees the call's message, also for a message that grows past the
  // limit when gunzipped. The service only sees its read fail, just as when a client cancels, so
  // these refusals are not counted (CountRefused, kTooLarge); the client gets gRPC's status.
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(std::min<std::size_t>(options_.max_message_bytes, INT_MAX)));
  builder.RegisterCallbackGenericService(&impl_->service);
  impl_->server = builder.BuildAndStart();
  if (!impl_->server || selected_port == 0) {
    impl_->server.reset();
    const int error = BindError(bind_address);
    if (error == 0) {
      throw std::runtime_error("cannot listen on " + where + ": gRPC could not start a server "
                               "there (its log line above says why)");
    }
    std::runtime_error start_error = StartError(where, "bind", error);
    if (error == EADDRINUSE) {
      throw std::runtime_error(std::string(start_error.what()) +
                               " (another program, or another llm_exporter, listens there; "
                               "choose another port with " + kOtlpGrpcListenFlag + ")");
    }
    throw start_error;
  }
  port_ = selected_port;
  bound_address_ = JoinHostPort(address.host, static_cast<uint16_t>(port_));
}

void GrpcServer::Stop() {
  if (!impl_->server) return;
  impl_->server->Shutdown(std::chrono::system_clock::now() +
                          std::chrono::milliseconds(kStopGraceMs));
  impl_->server->Wait();
  impl_->server.reset();
}

std::optional<std::string> GrpcServer::exposure_warning() const {
  const HostPort address = ParseListenAddress(options_.listen_address);
  if (IsLoopbackHost(address.host)) return std::nullopt;
  const bool tls = this->tls();
  const bool authenticates = options_.web_config && options_.web_config->authenticates_clients();
  const std::string& where = bound_address_.empty() ? options_.listen_address : bound_address_;
  if (tls && authenticates) return std::nullopt;
  const std::string head = "Listening for OTLP/gRPC on a non-loopback address ";
  if (!tls && !authenticates) {
    return head + "without a web config (TLS, basic auth): anyone who can reach " +
           where + " can send spans (see --web.config.file)";
  }
  if (tls) {
    return head + "with TLS but without basic_auth_users or verified client certificates in "
           "the web config: anyone who can reach " + where + " can send spans";
  }
  return head + "with basic auth but without TLS: passwords cross the network in clear text to " +
         where + " (add tls_server_config to the web config)";
}

}  // namespace llm_exporter::transport
