// Hostile export requests at the span decoder: a million attributes in one span, attribute values
// nested 100,000 deep, every truncation of a valid body, and a decoder that keeps working after
// each of them.
#include <doctest/doctest.h>

#include <string>

#include "otlp/otlp_fixture.h"
#include "otlp/span_decoder.h"
#include "otlp/wire_bytes.h"

namespace llm_exporter::otlp {
namespace {

using namespace testing;

// An ExportTraceServiceRequest with one resource and one scope whose spans are `spans`, each the
// bytes of one Span message.
std::string RequestOf(const std::vector<std::string>& spans) {
  std::string scope = Field(1, Field(1, "scope"));
  for (const std::string& span : spans) scope += Field(2, span);
  return Field(1, Field(2, scope));
}
std::string GoodSpanBytes(const std::string& name) {
  ExportTraceServiceRequest request = GoodRequest(1);
  pb_trace::Span& span = *request.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0);
  span.set_name(name);
  return span.SerializeAsString();
}

// What must hold of any result: refused bodies hold nothing, and every span is either decoded
// or refused, once, with a distinct index below the count.
void CheckConsistent(const DecodedSpans& d, std::size_t max_reported) {
  if (!d.ok()) {
    CHECK(d.spans.empty());
    CHECK(d.rejected == 0);
    CHECK(d.errors.empty());
    return;
  }
  const std::size_t total = d.spans.size() + d.rejected;
  std::vector<bool> seen(total, false);
  for (const Span& s : d.spans) {
    REQUIRE(s.index < total);
    CHECK_FALSE(seen[s.index]);
    seen[s.index] = true;
    CHECK(s.resource != nullptr);
  }
  CHECK(d.errors.size() == std::min(d.rejected, max_reported));
  for (const SpanError& e : d.errors) {
    REQUIRE(e.index < total);
    CHECK_FALSE(seen[e.index]);
    seen[e.index] = true;
    CHECK(e.message.starts_with("span " + std::to_string(e.index) + ": "));
  }
}

TEST_CASE("Hostile protobuf: a million attributes in one span refuse it and keep the others") {
  std::string attributes;
  attributes.reserve(5'000'000);
  const std::string one = Field(9, Field(1, "a"));  // KeyValue{key: "a"}
  for (int i = 0; i < 1'000'000; ++i) attributes += one;
  const std::string body =
      RequestOf({GoodSpanBytes("before"), GoodSpanBytes("huge") + attributes, GoodSpanBytes("after")});
  SpanDecoder decoder;
  const DecodedSpans& d = decoder.Decode(SpanEncoding::kProtobuf, body);
  REQUIRE(d.ok());
  REQUIRE(d.spans.size() == 2);
  CHECK(d.spans[0].name == "before");
  CHECK(d.spans[1].name == "after");
  CHECK(d.spans[1].index == 2);
  CHECK(d.rejected == 1);
  REQUIRE(d.errors.size() == 1);
  CHECK(d.errors[0].reason == SpanRejectReason::kTooManyAttributes);
  CHECK(d.errors[0].message == "span 1: 1000001 attributes, over the limit of 1024");
  // The decoder still works, and decodes a small request as it should.
  const std::string small = GoodRequest(2).SerializeAsString();
  const DecodedSpans& again = decoder.Decode(SpanEncoding::kProtobuf, small);
  CHECK(again.spans.size() == 2);
}

TEST_CASE("Hostile JSON: a million attributes in one span refuse it and keep the others") {
  std::string attributes;
  attributes.reserve(14'000'000);
  for (int i = 0; i < 1'000'000; ++i) attributes += R"({"key":"a"},)";
  attributes.pop_back();
  const std::string body = R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"before"},)"
                           R"({"name":"huge","attributes":[)" + attributes +
                           R"(]},{"name":"after"}]}]}]})";
  SpanDecoder decoder;
  const DecodedSpans& d = decoder.Decode(SpanEncoding::kJson, body);
  REQUIRE(d.ok());
  REQUIRE(d.spans.size() == 2);
  CHECK(d.spans[1].name == "after");
  CHECK(d.rejected == 1);
  REQUIRE(d.errors.size() == 1);
  CHECK(d.errors[0].reason == SpanRejectReason::kTooManyAttributes);
  CHECK(d.errors[0].message == "span 1: 1000000 attributes, over the limit of 1024");
}

// AnyValue{array_value: ArrayValue{values: [AnyValue{array_value: ...}]}} `depth` levels deep,
// with {string_value: "x"} innermost, written outside in so building it is linear.
std::string NestedArrayValue(std::size_t depth) {
  std::vector<std::size_t> any_size(depth + 1);
  std::vector<std::size_t> array_size(depth + 1);
  any_size[0] = 3;  // 0x0A 0x01 'x'
  for (std::size_t i = 1; i <= depth; ++i) {
    array_size[i] = 1 + VarintSize(any_size[i - 1]) + any_size[i - 1];
    any_size[i] = 1 + VarintSize(array_size[i]) + array_size[i];
  }
  std::string out;
  out.reserve(any_size[depth]);
  for (std::size_t i = depth; i >= 1; --i) {
    out.push_back('\x2A');  // AnyValue.array_value (5)
    AppendVarint(array_size[i], &out);
    out.push_back('\x0A');  // ArrayValue.values (1)
    AppendVarint(any_size[i - 1], &out);
  }
  out += "\x0A\x01x";
  return out;
}

