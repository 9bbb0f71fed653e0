#include "otlp/json_span_decoder.h"

#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "otlp/otlp_fixture.h"
#include "otlp/span_decoder.h"

namespace llm_exporter::otlp {
namespace {

using testing::Find;
using Type = AttributeValue::Type;

// A request with one span whose fields are `span_fields` (JSON members, without braces).
std::string OneSpan(std::string_view span_fields) {
  return R"({"resourceSpans":[{"scopeSpans":[{"spans":[{)" + std::string(span_fields) + "}]}]}]}";
}

// The single error of a one-span request.
SpanError OnlyError(std::string_view body, SpanDecodeLimits limits = {}) {
  SpanDecoder decoder(limits);
  const DecodedSpans& d = decoder.Decode(SpanEncoding::kJson, body);
  REQUIRE(d.ok());
  CHECK(d.spans.empty());
  CHECK(d.rejected == 1);
  REQUIRE(d.errors.size() == 1);
  return d.errors[0];
}

std::string BodyError(std::string_view body) {
  SpanDecoder decoder;
  const DecodedSpans& d = decoder.Decode(SpanEncoding::kJson, body);
  CHECK(d.spans.empty());
  CHECK(d.rejected == 0);
  CHECK(d.errors.empty());
  return d.body_error;
}

TEST_CASE("JsonSpanDecoder: a hand-written OTLP/JSON request, every field") {
  const std::string body = R"({
    "resourceSpans": [{
      "resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "chat-api"}},
        {"key": "process.pid", "value": {"intValue": "4242"}}
      ]},
      "schemaUrl": "https://opentelemetry.io/schemas/1.24.0",
      "scopeSpans": [{
        "scope": {"name": "opentelemetry.instrumentation.openai", "version": "0.33.0"},
        "spans": [{
          "traceId": "0102030405060708090A0b0c0d0e0f10",
          "spanId": "1112131415161718",
          "parentSpanId": "f0f1f2f3f4f5f6f7",
          "traceState": "rojo=00f067aa0ba902b7",
          "name": "openai.chat",
          "kind": 3,
          "startTimeUnixNano": "1700000000000000000",
          "endTimeUnixNano": 1700000001500000000,
          "attributes": [
            {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
            {"key": "llm.is_streaming", "value": {"boolValue": true}},
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "-12"}},
            {"key": "gen_ai.usage.output_tokens", "value": {"intValue": 34}},
            {"key": "gen_ai.request.temperature", "value": {"doubleValue": 0.25}},
            {"key": "raw", "value": {"bytesValue": "AP8="}},
            {"key": "list", "value": {"arrayValue": {"values": [{"stringValue": "x"}]}}},
            {"key": "map", "value": {"kvlistValue": {"values": []}}},
            {"key": "no.value"},
            {"key": "empty.value", "value": {}},
            {"key": "gen_ai.prompt.0.content", "value": {"stringValue": "h\u00e9llo \ud83d\ude00 \"q\""}}
          ],
          "droppedAttributesCount": 0,
          "events": [
            {"timeUnixNano": "1700000000250000000", "name": "First Token Stream Event",
             "attributes": []},
            {}
          ],
          "links": [],
          "status": {"message": "rate limited", "code": 2},
          "flags": 257
        }]
      }]
    }]
  })";
  SpanDecoder decoder;
  const DecodedSpans& d = decoder.Decode(SpanEncoding::kJson, body);
  REQUIRE(d.ok());
  CHECK(d.rejected == 0);
  REQUIRE(d.spans.size() == 1);
  const Span& s = d.spans[0];
  CHECK(s.index == 0);
  CHECK(s.trace_id == TraceId{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16});
  CHECK(s.span_id == SpanId{0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18});
  CHECK(s.parent_span_id == SpanId{0xF0, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7});
  CHECK(s.name == "openai.chat");
  CHECK(s.start_time_unix_nano == 1'700'000'000'000'000'000ULL);
  CHECK(s.end_time_unix_nano == 1'700'000'001'500'000'000ULL);
  CHECK(s.status == StatusCode::kError);
  CHECK(s.scope_name == "opentelemetry.instrumentation.openai");

  REQUIRE(s.attributes.size() == 11);
  CHECK(s.attributes[0].key == "gen_ai.request.model");
  CHECK(s.attributes[0].value.type == Type::kString);
  CHECK(s.attributes[0].value.string == "gpt-4o");
  CHECK(s.attributes[1].value.type == Type::kBool);
  CHECK(s.attributes[1].value.bool_value);
  CHECK(s.attributes[2].value.type == Type::kInt);
  CHECK(s.attributes[2].value.int_value == -12);
  CHECK(s.attributes[3].value.type == Type::kInt);
  CHECK(s.attributes[3].value.int_value == 34);
  CHECK(s.attributes[4].value.type == Type::kDouble);
  CHECK(s.attributes[4].value.double_value == 0.25);
  CHECK(s.attributes[5].value.type == Type::kBytes);
  CHECK(s.attributes[6].value.type == Type::kArray);
  CHECK(s.attributes[7].value.type == Type::kKvList);
  CHECK(s.attributes[8].key == "no.value");
  CHECK(s.attributes[8].value.type == Type::kEmpty);
  CHECK(s.attributes[9].value.type == Type::kEmpty);
  CHECK(s.attributes[10].value.string == "h\xC3\xA9llo \xF0\x9F\x98\x80 \"q\"");

  REQUIRE(s.events.size() == 2);
  CHECK(s.events[0].name == "First Token Stream Event");
  CHECK(s.events[0].time_unix_nano == 1'700'000'000'250'000'000ULL);
  CHECK(s.events[1].name.empty());
  CHECK(s.events[1].time_unix_nano == 0);

  REQUIRE(s.resource != nullptr);
  REQUIRE(s.resource->attributes.size() == 2);
  CHECK(s.resource->attributes[0].key == "service.name");
  CHECK(s.resource->attributes[0].value.string == "chat-api");
  CHECK(s.resource->attributes[1].value.type == Type::kInt);
  CHECK(s.resource->attributes[1].value.int_value == 4242);
}

