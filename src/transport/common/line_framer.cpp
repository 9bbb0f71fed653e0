#include "transport/common/line_framer.h"

#include <cstring>

namespace llm_exporter::transport {
namespace {

// Partial lines are short in the common case; a connection that once held a long one gives the
// memory back rather than keeping up to max_line_bytes for its lifetime.
constexpr std::size_t kKeptPartialCapacity = 16 << 10;

const char* FindNewline(const char* begin, std::size_t size) {
  return static_cast<const char*>(std::memchr(begin, '\n', size));
}

const char* FindLastNewline(const char* begin, std::size_t size) {
  return static_cast<const char*>(::memrchr(begin, '\n', size));
}

}  // namespace

std::size_t LineFramer::Restore(char* buffer) const {
  if (!partial_.empty()) std::memcpy(buffer, partial_.data(), partial_.size());
  return partial_.size();
}

void LineFramer::Frame(const char* buffer, std::size_t size, std::size_t readable,
                       LineSink& sink) {
  std::size_t pos = 0;
  if (skipping_) {
    const char* newline = FindNewline(buffer, size);
    if (newline == nullptr) {
      partial_.clear();
      return;
    }
    skipping_ = false;
    pos = static_cast<std::size_t>(newline - buffer) + 1;
  }
  std::size_t run_start = pos;
  auto flush_run = [&](std::size_t run_end) {
    if (run_end > run_start) {
      sink.OnLines(std::string_view(buffer + run_start, run_end - run_start),
                   readable - run_start);
    }
  };

  // Every line that starts at `pos` and ends within the next max_line_bytes + 1 bytes is short
  // enough, so one backward search per window of that size checks all the lines in it.
  while (size - pos > max_line_bytes_) {
    const char* newline = FindLastNewline(buffer + pos, max_line_bytes_ + 1);
    if (newline != nullptr) {
      pos = static_cast<std::size_t>(newline - buffer) + 1;
      continue;
    }
    // The line starting at `pos` is over the limit: hand on the run before it, drop it.
    flush_run(pos);
    sink.OnLineTooLong();
    const std::size_t scanned = pos + max_line_bytes_ + 1;
    const char* end = FindNewline(buffer + scanned, size - scanned);
    if (end == nullptr) {
      skipping_ = true;
      partial_.clear();
      return;
    }
    pos = run_start = static_cast<std::size_t>(end - buffer) + 1;
  }
  // Fewer than max_line_bytes + 1 bytes are left: any line in them is short enough.
  const char* last = FindLastNewline(buffer + pos, size - pos);
  const std::size_t run_end = last == nullptr ? pos : static_cast<std::size_t>(last - buffer) + 1;
  flush_run(run_end);
  KeepPartial(buffer + run_end, size - run_end);
}

void LineFramer::Finish(LineSink& sink) {
  if (!skipping_ && !partial_.empty()) sink.OnLines(partial_, partial_.size());
  partial_.clear();
  skipping_ = false;
}

void LineFramer::KeepPartial(const char* begin, std::size_t size) {
  if (partial_.capacity() > kKeptPartialCapacity && size <= kKeptPartialCapacity) {
    std::string(begin, size).swap(partial_);
  } else {
    partial_.assign(begin, size);
  }
}

}  // namespace llm_exporter::transport
