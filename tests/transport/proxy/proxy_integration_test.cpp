// The proxy end to end over real sockets: a client -> the agent's HTTP server -> MeteringProxy ->
// a scripted fake upstream on 127.0.0.1, with what the client got, what the upstream got and
// what was recorded checked byte for byte and value for value.
#include <doctest/doctest.h>
#include <zlib.h>

#include "fakes/socket_clients.h"
#include "proxy_test_support.h"

namespace llm_exporter::testing {
namespace {

using config::UpstreamKind;
using telemetry::UpstreamFailure;

constexpr std::string_view kChatBody =
    R"({"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-2024-08-06",)"
    R"("choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],)"
    R"("usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17,)"
    R"("prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":{"reasoning_tokens":2}}})";

std::string ChatChunk(std::string_view delta, bool usage_null = false) {
  return R"(data: {"id":"chatcmpl-2","object":"chat.completion.chunk","created":1,)"
         R"("model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":)" +
         std::string(delta) + R"(,"finish_reason":null}])" +
         (usage_null ? R"(,"usage":null)" : "") + "}\n\n";
}
const std::string kUsageChunk =
    R"(data: {"id":"chatcmpl-2","object":"chat.completion.chunk","created":1,)"
    R"("model":"gpt-4o-mini-2024-07-18","choices":[],)"
    R"("usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}})"
    "\n\n";
constexpr std::string_view kDone = "data: [DONE]\n\n";

std::string Gzip(std::string_view data) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&z, data.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

config::ProxyConfig OneUpstream(config::Upstream upstream) {
  config::ProxyConfig config;
  config.upstreams.push_back(std::move(upstream));
  return config;
}

