// Hostile bodies at the decoder level: numbers beyond every range name their field, numbers past
// 2^53 are refused, nesting and multi-megabyte strings stay bounded, NUL bytes and byte-order
// marks are handled, and a decoder stays correct after a huge body released its buffers.
#include <doctest/doctest.h>

#include <string>

#include "decode/event_decoder.h"
#include "decode/json_text.h"
#include "decode/decode_fixture.h"
#include "fakes/capturing_sink.h"

namespace llm_exporter::decode {
namespace {

using testing::CapturingSink;

constexpr std::string_view kCall =
    R"({"model":"gpt-4o","input_tokens":1,"output_tokens":2,"latency":0.5})";

// kCall with `field` set to the raw JSON text `value` (added at the end; dropped if present).
std::string CallWith(std::string_view field, std::string_view value) {
  std::string call(kCall);
  const std::string key = "\"" + std::string(field) + "\":";
  if (const std::size_t at = call.find(key); at != std::string::npos) {
    std::size_t end = call.find_first_of(",}", at + key.size());
    if (call[at - 1] == ',')
      call.erase(at - 1, end - at + 1);
    else
      call.erase(at, end - at + 1);
  }
  call.pop_back();
  return call + ",\"" + std::string(field) + "\":" + std::string(value) + "}";
}

// The single rejection of a body whose only event is refused.
EventError OnlyError(std::string_view body, DecodeLimits limits = {}) {
  const Decoded d = Decode(body, limits);
  REQUIRE(d.result.ok());
  CHECK(d.result.accepted == 0);
  REQUIRE(d.result.rejected == 1);
  REQUIRE(d.result.errors.size() == 1);
  return d.result.errors[0];
}

NumberToken Find(std::string_view text, std::string_view wanted) {
  NumberToken found;
  const bool ok = FindNumberToken(
      text, [&](std::string_view token) { return token == wanted; }, &found);
  REQUIRE(ok);
  return found;
}

TEST_CASE("FindNumberToken: names the top-level field that holds the token") {
  NumberToken t = Find(R"({"a":1,"latency": 1e400})", "1e400");
  CHECK(t.field == "latency");
  CHECK(t.token == "1e400");
  CHECK(t.direct);

  t = Find(R"({"meta":{"n":[1,-Infinity]},"b":2})", "-Infinity");
  CHECK(t.field == "meta");
  CHECK_FALSE(t.direct);

  // Digits and quotes inside strings are not tokens; escaped quotes do not end a string.
  t = Find(R"({"k\"1e400":"1e400 \" 1e400","x":1e400})", "1e400");
  CHECK(t.field == "x");

  t = Find("1e400", "1e400");
  CHECK(t.field.empty());

