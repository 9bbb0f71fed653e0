// What both span decoders (protobuf and OTLP/JSON) build their result with: the storage that the
// decoded spans' attributes, events and resources point into, the index of every span in wire
// order, and the refused spans with their errors, counted within SpanDecodeLimits.
#pragma once

#include <fmt/format.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "otlp/span.h"
#include "otlp/span_decoder.h"

namespace llm_exporter::otlp {

// Collects one request at a time: Reset(), then per resource StartResource(), its attributes and
// EndResource(); per span NextIndex(), then either Reject() or BeginSpan(), its attributes and
// events, and CommitSpan() or AbandonSpan(); finally Finish(). Spans point into the collector's
// vectors only once Finish() has run, so that growing them while decoding moves nothing that was
// already handed out. Not thread-safe: one per decoder.
class SpanCollector {
 public:
  explicit SpanCollector(const SpanDecodeLimits& limits) : limits_(limits) {}

  const SpanDecodeLimits& limits() const { return limits_; }

  // Forgets the previous request; keeps the buffers' capacity.
  void Reset();

  // The whole body is refused: drops every span and error collected so far.
  void SetBodyError(std::string message);

  void StartResource();
  void AddResourceAttribute(const Attribute& attribute) { attributes_.push_back(attribute); }
  void EndResource();

  // The position of the next span in wire order, refused ones included.
  std::size_t NextIndex() { return next_index_++; }
  std::size_t span_count() const { return next_index_; }

  // Refuses the span `index`; its message is "span <index>: " followed by the formatted detail,
  // and is only formatted when it will be listed.
  template <typename... Args>
  void Reject(std::size_t index, SpanRejectReason reason, fmt::format_string<Args...> format,
              Args&&... args) {
    ++result_.rejected;
    if (result_.errors.size() >= limits_.max_reported_errors) return;
    std::string message = fmt::format("span {}: ", index);
    fmt::format_to(std::back_inserter(message), format, std::forward<Args>(args)...);
    result_.errors.push_back(SpanError{index, reason, std::move(message)});
  }
  // Refuses the span `index` with a detail already written.
  void RejectWith(std::size_t index, SpanRejectReason reason, std::string_view detail) {
    Reject(index, reason, "{}", detail);
  }

  // The span being decoded, with the index it was given; its attributes and events follow.
  Span& BeginSpan(std::size_t index);
  void AddAttribute(const Attribute& attribute) { attributes_.push_back(attribute); }
  void AddEvent(const SpanEvent& event) { events_.push_back(event); }
  void CommitSpan();
  void AbandonSpan();  // the span turned out to be invalid: forgets its attributes and events

  // Points the spans and resources into the storage; the result is complete.
  const DecodedSpans& Finish();
  const DecodedSpans& result() const { return result_; }

  // Bytes held by the buffers, and frees them when they grew past `max_bytes`.
  std::size_t retained_bytes() const;
  void ReleaseIfOver(std::size_t max_bytes);

 private:
  // Where a span's or a resource's entries lie in the shared vectors until Finish().
  struct Range {
    std::size_t begin = 0;
    std::size_t end = 0;
  };
  struct PendingSpan {
    Range attributes;
    Range events;
    std::size_t resource = 0;
  };

  const SpanDecodeLimits limits_;
  DecodedSpans result_;
  std::size_t next_index_ = 0;
  std::vector<Attribute> attributes_;
  std::vector<SpanEvent> events_;
  std::vector<Resource> resources_;
  std::vector<Range> resource_ranges_;
  std::vector<PendingSpan> pending_;  // parallel to result_.spans
  Span current_;
  PendingSpan current_ranges_;
};

}  // namespace llm_exporter::otlp
