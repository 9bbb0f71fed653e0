// A Clock that tests move by hand, so nothing in a test sleeps.
#pragma once

#include <atomic>
#include <chrono>

#include "llm_exporter/clock.h"

namespace llm_exporter::testing {

// Thread-safe: Advance() and the readers may race; each sees a consistent time point.
class FakeClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point SteadyNow() const override {
    return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(steady_ns_.load()));
  }
  std::chrono::system_clock::time_point WallNow() const override {
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::nanoseconds(wall_ns_.load())));
  }
  void Advance(std::chrono::nanoseconds by) {
    steady_ns_ += by.count();
    wall_ns_ += by.count();
  }

 private:
  std::atomic<int64_t> steady_ns_{1'000'000'000};
  std::atomic<int64_t> wall_ns_{1'800'000'000'000'000'000};
};

}  // namespace llm_exporter::testing
