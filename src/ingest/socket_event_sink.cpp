#include "ingest/socket_event_sink.h"

#include <spdlog/spdlog.h>

#include <utility>

namespace llm_exporter::ingest {
namespace {

// "event 3: input_tokens must be ..." -> "input_tokens must be ...": the index counts events
// within one read or batch, which means nothing to whoever reads the log.
std::string_view WithoutEventIndex(std::string_view message) {
  if (!message.starts_with("event ")) return message;
  const std::size_t colon = message.find(": ");
  return colon == std::string_view::npos ? message : message.substr(colon + 2);
}

}  // namespace

SocketEventSink::SocketEventSink(SocketEventSinkOptions options, EventPipeline& pipeline,
                                 const Clock& clock)
    : options_(std::move(options)),
      pipeline_(pipeline),
      too_large_warning_(clock),
      rejected_warning_(clock) {}

void SocketEventSink::OnLines(std::string_view lines, std::size_t readable) {
  const decode::DecodeResult result = pipeline_.IngestLines(options_.transport, lines, readable);
  if (result.rejected == 0) return;
  std::lock_guard<std::mutex> lock(warnings_mu_);
  if (const uint64_t reported = rejected_warning_.Record(result.rejected)) {
    const decode::EventError* latest = result.errors.empty() ? nullptr : &result.errors.back();
    spdlog::warn("{}: rejected {} event(s) since the last such warning (at most one every 10s); "
                 "latest: {} ({})",
                 options_.source, reported,
                 latest ? WithoutEventIndex(latest->message) : std::string_view("?"),
                 latest ? RejectReasonName(latest->reason) : std::string_view("?"));
  }
}

void SocketEventSink::CountTooLarge(uint64_t pieces) {
  if (pieces == 0) return;
  pipeline_.CountRejected(options_.transport, RejectReason::kTooLarge, pieces);
  std::lock_guard<std::mutex> lock(warnings_mu_);
  if (const uint64_t reported = too_large_warning_.Record(pieces)) {
    spdlog::warn("{}: dropped {} {}(s) longer than {} bytes ({}) since the last such warning "
                 "(at most one every 10s); each counts as a rejected event, reason too_large",
                 options_.source, reported, options_.unit, options_.limit_bytes,
                 options_.limit_flag);
  }
}

}  // namespace llm_exporter::ingest
