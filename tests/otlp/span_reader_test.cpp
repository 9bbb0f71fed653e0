#include "otlp/span_reader.h"

#include <doctest/doctest.h>

#include <cmath>
#include <deque>
#include <string>
#include <vector>

namespace llm_exporter::otlp {
namespace {

// Builds spans the way each library emits them; owns every string and attribute.
class SpanBuilder {
 public:
  SpanBuilder(std::string name = "span") { span_.name = Keep(std::move(name)); }
  SpanBuilder& Str(std::string key, std::string value) {
    AttributeValue v;
    v.type = AttributeValue::Type::kString;
    v.string = Keep(std::move(value));
    return Add(std::move(key), v);
  }
  SpanBuilder& Int(std::string key, int64_t value) {
    AttributeValue v;
    v.type = AttributeValue::Type::kInt;
    v.int_value = value;
    return Add(std::move(key), v);
  }
  SpanBuilder& Double(std::string key, double value) {
    AttributeValue v;
    v.type = AttributeValue::Type::kDouble;
    v.double_value = value;
    return Add(std::move(key), v);
  }
  SpanBuilder& ResourceStr(std::string key, std::string value) {
    AttributeValue v;
    v.type = AttributeValue::Type::kString;
    v.string = Keep(std::move(value));
    resource_attributes_.push_back(Attribute{Keep(std::move(key)), v});
    return *this;
  }
  SpanBuilder& Times(uint64_t start, uint64_t end) {
    span_.start_time_unix_nano = start;
    span_.end_time_unix_nano = end;
    return *this;
  }
  SpanBuilder& Status(StatusCode code) {
    span_.status = code;
    return *this;
  }
  SpanBuilder& Event(std::string name, uint64_t time) {
    events_.push_back(SpanEvent{Keep(std::move(name)), time});
    return *this;
  }
  const Span& span() {
    span_.attributes = attributes_;
    span_.events = events_;
    resource_.attributes = resource_attributes_;
    span_.resource = &resource_;
    span_.index = 3;
    return span_;
  }

