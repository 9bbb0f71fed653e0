#include "transport/datagram/datagram_listener.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <stdexcept>
#include <string>

#include "fakes/pipeline_fixture.h"
#include "fakes/socket_clients.h"

namespace llm_exporter::transport {
namespace {

using testing::ConnectUdp;
using testing::ConnectUnix;
using testing::EventJson;
using testing::PipelineFixture;
using testing::SendDatagram;
using testing::TempDir;
using testing::WaitFor;

constexpr std::size_t kMaxDatagram = 512;

DatagramListenerOptions Options(Transport transport, const std::string& address) {
  DatagramListenerOptions options;
  options.transport = transport;
  options.address = address;
  options.max_datagram_bytes = kMaxDatagram;
  return options;
}

// A valid event padded with trailing spaces to exactly `size` bytes.
std::string EventOfSize(std::size_t size) {
  std::string event = EventJson(1, 1);
  REQUIRE(event.size() <= size);
  event.append(size - event.size(), ' ');
  return event;
}

// Sends every form a datagram may take, `rounds` times; the counts they must give are below.
struct DatagramMix {
  static constexpr int kAcceptedPerRound = 1 + 3 + 2 + 1;
  static constexpr int kInvalidPerRound = 1;
  static constexpr int kTooLargePerRound = 2;
  static constexpr uint64_t kTokensPerRound = 3 + (1 + 2 + 3 + 4 + 5 + 6) + (7 + 8 + 9 + 10) + 2;

  static void Send(int fd, int rounds) {
    for (int i = 0; i < rounds; ++i) {
      SendDatagram(fd, EventJson(1, 2));  // one event, no newline
      SendDatagram(fd, EventJson(1, 2) + "\r\n\n" + EventJson(3, 4) + "\n" + EventJson(5, 6) +
                           "\n");  // an NDJSON batch with CRLF and a blank line
      SendDatagram(fd, EventJson(7, 8) + "\n{not json\n" + EventJson(9, 10));
      SendDatagram(fd, std::string(kMaxDatagram + 1, 'x'));  // over the limit by one byte
      SendDatagram(fd, EventOfSize(kMaxDatagram));           // exactly at the limit: fine
      SendDatagram(fd, std::string(4000, '{'));              // far over it
    }
  }

  static void Check(PipelineFixture& f, Transport t, int rounds) {
    CHECK(f.Accepted(t) == rounds * kAcceptedPerRound);
    CHECK(f.Rejected(t, RejectReason::kInvalidJson) == rounds * kInvalidPerRound);
    CHECK(f.Rejected(t, RejectReason::kTooLarge) == rounds * kTooLargePerRound);
    CHECK(f.Received(t) ==
          rounds * (kAcceptedPerRound + kInvalidPerRound + kTooLargePerRound));
    CHECK(f.Requests() == uint64_t(rounds) * kAcceptedPerRound);
    CHECK(f.Tokens() == rounds * kTokensPerRound);
  }
};

TEST_CASE("DatagramListener: unixgram datagrams of one event or a batch count exactly, "
          "over-long ones as too_large") {
  PipelineFixture f;
  TempDir dir;
  DatagramListener listener(Options(Transport::kUnixgram, dir / "g.sock"), f.pipeline,
                            f.listener_metrics, f.clock);
  listener.Start();
  struct stat info {};
  REQUIRE(::lstat((dir / "g.sock").c_str(), &info) == 0);
  CHECK(S_ISSOCK(info.st_mode));
  CHECK((info.st_mode & 0777) == 0660);

  constexpr int kRounds = 500;  // 3,000 datagrams: many full recvmmsg batches
  UniqueFd client = ConnectUnix(dir / "g.sock", SOCK_DGRAM);
  DatagramMix::Send(client.get(), kRounds);
  listener.Stop();  // reads what was queued before it
  DatagramMix::Check(f, Transport::kUnixgram, kRounds);
  CHECK(::lstat((dir / "g.sock").c_str(), &info) != 0);  // removed
}

TEST_CASE("DatagramListener: UDP on a loopback port the OS picks counts exactly") {
  PipelineFixture f;
  DatagramListener listener(Options(Transport::kUdp, "127.0.0.1:0"), f.pipeline,
                            f.listener_metrics, f.clock);
  listener.Start();
  const std::string& bound = listener.bound_address();
  REQUIRE(bound.starts_with("127.0.0.1:"));
  const int port = std::stoi(bound.substr(bound.find(':') + 1));
  CHECK(port > 0);
  CHECK(listener.bound_host() == "127.0.0.1");

  // UDP may drop under load: send in rounds, each once the previous one has been counted.
  constexpr int kRounds = 200;
  UniqueFd client = ConnectUdp(port);
  for (int i = 0; i < kRounds; i += 20) {
    DatagramMix::Send(client.get(), 20);
    const double expected = (i + 20) * DatagramMix::kAcceptedPerRound;
    REQUIRE(WaitFor([&] { return f.Accepted(Transport::kUdp) == expected; }));
  }
  listener.Stop();
  DatagramMix::Check(f, Transport::kUdp, kRounds);
  CHECK(f.listener_metrics.dropped_datagrams() == 0);
}

TEST_CASE("DatagramListener: a bad UDP address is a clear start-up error") {
  PipelineFixture f;
  for (const std::string address : {"nonsense", "127.0.0.1:", "127.0.0.1:99999", "1.2.3:x"}) {
    CAPTURE(address);
    DatagramListener listener(Options(Transport::kUdp, address), f.pipeline,
                              f.listener_metrics, f.clock);
    CHECK_THROWS_WITH_AS(listener.Start(),
                         doctest::Contains(("cannot listen on udp socket " + address).c_str()),
                         std::runtime_error);
  }
}

}  // namespace
}  // namespace llm_exporter::transport
