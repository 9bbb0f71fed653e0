#include "meter/stream_meter.h"

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "meter/sse_framer.h"

namespace llm_exporter::meter {
namespace {

using Action = StreamMeter::Action;

// What a client gets of a stream relayed event by event, and what the meter read.
struct Relay {
  std::string client;
  std::vector<Action> actions;
  int first_content_event = -1;  // index of the event flagged first_content
  int first_content_flags = 0;   // how many events were flagged
  Metered result;
};

Relay Run(ApiKind kind, Operation op, bool strip, std::string_view stream,
          const std::vector<std::size_t>& cuts = {}) {
  SseFramer framer;
  StreamMeter meter(kind, op, strip);
  Relay relay;
  std::string rewritten;
  const auto on_event = [&](std::string_view raw, bool oversize) {
    CHECK_FALSE(oversize);
    const Action action = meter.OnEvent(raw, &rewritten);
    if (meter.first_content()) {
      if (relay.first_content_flags++ == 0) {
        relay.first_content_event = static_cast<int>(relay.actions.size());
      }
    }
    relay.actions.push_back(action);
    if (action == Action::kForward) relay.client.append(raw);
    if (action == Action::kRewrite) relay.client.append(rewritten);
  };
  std::size_t at = 0;
  for (const std::size_t cut : cuts) {
    framer.Feed(stream.substr(at, cut - at), on_event);
    at = cut;
  }
  framer.Feed(stream.substr(at), on_event);
  framer.Finish(on_event);
  relay.result = meter.result();
  return relay;
}

// --- OpenAI Chat Completions, as the API streams it -------------------------------------------

constexpr std::string_view kChatHead =
    R"({"id":"chatcmpl-AyPRCTp6bo8xNXcrZhOd7XCBqWn9b","object":"chat.completion.chunk",)"
    R"("created":1738960610,"model":"gpt-4o-mini-2024-07-18","service_tier":"default",)"
    R"("system_fingerprint":"fp_72ed7ab54c",)";

// One chunk; with_usage_null: as sent when the request has stream_options.include_usage.
std::string ChatChunk(std::string_view choice, bool with_usage_null) {
  std::string chunk = "data: ";
  chunk += kChatHead;
  chunk += R"("choices":[)";
  chunk += choice;
  chunk += "]";
  if (with_usage_null) chunk += R"(,"usage":null)";
  chunk += "}\n\n";
  return chunk;
}

std::string ChatStream(bool include_usage) {
  std::string s;
  s += ChatChunk(R"({"index":0,"delta":{"role":"assistant","content":"","refusal":null},)"
                 R"("logprobs":null,"finish_reason":null})",
                 include_usage);
  s += ChatChunk(R"({"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null})",
                 include_usage);
  s += ChatChunk(R"({"index":0,"delta":{"content":"!"},"logprobs":null,"finish_reason":null})",
                 include_usage);
  s += ChatChunk(R"({"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"})",
                 include_usage);
  if (include_usage) {
    s += "data: ";
    s += kChatHead;
    s += R"("choices":[],"usage":{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,)"
         R"("prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},)"
         R"("completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,)"
         R"("accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}})"
         "\n\n";
  }
  s += "data: [DONE]\n\n";
  return s;
}

TEST_CASE("StreamMeter: chat stream without include_usage: model and TTFT, usage unknown") {
  const std::string stream = ChatStream(false);
  const Relay relay = Run(ApiKind::kOpenAi, Operation::kChat, false, stream);
  CHECK(relay.client == stream);
  CHECK(relay.actions.size() == 5);
  CHECK(relay.first_content_event == 1);  // the role chunk's "content":"" is not content
  CHECK(relay.first_content_flags == 1);
  CHECK(relay.result.model == "gpt-4o-mini-2024-07-18");
  CHECK_FALSE(relay.result.usage.known);
  CHECK_FALSE(relay.result.error);
}

TEST_CASE("StreamMeter: chat stream with include_usage asked by the client: relayed as it came") {
  const std::string stream = ChatStream(true);
  const Relay relay = Run(ApiKind::kOpenAi, Operation::kChat, false, stream);
  CHECK(relay.client == stream);
  CHECK(relay.actions == std::vector<Action>(6, Action::kForward));
  CHECK(relay.first_content_event == 1);
  CHECK(relay.result.usage == Usage{.input = 19, .output = 10, .known = true});
  CHECK(relay.result.model == "gpt-4o-mini-2024-07-18");
}

