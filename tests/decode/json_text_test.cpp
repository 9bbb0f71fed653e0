#include "decode/json_text.h"

#include <doctest/doctest.h>

namespace llm_exporter::decode {
namespace {

std::string Sanitized(std::string_view text, std::size_t* replaced = nullptr) {
  std::string out;
  const std::size_t n = SanitizeUtf8(text, &out);
  if (replaced) *replaced = n;
  return out;
}

TEST_CASE("SanitizeUtf8: valid text, including surrogate pairs, is copied unchanged") {
  std::size_t n = 99;
  CHECK(Sanitized("plain \xC3\xA9 \xF0\x9F\x98\x80 \\ud83d\\ude00 \\n", &n) ==
        "plain \xC3\xA9 \xF0\x9F\x98\x80 \\ud83d\\ude00 \\n");
  CHECK(n == 0);
}

TEST_CASE("SanitizeUtf8: bad bytes and lone surrogate escapes become U+FFFF") {
  std::size_t n = 0;
  CHECK(Sanitized("a\xFF" "b", &n) == "a\xEF\xBF\xBF" "b");
  CHECK(n == 1);
  CHECK(Sanitized("\xC0\xAF") == "\xEF\xBF\xBF\xEF\xBF\xBF");        // overlong '/'
  CHECK(Sanitized("\xED\xA0\x80") == "\xEF\xBF\xBF\xEF\xBF\xBF\xEF\xBF\xBF");  // encoded surrogate
  CHECK(Sanitized("\xE2\x82") == "\xEF\xBF\xBF\xEF\xBF\xBF");        // truncated sequence
  CHECK(Sanitized("x\\ud800y") == "x\\uFFFFy");
  CHECK(Sanitized("\\udc00") == "\\uFFFF");
  CHECK(Sanitized("\\ud800\\u0041") == "\\uFFFF\\u0041");
  CHECK(Sanitized("\\\\ud800") == "\\\\ud800");  // an escaped backslash, then plain text
}

TEST_CASE("SplitArrayElements: top-level elements, strings and nesting respected") {
  std::vector<std::string_view> elements;
  REQUIRE(SplitArrayElements(R"( [ {"a": [1, 2]}, "x,]", 3 ,{"b":"}"} ] )", &elements));
  CHECK(elements == std::vector<std::string_view>{R"({"a": [1, 2]})", R"("x,]")", "3", R"({"b":"}"})"});
  REQUIRE(SplitArrayElements("[]", &elements));
  CHECK(elements.empty());
  REQUIRE(SplitArrayElements("[1,]", &elements));
  CHECK(elements == std::vector<std::string_view>{"1", ""});
  CHECK_FALSE(SplitArrayElements("[1, 2", &elements));
  CHECK_FALSE(SplitArrayElements("[1] x", &elements));
  CHECK_FALSE(SplitArrayElements("[\"unterminated]", &elements));
  CHECK_FALSE(SplitArrayElements("{}", &elements));
}

TEST_CASE("LooksLikeNdjson: a complete first line with more to follow") {
  CHECK(LooksLikeNdjson("{\"a\":1}\n{\"b\":2}"));
  CHECK(LooksLikeNdjson("{\"a\":1}\r\n\r\n{\"b\":2}\r\n"));
  CHECK_FALSE(LooksLikeNdjson("{\"a\":1}\n"));
  CHECK_FALSE(LooksLikeNdjson("{\n  \"a\": 1\n}"));
  CHECK_FALSE(LooksLikeNdjson("[{\"a\":1}]\n[]"));
}

}  // namespace
}  // namespace llm_exporter::decode
