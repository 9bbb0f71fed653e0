#include "decode/event_decoder.h"

#include <doctest/doctest.h>

#include <string>

#include "decode/decode_fixture.h"
#include "fakes/capturing_sink.h"

namespace llm_exporter::decode {
namespace {

using testing::CapturingSink;

constexpr std::string_view kCall =
    R"({"model":"gpt-4o","endpoint":"/chat","input_tokens":1000,"output_tokens":500,"latency":0.8})";

// The single error of a one-event body.
EventError OnlyError(std::string_view body, DecodeLimits limits = {}) {
  const Decoded d = Decode(body, limits);
  REQUIRE(d.result.ok());
  REQUIRE(d.result.errors.size() == 1);
  CHECK(d.result.accepted == 0);
  CHECK(d.result.rejected == 1);
  return d.result.errors[0];
}

TEST_CASE("EventDecoder: one object with every field of an LLM call") {
  const Decoded d = Decode(R"({"type":"llm_call","model":"gpt-4o","endpoint":"/chat",
      "status":"error","input_tokens":1000,"output_tokens":500,"cached_input_tokens":200,
      "latency":0.8,"ttft":0.25,"user_id":"u1","team_id":"t1","cache":"hit","cost_usd":0.5,
      "trace_id":"abc","span_id":"def","extra":{"ignored":[1,2]}})");
  REQUIRE(d.result.ok());
  CHECK(d.result.accepted == 1);
  REQUIRE(d.sink.calls.size() == 1);
  const auto& c = d.sink.calls[0];
  CHECK(c.model == "gpt-4o");
  CHECK(c.endpoint == "/chat");
  CHECK(c.status == "error");
  CHECK(c.input_tokens == 1000);
  CHECK(c.output_tokens == 500);
  CHECK(c.cached_input_tokens == 200);
  CHECK(c.cache_write_input_tokens == 0);
  CHECK(c.reasoning_tokens == 0);
  CHECK(c.usage_known);
  CHECK(c.latency == 0.8);
  CHECK(c.ttft == 0.25);
  CHECK(c.user_id == "u1");
  CHECK(c.team_id == "t1");
  CHECK(c.cache == CacheOutcome::kHit);
  CHECK(c.cost_pico == 500'000'000'000);
  CHECK(c.trace_id == "abc");
  CHECK(c.span_id == "def");
}

TEST_CASE("EventDecoder: cache-write and reasoning tokens are parts of input and output") {
  const Decoded d = Decode(R"({"model":"claude","input_tokens":10000,"output_tokens":700,
      "cached_input_tokens":6000,"cache_write_input_tokens":3000,"reasoning_tokens":650,
      "latency":2})");
  REQUIRE(d.result.ok());
  REQUIRE(d.sink.calls.size() == 1);
  const auto& c = d.sink.calls[0];
  CHECK(c.input_tokens == 10000);
  CHECK(c.cached_input_tokens == 6000);
  CHECK(c.cache_write_input_tokens == 3000);
  CHECK(c.output_tokens == 700);
  CHECK(c.reasoning_tokens == 650);
  CHECK(c.usage_known);

  // At the limits: the parts may make up all of the input and the output; null is absent; the
  // OpenAI names count as input and output.
  const Decoded full = Decode(R"([{"model":"m","prompt_tokens":9,"completion_tokens":5,
      "cached_input_tokens":4,"cache_write_input_tokens":5,"reasoning_tokens":5,"latency":1},
      {"model":"m","input_tokens":9,"output_tokens":5,"cache_write_input_tokens":null,
      "reasoning_tokens":null,"latency":1}])");
  REQUIRE(full.sink.calls.size() == 2);
  CHECK(full.sink.calls[0].cache_write_input_tokens == 5);
  CHECK(full.sink.calls[0].reasoning_tokens == 5);
  CHECK(full.sink.calls[1].cache_write_input_tokens == 0);
  CHECK(full.sink.calls[1].reasoning_tokens == 0);
}

