#include "transport/http/body_deadline.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>

namespace llm_exporter::transport {
namespace {

// A real loopback TCP connection: the server's end is what a handler would be reading.
struct LoopbackConnection {
  int listener = -1, client = -1, server = -1;
  ConnectionEnds server_view;  // the ends as the server sees them

  LoopbackConnection() {
    listener = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    REQUIRE(listen(listener, 1) == 0);
    socklen_t length = sizeof(address);
    getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
    client = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(connect(client, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    server = accept(listener, nullptr, nullptr);
    REQUIRE(server >= 0);
    sockaddr_in client_address{};
    length = sizeof(client_address);
    getsockname(client, reinterpret_cast<sockaddr*>(&client_address), &length);
    server_view.local_port = ntohs(address.sin_port);
    server_view.remote_address = "127.0.0.1";
    server_view.remote_port = ntohs(client_address.sin_port);
  }
  ~LoopbackConnection() {
    close(server);
    close(client);
    close(listener);
  }
};

// Whether `fd` reads end-of-file within `timeout_ms` (its read side was shut down).
bool ReadsEndOfFile(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) != 1) return false;
  char c;
  return recv(fd, &c, 1, 0) == 0;
}

TEST_CASE("FindConnectionSockets: finds a connection's descriptor by its two ends") {
  LoopbackConnection c;
  ConnectionEnds unknown = c.server_view;
  unknown.remote_port = c.server_view.remote_port == 1 ? 2 : 1;
  const std::vector<int> found = FindConnectionSockets({c.server_view, unknown});
  REQUIRE(found.size() == 2);
  CHECK(found[0] == c.server);
  CHECK(found[1] == -1);
}

TEST_CASE("BodyDeadline: a read still going at its deadline has its socket's read side shut") {
  LoopbackConnection c;
  BodyDeadline deadlines;
  {
    // The deadline has passed already: the watchdog acts on its next wake-up, at once.
    BodyDeadline::Watch watch(deadlines, c.server_view, BodyDeadline::Clock::now());
    CHECK(ReadsEndOfFile(c.server, 10000));
    CHECK(watch.expired());
  }
  CHECK(deadlines.expired_count() == 1);
  // The write side still works: the handler can answer 408.
  CHECK(send(c.server, "x", 1, MSG_NOSIGNAL) == 1);
}

TEST_CASE("BodyDeadline: a read that ends before its deadline is left alone") {
  LoopbackConnection c;
  BodyDeadline deadlines;
  {
    BodyDeadline::Watch watch(deadlines, c.server_view,
                              BodyDeadline::Clock::now() + std::chrono::hours(1));
    CHECK_FALSE(watch.expired());
  }
  CHECK(deadlines.expired_count() == 0);
  REQUIRE(send(c.client, "y", 1, 0) == 1);
  char byte = 0;
  CHECK(recv(c.server, &byte, 1, 0) == 1);
  CHECK(byte == 'y');
}

TEST_CASE("BodyDeadline: watches end in any order, and only the one past its deadline is cut off") {
  LoopbackConnection early, due, late;
  BodyDeadline deadlines;
  const auto later = BodyDeadline::Clock::now() + std::chrono::hours(1);
  std::optional<BodyDeadline::Watch> first, second, third;
  first.emplace(deadlines, early.server_view, later);
  second.emplace(deadlines, due.server_view, later);
  third.emplace(deadlines, late.server_view, later);
  // The first and the middle one end before their deadline; a new one is already due.
  first.reset();
  second.reset();
  BodyDeadline::Watch now(deadlines, due.server_view, BodyDeadline::Clock::now());
  CHECK(ReadsEndOfFile(due.server, 10000));
  CHECK(now.expired());
  CHECK_FALSE(third->expired());
  third.reset();
  CHECK(deadlines.expired_count() == 1);
  // The other connections still read what is sent to them.
  for (LoopbackConnection* c : {&early, &late}) {
    REQUIRE(send(c->client, "z", 1, 0) == 1);
    char byte = 0;
    CHECK(recv(c->server, &byte, 1, 0) == 1);
    CHECK(byte == 'z');
  }
}

}  // namespace
}  // namespace llm_exporter::transport