  NumberToken unused;
  CHECK_FALSE(FindNumberToken(R"({"a":"1e400"})", [](std::string_view) { return true; }, &unused));
  // Malformed text: unterminated strings and unbalanced brackets end the scan, no more.
  CHECK_FALSE(FindNumberToken(R"({"a":"1e400)", [](std::string_view) { return true; }, &unused));
  CHECK(Find("]]]{\"z\":7", "7").field == "z");
}

TEST_CASE("EventDecoder: a number beyond double, int64 or uint64 range is blamed on its field") {
  EventError e = OnlyError(CallWith("latency", "1e400"));
  CHECK(e.field == "latency");
  CHECK(e.reason == RejectReason::kInvalidValue);
  CHECK(e.message == "event 0: latency is out of range: 1e400");

  e = OnlyError(CallWith("input_tokens", "18446744073709551616"));
  CHECK(e.field == "input_tokens");
  CHECK(e.message == "event 0: input_tokens is out of range: 18446744073709551616");

  e = OnlyError(CallWith("output_tokens", "-9223372036854775809"));
  CHECK(e.message == "event 0: output_tokens is out of range: -9223372036854775809");

  e = OnlyError(CallWith("prompt_tokens", std::string(500, '9')));
  CHECK(e.field == "prompt_tokens");
  CHECK(e.message == "event 0: prompt_tokens is out of range: " + std::string(40, '9') + "...");

  // Inside an unknown field, the event still cannot be parsed: it is refused, naming the field.
  e = OnlyError(CallWith("meta", R"({"n":[1,2,-1e999]})"));
  CHECK(e.field == "meta");
  CHECK(e.message == "event 0: meta holds a number that is out of range: -1e999");
}

TEST_CASE("EventDecoder: a malformed number is named as such") {
  EventError e = OnlyError(CallWith("latency", "-Infinity"));
  CHECK(e.field == "latency");
  CHECK(e.reason == RejectReason::kInvalidValue);
  CHECK(e.message == "event 0: latency is not a valid JSON number: -Infinity");

  e = OnlyError(CallWith("ttft", "01"));
  CHECK(e.message == "event 0: ttft is not a valid JSON number: 01");
}

TEST_CASE("EventDecoder: out-of-range numbers in arrays and NDJSON reject only their event") {
  const std::string bad = CallWith("latency", "1e400");
  for (const std::string& body :
       {"[" + std::string(kCall) + "," + bad + "," + std::string(kCall) + "]",
        std::string(kCall) + "\n" + bad + "\n" + std::string(kCall) + "\n"}) {
    CAPTURE(body);
    const Decoded d = Decode(body);
    REQUIRE(d.result.ok());
    CHECK(d.result.accepted == 2);
    CHECK(d.sink.calls.size() == 2);
    REQUIRE(d.result.errors.size() == 1);
    CHECK(d.result.errors[0].index == 1);
    CHECK(d.result.errors[0].field == "latency");
    CHECK(d.result.errors[0].message == "event 1: latency is out of range: 1e400");
  }
  const Decoded lines = DecodeLines(bad + "\n" + std::string(kCall));
  CHECK(lines.result.accepted == 1);
  REQUIRE(lines.result.errors.size() == 1);
  CHECK(lines.result.errors[0].message == "event 0: latency is out of range: 1e400");
}

TEST_CASE(
    "EventDecoder: an array element or line that is an out-of-range number is not an object") {
  const Decoded d = Decode("[1e400,-1e400," + std::string(kCall) + "]");
  CHECK(d.result.accepted == 1);
  REQUIRE(d.result.errors.size() == 2);
  CHECK(d.result.errors[0].reason == RejectReason::kNotAnObject);
  CHECK(d.result.errors[1].message == "event 1: must be a JSON object");

  const Decoded lines = DecodeLines("1e400\n" + std::string(kCall));
  REQUIRE(lines.result.errors.size() == 1);
  CHECK(lines.result.errors[0].reason == RejectReason::kNotAnObject);
}

TEST_CASE("EventDecoder: counts and other numbers are bounded by 2^53") {
  // Exactly 2^53 is accepted.
  Decoded d = Decode(CallWith("input_tokens", "9007199254740992"));
  REQUIRE(d.sink.calls.size() == 1);
  CHECK(d.sink.calls[0].input_tokens == 9007199254740992u);

  EventError e = OnlyError(CallWith("input_tokens", "9007199254740993"));
  CHECK(e.field == "input_tokens");
  CHECK(e.reason == RejectReason::kInvalidValue);
  CHECK(e.message ==
        "event 0: input_tokens must be at most 2^53 (9007199254740992), got 9007199254740993");

  // uint64's maximum fits JSON and simdjson, but one such event would already make a total wrap.
  e = OnlyError(
      R"({"model":"m","input_tokens":1,"completion_tokens":18446744073709551615,"latency":1})");
  CHECK(e.field == "completion_tokens");
  CHECK(e.message ==
        "event 0: completion_tokens must be at most 2^53 (9007199254740992), got "
        "18446744073709551615");

  e = OnlyError(CallWith("latency", "1e300"));
  CHECK(e.message == "event 0: latency must be at most 2^53 (9007199254740992), got 1e+300");

  e = OnlyError(CallWith("ttft", "9007199254740994"));
  CHECK(e.field == "ttft");

  e = OnlyError(R"({"type":"quality","model":"m","evaluator":"e","score":-1e300})");
  CHECK(e.message ==
        "event 0: score must be in magnitude at most 2^53 (9007199254740992), got -1e+300");

  d = Decode(R"({"type":"quality","model":"m","evaluator":"e","score":-9007199254740992})");
  REQUIRE(d.sink.scores.size() == 1);
  CHECK(d.sink.scores[0].score == -9007199254740992.0);
}

TEST_CASE("EventDecoder: an underflowing number is 0, not an error") {
  const Decoded d = Decode(CallWith("ttft", "1e-400"));
  REQUIRE(d.sink.calls.size() == 1);
  REQUIRE(d.sink.calls[0].ttft.has_value());
  CHECK(*d.sink.calls[0].ttft == 0.0);
}

TEST_CASE("EventDecoder: nesting far past the depth limit is refused without recursion") {
  const std::size_t deep = 200000;
  const std::string arrays = std::string(deep, '[') + std::string(deep, ']');
  Decoded d = Decode(arrays);
  REQUIRE(d.result.ok());
  REQUIRE(d.result.errors.size() == 1);
  CHECK(d.result.errors[0].message == "event 0: nested deeper than 1024 levels");

  d = Decode("[" + std::string(kCall) + ",{\"x\":" + arrays + "}," + std::string(kCall) + "]");
  CHECK(d.result.accepted == 2);
  REQUIRE(d.result.errors.size() == 1);
  CHECK(d.result.errors[0].index == 1);
  CHECK(d.result.errors[0].reason == RejectReason::kInvalidJson);

  d = Decode(std::string(deep, '['));
  CHECK_FALSE(d.result.ok());
  d = Decode("{\"a\":" + std::string(deep, '{'));
  CHECK_FALSE(d.result.ok());

  d = Decode(std::string(kCall) + "\n" + arrays + "\n" + std::string(kCall) + "\n");
  CHECK(d.result.accepted == 2);
  CHECK(d.result.rejected == 1);
  d = DecodeLines(std::string(kCall) + "\n{\"a\":" + std::string(deep, '{') + "\n");
  CHECK(d.result.accepted == 1);
  CHECK(d.result.rejected == 1);
}

TEST_CASE("EventDecoder: multi-megabyte strings are checked against the label limits only") {
  const std::string big(8 << 20, 'x');
  EventError e = OnlyError(CallWith("model", "\"" + big + "\""));
  CHECK(e.reason == RejectReason::kLabelTooLong);
  CHECK(e.message == "event 0: model is 8388608 bytes long, the limit is 128");

  // An unknown field may be large (and full of escapes or bad UTF-8); the event counts.
  std::string escapes;
  for (int i = 0; i < (1 << 20); ++i) escapes += "\\\"\\n\\u00e9";
  Decoded d = Decode(CallWith("note", "\"" + escapes + "\""));
  CHECK(d.result.accepted == 1);
  d = Decode(CallWith("note", "\"" + std::string(4 << 20, '\xFF') + "\""));
  CHECK(d.result.accepted == 1);
  CHECK(d.result.rejected == 0);
}

TEST_CASE("EventDecoder: one decoder stays correct across a huge body and small ones") {
  EventDecoder decoder;
  const std::string huge = "[" + std::string(kCall) + "," +
                           CallWith("note", "\"" + std::string(6 << 20, 'n') + "\"") + ",[1]]";
  for (int round = 0; round < 2; ++round) {
    CapturingSink big_sink;
    const DecodeResult big = decoder.Decode(huge, big_sink);
    CHECK(big.accepted == 2);
    CHECK(big.rejected == 1);
    CapturingSink small_sink;
    const DecodeResult small = decoder.Decode(CallWith("latency", "1e400"), small_sink);
    REQUIRE(small.errors.size() == 1);
    CHECK(small.errors[0].message == "event 0: latency is out of range: 1e400");
    CapturingSink lines_sink;
    const std::string lines = std::string(kCall) + "\n\n" + std::string(kCall);
    CHECK(decoder.DecodeLines(lines, lines.size(), lines_sink).accepted == 2);
  }
}

TEST_CASE("EventDecoder: NUL bytes") {
  using namespace std::string_literals;
  // Raw: not JSON. In an array only that event is refused.
  Decoded d =
      Decode("["s + std::string(kCall) + ",{\"model\":\"a\0b\"},"s + std::string(kCall) + "]");
  CHECK(d.result.accepted == 2);
  REQUIRE(d.result.errors.size() == 1);
  CHECK(d.result.errors[0].reason == RejectReason::kInvalidJson);
  CHECK_FALSE(Decode(std::string(kCall) + "\0"s).result.ok());
  // Escaped: an ordinary character of the label.
  d = Decode(CallWith("model", R"("a\u0000b")"));
  REQUIRE(d.sink.calls.size() == 1);
  CHECK(d.sink.calls[0].model == "a\0b"s);
}

TEST_CASE("EventDecoder: NDJSON with a byte-order mark, CRLF and blank lines") {
  const std::string body = "\xEF\xBB\xBF" + std::string(kCall) + "\r\n\r\n \t\r\n\n" +
                           std::string(kCall) + "\r\n" + std::string(kCall) + "\r\n\r\n";
  const Decoded d = Decode(body);
  REQUIRE(d.result.ok());
  CHECK(d.result.accepted == 3);
  CHECK(d.result.rejected == 0);

  CHECK(Decode("\xEF\xBB\xBF").result.body_error.starts_with("empty body"));
  CHECK(Decode(" \r\n\t").result.body_error.starts_with("empty body"));
  const Decoded empty_array = Decode("[]");
  CHECK(empty_array.result.ok());
  CHECK(empty_array.result.accepted + empty_array.result.rejected == 0);
}

}  // namespace
}  // namespace llm_exporter::decode