TEST_CASE("EventDecoder: parts above their whole are invalid_value, naming the field") {
  EventError e = OnlyError(R"({"model":"m","input_tokens":10,"cached_input_tokens":6,
      "cache_write_input_tokens":5,"output_tokens":1,"latency":1})");
  CHECK(e.field == "cache_write_input_tokens");
  CHECK(e.reason == RejectReason::kInvalidValue);
  CHECK(e.message ==
        "event 0: cached_input_tokens (6) + cache_write_input_tokens (5) must not exceed "
        "input_tokens (10)");
  e = OnlyError(R"({"model":"m","prompt_tokens":2,"cache_write_input_tokens":3,"output_tokens":1,
      "latency":1})");
  CHECK(e.field == "cache_write_input_tokens");
  CHECK(e.message ==
        "event 0: cached_input_tokens (0) + cache_write_input_tokens (3) must not exceed "
        "input_tokens (2)");
  e = OnlyError(R"({"model":"m","input_tokens":1,"output_tokens":4,"reasoning_tokens":5,
      "latency":1})");
  CHECK(e.field == "reasoning_tokens");
  CHECK(e.reason == RejectReason::kInvalidValue);
  CHECK(e.message == "event 0: reasoning_tokens (5) must not exceed output_tokens (4)");
  // Counted like the other counts.
  e = OnlyError(R"({"model":"m","input_tokens":1,"output_tokens":1,"reasoning_tokens":-1,
      "latency":1})");
  CHECK(e.field == "reasoning_tokens");
  CHECK(e.message == "event 0: reasoning_tokens must be a non-negative integer, got -1");
  e = OnlyError(R"({"model":"m","input_tokens":1,"output_tokens":1,
      "cache_write_input_tokens":"3","latency":1})");
  CHECK(e.field == "cache_write_input_tokens");
  CHECK(e.reason == RejectReason::kWrongType);
  CHECK(e.message ==
        "event 0: cache_write_input_tokens must be a non-negative integer, got a string");
  e = OnlyError(R"({"model":"m","input_tokens":1,"output_tokens":1,"reasoning_tokens":0,
      "reasoning_tokens":0,"latency":1})");
  CHECK(e.reason == RejectReason::kDuplicateField);
  CHECK(e.message == "event 0: reasoning_tokens appears more than once");
}

TEST_CASE("EventDecoder: a call without any token count has its usage unknown") {
  const Decoded d = Decode(R"({"model":"m","latency":1.5}
      {"model":"m","input_tokens":null,"completion_tokens":null,"latency":1}
      {"model":"m","input_tokens":7,"latency":1}
      {"model":"m","completion_tokens":8,"latency":1}
      {"model":"m","input_tokens":0,"output_tokens":0,"latency":1})");
  REQUIRE(d.result.ok());
  CHECK(d.result.accepted == 5);
  REQUIRE(d.sink.calls.size() == 5);
  CHECK_FALSE(d.sink.calls[0].usage_known);
  CHECK(d.sink.calls[0].input_tokens == 0);
  CHECK(d.sink.calls[0].output_tokens == 0);
  CHECK_FALSE(d.sink.calls[1].usage_known);
  // One count alone is a known usage whose other count is 0; explicit zeros are known zeros.
  CHECK(d.sink.calls[2].usage_known);
  CHECK(d.sink.calls[2].input_tokens == 7);
  CHECK(d.sink.calls[2].output_tokens == 0);
  CHECK(d.sink.calls[3].usage_known);
  CHECK(d.sink.calls[3].output_tokens == 8);
  CHECK(d.sink.calls[4].usage_known);
  // A part without its whole keeps the usage known, and is held to the whole (0).
  EventError e = OnlyError(R"({"model":"m","cached_input_tokens":5,"latency":1})");
  CHECK(e.field == "cached_input_tokens");
  CHECK(e.message == "event 0: cached_input_tokens (5) must not exceed input_tokens (0)");
  e = OnlyError(R"({"model":"m","reasoning_tokens":5,"latency":1})");
  CHECK(e.message == "event 0: reasoning_tokens (5) must not exceed output_tokens (0)");
  const Decoded zero_parts = Decode(R"({"model":"m","cached_input_tokens":0,"reasoning_tokens":0,
      "latency":1})");
  REQUIRE(zero_parts.sink.calls.size() == 1);
  CHECK(zero_parts.sink.calls[0].usage_known);
  CHECK(zero_parts.sink.calls[0].input_tokens == 0);
}

TEST_CASE("EventDecoder: span_id is held to the trace_id's limit") {
  const EventError e = OnlyError(R"({"model":"m","input_tokens":1,"output_tokens":1,"latency":1,
      "span_id":")" + std::string(129, 's') + R"("})");
  CHECK(e.field == "span_id");
  CHECK(e.reason == RejectReason::kInvalidValue);
  CHECK(e.message.find("span_id is 129 bytes long, the limit is 128") != std::string::npos);
}

