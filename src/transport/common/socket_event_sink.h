// Where the socket listeners hand what they framed: lines go to the pipeline (EventIngest), and
// pieces over the size limit are counted there as rejected events. The pipeline logs every rejection,
// these included, which matters here since a socket client gets no reply that could tell it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "llm_exporter/event_ingest.h"
#include "llm_exporter/transport.h"
#include "transport/common/line_framer.h"

namespace llm_exporter::transport {

struct SocketEventSinkOptions {
  Transport transport = Transport::kUnix;
  std::string source;       // for log lines: "unix socket /run/llm_exporter/events.sock"
  std::string unit;         // what an over-long piece is: "line" or "datagram"
  std::string limit_flag;   // the flag that sets the limit: "--ingest.max-line-bytes"
  std::size_t limit_bytes = 0;
};

// Thread-safe: a listener's reader and decode workers may call it at once; the pipeline is
// thread-safe and the sink keeps no state of its own.
class SocketEventSink final : public LineSink {
 public:
  SocketEventSink(SocketEventSinkOptions options, EventIngest& pipeline);

  void OnLines(std::string_view lines, std::size_t readable) override;
  void OnLineTooLong() override { CountTooLarge(1); }
  // Counts `pieces` over-long lines or datagrams as rejected events (reason too_large).
  void CountTooLarge(uint64_t pieces);

 private:
  const SocketEventSinkOptions options_;
  // For the log line of a too_large rejection: "a line longer than 64 bytes (...) on ...".
  const std::string too_large_detail_;
  EventIngest& pipeline_;
};

}  // namespace llm_exporter::transport
