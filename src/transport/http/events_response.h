// The JSON answer to POST /v1/events: how many events were counted and refused, and the first
// errors. Its bytes are those nlohmann::json writes for the same object (keys in sorted order).
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "llm_exporter/event_ingest.h"

namespace llm_exporter::transport {

// The answer to one request. A body with no error listed, which is nearly every answer, is
// written straight into an inline buffer: building it as an nlohmann::json object (a map of
// three keys, then dumped) was a third of the agent's instructions per request for one event per
// POST (bench/README.md). Lists of errors, whose messages need JSON escaping, still go through
// nlohmann. Not thread-safe; one per request.
class EventsResponse {
 public:
  explicit EventsResponse(const IngestResult& result);
  EventsResponse(const EventsResponse&) = delete;
  EventsResponse& operator=(const EventsResponse&) = delete;

  // The body, newline included; valid while this object lives.
  std::string_view body() const { return body_; }

 private:
  // {"accepted":N,"errors":[],"errors_truncated":true,"rejected":N}\n with 20-digit numbers.
  std::array<char, 112> inline_;
  std::string built_;  // the body, when it lists errors
  std::string_view body_;
};

}  // namespace llm_exporter::transport