TEST_CASE("EventDecoder: defaults, OpenAI token names and null optionals") {
  const Decoded d = Decode(
      R"({"model":"m","prompt_tokens":3,"completion_tokens":4,"latency":1,"ttft":null,"cache":null})");
  REQUIRE(d.sink.calls.size() == 1);
  const auto& c = d.sink.calls[0];
  CHECK(c.status == "success");
  CHECK(c.endpoint == "");
  CHECK(c.input_tokens == 3);
  CHECK(c.output_tokens == 4);
  CHECK_FALSE(c.ttft.has_value());
  CHECK_FALSE(c.cost_pico.has_value());
  CHECK(c.cache == CacheOutcome::kUnknown);
}

TEST_CASE("EventDecoder: a quality score") {
  const Decoded d = Decode(R"({"type":"quality","model":"gpt-4o","evaluator":"judge","score":4.5})");
  REQUIRE(d.sink.scores.size() == 1);
  CHECK(d.sink.scores[0].model == "gpt-4o");
  CHECK(d.sink.scores[0].evaluator == "judge");
  CHECK(d.sink.scores[0].score == 4.5);
}

TEST_CASE("EventDecoder: arrays and NDJSON; bad events are reported by index, good ones kept") {
  const std::string array = "[" + std::string(kCall) + R"(, {"model":"x"}, 7, )" + std::string(kCall) + "]";
  Decoded d = Decode(array);
  REQUIRE(d.result.ok());
  CHECK(d.result.accepted == 2);
  CHECK(d.result.rejected == 2);
  REQUIRE(d.result.errors.size() == 2);
  CHECK(d.result.errors[0].index == 1);
  CHECK(d.result.errors[0].field == "latency");
  CHECK(d.result.errors[0].reason == RejectReason::kMissingField);
  CHECK(d.result.errors[0].message == "event 1: latency is required");
  CHECK(d.result.errors[1].index == 2);
  CHECK(d.result.errors[1].reason == RejectReason::kNotAnObject);

  const std::string ndjson = "\xEF\xBB\xBF" + std::string(kCall) + "\r\n\r\n" + "{broken\n" +
                             std::string(kCall) + "\n";
  d = Decode(ndjson);
  REQUIRE(d.result.ok());
  CHECK(d.result.accepted == 2);
  REQUIRE(d.result.errors.size() == 1);
  CHECK(d.result.errors[0].index == 1);  // blank lines do not count
  CHECK(d.result.errors[0].reason == RejectReason::kInvalidJson);
  CHECK(d.sink.calls.size() == 2);
}

TEST_CASE("EventDecoder: bodies that are not JSON or NDJSON at all are refused whole") {
  CHECK(Decode("").result.body_error ==
        "empty body: send a JSON object, a JSON array of objects, or NDJSON (one object a line)");
  CHECK(Decode("  \r\n ").result.body_error.starts_with("empty body"));
  CHECK(Decode("hello").result.body_error.starts_with("body is not JSON"));
  CHECK(Decode("{\"model\": ").result.body_error.starts_with("body is not valid JSON"));
  CHECK(Decode("[{\"model\": 1}").result.body_error.starts_with("body is not valid JSON"));
  const Decoded d = Decode("{x}\n{y}\n");
  CHECK(d.result.body_error.starts_with("body is neither JSON nor NDJSON"));
  CHECK(d.result.accepted == 0);
  CHECK(d.result.rejected == 0);
  CHECK(d.sink.calls.empty());
}

TEST_CASE("EventDecoder: an array element that is not valid JSON spoils only itself") {
  const std::string body = "[" + std::string(kCall) + R"(, {"model": tru}, )" + std::string(kCall) + "]";
  const Decoded d = Decode(body);
  REQUIRE(d.result.ok());
  CHECK(d.result.accepted == 2);
  REQUIRE(d.result.errors.size() == 1);
  CHECK(d.result.errors[0].index == 1);
  CHECK(d.result.errors[0].reason == RejectReason::kInvalidJson);
  CHECK(d.sink.calls.size() == 2);
}