TEST_CASE("proxy: a non-streamed answer passes through byte for byte, and is metered") {
  const std::string answer_head =
      "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-Request-Id: req_42\r\n"
      "x-ratelimit-limit-tokens: 30000\r\nx-ratelimit-remaining-tokens: 29983\r\n"
      "x-ratelimit-limit-requests: 500\r\nx-ratelimit-remaining-requests: 499\r\n"
      "Content-Length: " + std::to_string(kChatBody.size()) + "\r\n\r\n";
  FakeUpstream upstream([&](UpstreamConnection& c, const ReceivedRequest&) {
    c.Send(answer_head);
    c.Send(kChatBody);
    return true;
  });
  ProxyAgent agent(OneUpstream(UpstreamFor("openai", upstream.url() + "/base")));

  const std::string body = R"({"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}],"user":"body-user"})";
  RawClient client(agent.port());
  client.Send(Request("POST", "/proxy/openai/v1/chat/completions?api-version=a%2Fb&x=%20", body,
                      {"Authorization: Bearer sk-secret", "Content-Type: application/json",
                       "X-LLM-User-Id: alice", "X-LLM-Team-Id: search", "X-LLM-Endpoint: /answer",
                       "User-Agent: OpenAI/JS 4.104.0", "Accept-Encoding: gzip, deflate, br",
                       "x-stainless-retry-count: 1",
                       "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}));
  const RawResponse response = client.ReadResponse();
  CHECK(response.status == 201);
  CHECK(response.body == kChatBody);
  // Chunked, not with the upstream's length: a cut must fail in every client (ResponseRelay).
  CHECK(response.Header("Transfer-Encoding") == "chunked");
  CHECK_FALSE(response.Header("Content-Length"));
  CHECK(response.Header("X-Request-Id") == "req_42");
  CHECK(response.Header("Content-Type") == "application/json");

  const std::vector<ReceivedRequest> got = upstream.requests();
  REQUIRE(got.size() == 1);
  CHECK(got[0].method == "POST");
  // The path and query as the client wrote them, after the upstream's own prefix.
  CHECK(got[0].target == "/base/v1/chat/completions?api-version=a%2Fb&x=%20");
  CHECK(got[0].body == body);
  CHECK(got[0].Header("Authorization") == "Bearer sk-secret");
  CHECK(got[0].Header("User-Agent") == "OpenAI/JS 4.104.0");
  CHECK(got[0].Header("Accept-Encoding") == "gzip, deflate");
  CHECK(got[0].Header("Host") == "127.0.0.1:" + std::to_string(upstream.port()));
  CHECK(got[0].Header("Content-Length") == std::to_string(body.size()));
  CHECK_FALSE(got[0].Header("X-LLM-User-Id"));
  CHECK_FALSE(got[0].Header("X-LLM-Team-Id"));
  CHECK_FALSE(got[0].Header("X-LLM-Endpoint"));
  CHECK_FALSE(got[0].Header("Accept"));
  CHECK_FALSE(got[0].Header("Expect"));
  std::vector<std::string> names;
  for (const auto& [name, value] : got[0].headers) names.push_back(name);
  CHECK(names == std::vector<std::string>{"Host", "Authorization", "Content-Type", "User-Agent",
                                          "Accept-Encoding", "x-stainless-retry-count",
                                          "traceparent", "Content-Length"});

  const std::vector<RecordedCall> calls = agent.ingest.WaitFor(1);
  REQUIRE(calls.size() == 1);
  const RecordedCall& call = calls[0];
  CHECK(call.metered);
  CHECK(call.model == "gpt-4o-2024-08-06");  // the answer's, not the request's
  CHECK(call.status == "success");
  CHECK(call.outcome == ProxyOutcome::kOk);
  CHECK(call.user_id == "alice");
  CHECK(call.team_id == "search");
  CHECK(call.endpoint == "/answer");
  CHECK(call.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(call.usage_known);
  CHECK(call.input_tokens == 12);
  CHECK(call.output_tokens == 5);
  CHECK(call.cached_input_tokens == 4);
  CHECK(call.reasoning_tokens == 2);
  CHECK_FALSE(call.ttft_seconds);
  CHECK(call.latency_seconds > 0);
  CHECK(call.upstream == "openai");
  CHECK(call.upstream_model == "gpt-4o-2024-08-06");
  CHECK(call.client_retry);
  CHECK(call.rate_limits.limit == std::array<int64_t, 4>{500, 30000, -1, -1});
  CHECK(call.rate_limits.remaining == std::array<int64_t, 4>{499, 29983, -1, -1});
  CHECK(WaitFor([&] { return agent.proxy_metrics->in_flight(0) == 0; }));
  CHECK(agent.proxy_metrics->unmetered(0) == 0);
}

TEST_CASE("proxy: connections to the upstream are kept and reused between requests") {
  FakeUpstream upstream([](UpstreamConnection& c, const ReceivedRequest&) {
    c.Send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
           "{\"data\":[]}");
    return true;
  });
  ProxyAgent agent(OneUpstream(UpstreamFor("openai", upstream.url())));
  RawClient client(agent.port());
  for (int i = 0; i < 3; ++i) {
    client.Forget();
    client.Send(Request("GET", "/proxy/openai/v1/models", ""));
    const RawResponse response = client.ReadResponse();
    CHECK(response.status == 200);
    CHECK(response.body == "{\"data\":[]}");
  }
  CHECK(upstream.requests().size() == 3);
  CHECK(upstream.connections() == 1);
  // GET /v1/models is not an LLM call: passed through, counted as unmetered, its call ignored.
  const std::vector<RecordedCall> calls = agent.ingest.WaitFor(3);
  REQUIRE(calls.size() == 3);
  CHECK_FALSE(calls[0].metered);
  CHECK(calls[0].outcome == ProxyOutcome::kOk);
  CHECK(agent.proxy_metrics->unmetered(0) == 3);
}

TEST_CASE("proxy: a stream is relayed event by event, as each event completes") {
  // The upstream holds its second event back until the client has the first: a proxy that
  // buffered would never let the test go on.
  Latch client_has_first;
  bool upstream_waited = false;
  const std::string first = ChatChunk(R"({"role":"assistant","content":"Hel"})");
  const std::string second = ChatChunk(R"({"content":"lo"})");
  FakeUpstream upstream([&](UpstreamConnection& c, const ReceivedRequest&) {
    c.Send("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
           "Transfer-Encoding: chunked\r\n\r\n");
    // The first event in two pieces: it goes out when it is complete.
    c.SendChunk(first.substr(0, 40));
    c.SendChunk(first.substr(40));
    upstream_waited = client_has_first.Wait();
    c.SendChunk(second + kUsageChunk);
    c.SendChunk(kDone);
    c.Send("0\r\n\r\n");
    return true;
  });
  ProxyAgent agent(OneUpstream(UpstreamFor("openai", upstream.url())));
  RawClient client(agent.port());
  client.Send(Request("POST", "/proxy/openai/v1/chat/completions",
                      R"({"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[]})",
                      {"Content-Type: application/json"}));
  REQUIRE(client.ReadUntil([&](std::string_view raw) {
    const auto parsed = ParseResponse(raw);
    return parsed && parsed->body == first;
  }));
  client_has_first.Release();
  const RawResponse response = client.ReadResponse();
  CHECK(upstream_waited);
  CHECK(response.status == 200);
  CHECK(response.complete);
  CHECK(response.Header("Transfer-Encoding") == "chunked");
  CHECK(response.Header("Content-Type") == "text/event-stream; charset=utf-8");
  CHECK(response.body == first + second + kUsageChunk + std::string(kDone));

  const std::vector<RecordedCall> calls = agent.ingest.WaitFor(1);
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].status == "success");
  CHECK(calls[0].model == "gpt-4o-mini-2024-07-18");
  CHECK(calls[0].usage_known);
  CHECK(calls[0].input_tokens == 9);
  CHECK(calls[0].output_tokens == 3);
  REQUIRE(calls[0].ttft_seconds);
  CHECK(*calls[0].ttft_seconds > 0);
  CHECK(*calls[0].ttft_seconds <= calls[0].latency_seconds);
  CHECK(agent.proxy_metrics->streams_without_usage(0) == 0);
}

