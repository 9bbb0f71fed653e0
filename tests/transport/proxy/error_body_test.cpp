#include "transport/proxy/error_body.h"

#include <doctest/doctest.h>

namespace llm_exporter::transport::proxy {
namespace {

TEST_CASE("ErrorBody: OpenAI's error object, with the proxy's code") {
  CHECK(ErrorBody(config::UpstreamKind::kOpenAi, ProxyError::kUnreachable, "no \"route\"") ==
        R"({"error":{"message":"no \"route\"","type":"proxy_error","code":"upstream_unreachable"}})");
  CHECK(ErrorBody(config::UpstreamKind::kOpenAi, ProxyError::kTimeout, "slow") ==
        R"({"error":{"message":"slow","type":"proxy_error","code":"upstream_timeout"}})");
  CHECK(ErrorBody(config::UpstreamKind::kOpenAi, ProxyError::kBodyTooLarge, "big") ==
        R"({"error":{"message":"big","type":"proxy_error","code":"request_too_large"}})");
}

TEST_CASE("ErrorBody: Anthropic's error event, with Anthropic's error type") {
  CHECK(ErrorBody(config::UpstreamKind::kAnthropic, ProxyError::kUnreachable, "down") ==
        R"({"type":"error","error":{"type":"api_error","message":"down"}})");
  CHECK(ErrorBody(config::UpstreamKind::kAnthropic, ProxyError::kBodyTooLarge, "big") ==
        R"({"type":"error","error":{"type":"request_too_large","message":"big"}})");
  CHECK(ErrorBody(config::UpstreamKind::kAnthropic, ProxyError::kUnknownUpstream, "who") ==
        R"({"type":"error","error":{"type":"not_found_error","message":"who"}})");
}

TEST_CASE("ErrorBody: bytes that are not UTF-8 are replaced, never thrown on") {
  CHECK(ErrorBody(config::UpstreamKind::kOpenAi, ProxyError::kBadPath, "a\xFF") ==
        R"({"error":{"message":"a)" "\xEF\xBF\xBD" R"(","type":"proxy_error","code":"bad_path"}})");
}

}  // namespace
}  // namespace llm_exporter::transport::proxy
