#include "otlp/protobuf_span_decoder.h"

#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "otlp/otlp_fixture.h"
#include "otlp/span_decoder.h"
#include "otlp/wire_bytes.h"

namespace llm_exporter::otlp {
namespace {

using namespace testing;

const DecodedSpans& DecodeProto(SpanDecoder& decoder, const std::string& body) {
  return decoder.Decode(SpanEncoding::kProtobuf, body);
}

// The single error of a request whose spans are all refused but one error listed.
SpanError OnlyError(const ExportTraceServiceRequest& request, SpanDecodeLimits limits = {}) {
  SpanDecoder decoder(limits);
  const std::string body = request.SerializeAsString();
  const DecodedSpans& d = DecodeProto(decoder, body);
  REQUIRE(d.ok());
  CHECK(d.spans.empty());
  CHECK(d.rejected == 1);
  REQUIRE(d.errors.size() == 1);
  return d.errors[0];
}

TEST_CASE("ProtobufSpanDecoder: every field of a span, its scope and its resource") {
  ExportTraceServiceRequest request;
  pb_trace::ResourceSpans* resource_spans = request.add_resource_spans();
  auto* resource_attributes = resource_spans->mutable_resource()->mutable_attributes();
  AddString(resource_attributes, "service.name", "chat-api");
  AddInt(resource_attributes, "process.pid", 4242);
  pb_trace::ScopeSpans* scope = resource_spans->add_scope_spans();
  scope->mutable_scope()->set_name("opentelemetry.instrumentation.openai");
  pb_trace::Span* span = AddSpan(scope, "openai.chat");
  std::string parent(8, '\0');
  for (int i = 0; i < 8; ++i) parent[i] = static_cast<char>(0xF0 + i);
  span->set_parent_span_id(parent);
  span->set_kind(pb_trace::Span::SPAN_KIND_CLIENT);
  auto* attributes = span->mutable_attributes();
  AddString(attributes, "gen_ai.request.model", "gpt-4o");
  AddAttribute(attributes, "llm.is_streaming")->mutable_value()->set_bool_value(true);
  AddInt(attributes, "gen_ai.usage.input_tokens", -12);
  AddAttribute(attributes, "gen_ai.request.temperature")->mutable_value()->set_double_value(0.25);
  AddAttribute(attributes, "raw")->mutable_value()->set_bytes_value(std::string("\x00\xFF", 2));
  AddAttribute(attributes, "list")->mutable_value()->set_array_value("\x0A\x03\x0A\x01x");
  AddAttribute(attributes, "map")->mutable_value()->set_kvlist_value("");
  AddAttribute(attributes, "no.value");
  AddAttribute(attributes, "empty.value")->mutable_value();
  AddString(attributes, "gen_ai.prompt.0.content", "h\xC3\xA9llo \xF0\x9F\x98\x80");
  pb_trace::Span::Event* event = span->add_events();
  event->set_name("First Token Stream Event");
  event->set_time_unix_nano(1'700'000'000'250'000'000ULL);
  span->add_events()->set_name("");
  span->mutable_status()->set_code(pb_trace::Status::STATUS_CODE_ERROR);
  span->mutable_status()->set_message("rate limited");

  SpanDecoder decoder;
  const std::string body = request.SerializeAsString();
  const DecodedSpans& d = DecodeProto(decoder, body);
  REQUIRE(d.ok());
  CHECK(d.rejected == 0);
  CHECK(d.errors.empty());
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

  REQUIRE(s.attributes.size() == 10);
  using Type = AttributeValue::Type;
  CHECK(s.attributes[0].key == "gen_ai.request.model");
  CHECK(s.attributes[0].value.type == Type::kString);
  CHECK(s.attributes[0].value.string == "gpt-4o");
  CHECK(s.attributes[1].value.type == Type::kBool);
  CHECK(s.attributes[1].value.bool_value);
  CHECK(s.attributes[2].value.type == Type::kInt);
  CHECK(s.attributes[2].value.int_value == -12);
  CHECK(s.attributes[3].value.type == Type::kDouble);
  CHECK(s.attributes[3].value.double_value == 0.25);
  CHECK(s.attributes[4].value.type == Type::kBytes);
  CHECK(s.attributes[5].value.type == Type::kArray);
  CHECK(s.attributes[6].key == "map");
  CHECK(s.attributes[6].value.type == Type::kKvList);
  CHECK(s.attributes[7].key == "no.value");
  CHECK(s.attributes[7].value.type == Type::kEmpty);
  CHECK(s.attributes[8].value.type == Type::kEmpty);
  CHECK(s.attributes[9].value.string == "h\xC3\xA9llo \xF0\x9F\x98\x80");

  REQUIRE(s.events.size() == 2);
  CHECK(s.events[0].name == "First Token Stream Event");
  CHECK(s.events[0].time_unix_nano == 1'700'000'000'250'000'000ULL);
  CHECK(s.events[1].name.empty());
  CHECK(s.events[1].time_unix_nano == 0);

  REQUIRE(s.resource != nullptr);
  REQUIRE(s.resource->attributes.size() == 2);
  CHECK(s.resource->attributes[0].key == "service.name");
  CHECK(s.resource->attributes[0].value.string == "chat-api");
  CHECK(s.resource->attributes[1].key == "process.pid");
  CHECK(s.resource->attributes[1].value.int_value == 4242);
}

TEST_CASE("ProtobufSpanDecoder: a span with nothing set decodes to zeros") {
  ExportTraceServiceRequest request;
  request.add_resource_spans()->add_scope_spans()->add_spans();
  SpanDecoder decoder;
  const std::string body = request.SerializeAsString();
  const DecodedSpans& d = DecodeProto(decoder, body);
  REQUIRE(d.spans.size() == 1);
  const Span& s = d.spans[0];
  CHECK(s.trace_id == TraceId{});
  CHECK(s.span_id == SpanId{});
  CHECK(s.parent_span_id == SpanId{});
  CHECK(s.name.empty());
  CHECK(s.scope_name.empty());
  CHECK(s.start_time_unix_nano == 0);
  CHECK(s.status == StatusCode::kUnset);
  CHECK(s.attributes.empty());
  CHECK(s.events.empty());
  REQUIRE(s.resource != nullptr);
  CHECK(s.resource->attributes.empty());
}

TEST_CASE("ProtobufSpanDecoder: spans of several resources and scopes keep wire order") {
  ExportTraceServiceRequest request;
  for (int r = 0; r < 2; ++r) {
    pb_trace::ResourceSpans* resource_spans = request.add_resource_spans();
    AddString(resource_spans->mutable_resource()->mutable_attributes(), "service.name",
              "service " + std::to_string(r));
    for (int sc = 0; sc < 2; ++sc) {
      pb_trace::ScopeSpans* scope = resource_spans->add_scope_spans();
      scope->mutable_scope()->set_name("scope " + std::to_string(r) + std::to_string(sc));
      for (int i = 0; i < 3; ++i) AddSpan(scope, "s" + std::to_string(r * 6 + sc * 3 + i));
    }
  }
  SpanDecoder decoder;
  const std::string body = request.SerializeAsString();
  const DecodedSpans& d = DecodeProto(decoder, body);
  REQUIRE(d.spans.size() == 12);
  for (std::size_t i = 0; i < 12; ++i) {
    CHECK(d.spans[i].index == i);
    CHECK(d.spans[i].name == "s" + std::to_string(i));
    const int r = static_cast<int>(i / 6);
    CHECK(d.spans[i].resource->attributes[0].value.string == "service " + std::to_string(r));
    CHECK(d.spans[i].scope_name ==
          "scope " + std::to_string(r) + std::to_string((i % 6) / 3));
  }
  CHECK(d.spans[0].resource == d.spans[5].resource);
  CHECK(d.spans[5].resource != d.spans[6].resource);
}

TEST_CASE("ProtobufSpanDecoder: status codes 0, 1 and 2, and an unknown code read as unset") {
  ExportTraceServiceRequest request = GoodRequest(4);
  auto* spans = request.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans();
  spans->Mutable(0)->mutable_status()->set_code(pb_trace::Status::STATUS_CODE_UNSET);
  spans->Mutable(1)->mutable_status()->set_code(pb_trace::Status::STATUS_CODE_OK);
  spans->Mutable(2)->mutable_status()->set_code(pb_trace::Status::STATUS_CODE_ERROR);
  spans->Mutable(3)->mutable_status()->set_code(static_cast<pb_trace::Status::StatusCode>(7));
  SpanDecoder decoder;
  const std::string body = request.SerializeAsString();
  const DecodedSpans& d = DecodeProto(decoder, body);
  REQUIRE(d.spans.size() == 4);
  CHECK(d.spans[0].status == StatusCode::kUnset);
  CHECK(d.spans[1].status == StatusCode::kOk);
  CHECK(d.spans[2].status == StatusCode::kError);
  CHECK(d.spans[3].status == StatusCode::kUnset);
}

TEST_CASE("ProtobufSpanDecoder: ids of the wrong length refuse their span, naming the id") {
  struct Case {
    int field;  // 1 trace_id, 2 span_id, 4 parent_span_id
    std::size_t length;
    std::string message;
  };
  for (const Case& c : {Case{1, 15, "span 0: trace_id is 15 bytes long, must be 16 (or empty)"},
                        Case{1, 17, "span 0: trace_id is 17 bytes long, must be 16 (or empty)"},
                        Case{2, 16, "span 0: span_id is 16 bytes long, must be 8 (or empty)"},
                        Case{4, 7, "span 0: parent_span_id is 7 bytes long, must be 8 (or empty)"}}) {
    ExportTraceServiceRequest request = GoodRequest(1);
    pb_trace::Span* span = request.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0);
    const std::string id(c.length, 'x');
    if (c.field == 1) span->set_trace_id(id);
    if (c.field == 2) span->set_span_id(id);
    if (c.field == 4) span->set_parent_span_id(id);
    const SpanError e = OnlyError(request);
    CHECK(e.index == 0);
    CHECK(e.reason == SpanRejectReason::kInvalidId);
    CHECK(e.message == c.message);
  }
}

TEST_CASE("ProtobufSpanDecoder: attribute and event limits refuse only the span over them") {
  SpanDecodeLimits limits;
  limits.max_attributes_per_span = 3;
  limits.max_events_per_span = 2;
  ExportTraceServiceRequest request = GoodRequest(3);
  auto* spans = request.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans();
  for (int i = 0; i < 3; ++i) AddInt(spans->Mutable(0)->mutable_attributes(), "a", i);  // 4
  for (int i = 0; i < 3; ++i) spans->Mutable(2)->add_events()->set_name("e");         // 3
  SpanDecoder decoder(limits);
  const std::string body = request.SerializeAsString();
  const DecodedSpans& d = DecodeProto(decoder, body);
  REQUIRE(d.ok());
  REQUIRE(d.spans.size() == 1);
  CHECK(d.spans[0].index == 1);
  CHECK(d.rejected == 2);
  REQUIRE(d.errors.size() == 2);
  CHECK(d.errors[0].reason == SpanRejectReason::kTooManyAttributes);
  CHECK(d.errors[0].message == "span 0: 4 attributes, over the limit of 3");
  CHECK(d.errors[1].reason == SpanRejectReason::kTooManyAttributes);
  CHECK(d.errors[1].message == "span 2: 3 events, over the limit of 2");
}

TEST_CASE("ProtobufSpanDecoder: too many resource attributes refuse every span of that resource") {
  SpanDecodeLimits limits;
  limits.max_attributes_per_span = 2;
  ExportTraceServiceRequest request = GoodRequest(2);
  auto* first = request.mutable_resource_spans(0)->mutable_resource()->mutable_attributes();
  AddString(first, "a", "1");
  AddString(first, "b", "2");  // 3 with service.name
  request.MergeFrom(GoodRequest(1));  // a second resource, within the limit
  SpanDecoder decoder(limits);
  const std::string body = request.SerializeAsString();
  const DecodedSpans& d = DecodeProto(decoder, body);
  REQUIRE(d.ok());
  REQUIRE(d.spans.size() == 1);
  CHECK(d.spans[0].index == 2);
  CHECK(d.spans[0].resource->attributes.size() == 1);
  CHECK(d.rejected == 2);
  REQUIRE(d.errors.size() == 2);
  CHECK(d.errors[0].reason == SpanRejectReason::kTooManyAttributes);
  CHECK(d.errors[0].message == "span 0: its resource has 3 attributes, over the limit of 2");
  CHECK(d.errors[1].message == "span 1: its resource has 3 attributes, over the limit of 2");
}

TEST_CASE("ProtobufSpanDecoder: invalid UTF-8 refuses only its span and names the string") {
  const std::string bad = "gpt-\xC3\x28";  // a lead byte without its continuation
  struct Case {
    const char* what;
    std::string message;
  };
  const Case cases[] = {
      {"name", "span 1: the span name is not valid UTF-8"},
      {"key", "span 1: the key of attribute 1 is not valid UTF-8"},
      {"value", "span 1: the value of attribute \"gen_ai.request.model\" is not valid UTF-8"},
      {"event", "span 1: the name of event 0 is not valid UTF-8"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    ExportTraceServiceRequest request = GoodRequest(3);
    pb_trace::Span* span =
        request.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(1);
    const std::string what = c.what;
    if (what == "name") span->set_name(bad);
    if (what == "key") AddString(span->mutable_attributes(), bad, "x");
    if (what == "value") span->mutable_attributes(0)->mutable_value()->set_string_value(bad);
    if (what == "event") span->add_events()->set_name(bad);
    SpanDecoder decoder;
    const std::string body = request.SerializeAsString();
    const DecodedSpans& d = DecodeProto(decoder, body);
    REQUIRE(d.ok());
    REQUIRE(d.spans.size() == 2);
    CHECK(d.spans[0].index == 0);
    CHECK(d.spans[1].index == 2);
    CHECK(d.spans[1].name == "span 2");
    CHECK(d.spans[1].attributes.size() == 1);  // nothing of the refused span leaked into it
    CHECK(d.rejected == 1);
    REQUIRE(d.errors.size() == 1);
    CHECK(d.errors[0].index == 1);
    CHECK(d.errors[0].reason == SpanRejectReason::kInvalidUtf8);
    CHECK(d.errors[0].message == c.message);
  }
}

TEST_CASE("ProtobufSpanDecoder: invalid UTF-8 in a scope name or resource attribute refuses its spans") {
  ExportTraceServiceRequest request = GoodRequest(2);
  request.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_scope()->set_name("\xFF");
  ExportTraceServiceRequest second = GoodRequest(1);
  second.mutable_resource_spans(0)->mutable_resource()->mutable_attributes(0)->set_key("\xC0\xAF");
  request.MergeFrom(second);
  ExportTraceServiceRequest third = GoodRequest(1);
  third.mutable_resource_spans(0)
      ->mutable_resource()
      ->mutable_attributes(0)
      ->mutable_value()
      ->set_string_value("\xED\xA0\x80");  // a UTF-16 surrogate
  request.MergeFrom(third);
  request.MergeFrom(GoodRequest(1));
  SpanDecoder decoder;
  const std::string body = request.SerializeAsString();
  const DecodedSpans& d = DecodeProto(decoder, body);
  REQUIRE(d.ok());
  REQUIRE(d.spans.size() == 1);
  CHECK(d.spans[0].index == 4);
  CHECK(d.rejected == 4);
  REQUIRE(d.errors.size() == 4);
  CHECK(d.errors[0].message == "span 0: the name of its instrumentation scope is not valid UTF-8");
  CHECK(d.errors[1].message == "span 1: the name of its instrumentation scope is not valid UTF-8");
  CHECK(d.errors[2].message == "span 2: the key of resource attribute 0 is not valid UTF-8");
  CHECK(d.errors[3].message ==
        "span 3: the value of resource attribute \"service.name\" is not valid UTF-8");
  for (const SpanError& e : d.errors) CHECK(e.reason == SpanRejectReason::kInvalidUtf8);
}

TEST_CASE("ProtobufSpanDecoder: all refused spans are counted, the first few listed") {
  SpanDecodeLimits limits;
  limits.max_reported_errors = 2;
  ExportTraceServiceRequest request = GoodRequest(5);
  for (auto& span : *request.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans()) {
    span.set_trace_id("short");
  }
  SpanDecoder decoder(limits);
  const std::string body = request.SerializeAsString();
  const DecodedSpans& d = DecodeProto(decoder, body);
  CHECK(d.spans.empty());
  CHECK(d.rejected == 5);
  REQUIRE(d.errors.size() == 2);
  CHECK(d.errors[1].index == 1);
}

TEST_CASE("ProtobufSpanDecoder: a body that is not protobuf is refused as a whole") {
  SpanDecoder decoder;
  for (const std::string& body : {std::string("\x0A\x05\x12\x03", 4),  // truncated
                                 std::string("\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\x01"),
                                 std::string("\x0B", 1),               // a group never ended
                                 std::string("\x0A\x02\x0A\x05", 4)}) {  // inner length past the outer
    const DecodedSpans& d = DecodeProto(decoder, body);
    CHECK_FALSE(d.ok());
    CHECK(d.body_error.starts_with("the body is not a valid protobuf ExportTraceServiceRequest"));
    CHECK(d.spans.empty());
    CHECK(d.rejected == 0);
  }
  const DecodedSpans& json = DecodeProto(decoder, R"({"resourceSpans":[]})");
  CHECK(json.body_error.find("it looks like JSON") != std::string::npos);
}

TEST_CASE("ProtobufSpanDecoder: an empty body is an empty request") {
  SpanDecoder decoder;
  const DecodedSpans& d = DecodeProto(decoder, "");
  CHECK(d.ok());
  CHECK(d.spans.empty());
  CHECK(d.rejected == 0);
}

TEST_CASE("ProtobufSpanDecoder: fields of the full OTLP schema that the agent does not read are skipped") {
  // trace_state (3), flags (16, fixed32), links (13), dropped counts: unknown to the agent's
  // schema; ResourceSpans.schema_url (3) too.
  ExportTraceServiceRequest request = GoodRequest(1);
  std::string body = request.SerializeAsString();
  std::string extra_span_fields = std::string("\x1A\x05rojo=", 7) + std::string("\x85\x01\x01\x00\x00\x00", 6) +
                                  std::string("\x6A\x02\x0A\x00", 4) + "\x50\x07";
  pb_trace::Span* span = request.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0);
  std::string span_bytes = span->SerializeAsString() + extra_span_fields;
  REQUIRE(span->ParseFromString(span_bytes));
  body = request.SerializeAsString();
  SpanDecoder decoder;
  const DecodedSpans& d = DecodeProto(decoder, body);
  REQUIRE(d.ok());
  REQUIRE(d.spans.size() == 1);
  CHECK(d.spans[0].name == "span 0");
}

TEST_CASE("ProtobufSpanDecoder: a field sent with the wrong wire type is skipped, as protobuf does") {
  // name (5) as a varint and start_time_unix_nano (7) as a varint instead of fixed64: protobuf
  // reads a field whose wire type does not match as an unknown field.
  ExportTraceServiceRequest request = GoodRequest(1);
  pb_trace::Span* span = request.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0);
  span->clear_name();
  span->clear_start_time_unix_nano();
  REQUIRE(span->ParseFromString(span->SerializeAsString() + std::string("\x28\x07\x38\x09", 4)));
  SpanDecoder decoder;
  const std::string body = request.SerializeAsString();
  const DecodedSpans& d = DecodeProto(decoder, body);
  REQUIRE(d.ok());
  REQUIRE(d.spans.size() == 1);
  CHECK(d.spans[0].name.empty());
  CHECK(d.spans[0].start_time_unix_nano == 0);
  CHECK(d.spans[0].end_time_unix_nano == 1'700'000'001'500'000'000ULL);
}

