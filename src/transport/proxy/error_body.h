// The proxy's own error answers (no upstream, an unknown upstream, a body too large), written in
// the shape the upstream's SDK reads, so that the application sees the proxy's message.
#pragma once

#include <string>
#include <string_view>

#include "config/proxy_config.h"

namespace llm_exporter::transport::proxy {

// Why the proxy answered itself.
enum class ProxyError : uint8_t {
  kUnknownUpstream,  // 404
  kBadPath,          // 400: "." or ".." segments
  kBodyTooLarge,     // 413
  kBodyIncomplete,   // 408 or 400: the request body did not all arrive
  kUnreachable,      // 502: DNS, connect or TLS failure, or the connection broke before an answer
  kTimeout,          // 504: the connect or idle timeout passed before an answer
  kShuttingDown,     // 503
};

// OpenAI:    {"error":{"message":...,"type":"proxy_error","code":"<code>"}}
// Anthropic: {"type":"error","error":{"type":"<Anthropic's type for it>","message":...}}
// with `code` "unknown_upstream", "bad_path", "request_too_large", "request_incomplete",
// "upstream_unreachable", "upstream_timeout" or "shutting_down".
std::string ErrorBody(config::UpstreamKind kind, ProxyError error, std::string_view message);

}  // namespace llm_exporter::transport::proxy
