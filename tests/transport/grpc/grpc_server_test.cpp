#include "transport/grpc/grpc_server.h"

#include <doctest/doctest.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fakes/log_capture.h"
#include "fakes/recording_span_ingest.h"
#include "fakes/socket_clients.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "telemetry/agent_metrics.h"
#include "transport/common/unique_fd.h"

namespace llm_exporter::transport {
namespace {

using opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;
using opentelemetry::proto::collector::trace::v1::ExportTraceServiceResponse;
using testing::RecordingSpanIngest;

// Made with Python's crypt module (libxcrypt), as in basic_auth_test.cpp: alice / wonderland.
constexpr const char* kAliceHash = "$2b$04$abcdefghijklmnopqrstuujZkTwHUiJ9XdZPwKfcfDo7dMp5DjlTu";
constexpr const char* kAliceAuthorization = "Basic YWxpY2U6d29uZGVybGFuZA==";  // alice:wonderland
constexpr const char* kWrongAuthorization = "Basic YWxpY2U6bG9va2luZy1nbGFzcw==";  // looking-glass

// A request body that is not valid protobuf on purpose: the fake ingest does not decode, and
// the NUL and high bytes show that nothing on the way treats the message as text.
std::string SampleBody(std::size_t size = 300) {
  std::string body;
  for (std::size_t i = 0; i < size; ++i) body.push_back(static_cast<char>((i * 131 + 7) % 256));
  return body;
}

struct CallOptions {
  std::string method = kTraceExportMethod;
  std::optional<std::string> authorization;
  grpc_compression_algorithm compression = GRPC_COMPRESS_NONE;
};

struct Reply {
  grpc::Status status;
  std::string body;
};

// One unary call through gRPC's generic stub, as an OTLP exporter makes it (no generated stub:
// the method is named by its path).
Reply Call(const std::shared_ptr<grpc::Channel>& channel, std::string_view request,
           const CallOptions& options = {}) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  if (options.authorization) context.AddMetadata("authorization", *options.authorization);
  context.set_compression_algorithm(options.compression);
  grpc::Slice slice(request.data(), request.size());
  grpc::ByteBuffer request_buffer(&slice, 1);
  grpc::ByteBuffer response_buffer;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, options.method, grpc::StubOptions(), &request_buffer, &response_buffer,
                 [&done](grpc::Status status) { done.set_value(std::move(status)); });
  Reply reply;
  reply.status = done.get_future().get();
  if (reply.status.ok()) {
    std::vector<grpc::Slice> slices;
    REQUIRE(response_buffer.Dump(&slices).ok());
    for (const grpc::Slice& s : slices) {
      reply.body.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
  }
  return reply;
}

std::shared_ptr<grpc::Channel> Connect(
    int port, std::shared_ptr<grpc::ChannelCredentials> credentials =
                  grpc::InsecureChannelCredentials()) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);  // never through an http_proxy of the environment
  return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port), credentials, args);
}

// A started server on 127.0.0.1 with a port of its own, the fake ingest it delivers to, and the
// agent's metrics it counts auth failures in.
struct ServerFixture {
  explicit ServerFixture(GrpcServerOptions options = {}) {
    options.listen_address = "127.0.0.1:0";
    server = std::make_unique<GrpcServer>(std::move(options), ingest, agent_metrics);
    server->Start();
    channel = Connect(server->port());
  }

  std::string Metrics() const {
    std::string text;
    agent_metrics.AppendText(&text);
    return text;
  }

  RecordingSpanIngest ingest;
  telemetry::AgentMetrics agent_metrics;
  std::unique_ptr<GrpcServer> server;
  std::shared_ptr<grpc::Channel> channel;
};

