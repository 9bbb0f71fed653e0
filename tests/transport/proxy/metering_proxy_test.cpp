// MeteringProxy's answers that need no upstream (routing, the request body, stopping), through a
// fake exchange; tests/transport/proxy/proxy_integration_test.cpp has the relay over sockets.
#include "transport/proxy/metering_proxy.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "telemetry/agent_metrics.h"

namespace llm_exporter::transport::proxy {
namespace {

// The client's side as a test sets it up and reads what was answered.
class FakeExchange final : public ProxyExchange {
 public:
  FakeExchange(std::string method, std::string path, ProxyBodyRead body_read = ProxyBodyRead::kOk)
      : method_(std::move(method)), path_(std::move(path)), body_read_(body_read) {}

  std::string_view method() const override { return method_; }
  std::string_view path() const override { return path_; }
  std::string_view query() const override { return ""; }
  std::span<const HeaderField> request_headers() const override { return {}; }
  std::chrono::steady_clock::time_point received() const override { return received_; }
  int client_fd() override { return -1; }
  ProxyBodyRead ReadBody(std::size_t limit, std::string* body) override {
    read_limit = limit;
    body->clear();
    return body_read_;
  }
  bool SendHead(int status, std::span<const HeaderField> headers, ResponseFraming,
                uint64_t) override {
    status_ = status;
    for (const HeaderField& h : headers) this->headers.emplace_back(h.name, h.value);
    return true;
  }
  bool Write(std::string_view bytes) override {
    body.append(bytes);
    return true;
  }
  bool Finish() override {
    finished = true;
    return true;
  }
  void Cut() override { cut = true; }
  int status_sent() const override { return status_; }

  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool finished = false;
  bool cut = false;
  std::size_t read_limit = 0;

 private:
  std::string method_, path_;
  ProxyBodyRead body_read_;
  std::chrono::steady_clock::time_point received_ = std::chrono::steady_clock::now();
  int status_ = 0;
};

class NoCalls final : public ProxyIngest {
 public:
  void RecordProxied(const LlmCall&, bool, const UpstreamObservation&) override { ++calls; }
  int calls = 0;
};

struct Fixture {
  explicit Fixture(std::vector<std::pair<std::string, config::UpstreamKind>> upstreams) {
    std::vector<std::string> names;
    for (const auto& [name, kind] : upstreams) {
      config::Upstream u;
      u.name = name;
      u.kind = kind;
      u.url = "http://127.0.0.1:9";  // never reached by these tests
      config.upstreams.push_back(u);
      names.push_back(name);
    }
    config.max_request_bytes = 1000;
    metrics = std::make_unique<telemetry::ProxyMetrics>(agent_metrics, names);
    proxy = std::make_unique<MeteringProxy>(config, ingest, *metrics);
  }
  config::ProxyConfig config;
  telemetry::AgentMetrics agent_metrics;
  NoCalls ingest;
  std::unique_ptr<telemetry::ProxyMetrics> metrics;
  std::unique_ptr<MeteringProxy> proxy;
};

TEST_CASE("MeteringProxy: an unknown upstream gets 404 naming the known ones, counted") {
  Fixture f({{"openai", config::UpstreamKind::kOpenAi},
             {"claude", config::UpstreamKind::kAnthropic}});
  FakeExchange unknown("POST", "gemini/v1/chat/completions");
  CHECK(f.proxy->Serve(unknown) == 404);
  CHECK(unknown.body ==
        R"({"error":{"message":"no upstream named \"gemini\" in the proxy config; known: openai, claude","type":"proxy_error","code":"unknown_upstream"}})");
  CHECK(unknown.headers ==
        std::vector<std::pair<std::string, std::string>>{{"Content-Type", "application/json"}});
  CHECK(unknown.finished);
  FakeExchange none("GET", "");
  CHECK(f.proxy->Serve(none) == 404);
  CHECK(none.body ==
        R"({"error":{"message":"no upstream named in the path: use /proxy/<upstream>/..., with one of: openai, claude","type":"proxy_error","code":"unknown_upstream"}})");
  // A long name is repeated only in part.
  FakeExchange long_name("GET", std::string(100, 'x') + "/v1/models");
  CHECK(f.proxy->Serve(long_name) == 404);
  CHECK(long_name.body.find(std::string(64, 'x') + "\\\"") != std::string::npos);
  CHECK(f.metrics->unknown_upstream() == 3);
  CHECK(f.ingest.calls == 0);
}

TEST_CASE("MeteringProxy: with no upstreams the proxy is off, and says how to turn it on") {
  Fixture f({});
  FakeExchange exchange("POST", "openai/v1/chat/completions");
  CHECK(f.proxy->Serve(exchange) == 404);
  CHECK(exchange.body ==
        R"j({"error":{"message":"the metering proxy is off: start the agent with --proxy.config.file naming the upstreams to proxy (docs/proxy.md)","type":"proxy_error","code":"unknown_upstream"}})j");
  CHECK(f.metrics->unknown_upstream() == 1);
}

TEST_CASE("MeteringProxy: dot segments are refused in the upstream's error shape") {
  Fixture f({{"openai", config::UpstreamKind::kOpenAi},
             {"claude", config::UpstreamKind::kAnthropic}});
  for (const char* path : {"openai/..", "openai/v1/../../x", "openai/./v1", "openai/%2E%2e/x",
                           "openai/v1/%2e", "openai/.%2e/x"}) {
    FakeExchange exchange("GET", path);
    CHECK_MESSAGE(f.proxy->Serve(exchange) == 400, path);
    CHECK(exchange.body ==
          R"({"error":{"message":"the path after /proxy/openai/ has a \".\" or \"..\" segment","type":"proxy_error","code":"bad_path"}})");
  }
  FakeExchange anthropic("POST", "claude/v1/../messages");
  CHECK(f.proxy->Serve(anthropic) == 400);
  CHECK(anthropic.body ==
        R"({"type":"error","error":{"type":"invalid_request_error","message":"the path after /proxy/claude/ has a \".\" or \"..\" segment"}})");
  CHECK(f.ingest.calls == 0);
  CHECK(f.metrics->in_flight(0) == 0);
}

TEST_CASE("MeteringProxy: a body over max_request_bytes gets 413, one that did not arrive 408") {
  Fixture f({{"openai", config::UpstreamKind::kOpenAi}});
  FakeExchange large("POST", "openai/v1/chat/completions", ProxyBodyRead::kTooLarge);
  CHECK(f.proxy->Serve(large) == 413);
  CHECK(large.read_limit == 1000);
  CHECK(large.body ==
        R"j({"error":{"message":"the request body is larger than the proxy's max_request_bytes (1000 bytes)","type":"proxy_error","code":"request_too_large"}})j");
  FakeExchange slow("POST", "openai/v1/chat/completions", ProxyBodyRead::kIncomplete);
  CHECK(f.proxy->Serve(slow) == 408);
  FakeExchange broken("POST", "openai/v1/chat/completions", ProxyBodyRead::kFailed);
  CHECK(f.proxy->Serve(broken) == 400);
  CHECK(f.ingest.calls == 0);
}

TEST_CASE("MeteringProxy: once stopping, requests get 503") {
  Fixture f({{"openai", config::UpstreamKind::kOpenAi}});
  f.proxy->Shutdown();
  FakeExchange exchange("GET", "openai/v1/models");
  CHECK(f.proxy->Serve(exchange) == 503);
  CHECK(exchange.body ==
        R"({"error":{"message":"the agent is stopping","type":"proxy_error","code":"shutting_down"}})");
}

}  // namespace
}  // namespace llm_exporter::transport::proxy
