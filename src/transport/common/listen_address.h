// Network listen addresses as the flags spell them (--web.listen-address, --ingest.listen-udp),
// parsed the same way for every transport, and the exposure policy: what to warn about when a
// listener can be reached from other machines.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "llm_exporter/transport.h"

namespace llm_exporter::transport {

// "127.0.0.1:9778", "[::1]:9778", "localhost:0" or ":9778" (every interface), parsed.
struct HostPort {
  std::string host;  // as written, without IPv6 brackets; empty: every interface
  uint16_t port = 0;
  bool bracketed = false;  // the host was written in brackets: an IPv6 address
};

enum class AddressError : uint8_t {
  kNone,
  kNotHostPort,  // no ':' separating host and port, or unbalanced brackets
  kBadPort,      // the port is not a number from 0 to 65535
};

// Parses `address`; on failure *error says why and the result is empty.
std::optional<HostPort> ParseHostPort(std::string_view address, AddressError* error);

// "host:port", with brackets around an IPv6 host, "0.0.0.0" for every interface.
std::string JoinHostPort(std::string_view host, uint16_t port);

// True for "localhost", 127.0.0.0/8, ::1 and IPv4-mapped 127.0.0.0/8 (::ffff:127.0.0.1).
bool IsLoopbackHost(std::string_view host);

// What protects a listener beside the network: TLS, and client authentication (basic auth or
// verified client certificates). Datagram transports have neither.
struct Safeguards {
  bool tls = false;
  bool authenticates_clients = false;
};

// The start-up warning for a listener on `host` (as listened on) that others can reach, naming
// `bound_address`; nullopt on loopback, or with TLS together with client authentication.
std::optional<std::string> ExposureWarning(Transport transport, std::string_view host,
                                           std::string_view bound_address, Safeguards safeguards);

}  // namespace llm_exporter::transport
