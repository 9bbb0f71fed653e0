// Keeps a warning that can repeat per event (an over-long line, a rejected event) to at most one
// log line per interval, and says how many occurrences each line stands for.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "llm_exporter/clock.h"

namespace llm_exporter::telemetry {

// Not thread-safe: each listener thread owns its own.
class RateLimitedWarning {
 public:
  explicit RateLimitedWarning(const Clock& clock,
                              std::chrono::seconds interval = std::chrono::seconds(10))
      : clock_(clock), interval_(interval) {}

  // Records `occurrences`. Returns how many a log line written now should report (these plus
  // those held back since the last line), or 0 while the last line is more recent than the
  // interval.
  uint64_t Record(uint64_t occurrences = 1) {
    held_back_ += occurrences;
    const auto now = clock_.SteadyNow();
    if (last_line_ && now - *last_line_ < interval_) return 0;
    last_line_ = now;
    const uint64_t report = held_back_;
    held_back_ = 0;
    return report;
  }

 private:
  const Clock& clock_;
  const std::chrono::seconds interval_;
  std::optional<std::chrono::steady_clock::time_point> last_line_;
  uint64_t held_back_ = 0;
};

}  // namespace llm_exporter::telemetry