TEST_CASE("ProtobufSpanDecoder: fields given more than once are read as the generated classes read them") {
  // Singular fields: the last wins. Singular messages (resource, scope, status, value): merged,
  // each of their fields the last given, wherever the occurrences lie.
  const std::string status = Field(15, VarintField(3, 2)) + Field(15, Field(2, "msg"));
  const std::string value = Field(2, Field(1, "text")) + Field(2, VarintField(3, 7)) + Field(2, "");
  const std::string span = Field(5, "first") + Field(9, Field(1, "k") + value) + status +
                           Field(5, "second") + Field(15, VarintField(3, 1) + VarintField(3, 0));
  const std::string scope_spans = Field(2, span) + Field(1, Field(1, "scope a")) +
                                  Field(1, Field(1, "scope b")) + Field(1, "");
  const std::string resource_a = Field(1, Field(1, "service.name") + Field(2, Field(1, "chat")));
  const std::string resource_b = Field(1, Field(1, "host"));
  const std::string body =
      Field(1, Field(2, scope_spans) + Field(1, resource_a) + Field(1, resource_b));

  ExportTraceServiceRequest ref;
  REQUIRE(ref.ParseFromString(body));
  const pb_trace::ResourceSpans& rs = ref.resource_spans(0);
  const pb_trace::Span& ref_span = rs.scope_spans(0).spans(0);
  REQUIRE(rs.resource().attributes_size() == 2);
  REQUIRE(ref_span.attributes_size() == 1);

  SpanDecoder decoder;
  const DecodedSpans& d = DecodeProto(decoder, body);
  REQUIRE(d.ok());
  REQUIRE(d.spans.size() == 1);
  const Span& s = d.spans[0];
  CHECK(s.name == "second");
  CHECK(s.name == ref_span.name());
  CHECK(s.scope_name == "scope b");
  CHECK(s.scope_name == rs.scope_spans(0).scope().name());
  CHECK(static_cast<int>(s.status) == static_cast<int>(ref_span.status().code()));
  CHECK(s.status == StatusCode::kUnset);  // the last code given was 0
  REQUIRE(s.attributes.size() == 1);
  CHECK(s.attributes[0].value.type == AttributeValue::Type::kInt);
  CHECK(s.attributes[0].value.int_value == ref_span.attributes(0).value().int_value());
  REQUIRE(s.resource->attributes.size() == 2);
  CHECK(s.resource->attributes[0].value.string == "chat");
  CHECK(s.resource->attributes[1].key == "host");
}

