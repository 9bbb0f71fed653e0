// Text checks shared by the span decoders and the export response: UTF-8 validation with a fast
// path for the short ASCII strings most attributes are, and quoting of untrusted names inside
// error messages.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace llm_exporter::otlp {

// RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(std::string_view text);

// `text` (valid UTF-8) in double quotes for an error message: ", \ and control characters
// escaped, and cut after `max_bytes` bytes (on a character boundary) with "..." appended, so a
// hostile attribute key cannot make a message unbounded or break the line it is logged on.
std::string QuotedForMessage(std::string_view text, std::size_t max_bytes = 64);

// Appends `text` to `out` with every invalid UTF-8 sequence replaced by U+FFFD.
void AppendRepairedUtf8(std::string_view text, std::string* out);

}  // namespace llm_exporter::otlp