TEST_CASE("JsonSpanDecoder: snake_case field names are accepted too") {
  const std::string body = R"({"resource_spans":[{"resource":{"attributes":[]},"scope_spans":[{
      "scope":{"name":"s"},"spans":[{"trace_id":"0102030405060708090a0b0c0d0e0f10",
      "span_id":"1112131415161718","parent_span_id":"","start_time_unix_nano":"5",
      "end_time_unix_nano":"9","events":[{"time_unix_nano":"7","name":"e"}],
      "attributes":[{"key":"a","value":{"int_value":"3"}},{"key":"b","value":{"string_value":"x"}},
                    {"key":"c","value":{"double_value":1.5}},{"key":"d","value":{"bool_value":false}},
                    {"key":"e","value":{"array_value":{}}},{"key":"f","value":{"kvlist_value":{}}},
                    {"key":"g","value":{"bytes_value":""}}]}]}]}]})";
  SpanDecoder decoder;
  const DecodedSpans& d = decoder.Decode(SpanEncoding::kJson, body);
  REQUIRE(d.spans.size() == 1);
  const Span& s = d.spans[0];
  CHECK(s.trace_id[15] == 0x10);
  CHECK(s.span_id[0] == 0x11);
  CHECK(s.parent_span_id == SpanId{});
  CHECK(s.start_time_unix_nano == 5);
  CHECK(s.end_time_unix_nano == 9);
  REQUIRE(s.events.size() == 1);
  CHECK(s.events[0].time_unix_nano == 7);
  CHECK(Find(s, "a")->int_value == 3);
  CHECK(Find(s, "b")->string == "x");
  CHECK(Find(s, "c")->double_value == 1.5);
  CHECK(Find(s, "d")->type == Type::kBool);
  CHECK(Find(s, "e")->type == Type::kArray);
  CHECK(Find(s, "f")->type == Type::kKvList);
  CHECK(Find(s, "g")->type == Type::kBytes);
}