TEST_CASE("ProtobufSpanDecoder: edge encodings are accepted or refused as the generated classes do") {
  const std::string span =
      GoodRequest(1).resource_spans(0).scope_spans(0).spans(0).SerializeAsString();
  const auto request = [](const std::string& span_bytes) {
    return Field(1, Field(2, Field(2, span_bytes)));
  };
  const auto groups = [](int depth) {
    std::string bytes;
    for (int i = 0; i < depth; ++i) bytes += Tag(20, 3);
    for (int i = 0; i < depth; ++i) bytes += Tag(20, 4);
    return bytes;
  };
  struct Case {
    std::string what;
    std::string body;
  };
  const Case cases[] = {
      {"an int value in 10 bytes, bits past the 64th set",
       request(span + Field(9, Field(2, Tag(3, 0) + std::string(9, '\xFF') + '\x7F')))},
      {"a status code past 2^32",
       request(span + Field(15, VarintField(3, (uint64_t{1} << 32) + 2)))},
      {"a tag in 5 bytes",
       request(span + std::string("\xAA\x80\x80\x80\x00", 5) + Varint(1) + "x")},
      {"a length in 5 bytes",
       request(span + Tag(5, 2) + std::string("\x81\x80\x80\x80\x00", 5) + "x")},
      {"a length in 6 bytes",
       request(span + Tag(5, 2) + std::string("\x81\x80\x80\x80\x80\x00", 6) + "x")},
      {"a varint in 11 bytes", request(span + Tag(6, 0) + std::string(10, '\xFF') + '\x01')},
      {"groups 97 deep in a span", request(span + groups(97))},
      {"groups 98 deep in a span", request(span + groups(98))},
      {"a group as an attribute", request(span + Tag(9, 3) + Field(1, "k") + Tag(9, 4))},
      {"mismatched end-group", request(span + Tag(20, 3) + Tag(21, 4))},
      {"an end-group at the top", Tag(1, 4)},
      {"field number 0", request(span + VarintField(0, 1))},
      {"wire type 7", request(span + Tag(3, 7))},
      {"fixed32 cut short", request(span + Tag(16, 5) + "abc")},
      {"an inner length past its message", request(span + Field(9, Tag(1, 2) + Varint(3) + "ab"))},
      {"a double as a varint",
       request(span + Field(9, Field(1, "d") + Field(2, VarintField(4, 1))))},
  };
  SpanDecoder decoder;
  for (const Case& c : cases) {
    CAPTURE(c.what);
    ExportTraceServiceRequest ref;
    const bool parsed = ref.ParseFromString(c.body);
    const DecodedSpans& d = DecodeProto(decoder, c.body);
    CHECK(d.ok() == parsed);
    if (!parsed || !d.ok()) continue;
    const pb_trace::Span& ref_span = ref.resource_spans(0).scope_spans(0).spans(0);
    REQUIRE(d.spans.size() == 1);
    const Span& s = d.spans[0];
    CHECK(s.name == ref_span.name());
    const int code = ref_span.status().code();
    CHECK(static_cast<int>(s.status) == (code >= 0 && code <= 2 ? code : 0));
    REQUIRE(s.attributes.size() == static_cast<std::size_t>(ref_span.attributes_size()));
    for (int i = 0; i < ref_span.attributes_size(); ++i) {
      CHECK(s.attributes[i].key == ref_span.attributes(i).key());
      CHECK(s.attributes[i].value.int_value == ref_span.attributes(i).value().int_value());
    }
  }
}

TEST_CASE("ProtobufSpanDecoder: a reused decoder gives the same result, with no state carried over") {
  SpanDecoder decoder;
  const std::string bad = [] {
    ExportTraceServiceRequest r = GoodRequest(2);
    r.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0)->set_span_id("x");
    return r.SerializeAsString();
  }();
  const std::string good = GoodRequest(3).SerializeAsString();
  for (int round = 0; round < 3; ++round) {
    const DecodedSpans& a = DecodeProto(decoder, bad);
    CHECK(a.spans.size() == 1);
    CHECK(a.rejected == 1);
    const DecodedSpans& b = DecodeProto(decoder, good);
    REQUIRE(b.spans.size() == 3);
    CHECK(b.rejected == 0);
    CHECK(b.errors.empty());
    CHECK(b.spans[2].name == "span 2");
    CHECK(b.spans[2].attributes[0].value.string == "gpt-4o");
    CHECK(decoder.retained_bytes() > 0);
  }
}

}  // namespace
}  // namespace llm_exporter::otlp
