#include "transport/common/listener_thread.h"

#include <poll.h>
#include <pthread.h>

#include <doctest/doctest.h>

#include <atomic>
#include <cerrno>
#include <stdexcept>
#include <string>

#include "fakes/log_capture.h"

namespace llm_exporter::transport {
namespace {

TEST_CASE("StartError: one line naming the listener, the step and the reason") {
  const std::runtime_error e = StartError("udp socket :9125", "bind", EADDRINUSE);
  CHECK(std::string(e.what()) == "cannot listen on udp socket :9125: bind: Address already in use");
}

TEST_CASE("ListenerThread: named, woken by Stop(), joined") {
  ListenerThread thread("test socket /x");
  std::atomic<bool> woken{false};
  std::string name;
  thread.Start("llmx-test", [&] {
    char buffer[16] = {};
    pthread_getname_np(pthread_self(), buffer, sizeof buffer);
    name = buffer;
    pollfd fd{thread.wake_fd(), POLLIN, 0};
    while (::poll(&fd, 1, -1) < 0 && errno == EINTR) {
    }
    woken = true;
  });
  CHECK(thread.running());
  thread.Stop();
  CHECK_FALSE(thread.running());
  CHECK(woken);
  CHECK(name == "llmx-test");
  thread.Stop();  // idempotent
}

TEST_CASE("ListenerThread: an exception ends the thread with an error naming the listener") {
  testing::ScopedLogCapture log;
  ListenerThread thread("unix socket /run/x.sock");
  thread.Start("llmx-test", [] { throw std::runtime_error("out of cheese"); });
  thread.Stop();
  CHECK(log.Text(spdlog::level::err) ==
        "unix socket /run/x.sock: no longer serving after an unexpected error: out of cheese\n");
}

}  // namespace
}  // namespace llm_exporter::transport
