#include "otlp/wire_reader.h"

namespace llm_exporter::otlp {

void WireReader::Fail(const char* error, const char* position) {
  if (error_ == nullptr) {
    error_ = error;
    error_position_ = position;
  }
  pos_ = end_;
}

bool WireReader::ReadVarintUpTo(int max_bytes, uint64_t* value, const char* cut_short,
                                const char* too_long) {
  const char* const start = pos_;
  *value = 0;
  int i = 0;
  for (; i < max_bytes && pos_ != end_; ++i) {
    const auto byte = static_cast<unsigned char>(*pos_++);
    *value |= static_cast<uint64_t>(byte & 0x7F) << (7 * i);
    if (byte < 0x80) return true;
  }
  *value = 0;
  Fail(i < max_bytes ? cut_short : too_long, start);
  return false;
}

// A tag is a varint of at most 5 bytes, kept modulo 2^32 (protobuf's ReadTag).
bool WireReader::ReadTagSlow(uint32_t* tag) {
  uint64_t value;
  if (!ReadVarintUpTo(5, &value, "a tag cut short", "a tag longer than 5 bytes")) return false;
  *tag = static_cast<uint32_t>(value);
  return true;
}

bool WireReader::StopAt(uint32_t wire_type, const char* tag_position) {
  if (wire_type == 4 && field_number_ == open_group_ && open_group_ != 0) {
    open_group_ = 0;  // SkipGroup() sees that its group was closed
    return false;
  }
  Fail(field_number_ == 0 ? "field number 0"
       : wire_type != 4   ? "wire type 6 or 7, which protobuf does not define"
       : open_group_ == 0 ? "an end-group tag without a start-group"
                          : "an end-group tag that does not match its start-group",
       tag_position);
  return false;
}

// Up to 10 bytes, the last one's bits past the 64th dropped (protobuf's VarintParse).
uint64_t WireReader::ReadVarintSlow() {
  uint64_t value;
  ReadVarintUpTo(10, &value, "a varint cut short", "a varint longer than 10 bytes");
  return value;
}

// A length is a varint of at most 5 bytes below 2^31 (protobuf's ReadSize).
std::size_t WireReader::ReadLengthSlow() {
  const char* const start = pos_;
  uint64_t value;
  if (!ReadVarintUpTo(5, &value, "a length cut short", "a length longer than 5 bytes")) return 0;
  if (value >= (uint64_t{1} << 31)) {
    Fail("a length of 2 GiB or more", start);
    return 0;
  }
  return value;
}

void WireReader::Skip(WireType wire_type) {
  switch (wire_type) {
    case WireType::kVarint: ReadVarint(); return;
    case WireType::kFixed64: ReadFixed64(); return;
    case WireType::kLengthDelimited: ReadBytes(); return;
    case WireType::kStartGroup: SkipGroup(); return;
    case WireType::kFixed32:
      if (left() < 4) return Fail("a fixed32 field cut short", pos_);
      pos_ += 4;
      return;
    case WireType::kEndGroup: break;
  }
  Fail("an end-group tag without a start-group", pos_);
}

// protobuf parses the fields of an unknown group one by one, so they must be well-formed too,
// and counts the group as a level of nesting.
void WireReader::SkipGroup() {
  const char* const start = pos_;
  if (depth_ >= kMaxDepth) return Fail("groups nested more than 100 levels deep", start);
  const uint32_t enclosing = open_group_;
  open_group_ = field_number_;
  ++depth_;
  uint32_t field_number = 0;
  WireType wire_type = WireType::kVarint;
  while (NextField(&field_number, &wire_type)) Skip(wire_type);
  if (open_group_ != 0) Fail("a group without its end-group tag", start);
  open_group_ = enclosing;
  --depth_;
}

}  // namespace llm_exporter::otlp
