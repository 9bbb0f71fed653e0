// Reads another process's resident memory and CPU time from /proc, to put the agent's cost next
// to the load generator's figures.
#pragma once

#include <cstdint>
#include <optional>

#include <sys/types.h>

namespace llm_exporter::bench {

// Stateless apart from the pid; any thread may use it. Every reading is nullopt when the process
// is gone or /proc cannot be read.
class ProcessProbe {
 public:
  explicit ProcessProbe(pid_t pid) : pid_(pid) {}

  // VmRSS from /proc/<pid>/status, in bytes.
  std::optional<uint64_t> ResidentBytes() const;
  // utime + stime from /proc/<pid>/stat, in seconds.
  std::optional<double> CpuSeconds() const;

  pid_t pid() const { return pid_; }

 private:
  pid_t pid_;
};

}  // namespace llm_exporter::bench
