// Byte-level work on JSON text that runs before, or instead of, a full parse: repairing invalid
// UTF-8 so a bad label can be blamed on its event and field, and framing arrays and NDJSON.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace llm_exporter::decode {

// What SanitizeUtf8 puts in place of bad text: U+FFFF, a noncharacter no real label contains.
inline constexpr std::string_view kInvalidTextMarker = "\xEF\xBF\xBF";

// Copies `text`, replacing each byte that does not start valid UTF-8 with kInvalidTextMarker and
// each \u escape that is a lone UTF-16 surrogate with \uFFFF. Returns the count of replacements.
std::size_t SanitizeUtf8(std::string_view text, std::string* out);

// Splits a JSON array's top-level elements (each trimmed of white space) without parsing them.
// False when strings or brackets do not balance, or text follows the closing bracket.
bool SplitArrayElements(std::string_view array_text, std::vector<std::string_view>* elements);

// True when the first line of `body` is a complete one-line object and more lines follow.
bool LooksLikeNdjson(std::string_view body);

// A number-like token in an object's text, and the top-level field whose value holds it.
struct NumberToken {
  std::string_view field;  // the key as written between its quotes; empty outside any field
  std::string_view token;  // e.g. "1e400", "-Infinity", "01"
  bool direct = false;     // the token is the field's value itself, not nested inside it
};

// Scans `object_text` (an object that failed to parse, so possibly malformed) for tokens that
// start like a number ('-' or a digit, outside strings), in order, and returns true with *found
// set at the first one `wanted` accepts. Linear in the text; never recurses.
bool FindNumberToken(std::string_view object_text,
                     const std::function<bool(std::string_view token)>& wanted,
                     NumberToken* found);

// `text` without leading and trailing JSON white space (space, tab, CR, LF).
std::string_view TrimJsonSpace(std::string_view text);

// `text` as an error message quotes it: at most its first 40 bytes, then "..." (a value may be
// megabytes long).
std::string ShortForMessage(std::string_view text);

}  // namespace llm_exporter::decode