 private:
  std::string_view Keep(std::string s) { return strings_.emplace_back(std::move(s)); }
  SpanBuilder& Add(std::string key, AttributeValue v) {
    attributes_.push_back(Attribute{Keep(std::move(key)), v});
    return *this;
  }
  std::deque<std::string> strings_;
  std::vector<Attribute> attributes_;
  std::vector<Attribute> resource_attributes_;
  std::vector<SpanEvent> events_;
  Resource resource_;
  Span span_;
};

constexpr uint64_t kStart = 1'700'000'000'000'000'000;

ReadSpan Read(SpanBuilder& b, SpanReaderOptions options = {}) {
  static SpanReader default_reader;
  if (options.attributes.user == SpanAttributeNames{}.user &&
      options.attributes.team == SpanAttributeNames{}.team &&
      options.attributes.endpoint == SpanAttributeNames{}.endpoint &&
      options.max_label_bytes == 128) {
    return default_reader.Read(b.span());
  }
  return SpanReader(options).Read(b.span());
}

TEST_CASE("SpanReader: a GenAI semantic-conventions chat span") {
  SpanBuilder b("chat gpt-4o");
  b.Str("gen_ai.operation.name", "chat")
      .Str("gen_ai.provider.name", "openai")
      .Str("gen_ai.request.model", "gpt-4o")
      .Str("gen_ai.response.model", "gpt-4o-2024-08-06")
      .Int("gen_ai.usage.input_tokens", 120)
      .Int("gen_ai.usage.output_tokens", 30)
      .Int("gen_ai.usage.cache_read.input_tokens", 100)
      .Double("gen_ai.response.time_to_first_chunk", 0.25)
      .Str("user.id", "alice")
      .Times(kStart, kStart + 1'500'000'000);
  const ReadSpan r = Read(b);
  REQUIRE_FALSE(r.error);
  const LlmCall& c = r.meaning.call;
  CHECK(r.meaning.kind == SpanKind::kLlmCall);
  CHECK(c.model == "gpt-4o");
  CHECK(c.endpoint == "chat");
  CHECK(c.status == "success");
  CHECK(c.user_id == "alice");
  CHECK(c.team_id == "");
  CHECK(c.input_tokens == 120);  // cached tokens are part of the input count here
  CHECK(c.output_tokens == 30);
  CHECK(c.cached_input_tokens == 100);
  CHECK(c.latency_seconds == doctest::Approx(1.5));
  REQUIRE(c.ttft_seconds);
  CHECK(*c.ttft_seconds == 0.25);
  CHECK_FALSE(c.caller_cost_pico);
}

TEST_CASE("SpanReader: an OpenLLMetry (Traceloop) OpenAI span with association properties") {
  SpanBuilder b("openai.chat");
  b.Str("llm.request.type", "chat")
      .Str("gen_ai.system", "openai")
      .Str("gen_ai.request.model", "gpt-4o-mini")
      .Int("gen_ai.usage.prompt_tokens", 50)
      .Int("gen_ai.usage.completion_tokens", 7)
      .Str("traceloop.workflow.name", "rag_pipeline")
      .Str("traceloop.association.properties.user_id", "u-9")
      .Str("traceloop.association.properties.team_id", "search")
      .Str("gen_ai.prompt.0.content", std::string(1000, 'x'))
      .Event("First Token Stream Event", kStart + 400'000'000)
      .Times(kStart, kStart + 2'000'000'000);
  const ReadSpan r = Read(b);
  REQUIRE_FALSE(r.error);
  const LlmCall& c = r.meaning.call;
  CHECK(c.model == "gpt-4o-mini");
  CHECK(c.endpoint == "rag_pipeline");
  CHECK(c.user_id == "u-9");
  CHECK(c.team_id == "search");
  CHECK(c.input_tokens == 50);
  CHECK(c.output_tokens == 7);
  REQUIRE(c.ttft_seconds);
  CHECK(*c.ttft_seconds == doctest::Approx(0.4));
}

TEST_CASE("SpanReader: OpenLLMetry decorator spans are workflows, tasks, agents and tools") {
  struct Case {
    const char* kind;
    const char* name;
    SpanKind expected;
  };
  for (const Case k : {Case{"workflow", "rag_pipeline", SpanKind::kWorkflow},
                       Case{"task", "retrieval", SpanKind::kWorkflow},
                       Case{"agent", "qa_agent", SpanKind::kAgent},
                       Case{"tool", "web_search", SpanKind::kTool}}) {
    SpanBuilder b(std::string(k.name) + "." + k.kind);
    // A decorator span may carry a model name; it is still no LLM call.
    b.Str("traceloop.span.kind", k.kind)
        .Str("traceloop.entity.name", k.name)
        .Str("gen_ai.request.model", "gpt-4o")
        .Times(kStart, kStart + 3'000'000'000);
    const ReadSpan r = Read(b);
    REQUIRE_FALSE(r.error);
    CHECK(r.meaning.kind == k.expected);
    CHECK(r.meaning.name == k.name);
    CHECK(r.meaning.status == "success");
    CHECK(r.meaning.duration_seconds == doctest::Approx(3.0));
  }
}

TEST_CASE("SpanReader: gen_ai agent and tool operations, with names from attributes or span") {
  SpanBuilder agent("invoke_agent travel_planner");
  agent.Str("gen_ai.operation.name", "invoke_agent")
      .Str("gen_ai.request.model", "gpt-4o")
      .Int("gen_ai.usage.input_tokens", 999)
      .Status(StatusCode::kError)
      .Times(kStart, kStart + 10);
  ReadSpan r = Read(agent);
  CHECK(r.meaning.kind == SpanKind::kAgent);
  CHECK(r.meaning.name == "travel_planner");
  CHECK(r.meaning.status == "error");

  SpanBuilder tool("execute_tool get_weather");
  tool.Str("gen_ai.operation.name", "execute_tool").Str("gen_ai.tool.name", "weather");
  r = Read(tool);
  CHECK(r.meaning.kind == SpanKind::kTool);
  CHECK(r.meaning.name == "weather");

  SpanBuilder create("create_agent x");
  create.Str("gen_ai.operation.name", "create_agent").Str("gen_ai.request.model", "gpt-4o");
  CHECK(Read(create).meaning.kind == SpanKind::kIgnored);

  SpanBuilder wf("invoke_workflow");
  wf.Str("gen_ai.operation.name", "invoke_workflow").Str("gen_ai.workflow.name", "triage");
  r = Read(wf);
  CHECK(r.meaning.kind == SpanKind::kWorkflow);
  CHECK(r.meaning.name == "triage");
}

TEST_CASE("SpanReader: OpenInference LLM spans, and its agent and tool kinds") {
  SpanBuilder b("ChatOpenAI");
  b.Str("openinference.span.kind", "LLM")
      .Str("llm.model_name", "gpt-4o")
      .Str("llm.provider", "openai")
      .Int("llm.token_count.prompt", 80)
      .Int("llm.token_count.completion", 20)
      .Int("llm.token_count.prompt_details.cache_read", 64)
      .Times(kStart, kStart + 500'000'000);
  ReadSpan r = Read(b);
  REQUIRE_FALSE(r.error);
  CHECK(r.meaning.kind == SpanKind::kLlmCall);
  CHECK(r.meaning.call.model == "gpt-4o");
  CHECK(r.meaning.call.input_tokens == 80);
  CHECK(r.meaning.call.cached_input_tokens == 64);
  CHECK(r.meaning.call.endpoint == "");

  SpanBuilder chain("RunnableSequence");
  chain.Str("openinference.span.kind", "CHAIN");
  CHECK(Read(chain).meaning.kind == SpanKind::kIgnored);
  SpanBuilder tool("search");
  tool.Str("openinference.span.kind", "TOOL");
  CHECK(Read(tool).meaning.kind == SpanKind::kTool);
  CHECK(Read(tool).meaning.name == "search");
}

TEST_CASE("SpanReader: Vercel AI SDK doGenerate spans, milliseconds to first chunk") {
  SpanBuilder b("ai.streamText.doStream");
  b.Str("ai.operationId", "ai.streamText.doStream")
      .Str("ai.model.id", "claude-3-5-sonnet")
      .Str("ai.model.provider", "anthropic.messages")
      .Int("ai.usage.promptTokens", 40)
      .Int("ai.usage.completionTokens", 12)
      .Double("ai.response.msToFirstChunk", 350)
      .Str("ai.telemetry.functionId", "summarise")
      .Str("ai.telemetry.metadata.userId", "bob")
      .Str("ai.telemetry.metadata.teamId", "docs")
      .Times(kStart, kStart + 900'000'000);
  const ReadSpan r = Read(b);
  REQUIRE_FALSE(r.error);
  const LlmCall& c = r.meaning.call;
  CHECK(r.meaning.kind == SpanKind::kLlmCall);
  CHECK(c.model == "claude-3-5-sonnet");
  CHECK(c.endpoint == "summarise");
  CHECK(c.user_id == "bob");
  CHECK(c.team_id == "docs");
  CHECK(c.input_tokens == 40);
  CHECK(c.output_tokens == 12);
  REQUIRE(c.ttft_seconds);
  CHECK(*c.ttft_seconds == doctest::Approx(0.35));

  // The root span that wraps it repeats its usage but is no call.
  SpanBuilder root("ai.streamText");
  root.Str("ai.operationId", "ai.streamText")
      .Str("ai.model.id", "claude-3-5-sonnet")
      .Int("ai.usage.promptTokens", 40);
  CHECK(Read(root).meaning.kind == SpanKind::kIgnored);
  SpanBuilder tool("ai.toolCall");
  tool.Str("ai.operationId", "ai.toolCall").Str("ai.toolCall.name", "lookup");
  CHECK(Read(tool).meaning.kind == SpanKind::kTool);
  CHECK(Read(tool).meaning.name == "lookup");
}

TEST_CASE("SpanReader: Langfuse generations count cached tokens apart; level ERROR is an error") {
  SpanBuilder b("generation");
  b.Str("langfuse.observation.type", "generation")
      .Str("langfuse.observation.model.name", "claude-3-haiku")
      .Str("langfuse.observation.level", "ERROR")
      .Str("langfuse.user.id", "carol")
      .Str("langfuse.trace.name", "support-bot")
      .Int("gen_ai.usage.input_tokens", 10)
      .Int("gen_ai.usage.output_tokens", 5)
      .Int("gen_ai.usage.cache_read_input_tokens", 90)
      .Times(kStart, kStart + 1'000'000'000);
  const ReadSpan r = Read(b);
  REQUIRE_FALSE(r.error);
  const LlmCall& c = r.meaning.call;
  CHECK(c.model == "claude-3-haiku");
  CHECK(c.status == "error");
  CHECK(c.user_id == "carol");
  CHECK(c.endpoint == "support-bot");
  CHECK(c.input_tokens == 100);  // 10 uncached + 90 cached
  CHECK(c.cached_input_tokens == 90);
}

TEST_CASE("SpanReader: OpenLIT's Anthropic spans count cached tokens apart; others do not") {
  SpanBuilder anthropic("chat claude");
  anthropic.Str("gen_ai.operation.name", "chat")
      .Str("gen_ai.system", "anthropic")
      .Str("gen_ai.request.model", "claude-3-5-sonnet")
      .Int("gen_ai.usage.input_tokens", 20)
      .Int("gen_ai.usage.cache_read_input_tokens", 15)
      .ResourceStr("telemetry.sdk.name", "openlit");
  CHECK(Read(anthropic).meaning.call.input_tokens == 35);

  SpanBuilder openai("chat gpt");
  openai.Str("gen_ai.operation.name", "chat")
      .Str("gen_ai.system", "openai")
      .Str("gen_ai.request.model", "gpt-4o")
      .Int("gen_ai.usage.input_tokens", 20)
      .Int("gen_ai.usage.cache_read_input_tokens", 15)
      .ResourceStr("telemetry.sdk.name", "openlit");
  CHECK(Read(openai).meaning.call.input_tokens == 20);
}

TEST_CASE("SpanReader: resource attributes are the fallback for every field") {
  SpanBuilder b("chat");
  b.Str("gen_ai.operation.name", "chat")
      .Str("user.id", "span-user")
      .ResourceStr("gen_ai.request.model", "resource-model")
      .ResourceStr("user.id", "resource-user")
      .ResourceStr("traceloop.association.properties.team_id", "resource-team");
  const ReadSpan r = Read(b);
  CHECK(r.meaning.call.model == "resource-model");
  CHECK(r.meaning.call.user_id == "span-user");
  CHECK(r.meaning.call.team_id == "resource-team");
  // A model on the resource alone does not make every span an LLM call.
  SpanBuilder other("GET /health");
  other.ResourceStr("gen_ai.request.model", "resource-model");
  CHECK(Read(other).meaning.kind == SpanKind::kIgnored);
}

TEST_CASE("SpanReader: the user, team and endpoint lists are configurable") {
  SpanReaderOptions options;
  options.attributes.user = {"enduser.id"};
  options.attributes.team = {"tenant"};
  options.attributes.endpoint = {"http.route"};
  SpanBuilder b("chat");
  b.Str("gen_ai.operation.name", "chat")
      .Str("gen_ai.request.model", "m")
      .Str("user.id", "ignored-now")
      .Str("enduser.id", "dave")
      .Str("tenant", "t1")
      .Str("http.route", "/v1/answer");
  const ReadSpan r = Read(b, options);
  CHECK(r.meaning.call.user_id == "dave");
  CHECK(r.meaning.call.team_id == "t1");
  CHECK(r.meaning.call.endpoint == "/v1/answer");
}

TEST_CASE("SpanReader: last resort, a span naming its model; an error.type makes an error") {
  SpanBuilder b("custom-llm");
  b.Str("gen_ai.request.model", "llama3").Str("error.type", "timeout");
  const ReadSpan r = Read(b);
  CHECK(r.meaning.kind == SpanKind::kLlmCall);
  CHECK(r.meaning.call.model == "llama3");
  CHECK(r.meaning.call.status == "error");
  SpanBuilder plain("db.query");
  plain.Str("db.system", "postgresql");
  CHECK(Read(plain).meaning.kind == SpanKind::kIgnored);
}

TEST_CASE("SpanReader: token counts as doubles or strings; cost carried by the span") {
  SpanBuilder b("chat");
  b.Str("gen_ai.operation.name", "chat")
      .Str("gen_ai.request.model", "m")
      .Double("gen_ai.usage.input_tokens", 12.0)
      .Str("gen_ai.usage.output_tokens", "34")
      .Double("gen_ai.usage.cost", 0.0125);
  const ReadSpan r = Read(b);
  REQUIRE_FALSE(r.error);
  CHECK(r.meaning.call.input_tokens == 12);
  CHECK(r.meaning.call.output_tokens == 34);
  REQUIRE(r.meaning.call.caller_cost_pico);
  CHECK(*r.meaning.call.caller_cost_pico == 12'500'000'000);
}

TEST_CASE("SpanReader: bad values refuse the span with a message naming the attribute") {
  const auto refused = [](SpanBuilder& b) {
    const ReadSpan r = Read(b);
    REQUIRE(r.error);
    CHECK(r.error->index == 3);
    return *r.error;
  };
  SpanBuilder negative("chat");
  negative.Str("gen_ai.operation.name", "chat").Int("gen_ai.usage.input_tokens", -5);
  SpanError e = refused(negative);
  CHECK(e.reason == SpanRejectReason::kInvalidValue);
  CHECK(e.message ==
        "span 3 (chat): gen_ai.usage.input_tokens must be a non-negative whole number of "
        "tokens, got -5");

  SpanBuilder nan("chat");
  nan.Str("gen_ai.operation.name", "chat").Double("gen_ai.usage.output_tokens", std::nan(""));
  e = refused(nan);
  CHECK(e.message == "span 3 (chat): gen_ai.usage.output_tokens must be a non-negative whole "
                     "number of tokens, got NaN");

  SpanBuilder absurd("chat");
  absurd.Str("gen_ai.operation.name", "chat").Int("gen_ai.usage.input_tokens", 5'000'000'000);
  e = refused(absurd);
  CHECK(e.message == "span 3 (chat): gen_ai.usage.input_tokens is 5000000000 tokens, above the "
                     "limit of 1000000000 for one call");

  SpanBuilder backwards("chat");
  backwards.Str("gen_ai.operation.name", "chat").Times(kStart + 10, kStart);
  e = refused(backwards);
  CHECK(e.reason == SpanRejectReason::kEndBeforeStart);

  SpanBuilder long_model("chat");
  long_model.Str("gen_ai.operation.name", "chat").Str("gen_ai.request.model", std::string(200, 'm'));
  e = refused(long_model);
  CHECK(e.reason == SpanRejectReason::kLabelTooLong);
  CHECK(e.message == "span 3 (chat): the model is 200 bytes long, the limit is 128 "
                     "(--ingest.max-label-bytes)");

  SpanBuilder ttft("chat");
  ttft.Str("gen_ai.operation.name", "chat").Double("gen_ai.response.time_to_first_chunk", -1);
  CHECK(refused(ttft).reason == SpanRejectReason::kInvalidValue);

  SpanBuilder cost("chat");
  cost.Str("gen_ai.operation.name", "chat").Double("llm.cost.total", 1e9);
  CHECK(refused(cost).reason == SpanRejectReason::kInvalidValue);
}

TEST_CASE("SpanReader: a cached count above the input count is added to it") {
  SpanBuilder b("chat");
  b.Str("gen_ai.operation.name", "chat")
      .Int("gen_ai.usage.input_tokens", 5)
      .Int("gen_ai.usage.cache_read.input_tokens", 50);
  CHECK(Read(b).meaning.call.input_tokens == 55);
}

TEST_CASE("SpanReader: every cache-write attribute name, each read exactly") {
  // Included in the input count by every convention here (10 = 4 uncached + 1 read + 5 written).
  for (const char* key : {"gen_ai.usage.cache_creation.input_tokens",
                          "gen_ai.usage.cache_write.input_tokens",
                          "gen_ai.usage.cache_creation_input_tokens",
                          "llm.token_count.prompt_details.cache_write",
                          "ai.usage.inputTokenDetails.cacheWriteTokens"}) {
    CAPTURE(key);
    SpanBuilder b("chat");
    b.Str("gen_ai.operation.name", "chat")
        .Str("gen_ai.request.model", "claude-sonnet-4")
        .Int("gen_ai.usage.input_tokens", 10)
        .Int("gen_ai.usage.output_tokens", 7)
        .Int("gen_ai.usage.cache_read.input_tokens", 1)
        .Int(key, 5);
    const ReadSpan r = Read(b);
    REQUIRE_FALSE(r.error);
    CHECK(r.meaning.call.cache_write_input_tokens == 5);
    CHECK(r.meaning.call.cached_input_tokens == 1);
    CHECK(r.meaning.call.input_tokens == 10);
    CHECK(r.meaning.call.usage_known);
  }
  // The first name in the table's order wins, as for the other counts.
  SpanBuilder both("chat");
  both.Str("gen_ai.operation.name", "chat")
      .Int("gen_ai.usage.input_tokens", 100)
      .Int("llm.token_count.prompt_details.cache_write", 9)
      .Int("gen_ai.usage.cache_creation.input_tokens", 8);
  CHECK(Read(both).meaning.call.cache_write_input_tokens == 8);
}

TEST_CASE("SpanReader: every reasoning attribute name, each read exactly") {
  for (const char* key : {"gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens",
                          "llm.token_count.completion_details.reasoning",
                          "ai.usage.reasoningTokens",
                          "ai.usage.outputTokenDetails.reasoningTokens"}) {
    CAPTURE(key);
    SpanBuilder b("chat");
    b.Str("gen_ai.operation.name", "chat")
        .Str("gen_ai.request.model", "o3")
        .Int("gen_ai.usage.input_tokens", 50)
        .Int("gen_ai.usage.output_tokens", 900)
        .Int(key, 768);
    const ReadSpan r = Read(b);
    REQUIRE_FALSE(r.error);
    CHECK(r.meaning.call.reasoning_tokens == 768);
    CHECK(r.meaning.call.output_tokens == 900);  // reasoning is part of the output, not added
    CHECK(r.meaning.call.input_tokens == 50);
  }
  // As strings and integral doubles too, like the other counts.
  SpanBuilder text("ai.generateText.doGenerate");
  text.Str("ai.model.id", "o4-mini")
      .Int("ai.usage.inputTokens", 3)
      .Int("ai.usage.outputTokens", 40)
      .Str("ai.usage.reasoningTokens", "32");
  CHECK(Read(text).meaning.call.reasoning_tokens == 32);
  SpanBuilder real("chat");
  real.Str("gen_ai.operation.name", "chat")
      .Int("gen_ai.usage.output_tokens", 40)
      .Double("llm.token_count.completion_details.reasoning", 40.0);
  CHECK(Read(real).meaning.call.reasoning_tokens == 40);
}

TEST_CASE("SpanReader: cache writes counted apart from the input are added to it") {
  // OpenLIT's Anthropic spans, like Anthropic's API, count cache reads and writes apart.
  SpanBuilder openlit("chat claude");
  openlit.Str("gen_ai.operation.name", "chat")
      .Str("gen_ai.system", "anthropic")
      .Str("gen_ai.request.model", "claude-3-5-sonnet")
      .Int("gen_ai.usage.input_tokens", 20)
      .Int("gen_ai.usage.cache_read_input_tokens", 15)
      .Int("gen_ai.usage.cache_creation_input_tokens", 300)
      .ResourceStr("telemetry.sdk.name", "openlit");
  const LlmCall a = Read(openlit).meaning.call;
  CHECK(a.input_tokens == 335);
  CHECK(a.cached_input_tokens == 15);
  CHECK(a.cache_write_input_tokens == 300);

  SpanBuilder langfuse("generation");
  langfuse.Str("langfuse.observation.type", "generation")
      .Int("gen_ai.usage.input_tokens", 10)
      .Int("gen_ai.usage.cache_creation.input_tokens", 4);
  CHECK(Read(langfuse).meaning.call.input_tokens == 14);

  // Elsewhere, parts above the input count can only mean it excludes them: 5 + 3 + 4 > 6.
  SpanBuilder above("chat");
  above.Str("gen_ai.operation.name", "chat")
      .Int("gen_ai.usage.input_tokens", 6)
      .Int("gen_ai.usage.cache_read.input_tokens", 3)
      .Int("gen_ai.usage.cache_creation.input_tokens", 4);
  CHECK(Read(above).meaning.call.input_tokens == 13);
  // ...while parts within it are taken as included: 3 + 4 <= 7.
  SpanBuilder within("chat");
  within.Str("gen_ai.operation.name", "chat")
      .Int("gen_ai.usage.input_tokens", 7)
      .Int("gen_ai.usage.cache_read.input_tokens", 3)
      .Int("gen_ai.usage.cache_creation.input_tokens", 4);
  CHECK(Read(within).meaning.call.input_tokens == 7);
}

TEST_CASE("SpanReader: reasoning above the output count refuses the span") {
  SpanBuilder b("chat o3");
  b.Str("gen_ai.operation.name", "chat")
      .Int("gen_ai.usage.input_tokens", 10)
      .Int("gen_ai.usage.output_tokens", 40)
      .Int("gen_ai.usage.reasoning.output_tokens", 41);
  ReadSpan r = Read(b);
  REQUIRE(r.error);
  CHECK(r.error->reason == SpanRejectReason::kInvalidValue);
  CHECK(r.error->message ==
        "span 3 (chat o3): gen_ai.usage.reasoning.output_tokens (41 reasoning tokens) must not "
        "exceed the output tokens (40)");
  SpanBuilder alone("chat");
  alone.Str("gen_ai.operation.name", "chat").Int("ai.usage.reasoningTokens", 1);
  r = Read(alone);
  REQUIRE(r.error);
  CHECK(r.error->message ==
        "span 3 (chat): ai.usage.reasoningTokens (1 reasoning tokens) must not exceed the output "
        "tokens (0)");
  SpanBuilder negative("chat");
  negative.Str("gen_ai.operation.name", "chat").Int("gen_ai.usage.cache_creation.input_tokens", -1);
  r = Read(negative);
  REQUIRE(r.error);
  CHECK(r.error->message ==
        "span 3 (chat): gen_ai.usage.cache_creation.input_tokens must be a non-negative whole "
        "number of tokens, got -1");
}

TEST_CASE("SpanReader: a call span without any token count has its usage unknown") {
  SpanBuilder none("chat gpt-4o");
  none.Str("gen_ai.operation.name", "chat").Str("gen_ai.request.model", "gpt-4o");
  ReadSpan r = Read(none);
  REQUIRE_FALSE(r.error);
  CHECK(r.meaning.kind == SpanKind::kLlmCall);
  CHECK_FALSE(r.meaning.call.usage_known);
  CHECK(r.meaning.call.input_tokens == 0);
  CHECK(r.meaning.call.output_tokens == 0);

  SpanBuilder output_only("chat");
  output_only.Str("gen_ai.operation.name", "chat").Int("llm.token_count.completion", 0);
  CHECK(Read(output_only).meaning.call.usage_known);
  SpanBuilder input_only("chat");
  input_only.Str("gen_ai.operation.name", "chat").Int("ai.usage.promptTokens", 12);
  CHECK(Read(input_only).meaning.call.usage_known);
  // A count on the resource counts too, as for every field.
  SpanBuilder resource("chat");
  resource.Str("gen_ai.operation.name", "chat").ResourceStr("gen_ai.usage.input_tokens", "5");
  r = Read(resource);
  CHECK(r.meaning.call.usage_known);
  CHECK(r.meaning.call.input_tokens == 5);
  // A part alone still says something about the usage: 9 cache reads are 9 input tokens.
  SpanBuilder part("chat");
  part.Str("gen_ai.operation.name", "chat").Int("gen_ai.usage.cache_read.input_tokens", 9);
  r = Read(part);
  CHECK(r.meaning.call.usage_known);
  CHECK(r.meaning.call.input_tokens == 9);
}

TEST_CASE("TraceIdHex: 32 lower-case hex digits, empty for none") {
  TraceId id{};
  CHECK(TraceIdHex(id).empty());
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<uint8_t>(0xa0 + i);
  CHECK(TraceIdHex(id) == "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
}

}  // namespace
}  // namespace llm_exporter::otlp