TEST_CASE("StreamMeter: injected usage is metered and invisible to the client") {
  const Relay relay = Run(ApiKind::kOpenAi, Operation::kChat, true, ChatStream(true));
  // Byte for byte the stream the client would have had without include_usage.
  CHECK(relay.client == ChatStream(false));
  CHECK(relay.actions == std::vector<Action>{Action::kRewrite, Action::kRewrite, Action::kRewrite,
                                             Action::kRewrite, Action::kDrop, Action::kForward});
  CHECK(relay.result.usage == Usage{.input = 19, .output = 10, .known = true});
  CHECK(relay.first_content_event == 1);
}

TEST_CASE("StreamMeter: injected usage, every split point of the stream") {
  const std::string stream = ChatStream(true);
  const std::string expected = ChatStream(false);
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    CAPTURE(cut);
    const Relay relay = Run(ApiKind::kOpenAi, Operation::kChat, true, stream, {cut});
    REQUIRE(relay.client == expected);
    REQUIRE(relay.result.usage == Usage{.input = 19, .output = 10, .known = true});
    REQUIRE(relay.first_content_event == 1);
  }
}

TEST_CASE("StreamMeter: \"usage\":null removed wherever it stands, with its comma") {
  std::string rewritten;
  StreamMeter meter(ApiKind::kOpenAi, Operation::kChat, true);
  CHECK(meter.OnEvent("data: {\"usage\":null,\"model\":\"m\",\"choices\":[]}\n\n", &rewritten) ==
        Action::kRewrite);
  CHECK(rewritten == "data: {\"model\":\"m\",\"choices\":[]}\n\n");
  CHECK(meter.OnEvent("data: {\"model\":\"m\" , \"usage\" : null , \"choices\":[]}\r\n\r\n",
                      &rewritten) == Action::kRewrite);
  CHECK(rewritten == "data: {\"model\":\"m\" , \"choices\":[]}\r\n\r\n");
  CHECK(meter.OnEvent("event: chunk\ndata:{\"usage\":null}\n\n", &rewritten) == Action::kRewrite);
  CHECK(rewritten == "event: chunk\ndata:{}\n\n");
  // A chunk with no usage member is forwarded as it is.
  CHECK(meter.OnEvent("data: {\"model\":\"m\",\"choices\":[]}\n\n", &rewritten) ==
        Action::kForward);
  // Usage with choices that still carry content: the content stays, the usage goes.
  CHECK(meter.OnEvent("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}],"
                      "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}\n\n",
                      &rewritten) == Action::kRewrite);
  CHECK(rewritten == "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\n");
  CHECK(meter.first_content());
  CHECK(meter.result().usage == Usage{.input = 3, .output = 1, .known = true});
}

TEST_CASE("StreamMeter: no stripping unless asked, nor for other operations") {
  std::string rewritten = "untouched";
  const std::string usage_only =
      "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}\n\n";
  StreamMeter plain(ApiKind::kOpenAi, Operation::kChat, false);
  CHECK(plain.OnEvent("data: {\"choices\":[],\"usage\":null}\n\n", &rewritten) ==
        Action::kForward);
  CHECK(plain.OnEvent(usage_only, &rewritten) == Action::kForward);
  StreamMeter responses(ApiKind::kOpenAi, Operation::kResponses, true);
  CHECK(responses.OnEvent(usage_only, &rewritten) == Action::kForward);
  StreamMeter anthropic(ApiKind::kAnthropic, Operation::kMessages, true);
  CHECK(anthropic.OnEvent(usage_only, &rewritten) == Action::kForward);
  CHECK(rewritten == "untouched");
}

TEST_CASE("StreamMeter: a chunk split over several data lines is read, and relayed as it came") {
  StreamMeter meter(ApiKind::kOpenAi, Operation::kChat, true);
  std::string rewritten;
  CHECK(meter.OnEvent("data: {\"model\":\"gpt-4o\",\n"
                      "data: \"choices\":[{\"delta\":{\"content\":\"Hi\"}}],\"usage\":null}\n\n",
                      &rewritten) == Action::kForward);
  CHECK(meter.first_content());
  CHECK(meter.result().model == "gpt-4o");
}

