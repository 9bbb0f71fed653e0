// Writing protobuf wire format by hand, for tests that need bytes the generated classes never
// write: unknown fields, groups, wrong wire types, over-long encodings, truncations.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace llm_exporter::otlp::testing {

inline void AppendVarint(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}
inline std::string Varint(uint64_t value) {
  std::string out;
  AppendVarint(value, &out);
  return out;
}
inline std::size_t VarintSize(uint64_t value) { return Varint(value).size(); }

// A tag: field number and wire type (0 varint, 1 fixed64, 2 length-delimited, 3 start group,
// 4 end group, 5 fixed32).
inline std::string Tag(uint32_t number, uint32_t wire_type) {
  return Varint(uint64_t{number} << 3 | wire_type);
}
// A length-delimited field: tag, length, bytes.
inline std::string Field(uint32_t number, std::string_view bytes) {
  return Tag(number, 2) + Varint(bytes.size()) + std::string(bytes);
}
inline std::string VarintField(uint32_t number, uint64_t value) {
  return Tag(number, 0) + Varint(value);
}
// A fixed64 field, little-endian.
inline std::string Fixed64Field(uint32_t number, uint64_t value) {
  std::string out = Tag(number, 1);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(value >> (8 * i)));
  return out;
}

}  // namespace llm_exporter::otlp::testing
