// Metering of a streamed answer (server-sent events), event by event as the proxy relays them:
// the model, the usage, errors inside a 200 stream, the first content delta (for TTFT), and
// what the client gets of each event when the proxy asked for usage the client did not.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "meter/metered.h"
#include "meter/operation.h"

namespace llm_exporter::meter {

// Reads one stream. Each event is parsed once (simdjson, with a parser kept for the stream).
//   openai chat / completions: "model" of the chunks; the chunk whose "usage" is an object (with
//     include_usage, the last before [DONE], "choices": []); first content: a choice's
//     delta.content, delta.refusal, delta.reasoning_content or delta.reasoning non-empty, or
//     delta.tool_calls non-empty, or (completions) choices[].text non-empty.
//   openai responses: response.model and response.usage of the response.* events that carry the
//     response (response.completed has the usage); first content: response.output_text.delta,
//     response.refusal.delta, response.function_call_arguments.delta,
//     response.reasoning_summary_text.delta.
//   anthropic messages: message_start.message.model and .usage, then each message_delta.usage
//     (cumulative: a field it has replaces the value before); first content: content_block_delta.
//   errors (any): a top-level "error" that is not null, `event: error`, a Responses event of type
//     "error" or "response.failed".
// `data: [DONE]`, comments and Anthropic's `ping` events are forwarded without being parsed. An
// event that is not JSON is forwarded and changes nothing read before it.
// Not thread-safe: one meter per stream.
class StreamMeter {
 public:
  // strip_injected_usage: the proxy added stream_options.include_usage to this (chat or
  // completions) request, so the client must not see its effects: the usage-only chunk
  // (choices: [] with usage) is dropped and the `"usage":null` member of the other chunks is
  // removed, every other byte kept. Ignored for other operations.
  StreamMeter(ApiKind kind, Operation op, bool strip_injected_usage);
  ~StreamMeter();
  StreamMeter(const StreamMeter&) = delete;
  StreamMeter& operator=(const StreamMeter&) = delete;

  enum class Action : uint8_t {
    kForward,  // send the event as it came
    kRewrite,  // send *rewritten instead
    kDrop,     // send nothing
  };

  // One raw event as SseFramer hands it over (with its terminator).
  Action OnEvent(std::string_view raw_event, std::string* rewritten);

  // True when the event just read carried the stream's first content delta (once per stream).
  bool first_content() const { return first_content_; }

  // What the stream said so far.
  const Metered& result() const { return metered_; }

 private:
  struct Impl;

  std::unique_ptr<Impl> impl_;
  Metered metered_;
  bool first_content_ = false;
};

}  // namespace llm_exporter::meter
