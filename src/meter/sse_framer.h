// Splits a server-sent events byte stream into whole events, so that the proxy relays (and the
// meter reads) one event at a time, however the bytes were cut by TCP and the upstream.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace llm_exporter::meter {

// An event ends at a blank line: "\n\n", "\r\n\r\n", "\r\r" or any mix of the three line endings
// (the SSE specification's). Feed() hands over each complete event, raw and with its terminator,
// in order; Finish() hands over what is left at the end of the stream. The concatenation of
// everything handed over is exactly the bytes fed.
//
// Which events come out does not depend on where the bytes were cut: an event whose blank line
// ends in '\r' as the last byte fed so far is kept until the next byte says whether a '\n'
// belongs to it (or Finish()).
//
// Bounded: an unfinished event over max_event_bytes is handed over as it is, flagged oversize,
// and so is the rest of it as it arrives, rather than kept growing; a complete event over the
// limit is flagged too. Not thread-safe: one framer per stream.
class SseFramer {
 public:
  static constexpr std::size_t kDefaultMaxEventBytes = std::size_t{8} << 20;

  explicit SseFramer(std::size_t max_event_bytes = kDefaultMaxEventBytes)
      : max_event_bytes_(max_event_bytes) {}

  // on_event(std::string_view raw, bool oversize) for each event completed by `bytes`; `raw` is
  // valid during the call only.
  template <typename OnEvent>
  void Feed(std::string_view bytes, OnEvent&& on_event) {
    std::size_t start = 0;
    while (true) {
      const std::size_t end = Scan(bytes, start);
      if (end == std::string_view::npos) break;
      Emit(bytes.substr(start, end - start), on_event);
      start = end;
    }
    buffer_.append(bytes.substr(start));
    if (buffer_.size() > max_event_bytes_) {
      oversize_ = true;
      on_event(std::string_view(buffer_), true);
      buffer_.clear();
    }
  }

  // The end of the stream: hands over the unfinished event, if any (an upstream that closes
  // without the final blank line), and makes the framer ready for a new stream.
  template <typename OnEvent>
  void Finish(OnEvent&& on_event) {
    if (!buffer_.empty()) on_event(std::string_view(buffer_), oversize_);
    Reset();
  }

  // Bytes of the unfinished event held.
  std::size_t buffered() const { return buffer_.size(); }

 private:
  // Reads bytes[from, ...) on from the state left by earlier bytes. Returns the end (exclusive)
  // of the event that completes there, or npos when all of it was read without one.
  std::size_t Scan(std::string_view bytes, std::size_t from);
  void Reset();

  template <typename OnEvent>
  void Emit(std::string_view tail, OnEvent& on_event) {
    if (buffer_.empty()) {
      // A CR-ended event whose bytes all went out as an oversize piece leaves nothing to send.
      if (!tail.empty()) on_event(tail, oversize_ || tail.size() > max_event_bytes_);
    } else {
      buffer_.append(tail);
      on_event(std::string_view(buffer_), oversize_ || buffer_.size() > max_event_bytes_);
      buffer_.clear();
      if (buffer_.capacity() > kRetainedBytes) std::string().swap(buffer_);
    }
    oversize_ = false;
  }

  // An event buffer grown past this by one large event is freed, not kept for the stream's life.
  static constexpr std::size_t kRetainedBytes = 64 << 10;

  std::size_t max_event_bytes_;
  std::string buffer_;       // the unfinished event's bytes
  bool line_start_ = true;   // the next byte starts a line
  bool pending_cr_ = false;  // the last byte was '\r': is it "\r" or the start of "\r\n"?
  bool cr_blank_ = false;    // ... and that '\r' ended a blank line
  bool oversize_ = false;    // part of the current event went out as an oversize piece
};

}  // namespace llm_exporter::meter
