// A cursor over the protobuf wire format, for walking a message in place without the generated
// classes: scalars are decoded where they lie and bytes fields come back as views into the input.
// It accepts and refuses exactly the encodings that protobuf 3.21's parser does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace llm_exporter::otlp {

// Reads the fields of one message in wire order: NextField(), then one read that matches the
// field's wire type (ReadVarint, ReadFixed64, ReadBytes, ReadMessage) or Skip(). The first
// malformed field (cut short, a length past the end of the message, a varint over 10 bytes, field
// number 0, wire type 6 or 7, an end-group tag that does not close its group, nesting deeper than
// protobuf's limit of 100) stops the reader: NextField() returns false from then on, reads return
// zero or empty views, and error() says what was wrong and where. Unknown fields of every wire
// type are skipped as protobuf skips them, groups included. Holds only views into the input.
// Not thread-safe; cheap to copy.
class WireReader {
 public:
  enum class WireType : uint8_t {
    kVarint = 0,
    kFixed64 = 1,
    kLengthDelimited = 2,
    kStartGroup = 3,
    kEndGroup = 4,
    kFixed32 = 5,
  };

  // Messages and groups nested deeper than this below the outermost message are refused
  // (io::CodedInputStream's default recursion limit).
  static constexpr int kMaxDepth = 100;

  explicit WireReader(std::string_view message) : WireReader(message, 0) {}

  // Moves to the next field; false at the end of the message or once the reader has failed.
  bool NextField(uint32_t* field_number, WireType* wire_type);

  // The value of the field NextField() just returned, which must have the matching wire type.
  // A varint of up to 10 bytes; bits past the 64th are dropped, as protobuf drops them.
  uint64_t ReadVarint();
  uint64_t ReadFixed64();
  std::string_view ReadBytes();

  // Walks the embedded message the length-delimited field holds with walk(WireReader&), one
  // nesting level deeper; whatever fields the walk leaves unread are skipped, and a malformed
  // field inside the message fails this reader too.
  template <typename Walk>
  void ReadMessage(Walk&& walk);

  // Skips the value of the field NextField() just returned; for a group, up to and including
  // the end-group tag with the same field number.
  void Skip(WireType wire_type);

  // Starts over at the first field, for a second pass over the message; a failed reader stays
  // failed.
  void Rewind() {
    if (ok()) pos_ = begin_;
  }

  bool ok() const { return error_ == nullptr; }
  // What made the reader fail, e.g. "a length runs past the end of its message"; null if none.
  const char* error() const { return error_; }
  // Where in the input the malformed tag, length or value starts.
  const char* error_position() const { return error_position_; }

 private:
  WireReader(std::string_view message, int depth)
      : begin_(message.data()), pos_(begin_), end_(begin_ + message.size()), depth_(depth) {}

  std::size_t left() const { return static_cast<std::size_t>(end_ - pos_); }
  // Records the first error and moves to the end, so every loop over the fields stops.
  void Fail(const char* error, const char* position);
  // A varint of at most `max_bytes` bytes, bits past the 64th dropped; 0 and false, the reader
  // failed with `cut_short` or `too_long`, if it is not one.
  bool ReadVarintUpTo(int max_bytes, uint64_t* value, const char* cut_short, const char* too_long);
  bool ReadTagSlow(uint32_t* tag);
  // NextField's answer to a tag that starts no field: the end-group tag of the group being
  // skipped closes it; any other end-group tag, field number 0, and wire types 6 and 7 are
  // malformed. False either way.
  bool StopAt(uint32_t wire_type, const char* tag_position);
  uint64_t ReadVarintSlow();
  std::size_t ReadLengthSlow();
  void SkipGroup();

  const char* begin_;
  const char* pos_;
  const char* end_;
  int depth_;                  // nesting level of this message: 0 for the outermost
  uint32_t field_number_ = 0;  // of the last tag read, to match a group's end
  uint32_t open_group_ = 0;    // the field number of the group being skipped, 0 outside one
  const char* error_ = nullptr;
  const char* error_position_ = nullptr;
};

inline bool WireReader::NextField(uint32_t* field_number, WireType* wire_type) {
  if (pos_ == end_) return false;
  const char* const start = pos_;
  uint32_t tag;
  const auto first = static_cast<unsigned char>(*pos_);
  if (first < 0x80) {
    tag = first;
    ++pos_;
  } else if (!ReadTagSlow(&tag)) {
    return false;
  }
  field_number_ = tag >> 3;
  const uint32_t type = tag & 7;
  if (field_number_ == 0 || type == 4 || type > 5) return StopAt(type, start);
  *field_number = field_number_;
  *wire_type = static_cast<WireType>(type);
  return true;
}

inline uint64_t WireReader::ReadVarint() {
  if (pos_ != end_ && static_cast<unsigned char>(*pos_) < 0x80) {
    return static_cast<unsigned char>(*pos_++);
  }
  return ReadVarintSlow();
}

inline uint64_t WireReader::ReadFixed64() {
  if (left() < 8) {
    Fail("a fixed64 field cut short", pos_);
    return 0;
  }
  uint64_t value;
  std::memcpy(&value, pos_, 8);  // little-endian on the wire and on every target built for
  pos_ += 8;
  return value;
}

inline std::string_view WireReader::ReadBytes() {
  const char* const start = pos_;
  std::size_t length;
  if (pos_ != end_ && static_cast<unsigned char>(*pos_) < 0x80) {
    length = static_cast<unsigned char>(*pos_++);
  } else {
    length = ReadLengthSlow();
  }
  if (length > left()) {
    Fail("a length runs past the end of its message", start);
    return {};
  }
  const std::string_view bytes(pos_, length);
  pos_ += length;
  return bytes;
}

template <typename Walk>
void WireReader::ReadMessage(Walk&& walk) {
  const std::string_view bytes = ReadBytes();
  if (!ok()) return;
  if (depth_ >= kMaxDepth) return Fail("messages nested more than 100 levels deep", bytes.data());
  WireReader message(bytes, depth_ + 1);
  walk(message);
  uint32_t field_number = 0;
  WireType wire_type = WireType::kVarint;
  while (message.NextField(&field_number, &wire_type)) message.Skip(wire_type);
  if (!message.ok()) Fail(message.error_, message.error_position_);
}

}  // namespace llm_exporter::otlp
