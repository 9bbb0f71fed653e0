#include "meter/request_facts.h"

#include <doctest/doctest.h>

#include <string>

namespace llm_exporter::meter {
namespace {

TEST_CASE("ReadRequest: an OpenAI chat request") {
  const RequestFacts facts = ReadRequest(
      R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hi"}],"stream":true,)"
      R"("stream_options":{"include_usage":true},"user":"user-42"})");
  CHECK(facts.model == "gpt-4o-mini");
  CHECK(facts.user == "user-42");
  CHECK(facts.stream);
  CHECK(facts.include_usage);
}

TEST_CASE("ReadRequest: an Anthropic request names its user in metadata.user_id") {
  const RequestFacts facts = ReadRequest(
      R"({"model":"claude-3-5-sonnet-20241022","max_tokens":1024,"stream":true,)"
      R"("metadata":{"user_id":"u-7"},"messages":[{"role":"user","content":"Hello"}]})");
  CHECK(facts.model == "claude-3-5-sonnet-20241022");
  CHECK(facts.user == "u-7");
  CHECK(facts.stream);
  CHECK_FALSE(facts.include_usage);
}

TEST_CASE("ReadRequest: only true is true; other types are ignored") {
  RequestFacts facts = ReadRequest(
      R"({"model":5,"user":null,"stream":"true","stream_options":{"include_usage":1}})");
  CHECK(facts.model.empty());
  CHECK(facts.user.empty());
  CHECK_FALSE(facts.stream);
  CHECK_FALSE(facts.include_usage);
  facts = ReadRequest(R"({"stream":false,"stream_options":{"include_usage":false}})");
  CHECK_FALSE(facts.stream);
  CHECK_FALSE(facts.include_usage);
  facts = ReadRequest(R"({"stream_options":null})");
  CHECK_FALSE(facts.include_usage);
}

TEST_CASE("ReadRequest: a body that is not a JSON object yields nothing") {
  for (const char* body : {"", "not json", "[1,2]", R"({"model":"x")", "\"model\"", "{\"a\":1}}"}) {
    CAPTURE(body);
    const RequestFacts facts = ReadRequest(body);
    CHECK(facts.model.empty());
    CHECK(facts.user.empty());
    CHECK_FALSE(facts.stream);
  }
}

// Each injected body must ask for usage, as the upstream's parser will read it.
void CheckInjected(const std::string& body, const std::string& expected) {
  CAPTURE(body);
  const std::optional<std::string> injected = InjectStreamUsage(body);
  REQUIRE(injected.has_value());
  CHECK(*injected == expected);
  CHECK(ReadRequest(*injected).include_usage);
}

TEST_CASE("InjectStreamUsage: no stream_options: inserted first, every other byte kept") {
  CheckInjected(
      R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hi"}],"stream":true})",
      R"({"stream_options":{"include_usage":true},"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hi"}],"stream":true})");
  CheckInjected("{\n  \"model\": \"gpt-4o\",\n  \"stream\": true\n}\n",
                "{\"stream_options\":{\"include_usage\":true},\n  \"model\": \"gpt-4o\",\n"
                "  \"stream\": true\n}\n");
  CheckInjected("  {}", R"(  {"stream_options":{"include_usage":true}})");
  CheckInjected("{ }", R"({"stream_options":{"include_usage":true} })");
}

TEST_CASE("InjectStreamUsage: stream_options without include_usage gains it") {
  CheckInjected(R"({"stream":true,"stream_options":{}})",
                R"({"stream":true,"stream_options":{"include_usage":true}})");
  CheckInjected(R"({"stream":true,"stream_options":{"include_obfuscation":false},"n":1})",
                R"({"stream":true,"stream_options":{"include_usage":true,"include_obfuscation":false},"n":1})");
}

TEST_CASE("InjectStreamUsage: include_usage false or null becomes true") {
  CheckInjected(R"({"stream":true,"stream_options":{"include_usage":false}})",
                R"({"stream":true,"stream_options":{"include_usage":true}})");
  CheckInjected(R"({"stream_options": { "x":1, "include_usage" : null }, "stream": true})",
                R"({"stream_options": { "x":1, "include_usage" : true }, "stream": true})");
  // Already true: unchanged.
  CheckInjected(R"({"stream_options":{"include_usage":true}})",
                R"({"stream_options":{"include_usage":true}})");
}

TEST_CASE("InjectStreamUsage: stream_options that is not an object is replaced") {
  CheckInjected(R"({"stream":true,"stream_options":null})",
                R"({"stream":true,"stream_options":{"include_usage":true}})");
  CheckInjected(R"({"stream_options":"x","stream":true})",
                R"({"stream_options":{"include_usage":true},"stream":true})");
}

TEST_CASE("InjectStreamUsage: an escaped key and duplicates are all changed") {
  CheckInjected(R"({"stream\u005foptions":{},"stream":true})",
                R"({"stream\u005foptions":{"include_usage":true},"stream":true})");
  CheckInjected(R"({"stream_options":{"include_usage":false},"stream_options":{}})",
                R"({"stream_options":{"include_usage":true},"stream_options":{"include_usage":true}})");
}

TEST_CASE("InjectStreamUsage: strings that look like members are not touched") {
  CheckInjected(
      R"({"messages":[{"role":"user","content":"\"stream_options\":{} {"}],"stream":true})",
      R"({"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"\"stream_options\":{} {"}],"stream":true})");
}

TEST_CASE("InjectStreamUsage: nullopt when the body is not a JSON object") {
  for (const char* body : {"", " ", "null", "[]", R"([{"stream":true}])", R"({"stream":true)",
                           R"({"stream":true}x)", "\"{}\"", "{\"a\":\"\xff\"}"}) {
    CAPTURE(body);
    CHECK_FALSE(InjectStreamUsage(body).has_value());
  }
}

}  // namespace
}  // namespace llm_exporter::meter