TEST_CASE("StreamMeter: chat first content: tool calls, refusal, reasoning; once only") {
  const auto first = [](std::string_view delta) {
    StreamMeter meter(ApiKind::kOpenAi, Operation::kChat, false);
    std::string rewritten;
    meter.OnEvent("data: {\"choices\":[{\"index\":0,\"delta\":" + std::string(delta) + "}]}\n\n",
                  &rewritten);
    return meter.first_content();
  };
  CHECK(first(R"({"content":"x"})"));
  CHECK(first(R"({"tool_calls":[{"index":0,"id":"call_abc","type":"function",)"
              R"("function":{"name":"get_weather","arguments":""}}]})"));
  CHECK(first(R"({"refusal":"I can't"})"));
  CHECK(first(R"({"reasoning_content":"Let me think"})"));
  CHECK(first(R"({"reasoning":"Let me think"})"));
  CHECK_FALSE(first(R"({"role":"assistant","content":"","refusal":null})"));
  CHECK_FALSE(first(R"({"content":null,"tool_calls":[]})"));
  CHECK_FALSE(first(R"({})"));

  StreamMeter meter(ApiKind::kOpenAi, Operation::kChat, false);
  std::string rewritten;
  const std::string chunk = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n";
  meter.OnEvent(chunk, &rewritten);
  CHECK(meter.first_content());
  meter.OnEvent(chunk, &rewritten);
  CHECK_FALSE(meter.first_content());
  meter.OnEvent("data: [DONE]\n\n", &rewritten);
  CHECK_FALSE(meter.first_content());
}

TEST_CASE("StreamMeter: chat usage with cached and reasoning tokens") {
  StreamMeter meter(ApiKind::kOpenAi, Operation::kChat, false);
  std::string rewritten;
  meter.OnEvent(
      "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\"o3-mini\","
      "\"choices\":[],\"usage\":{\"prompt_tokens\":2006,\"completion_tokens\":300,"
      "\"total_tokens\":2306,\"prompt_tokens_details\":{\"cached_tokens\":1920},"
      "\"completion_tokens_details\":{\"reasoning_tokens\":192}}}\n\n",
      &rewritten);
  CHECK(meter.result().usage == Usage{.input = 2006, .output = 300, .cached_input = 1920,
                                      .reasoning = 192, .known = true});
  CHECK(meter.result().model == "o3-mini");
}

// --- OpenAI legacy completions ------------------------------------------------------------------

std::string CompletionStream(bool include_usage) {
  const auto chunk = [&](std::string_view text, std::string_view finish) {
    std::string c =
        R"(data: {"id":"cmpl-AyQ1","object":"text_completion","created":1738960700,"choices":[{"text":)";
    c += text;
    c += R"(,"index":0,"logprobs":null,"finish_reason":)";
    c += finish;
    c += R"(}],"model":"gpt-3.5-turbo-instruct")";
    if (include_usage) c += R"(,"usage":null)";
    c += "}\n\n";
    return c;
  };
  std::string s = chunk(R"("")", "null") + chunk(R"("\n\nThis")", "null") +
                  chunk(R"(" is a test")", "null") + chunk(R"("")", R"("stop")");
  if (include_usage) {
    s += R"(data: {"id":"cmpl-AyQ1","object":"text_completion","created":1738960700,)"
         R"("model":"gpt-3.5-turbo-instruct","choices":[],)"
         R"("usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}})"
         "\n\n";
  }
  s += "data: [DONE]\n\n";
  return s;
}

TEST_CASE("StreamMeter: legacy completions stream") {
  Relay relay = Run(ApiKind::kOpenAi, Operation::kCompletion, false, CompletionStream(false));
  CHECK(relay.first_content_event == 1);
  CHECK(relay.result.model == "gpt-3.5-turbo-instruct");
  CHECK_FALSE(relay.result.usage.known);
  relay = Run(ApiKind::kOpenAi, Operation::kCompletion, true, CompletionStream(true));
  CHECK(relay.client == CompletionStream(false));
  CHECK(relay.result.usage == Usage{.input = 5, .output = 7, .known = true});
  CHECK(relay.first_content_event == 1);
}

// --- OpenAI Responses API -----------------------------------------------------------------------

