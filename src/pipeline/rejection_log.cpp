#include "pipeline/rejection_log.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <iterator>

namespace llm_exporter::pipeline {
namespace {

// "event 3: input_tokens must be ..." -> "input_tokens must be ...", when the line names the
// index on its own.
std::string_view WithoutEventIndex(std::string_view message) {
  if (!message.starts_with("event ")) return message;
  const std::size_t colon = message.find(": ");
  return colon == std::string_view::npos ? message : message.substr(colon + 2);
}

}  // namespace

static_assert(kTransportCount == 4, "RejectionLog builds one PerTransport per transport");

RejectionLog::RejectionLog(const Clock& clock, std::chrono::seconds interval)
    : interval_(interval),
      transports_{PerTransport(clock, interval), PerTransport(clock, interval),
                  PerTransport(clock, interval), PerTransport(clock, interval)} {}

void RejectionLog::Record(Transport transport, const RejectCounts& counts,
                          const Rejection& latest) {
  uint64_t total = 0;
  for (const uint64_t n : counts) total += n;
  if (total == 0) return;
  std::string line;
  {
    PerTransport& t = transports_[static_cast<std::size_t>(transport)];
    std::lock_guard<std::mutex> lock(t.mu);
    for (std::size_t i = 0; i < kRejectReasonCount; ++i) t.held_back[i] += counts[i];
    if (t.warning.Record(total) == 0) return;
    line = Format(transport, t.held_back, interval_, latest);
    t.held_back = {};
  }
  spdlog::warn("{}", line);
}

std::string RejectionLog::Format(Transport transport, const RejectCounts& counts,
                                 std::chrono::seconds interval, const Rejection& latest) {
  uint64_t total = 0;
  for (const uint64_t n : counts) total += n;
  std::string out;
  const auto to = std::back_inserter(out);
  fmt::format_to(to, "{}: rejected {} event(s) since the last such warning (at most one every {}s; "
                 "by reason:", TransportName(transport), total, interval.count());
  const char* separator = " ";
  for (std::size_t i = 0; i < kRejectReasonCount; ++i) {
    if (counts[i] == 0) continue;
    fmt::format_to(to, "{}{} {}", separator, RejectReasonName(static_cast<RejectReason>(i)),
                   counts[i]);
    separator = ", ";
  }
  out += "); latest: ";
  if (latest.index) fmt::format_to(to, "event {} of its batch, ", *latest.index);
  if (!latest.field.empty()) fmt::format_to(to, "field {}, ", latest.field);
  fmt::format_to(to, "reason {}", RejectReasonName(latest.reason));
  const std::string_view message =
      latest.index ? WithoutEventIndex(latest.message) : latest.message;
  if (!message.empty()) fmt::format_to(to, ": {}", message);
  return out;
}

}  // namespace llm_exporter::pipeline
