// What the proxy reads of a request body (model, user, whether it streams and asks for usage),
// and the one change it may make to it: asking a streamed chat or completion for its usage.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace llm_exporter::meter {

// From the JSON request body; all empty/false when it is not a JSON object.
struct RequestFacts {
  std::string model;           // "model"
  std::string user;            // "user" (OpenAI), else "metadata.user_id" (Anthropic)
  bool stream = false;         // "stream": true
  bool include_usage = false;  // "stream_options": {"include_usage": true}
};

// Thread-safe (pure; each call parses with a parser of its own).
RequestFacts ReadRequest(std::string_view body);

// The body with stream_options.include_usage set to true, every other byte kept:
//   - no stream_options: `"stream_options":{"include_usage":true}` is inserted after the opening
//     brace (with a ',' when other members follow);
//   - stream_options an object without include_usage: `"include_usage":true` is inserted after
//     its brace; with include_usage (false, null, ...): that value becomes `true`;
//   - stream_options not an object (null, ...): the value becomes `{"include_usage":true}`.
// Every member named stream_options is changed, should a body carry it twice, so that the
// upstream's parser sees the same whichever duplicate it keeps. nullopt when the body is not a
// JSON object. Thread-safe (pure).
std::optional<std::string> InjectStreamUsage(std::string_view body);

}  // namespace llm_exporter::meter
