// The interface between the metering proxy (src/transport/proxy/) and the pipeline: for each
// call it relayed, the proxy hands over the LLM call (priced and recorded as every transport's
// are) and what it saw of the upstream: the outcome, a client retry, the rate-limit headroom.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "llm_exporter/event.h"

namespace llm_exporter {

// How a proxied call ended (llm_proxy_requests_total{outcome}).
enum class ProxyOutcome : uint8_t {
  kOk,             // a 2xx answer, with no error inside it
  kClientError,    // a 4xx answer other than 429
  kRateLimited,    // 429
  kUpstreamError,  // a 5xx answer
  kStreamError,    // a 2xx answer that carried an error (an error object or `event: error`)
  kUnreachable,    // no answer: DNS, connect or TLS failure, or the connection broke first
  kTimeout,        // the upstream stalled past its idle timeout
  kCancelled,      // the client hung up before the answer was complete
};
inline constexpr std::size_t kProxyOutcomeCount = 8;
inline constexpr std::array<std::string_view, kProxyOutcomeCount> kProxyOutcomeNames = {
    "ok",          "client_error", "rate_limited", "upstream_error",
    "stream_error", "unreachable",  "timeout",      "cancelled"};

// What a rate limit counts (llm_ratelimit_{remaining,limit}{resource}): OpenAI's
// x-ratelimit-{limit,remaining}-{requests,tokens}, Anthropic's
// anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining}.
enum class RateLimitResource : uint8_t { kRequests, kTokens, kInputTokens, kOutputTokens };
inline constexpr std::size_t kRateLimitResourceCount = 4;
inline constexpr std::array<std::string_view, kRateLimitResourceCount> kRateLimitResourceNames = {
    "requests", "tokens", "input_tokens", "output_tokens"};

// The headroom one answer reported; -1: that header was absent (or not a number).
struct RateLimits {
  std::array<int64_t, kRateLimitResourceCount> remaining{-1, -1, -1, -1};
  std::array<int64_t, kRateLimitResourceCount> limit{-1, -1, -1, -1};
};

// What the proxy saw of the upstream for one call. String fields are views valid during the call.
struct UpstreamObservation {
  std::string_view upstream;  // the name in the proxy config
  std::string_view model;     // the same as the call's
  ProxyOutcome outcome = ProxyOutcome::kOk;
  bool client_retry = false;  // x-stainless-retry-count > 0: the client's SDK retried
  RateLimits rate_limits;
};

// Thread-safe: any number of proxied calls are recorded at once.
class ProxyIngest {
 public:
  virtual ~ProxyIngest() = default;
  // `metered`: the request was an LLM call (chat, completions, responses, embeddings, messages),
  // so `call` is priced and recorded under CallSource::kProxy; else (GET /v1/models, files, ...)
  // only the upstream's figures are kept, and `call` is ignored.
  virtual void RecordProxied(const LlmCall& call, bool metered,
                             const UpstreamObservation& upstream) = 0;
};

}  // namespace llm_exporter
