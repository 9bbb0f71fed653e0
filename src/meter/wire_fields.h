// The fields of the providers' JSON that metering reads, shared by the body reader and the stream
// meter: token usage in OpenAI's and Anthropic's spellings, the model, error objects.
// Internal to the meter (it exposes simdjson types, which the module keeps private).
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string_view>

#include "meter/metered.h"

namespace llm_exporter::meter {

// The member `key` of `object` as a string; empty when absent or not a string.
std::string_view StringField(const simdjson::dom::element& object, std::string_view key);

// OpenAI usage, either spelling: Chat Completions / completions / embeddings
// (prompt_tokens, completion_tokens, prompt_tokens_details.cached_tokens,
// completion_tokens_details.reasoning_tokens) or the Responses API (input_tokens, output_tokens,
// input_tokens_details.cached_tokens, output_tokens_details.reasoning_tokens). False (and *usage
// untouched) when `usage` is not an object.
bool ReadOpenAiUsage(const simdjson::dom::element& usage, Usage* out);

// Anthropic usage as it accumulates over a stream: message_start's, then each message_delta's,
// every field present (and not null) replacing the value before it.
class AnthropicUsage {
 public:
  // False when `usage` is not an object.
  bool Merge(const simdjson::dom::element& usage);
  // input = input_tokens + cache_creation_input_tokens + cache_read_input_tokens.
  Usage ToUsage() const;

 private:
  uint64_t input_ = 0, output_ = 0, cache_write_ = 0, cache_read_ = 0;
  bool known_ = false;
};

// Marks *metered as an error when `root` carries one: a top-level `error` member that is not null
// (OpenAI, Anthropic's {"type":"error","error":{...}}), a Responses event of type "error" or
// "response.failed", or any event sent as `event: error` (named_error). The first error's
// error.type (or error.code) becomes error_type.
void ReadError(const simdjson::dom::element& root, bool named_error, Metered* metered);

// Sets metered->model to `model` unless that is empty.
void SetModel(std::string_view model, Metered* metered);

}  // namespace llm_exporter::meter