TEST_CASE("proxy: a stream without usage is relayed as it is and counted") {
  const std::string stream = ChatChunk(R"({"content":"Hi"})") + std::string(kDone);
  FakeUpstream upstream([&](UpstreamConnection& c, const ReceivedRequest&) {
    c.Send("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: " +
           std::to_string(stream.size()) + "\r\n\r\n" + stream);
    return true;
  });
  ProxyAgent agent(OneUpstream(UpstreamFor("openai", upstream.url())));
  RawClient client(agent.port());
  const std::string body = R"({"model":"gpt-4o-mini","stream":true,"messages":[]})";
  client.Send(Request("POST", "/proxy/openai/v1/chat/completions", body));
  const RawResponse response = client.ReadResponse();
  CHECK(response.body == stream);
  CHECK(response.complete);
  CHECK(upstream.requests().at(0).body == body);  // no injection unless configured
  const std::vector<RecordedCall> calls = agent.ingest.WaitFor(1);
  REQUIRE(calls.size() == 1);
  CHECK_FALSE(calls[0].usage_known);
  CHECK(calls[0].status == "success");
  CHECK(calls[0].model == "gpt-4o-mini-2024-07-18");
  CHECK(agent.proxy_metrics->streams_without_usage(0) == 1);
}

TEST_CASE("proxy: injected stream usage is metered and never reaches the client") {
  FakeUpstream upstream([&](UpstreamConnection& c, const ReceivedRequest&) {
    c.Send("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
    c.SendChunk(ChatChunk(R"({"content":"Hi"})", true));
    c.SendChunk(kUsageChunk);
    c.SendChunk(kDone);
    c.Send("0\r\n\r\n");
    return true;
  });
  config::Upstream u = UpstreamFor("openai", upstream.url());
  u.inject_stream_usage = true;
  ProxyAgent agent(OneUpstream(u));
  RawClient client(agent.port());
  client.Send(Request("POST", "/proxy/openai/v1/chat/completions",
                      R"({"model":"gpt-4o-mini","stream":true,"messages":[]})",
                      {"Accept-Encoding: gzip"}));
  const RawResponse response = client.ReadResponse();
  CHECK(response.body == ChatChunk(R"({"content":"Hi"})") + std::string(kDone));
  const ReceivedRequest got = upstream.requests().at(0);
  CHECK(got.body ==
        R"({"stream_options":{"include_usage":true},"model":"gpt-4o-mini","stream":true,"messages":[]})");
  CHECK(got.Header("Accept-Encoding") == "identity");
  const std::vector<RecordedCall> calls = agent.ingest.WaitFor(1);
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].usage_known);
  CHECK(calls[0].input_tokens == 9);
  CHECK(calls[0].output_tokens == 3);
  CHECK(agent.proxy_metrics->streams_without_usage(0) == 0);
}