constexpr std::string_view kResponsesStream =
    "event: response.created\n"
    R"(data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_67c9fdcecf488190bdd9a0409de3a1ec","object":"response","created_at":1741290958,"status":"in_progress","error":null,"incomplete_details":null,"instructions":"You are a helpful assistant.","max_output_tokens":null,"model":"gpt-4.1-2025-04-14","output":[],"parallel_tool_calls":true,"previous_response_id":null,"reasoning":{"effort":null,"summary":null},"store":true,"temperature":1.0,"text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[],"top_p":1.0,"truncation":"disabled","usage":null,"user":null,"metadata":{}}})"
    "\n\n"
    "event: response.in_progress\n"
    R"(data: {"type":"response.in_progress","sequence_number":1,"response":{"id":"resp_67c9fdcecf488190bdd9a0409de3a1ec","object":"response","status":"in_progress","model":"gpt-4.1-2025-04-14","output":[],"usage":null}})"
    "\n\n"
    "event: response.output_item.added\n"
    R"(data: {"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"msg_67c9fdcf37fc8190ba82116e33fb28c5","type":"message","status":"in_progress","role":"assistant","content":[]}})"
    "\n\n"
    "event: response.content_part.added\n"
    R"(data: {"type":"response.content_part.added","sequence_number":3,"item_id":"msg_67c9fdcf37fc8190ba82116e33fb28c5","output_index":0,"content_index":0,"part":{"type":"output_text","text":"","annotations":[]}})"
    "\n\n"
    "event: response.output_text.delta\n"
    R"(data: {"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_67c9fdcf37fc8190ba82116e33fb28c5","output_index":0,"content_index":0,"delta":"Hi"})"
    "\n\n"
    "event: response.output_text.delta\n"
    R"(data: {"type":"response.output_text.delta","sequence_number":5,"item_id":"msg_67c9fdcf37fc8190ba82116e33fb28c5","output_index":0,"content_index":0,"delta":" there!"})"
    "\n\n"
    "event: response.output_text.done\n"
    R"(data: {"type":"response.output_text.done","sequence_number":6,"item_id":"msg_67c9fdcf37fc8190ba82116e33fb28c5","output_index":0,"content_index":0,"text":"Hi there!"})"
    "\n\n"
    "event: response.content_part.done\n"
    R"(data: {"type":"response.content_part.done","sequence_number":7,"item_id":"msg_67c9fdcf37fc8190ba82116e33fb28c5","output_index":0,"content_index":0,"part":{"type":"output_text","text":"Hi there!","annotations":[]}})"
    "\n\n"
    "event: response.output_item.done\n"
    R"(data: {"type":"response.output_item.done","sequence_number":8,"output_index":0,"item":{"id":"msg_67c9fdcf37fc8190ba82116e33fb28c5","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Hi there!","annotations":[]}]}})"
    "\n\n"
    "event: response.completed\n"
    R"(data: {"type":"response.completed","sequence_number":9,"response":{"id":"resp_67c9fdcecf488190bdd9a0409de3a1ec","object":"response","created_at":1741290958,"status":"completed","error":null,"incomplete_details":null,"instructions":"You are a helpful assistant.","max_output_tokens":null,"model":"gpt-4.1-2025-04-14","output":[{"id":"msg_67c9fdcf37fc8190ba82116e33fb28c5","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Hi there!","annotations":[]}]}],"parallel_tool_calls":true,"previous_response_id":null,"reasoning":{"effort":null,"summary":null},"store":true,"temperature":1.0,"text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[],"top_p":1.0,"truncation":"disabled","usage":{"input_tokens":37,"input_tokens_details":{"cached_tokens":12},"output_tokens":11,"output_tokens_details":{"reasoning_tokens":4},"total_tokens":48},"user":null,"metadata":{}}})"
    "\n\n";

TEST_CASE("StreamMeter: Responses API stream: usage from response.completed") {
  const Relay relay = Run(ApiKind::kOpenAi, Operation::kResponses, false, kResponsesStream);
  CHECK(relay.client == kResponsesStream);
  CHECK(relay.actions.size() == 10);
  CHECK(relay.first_content_event == 4);
  CHECK(relay.first_content_flags == 1);
  CHECK(relay.result.model == "gpt-4.1-2025-04-14");
  CHECK(relay.result.usage == Usage{.input = 37, .output = 11, .cached_input = 12,
                                    .reasoning = 4, .known = true});
  CHECK_FALSE(relay.result.error);
}

