// Appends protobuf wire-format fields to a string, for the protobuf exposition: the writing
// counterpart of otlp/wire_reader.h, so /metrics needs no generated classes and no libprotobuf.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace llm_exporter::expose {

// Appends fields to a string it does not own, in the order they are called. An embedded message
// is written in place: Open() appends its tag and a one-byte length, Close() puts in the real
// length, moving the message's bytes up when the length needs more than one byte. Most of the
// exposition's messages (labels, exemplars, timestamps, buckets) are under 128 bytes and never
// move; sizing each one before writing it would walk everything twice. Not thread-safe; holds
// only the pointer, so it is free to make.
class WireWriter {
 public:
  enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2 };

  explicit WireWriter(std::string* out) : out_(out) {}

  void Varint(uint32_t field, uint64_t value) {
    char buffer[kMaxVarint * 2];
    std::size_t n = PutVarint(buffer, Tag(field, kVarint));
    n += PutVarint(buffer + n, value);
    out_->append(buffer, n);
  }
  // An int32/int64 field: negative values take ten bytes, as protobuf encodes them.
  void Int64(uint32_t field, int64_t value) { Varint(field, static_cast<uint64_t>(value)); }
  // sint32 and sint64: zigzag, so small negative values stay short.
  void Sint64(uint32_t field, int64_t value) {
    Varint(field, (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63));
  }
  void Sint32(uint32_t field, int32_t value) {
    Varint(field, (static_cast<uint32_t>(value) << 1) ^ static_cast<uint32_t>(value >> 31));
  }
  void Double(uint32_t field, double value) {
    char buffer[kMaxVarint + 8];
    const std::size_t n = PutVarint(buffer, Tag(field, kFixed64));
    std::memcpy(buffer + n, &value, 8);  // little-endian on the wire and on every target built for
    out_->append(buffer, n + 8);
  }
  // A string or bytes field.
  void Bytes(uint32_t field, std::string_view value) {
    char buffer[kMaxVarint * 2];
    std::size_t n = PutVarint(buffer, Tag(field, kLengthDelimited));
    n += PutVarint(buffer + n, value.size());
    out_->append(buffer, n).append(value);
  }

  // Starts an embedded message in `field`; what is written until Close(mark) is its content.
  // Messages nest: close the innermost first.
  std::size_t Open(uint32_t field) {
    char buffer[kMaxVarint + 1];
    const std::size_t n = PutVarint(buffer, Tag(field, kLengthDelimited));
    buffer[n] = 0;
    out_->append(buffer, n + 1);
    return out_->size() - 1;
  }
  // Starts a message that is preceded by its length alone, with no tag: one entry of a
  // length-delimited stream (protobuf's "delimited" format).
  std::size_t OpenDelimited() {
    out_->push_back(0);
    return out_->size() - 1;
  }
  void Close(std::size_t mark) {
    const std::size_t length = out_->size() - mark - 1;
    if (length < 0x80) {
      (*out_)[mark] = static_cast<char>(length);
      return;
    }
    CloseLong(mark, length);
  }
  // Appends `value` as a varint.
  static void AppendVarint(std::string* out, uint64_t value) {
    char buffer[kMaxVarint];
    out->append(buffer, PutVarint(buffer, value));
  }

 private:
  static constexpr std::size_t kMaxVarint = 10;

  static uint64_t Tag(uint32_t field, WireType type) {
    return (static_cast<uint64_t>(field) << 3) | type;
  }
  static std::size_t PutVarint(char* buffer, uint64_t value) {
    std::size_t n = 0;
    while (value >= 0x80) {
      buffer[n++] = static_cast<char>(value | 0x80);
      value >>= 7;
    }
    buffer[n++] = static_cast<char>(value);
    return n;
  }
  // Close() for a message of 128 bytes or more: its length takes more than the one byte kept.
  void CloseLong(std::size_t mark, std::size_t length);

  std::string* out_;
};

}  // namespace llm_exporter::expose