TEST_CASE("proxy: a gzip answer goes to the client compressed and is metered inflated") {
  const std::string compressed = Gzip(kChatBody);
  FakeUpstream upstream([&](UpstreamConnection& c, const ReceivedRequest&) {
    c.Send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
           "Transfer-Encoding: chunked\r\n\r\n");
    // In pieces, as a compressing server flushes them.
    c.SendChunk(compressed.substr(0, 10));
    c.SendChunk(compressed.substr(10));
    c.Send("0\r\n\r\n");
    return true;
  });
  ProxyAgent agent(OneUpstream(UpstreamFor("openai", upstream.url())));
  RawClient client(agent.port());
  client.Send(Request("POST", "/proxy/openai/v1/chat/completions", R"({"model":"gpt-4o"})",
                      {"Accept-Encoding: br, gzip"}));
  const RawResponse response = client.ReadResponse();
  CHECK(response.status == 200);
  CHECK(response.Header("Content-Encoding") == "gzip");
  CHECK(response.body == compressed);
  CHECK(upstream.requests().at(0).Header("Accept-Encoding") == "gzip");
  const std::vector<RecordedCall> calls = agent.ingest.WaitFor(1);
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].usage_known);
  CHECK(calls[0].input_tokens == 12);
  CHECK(calls[0].output_tokens == 5);
  CHECK(calls[0].model == "gpt-4o-2024-08-06");
}

TEST_CASE("proxy: error statuses and bodies reach the client unchanged") {
  const std::string error =
      R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})";
  FakeUpstream upstream([&](UpstreamConnection& c, const ReceivedRequest&) {
    c.Send("HTTP/1.1 529 Site Overloaded\r\nContent-Type: application/json\r\n"
           "anthropic-ratelimit-requests-remaining: 0\r\nContent-Length: " +
           std::to_string(error.size()) + "\r\n\r\n" + error);
    return true;
  });
  ProxyAgent agent(OneUpstream(UpstreamFor("claude", upstream.url(), UpstreamKind::kAnthropic)));
  RawClient client(agent.port());
  client.Send(Request("POST", "/proxy/claude/v1/messages",
                      R"({"model":"claude-3-5-haiku-latest","max_tokens":5,"messages":[],"metadata":{"user_id":"u-7"}})",
                      {"x-api-key: k", "anthropic-version: 2023-06-01"}));
  const RawResponse response = client.ReadResponse();
  CHECK(response.status == 529);
  CHECK(response.body == error);
  const std::vector<RecordedCall> calls = agent.ingest.WaitFor(1);
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].status == "error");
  CHECK(calls[0].outcome == ProxyOutcome::kUpstreamError);
  CHECK(calls[0].model == "claude-3-5-haiku-latest");  // the request's: the answer names none
  CHECK(calls[0].user_id == "u-7");
  CHECK(calls[0].rate_limits.remaining == std::array<int64_t, 4>{0, -1, -1, -1});
}

TEST_CASE("proxy: a client hang-up mid-stream aborts the upstream at once") {
  Latch upstream_saw_close;
  std::chrono::steady_clock::time_point closed_at;
  FakeUpstream upstream([&](UpstreamConnection& c, const ReceivedRequest&) {
    c.Send("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
    c.SendChunk(ChatChunk(R"({"content":"Hel"})"));
    // Then silence, as a model thinking: only the client's hang-up can end this.
    if (c.WaitClosed(10s)) {
      closed_at = std::chrono::steady_clock::now();
      upstream_saw_close.Release();
    }
    return false;
  });
  config::Upstream u = UpstreamFor("openai", upstream.url());
  u.idle_timeout = std::chrono::minutes(1);
  ProxyAgent agent(OneUpstream(u));
  auto client = std::make_unique<RawClient>(agent.port());
  client->Send(Request("POST", "/proxy/openai/v1/chat/completions",
                       R"({"model":"gpt-4o","stream":true})"));
  REQUIRE(client->ReadUntil([](std::string_view raw) { return raw.find("Hel") != std::string_view::npos; }));
  const auto hung_up = std::chrono::steady_clock::now();
  client.reset();
  REQUIRE(upstream_saw_close.Wait());
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(closed_at - hung_up);
  MESSAGE("the upstream saw its connection close " << took.count() << " ms after the hang-up");
  // Far below the idle timeout: the hang-up, not a timeout, ended it.
  CHECK(took < std::chrono::seconds(5));
  const std::vector<RecordedCall> calls = agent.ingest.WaitFor(1);
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].status == "cancelled");
  CHECK(calls[0].outcome == ProxyOutcome::kCancelled);
  // Counted once the handler returns, just after the call was recorded.
  CHECK(WaitFor([&] {
    return agent.SelfMetrics().find(
               "llm_exporter_http_requests_total{code=\"200\",handler=\"/proxy/\"} 1") !=
           std::string::npos;
  }));
}

