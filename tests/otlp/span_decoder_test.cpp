#include "otlp/span_decoder.h"

#include <doctest/doctest.h>

#include <string>

#include "otlp/otlp_fixture.h"

namespace llm_exporter::otlp {
namespace {

using namespace testing;

TEST_CASE("SpanDecoder: one decoder serves both encodings, one request after the other") {
  SpanDecoder decoder;
  const std::string proto = GoodRequest(2).SerializeAsString();
  const std::string json =
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"j0"},{"name":"j1"},{"name":"j2"}]}]}]})";
  for (int round = 0; round < 2; ++round) {
    const DecodedSpans& p = decoder.Decode(SpanEncoding::kProtobuf, proto);
    REQUIRE(p.spans.size() == 2);
    CHECK(p.spans[1].name == "span 1");
    CHECK(p.spans[1].scope_name == "opentelemetry.instrumentation.openai");
    const DecodedSpans& j = decoder.Decode(SpanEncoding::kJson, json);
    REQUIRE(j.spans.size() == 3);
    CHECK(j.spans[2].name == "j2");
    CHECK(j.spans[2].attributes.empty());
    CHECK(j.spans[2].resource->attributes.empty());
    const DecodedSpans& refused = decoder.Decode(SpanEncoding::kJson, proto);
    CHECK_FALSE(refused.ok());
    CHECK(refused.spans.empty());
  }
}

TEST_CASE("SpanDecoder: memory grown by a large request is given back by the next one") {
  SpanDecoder decoder;
  ExportTraceServiceRequest large = GoodRequest(20'000);
  const std::string large_body = large.SerializeAsString();
  const std::string small_body = GoodRequest(1).SerializeAsString();
  REQUIRE(decoder.Decode(SpanEncoding::kProtobuf, large_body).spans.size() == 20'000);
  const std::size_t after_large = decoder.retained_bytes();
  CHECK(after_large > (std::size_t{4} << 20));  // the span and attribute vectors
  REQUIRE(decoder.Decode(SpanEncoding::kProtobuf, small_body).spans.size() == 1);
  const std::size_t after_small = decoder.retained_bytes();
  CHECK(after_small < (std::size_t{1} << 20));

  std::string json = R"({"resourceSpans":[{"scopeSpans":[{"spans":[)";
  for (int i = 0; i < 20'000; ++i) json += R"({"name":"a name","attributes":[{"key":"k","value":{"intValue":"1"}}]},)";
  json.back() = ']';
  json += "}]}]}";
  REQUIRE(decoder.Decode(SpanEncoding::kJson, json).spans.size() == 20'000);
  CHECK(decoder.retained_bytes() > after_small + (std::size_t{8} << 20));
  REQUIRE(decoder.Decode(SpanEncoding::kJson, R"({"resourceSpans":[]})").ok());
  CHECK(decoder.retained_bytes() < (std::size_t{6} << 20));
}

}  // namespace
}  // namespace llm_exporter::otlp
