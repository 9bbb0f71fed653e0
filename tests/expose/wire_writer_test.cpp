#include "expose/wire_writer.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace llm_exporter::expose {
namespace {

TEST_CASE("WireWriter: varints, zigzag and doubles as protobuf encodes them") {
  std::string out;
  WireWriter w(&out);
  w.Varint(1, 0);
  w.Varint(1, 300);
  w.Varint(1, std::numeric_limits<uint64_t>::max());
  CHECK(out == std::string("\x08\x00"
                           "\x08\xac\x02"
                           "\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
                           16));
  out.clear();
  w.Int64(2, -1);  // ten bytes, as an int64 field takes
  CHECK(out == std::string("\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11));
  out.clear();
  w.Sint32(1, -1);
  w.Sint32(1, 1);
  w.Sint32(1, std::numeric_limits<int32_t>::min());
  w.Sint64(2, -2);
  w.Sint64(2, std::numeric_limits<int64_t>::max());
  CHECK(out == std::string("\x08\x01"
                           "\x08\x02"
                           "\x08\xff\xff\xff\xff\x0f"
                           "\x10\x03"
                           "\x10\xfe\xff\xff\xff\xff\xff\xff\xff\xff\x01",
                           23));
  out.clear();
  w.Double(16, 1.0);  // field 16 needs a two-byte tag
  CHECK(out == std::string("\x81\x01\x00\x00\x00\x00\x00\x00\xf0\x3f", 10));
  out.clear();
  w.Bytes(3, "");
  w.Bytes(3, "ab");
  CHECK(out == std::string("\x1a\x00\x1a\x02" "ab", 6));
}

TEST_CASE("WireWriter: nested messages get their length, moved up when it takes two bytes") {
  std::string out;
  WireWriter w(&out);
  const std::size_t outer = w.Open(1);
  const std::size_t empty = w.Open(2);
  w.Close(empty);
  const std::size_t inner = w.Open(3);
  w.Bytes(1, std::string(200, 'x'));  // 203 bytes: the length 203 is "\xcb\x01"
  w.Close(inner);
  w.Varint(4, 5);
  w.Close(outer);
  // outer: 2 (empty) + 1 + 2 + 203 (inner) + 2 = 210 = "\xd2\x01"
  const std::string expected = std::string("\x0a\xd2\x01\x12\x00\x1a\xcb\x01\x0a\xc8\x01", 11) +
                               std::string(200, 'x') + std::string("\x20\x05", 2);
  CHECK(out == expected);

  out.clear();
  const std::size_t delimited = w.OpenDelimited();
  w.Bytes(1, std::string(20'000, 'y'));  // 20,004 bytes: "\xa4\x9c\x01"
  w.Close(delimited);
  CHECK(out.size() == 3 + 20'004);
  CHECK(out.substr(0, 6) == std::string("\xa4\x9c\x01\x0a\xa0\x9c", 6));
  CHECK(out.back() == 'y');
}

}  // namespace
}  // namespace llm_exporter::expose
