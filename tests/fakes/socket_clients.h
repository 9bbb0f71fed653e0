// Blocking test clients for the socket listeners, and a poll-until helper (no fixed sleeps).
#pragma once

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "transport/common/socket_file.h"
#include "transport/common/unique_fd.h"

namespace llm_exporter::testing {

inline transport::UniqueFd ConnectUnix(const std::string& path, int type = SOCK_STREAM) {
  transport::UniqueFd fd(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
  socklen_t length = 0;
  const sockaddr_un address = transport::UnixSocketAddress(path, &length);
  REQUIRE(::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), length) == 0);
  return fd;
}

inline void WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    REQUIRE(n > 0);
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

inline void SendDatagram(int fd, std::string_view datagram) {
  ssize_t n;
  do {
    n = ::send(fd, datagram.data(), datagram.size(), 0);
  } while (n < 0 && errno == EINTR);
  REQUIRE(n == static_cast<ssize_t>(datagram.size()));
}

inline transport::UniqueFd ConnectUdp(int port) {
  transport::UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
  return fd;
}

// Polls `condition` every millisecond for up to 10 s; true once it holds.
inline bool WaitFor(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace llm_exporter::testing
