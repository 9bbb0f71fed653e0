#include "meter/json_members.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace llm_exporter::meter {
namespace {

TEST_CASE("ReadObjectMembers: positions of keys and values, nesting and strings skipped") {
  const std::string text = R"( {"a" : 1 ,"b":{"x":[1,{"}":"]"}]},"c":"q\"}","d":null} )";
  std::vector<JsonMember> members;
  std::size_t close = 0;
  REQUIRE(ReadObjectMembers(text, 1, &members, &close));
  REQUIRE(members.size() == 4);
  CHECK(close == text.size() - 2);
  const auto value = [&](std::size_t i) {
    return text.substr(members[i].value_begin, members[i].value_end - members[i].value_begin);
  };
  CHECK(value(0) == "1");
  CHECK(value(1) == R"({"x":[1,{"}":"]"}]})");
  CHECK(value(2) == R"("q\"}")");
  CHECK(value(3) == "null");
  CHECK(text.substr(members[0].key_begin, members[0].key_end - members[0].key_begin) == "\"a\"");
}

TEST_CASE("ReadObjectMembers: empty object, and text that is not an object") {
  std::vector<JsonMember> members;
  std::size_t close = 0;
  CHECK(ReadObjectMembers("{ }", 0, &members, &close));
  CHECK(members.empty());
  CHECK(close == 2);
  CHECK_FALSE(ReadObjectMembers("[1]", 0, &members, &close));
  CHECK_FALSE(ReadObjectMembers(R"({"a":1)", 0, &members, &close));
  CHECK_FALSE(ReadObjectMembers(R"({"a" 1})", 0, &members, &close));
  CHECK_FALSE(ReadObjectMembers(R"({"a":"x)", 0, &members, &close));
  CHECK_FALSE(ReadObjectMembers(R"({"a":[1,2})", 0, &members, &close));
  CHECK_FALSE(ReadObjectMembers("", 0, &members, &close));
}

TEST_CASE("KeyEquals: compares the unescaped key") {
  const std::string text = R"({"usage":1,"\u0075sage":2,"usag":3,"usages":4,"us\"age":5,"u\u00e9":6})";
  std::vector<JsonMember> members;
  std::size_t close = 0;
  REQUIRE(ReadObjectMembers(text, 0, &members, &close));
  REQUIRE(members.size() == 6);
  CHECK(KeyEquals(text, members[0], "usage"));
  CHECK(KeyEquals(text, members[1], "usage"));
  CHECK_FALSE(KeyEquals(text, members[2], "usage"));
  CHECK_FALSE(KeyEquals(text, members[3], "usage"));
  CHECK(KeyEquals(text, members[4], "us\"age"));
  CHECK_FALSE(KeyEquals(text, members[5], "u"));
}

}  // namespace
}  // namespace llm_exporter::meter
