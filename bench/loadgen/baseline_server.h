// Starts llm_exporter_baseline (bench/baseline/bare_server.cpp), the bare civetweb + simdjson
// server, on a free loopback port, so that the load generator can send it the load it sent the
// agent and report the agent's share of that ceiling.
#pragma once

#include <sys/types.h>

#include <string>

namespace llm_exporter::bench {

// Stop() (or the destructor) sends SIGTERM and reaps the process.
class BaselineServer {
 public:
  BaselineServer() = default;
  ~BaselineServer() { Stop(); }
  BaselineServer(const BaselineServer&) = delete;
  BaselineServer& operator=(const BaselineServer&) = delete;

  // Runs `binary --listen=127.0.0.1:0` and waits for its "listening on HOST:PORT" line. Returns
  // false with `error` set when it cannot be started or does not say where it listens.
  bool Start(const std::string& binary, std::string* error);
  void Stop();

  pid_t pid() const { return pid_; }
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace llm_exporter::bench