TEST_CASE("EventDecoder: field errors name the event, the field and the reason") {
  auto e = OnlyError(R"({"model":"m","input_tokens":-5,"output_tokens":1,"latency":1})");
  CHECK(e.message == "event 0: input_tokens must be a non-negative integer, got -5");
  CHECK(e.reason == RejectReason::kInvalidValue);
  e = OnlyError(R"({"model":"m","input_tokens":"12","output_tokens":1,"latency":1})");
  CHECK(e.message == "event 0: input_tokens must be a non-negative integer, got a string");
  CHECK(e.reason == RejectReason::kWrongType);
  e = OnlyError(R"({"model":"m","input_tokens":1.5,"output_tokens":1,"latency":1})");
  CHECK(e.message == "event 0: input_tokens must be a non-negative integer, got 1.5");
  e = OnlyError(R"({"model":"m","input_tokens":1,"output_tokens":1,"latency":-0.1})");
  CHECK(e.message == "event 0: latency must not be negative, got -0.1");
  e = OnlyError(R"({"model":"","input_tokens":1,"output_tokens":1,"latency":1})");
  CHECK(e.message == "event 0: model must not be empty");
  e = OnlyError(R"({"model":5,"input_tokens":1,"output_tokens":1,"latency":1})");
  CHECK(e.message == "event 0: model must be a string, got 5");
  e = OnlyError(R"({"model":"m","input_tokens":1,"output_tokens":1,"latency":1,"model":"n"})");
  CHECK(e.message == "event 0: model appears more than once");
  CHECK(e.reason == RejectReason::kDuplicateField);
  e = OnlyError(R"({"model":"m","input_tokens":1,"prompt_tokens":1,"output_tokens":1,"latency":1})");
  CHECK(e.message == "event 0: input_tokens and prompt_tokens name the same field");
  e = OnlyError(R"({"type":"span","model":"m"})");
  CHECK(e.message == "event 0: type must be \"llm_call\" or \"quality\", got \"span\"");
  CHECK(e.reason == RejectReason::kUnknownType);
  e = OnlyError(R"({"model":"m","input_tokens":10,"cached_input_tokens":11,"output_tokens":1,"latency":1})");
  CHECK(e.message == "event 0: cached_input_tokens (11) must not exceed input_tokens (10)");
  e = OnlyError(R"({"model":"m","input_tokens":1,"output_tokens":1,"latency":1,"cache":"maybe"})");
  CHECK(e.message == "event 0: cache must be \"hit\" or \"miss\", got \"maybe\"");
  e = OnlyError(R"({"type":"quality","model":"m","evaluator":"j"})");
  CHECK(e.message == "event 0: score is required");
  e = OnlyError(R"({"model":"m","input_tokens":1,"output_tokens":1,"latency":1,"cost_usd":1e7})");
  CHECK(e.message == "event 0: cost_usd must be at most 9000000, got 10000000");
}

TEST_CASE("EventDecoder: label length limit and invalid UTF-8 are per event and per field") {
  DecodeLimits limits;
  limits.max_label_bytes = 4;
  auto e = OnlyError(R"({"model":"m","user_id":"abcde","input_tokens":1,"output_tokens":1,"latency":1})",
                     limits);
  CHECK(e.message == "event 0: user_id is 5 bytes long, the limit is 4");
  CHECK(e.reason == RejectReason::kLabelTooLong);

  const Decoded d = Decode("[{\"model\":\"m\",\"team_id\":\"\xFF\",\"input_tokens\":1,\"output_tokens\":1,\"latency\":1}," +
                           std::string(kCall) + "]");
  REQUIRE(d.result.ok());
  CHECK(d.result.accepted == 1);
  REQUIRE(d.result.errors.size() == 1);
  CHECK(d.result.errors[0].field == "team_id");
  CHECK(d.result.errors[0].reason == RejectReason::kInvalidUtf8);
  CHECK(d.sink.calls.at(0).model == "gpt-4o");
}

TEST_CASE("EventDecoder: numbers beyond double or 64-bit range reject their event only") {
  const Decoded d = Decode(
      R"([{"model":"m","input_tokens":1,"output_tokens":1,"latency":1e400},)" + std::string(kCall) + "]");
  REQUIRE(d.result.ok());
  CHECK(d.result.accepted == 1);
  REQUIRE(d.result.errors.size() == 1);
  CHECK(d.result.errors[0].index == 0);
  CHECK(d.result.errors[0].reason == RejectReason::kInvalidValue);
}

TEST_CASE("EventDecoder: only the first errors are listed, all are counted") {
  DecodeLimits limits;
  limits.max_reported_errors = 2;
  const Decoded d = Decode("[1,2,3,4,5]", limits);
  CHECK(d.result.rejected == 5);
  CHECK(d.result.errors.size() == 2);
  CHECK(d.result.rejected_by_reason[static_cast<std::size_t>(RejectReason::kNotAnObject)] == 5);
}

TEST_CASE("EventDecoder: DecodeLines treats every line alone, even one that is an array") {
  const std::string lines = "[1]\n" + std::string(kCall) + "\n";
  const Decoded d = DecodeLines(lines);
  REQUIRE(d.result.ok());
  CHECK(d.result.accepted == 1);
  CHECK(d.result.rejected == 1);
  CHECK(d.result.errors[0].reason == RejectReason::kNotAnObject);
}

}  // namespace
}  // namespace llm_exporter::decode
