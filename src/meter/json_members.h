// Byte positions of an object's members in JSON text, so that the meter can change one member
// (add stream_options.include_usage, remove "usage":null) and keep every other byte as it came.
// Internal to the meter: the text is parsed by simdjson first, which has already checked it.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace llm_exporter::meter {

struct JsonMember {
  std::size_t key_begin = 0;    // the key's opening quote
  std::size_t key_end = 0;      // just past its closing quote
  std::size_t value_begin = 0;  // the value's first byte
  std::size_t value_end = 0;    // just past its last byte
};

// Reads the members of the object whose '{' is at text[open]; *close receives the position of
// its '}'. False when the text there is not a well-formed object (it then says nothing more).
// Thread-safe (pure).
bool ReadObjectMembers(std::string_view text, std::size_t open, std::vector<JsonMember>* members,
                       std::size_t* close);

// The position of the first byte of `text` that is not JSON whitespace (text.size() if none).
std::size_t SkipJsonWhitespace(std::string_view text, std::size_t from);

// Whether the member's key, once unescaped, is `name` (an ASCII name; "\u0075sage" is "usage").
bool KeyEquals(std::string_view text, const JsonMember& member, std::string_view name);

}  // namespace llm_exporter::meter
