// What metering one answer yields: the model it names, its token usage and whether it carried an
// error. Filled by ReadResponse (a whole body) and StreamMeter (a stream, event by event).
#pragma once

#include <cstdint>
#include <string>

namespace llm_exporter::meter {

// The token fields of an LlmCall (llm_exporter/event.h); known: the answer carried usage.
// cached_input and cache_write_input are parts of input; reasoning is part of output.
struct Usage {
  uint64_t input = 0, output = 0, cached_input = 0, cache_write_input = 0, reasoning = 0;
  bool known = false;

  bool operator==(const Usage&) const = default;
};

struct Metered {
  std::string model;       // from the response; empty when it named none
  Usage usage;
  bool error = false;      // the body or stream carried an error (an error object, `event: error`)
  std::string error_type;  // "overloaded_error", "server_error", ...; may be empty
};

}  // namespace llm_exporter::meter
