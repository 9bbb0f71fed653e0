// Connecting to the agent's unix stream and datagram sockets.
#pragma once

#include <string>

namespace llm_exporter::bench {

// A socket of `type` (SOCK_STREAM or SOCK_DGRAM) connected to `path`, or -1 with *error set.
int ConnectUnixSocket(const std::string& path, int type, std::string* error);

}  // namespace llm_exporter::bench