TEST_CASE("StreamMeter: Responses first content event types") {
  for (const char* type : {"response.output_text.delta", "response.refusal.delta",
                           "response.function_call_arguments.delta",
                           "response.reasoning_summary_text.delta"}) {
    CAPTURE(type);
    StreamMeter meter(ApiKind::kOpenAi, Operation::kResponses, false);
    std::string rewritten;
    meter.OnEvent(std::string("event: ") + type + "\ndata: {\"type\":\"" + type +
                      "\",\"delta\":\"x\"}\n\n",
                  &rewritten);
    CHECK(meter.first_content());
  }
  StreamMeter meter(ApiKind::kOpenAi, Operation::kResponses, false);
  std::string rewritten;
  meter.OnEvent("event: response.output_text.done\ndata: {\"type\":\"response.output_text.done\","
                "\"text\":\"x\"}\n\n",
                &rewritten);
  CHECK_FALSE(meter.first_content());
}

TEST_CASE("StreamMeter: Responses errors: response.failed and the error event") {
  Relay relay = Run(
      ApiKind::kOpenAi, Operation::kResponses, false,
      "event: response.created\n"
      R"(data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_1","status":"in_progress","model":"gpt-4.1","usage":null}})"
      "\n\n"
      "event: response.failed\n"
      R"(data: {"type":"response.failed","sequence_number":1,"response":{"id":"resp_1","status":"failed","error":{"code":"server_error","message":"The model failed to generate a response."},"model":"gpt-4.1","usage":null}})"
      "\n\n");
  CHECK(relay.result.error);
  CHECK(relay.result.error_type == "server_error");
  CHECK(relay.result.model == "gpt-4.1");
  CHECK_FALSE(relay.result.usage.known);

  relay = Run(ApiKind::kOpenAi, Operation::kResponses, false,
              "event: error\n"
              R"(data: {"type":"error","code":"ERR_SOMETHING","message":"Something went wrong","param":null,"sequence_number":1})"
              "\n\n");
  CHECK(relay.result.error);
  CHECK(relay.result.error_type == "ERR_SOMETHING");
}

// --- Anthropic Messages ---------------------------------------------------------------------------

constexpr std::string_view kAnthropicStream =
    "event: message_start\n"
    R"(data: {"type":"message_start","message":{"id":"msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY","type":"message","role":"assistant","content":[],"model":"claude-3-5-sonnet-20241022","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":1000,"cache_read_input_tokens":3000,"output_tokens":1}}})"
    "\n\n"
    "event: ping\n"
    R"(data: {"type": "ping"})"
    "\n\n"
    "event: content_block_start\n"
    R"(data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"
    "\n\n"
    "event: content_block_delta\n"
    R"(data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}})"
    "\n\n"
    "event: content_block_delta\n"
    R"(data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"!"}})"
    "\n\n"
    "event: content_block_stop\n"
    R"(data: {"type":"content_block_stop","index":0})"
    "\n\n"
    "event: message_delta\n"
    R"(data: {"type":"message_delta","delta":{"stop_reason":null,"stop_sequence":null},"usage":{"output_tokens":8}})"
    "\n\n"
    "event: message_delta\n"
    R"(data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":25,"cache_creation_input_tokens":1000,"cache_read_input_tokens":3000,"output_tokens":15}})"
    "\n\n"
    "event: message_stop\n"
    R"(data: {"type":"message_stop"})"
    "\n\n";

TEST_CASE("StreamMeter: Anthropic stream: message_start usage, then the last message_delta") {
  const Relay relay = Run(ApiKind::kAnthropic, Operation::kMessages, false, kAnthropicStream);
  CHECK(relay.client == kAnthropicStream);
  CHECK(relay.actions == std::vector<Action>(9, Action::kForward));
  CHECK(relay.first_content_event == 3);
  CHECK(relay.first_content_flags == 1);
  CHECK(relay.result.model == "claude-3-5-sonnet-20241022");
  CHECK(relay.result.usage == Usage{.input = 4025, .output = 15, .cached_input = 3000,
                                    .cache_write_input = 1000, .known = true});
  CHECK_FALSE(relay.result.error);
}

TEST_CASE("StreamMeter: Anthropic stream, every split point, LF and CRLF") {
  std::string crlf;
  for (const char c : kAnthropicStream) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  for (const std::string_view stream : {kAnthropicStream, std::string_view(crlf)}) {
    for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
      CAPTURE(cut);
      const Relay relay = Run(ApiKind::kAnthropic, Operation::kMessages, false, stream, {cut});
      REQUIRE(relay.client == stream);
      REQUIRE(relay.actions.size() == 9);
      REQUIRE(relay.first_content_event == 3);
      REQUIRE(relay.result.usage == Usage{.input = 4025, .output = 15, .cached_input = 3000,
                                          .cache_write_input = 1000, .known = true});
    }
  }
}

