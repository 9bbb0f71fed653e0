#include "expose/wire_writer.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace llm_exporter::expose {
namespace {

// What `write` writes with a WireWriter on a fresh string, flushed.
template <typename Write>
std::string Written(Write&& write) {
  std::string out;
  WireWriter w(&out);
  write(w);
  w.Flush();
  return out;
}

TEST_CASE("WireWriter: varints, zigzag and doubles as protobuf encodes them") {
  CHECK(Written([](WireWriter& w) {
          w.Varint(1, 0);
          w.Varint(1, 300);
          w.Varint(1, std::numeric_limits<uint64_t>::max());
        }) == std::string("\x08\x00"
                          "\x08\xac\x02"
                          "\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
                          16));
  // Ten bytes, as an int64 field takes a negative value.
  CHECK(Written([](WireWriter& w) { w.Int64(2, -1); }) ==
        std::string("\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11));
  CHECK(Written([](WireWriter& w) {
          w.Sint32(1, -1);
          w.Sint32(1, 1);
          w.Sint32(1, std::numeric_limits<int32_t>::min());
          w.Sint64(2, -2);
          w.Sint64(2, std::numeric_limits<int64_t>::max());
        }) == std::string("\x08\x01"
                          "\x08\x02"
                          "\x08\xff\xff\xff\xff\x0f"
                          "\x10\x03"
                          "\x10\xfe\xff\xff\xff\xff\xff\xff\xff\xff\x01",
                          23));
  // Field 16 takes a two-byte tag.
  CHECK(Written([](WireWriter& w) { w.Double(16, 1.0); }) ==
        std::string("\x81\x01\x00\x00\x00\x00\x00\x00\xf0\x3f", 10));
  CHECK(Written([](WireWriter& w) {
          w.Bytes(3, "");
          w.Bytes(3, "ab");
        }) == std::string("\x1a\x00\x1a\x02" "ab", 6));
}

TEST_CASE("WireWriter: nested messages get their length, moved up when it takes two bytes") {
  const std::string nested = Written([](WireWriter& w) {
    const std::size_t outer = w.Open(1);
    const std::size_t empty = w.Open(2);
    w.Close(empty);
    const std::size_t inner = w.Open(3);
    w.Bytes(1, std::string(200, 'x'));  // 203 bytes: the length 203 is "\xcb\x01"
    w.Close(inner);
    w.Varint(4, 5);
    w.Close(outer);
  });
  // outer: 2 (empty) + 1 + 2 + 203 (inner) + 2 = 210 = "\xd2\x01"
  CHECK(nested == std::string("\x0a\xd2\x01\x12\x00\x1a\xcb\x01\x0a\xc8\x01", 11) +
                      std::string(200, 'x') + std::string("\x20\x05", 2));

  const std::string delimited = Written([](WireWriter& w) {
    const std::size_t mark = w.OpenDelimited();
    w.Bytes(1, std::string(20'000, 'y'));  // 20,004 bytes: "\xa4\x9c\x01"
    w.Close(mark);
  });
  CHECK(delimited.size() == 3 + 20'004);
  CHECK(delimited.substr(0, 6) == std::string("\xa4\x9c\x01\x0a\xa0\x9c", 6));
  CHECK(delimited.back() == 'y');
}

TEST_CASE("WireWriter: writes after what the string held, in its capacity, and can drop a tail") {
  std::string out = "kept";
  out.reserve(1 << 20);
  const char* const buffer = out.data();
  WireWriter w(&out);
  CHECK(w.size() == 4);
  w.Varint(1, 1);
  const std::size_t mark = w.size();
  w.Bytes(2, std::string(300'000, 'z'));  // more than one step of growth
  CHECK(w.size() == mark + 4 + 300'000);
  w.Truncate(mark);
  w.Varint(3, 2);
  w.Flush();
  CHECK(out == std::string("kept\x08\x01\x18\x02", 8));
  CHECK(out.data() == buffer);
  // Writing goes on after a Flush().
  w.Varint(1, 3);
  w.Flush();
  CHECK(out == std::string("kept\x08\x01\x18\x02\x08\x03", 10));
}

TEST_CASE("WireWriter: a string grown many times over keeps every byte and every length") {
  std::string out;
  WireWriter w(&out);
  const std::size_t outer = w.OpenDelimited();
  for (int i = 0; i < 100'000; ++i) w.Varint(1, 300);  // 3 bytes each
  w.Close(outer);
  w.Flush();
  REQUIRE(out.size() == 3 + 300'000);
  CHECK(out.substr(0, 3) == "\xe0\xa7\x12");  // 300,000
  CHECK(out.substr(out.size() - 6) == "\x08\xac\x02\x08\xac\x02");
}

}  // namespace
}  // namespace llm_exporter::expose
