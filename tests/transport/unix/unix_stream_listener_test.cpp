#include "transport/unix/unix_stream_listener.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "fakes/pipeline_fixture.h"
#include "fakes/socket_clients.h"

namespace llm_exporter::transport {
namespace {

using testing::ConnectUnix;
using testing::EventJson;
using testing::PipelineFixture;
using testing::TempDir;
using testing::WaitFor;
using testing::WriteAll;

UnixStreamListenerOptions Options(const std::string& path) {
  UnixStreamListenerOptions options;
  options.path = path;
  options.max_line_bytes = 1024;
  return options;
}

bool Exists(const std::string& path) {
  struct stat info {};
  return ::lstat(path.c_str(), &info) == 0;
}

// Six clients write lines (some over-long, some invalid) in pieces of any size at once.
void CheckConcurrentClientsCountExactly(std::size_t workers) {
  PipelineFixture f;
  TempDir dir;
  UnixStreamListenerOptions options = Options(dir / "s.sock");
  options.decode_workers = workers;
  UnixStreamListener listener(options, f.pipeline, f.listener_metrics, f.clock);
  listener.Start();

  constexpr int kClients = 6;
  constexpr int kEvents = 3000;
  uint64_t tokens_per_client = 0;
  for (int j = 0; j < kEvents; ++j) tokens_per_client += (j % 7 + 1) + (j % 3 + 1);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      std::string stream;
      for (int j = 0; j < kEvents; ++j) {
        stream += EventJson(j % 7 + 1, j % 3 + 1) + (j % 2 ? "\r\n" : "\n");
        if (j % 500 == 0) stream += "{\"model\":\"" + std::string(2000, 'm') + "\"}\n";
        if (j % 700 == 0) stream += "{bad\n\n";
      }
      UniqueFd fd = ConnectUnix(listener.path());
      std::mt19937 random(c);
      std::size_t pos = 0;
      while (pos < stream.size()) {
        const std::size_t n = std::min<std::size_t>(
            stream.size() - pos, std::uniform_int_distribution<std::size_t>(1, 3000)(random));
        WriteAll(fd.get(), std::string_view(stream).substr(pos, n));
        pos += n;
      }
    });
  }
  for (auto& client : clients) client.join();
  listener.Stop();  // reads what every client sent before closing

  const Transport unix = Transport::kUnix;
  CHECK(f.Accepted(unix) == kClients * kEvents);
  CHECK(f.Rejected(unix, RejectReason::kTooLarge) == kClients * 6);     // j = 0, 500 ... 2500
  CHECK(f.Rejected(unix, RejectReason::kInvalidJson) == kClients * 5);  // j = 0, 700 ... 2800
  CHECK(f.Received(unix) == kClients * (kEvents + 6 + 5));
  CHECK(f.Requests() == uint64_t{kClients} * kEvents);
  CHECK(f.Tokens() == kClients * tokens_per_client);
  CHECK(f.listener_metrics.open_connections() == 0);
  CHECK_FALSE(Exists(listener.path()));
}

TEST_CASE("UnixStreamListener: concurrent clients writing lines in odd pieces are counted "
          "exactly") {
  SUBCASE("decoded on the reading thread only") { CheckConcurrentClientsCountExactly(0); }
  SUBCASE("decoded by workers beside it") { CheckConcurrentClientsCountExactly(2); }
}

TEST_CASE("UnixStreamListener: a last line without newline counts when the client closes") {
  PipelineFixture f;
  TempDir dir;
  UnixStreamListener listener(Options(dir / "s.sock"), f.pipeline, f.listener_metrics, f.clock);
  listener.Start();
  {
    UniqueFd fd = ConnectUnix(listener.path());
    WriteAll(fd.get(), EventJson(1, 1) + "\n" + EventJson(2, 2));
  }
  CHECK(WaitFor([&] { return f.Accepted(Transport::kUnix) == 2; }));
  CHECK(WaitFor([&] { return f.listener_metrics.open_connections() == 0; }));
  listener.Stop();
  CHECK(f.Tokens() == 6);
}

TEST_CASE("UnixStreamListener: connections over the limit are closed at once and counted") {
  PipelineFixture f;
  TempDir dir;
  UnixStreamListenerOptions options = Options(dir / "s.sock");
  options.max_connections = 2;
  UnixStreamListener listener(options, f.pipeline, f.listener_metrics, f.clock);
  listener.Start();

  UniqueFd first = ConnectUnix(listener.path());
  UniqueFd second = ConnectUnix(listener.path());
  UniqueFd third = ConnectUnix(listener.path());  // queued: connect() succeeds before accept()
  timeval timeout{10, 0};
  ::setsockopt(third.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  char byte;
  CHECK(::recv(third.get(), &byte, 1, 0) == 0);  // closed by the listener
  CHECK(f.listener_metrics.refused_connections() == 1);
  CHECK(f.listener_metrics.open_connections() == 2);

  WriteAll(first.get(), EventJson() + "\n");
  WriteAll(second.get(), EventJson() + "\n");
  first.Reset();
  CHECK(WaitFor([&] { return f.listener_metrics.open_connections() == 1; }));
  UniqueFd fourth = ConnectUnix(listener.path());  // room again
  WriteAll(fourth.get(), EventJson() + "\n");
  CHECK(WaitFor([&] { return f.Accepted(Transport::kUnix) == 3; }));
  CHECK(f.listener_metrics.refused_connections() == 1);
  listener.Stop();
  CHECK(f.listener_metrics.open_connections() == 0);
}

TEST_CASE("UnixStreamListener: Start() refuses a path that is not a socket, naming it") {
  PipelineFixture f;
  TempDir dir;
  const std::string path = dir / "file";
  std::ofstream(path) << "x";
  UnixStreamListener listener(Options(path), f.pipeline, f.listener_metrics, f.clock);
  CHECK_THROWS_WITH_AS(listener.Start(),
                       doctest::Contains(("cannot listen on unix socket " + path).c_str()),
                       std::runtime_error);
  listener.Stop();
  CHECK(Exists(path));
}

TEST_CASE("UnixStreamListener: Stop() is prompt with idle clients connected, and idempotent") {
  PipelineFixture f;
  TempDir dir;
  UnixStreamListener listener(Options(dir / "s.sock"), f.pipeline, f.listener_metrics, f.clock);
  listener.Start();
  UniqueFd idle = ConnectUnix(listener.path());
  WriteAll(idle.get(), EventJson() + "\n" + "{\"model\":");  // and an unfinished line
  CHECK(WaitFor([&] { return f.Accepted(Transport::kUnix) == 1; }));
  listener.Stop();
  listener.Stop();
  CHECK(f.Received(Transport::kUnix) == 1);  // the unfinished line is not an event
  CHECK_FALSE(Exists(listener.path()));
}

}  // namespace
}  // namespace llm_exporter::transport
