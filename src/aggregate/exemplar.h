// Exemplars: the most recent trace behind a counter series or a histogram bucket, so that a
// Grafana user can go from a latency spike or a costly minute to the trace that caused it.
// Kept only for series that have been sent a trace id: a series never sent one holds a null
// pointer, and an event without a trace id costs one comparison.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace llm_exporter::aggregate {

// Which ids become an exemplar (docs/metrics.md, "Exemplars"). OpenMetrics allows 128
// characters of exemplar labels in all; these limits keep trace_id and span_id within it:
// - a trace id of 1 to 64 characters, each printable ASCII other than space, '"' and '\';
//   any other trace id gives the event no exemplar (the event is counted as always);
// - a span id of up to 32 such characters; any other span id is left out of the exemplar.
// W3C and OpenTelemetry ids (32 and 16 hex digits), UUIDs and Langfuse ids all fit.
inline constexpr std::size_t kMaxExemplarTraceId = 64;
inline constexpr std::size_t kMaxExemplarSpanId = 32;
bool UsableExemplarId(std::string_view id, std::size_t max_size);

// A call's ids as its exemplars take them, checked once per call: `trace_id` empty if the call
// gets no exemplar, `span_id` empty if it is left out.
struct ExemplarIds {
  explicit ExemplarIds(std::string_view trace, std::string_view span);
  bool usable() const { return !trace_id.empty(); }
  std::string_view trace_id;
  std::string_view span_id;
};

// One exemplar, its ids stored inline (no allocation when it is replaced). Not thread-safe:
// the series' lock guards it.
class ExemplarSlot {
 public:
  bool empty() const { return trace_size_ == 0; }
  std::string_view trace_id() const { return {ids_.data(), trace_size_}; }
  std::string_view span_id() const { return {ids_.data() + trace_size_, span_size_}; }
  double value() const { return value_; }
  double timestamp() const { return timestamp_; }  // Unix time in seconds

  // Replaces the exemplar. The caller has checked both ids with UsableExemplarId (an unusable
  // span id is passed empty).
  void Set(std::string_view trace_id, std::string_view span_id, double value, double timestamp);

 private:
  double value_ = 0;
  double timestamp_ = 0;
  uint8_t trace_size_ = 0;
  uint8_t span_size_ = 0;
  std::array<char, kMaxExemplarTraceId + kMaxExemplarSpanId> ids_{};
};

// The exemplars of one series: one slot for a counter, one per bucket for a histogram;
// allocated at the series' first usable trace id. Kept compact, as a series keeps them for its
// life: each slot holds its value, time and ids in one block sized for the longest ids seen so
// far (72 bytes a slot for OpenTelemetry's 32- and 16-digit ids, against the 120 of an
// ExemplarSlot), grown when a longer pair comes. Not thread-safe: the series' lock guards it.
class Exemplars {
 public:
  Exemplars() = default;
  Exemplars(const Exemplars& other);
  Exemplars& operator=(const Exemplars& other);
  Exemplars(Exemplars&&) noexcept = default;
  Exemplars& operator=(Exemplars&&) noexcept = default;

  // Sets slot `index` of `slots`, allocating them all at first use. The ids are checked
  // (ExemplarIds).
  void Set(std::size_t slots, std::size_t index, std::string_view trace_id,
           std::string_view span_id, double value, double timestamp);
  // Slots held: 0 if no exemplar was ever set.
  std::size_t size() const { return slots_; }
  // Every slot (empty ones included) appended to `out`.
  void AppendTo(std::vector<ExemplarSlot>* out) const;
  // The block, for a reader to prefetch; null if none.
  const void* data() const { return block_.get(); }
  // Heap bytes held.
  std::size_t MemoryBytes() const { return slots_ * Stride(); }

 private:
  // A slot: value (8 bytes), timestamp (8), trace id size (1), span id size (1), then
  // capacity_ bytes of ids.
  static constexpr std::size_t kHeader = 18;
  std::size_t Stride() const { return kHeader + capacity_; }

  std::unique_ptr<unsigned char[]> block_;
  uint16_t slots_ = 0;
  uint8_t capacity_ = 0;
};

}  // namespace llm_exporter::aggregate
