// Decoding a body in one call and keeping both the result and copies of the events, for the
// decoder's tests.
#pragma once

#include <string_view>

#include "decode/event_decoder.h"
#include "fakes/capturing_sink.h"

namespace llm_exporter::decode {

struct Decoded {
  DecodeResult result;
  testing::CapturingSink sink;
};

inline Decoded Decode(std::string_view body, DecodeLimits limits = {}) {
  Decoded d;
  EventDecoder decoder(limits);
  d.result = decoder.Decode(body, d.sink);
  return d;
}

inline Decoded DecodeLines(std::string_view lines) {
  Decoded d;
  EventDecoder decoder;
  d.result = decoder.DecodeLines(lines, lines.size(), d.sink);
  return d;
}

}  // namespace llm_exporter::decode
