// Frames the byte stream of one NDJSON connection into runs of complete lines, carrying a partial
// line over from one read to the next and cutting out lines over the length limit, so that the
// decoder only ever sees whole lines and never a truncated event.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace llm_exporter::transport {

// Where a LineFramer hands what it framed. Implementations say whether they are thread-safe.
class LineSink {
 public:
  virtual ~LineSink() = default;
  // One or more complete lines, each ending with '\n' (the last line of a finished stream may
  // not). `readable` bytes from lines.data() may be read, as in EventDecoder::DecodeLines.
  virtual void OnLines(std::string_view lines, std::size_t readable) = 0;
  // A line longer than the limit was dropped without being decoded.
  virtual void OnLineTooLong() = 0;
};

// The framing state of one connection: the partial line not yet ended by '\n', and whether the
// rest of an over-long line is being skipped. Not thread-safe: one per connection, used by the
// thread that reads it.
//
// Reads land in a buffer the caller owns (one for all its connections): Restore() copies the
// partial line to the buffer's start, the caller reads after it, and Frame() hands every run of
// complete lines to the sink straight from that buffer, so that the common case copies only the
// partial line.
class LineFramer {
 public:
  // A line of more than `max_line_bytes` bytes, not counting its '\n', is too long.
  explicit LineFramer(std::size_t max_line_bytes) : max_line_bytes_(max_line_bytes) {}

  // Copies the partial line to `buffer` and returns its length, at most max_line_bytes.
  std::size_t Restore(char* buffer) const;

  // `buffer[0, size)` holds what Restore() put there followed by newly read bytes; `readable`
  // bytes from `buffer` may be read. Hands complete lines on and keeps the rest as the partial
  // line. A run of good lines is handed on as one OnLines() call.
  void Frame(const char* buffer, std::size_t size, std::size_t readable, LineSink& sink);

  // The stream ended: a last line without '\n' is handed on as it is.
  void Finish(LineSink& sink);

  std::size_t partial_size() const { return partial_.size(); }
  bool skipping() const { return skipping_; }

 private:
  void KeepPartial(const char* begin, std::size_t size);

  const std::size_t max_line_bytes_;
  std::string partial_;
  bool skipping_ = false;  // inside an over-long line: drop bytes up to the next '\n'
};

}  // namespace llm_exporter::transport