TEST_CASE("proxy: a client hang-up before any answer aborts the upstream too") {
  Latch upstream_saw_close;
  Latch request_arrived;
  FakeUpstream upstream([&](UpstreamConnection& c, const ReceivedRequest&) {
    request_arrived.Release();
    if (c.WaitClosed(10s)) upstream_saw_close.Release();
    return false;
  });
  config::Upstream u = UpstreamFor("openai", upstream.url());
  u.idle_timeout = std::chrono::minutes(1);
  ProxyAgent agent(OneUpstream(u));
  auto client = std::make_unique<RawClient>(agent.port());
  client->Send(Request("POST", "/proxy/openai/v1/chat/completions", R"({"model":"gpt-4o"})"));
  REQUIRE(request_arrived.Wait());
  client.reset();
  CHECK(upstream_saw_close.Wait());
  const std::vector<RecordedCall> calls = agent.ingest.WaitFor(1);
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].outcome == ProxyOutcome::kCancelled);
  CHECK(calls[0].model == "gpt-4o");
}

TEST_CASE("proxy: an upstream silent past its idle timeout gets 504 before an answer") {
  FakeUpstream upstream([](UpstreamConnection& c, const ReceivedRequest&) {
    c.WaitClosed(10s);
    return false;
  });
  config::Upstream u = UpstreamFor("openai", upstream.url());
  u.idle_timeout = std::chrono::milliseconds(300);
  ProxyAgent agent(OneUpstream(u));
  RawClient client(agent.port());
  client.Send(Request("POST", "/proxy/openai/v1/chat/completions", R"({"model":"gpt-4o"})"));
  const RawResponse response = client.ReadResponse();
  CHECK(response.status == 504);
  CHECK(response.body ==
        R"j({"error":{"message":"upstream \"openai\" sent nothing for its idle_timeout (300 ms)","type":"proxy_error","code":"upstream_timeout"}})j");
  const std::vector<RecordedCall> calls = agent.ingest.WaitFor(1);
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].outcome == ProxyOutcome::kTimeout);
  CHECK(calls[0].status == "error");
  CHECK(calls[0].latency_seconds >= 0.3);
  CHECK(agent.proxy_metrics->failures(0, UpstreamFailure::kTimeout) == 1);
}

TEST_CASE("proxy: a stream that stalls mid-answer is cut, never ended cleanly") {
  FakeUpstream upstream([](UpstreamConnection& c, const ReceivedRequest&) {
    c.Send("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
    c.SendChunk(ChatChunk(R"({"content":"Hel"})"));
    c.WaitClosed(10s);
    return false;
  });
  config::Upstream u = UpstreamFor("openai", upstream.url());
  u.idle_timeout = std::chrono::milliseconds(300);
  ProxyAgent agent(OneUpstream(u));
  RawClient client(agent.port());
  client.Send(Request("POST", "/proxy/openai/v1/chat/completions", R"({"model":"gpt-4o","stream":true})"));
  CHECK(client.ReadToEnd());
  const std::optional<RawResponse> response = ParseResponse(client.received());
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->body == ChatChunk(R"({"content":"Hel"})"));
  CHECK_FALSE(response->complete);  // no last chunk: the client sees a broken stream
  const std::vector<RecordedCall> calls = agent.ingest.WaitFor(1);
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].outcome == ProxyOutcome::kTimeout);
  REQUIRE(calls[0].ttft_seconds);
}

TEST_CASE("proxy: an answer with a length that breaks off reaches the client as a cut") {
  FakeUpstream upstream([](UpstreamConnection& c, const ReceivedRequest&) {
    c.Send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
           "{\"id\":");
    return false;  // closes the connection 94 bytes short
  });
  ProxyAgent agent(OneUpstream(UpstreamFor("openai", upstream.url())));
  RawClient client(agent.port());
  client.Send(Request("POST", "/proxy/openai/v1/chat/completions", R"({"model":"gpt-4o"})"));
  CHECK(client.ReadToEnd());
  const std::optional<RawResponse> response = ParseResponse(client.received());
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->body == "{\"id\":");
  CHECK_FALSE(response->complete);  // no last chunk
  const std::vector<RecordedCall> calls = agent.ingest.WaitFor(1);
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].outcome == ProxyOutcome::kStreamError);
  CHECK(calls[0].status == "error");
  CHECK(agent.proxy_metrics->failures(0, UpstreamFailure::kBroken) == 1);
}