TEST_CASE("JsonSpanDecoder: 64-bit integers as strings, numbers and {low, high}") {
  struct Case {
    std::string json;
    uint64_t value;
  };
  const Case cases[] = {
      {R"("1700000000000000000")", 1'700'000'000'000'000'000ULL},
      {"1700000000000000000", 1'700'000'000'000'000'000ULL},
      {R"("18446744073709551615")", 18446744073709551615ULL},
      {"18446744073709551615", 18446744073709551615ULL},
      {"1.7e18", 1'700'000'000'000'000'000ULL},
      {R"("0")", 0},
      // Long.js halves: 1700000000123456789 = 0x17979CFE_3D85CD15, and
      // 1700000002270940437 = 0x17979CFE_BD85CD15, whose low half is negative as an int32.
      {R"({"low": 1032178965, "high": 395812094})", 1'700'000'000'123'456'789ULL},
      {R"({"low": -1115304683, "high": 395812094})", 1'700'000'002'270'940'437ULL},
      {R"({"low": 3179662613, "high": 395812094, "unsigned": true})", 1'700'000'002'270'940'437ULL},
      {R"({"low": -1, "high": 0})", 0xFFFFFFFFULL},
      {R"({"high": 1, "low": -2147483648})", 0x180000000ULL},
      {R"({"low": 4294967295, "high": 4294967295})", 18446744073709551615ULL},
  };
  for (const Case& c : cases) {
    CAPTURE(c.json);
    SpanDecoder decoder;
    const std::string body = OneSpan(R"("startTimeUnixNano":)" + c.json +
                                     R"(,"events":[{"timeUnixNano":)" + c.json + "}]");
    const DecodedSpans& d = decoder.Decode(SpanEncoding::kJson, body);
    REQUIRE(d.spans.size() == 1);
    CHECK(d.spans[0].start_time_unix_nano == c.value);
    CHECK(d.spans[0].events[0].time_unix_nano == c.value);
  }
}

TEST_CASE("JsonSpanDecoder: intValue as a string, a number or {low, high}") {
  struct Case {
    std::string json;
    int64_t value;
  };
  const Case cases[] = {
      {R"("-9223372036854775808")", INT64_MIN},
      {R"("9223372036854775807")", INT64_MAX},
      {"-9223372036854775808", INT64_MIN},
      {"42", 42},
      {"-3.0", -3},
      {R"({"low": -1, "high": -1})", -1},
  };
  for (const Case& c : cases) {
    CAPTURE(c.json);
    SpanDecoder decoder;
    const std::string body =
        OneSpan(R"("attributes":[{"key":"n","value":{"intValue":)" + c.json + "}}]");
    const DecodedSpans& d = decoder.Decode(SpanEncoding::kJson, body);
    REQUIRE(d.spans.size() == 1);
    CHECK(d.spans[0].attributes[0].value.type == Type::kInt);
    CHECK(d.spans[0].attributes[0].value.int_value == c.value);
  }
}

TEST_CASE("JsonSpanDecoder: integers that are not, or do not fit, refuse the span") {
  for (const std::string json : {R"("-1")", "-1", R"("12a")", R"("")", R"("1.5")", "1.5",
                                 R"("18446744073709551616")", "true", "[1]",
                                 R"({"low": 1})", R"({"low": 1, "high": 4294967296})",
                                 R"({"low": "1", "high": 0})"}) {
    CAPTURE(json);
    const SpanError e = OnlyError(OneSpan(R"("endTimeUnixNano":)" + json));
    CHECK(e.reason == SpanRejectReason::kInvalidValue);
    CHECK(e.message ==
          "span 0: endTimeUnixNano must be a non-negative integer (a number, a decimal string or "
          "{\"low\", \"high\"})");
  }
  for (const std::string json : {R"("9223372036854775808")", "9223372036854775808",
                                 R"("-9223372036854775809")", R"("--1")", R"("-")"}) {
    CAPTURE(json);
    const SpanError e =
        OnlyError(OneSpan(R"("attributes":[{"key":"n","value":{"intValue":)" + json + "}}]"));
    CHECK(e.message ==
          "span 0: attributes[0].value.intValue must be an integer (a number, a decimal string "
          "or {\"low\", \"high\"})");
  }
}

