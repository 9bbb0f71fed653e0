#include "transport/proxy/error_body.h"

#include <nlohmann/json.hpp>

namespace llm_exporter::transport::proxy {
namespace {

struct Names {
  std::string_view code;            // OpenAI's error.code
  std::string_view anthropic_type;  // Anthropic's error.type
};

Names NamesOf(ProxyError error) {
  switch (error) {
    case ProxyError::kUnknownUpstream:
      return {"unknown_upstream", "not_found_error"};
    case ProxyError::kBadPath:
      return {"bad_path", "invalid_request_error"};
    case ProxyError::kBodyTooLarge:
      return {"request_too_large", "request_too_large"};
    case ProxyError::kBodyIncomplete:
      return {"request_incomplete", "invalid_request_error"};
    case ProxyError::kUnreachable:
      return {"upstream_unreachable", "api_error"};
    case ProxyError::kTimeout:
      return {"upstream_timeout", "api_error"};
    case ProxyError::kShuttingDown:
      return {"shutting_down", "api_error"};
  }
  return {"proxy_error", "api_error"};
}

}  // namespace

std::string ErrorBody(config::UpstreamKind kind, ProxyError error, std::string_view message) {
  const Names names = NamesOf(error);
  nlohmann::ordered_json body;
  if (kind == config::UpstreamKind::kAnthropic) {
    body = {{"type", "error"}, {"error", {{"type", names.anthropic_type}, {"message", message}}}};
  } else {
    body = {{"error", {{"message", message}, {"type", "proxy_error"}, {"code", names.code}}}};
  }
  return body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace llm_exporter::transport::proxy