TEST_CASE("proxy: labels longer than --ingest.max-label-bytes are cut, not refused") {
  FakeUpstream upstream([](UpstreamConnection& c, const ReceivedRequest&) {
    c.Send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
    return true;
  });
  ProxyAgent agent(OneUpstream(UpstreamFor("openai", upstream.url())), std::nullopt,
                   /*max_label_bytes=*/4);
  RawClient client(agent.port());
  client.Send(Request("POST", "/proxy/openai/v1/chat/completions",
                      R"({"model":"gpt-4o-mini-2024-07-18"})",
                      {"X-LLM-User-Id: caf\xC3\xA9-owner", "X-LLM-Team-Id: search",
                       "X-LLM-Endpoint: /a/very/long/endpoint"}));
  CHECK(client.ReadResponse().status == 200);
  const std::vector<RecordedCall> calls = agent.ingest.WaitFor(1);
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].model == "gpt-");
  CHECK(calls[0].user_id == "caf");  // 4 bytes would cut "é" (C3 A9) in two: it goes whole
  CHECK(calls[0].team_id == "sear");
  CHECK(calls[0].endpoint == "/a/v");
  CHECK(calls[0].upstream_model == "gpt-");
}

TEST_CASE("proxy: an upstream that cannot be reached gets 502 in the upstream's error shape") {
  // A port nothing listens on: bound, then closed.
  int port = 0;
  {
    FakeUpstream closed([](UpstreamConnection&, const ReceivedRequest&) { return false; });
    port = closed.port();
  }
  ProxyAgent agent(OneUpstream(UpstreamFor("claude", "http://127.0.0.1:" + std::to_string(port),
                                           UpstreamKind::kAnthropic)));
  RawClient client(agent.port());
  client.Send(Request("POST", "/proxy/claude/v1/messages", R"({"model":"claude-3-5-haiku-latest"})"));
  const RawResponse response = client.ReadResponse();
  CHECK(response.status == 502);
  CHECK(response.Header("Content-Type") == "application/json");
  CHECK(response.body.starts_with(
      R"({"type":"error","error":{"type":"api_error","message":"the proxy could not reach upstream \"claude\": )"));
  const std::vector<RecordedCall> calls = agent.ingest.WaitFor(1);
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].outcome == ProxyOutcome::kUnreachable);
  CHECK(calls[0].model == "claude-3-5-haiku-latest");
  CHECK(agent.proxy_metrics->failures(0, UpstreamFailure::kConnect) == 1);
}

TEST_CASE("proxy: an unknown upstream gets 404 naming the known ones") {
  FakeUpstream upstream([](UpstreamConnection&, const ReceivedRequest&) { return false; });
  config::ProxyConfig config;
  config.upstreams.push_back(UpstreamFor("openai", upstream.url()));
  config.upstreams.push_back(UpstreamFor("claude", upstream.url(), UpstreamKind::kAnthropic));
  ProxyAgent agent(std::move(config));
  RawClient client(agent.port());
  client.Send(Request("POST", "/proxy/gemini/v1/chat/completions", "{}"));
  const RawResponse response = client.ReadResponse();
  CHECK(response.status == 404);
  CHECK(response.body ==
        R"({"error":{"message":"no upstream named \"gemini\" in the proxy config; known: openai, claude","type":"proxy_error","code":"unknown_upstream"}})");
  // Its body was not read: the connection closes rather than read it to throw it away.
  CHECK(response.Header("Connection") == "close");
  CHECK(agent.proxy_metrics->unknown_upstream() == 1);
  CHECK(upstream.requests().empty());
}

TEST_CASE("proxy: a body over max_request_bytes gets 413, a dot segment 400") {
  FakeUpstream upstream([](UpstreamConnection&, const ReceivedRequest&) { return false; });
  config::ProxyConfig config = OneUpstream(UpstreamFor("openai", upstream.url()));
  config.max_request_bytes = 10;
  ProxyAgent agent(std::move(config));
  {
    RawClient client(agent.port());
    client.Send(Request("POST", "/proxy/openai/v1/chat/completions", R"({"model":"gpt-4o"})"));
    const RawResponse response = client.ReadResponse();
    CHECK(response.status == 413);
    CHECK(response.Header("Connection") == "close");
    CHECK(response.body.find("max_request_bytes (10 bytes)") != std::string::npos);
  }
  for (const char* target : {"/proxy/openai/v1/../admin", "/proxy/openai/%2e%2E/x",
                             "/proxy/openai/./v1/models"}) {
    RawClient client(agent.port());
    client.Send(Request("GET", target, ""));
    const RawResponse response = client.ReadResponse();
    CHECK_MESSAGE(response.status == 400, target);
  }
  CHECK(upstream.requests().empty());
}

