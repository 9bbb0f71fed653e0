// Byte-level work on JSON text that runs before, or instead of, a full parse: repairing invalid
// UTF-8 so a bad label can be blamed on its event and field, and framing arrays and NDJSON.
#pragma once

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

// `text` without leading and trailing JSON white space (space, tab, CR, LF).
std::string_view TrimJsonSpace(std::string_view text);

}  // namespace llm_exporter::decode
