// Metering of a whole (non-streamed) answer body: the model, the usage and an error it carries.
#pragma once

#include <string_view>

#include "meter/metered.h"
#include "meter/operation.h"

namespace llm_exporter::meter {

// `body` is the answer as the client gets it, already decompressed. What is read:
//   openai:    "model"; "usage" in the Chat Completions spelling (prompt_tokens, ...) or the
//              Responses API's (input_tokens, ...); embeddings have prompt_tokens only (output 0);
//   anthropic: "model"; "usage": input = input_tokens + cache_creation_input_tokens +
//              cache_read_input_tokens, cached_input = cache_read_input_tokens,
//              cache_write_input = cache_creation_input_tokens, output = output_tokens;
//   both:      an error: a top-level "error" member that is not null (Anthropic's
//              {"type":"error","error":{...}}, a failed Responses object's "error").
// A body that is not JSON yields an empty Metered (usage unknown, no error). Thread-safe (pure).
Metered ReadResponse(ApiKind kind, Operation op, std::string_view body);

}  // namespace llm_exporter::meter
