#include "meter/sse_framer.h"

namespace llm_exporter::meter {

std::size_t SseFramer::Scan(std::string_view bytes, std::size_t from) {
  for (std::size_t i = from; i < bytes.size(); ++i) {
    const char c = bytes[i];
    if (pending_cr_) {
      pending_cr_ = false;
      line_start_ = true;
      if (c == '\n') {
        if (cr_blank_) return i + 1;
        continue;
      }
      // A lone '\r' ended the line; when that line was blank, the event ended at it and `c`
      // starts the next one.
      if (cr_blank_) return i;
    }
    if (c == '\n') {
      if (line_start_) return i + 1;
      line_start_ = true;
    } else if (c == '\r') {
      pending_cr_ = true;
      cr_blank_ = line_start_;
    } else {
      line_start_ = false;
    }
  }
  return std::string_view::npos;
}

void SseFramer::Reset() {
  buffer_.clear();
  line_start_ = true;
  pending_cr_ = false;
  cr_blank_ = false;
  oversize_ = false;
}

}  // namespace llm_exporter::meter
