#include "loadgen/traceloop_chat_span.h"

#include <cmath>

namespace llm_exporter::bench {
namespace {

std::string Text(std::string_view seed, std::size_t bytes) {
  std::string out;
  while (out.size() < bytes) out.append(seed);
  out.resize(bytes);
  return out;
}

const std::string& SystemPrompt() {
  static const std::string text =
      Text("You are a helpful support assistant for a bicycle shop. ", 300);
  return text;
}
const std::string& UserPrompt() {
  static const std::string text = Text(
      "My rear derailleur skips gears when I pedal hard uphill; what should I check? ", 250);
  return text;
}
const std::string& Completion() {
  static const std::string text =
      Text("Check the cable tension first, then the hanger alignment and chain wear. ", 500);
  return text;
}

}  // namespace

TraceloopChatSpan TraceloopChatSpanOf(const MixEvent& call, uint64_t index) {
  using K = SpanAttribute::Kind;
  const bool anthropic = call.model.starts_with("claude");
  TraceloopChatSpan span;
  span.name = anthropic ? "anthropic.chat" : "openai.chat";
  span.error = call.status == "error";
  // The mix's latencies are whole milliseconds: exact in nanoseconds.
  span.duration_nanos =
      static_cast<uint64_t>(std::llround(call.latency_seconds * 1000)) * 1'000'000;
  const auto text = [](std::string key, std::string value) {
    return SpanAttribute{K::kString, std::move(key), std::move(value)};
  };
  const auto integer = [](std::string key, uint64_t value) {
    return SpanAttribute{K::kInt, std::move(key), {}, static_cast<int64_t>(value)};
  };
  const auto number = [](std::string key, double value) {
    return SpanAttribute{K::kDouble, std::move(key), {}, 0, value};
  };
  std::vector<SpanAttribute>& a = span.attributes;
  a.reserve(30);
  a.push_back(text("llm.request.type", "chat"));
  a.push_back(text("gen_ai.system", anthropic ? "Anthropic" : "OpenAI"));
  a.push_back(text("gen_ai.request.model", call.model));
  a.push_back(integer("gen_ai.request.max_tokens", 1024));
  a.push_back(number("gen_ai.request.temperature", 0.7));
  a.push_back(number("gen_ai.request.top_p", 1.0));
  a.push_back(text("llm.headers", "None"));
  a.push_back(SpanAttribute{K::kBool, "llm.is_streaming", {}, 0, 0, call.ttft_seconds.has_value()});
  a.push_back(text("gen_ai.openai.api_base", "https://api.openai.com/v1/"));
  a.push_back(text("gen_ai.prompt.0.role", "system"));
  a.push_back(text("gen_ai.prompt.0.content", SystemPrompt()));
  a.push_back(text("gen_ai.prompt.1.role", "user"));
  a.push_back(text("gen_ai.prompt.1.content", UserPrompt()));
  a.push_back(text("gen_ai.response.model", call.model));
  a.push_back(text("gen_ai.response.id", "chatcmpl-AbC" + std::to_string(1'000'000 + index)));
  a.push_back(text("gen_ai.openai.system_fingerprint", "fp_5f20662549"));
  a.push_back(integer("llm.usage.total_tokens", call.input_tokens + call.output_tokens));
  a.push_back(integer("gen_ai.usage.prompt_tokens", call.input_tokens));
  a.push_back(integer("gen_ai.usage.completion_tokens", call.output_tokens));
  a.push_back(integer("gen_ai.usage.cache_read_input_tokens", call.cached_input_tokens));
  a.push_back(text("gen_ai.completion.0.finish_reason", span.error ? "error" : "stop"));
  a.push_back(text("gen_ai.completion.0.role", "assistant"));
  a.push_back(text("gen_ai.completion.0.content", Completion()));
  a.push_back(text("traceloop.workflow.name", call.endpoint));
  a.push_back(text("traceloop.entity.path", "answer_question"));
  a.push_back(text("traceloop.association.properties.user_id", call.user_id));
  a.push_back(text("traceloop.association.properties.team_id", call.team_id));
  if (call.ttft_seconds) {
    a.push_back(number("gen_ai.response.time_to_first_chunk", *call.ttft_seconds));
  }
  if (call.cost_usd) a.push_back(number("gen_ai.usage.cost", *call.cost_usd));
  return span;
}

}  // namespace llm_exporter::bench
