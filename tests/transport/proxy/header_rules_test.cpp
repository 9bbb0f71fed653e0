#include "transport/proxy/header_rules.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace llm_exporter::transport::proxy {
namespace {

using Lines = std::vector<std::string>;

TEST_CASE("UpstreamRequestHeaders: end-to-end headers go as received, in order") {
  const std::vector<HeaderField> received = {
      {"Authorization", "Bearer sk-test"},
      {"Content-Type", "application/json"},
      {"OpenAI-Organization", "org-1"},
      {"anthropic-version", "2023-06-01"},
      {"x-api-key", "key"},
      {"User-Agent", "OpenAI/JS 4.104.0"},
      {"Accept", "application/json"},
  };
  CHECK(UpstreamRequestHeaders(received, false, true) ==
        Lines{"Authorization: Bearer sk-test", "Content-Type: application/json",
              "OpenAI-Organization: org-1", "anthropic-version: 2023-06-01", "x-api-key: key",
              "User-Agent: OpenAI/JS 4.104.0", "Accept: application/json", "Expect:"});
}

TEST_CASE("UpstreamRequestHeaders: hop-by-hop, Host, Content-Length and the agent's own go") {
  const std::vector<HeaderField> received = {
      {"Host", "127.0.0.1:9778"},
      {"Connection", "keep-alive, X-Hop"},
      {"X-Hop", "1"},
      {"Keep-Alive", "timeout=5"},
      {"Proxy-Authorization", "Basic dTpw"},
      {"proxy-connection", "keep-alive"},
      {"TE", "trailers"},
      {"Trailer", "X-Checksum"},
      {"Transfer-Encoding", "chunked"},
      {"Upgrade", "h2c"},
      {"Content-Length", "12"},
      {"Expect", "100-continue"},
      {"X-LLM-User-Id", "alice"},
      {"x-llm-team-id", "search"},
      {"X-LLM-Endpoint", "/chat"},
      {"Helicone-User-Id", "bob"},
      {"Content-Type", "application/json"},
  };
  CHECK(UpstreamRequestHeaders(received, false, true) ==
        Lines{"Helicone-User-Id: bob", "Content-Type: application/json", "Accept:", "Expect:"});
}

TEST_CASE("UpstreamRequestHeaders: libcurl adds no header of its own") {
  // No Accept: */*, no Expect: 100-continue, no form Content-Type for a body without one, no
  // User-Agent when the client sent none (libcurl sends none unless told to).
  CHECK(UpstreamRequestHeaders({}, false, true) == Lines{"Accept:", "Expect:", "Content-Type:"});
  CHECK(UpstreamRequestHeaders({}, false, false) == Lines{"Accept:", "Expect:"});
  // An empty value is sent as libcurl's "Name;".
  const std::vector<HeaderField> empty = {{"X-Empty", ""}};
  CHECK(UpstreamRequestHeaders(empty, false, false) == Lines{"X-Empty;", "Accept:", "Expect:"});
}

TEST_CASE("UpstreamRequestHeaders: Accept-Encoding is narrowed, or identity when injecting") {
  const std::vector<HeaderField> received = {{"Accept-Encoding", "gzip, deflate, br, zstd"}};
  CHECK(UpstreamRequestHeaders(received, false, false) ==
        Lines{"Accept-Encoding: gzip, deflate", "Accept:", "Expect:"});
  CHECK(UpstreamRequestHeaders(received, true, false) ==
        Lines{"Accept-Encoding: identity", "Accept:", "Expect:"});
  // Injecting: identity even when the client named no coding.
  CHECK(UpstreamRequestHeaders({}, true, false) ==
        Lines{"Accept-Encoding: identity", "Accept:", "Expect:"});
}

TEST_CASE("NarrowAcceptEncoding: keeps gzip, deflate and identity with their parameters") {
  CHECK(NarrowAcceptEncoding("gzip, deflate, br") == "gzip, deflate");
  CHECK(NarrowAcceptEncoding("br;q=1.0, GZIP;q=0.5, identity;q=0.1") ==
        "GZIP;q=0.5, identity;q=0.1");
  CHECK(NarrowAcceptEncoding("br, zstd") == "identity");
  CHECK(NarrowAcceptEncoding("*") == "identity");
  CHECK(NarrowAcceptEncoding("") == "identity");
  CHECK(NarrowAcceptEncoding("gzipx, x-deflate") == "identity");
}

TEST_CASE("ClientResponseHeaders: all but hop-by-hop headers and Content-Length, in order") {
  const std::vector<HeaderField> upstream = {
      {"date", "Tue, 01 Jul 2025 10:00:00 GMT"},
      {"content-type", "text/event-stream; charset=utf-8"},
      {"transfer-encoding", "chunked"},
      {"connection", "keep-alive, x-conn"},
      {"x-conn", "1"},
      {"keep-alive", "timeout=5"},
      {"content-length", "10"},
      {"x-request-id", "req_1"},
      {"openai-processing-ms", "120"},
      {"x-ratelimit-remaining-tokens", "9000"},
      {"set-cookie", "__cf_bm=1"},
      {"content-encoding", "gzip"},
  };
  const std::vector<HeaderField> relayed = ClientResponseHeaders(upstream);
  std::vector<std::string> names;
  for (const HeaderField& h : relayed) names.emplace_back(h.name);
  CHECK(names == std::vector<std::string>{"date", "content-type", "x-request-id",
                                          "openai-processing-ms", "x-ratelimit-remaining-tokens",
                                          "set-cookie", "content-encoding"});
  CHECK(relayed[1].value == "text/event-stream; charset=utf-8");
}

TEST_CASE("IsHopByHop: the fixed list and what Connection names, ignoring case") {
  const std::vector<HeaderField> headers = {{"Connection", "close, X-A ,x-b"}};
  CHECK(IsHopByHop("connection", headers));
  CHECK(IsHopByHop("TRANSFER-ENCODING", headers));
  CHECK(IsHopByHop("x-a", headers));
  CHECK(IsHopByHop("X-B", headers));
  CHECK_FALSE(IsHopByHop("X-C", headers));
  CHECK_FALSE(IsHopByHop("Authorization", headers));
}

TEST_CASE("Attribute: the agent's headers, then Helicone's, then LiteLLM's, then the body") {
  const std::vector<HeaderField> all = {
      {"x-litellm-end-user-id", "lite"},  {"Helicone-User-Id", "heli"},
      {"X-LLM-User-Id", "llm"},           {"Helicone-Property-Team", "heli-team"},
      {"X-LLM-Team-Id", "llm-team"},      {"Helicone-Property-Feature", "heli-feature"},
      {"X-LLM-Endpoint", "llm-endpoint"},
  };
  Attribution a = Attribute(all, "body-user");
  CHECK(a.user == "llm");
  CHECK(a.team == "llm-team");
  CHECK(a.endpoint == "llm-endpoint");

  const std::vector<HeaderField> helicone = {{"x-litellm-end-user-id", "lite"},
                                             {"helicone-user-id", "heli"},
                                             {"helicone-property-team", "heli-team"},
                                             {"helicone-property-feature", "heli-feature"}};
  a = Attribute(helicone, "body-user");
  CHECK(a.user == "heli");
  CHECK(a.team == "heli-team");
  CHECK(a.endpoint == "heli-feature");

  const std::vector<HeaderField> litellm = {{"X-LiteLLM-End-User-Id", "lite"}};
  CHECK(Attribute(litellm, "body-user").user == "lite");

  // An empty header counts as absent; none at all: the body's user, else "".
  const std::vector<HeaderField> blank = {{"X-LLM-User-Id", "  "}, {"X-LLM-Team-Id", ""}};
  a = Attribute(blank, "body-user");
  CHECK(a.user == "body-user");
  CHECK(a.team.empty());
  CHECK(a.endpoint.empty());
  CHECK(Attribute({}, "").user.empty());
}

TEST_CASE("ReadRateLimits: OpenAI's and Anthropic's headers, by resource") {
  const std::vector<HeaderField> openai = {
      {"x-ratelimit-limit-requests", "10000"},   {"x-ratelimit-remaining-requests", "9999"},
      {"x-ratelimit-limit-tokens", "2000000"},   {"x-ratelimit-remaining-tokens", "1999950"},
      {"x-ratelimit-reset-requests", "6ms"},     {"x-ratelimit-reset-tokens", "1ms"},
  };
  RateLimits r = ReadRateLimits(openai);
  CHECK(r.limit == std::array<int64_t, 4>{10000, 2000000, -1, -1});
  CHECK(r.remaining == std::array<int64_t, 4>{9999, 1999950, -1, -1});

  const std::vector<HeaderField> anthropic = {
      {"anthropic-ratelimit-requests-limit", "50"},
      {"anthropic-ratelimit-requests-remaining", "49"},
      {"anthropic-ratelimit-requests-reset", "2025-07-01T10:00:01Z"},
      {"Anthropic-RateLimit-Tokens-Limit", "90000"},
      {"anthropic-ratelimit-tokens-remaining", "89000"},
      {"anthropic-ratelimit-input-tokens-limit", "40000"},
      {"anthropic-ratelimit-input-tokens-remaining", "39500"},
      {"anthropic-ratelimit-output-tokens-limit", "8000"},
      {"anthropic-ratelimit-output-tokens-remaining", "7500"},
  };
  r = ReadRateLimits(anthropic);
  CHECK(r.limit == std::array<int64_t, 4>{50, 90000, 40000, 8000});
  CHECK(r.remaining == std::array<int64_t, 4>{49, 89000, 39500, 7500});
}

TEST_CASE("ReadRateLimits: a value that is not a non-negative integer stays absent") {
  const std::vector<HeaderField> bad = {
      {"x-ratelimit-limit-requests", "ten"},   {"x-ratelimit-remaining-requests", "-1"},
      {"x-ratelimit-limit-tokens", "1.5"},     {"x-ratelimit-remaining-tokens", " 42 "},
  };
  const RateLimits r = ReadRateLimits(bad);
  CHECK(r.limit == std::array<int64_t, 4>{-1, -1, -1, -1});
  CHECK(r.remaining == std::array<int64_t, 4>{-1, 42, -1, -1});
  CHECK(ReadRateLimits({}).limit == std::array<int64_t, 4>{-1, -1, -1, -1});
}

TEST_CASE("IsClientRetry: x-stainless-retry-count above 0") {
  const std::vector<HeaderField> first = {{"x-stainless-retry-count", "0"}};
  const std::vector<HeaderField> retry = {{"X-Stainless-Retry-Count", "2"}};
  const std::vector<HeaderField> junk = {{"x-stainless-retry-count", "many"}};
  CHECK_FALSE(IsClientRetry(first));
  CHECK(IsClientRetry(retry));
  CHECK_FALSE(IsClientRetry(junk));
  CHECK_FALSE(IsClientRetry({}));
}

TEST_CASE("TraceIdOf: a valid W3C traceparent gives its trace id") {
  const auto trace = [](std::string_view value) {
    const std::vector<HeaderField> headers = {{"traceparent", value}};
    return std::string(TraceIdOf(headers));
  };
  CHECK(trace("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01") ==
        "4bf92f3577b34da6a3ce929d0e0e4736");
  // A later version may carry more fields; version 00 may not.
  CHECK(trace("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra") ==
        "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(trace("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra").empty());
  CHECK(trace("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").empty());
  CHECK(trace("00-00000000000000000000000000000000-00f067aa0ba902b7-01").empty());
  CHECK(trace("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01").empty());
  CHECK(trace("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01").empty());
  CHECK(trace("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01").empty());
  CHECK(trace("garbage").empty());
  CHECK(TraceIdOf({}).empty());
}

TEST_CASE("CutLabel: cuts at a UTF-8 character boundary") {
  CHECK(CutLabel("gpt-4o", 128) == "gpt-4o");
  CHECK(CutLabel("gpt-4o", 3) == "gpt");
  // "é" is two bytes (C3 A9): a cut inside it falls before it.
  CHECK(CutLabel("caf\xC3\xA9", 4) == "caf");
  CHECK(CutLabel("caf\xC3\xA9", 5) == "caf\xC3\xA9");
  // A four-byte character (U+1F600).
  CHECK(CutLabel("a\xF0\x9F\x98\x80", 4) == "a");
  CHECK(CutLabel("abc", 0).empty());
}

TEST_CASE("OutcomeOf: by status, and an error inside a 2xx answer") {
  CHECK(OutcomeOf(200, false) == ProxyOutcome::kOk);
  CHECK(OutcomeOf(200, true) == ProxyOutcome::kStreamError);
  CHECK(OutcomeOf(304, false) == ProxyOutcome::kOk);
  CHECK(OutcomeOf(400, true) == ProxyOutcome::kClientError);
  CHECK(OutcomeOf(404, false) == ProxyOutcome::kClientError);
  CHECK(OutcomeOf(429, true) == ProxyOutcome::kRateLimited);
  CHECK(OutcomeOf(500, true) == ProxyOutcome::kUpstreamError);
  CHECK(OutcomeOf(529, true) == ProxyOutcome::kUpstreamError);
}

}  // namespace
}  // namespace llm_exporter::transport::proxy