TEST_CASE("JsonSpanDecoder: doubleValue as a number or a special string") {
  struct Case {
    std::string json;
    double value;
  };
  const Case cases[] = {{"1.5", 1.5},
                        {"3", 3},
                        {R"("Infinity")", INFINITY},
                        {R"("-Infinity")", -INFINITY},
                        {R"("2.5e3")", 2500}};
  for (const Case& c : cases) {
    CAPTURE(c.json);
    SpanDecoder decoder;
    const std::string body =
        OneSpan(R"("attributes":[{"key":"x","value":{"doubleValue":)" + c.json + "}}]");
    const DecodedSpans& d = decoder.Decode(SpanEncoding::kJson, body);
    REQUIRE(d.spans.size() == 1);
    CHECK(d.spans[0].attributes[0].value.double_value == c.value);
  }
  SpanDecoder decoder;
  const DecodedSpans& d = decoder.Decode(
      SpanEncoding::kJson, OneSpan(R"("attributes":[{"key":"x","value":{"doubleValue":"NaN"}}])"));
  REQUIRE(d.spans.size() == 1);
  CHECK(std::isnan(d.spans[0].attributes[0].value.double_value));
  CHECK(OnlyError(OneSpan(R"("attributes":[{"key":"x","value":{"doubleValue":"nan"}}])")).message ==
        "span 0: attributes[0].value.doubleValue must be a number, \"NaN\", \"Infinity\" or "
        "\"-Infinity\"");
}

TEST_CASE("JsonSpanDecoder: enums as integers or names") {
  struct Case {
    std::string status;
    StatusCode code;
  };
  const Case cases[] = {{"0", StatusCode::kUnset},
                        {"1", StatusCode::kOk},
                        {"2", StatusCode::kError},
                        {"9", StatusCode::kUnset},
                        {R"("STATUS_CODE_UNSET")", StatusCode::kUnset},
                        {R"("STATUS_CODE_OK")", StatusCode::kOk},
                        {R"("STATUS_CODE_ERROR")", StatusCode::kError},
                        {R"("STATUS_CODE_FROM_THE_FUTURE")", StatusCode::kUnset}};
  for (const Case& c : cases) {
    CAPTURE(c.status);
    SpanDecoder decoder;
    const DecodedSpans& d = decoder.Decode(
        SpanEncoding::kJson,
        OneSpan(R"("kind":"SPAN_KIND_CLIENT","status":{"code":)" + c.status + "}"));
    REQUIRE(d.spans.size() == 1);
    CHECK(d.spans[0].status == c.code);
  }
  CHECK(OnlyError(OneSpan(R"("status":{"code":true})")).message ==
        "span 0: status.code must be an integer or a StatusCode name");
  CHECK(OnlyError(OneSpan(R"("kind":1.5)")).message ==
        "span 0: kind must be an integer or a SpanKind name");
}

TEST_CASE("JsonSpanDecoder: ids are hex of the right length, or empty") {
  struct Case {
    std::string fields;
    SpanRejectReason reason;
    std::string message;
  };
  const Case cases[] = {
      {R"("traceId":"0102030405060708090a0b0c0d0e0f1")", SpanRejectReason::kInvalidId,
       "span 0: traceId must be 32 hex digits (16 bytes)"},
      {R"("traceId":"0102030405060708090a0b0c0d0e0f10aa")", SpanRejectReason::kInvalidId,
       "span 0: traceId must be 32 hex digits (16 bytes)"},
      {R"("spanId":"111213141516171g")", SpanRejectReason::kInvalidId,
       "span 0: spanId is not hexadecimal"},
      {R"("parentSpanId":"AQIDBAUGBwg=")", SpanRejectReason::kInvalidId,  // base64, not hex
       "span 0: parentSpanId must be 16 hex digits (8 bytes)"},
      {R"("spanId":1112131415161718)", SpanRejectReason::kInvalidValue,
       "span 0: spanId must be a string of hex digits"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.fields);
    const SpanError e = OnlyError(OneSpan(c.fields));
    CHECK(e.reason == c.reason);
    CHECK(e.message == c.message);
  }
  SpanDecoder decoder;
  const DecodedSpans& d =
      decoder.Decode(SpanEncoding::kJson, OneSpan(R"("traceId":"","spanId":"","parentSpanId":null)"));
  REQUIRE(d.spans.size() == 1);
  CHECK(d.spans[0].trace_id == TraceId{});
}

