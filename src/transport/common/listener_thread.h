// The thread a socket transport serves on, written once: its start-up errors, its name, the
// eventfd that wakes it for shut-down, and the last-resort catch that keeps an unexpected
// exception from ending the process.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

#include "llm_exporter/transport.h"
#include "telemetry/listener_metrics.h"
#include "transport/common/unique_fd.h"

namespace llm_exporter::transport {

// "cannot listen on <where>: <what>: <strerror(error)>", the one-line reason a transport could
// not start, e.g. "cannot listen on udp socket :9125: bind: Address already in use".
std::runtime_error StartError(std::string_view where, std::string_view what, int error);

// Start() and Stop() are called from one thread (the agent's main thread); the body runs on the
// thread started here. `where` names the listener in log lines: "unix socket /run/x.sock";
// `transport` labels its errors in `metrics`.
class ListenerThread {
 public:
  ListenerThread(std::string where, Transport transport, telemetry::ListenerMetrics& metrics)
      : where_(std::move(where)), transport_(transport), metrics_(metrics) {}
  ~ListenerThread() { Stop(); }
  ListenerThread(const ListenerThread&) = delete;
  ListenerThread& operator=(const ListenerThread&) = delete;

  // Creates the wake-up descriptor; throws StartError when it cannot.
  void Prepare();
  // Runs `body` on a new thread named `name` (at most 15 characters, shown by top -H). An
  // exception out of `body` is logged as an error naming the listener and counted (see
  // CountError), and the thread ends.
  void Start(const char* name, std::function<void()> body);
  // Readable once Stop() was asked for: the body polls it beside its sockets. Valid after
  // Prepare().
  int wake_fd() const { return wake_fd_.get(); }
  // Wakes the body through wake_fd() and waits for it to return. Idempotent.
  void Stop();
  bool running() const { return thread_.joinable(); }
  const std::string& where() const { return where_; }
  // Counts an unexpected error the listener caught and logged itself (a batch or a connection
  // it dropped) in llm_exporter_ingest_listener_errors_total. Thread-safe.
  void CountError() { metrics_.ListenerError(transport_); }

 private:
  const std::string where_;
  const Transport transport_;
  telemetry::ListenerMetrics& metrics_;
  UniqueFd wake_fd_;
  std::thread thread_;
};

}  // namespace llm_exporter::transport
