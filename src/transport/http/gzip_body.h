// Undoes Content-Encoding: gzip on a request body, with a bound on the size it inflates to, so
// that a small body cannot expand into gigabytes (a gzip bomb).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace llm_exporter::transport {

enum class Gunzipped { kOk, kTooLarge, kCorrupt };

// Inflates the gzip stream `in` (one or more members) into *out, stopping with kTooLarge as soon
// as the output would exceed `limit` bytes. On kCorrupt, *error says what zlib reported.
Gunzipped Gunzip(std::string_view in, std::size_t limit, std::string* out, std::string* error);

}  // namespace llm_exporter::transport