TEST_CASE("proxy: off, /proxy/ answers 404 saying how to turn it on") {
  // The agent's way: a proxy with no upstreams, which counts the request.
  ProxyAgent agent{config::ProxyConfig{}};
  RawClient client(agent.port());
  client.Send(Request("GET", "/proxy/openai/v1/models", ""));
  const RawResponse response = client.ReadResponse();
  CHECK(response.status == 404);
  CHECK(response.body ==
        R"j({"error":{"message":"the metering proxy is off: start the agent with --proxy.config.file naming the upstreams to proxy (docs/proxy.md)","type":"proxy_error","code":"unknown_upstream"}})j");
  CHECK(agent.proxy_metrics->unknown_upstream() == 1);
  // An HTTP server given no proxy at all says the same.
  ProxyAgent bare(std::nullopt);
  RawClient bare_client(bare.port());
  bare_client.Send(Request("GET", "/proxy/openai/v1/models", ""));
  const RawResponse bare_response = bare_client.ReadResponse();
  CHECK(bare_response.status == 404);
  CHECK(bare_response.body.find("--proxy.config.file") != std::string::npos);
}

TEST_CASE("proxy: with basic auth on, clients authenticate with Proxy-Authorization (407)") {
  FakeUpstream upstream([](UpstreamConnection& c, const ReceivedRequest&) {
    c.Send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
    return true;
  });
  config::WebConfig web;
  // Made with Python's crypt module (libxcrypt): crypt.crypt("wonderland", "$2b$04$" + salt).
  web.basic_auth_users["alice"] = "$2b$04$abcdefghijklmnopqrstuujZkTwHUiJ9XdZPwKfcfDo7dMp5DjlTu";
  ProxyAgent agent(OneUpstream(UpstreamFor("openai", upstream.url())), web);
  const std::string alice = "Basic YWxpY2U6d29uZGVybGFuZA==";  // alice:wonderland
  {
    RawClient client(agent.port());
    client.Send(Request("GET", "/proxy/openai/v1/models", "", {"Authorization: Bearer sk-1"}));
    const RawResponse response = client.ReadResponse();
    CHECK(response.status == 407);
    CHECK(response.Header("Proxy-Authenticate") == R"(Basic realm="llm_exporter", charset="UTF-8")");
    CHECK(response.Header("Content-Type") == "application/json");
  }
  {
    // The agent's password in Authorization is not taken for the proxy: that header is the
    // provider's.
    RawClient client(agent.port());
    client.Send(Request("GET", "/proxy/openai/v1/models", "", {"Authorization: " + alice}));
    CHECK(client.ReadResponse().status == 407);
  }
  {
    RawClient client(agent.port());
    client.Send(Request("GET", "/proxy/openai/v1/models", "",
                        {"Proxy-Authorization: " + alice, "Authorization: Bearer sk-1"}));
    const RawResponse response = client.ReadResponse();
    CHECK(response.status == 200);
    CHECK(response.body == "{}");
  }
  {
    // The other endpoints keep Authorization.
    RawClient client(agent.port());
    client.Send(Request("GET", "/metrics", "", {"Proxy-Authorization: " + alice}));
    CHECK(client.ReadResponse().status == 401);
  }
  const std::vector<ReceivedRequest> got = upstream.requests();
  REQUIRE(got.size() == 1);
  CHECK(got[0].Header("Authorization") == "Bearer sk-1");
  CHECK_FALSE(got[0].Header("Proxy-Authorization"));
  const std::string metrics = agent.SelfMetrics();
  CHECK(metrics.find("llm_exporter_http_requests_total{code=\"407\",handler=\"/proxy/\"} 2") !=
        std::string::npos);
  CHECK(metrics.find("llm_exporter_http_auth_failures_total{reason=\"missing\"} 3") !=
        std::string::npos);
}

