#include "transport/http/gzip_body.h"

#include <zlib.h>

#include <algorithm>

namespace llm_exporter::transport {

Gunzipped Gunzip(std::string_view in, std::size_t limit, std::string* out, std::string* error) {
  out->clear();
  z_stream z{};
  // 16 + MAX_WBITS: a gzip header and trailer, not zlib's.
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
    *error = "zlib could not start";
    return Gunzipped::kCorrupt;
  }
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(std::min<std::size_t>(in.size(), UINT32_MAX));
  // Start at a few times the compressed size; grow as needed, never past limit + 1 (the extra
  // byte tells "exactly at the limit" from "over it").
  std::size_t capacity = std::min(limit + 1, std::max<std::size_t>(in.size() * 4, 4096));
  out->resize(capacity);
  std::size_t produced = 0;
  Gunzipped result = Gunzipped::kOk;
  for (;;) {
    if (produced == out->size()) {
      if (out->size() > limit) {
        result = Gunzipped::kTooLarge;
        break;
      }
      // A fresh string of exactly the new size: growing in place may round the capacity up
      // to twice the old one, past the limit this function promises to keep to.
      std::string bigger;
      bigger.reserve(std::min(limit + 1, out->size() * 2));
      bigger.assign(out->data(), produced);
      bigger.resize(bigger.capacity());
      out->swap(bigger);
    }
    z.next_out = reinterpret_cast<Bytef*>(out->data() + produced);
    z.avail_out = static_cast<uInt>(std::min<std::size_t>(out->size() - produced, UINT32_MAX));
    const uInt before = z.avail_out;
    const int rc = inflate(&z, Z_NO_FLUSH);
    produced += before - z.avail_out;
    if (produced > limit) {
      result = Gunzipped::kTooLarge;
      break;
    }
    if (rc == Z_STREAM_END) {
      if (z.avail_in == 0) break;
      // Another gzip member follows (concatenated streams are valid gzip).
      if (inflateReset(&z) != Z_OK) {
        *error = "zlib could not read the next gzip member";
        result = Gunzipped::kCorrupt;
        break;
      }
      continue;
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR && z.avail_out == 0) continue;  // out of output space: grow, go on
    if (rc == Z_BUF_ERROR) {  // no progress with room to write: the input ran out
      *error = "the gzip stream is truncated";
      result = Gunzipped::kCorrupt;
      break;
    }
    *error = z.msg != nullptr ? std::string("gzip: ") + z.msg : "gzip: corrupt stream";
    result = Gunzipped::kCorrupt;
    break;
  }
  inflateEnd(&z);
  out->resize(std::min(produced, out->size()));
  return result;
}

bool Gzip(std::string_view in, int level, std::string* out) {
  out->clear();
  z_stream z{};
  // 16 + MAX_WBITS: a gzip header and trailer; 8: zlib's default memory level.
  if (deflateInit2(&z, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return false;
  }
  // deflateBound() is the most the whole input can take, so one deflate() call normally does it
  // all; the loop is for inputs past zlib's 32-bit counts.
  out->resize(deflateBound(&z, in.size()));
  const char* next = in.data();
  std::size_t left = in.size();
  std::size_t produced = 0;
  bool ok = false;
  for (;;) {
    if (produced == out->size()) out->resize(out->size() * 2);
    const auto in_now = static_cast<uInt>(std::min<std::size_t>(left, UINT32_MAX));
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(next));
    z.avail_in = in_now;
    z.next_out = reinterpret_cast<Bytef*>(out->data() + produced);
    z.avail_out = static_cast<uInt>(std::min<std::size_t>(out->size() - produced, UINT32_MAX));
    const uInt out_before = z.avail_out;
    const int rc = deflate(&z, left == in_now ? Z_FINISH : Z_NO_FLUSH);
    next += in_now - z.avail_in;
    left -= in_now - z.avail_in;
    produced += out_before - z.avail_out;
    if (rc == Z_STREAM_END) {
      ok = true;
      break;
    }
    // Z_BUF_ERROR with the output full: the output grows at the top of the loop.
    if (rc != Z_OK && (rc != Z_BUF_ERROR || z.avail_out != 0)) break;
  }
  deflateEnd(&z);
  out->resize(ok ? produced : 0);
  return ok;
}

}  // namespace llm_exporter::transport
