#include "transport/proxy/header_rules.h"

#include <array>
#include <charconv>
#include <cstdint>

namespace llm_exporter::transport::proxy {
namespace {

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

bool SameName(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls f(item) for each trimmed, non-empty item of a comma-separated list.
template <typename F>
void ForEachItem(std::string_view list, F f) {
  while (true) {
    const std::size_t comma = list.find(',');
    const std::string_view item = Trim(list.substr(0, comma));
    if (!item.empty()) f(item);
    if (comma == std::string_view::npos) return;
    list.remove_prefix(comma + 1);
  }
}

constexpr std::array<std::string_view, 9> kHopByHop = {
    "Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection",
    "TE",         "Trailer",    "Transfer-Encoding",  "Upgrade"};

// Never sent upstream: the agent's own attribution headers, and what the proxy or libcurl sets.
constexpr std::array<std::string_view, 6> kNotForwarded = {
    "Host", "Content-Length", "Expect", "X-LLM-User-Id", "X-LLM-Team-Id", "X-LLM-Endpoint"};

bool IsCoding(std::string_view item, std::string_view coding) {
  const std::string_view name = Trim(item.substr(0, item.find(';')));
  return SameName(name, coding);
}

int64_t NonNegativeInteger(std::string_view text) {
  text = Trim(text);
  int64_t value = -1;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value < 0) return -1;
  return value;
}

bool IsLowerHex(std::string_view s) {
  for (const char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool AllZero(std::string_view s) { return s.find_first_not_of('0') == std::string_view::npos; }

}  // namespace

bool IsHopByHop(std::string_view name, std::span<const HeaderField> headers) {
  for (const std::string_view hop : kHopByHop) {
    if (SameName(name, hop)) return true;
  }
  bool listed = false;
  for (const HeaderField& header : headers) {
    if (!SameName(header.name, "Connection")) continue;
    ForEachItem(header.value, [&](std::string_view item) { listed |= SameName(item, name); });
  }
  return listed;
}

std::string NarrowAcceptEncoding(std::string_view value) {
  std::string narrowed;
  ForEachItem(value, [&](std::string_view item) {
    if (IsCoding(item, "gzip") || IsCoding(item, "deflate") || IsCoding(item, "identity")) {
      if (!narrowed.empty()) narrowed.append(", ");
      narrowed.append(item);
    }
  });
  return narrowed.empty() ? std::string("identity") : narrowed;
}

std::vector<std::string> UpstreamRequestHeaders(std::span<const HeaderField> received,
                                                bool identity_only, bool has_body) {
  std::vector<std::string> lines;
  lines.reserve(received.size() + 4);
  bool accept = false;
  bool accept_encoding = false;
  bool content_type = false;
  for (const HeaderField& header : received) {
    bool skip = IsHopByHop(header.name, received);
    for (const std::string_view name : kNotForwarded) skip |= SameName(header.name, name);
    if (skip) continue;
    std::string value(header.value);
    if (SameName(header.name, "Accept-Encoding")) {
      if (accept_encoding) continue;  // one is enough, and it is the narrowed one
      accept_encoding = true;
      value = identity_only ? std::string("identity") : NarrowAcceptEncoding(header.value);
    }
    accept |= SameName(header.name, "Accept");
    content_type |= SameName(header.name, "Content-Type");
    std::string line(header.name);
    // libcurl drops a header given as "Name:"; "Name;" is its way to send one with no value.
    line.append(value.empty() ? ";" : ": ").append(value);
    lines.push_back(std::move(line));
  }
  if (identity_only && !accept_encoding) lines.emplace_back("Accept-Encoding: identity");
  // "Name:" removes a header libcurl would add: Accept: */*, Expect: 100-continue before a large
  // body, and the Content-Type of a form for a POST body.
  if (!accept) lines.emplace_back("Accept:");
  lines.emplace_back("Expect:");
  if (has_body && !content_type) lines.emplace_back("Content-Type:");
  return lines;
}

std::vector<HeaderField> ClientResponseHeaders(std::span<const HeaderField> upstream) {
  std::vector<HeaderField> relayed;
  relayed.reserve(upstream.size());
  for (const HeaderField& header : upstream) {
    if (IsHopByHop(header.name, upstream) || SameName(header.name, "Content-Length")) continue;
    relayed.push_back(header);
  }
  return relayed;
}

std::string_view FindHeader(std::span<const HeaderField> headers, std::string_view name) {
  for (const HeaderField& header : headers) {
    if (SameName(header.name, name)) return header.value;
  }
  return {};
}

Attribution Attribute(std::span<const HeaderField> request_headers, std::string_view body_user) {
  const auto first = [&](std::initializer_list<std::string_view> names) {
    for (const std::string_view name : names) {
      const std::string_view value = Trim(FindHeader(request_headers, name));
      if (!value.empty()) return value;
    }
    return std::string_view();
  };
  Attribution attribution;
  attribution.user = first({"X-LLM-User-Id", "Helicone-User-Id", "x-litellm-end-user-id"});
  if (attribution.user.empty()) attribution.user = body_user;
  attribution.team = first({"X-LLM-Team-Id", "Helicone-Property-Team"});
  attribution.endpoint = first({"X-LLM-Endpoint", "Helicone-Property-Feature"});
  return attribution;
}

RateLimits ReadRateLimits(std::span<const HeaderField> response_headers) {
  struct Source {
    std::string_view header;
    RateLimitResource resource;
    bool limit;  // else remaining
  };
  static constexpr std::array<Source, 12> kSources = {{
      {"x-ratelimit-limit-requests", RateLimitResource::kRequests, true},
      {"x-ratelimit-remaining-requests", RateLimitResource::kRequests, false},
      {"x-ratelimit-limit-tokens", RateLimitResource::kTokens, true},
      {"x-ratelimit-remaining-tokens", RateLimitResource::kTokens, false},
      {"anthropic-ratelimit-requests-limit", RateLimitResource::kRequests, true},
      {"anthropic-ratelimit-requests-remaining", RateLimitResource::kRequests, false},
      {"anthropic-ratelimit-tokens-limit", RateLimitResource::kTokens, true},
      {"anthropic-ratelimit-tokens-remaining", RateLimitResource::kTokens, false},
      {"anthropic-ratelimit-input-tokens-limit", RateLimitResource::kInputTokens, true},
      {"anthropic-ratelimit-input-tokens-remaining", RateLimitResource::kInputTokens, false},
      {"anthropic-ratelimit-output-tokens-limit", RateLimitResource::kOutputTokens, true},
      {"anthropic-ratelimit-output-tokens-remaining", RateLimitResource::kOutputTokens, false},
  }};
  RateLimits limits;
  for (const HeaderField& header : response_headers) {
    // Every name above is longer than 20 bytes and starts with 'x' or 'a': most headers are
    // passed over on their first byte.
    if (header.name.size() < 20) continue;
    const char c = Lower(header.name[0]);
    if (c != 'x' && c != 'a') continue;
    for (const Source& source : kSources) {
      if (!SameName(header.name, source.header)) continue;
      const int64_t value = NonNegativeInteger(header.value);
      if (value >= 0) {
        auto& slot = source.limit ? limits.limit : limits.remaining;
        slot[static_cast<std::size_t>(source.resource)] = value;
      }
      break;
    }
  }
  return limits;
}

bool IsClientRetry(std::span<const HeaderField> request_headers) {
  return NonNegativeInteger(FindHeader(request_headers, "x-stainless-retry-count")) > 0;
}

std::string_view TraceIdOf(std::span<const HeaderField> request_headers) {
  // version "-" trace-id "-" parent-id "-" flags: 2, 32, 16 and 2 lowercase hex digits; a later
  // version may append fields after another '-'.
  const std::string_view value = Trim(FindHeader(request_headers, "traceparent"));
  if (value.size() < 55 || value[2] != '-' || value[35] != '-' || value[52] != '-') return {};
  if (value.size() > 55 && value[55] != '-') return {};
  const std::string_view version = value.substr(0, 2);
  const std::string_view trace_id = value.substr(3, 32);
  const std::string_view parent_id = value.substr(36, 16);
  const std::string_view flags = value.substr(53, 2);
  if (!IsLowerHex(version) || version == "ff" || !IsLowerHex(trace_id) || !IsLowerHex(parent_id) ||
      !IsLowerHex(flags) || AllZero(trace_id) || AllZero(parent_id)) {
    return {};
  }
  if (version == "00" && value.size() != 55) return {};
  return trace_id;
}

std::string_view CutLabel(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  std::size_t end = max_bytes;
  // Back off continuation bytes (10xxxxxx) so the cut falls before a character's first byte.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

ProxyOutcome OutcomeOf(int status, bool error_inside) {
  if (status == 429) return ProxyOutcome::kRateLimited;
  if (status >= 500) return ProxyOutcome::kUpstreamError;
  if (status >= 400) return ProxyOutcome::kClientError;
  return error_inside ? ProxyOutcome::kStreamError : ProxyOutcome::kOk;
}

}  // namespace llm_exporter::transport::proxy
