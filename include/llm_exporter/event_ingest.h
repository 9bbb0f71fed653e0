// The interface between every transport and the pipeline: a transport hands over the bytes it
// received (a request body, a run of NDJSON lines, a batch of datagrams) with its transport id,
// and gets back what became of each event. The pipeline stage implements it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "llm_exporter/transport.h"

namespace llm_exporter {

// Bytes the pipeline may read past the end of what it is handed (simdjson's padding): a
// transport that reads into a buffer this much longer than the data saves a copy.
inline constexpr std::size_t kIngestPadding = 64;

struct EventError {
  std::size_t index = 0;  // 0-based position among the body's events (array elements or lines)
  std::string field;      // empty when the event as a whole is wrong
  RejectReason reason = RejectReason::kInvalidJson;
  std::string message;    // "event 3: input_tokens must be a non-negative integer, got -5"
};

// What became of one body, line run or batch.
struct IngestResult {
  // Non-empty when the body as a whole is not JSON or NDJSON; then no event was recorded.
  std::string body_error;
  std::size_t accepted = 0;
  std::size_t rejected = 0;
  std::array<uint64_t, kRejectReasonCount> rejected_by_reason{};
  std::vector<EventError> errors;  // the first few; every rejection is counted

  bool ok() const { return body_error.empty(); }
};

// Implementations are thread-safe: any number of transports call them at once. Every event
// handed over is counted as accepted or rejected (by reason) under its transport.
class EventIngest {
 public:
  virtual ~EventIngest() = default;

  // A body: one JSON object, a JSON array of objects, or NDJSON. `readable` is how many bytes
  // from body.data() may be read; at least body.size() + kIngestPadding avoids a copy.
  virtual IngestResult Ingest(Transport transport, std::string_view body,
                              std::size_t readable) = 0;
  IngestResult Ingest(Transport transport, std::string_view body) {
    return Ingest(transport, body, body.size());
  }
  // NDJSON whatever it starts with: each non-blank line is one event (socket transports, which
  // frame lines themselves).
  virtual IngestResult IngestLines(Transport transport, std::string_view lines,
                                   std::size_t readable) = 0;
  // Events a transport refused before handing them over (a body, line or datagram over its size
  // limit): counted as `reason` and logged; `detail` says what was refused, for the log line.
  virtual void CountRejected(Transport transport, RejectReason reason, uint64_t events,
                             std::string_view detail) = 0;
};

}  // namespace llm_exporter
