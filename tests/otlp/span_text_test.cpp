#include "otlp/span_text.h"

#include <doctest/doctest.h>

#include <string>

namespace llm_exporter::otlp {
namespace {

TEST_CASE("IsValidUtf8: short and long, ASCII and not") {
  CHECK(IsValidUtf8(""));
  CHECK(IsValidUtf8("gen_ai.request.model"));
  CHECK(IsValidUtf8("h\xC3\xA9llo \xF0\x9F\x98\x80"));
  CHECK_FALSE(IsValidUtf8("\xC3\x28"));
  CHECK_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong
  CHECK_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  CHECK_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  const std::string long_ascii(1000, 'a');
  CHECK(IsValidUtf8(long_ascii));
  CHECK_FALSE(IsValidUtf8(long_ascii + "\xFF"));
  CHECK_FALSE(IsValidUtf8(std::string(63, 'a') + "\x80"));
}

TEST_CASE("QuotedForMessage: escapes, and cuts long names on a character boundary") {
  CHECK(QuotedForMessage("gen_ai.request.model") == "\"gen_ai.request.model\"");
  CHECK(QuotedForMessage("a\"b\\c\nd") == "\"a\\\"b\\\\c\\x0ad\"");
  CHECK(QuotedForMessage(std::string(100, 'k'), 8) == "\"kkkkkkkk\"...");
  CHECK(QuotedForMessage("abc\xC3\xA9", 4) == "\"abc\"...");  // é does not fit in 4 bytes
  CHECK(QuotedForMessage("\xFF") == "\"\\xff\"");
}

TEST_CASE("AppendRepairedUtf8: invalid sequences become U+FFFD") {
  std::string out = "x";
  AppendRepairedUtf8("a\xC3\x28z\xED\xA0\x80", &out);
  CHECK(out == "xa\xEF\xBF\xBD(z\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  out.clear();
  AppendRepairedUtf8("h\xC3\xA9", &out);
  CHECK(out == "h\xC3\xA9");
}

}  // namespace
}  // namespace llm_exporter::otlp
