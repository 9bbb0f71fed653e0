#include "otlp/span_decoder.h"

#include <doctest/doctest.h>

#include <string>

#include "otlp/otlp_fixture.h"
#include "otlp/span_reader.h"

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

TEST_CASE("SpanDecoder: cache-write and reasoning counts reach the reader from both encodings") {
  // An Anthropic call with a cache write, an OpenAI reasoning call, and a stream without usage.
  ExportTraceServiceRequest request;
  pb_trace::ScopeSpans* scope = request.add_resource_spans()->add_scope_spans();
  pb_trace::Span* write = AddSpan(scope, "chat claude");
  AddString(write->mutable_attributes(), "gen_ai.operation.name", "chat");
  AddInt(write->mutable_attributes(), "gen_ai.usage.input_tokens", 2000);
  AddInt(write->mutable_attributes(), "gen_ai.usage.output_tokens", 10);
  AddInt(write->mutable_attributes(), "gen_ai.usage.cache_creation.input_tokens", 1500);
  pb_trace::Span* reason = AddSpan(scope, "o3");
  AddString(reason->mutable_attributes(), "openinference.span.kind", "LLM");
  AddInt(reason->mutable_attributes(), "llm.token_count.prompt", 30);
  AddInt(reason->mutable_attributes(), "llm.token_count.completion", 500);
  AddInt(reason->mutable_attributes(), "llm.token_count.completion_details.reasoning", 448);
  AddInt(reason->mutable_attributes(), "llm.token_count.prompt_details.cache_write", 16);
  pb_trace::Span* stream = AddSpan(scope, "chat stream");
  AddString(stream->mutable_attributes(), "gen_ai.operation.name", "chat");
  const std::string proto = request.SerializeAsString();
  const std::string json = R"({"resourceSpans":[{"scopeSpans":[{"spans":[
      {"name":"chat claude","attributes":[
        {"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},
        {"key":"gen_ai.usage.input_tokens","value":{"intValue":"2000"}},
        {"key":"gen_ai.usage.output_tokens","value":{"intValue":10}},
        {"key":"gen_ai.usage.cache_creation.input_tokens","value":{"intValue":"1500"}}]},
      {"name":"o3","attributes":[
        {"key":"openinference.span.kind","value":{"stringValue":"LLM"}},
        {"key":"llm.token_count.prompt","value":{"intValue":"30"}},
        {"key":"llm.token_count.completion","value":{"intValue":"500"}},
        {"key":"llm.token_count.completion_details.reasoning","value":{"intValue":"448"}},
        {"key":"llm.token_count.prompt_details.cache_write","value":{"intValue":16}}]},
      {"name":"chat stream","attributes":[
        {"key":"gen_ai.operation.name","value":{"stringValue":"chat"}}]}]}]}]})";
  SpanDecoder decoder;
  const SpanReader reader;
  for (const auto& request_body :
       {std::pair{SpanEncoding::kProtobuf, proto}, std::pair{SpanEncoding::kJson, json}}) {
    const int encoding = static_cast<int>(request_body.first);
    CAPTURE(encoding);
    const DecodedSpans& spans = decoder.Decode(request_body.first, request_body.second);
    REQUIRE(spans.ok());
    REQUIRE(spans.spans.size() == 3);
    const ReadSpan a = reader.Read(spans.spans[0]);
    REQUIRE_FALSE(a.error);
    CHECK(a.meaning.call.input_tokens == 2000);
    CHECK(a.meaning.call.cache_write_input_tokens == 1500);
    CHECK(a.meaning.call.reasoning_tokens == 0);
    CHECK(a.meaning.call.usage_known);
    const ReadSpan b = reader.Read(spans.spans[1]);
    REQUIRE_FALSE(b.error);
    CHECK(b.meaning.call.input_tokens == 30);
    CHECK(b.meaning.call.cache_write_input_tokens == 16);
    CHECK(b.meaning.call.output_tokens == 500);
    CHECK(b.meaning.call.reasoning_tokens == 448);
    const ReadSpan c = reader.Read(spans.spans[2]);
    REQUIRE_FALSE(c.error);
    CHECK(c.meaning.kind == SpanKind::kLlmCall);
    CHECK_FALSE(c.meaning.call.usage_known);
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