TEST_CASE("Hostile protobuf: an attribute value nested 100,000 deep is kept, typed, not walked") {
  const std::string deep = NestedArrayValue(100'000);
  REQUIRE(deep.size() > 500'000);
  // KeyValue{key: "deep", value: <deep>} and a kvlist holding a KeyValue whose value is <deep>.
  const std::string array_attribute = Field(9, Field(1, "deep") + Field(2, deep));
  const std::string kvlist = Field(1, Field(1, "inner") + Field(2, deep));  // KeyValueList
  const std::string kvlist_attribute = Field(9, Field(1, "map") + Field(2, Field(6, kvlist)));
  const std::string body = RequestOf({GoodSpanBytes("deep") + array_attribute + kvlist_attribute,
                                      GoodSpanBytes("plain")});
  SpanDecoder decoder;
  const DecodedSpans& d = decoder.Decode(SpanEncoding::kProtobuf, body);
  REQUIRE(d.ok());
  REQUIRE(d.spans.size() == 2);
  const AttributeValue* value = Find(d.spans[0], "deep");
  REQUIRE(value != nullptr);
  CHECK(value->type == AttributeValue::Type::kArray);
  const AttributeValue* map = Find(d.spans[0], "map");
  REQUIRE(map != nullptr);
  CHECK(map->type == AttributeValue::Type::kKvList);
  CHECK(d.spans[1].name == "plain");
}

TEST_CASE("Hostile protobuf: nesting in fields the agent does not declare is bounded as protobuf bounds it") {
  // Unknown groups nested 100,000 deep inside a span: protobuf's recursion limit of 100, which the
  // decoder keeps, refuses the body.
  std::string groups;
  for (int i = 0; i < 100'000; ++i) groups += "\xA3\x01";  // start group, field 20
  for (int i = 0; i < 100'000; ++i) groups += "\xA4\x01";  // end group, field 20
  const std::string body = RequestOf({GoodSpanBytes("a") + groups});
  SpanDecoder decoder;
  const DecodedSpans& d = decoder.Decode(SpanEncoding::kProtobuf, body);
  CHECK_FALSE(d.ok());
  CheckConsistent(d, 100);
}

// A one-span OTLP/JSON request whose attribute value is arrayValue within arrayValue, `levels`
// deep (three levels of JSON nesting each).
std::string OneSpanDeep(std::size_t levels) {
  std::string body = R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"a","value":)";
  for (std::size_t i = 0; i < levels; ++i) body += R"({"arrayValue":{"values":[)";
  body += R"({"stringValue":"x"})";
  for (std::size_t i = 0; i < levels; ++i) body += "]}}";
  return body + "}]}]}]}]}";
}

TEST_CASE("Hostile JSON: deep nesting refuses the body, and nesting within simdjson's limit is typed") {
  const std::string deep = OneSpanDeep(100'000);
  SpanDecoder decoder;
  const DecodedSpans& refused = decoder.Decode(SpanEncoding::kJson, deep);
  CHECK(refused.body_error == "the body is not valid JSON: nested more than 1024 levels deep");
  const DecodedSpans& kept = decoder.Decode(SpanEncoding::kJson, OneSpanDeep(300));
  REQUIRE(kept.ok());
  REQUIRE(kept.spans.size() == 1);
  CHECK(kept.spans[0].attributes[0].value.type == AttributeValue::Type::kArray);
  // Nesting anywhere else in the document is bounded the same way.
  const std::string brackets = std::string(200'000, '[') + std::string(200'000, ']');
  CHECK_FALSE(decoder.Decode(SpanEncoding::kJson, brackets).ok());
}

TEST_CASE("Hostile input: every truncation of a valid body is refused or decoded consistently") {
  ExportTraceServiceRequest request = GoodRequest(3);
  pb_trace::Span* span = request.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(1);
  span->add_events()->set_name("e");
  span->mutable_status()->set_code(pb_trace::Status::STATUS_CODE_ERROR);
  const std::string proto = request.SerializeAsString();
  const std::string json = R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name",)"
                           R"("value":{"stringValue":"a"}}]},"scopeSpans":[{"scope":{"name":"s"},)"
                           R"("spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","name":"x",)"
                           R"("startTimeUnixNano":"1","attributes":[{"key":"k","value":{"intValue":"2"}}],)"
                           R"("events":[{"name":"e","timeUnixNano":{"low":-1,"high":0}}]},{"name":"y"}]}]}]})";
  SpanDecoder decoder;
  std::size_t decoded = 0;
  for (std::size_t n = 0; n <= proto.size(); ++n) {
    const std::string prefix = proto.substr(0, n);
    const DecodedSpans& d = decoder.Decode(SpanEncoding::kProtobuf, prefix);
    CheckConsistent(d, 100);
    if (d.ok()) ++decoded;
  }
  CHECK(decoded >= 2);  // the empty body and the whole one at least
  for (std::size_t n = 0; n <= json.size(); ++n) {
    const std::string prefix = json.substr(0, n);
    const DecodedSpans& d = decoder.Decode(SpanEncoding::kJson, prefix);
    CheckConsistent(d, 100);
    CHECK(d.ok() == (n == json.size()));
  }
  // Every single-byte change of the protobuf body, too.
  for (std::size_t i = 0; i < proto.size(); ++i) {
    for (const char c : {'\x00', '\x80', '\xFF', '\x0A'}) {
      std::string changed = proto;
      changed[i] = c;
      CheckConsistent(decoder.Decode(SpanEncoding::kProtobuf, changed), 100);
    }
  }
}

}  // namespace
}  // namespace llm_exporter::otlp
