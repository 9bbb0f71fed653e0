// Validates one parsed JSON object as an event: every field typed, ranged and length-checked,
// or one precise error naming the event, the field and the reason.
#pragma once

#include <simdjson.h>

#include <variant>

#include "decode/event_decoder.h"
#include "llm_exporter/event.h"

namespace llm_exporter::decode {

using Event = std::variant<LlmCall, QualityScore>;

struct ObjectContext {
  std::size_t index = 0;
  const DecodeLimits* limits = nullptr;
  bool sanitized = false;  // the body had bad UTF-8 replaced by kInvalidTextMarker
};

// True with *event set, or false with *error set. The event's strings view the parser's buffers.
bool DecodeEventObject(simdjson::dom::object object, const ObjectContext& context, Event* event,
                       EventError* error);

}  // namespace llm_exporter::decode