TEST_CASE("GrpcServer: the request message reaches the ingest byte for byte; OK with an empty "
          "ExportTraceServiceResponse") {
  ServerFixture f;
  CHECK(f.server->port() > 0);
  CHECK(f.server->bound_address() == "127.0.0.1:" + std::to_string(f.server->port()));
  // Small, and large enough (3 MiB) that gRPC receives it in many slices.
  for (const std::string& body : {SampleBody(), SampleBody(3u << 20)}) {
    const Reply reply = Call(f.channel, body);
    REQUIRE(reply.status.ok());
    ExportTraceServiceResponse response;
    REQUIRE(response.ParseFromString(reply.body));
    CHECK_FALSE(response.has_partial_success());
  }
  const std::vector<testing::ReceivedBody> bodies = f.ingest.bodies();
  REQUIRE(bodies.size() == 2);
  CHECK(bodies[0].transport == SpanTransport::kGrpc);
  CHECK(bodies[0].encoding == SpanEncoding::kProtobuf);
  CHECK(bodies[0].body == SampleBody());
  CHECK(bodies[1].body == SampleBody(3u << 20));
  CHECK(f.ingest.refused().empty());
}

TEST_CASE("GrpcServer: spans refused one by one come back as partial_success") {
  ServerFixture f;
  SpanIngestResult result;
  result.accepted = 3;
  result.rejected = 2;
  result.error_message = "span 1 (chat gpt-4o): end time is before start time; span 4: ...";
  f.ingest.Answer(result);
  const Reply reply = Call(f.channel, SampleBody());
  REQUIRE(reply.status.ok());
  ExportTraceServiceResponse response;
  REQUIRE(response.ParseFromString(reply.body));
  REQUIRE(response.has_partial_success());
  CHECK(response.partial_success().rejected_spans() == 2);
  CHECK(response.partial_success().error_message() == result.error_message);
}