TEST_CASE("JsonSpanDecoder: a wrong type inside a span refuses that span only") {
  struct Case {
    std::string fields;
    std::string message;
  };
  const Case cases[] = {
      {R"("name":5)", "span 1: name must be a string"},
      {R"("attributes":{})", "span 1: attributes must be an array"},
      {R"("attributes":[5])", "span 1: attributes[0] must be an object"},
      {R"("attributes":[{"key":"a"},{"key":7}])", "span 1: attributes[1].key must be a string"},
      {R"("attributes":[{"key":"a","value":"x"}])", "span 1: attributes[0].value must be an object"},
      {R"("attributes":[{"key":"a","value":{"stringValue":1}}])",
       "span 1: attributes[0].value.stringValue must be a string"},
      {R"("attributes":[{"key":"a","value":{"boolValue":"true"}}])",
       "span 1: attributes[0].value.boolValue must be true or false"},
      {R"("attributes":[{"key":"a","value":{"arrayValue":[]}}])",
       "span 1: attributes[0].value.arrayValue must be an object"},
      {R"("events":[{"name":"a"},{"name":[]}])", "span 1: events[1].name must be a string"},
      {R"("events":[1])", "span 1: events[0] must be an object"},
      {R"("events":[{"timeUnixNano":-5}])",
       "span 1: events[0].timeUnixNano must be a non-negative integer (a number, a decimal "
       "string or {\"low\", \"high\"})"},
      {R"("events":"none")", "span 1: events must be an array"},
      {R"("status":"ERROR")", "span 1: status must be an object"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.fields);
    const std::string body =
        R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"a","attributes":[{"key":"k","value":{"intValue":1}}]},{)" +
        c.fields + R"(},{"name":"c","attributes":[{"key":"k2","value":{"intValue":2}}]}]}]}]})";
    SpanDecoder decoder;
    const DecodedSpans& d = decoder.Decode(SpanEncoding::kJson, body);
    REQUIRE(d.ok());
    REQUIRE(d.spans.size() == 2);
    CHECK(d.spans[0].name == "a");
    CHECK(d.spans[1].name == "c");
    CHECK(d.spans[1].index == 2);
    REQUIRE(d.spans[1].attributes.size() == 1);  // nothing of the refused span leaked into it
    CHECK(d.spans[1].attributes[0].key == "k2");
    CHECK(d.rejected == 1);
    REQUIRE(d.errors.size() == 1);
    CHECK(d.errors[0].index == 1);
    CHECK(d.errors[0].reason == SpanRejectReason::kInvalidValue);
    CHECK(d.errors[0].message == c.message);
  }
  const std::string not_an_object = R"({"resourceSpans":[{"scopeSpans":[{"spans":[5,{}]}]}]})";
  SpanDecoder decoder;
  const DecodedSpans& d = decoder.Decode(SpanEncoding::kJson, not_an_object);
  REQUIRE(d.spans.size() == 1);
  CHECK(d.spans[0].index == 1);
  REQUIRE(d.errors.size() == 1);
  CHECK(d.errors[0].message == "span 0: the span is not a JSON object");
}

TEST_CASE("JsonSpanDecoder: a wrong type above the spans refuses the body, naming the path") {
  const std::string prefix = "the body is not a valid OTLP/JSON ExportTraceServiceRequest: ";
  CHECK(BodyError("[]") == prefix + "the body must be a JSON object (an ExportTraceServiceRequest)");
  CHECK(BodyError(R"({"resourceSpans":{}})") == prefix + "resourceSpans must be an array");
  CHECK(BodyError(R"({"resourceSpans":[1]})") == prefix + "resourceSpans[0] must be an object");
  CHECK(BodyError(R"({"resourceSpans":[{},{"resource":[]}]})") ==
        prefix + "resourceSpans[1].resource must be an object");
  CHECK(BodyError(R"({"resourceSpans":[{"resource":{"attributes":5}}]})") ==
        prefix + "resourceSpans[0].resource.attributes must be an array");
  CHECK(BodyError(R"({"resourceSpans":[{"resource":{"attributes":[{"key":"a","value":{"intValue":"x"}}]}}]})") ==
        prefix + "resourceSpans[0].resource.attributes[0].value.intValue must be an integer (a "
                 "number, a decimal string or {\"low\", \"high\"})");
  CHECK(BodyError(R"({"resourceSpans":[{"scopeSpans":{}}]})") ==
        prefix + "resourceSpans[0].scopeSpans must be an array");
  CHECK(BodyError(R"({"resourceSpans":[{"scopeSpans":[{},"x"]}]})") ==
        prefix + "resourceSpans[0].scopeSpans[1] must be an object");
  CHECK(BodyError(R"({"resourceSpans":[{"scopeSpans":[{"scope":{"name":1}}]}]})") ==
        prefix + "resourceSpans[0].scopeSpans[0].scope.name must be a string");
  CHECK(BodyError(R"({"resourceSpans":[{"scopeSpans":[{"spans":[]},{"spans":{}}]}]})") ==
        prefix + "resourceSpans[0].scopeSpans[1].spans must be an array");
  // A good span before the bad structure is not kept: the body is refused as a whole.
  CHECK(BodyError(R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"a"}]}]},7]})") ==
        prefix + "resourceSpans[1] must be an object");
}

