// What the metering proxy does with headers (docs/proxy.md): which request headers go upstream
// and in what form, which answer headers reach the client, and what the proxy reads of them
// (attribution, rate limits, client retries, the trace). Pure functions.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "llm_exporter/proxy_ingest.h"
#include "llm_exporter/proxy_service.h"

namespace llm_exporter::transport::proxy {

// Whether a header belongs to one connection (RFC 9110 7.6.1) rather than to the message: the
// fixed list, and the names the message's own Connection header lists.
bool IsHopByHop(std::string_view name, std::span<const HeaderField> headers);

// The request headers to send upstream, as libcurl takes them ("Name: value", "Name;" for an
// empty value, "Name:" to keep libcurl from adding its own). Every end-to-end header as received,
// in order, except Host (libcurl sends the upstream's), Content-Length (recomputed),
// Expect (the body is already in), the agent's own X-LLM-User-Id, X-LLM-Team-Id and
// X-LLM-Endpoint, and hop-by-hop headers. Accept-Encoding is narrowed to the codings the meter
// reads (gzip, deflate, identity), and is `identity` when `identity_only` (the proxy rewrites the
// stream). libcurl adds no Accept, Expect or Content-Type (a body with no Content-Type would get
// a form's) of its own, and a User-Agent only when the client sent one.
std::vector<std::string> UpstreamRequestHeaders(std::span<const HeaderField> received,
                                                bool identity_only, bool has_body);

// Accept-Encoding narrowed to gzip, deflate and identity (parameters such as q kept); "identity"
// when nothing is left.
std::string NarrowAcceptEncoding(std::string_view value);

// The answer's headers to relay: all but hop-by-hop ones and Content-Length (the relay frames the
// body itself).
std::vector<HeaderField> ClientResponseHeaders(std::span<const HeaderField> upstream);

// The first header named `name` (ignoring case) among `headers`, or an empty view.
std::string_view FindHeader(std::span<const HeaderField> headers, std::string_view name);

// Who a call is attributed to, first match winning:
//   user:     X-LLM-User-Id, Helicone-User-Id, x-litellm-end-user-id, the body's user
//   team:     X-LLM-Team-Id, Helicone-Property-Team
//   endpoint: X-LLM-Endpoint, Helicone-Property-Feature
// An empty header counts as absent. Views into the headers and `body_user`.
struct Attribution {
  std::string_view user;
  std::string_view team;
  std::string_view endpoint;
};
Attribution Attribute(std::span<const HeaderField> request_headers, std::string_view body_user);

// The rate-limit headroom an answer reports: OpenAI's x-ratelimit-{limit,remaining}-{requests,
// tokens}, Anthropic's anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-
// {limit,remaining}. A header that is absent or not a non-negative integer stays -1.
RateLimits ReadRateLimits(std::span<const HeaderField> response_headers);

// x-stainless-retry-count > 0: the client's SDK is retrying (OpenAI and Anthropic SDKs send it).
bool IsClientRetry(std::span<const HeaderField> request_headers);

// The trace id of a valid W3C traceparent header (version 00-fe, ids not all zero), or empty.
std::string_view TraceIdOf(std::span<const HeaderField> request_headers);

// `text` cut to at most `max_bytes` at a UTF-8 character boundary.
std::string_view CutLabel(std::string_view text, std::size_t max_bytes);

// The outcome of a complete answer of `status`; `error_inside`: its body or stream carried an
// error.
ProxyOutcome OutcomeOf(int status, bool error_inside);

}  // namespace llm_exporter::transport::proxy
