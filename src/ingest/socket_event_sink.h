// Where the socket listeners hand what they framed: lines go to the EventPipeline, refusals are
// counted there, and the operator hears about them in rate-limited warnings, since a socket
// client gets no reply that could tell it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "ingest/event_pipeline.h"
#include "ingest/line_framer.h"
#include "ingest/rate_limited_warning.h"
#include "llm_exporter/clock.h"
#include "llm_exporter/transport.h"

namespace llm_exporter::ingest {

struct SocketEventSinkOptions {
  Transport transport = Transport::kUnix;
  std::string source;       // for log lines: "unix socket /run/llm_exporter/events.sock"
  std::string unit;         // what an over-long piece is: "line" or "datagram"
  std::string limit_flag;   // the flag that sets the limit: "--ingest.max-line-bytes"
  std::size_t limit_bytes = 0;
};

// Thread-safe: a listener's reader and decode workers may call it at once; the pipeline is
// thread-safe, and the warnings take a mutex only when something was refused.
class SocketEventSink final : public LineSink {
 public:
  SocketEventSink(SocketEventSinkOptions options, EventPipeline& pipeline, const Clock& clock);

  void OnLines(std::string_view lines, std::size_t readable) override;
  void OnLineTooLong() override { CountTooLarge(1); }
  // Counts `pieces` over-long lines or datagrams as rejected events (reason too_large).
  void CountTooLarge(uint64_t pieces);

 private:
  const SocketEventSinkOptions options_;
  EventPipeline& pipeline_;
  std::mutex warnings_mu_;
  RateLimitedWarning too_large_warning_;
  RateLimitedWarning rejected_warning_;
};

}  // namespace llm_exporter::ingest
