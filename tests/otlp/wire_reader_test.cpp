#include "otlp/wire_reader.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "otlp/wire_bytes.h"

namespace llm_exporter::otlp {
namespace {

using namespace testing;
using WireType = WireReader::WireType;

// Moves `r` to its next field, which must be `number` with wire type `type`.
void ExpectField(WireReader& r, uint32_t number, WireType type) {
  uint32_t field = 0;
  WireType wire_type{};
  REQUIRE(r.NextField(&field, &wire_type));
  CHECK(field == number);
  CHECK(wire_type == type);
}
// Whether `r` has no field left (or has failed).
bool AtEnd(WireReader& r) {
  uint32_t field = 0;
  WireType type{};
  return !r.NextField(&field, &type);
}

// Reads the one varint field of `bytes`; `ok` says whether the reader accepted it.
struct VarintResult {
  bool ok = false;
  uint64_t value = 0;
  std::string error;
};
VarintResult ReadOneVarint(const std::string& bytes) {
  WireReader r(bytes);
  ExpectField(r, 1, WireType::kVarint);
  VarintResult result;
  result.value = r.ReadVarint();
  result.ok = r.ok() && AtEnd(r) && r.ok();
  if (!r.ok()) result.error = r.error();
  return result;
}

// Every field number the reader returns, in order, skipping each value; and whether it ended ok.
struct Walk {
  std::vector<uint32_t> fields;
  bool ok = false;
  std::string error;
  std::ptrdiff_t error_offset = -1;
};
Walk SkipAll(const std::string& bytes) {
  WireReader r(bytes);
  Walk walk;
  uint32_t field = 0;
  WireType type{};
  while (r.NextField(&field, &type)) {
    walk.fields.push_back(field);
    r.Skip(type);
  }
  walk.ok = r.ok();
  if (!r.ok()) {
    walk.error = r.error();
    walk.error_offset = r.error_position() - bytes.data();
  }
  return walk;
}

TEST_CASE("WireReader: varints of 1 to 10 bytes") {
  for (const uint64_t value : {uint64_t{0}, uint64_t{1}, uint64_t{127}, uint64_t{128},
                               uint64_t{300}, uint64_t{1} << 35, ~uint64_t{0} >> 1, ~uint64_t{0}}) {
    CAPTURE(value);
    const VarintResult r = ReadOneVarint(VarintField(1, value));
    CHECK(r.ok);
    CHECK(r.value == value);
  }
  CHECK(Varint(~uint64_t{0}).size() == 10);
  // A non-minimal encoding is valid: 1 written in 10 bytes.
  const VarintResult padded = ReadOneVarint(Tag(1, 0) + "\x81" + std::string(8, '\x80') + '\x00');
  CHECK(padded.ok);
  CHECK(padded.value == 1);
}

TEST_CASE("WireReader: a 10th varint byte's bits past the 64th are dropped, as protobuf drops them") {
  // 0xFF x 9 then 0x7F: bits 63..69 set, of which only bit 63 fits.
  const VarintResult r = ReadOneVarint(Tag(1, 0) + std::string(9, '\xFF') + '\x7F');
  CHECK(r.ok);
  CHECK(r.value == ~uint64_t{0});
  const VarintResult high = ReadOneVarint(Tag(1, 0) + std::string(9, '\x80') + '\x02');
  CHECK(high.ok);
  CHECK(high.value == 0);
}

TEST_CASE("WireReader: a varint of 11 bytes, or cut short, fails the reader") {
  const VarintResult eleven = ReadOneVarint(Tag(1, 0) + std::string(10, '\xFF') + '\x01');
  CHECK_FALSE(eleven.ok);
  CHECK(eleven.value == 0);
  CHECK(eleven.error == "a varint longer than 10 bytes");
  const VarintResult cut = ReadOneVarint(Tag(1, 0) + "\x80\x80");
  CHECK_FALSE(cut.ok);
  CHECK(cut.error == "a varint cut short");
  const VarintResult empty = ReadOneVarint(Tag(1, 0));
  CHECK_FALSE(empty.ok);
  CHECK(empty.error == "a varint cut short");
}

TEST_CASE("WireReader: fixed64 is little-endian, and fails the reader when cut short") {
  const std::string bytes = Fixed64Field(7, 0x0102030405060708ULL);
  WireReader r(bytes);
  ExpectField(r, 7, WireType::kFixed64);
  CHECK(r.ReadFixed64() == 0x0102030405060708ULL);
  CHECK(AtEnd(r));
  CHECK(r.ok());

  const std::string cut = bytes.substr(0, bytes.size() - 1);
  WireReader short_reader(cut);
  ExpectField(short_reader, 7, WireType::kFixed64);
  CHECK(short_reader.ReadFixed64() == 0);
  CHECK_FALSE(short_reader.ok());
  CHECK(std::string(short_reader.error()) == "a fixed64 field cut short");
  CHECK(short_reader.error_position() == cut.data() + 1);
}

TEST_CASE("WireReader: bytes are a view into the input") {
  const std::string bytes = Field(5, "openai.chat") + Field(6, "");
  WireReader r(bytes);
  ExpectField(r, 5, WireType::kLengthDelimited);
  const std::string_view name = r.ReadBytes();
  CHECK(name == "openai.chat");
  CHECK(name.data() == bytes.data() + 2);
  ExpectField(r, 6, WireType::kLengthDelimited);
  CHECK(r.ReadBytes().empty());
  CHECK(AtEnd(r));
  CHECK(r.ok());
}

TEST_CASE("WireReader: a length past the end of the message fails the reader") {
  const std::string bytes = Tag(5, 2) + Varint(4) + "abc";
  const Walk walk = SkipAll(bytes);
  CHECK_FALSE(walk.ok);
  CHECK(walk.error == "a length runs past the end of its message");
  CHECK(walk.error_offset == 1);       // the length
  CHECK_FALSE(SkipAll(Tag(5, 2)).ok);  // no length at all
  CHECK(SkipAll(Tag(5, 2) + "\x80").error == "a length cut short");
}

TEST_CASE("WireReader: lengths are at most 5 bytes and below 2 GiB, as protobuf reads them") {
  // 3 written in 5 bytes is a valid length; in 6 bytes it is not.
  const std::string five = Tag(1, 2) + std::string("\x83\x80\x80\x80\x00", 5) + "abc";
  CHECK(SkipAll(five).ok);
  const std::string six = Tag(1, 2) + std::string("\x83\x80\x80\x80\x80\x00", 6) + "abc";
  CHECK(SkipAll(six).error == "a length longer than 5 bytes");
  const std::string two_gib = Tag(1, 2) + "\x80\x80\x80\x80\x08";
  CHECK(SkipAll(two_gib).error == "a length of 2 GiB or more");
  const std::string under_two_gib = Tag(1, 2) + "\xFF\xFF\xFF\xFF\x07";
  CHECK(SkipAll(under_two_gib).error == "a length runs past the end of its message");
}

TEST_CASE("WireReader: unknown fields of every wire type are skipped") {
  const std::string group = Tag(20, 3) + VarintField(1, 5) + Field(2, "x") + Tag(20, 4);
  const std::string bytes = VarintField(30, 1ULL << 60) + Fixed64Field(31, 9) +
                            Field(32, "skip me") + group + Tag(33, 5) + "\x01\x02\x03\x04" +
                            VarintField(1, 42);
  const Walk walk = SkipAll(bytes);
  CHECK(walk.ok);
  CHECK(walk.fields == std::vector<uint32_t>{30, 31, 32, 20, 33, 1});
  // The field after them is read as usual.
  WireReader r(bytes);
  uint32_t field = 0;
  WireType type{};
  while (r.NextField(&field, &type) && field != 1) r.Skip(type);
  CHECK(r.ReadVarint() == 42);
  CHECK(r.ok());
}

TEST_CASE("WireReader: a fixed32 field cut short fails the reader") {
  CHECK(SkipAll(Tag(33, 5) + "\x01\x02\x03").error == "a fixed32 field cut short");
}

TEST_CASE("WireReader: groups are skipped up to the end-group tag of their own field") {
  // Nested groups, and fields inside them that look like the group's own number.
  const std::string inner = Tag(21, 3) + VarintField(20, 1) + Tag(21, 4);
  const std::string bytes = Tag(20, 3) + inner + Field(20, "x") + Tag(20, 4) + VarintField(2, 7);
  const Walk walk = SkipAll(bytes);
  CHECK(walk.ok);
  CHECK(walk.fields == std::vector<uint32_t>{20, 2});
  CHECK(SkipAll(Tag(20, 3) + Tag(20, 4)).ok);  // an empty group
}

TEST_CASE("WireReader: an end-group tag that closes no open group fails the reader") {
  const Walk stray = SkipAll(VarintField(1, 1) + Tag(20, 4));
  CHECK_FALSE(stray.ok);
  CHECK(stray.error == "an end-group tag without a start-group");
  CHECK(stray.error_offset == 2);
  const Walk mismatched = SkipAll(Tag(20, 3) + Tag(21, 4));
  CHECK(mismatched.error == "an end-group tag that does not match its start-group");
  const Walk crossed = SkipAll(Tag(20, 3) + Tag(21, 3) + Tag(20, 4) + Tag(21, 4));
  CHECK_FALSE(crossed.ok);
  const Walk unclosed = SkipAll(Tag(20, 3) + VarintField(1, 1));
  CHECK(unclosed.error == "a group without its end-group tag");
}

TEST_CASE("WireReader: groups nest up to 100 levels, as protobuf's recursion limit allows") {
  const auto nested = [](int depth) {
    std::string bytes;
    for (int i = 0; i < depth; ++i) bytes += Tag(20, 3);
    for (int i = 0; i < depth; ++i) bytes += Tag(20, 4);
    return bytes;
  };
  CHECK(SkipAll(nested(100)).ok);
  const Walk deep = SkipAll(nested(101));
  CHECK_FALSE(deep.ok);
  CHECK(deep.error == "groups nested more than 100 levels deep");
  // A message counts as a level too: inside one, 99 levels of groups are the most.
  for (const int depth : {99, 100}) {
    const std::string bytes = Field(1, nested(depth));
    WireReader r(bytes);
    ExpectField(r, 1, WireType::kLengthDelimited);
    r.ReadMessage([](WireReader&) {});  // leaves every field to be skipped
    CHECK(r.ok() == (depth == 99));
  }
}

TEST_CASE("WireReader: field number 0 and wire types 6 and 7 fail the reader") {
  CHECK(SkipAll(std::string("\x00", 1)).error == "field number 0");
  CHECK(SkipAll(std::string("\x02\x00", 2)).error == "field number 0");
  CHECK(SkipAll(Tag(1, 6)).error == "wire type 6 or 7, which protobuf does not define");
  CHECK(SkipAll(Tag(1, 7)).error == "wire type 6 or 7, which protobuf does not define");
  CHECK(SkipAll(Tag(20, 3) + Tag(0, 4)).error == "field number 0");
}

TEST_CASE("WireReader: tags are at most 5 bytes, kept modulo 2^32 as protobuf keeps them") {
  // Field 1, length-delimited, written in 5 bytes with bits past the 32nd set in the last one.
  const std::string bytes = std::string("\x8A\x80\x80\x80\x70", 5) + Varint(1) + "x";
  WireReader r(bytes);
  ExpectField(r, 1, WireType::kLengthDelimited);
  CHECK(r.ReadBytes() == "x");
  CHECK(SkipAll(Tag((1u << 29) - 1, 0) + Varint(0)).ok);  // the largest field number
  CHECK(SkipAll(std::string("\x8A\x80\x80\x80\x80\x00", 6)).error == "a tag longer than 5 bytes");
  CHECK(SkipAll("\x8A\x80").error == "a tag cut short");
}

TEST_CASE("WireReader: a message is walked one level deeper, and its errors fail the reader") {
  const std::string inner = Field(1, "key") + VarintField(3, 7);
  const std::string bytes = Field(9, inner) + VarintField(2, 1);
  WireReader r(bytes);
  ExpectField(r, 9, WireType::kLengthDelimited);
  std::string_view key;
  r.ReadMessage([&](WireReader& kv) {
    ExpectField(kv, 1, WireType::kLengthDelimited);
    key = kv.ReadBytes();
    // The walk stops here; ReadMessage skips the rest of the message.
  });
  CHECK(key == "key");
  ExpectField(r, 2, WireType::kVarint);
  CHECK(r.ok());

  // A malformed field the walk never reaches still fails the reader, at its own position.
  const std::string bad_inner = Field(1, "key") + Tag(3, 0) + "\xFF";
  const std::string bad = Field(9, bad_inner) + VarintField(2, 1);
  WireReader b(bad);
  ExpectField(b, 9, WireType::kLengthDelimited);
  b.ReadMessage([](WireReader&) {});
  CHECK_FALSE(b.ok());
  CHECK(std::string(b.error()) == "a varint cut short");
  CHECK(b.error_position() == bad.data() + 2 + 5 + 1);
  CHECK(AtEnd(b));
}

TEST_CASE("WireReader: Rewind starts a second pass; a failed reader stays failed") {
  const std::string bytes = VarintField(2, 5) + VarintField(1, 6);
  WireReader r(bytes);
  uint32_t field = 0;
  WireType type{};
  for (int pass = 0; pass < 2; ++pass) {
    std::vector<uint64_t> values;
    while (r.NextField(&field, &type)) values.push_back(r.ReadVarint());
    CHECK(values == std::vector<uint64_t>{5, 6});
    r.Rewind();
  }
  const std::string bad = VarintField(2, 5) + Tag(0, 0);
  WireReader failed(bad);
  while (failed.NextField(&field, &type)) failed.Skip(type);
  REQUIRE_FALSE(failed.ok());
  failed.Rewind();
  CHECK_FALSE(failed.NextField(&field, &type));
  CHECK_FALSE(failed.ok());
}

}  // namespace
}  // namespace llm_exporter::otlp
