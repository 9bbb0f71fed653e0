#include "transport/common/listen_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>

namespace llm_exporter::transport {

std::optional<HostPort> ParseHostPort(std::string_view address, AddressError* error) {
  *error = AddressError::kNone;
  const std::size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) {
    *error = AddressError::kNotHostPort;
    return std::nullopt;
  }
  HostPort parsed;
  std::string_view host = address.substr(0, colon);
  const std::string_view port = address.substr(colon + 1);
  if (host.starts_with('[') || host.ends_with(']')) {
    if (host.size() < 2 || !host.starts_with('[') || !host.ends_with(']')) {
      *error = AddressError::kNotHostPort;
      return std::nullopt;
    }
    host = host.substr(1, host.size() - 2);
    parsed.bracketed = true;
  } else if (host.find(':') != std::string_view::npos) {  // an IPv6 address needs its brackets
    *error = AddressError::kNotHostPort;
    return std::nullopt;
  }
  unsigned number = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || number > 65535) {
    *error = AddressError::kBadPort;
    return std::nullopt;
  }
  parsed.host = std::string(host);
  parsed.port = static_cast<uint16_t>(number);
  return parsed;
}

std::string JoinHostPort(std::string_view host, uint16_t port) {
  std::string text;
  if (host.empty()) {
    text = "0.0.0.0";
  } else if (host.find(':') != std::string_view::npos) {
    text = "[" + std::string(host) + "]";
  } else {
    text = std::string(host);
  }
  return text + ":" + std::to_string(port);
}

bool IsLoopbackHost(std::string_view host) {
  if (host == "localhost") return true;
  const std::string text(host);
  in_addr v4{};
  if (::inet_pton(AF_INET, text.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

std::optional<std::string> ExposureWarning(Transport transport, std::string_view host,
                                           std::string_view bound_address, Safeguards safeguards) {
  if (IsLoopbackHost(host)) return std::nullopt;
  const std::string bound(bound_address);
  if (transport != Transport::kHttp) {
    return "Listening for " + std::string(transport == Transport::kUdp ? "UDP" : "events") +
           " on a non-loopback address: anyone who can reach " + bound + " can send events";
  }
  const bool tls = safeguards.tls;
  const bool authenticates = safeguards.authenticates_clients;
  if (tls && authenticates) return std::nullopt;
  if (!tls && !authenticates) {
    return "Listening on a non-loopback address without a web config (TLS, basic auth): anyone "
           "who can reach " + bound + " can post events and read metrics (see "
           "--web.config.file)";
  }
  if (tls) {
    return "Listening on a non-loopback address with TLS but without basic_auth_users or "
           "verified client certificates in the web config: anyone who can reach " + bound +
           " can post events and read metrics";
  }
  return "Listening on a non-loopback address with basic auth but without TLS: passwords cross "
         "the network in clear text to " + bound + " (add tls_server_config to the web config)";
}

}  // namespace llm_exporter::transport