TEST_CASE("JsonSpanDecoder: a body that is not JSON, or not UTF-8, is refused as a whole") {
  CHECK(BodyError("").find("empty") != std::string::npos);
  CHECK(BodyError(R"({"resourceSpans":[)").starts_with("the body is not valid JSON"));
  CHECK(BodyError("\x0A\x02\x0A\x00").starts_with("the body is not valid JSON"));
  CHECK(BodyError(OneSpan("\"name\":\"gpt-\xC3\x28\"")) ==
        "the body is not valid UTF-8 (OTLP/JSON bodies must be)");
  CHECK(BodyError(R"({"a":1e400})") ==
        "the body is not valid JSON: a number is malformed or out of range (OTLP/JSON sends 64-bit "
        "integers as decimal strings)");
}

TEST_CASE("JsonSpanDecoder: null and missing members are absent") {
  SpanDecoder decoder;
  for (const std::string& body :
       {std::string("{}"), std::string(R"({"resourceSpans":null})"),
        std::string(R"({"resourceSpans":[{"resource":null,"scopeSpans":null}]})"),
        std::string(R"({"resourceSpans":[{"scopeSpans":[{"scope":null,"spans":null}]}]})")}) {
    CAPTURE(body);
    const DecodedSpans& d = decoder.Decode(SpanEncoding::kJson, body);
    CHECK(d.ok());
    CHECK(d.spans.empty());
    CHECK(d.rejected == 0);
  }
  const DecodedSpans& d = decoder.Decode(
      SpanEncoding::kJson,
      OneSpan(R"("name":null,"status":null,"attributes":[{"key":"a","value":null}],"events":null)"));
  REQUIRE(d.spans.size() == 1);
  CHECK(d.spans[0].attributes[0].value.type == Type::kEmpty);
}

TEST_CASE("JsonSpanDecoder: attribute, event and resource limits") {
  SpanDecodeLimits limits;
  limits.max_attributes_per_span = 2;
  limits.max_events_per_span = 1;
  CHECK(OnlyError(OneSpan(R"("attributes":[{"key":"a"},{"key":"b"},{"key":"c"}])"), limits)
            .message == "span 0: 3 attributes, over the limit of 2");
  const SpanError events = OnlyError(OneSpan(R"("events":[{},{}])"), limits);
  CHECK(events.reason == SpanRejectReason::kTooManyAttributes);
  CHECK(events.message == "span 0: 2 events, over the limit of 1");

  const std::string body = R"({"resourceSpans":[
      {"resource":{"attributes":[{"key":"a"},{"key":"b"},{"key":"c"}]},
       "scopeSpans":[{"spans":[{"name":"x"},{"name":"y"}]}]},
      {"resource":{"attributes":[{"key":"a"}]},"scopeSpans":[{"spans":[{"name":"z"}]}]}]})";
  SpanDecoder decoder(limits);
  const DecodedSpans& d = decoder.Decode(SpanEncoding::kJson, body);
  REQUIRE(d.ok());
  REQUIRE(d.spans.size() == 1);
  CHECK(d.spans[0].name == "z");
  CHECK(d.spans[0].index == 2);
  CHECK(d.rejected == 2);
  REQUIRE(d.errors.size() == 2);
  CHECK(d.errors[0].reason == SpanRejectReason::kTooManyAttributes);
  CHECK(d.errors[1].message == "span 1: its resource has 3 attributes, over the limit of 2");
}

}  // namespace
}  // namespace llm_exporter::otlp
