#include "transport/common/listener_thread.h"

#include <poll.h>
#include <pthread.h>

#include <doctest/doctest.h>

#include <atomic>
#include <cerrno>
#include <stdexcept>
#include <string>

#include "fakes/log_capture.h"
#include "telemetry/agent_metrics.h"

namespace llm_exporter::transport {
namespace {

TEST_CASE("StartError: one line naming the listener, the step and the reason") {
  const std::runtime_error e = StartError("udp socket :9125", "bind", EADDRINUSE);
  CHECK(std::string(e.what()) == "cannot listen on udp socket :9125: bind: Address already in use");
}

TEST_CASE("ListenerThread: named, woken by Stop(), joined") {
  telemetry::AgentMetrics agent_metrics;
  telemetry::ListenerMetrics metrics(agent_metrics);
  ListenerThread thread("test socket /x", Transport::kUnix, metrics);
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
  CHECK(metrics.listener_errors(Transport::kUnix) == 0);
  thread.Stop();  // idempotent
}

TEST_CASE("ListenerThread: an exception ends the thread, logged naming the listener, counted") {
  testing::ScopedLogCapture log;
  telemetry::AgentMetrics agent_metrics;
  telemetry::ListenerMetrics metrics(agent_metrics);
  ListenerThread thread("udp socket :9125", Transport::kUdp, metrics);
  thread.Start("llmx-test", [] { throw std::runtime_error("out of cheese"); });
  thread.Stop();
  CHECK(log.Text(spdlog::level::err) ==
        "udp socket :9125: no longer serving after an unexpected error: out of cheese\n");
  CHECK(metrics.listener_errors(Transport::kUdp) == 1);
  CHECK(metrics.listener_errors(Transport::kUnix) == 0);
  thread.CountError();
  CHECK(metrics.listener_errors(Transport::kUdp) == 2);
}

}  // namespace
}  // namespace llm_exporter::transport
