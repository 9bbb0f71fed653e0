// What POST /-/reload and SIGHUP do: reload the files the agent was started with. The config
// stage implements it; the transports only call it and report its status.
#pragma once

#include <string>

namespace llm_exporter {

// The outcome of one reload: ok, or the reason for every part that failed.
struct ReloadStatus {
  // Each failure, "; "-separated, naming the file it concerns; empty when all loaded.
  std::string error;
  bool ok() const { return error.empty(); }
};

// Implementations are thread-safe: reloads may be asked for from any thread.
class ReloadAction {
 public:
  virtual ~ReloadAction() = default;
  virtual ReloadStatus Reload() = 0;
};

}  // namespace llm_exporter