TEST_CASE("GrpcServer: a body that is no ExportTraceServiceRequest is INVALID_ARGUMENT with the "
          "decoder's error") {
  ServerFixture f;
  SpanIngestResult result;
  result.body_error = "not an ExportTraceServiceRequest: field 1 has wire type 7";
  f.ingest.Answer(result);
  const Reply reply = Call(f.channel, "\xff\xff\xff");
  CHECK(reply.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(reply.status.error_message() == result.body_error);
  CHECK(f.ingest.bodies().size() == 1);
}

TEST_CASE("GrpcServer: another method is UNIMPLEMENTED, naming the one served") {
  ServerFixture f;
  CallOptions options;
  options.method = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
  const Reply reply = Call(f.channel, SampleBody(), options);
  CHECK(reply.status.error_code() == grpc::StatusCode::UNIMPLEMENTED);
  CHECK(reply.status.error_message().find(kTraceExportMethod) != std::string::npos);
  CHECK(reply.status.error_message().find("MetricsService") != std::string::npos);
  CHECK(f.ingest.bodies().empty());
}

TEST_CASE("GrpcServer: a message over max_message_bytes is RESOURCE_EXHAUSTED and not ingested") {
  GrpcServerOptions options;
  options.max_message_bytes = 4096;
  ServerFixture f(options);
  const Reply at_limit = Call(f.channel, SampleBody(4096));
  CHECK(at_limit.status.ok());
  const Reply over = Call(f.channel, SampleBody(4097));
  CHECK(over.status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  // Small on the wire, over the limit once gunzipped: refused too.
  CallOptions gzip;
  gzip.compression = GRPC_COMPRESS_GZIP;
  const Reply bomb = Call(f.channel, std::string(1u << 20, 'a'), gzip);
  CHECK(bomb.status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  const std::vector<testing::ReceivedBody> bodies = f.ingest.bodies();
  REQUIRE(bodies.size() == 1);
  CHECK(bodies[0].body.size() == 4096);
  // gRPC refuses both before the service runs, so nothing reaches CountRefused (grpc_server.cpp).
  CHECK(f.ingest.refused().empty());
}

// Forwards one TCP connection to 127.0.0.1:`target` and counts the bytes the client sent: the
// proof that a compressed request really was compressed on the wire.
class CountingRelay {
 public:
  explicit CountingRelay(int target) : target_(target) {
    listen_.Reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listen_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(listen_.get(), 4) == 0);
    socklen_t length = sizeof address;
    REQUIRE(::getsockname(listen_.get(), reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { Run(); });
  }
  ~CountingRelay() {
    stop_ = true;
    thread_.join();
  }
  int port() const { return port_; }
  std::size_t client_bytes() const { return client_bytes_; }

 private:
  void Run() {
    pollfd accept_poll{listen_.get(), POLLIN, 0};
    while (!stop_ && ::poll(&accept_poll, 1, 50) <= 0) {
    }
    if (stop_) return;
    UniqueFd client(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    UniqueFd server(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(target_));
    if (::connect(server.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return;
    std::vector<char> buffer(1 << 16);
    while (!stop_) {
      pollfd fds[2] = {{client.get(), POLLIN, 0}, {server.get(), POLLIN, 0}};
      if (::poll(fds, 2, 50) <= 0) continue;
      for (int i = 0; i < 2; ++i) {
        if (fds[i].revents == 0) continue;
        const ssize_t n = ::read(fds[i].fd, buffer.data(), buffer.size());
        if (n <= 0) return;
        if (i == 0) client_bytes_ += static_cast<std::size_t>(n);
        for (ssize_t sent = 0; sent < n;) {
          const ssize_t m = ::send(fds[1 - i].fd, buffer.data() + sent,
                                   static_cast<std::size_t>(n - sent), MSG_NOSIGNAL);
          if (m <= 0) return;
          sent += m;
        }
      }
    }
  }

  const int target_;
  UniqueFd listen_;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> client_bytes_{0};
  std::thread thread_;
};

TEST_CASE("GrpcServer: a gzip-compressed request is gunzipped before the ingest sees it") {
  ServerFixture f;
  CountingRelay relay(f.server->port());
  // 512 KiB that gzip shrinks a hundredfold.
  std::string body;
  while (body.size() < (512u << 10)) body += "{\"gen_ai.request.model\":\"gpt-4o\"} ";
  CallOptions options;
  options.compression = GRPC_COMPRESS_GZIP;
  const Reply reply = Call(Connect(relay.port()), body, options);
  REQUIRE(reply.status.ok());
  const std::vector<testing::ReceivedBody> bodies = f.ingest.bodies();
  REQUIRE(bodies.size() == 1);
  CHECK(bodies[0].body == body);
  CHECK(relay.client_bytes() < body.size() / 10);
}

TEST_CASE("GrpcServer: an exception out of the ingest is INTERNAL, and the next call is served") {
  testing::ScopedLogCapture log;
  ServerFixture f;
  f.ingest.ThrowNext();
  const Reply failed = Call(f.channel, SampleBody());
  CHECK(failed.status.error_code() == grpc::StatusCode::INTERNAL);
  // The details go to the log, not to the client.
  CHECK(failed.status.error_message() == "internal error; see the agent's log");
  CHECK(log.Text(spdlog::level::err) ==
        "OTLP/gRPC: internal error while serving " + std::string(kTraceExportMethod) +
            ": the ingest failed unexpectedly\n");
  const Reply next = Call(f.channel, SampleBody());
  CHECK(next.status.ok());
  CHECK(f.ingest.bodies().size() == 2);
}

TEST_CASE("GrpcServer: calls from many threads at once are each delivered once") {
  ServerFixture f;
  constexpr int kThreads = 8;
  constexpr int kCalls = 25;
  std::mutex failures_mu;
  std::vector<std::string> failures;  // the status of each call that failed
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i) {
        const Reply reply = Call(f.channel, "t" + std::to_string(t) + "c" + std::to_string(i));
        if (!reply.status.ok()) {
          std::lock_guard<std::mutex> lock(failures_mu);
          failures.push_back(std::to_string(reply.status.error_code()) + " " +
                             reply.status.error_message());
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK(failures == std::vector<std::string>{});
  std::vector<std::string> seen;
  for (const testing::ReceivedBody& b : f.ingest.bodies()) seen.push_back(b.body);
  std::sort(seen.begin(), seen.end());
  CHECK(seen.size() == kThreads * kCalls);
  CHECK(std::adjacent_find(seen.begin(), seen.end()) == seen.end());
}

TEST_CASE("GrpcServer: with users in the web config, calls need Basic credentials") {
  GrpcServerOptions options;
  options.web_config = config::WebConfig{};
  options.web_config->basic_auth_users = {{"alice", kAliceHash}};
  ServerFixture f(options);

  const Reply missing = Call(f.channel, SampleBody());
  CHECK(missing.status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CallOptions wrong;
  wrong.authorization = kWrongAuthorization;
  CHECK(Call(f.channel, SampleBody(), wrong).status.error_code() ==
        grpc::StatusCode::UNAUTHENTICATED);
  CallOptions malformed;
  malformed.authorization = "Bearer abc";
  CHECK(Call(f.channel, SampleBody(), malformed).status.error_code() ==
        grpc::StatusCode::UNAUTHENTICATED);
  CHECK(f.ingest.bodies().empty());

  CallOptions right;
  right.authorization = kAliceAuthorization;
  CHECK(Call(f.channel, SampleBody(), right).status.ok());
  CHECK(f.ingest.bodies().size() == 1);

  const std::string metrics = f.Metrics();
  CHECK(metrics.find("llm_exporter_http_auth_failures_total{reason=\"missing\"} 1") !=
        std::string::npos);
  CHECK(metrics.find("llm_exporter_http_auth_failures_total{reason=\"bad_credentials\"} 1") !=
        std::string::npos);
  CHECK(metrics.find("llm_exporter_http_auth_failures_total{reason=\"malformed\"} 1") !=
        std::string::npos);
}

// A fresh directory with a short name, removed with its contents when the test ends.
class TempDir {
 public:
  TempDir() {
    char name[] = "/tmp/llmxgrpcXXXXXX";
    REQUIRE(::mkdtemp(name) != nullptr);
    path_ = name;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string operator/(const std::string& file) const { return path_ + "/" + file; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A test CA with a server certificate for 127.0.0.1 and a client certificate, and a second,
// untrusted CA with a client certificate of its own; made with the openssl CLI, as
// tests/integration/test_web_config.py makes them.
class Pki {
 public:
  Pki() {
    Ca("ca");
    Ca("rogue-ca");
    Leaf("server", "ca",
         "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
    Leaf("client", "ca", "extendedKeyUsage=clientAuth\n");
    Leaf("rogue-client", "rogue-ca", "extendedKeyUsage=clientAuth\n");
  }
  std::string path(const std::string& file) const { return dir_ / file; }
  std::string read(const std::string& file) const { return ReadFile(path(file)); }

 private:
  void Run(const std::string& args) const {
    const std::string command = "cd " + dir_.path() + " && openssl " + args + " >/dev/null 2>&1";
    REQUIRE_MESSAGE(std::system(command.c_str()) == 0, command);
  }
  void Ca(const std::string& name) const {
    Run("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + name +
        ".key -out " + name + ".crt -days 2 -subj '/CN=llm_exporter test " + name + "'");
  }
  void Leaf(const std::string& name, const std::string& ca, const std::string& extensions) const {
    std::ofstream(path(name + ".ext")) << "basicConstraints=CA:FALSE\n" << extensions;
    Run("req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + name +
        ".key -out " + name + ".csr -subj /CN=" + name);
    Run("x509 -req -in " + name + ".csr -CA " + ca + ".crt -CAkey " + ca +
        ".key -CAcreateserial -days 2 -out " + name + ".crt -extfile " + name + ".ext");
  }

  TempDir dir_;
};

config::TlsServerConfig ServerTls(const Pki& pki) {
  config::TlsServerConfig tls;
  tls.cert_file = pki.path("server.crt");
  tls.key_file = pki.path("server.key");
  return tls;
}

std::shared_ptr<grpc::ChannelCredentials> TlsClient(const Pki& pki,
                                                    const std::string& client = "") {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = pki.read("ca.crt");
  if (!client.empty()) {
    options.pem_cert_chain = pki.read(client + ".crt");
    options.pem_private_key = pki.read(client + ".key");
  }
  return grpc::SslCredentials(options);
}

TEST_CASE("GrpcServer: TLS from the web config, with basic auth inside it") {
  Pki pki;
  testing::ScopedLogCapture log;
  GrpcServerOptions options;
  options.web_config = config::WebConfig{};
  options.web_config->tls = ServerTls(pki);
  options.web_config->basic_auth_users = {{"alice", kAliceHash}};
  ServerFixture f(options);
  CHECK(f.server->tls());

  CallOptions right;
  right.authorization = kAliceAuthorization;
  const auto tls_channel = Connect(f.server->port(), TlsClient(pki));
  CHECK(Call(tls_channel, SampleBody(), right).status.ok());
  CHECK(Call(tls_channel, SampleBody()).status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  // Plaintext to a TLS port never gets a call through.
  const Reply plain = Call(f.channel, SampleBody(), right);
  CHECK(plain.status.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(f.ingest.bodies().size() == 1);
  // gRPC's own log lines go through the agent's logger (so --log.format json holds), as warnings.
  CHECK(testing::WaitFor([&] {
    for (const std::string& line : log.At(spdlog::level::warn)) {
      if (line.starts_with("gRPC: Handshake failed")) return true;
    }
    return false;
  }));
}

TEST_CASE("GrpcServer: RequireAndVerifyClientCert lets only clients with a certificate of the "
          "client CA in") {
  Pki pki;
  GrpcServerOptions options;
  options.web_config = config::WebConfig{};
  options.web_config->tls = ServerTls(pki);
  options.web_config->tls->client_auth = config::ClientAuth::kRequireAndVerifyClientCert;
  options.web_config->tls->client_ca_file = pki.path("ca.crt");
  ServerFixture f(options);

  CHECK(Call(Connect(f.server->port(), TlsClient(pki, "client")), SampleBody()).status.ok());
  CHECK(Call(Connect(f.server->port(), TlsClient(pki)), SampleBody()).status.error_code() ==
        grpc::StatusCode::UNAVAILABLE);
  CHECK(Call(Connect(f.server->port(), TlsClient(pki, "rogue-client")), SampleBody())
            .status.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(f.ingest.bodies().size() == 1);
}

TEST_CASE("GrpcServer: VerifyClientCertIfGiven takes clients without one, refuses a rogue one") {
  Pki pki;
  GrpcServerOptions options;
  options.web_config = config::WebConfig{};
  options.web_config->tls = ServerTls(pki);
  options.web_config->tls->client_auth = config::ClientAuth::kVerifyClientCertIfGiven;
  options.web_config->tls->client_ca_file = pki.path("ca.crt");
  ServerFixture f(options);

  CHECK(Call(Connect(f.server->port(), TlsClient(pki)), SampleBody()).status.ok());
  CHECK(Call(Connect(f.server->port(), TlsClient(pki, "client")), SampleBody()).status.ok());
  CHECK(Call(Connect(f.server->port(), TlsClient(pki, "rogue-client")), SampleBody())
            .status.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(f.ingest.bodies().size() == 2);
}

// The real OpenTelemetry JS SDK and its OTLP/gRPC exporter (tests/otel-js, installed by
// scripts/setup.sh) against the server: what an instrumented Node.js application sends arrives
// whole, gzip-compressed, and the partial success comes back to the exporter.
TEST_CASE("GrpcServer: spans from the OpenTelemetry JS gRPC exporter arrive whole") {
  const std::string otel_js = std::string(LLM_EXPORTER_SOURCE_DIR) + "/tests/otel-js";
  if (std::system("command -v node >/dev/null 2>&1") != 0 ||
      !std::filesystem::exists(otel_js + "/node_modules")) {
    MESSAGE("skipped: needs node and tests/otel-js/node_modules (bash scripts/setup.sh)");
    return;
  }
  ServerFixture f;
  SpanIngestResult result;
  result.accepted = 1;
  result.rejected = 1;
  result.error_message = "span 1: end time is before start time";
  f.ingest.Answer(result);
  TempDir dir;
  std::ofstream(dir / "scenario.json") << R"({
    "baseTimeMs": 1767225600000,
    "resource": {"service.name": "support-bot"},
    "scope": {"name": "opentelemetry.instrumentation.openai", "version": "0.40.0"},
    "spans": [
      {"name": "chat gpt-4o", "kind": "client", "parent": "answer_ticket",
       "startOffsetMs": 20, "endOffsetMs": 1270.5,
       "status": {"code": "error", "message": "rate limited"},
       "attributes": {"gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 812},
       "events": [{"name": "First Token Stream Event", "offsetMs": 180}]},
      {"name": "answer_ticket", "scope": "opentelemetry.instrumentation.langchain",
       "startOffsetMs": 0, "endOffsetMs": 1500}
    ]})";
  // Straight to 127.0.0.1: no proxy of the environment in between.
  const std::string command =
      "env -u grpc_proxy -u https_proxy -u http_proxy -u HTTPS_PROXY -u HTTP_PROXY node " +
      otel_js + "/send_spans.mjs --protocol grpc --endpoint http://127.0.0.1:" +
      std::to_string(f.server->port()) + " --compression gzip --scenario " +
      (dir / "scenario.json") + " 2>" + (dir / "stderr");
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  char buffer[4096];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  const int status = ::pclose(pipe);
  INFO("send_spans.mjs wrote: ", out, ReadFile(dir / "stderr"));
  REQUIRE(status == 0);
  CHECK(out.find(R"("ok":true)") != std::string::npos);
  CHECK(out.find(R"("spans":2,"exportedSpans":2,"requests":1)") != std::string::npos);
  CHECK(out.find(R"("partialSuccess":[{"rejectedSpans":1,"errorMessage":"span 1: end time is )"
                 R"(before start time"}])") != std::string::npos);

  const std::vector<testing::ReceivedBody> bodies = f.ingest.bodies();
  REQUIRE(bodies.size() == 1);
  ExportTraceServiceRequest request;
  REQUIRE(request.ParseFromString(bodies[0].body));
  REQUIRE(request.resource_spans_size() == 1);
  const auto& resource_spans = request.resource_spans(0);
  bool service_name = false;
  for (const auto& attribute : resource_spans.resource().attributes()) {
    if (attribute.key() == "service.name") {
      service_name = attribute.value().string_value() == "support-bot";
    }
  }
  CHECK(service_name);
  REQUIRE(resource_spans.scope_spans_size() == 2);  // one a scope
  const opentelemetry::proto::trace::v1::Span* chat = nullptr;
  const opentelemetry::proto::trace::v1::Span* workflow = nullptr;
  for (const auto& scope_spans : resource_spans.scope_spans()) {
    REQUIRE(scope_spans.spans_size() == 1);
    const auto& span = scope_spans.spans(0);
    if (scope_spans.scope().name() == "opentelemetry.instrumentation.openai") chat = &span;
    if (scope_spans.scope().name() == "opentelemetry.instrumentation.langchain") workflow = &span;
  }
  REQUIRE(chat != nullptr);
  REQUIRE(workflow != nullptr);
  constexpr uint64_t kBaseNanos = 1767225600000ull * 1000000;
  CHECK(chat->name() == "chat gpt-4o");
  CHECK(chat->kind() == opentelemetry::proto::trace::v1::Span::SPAN_KIND_CLIENT);
  CHECK(chat->start_time_unix_nano() == kBaseNanos + 20000000);
  CHECK(chat->end_time_unix_nano() == kBaseNanos + 1270500000);
  CHECK(chat->trace_id() == workflow->trace_id());
  CHECK(chat->parent_span_id() == workflow->span_id());
  CHECK(workflow->parent_span_id().empty());
  CHECK(chat->status().code() == opentelemetry::proto::trace::v1::Status::STATUS_CODE_ERROR);
  CHECK(chat->status().message() == "rate limited");
  REQUIRE(chat->events_size() == 1);
  CHECK(chat->events(0).name() == "First Token Stream Event");
  CHECK(chat->events(0).time_unix_nano() == kBaseNanos + 200000000);
  bool tokens = false;
  for (const auto& attribute : chat->attributes()) {
    if (attribute.key() == "gen_ai.usage.input_tokens") {
      tokens = attribute.value().int_value() == 812;
    }
  }
  CHECK(tokens);
}

TEST_CASE("GrpcServer: Start refuses a key that is not the certificate's, and min_version TLS13") {
  Pki pki;
  RecordingSpanIngest ingest;
  telemetry::AgentMetrics agent_metrics;
  GrpcServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.web_config = config::WebConfig{};
  options.web_config->tls = ServerTls(pki);
  options.web_config->tls->key_file = pki.path("client.key");
  {
    GrpcServer server(options, ingest, agent_metrics);
    const std::string expected = "is not the key of cert_file " + pki.path("server.crt");
    CHECK_THROWS_WITH_AS(server.Start(), doctest::Contains(expected.c_str()), std::runtime_error);
  }
  options.web_config->tls = ServerTls(pki);
  options.web_config->tls->min_version = config::TlsVersion::kTls13;
  GrpcServer server(options, ingest, agent_metrics);
  CHECK_THROWS_WITH_AS(server.Start(), doctest::Contains("min_version TLS13 cannot be enforced"),
                       std::runtime_error);
}

TEST_CASE("GrpcServer: Start names the flag and the reason when it cannot listen") {
  RecordingSpanIngest ingest;
  telemetry::AgentMetrics agent_metrics;
  ServerFixture running;
  GrpcServerOptions options;
  // The port of a running server: gRPC's SO_REUSEPORT would let a second one bind it too.
  options.listen_address = "127.0.0.1:" + std::to_string(running.server->port());
  GrpcServer second(options, ingest, agent_metrics);
  CHECK_THROWS_WITH_AS(second.Start(),
                       doctest::Contains(("cannot listen on --otlp.grpc-listen-address " +
                                          options.listen_address + ": bind: Address already in use")
                                             .c_str()),
                       std::runtime_error);
  CHECK(Call(running.channel, SampleBody()).status.ok());

  options.listen_address = "127.0.0.1";
  GrpcServer no_port(options, ingest, agent_metrics);
  CHECK_THROWS_WITH_AS(no_port.Start(),
                       "--otlp.grpc-listen-address \"127.0.0.1\" must be host:port, e.g. "
                       "127.0.0.1:4317",
                       std::runtime_error);
  options.listen_address = "127.0.0.1:70000";
  GrpcServer bad_port(options, ingest, agent_metrics);
  CHECK_THROWS_WITH_AS(bad_port.Start(), doctest::Contains("port must be a number"),
                       std::runtime_error);
}

TEST_CASE("GrpcServer: Stop ends serving and is idempotent") {
  ServerFixture f;
  CHECK(Call(f.channel, SampleBody()).status.ok());
  f.server->Stop();
  f.server->Stop();
  CHECK(Call(f.channel, SampleBody()).status.error_code() == grpc::StatusCode::UNAVAILABLE);
}

TEST_CASE("GrpcServer: the exposure warning says what protection is missing") {
  RecordingSpanIngest ingest;
  telemetry::AgentMetrics agent_metrics;
  GrpcServerOptions options;
  options.listen_address = "127.0.0.1:4317";
  CHECK_FALSE(GrpcServer(options, ingest, agent_metrics).exposure_warning());
  options.listen_address = "localhost:4317";
  CHECK_FALSE(GrpcServer(options, ingest, agent_metrics).exposure_warning());

  options.listen_address = ":4317";
  std::optional<std::string> warning =
      GrpcServer(options, ingest, agent_metrics).exposure_warning();
  REQUIRE(warning);
  CHECK(warning->find("without a web config") != std::string::npos);

  options.web_config = config::WebConfig{};
  options.web_config->basic_auth_users = {{"alice", kAliceHash}};
  warning = GrpcServer(options, ingest, agent_metrics).exposure_warning();
  REQUIRE(warning);
  CHECK(warning->find("passwords cross the network in clear text") != std::string::npos);

  options.web_config->tls = config::TlsServerConfig{};
  CHECK_FALSE(GrpcServer(options, ingest, agent_metrics).exposure_warning());
  options.web_config->basic_auth_users.clear();
  warning = GrpcServer(options, ingest, agent_metrics).exposure_warning();
  REQUIRE(warning);
  CHECK(warning->find("with TLS but without basic_auth_users") != std::string::npos);
}

}  // namespace
}  // namespace llm_exporter::transport
