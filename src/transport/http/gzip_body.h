// Undoes Content-Encoding: gzip on a request body, with a bound on the size it inflates to, so
// that a small body cannot expand into gigabytes (a gzip bomb); and gzips a response body.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace llm_exporter::transport {

enum class Gunzipped { kOk, kTooLarge, kCorrupt };

// Inflates the gzip stream `in` (one or more members) into *out, stopping with kTooLarge as soon
// as the output would exceed `limit` bytes. On kCorrupt, *error says what zlib reported.
Gunzipped Gunzip(std::string_view in, std::size_t limit, std::string* out, std::string* error);

// Compresses `in` into *out as one gzip member at zlib's `level` (1 fastest to 9 smallest, 0
// stored, -1 zlib's default of 6). Replaces what *out held, reusing its capacity: a caller that
// keeps the string from one response to the next allocates nothing once it is large enough.
// False, and *out empty, only if zlib refuses the level or runs out of memory.
bool Gzip(std::string_view in, int level, std::string* out);

}  // namespace llm_exporter::transport