TEST_CASE("StreamMeter: Anthropic message_delta fields replace those before, one by one") {
  StreamMeter meter(ApiKind::kAnthropic, Operation::kMessages, false);
  std::string rewritten;
  meter.OnEvent(
      "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":"
      "\"claude-sonnet-4-20250514\",\"usage\":{\"input_tokens\":472,\"cache_creation_input_tokens\""
      ":0,\"cache_read_input_tokens\":0,\"output_tokens\":2}}}\n\n",
      &rewritten);
  CHECK(meter.result().usage == Usage{.input = 472, .output = 2, .known = true});
  meter.OnEvent("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{},"
                "\"usage\":{\"output_tokens\":50}}\n\n",
                &rewritten);
  CHECK(meter.result().usage == Usage{.input = 472, .output = 50, .known = true});
  meter.OnEvent("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{},"
                "\"usage\":{\"input_tokens\":480,\"cache_read_input_tokens\":null,"
                "\"output_tokens\":89}}\n\n",
                &rewritten);
  CHECK(meter.result().usage == Usage{.input = 480, .output = 89, .known = true});
  meter.OnEvent("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{},"
                "\"usage\":{\"cache_creation_input_tokens\":20}}\n\n",
                &rewritten);
  CHECK(meter.result().usage == Usage{.input = 500, .output = 89, .cache_write_input = 20,
                                      .known = true});
}

TEST_CASE("StreamMeter: Anthropic overloaded_error inside a 200 stream") {
  std::string stream(kAnthropicStream.substr(0, kAnthropicStream.find("event: content_block_stop")));
  stream +=
      "event: error\n"
      R"(data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"
      "\n\n";
  const Relay relay = Run(ApiKind::kAnthropic, Operation::kMessages, false, stream);
  CHECK(relay.client == stream);
  CHECK(relay.result.error);
  CHECK(relay.result.error_type == "overloaded_error");
  // What was read before the error stays.
  CHECK(relay.result.model == "claude-3-5-sonnet-20241022");
  CHECK(relay.result.usage == Usage{.input = 4025, .output = 1, .cached_input = 3000,
                                    .cache_write_input = 1000, .known = true});
}

TEST_CASE("StreamMeter: Anthropic tool use deltas are content") {
  StreamMeter meter(ApiKind::kAnthropic, Operation::kMessages, false);
  std::string rewritten;
  meter.OnEvent("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,"
                "\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_01\",\"name\":\"get_weather\","
                "\"input\":{}}}\n\n",
                &rewritten);
  CHECK_FALSE(meter.first_content());
  meter.OnEvent("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,"
                "\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"loc\"}}\n\n",
                &rewritten);
  CHECK(meter.first_content());
}

// --- Errors inside a 200 stream, bad events ---------------------------------------------------

TEST_CASE("StreamMeter: an OpenAI error chunk in a 200 chat stream") {
  std::string stream = ChatChunk(
      R"({"index":0,"delta":{"content":"Hel"},"logprobs":null,"finish_reason":null})", false);
  stream +=
      R"(data: {"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}})"
      "\n\n";
  const Relay relay = Run(ApiKind::kOpenAi, Operation::kChat, true, stream);
  CHECK(relay.client == stream);
  CHECK(relay.result.error);
  CHECK(relay.result.error_type == "server_error");
  CHECK(relay.result.model == "gpt-4o-mini-2024-07-18");
}

TEST_CASE("StreamMeter: `event: error` is an error whatever its data") {
  for (const char* event : {"event: error\ndata: {\"message\":\"boom\"}\n\n",
                            "event: error\ndata: not json\n\n", "event: error\n\n",
                            "event: error\ndata: [1,2]\n\n", "event: error\ndata\n\n"}) {
    CAPTURE(event);
    StreamMeter meter(ApiKind::kOpenAi, Operation::kChat, false);
    std::string rewritten;
    CHECK(meter.OnEvent(event, &rewritten) == Action::kForward);
    CHECK(meter.result().error);
    CHECK(meter.result().error_type.empty());
  }
}

