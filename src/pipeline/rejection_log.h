// Warn-level log lines about rejected events, for every transport alike: a rejected event gets no
// answer on the socket transports, and an HTTP client may not read the one it gets, so the
// operator needs to see what senders get wrong. Rate-limited, since rejections come per event.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "llm_exporter/clock.h"
#include "llm_exporter/transport.h"
#include "telemetry/rate_limited_warning.h"

namespace llm_exporter::pipeline {

// What was wrong with one rejected event (or body, line or datagram refused whole).
struct Rejection {
  std::optional<std::size_t> index;  // position among the events of its batch, if it had one
  std::string_view field;            // empty when the event as a whole is wrong
  RejectReason reason = RejectReason::kInvalidJson;
  std::string_view message;          // "event 3: input_tokens must be ..."; may be empty
};

using RejectCounts = std::array<uint64_t, kRejectReasonCount>;

// Thread-safe: Record() may be called from any thread. Each transport has its own lock, taken
// only when something was rejected, and its own rate limit, so a flood on one transport does
// not hide the rejections of another.
class RejectionLog {
 public:
  explicit RejectionLog(const Clock& clock,
                        std::chrono::seconds interval = std::chrono::seconds(10));

  // Records the rejections of one batch (`counts` by reason) and writes a warn line unless one
  // was written for this transport within the interval. The line says how many events were
  // rejected since the previous line, by reason, and what was wrong with `latest`.
  void Record(Transport transport, const RejectCounts& counts, const Rejection& latest);

  // The text of a line, without the rate limit: for Record() and for tests.
  static std::string Format(Transport transport, const RejectCounts& counts,
                            std::chrono::seconds interval, const Rejection& latest);

 private:
  struct PerTransport {
    explicit PerTransport(const Clock& clock, std::chrono::seconds interval)
        : warning(clock, interval) {}
    std::mutex mu;
    telemetry::RateLimitedWarning warning;
    RejectCounts held_back{};
  };

  const std::chrono::seconds interval_;
  std::array<PerTransport, kTransportCount> transports_;
};

}  // namespace llm_exporter::pipeline
