// Turns a request body or a socket line into validated events, or into precise errors that name
// the event, the field and the reason. Accepts one JSON object, a JSON array of objects, or NDJSON.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "llm_exporter/event_ingest.h"
#include "llm_exporter/event_sink.h"
#include "llm_exporter/transport.h"

namespace llm_exporter::decode {

struct DecodeLimits {
  std::size_t max_label_bytes = 128;     // model, endpoint, status, user_id, team_id, evaluator
  std::size_t max_trace_id_bytes = 128;  // trace_id and span_id each
  std::size_t max_reported_errors = 100;  // errors listed in a result; all are counted
};

// What the decoder reports is what the pipeline reports to transports (event_ingest.h).
using EventError = llm_exporter::EventError;
using DecodeResult = llm_exporter::IngestResult;

// Bytes the decoder may read past the end of a body (simdjson's padding).
inline constexpr std::size_t kPadding = kIngestPadding;

// Owns a reusable parser and buffers. Not thread-safe: use one decoder per thread.
// A JSON object or array body is all-or-nothing at the JSON level: its valid events reach the
// sink only after the whole body has been read, so a body refused with body_error counts nothing.
class EventDecoder {
 public:
  explicit EventDecoder(DecodeLimits limits = {});
  ~EventDecoder();
  EventDecoder(const EventDecoder&) = delete;
  EventDecoder& operator=(const EventDecoder&) = delete;

  // `readable` is how many bytes from body.data() may be read; when it is at least
  // body.size() + kPadding the body is parsed in place, otherwise it is copied first.
  DecodeResult Decode(std::string_view body, std::size_t readable, EventSink& sink);
  DecodeResult Decode(std::string_view body, EventSink& sink) {
    return Decode(body, body.size(), sink);
  }

  // Decodes `lines` as NDJSON whatever it starts with: each non-blank line is one event, and a
  // bad line never affects the others. For socket transports, which frame lines themselves.
  DecodeResult DecodeLines(std::string_view lines, std::size_t readable, EventSink& sink);

  // The largest document the warm parse buffers hold, in bytes; they take about 14 bytes of
  // memory per byte of it (simdjson's tape and indexes).
  std::size_t capacity() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace llm_exporter::decode