TEST_CASE("StreamMeter: the first error's type is kept") {
  StreamMeter meter(ApiKind::kOpenAi, Operation::kChat, false);
  std::string rewritten;
  meter.OnEvent("data: {\"error\":{\"type\":\"server_error\"}}\n\n", &rewritten);
  meter.OnEvent("data: {\"error\":{\"type\":\"other_error\"}}\n\n", &rewritten);
  CHECK(meter.result().error_type == "server_error");
  // "error": null is no error.
  StreamMeter clean(ApiKind::kOpenAi, Operation::kChat, false);
  clean.OnEvent("data: {\"choices\":[],\"error\":null}\n\n", &rewritten);
  CHECK_FALSE(clean.result().error);
}

TEST_CASE("StreamMeter: bad events are forwarded and lose nothing read before them") {
  const std::string good_usage =
      "data: {\"model\":\"gpt-4o\",\"choices\":[],\"usage\":{\"prompt_tokens\":7,"
      "\"completion_tokens\":2}}\n\n";
  StreamMeter meter(ApiKind::kOpenAi, Operation::kChat, true);
  std::string rewritten;
  CHECK(meter.OnEvent("data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n", &rewritten) ==
        Action::kForward);
  CHECK(meter.first_content());
  CHECK(meter.OnEvent(good_usage, &rewritten) == Action::kDrop);
  for (const char* bad :
       {"data: {\"model\":\"x\",\"usage\":{\"prompt_tokens\":99\n\n", "data: {]\n\n",
        "data: \xff\xfe\n\n", "data: {\"model\":\"\xc3\x28\"}\n\n", "data: 12\n\n",
        "data: \"string\"\n\n", "data: null\n\n", "data:\n\n", "data\n\n", "\n", "garbage without colon\n\n",
        "data: {\"choices\":\"nope\",\"usage\":[1]}\n\n", "data: {\"usage\":{\"prompt_tokens\":"
        "99999999999999999999999}}\n\n"}) {
    CAPTURE(bad);
    CHECK(meter.OnEvent(bad, &rewritten) != Action::kDrop);
    CHECK_FALSE(meter.first_content());
  }
  CHECK(meter.result().model == "gpt-4o");
  CHECK(meter.result().usage.known);
  CHECK(meter.result().usage.input == 7);
  CHECK(meter.result().usage.output == 2);
  CHECK_FALSE(meter.result().error);
}

TEST_CASE("StreamMeter: [DONE], comments and ping are forwarded unread") {
  StreamMeter meter(ApiKind::kAnthropic, Operation::kMessages, true);
  std::string rewritten;
  CHECK(meter.OnEvent("data: [DONE]\n\n", &rewritten) == Action::kForward);
  CHECK(meter.OnEvent(": ping\n\n", &rewritten) == Action::kForward);
  CHECK(meter.OnEvent(": OPENROUTER PROCESSING\r\n\r\n", &rewritten) == Action::kForward);
  // A ping is not read, even if it carried what would look like content.
  CHECK(meter.OnEvent("event: ping\ndata: {\"type\":\"content_block_delta\"}\n\n", &rewritten) ==
        Action::kForward);
  CHECK_FALSE(meter.first_content());
  CHECK_FALSE(meter.result().usage.known);
  CHECK(meter.result().model.empty());
}

// --- Cost ------------------------------------------------------------------------------------

// Not a test of speed (bench/ holds those): it reports what metering a 1,000-event stream costs.
TEST_CASE("StreamMeter: cost of a 1,000-event chat stream (reported, not asserted)") {
  std::string stream;
  for (int i = 0; i < 998; ++i) {
    stream += ChatChunk(
        R"({"index":0,"delta":{"content":" token"},"logprobs":null,"finish_reason":null})", true);
  }
  stream += "data: ";
  stream += kChatHead;
  stream += R"("choices":[],"usage":{"prompt_tokens":19,"completion_tokens":998}})"
            "\n\n";
  stream += "data: [DONE]\n\n";
  constexpr int kRuns = 20;
  Relay relay;
  const auto start = std::chrono::steady_clock::now();
  for (int run = 0; run < kRuns; ++run) {
    relay = Run(ApiKind::kOpenAi, Operation::kChat, true, stream, {stream.size() / 3});
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(relay.actions.size() == 1000);
  CHECK(relay.result.usage == Usage{.input = 19, .output = 998, .known = true});
  MESSAGE("1,000-event chat stream (framed, metered, usage:null stripped): "
          << seconds / kRuns * 1e3 << " ms per stream, " << seconds / kRuns / 1000 * 1e6
          << " us per event");
}

}  // namespace
}  // namespace llm_exporter::meter