TEST_CASE("proxy: stopping the proxy cuts the streams in flight at once") {
  Latch upstream_saw_close;
  FakeUpstream upstream([&](UpstreamConnection& c, const ReceivedRequest&) {
    c.Send("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
    c.SendChunk(ChatChunk(R"({"content":"Hel"})"));
    if (c.WaitClosed(10s)) upstream_saw_close.Release();
    return false;
  });
  config::Upstream u = UpstreamFor("openai", upstream.url());
  u.idle_timeout = std::chrono::minutes(1);
  ProxyAgent agent(OneUpstream(u));
  RawClient client(agent.port());
  client.Send(Request("POST", "/proxy/openai/v1/chat/completions", R"({"model":"gpt-4o","stream":true})"));
  REQUIRE(client.ReadUntil([](std::string_view raw) { return raw.find("Hel") != std::string_view::npos; }));
  agent.proxy->Shutdown();
  CHECK(client.ReadToEnd());
  CHECK_FALSE(ParseResponse(client.received())->complete);
  CHECK(upstream_saw_close.Wait());
  const std::vector<RecordedCall> calls = agent.ingest.WaitFor(1);
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].outcome == ProxyOutcome::kCancelled);
  // Later requests are refused.
  RawClient late(agent.port());
  late.Send(Request("GET", "/proxy/openai/v1/models", ""));
  CHECK(late.ReadResponse().status == 503);
}

TEST_CASE("proxy: HEAD keeps the answer's length without a body, and the connection") {
  FakeUpstream upstream([](UpstreamConnection& c, const ReceivedRequest& r) {
    if (r.method == "HEAD") {
      c.Send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 42\r\n\r\n");
    } else {
      c.Send("HTTP/1.1 204 No Content\r\nx-request-id: r2\r\n\r\n");
    }
    return true;
  });
  ProxyAgent agent(OneUpstream(UpstreamFor("openai", upstream.url())));
  RawClient client(agent.port());
  client.Send(Request("HEAD", "/proxy/openai/v1/files", ""));
  REQUIRE(client.ReadUntil([](std::string_view raw) { return raw.find("\r\n\r\n") != std::string_view::npos; }));
  const std::string head = client.received();
  CHECK(head.find("Content-Length: 42\r\n") != std::string::npos);
  CHECK(head.ends_with("\r\n\r\n"));
  client.Forget();
  client.Send(Request("DELETE", "/proxy/openai/v1/files/file-1", ""));
  REQUIRE(client.ReadUntil([](std::string_view raw) { return raw.ends_with("\r\n\r\n"); }));
  CHECK(client.received().starts_with("HTTP/1.1 204 "));
  CHECK(client.received().find("x-request-id: r2\r\n") != std::string::npos);
  CHECK(client.received().find("Content-Length") == std::string::npos);
  CHECK(client.received().find("Transfer-Encoding") == std::string::npos);
  const std::vector<ReceivedRequest> got = upstream.requests();
  REQUIRE(got.size() == 2);
  CHECK(got[0].method == "HEAD");
  CHECK(got[1].method == "DELETE");
  CHECK(got[1].target == "/v1/files/file-1");
  CHECK_FALSE(got[1].Header("Content-Length"));
}

TEST_CASE("proxy: an HTTP/1.0 client gets a body that ends with the connection") {
  FakeUpstream upstream([](UpstreamConnection& c, const ReceivedRequest&) {
    c.Send("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n");
    c.SendChunk("hello ");
    c.SendChunk("world");
    c.Send("0\r\n\r\n");
    return true;
  });
  ProxyAgent agent(OneUpstream(UpstreamFor("openai", upstream.url())));
  RawClient client(agent.port());
  client.Send("GET /proxy/openai/v1/models HTTP/1.0\r\n\r\n");
  CHECK(client.ReadToEnd());
  const std::string& raw = client.received();
  CHECK(raw.find("Transfer-Encoding") == std::string::npos);
  CHECK(raw.find("Connection: close\r\n") != std::string::npos);
  CHECK(raw.ends_with("\r\n\r\nhello world"));
}

TEST_CASE("proxy: a client waiting for 100 Continue gets it, then its body is forwarded") {
  FakeUpstream upstream([](UpstreamConnection& c, const ReceivedRequest&) {
    c.Send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
    return true;
  });
  ProxyAgent agent(OneUpstream(UpstreamFor("openai", upstream.url())));
  RawClient client(agent.port());
  const std::string body = R"({"model":"text-embedding-3-small","input":"x"})";
  client.Send("POST /proxy/openai/v1/embeddings HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
              "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n");
  REQUIRE(client.ReadUntil([](std::string_view raw) { return raw == "HTTP/1.1 100 Continue\r\n\r\n"; }));
  client.Forget();
  client.Send(body);
  CHECK(client.ReadResponse().status == 200);
  const std::vector<ReceivedRequest> got = upstream.requests();
  REQUIRE(got.size() == 1);
  CHECK(got[0].body == body);
  CHECK_FALSE(got[0].Header("Expect"));
}

}  // namespace
}  // namespace llm_exporter::testing
