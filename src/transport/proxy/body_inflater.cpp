#include "transport/proxy/body_inflater.h"

#include <zlib.h>

#include <algorithm>
#include <array>

namespace llm_exporter::transport::proxy {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool Is(std::string_view value, std::string_view coding) {
  return value.size() == coding.size() &&
         std::equal(value.begin(), value.end(), coding.begin(), [](char a, char b) {
           return (a >= 'A' && a <= 'Z' ? a + 32 : a) == b;
         });
}

}  // namespace

ContentCoding CodingOf(std::string_view content_encoding) {
  const std::string_view value = Trim(content_encoding);
  if (value.empty() || Is(value, "identity")) return ContentCoding::kIdentity;
  if (Is(value, "gzip") || Is(value, "x-gzip")) return ContentCoding::kGzip;
  if (Is(value, "deflate")) return ContentCoding::kDeflate;
  return ContentCoding::kOther;
}

BodyInflater::BodyInflater(ContentCoding coding)
    : coding_(coding), stream_(std::make_unique<z_stream_s>()) {}

BodyInflater::~BodyInflater() {
  if (started_) inflateEnd(stream_.get());
}

bool BodyInflater::Start(std::string_view first) {
  int window_bits = 15 + 16;  // gzip
  if (coding_ == ContentCoding::kDeflate) {
    // HTTP's "deflate" is the zlib format (RFC 9110 8.4.1.2), but some servers send raw deflate
    // data: a zlib stream opens with a header whose two bytes, read as a number, are a multiple
    // of 31 and name method 8.
    const bool zlib = first.size() >= 2 && (static_cast<unsigned char>(first[0]) & 0x0F) == 8 &&
                      ((static_cast<unsigned>(static_cast<unsigned char>(first[0])) << 8) |
                       static_cast<unsigned char>(first[1])) % 31 == 0;
    window_bits = zlib ? 15 : -15;
  }
  if (inflateInit2(stream_.get(), window_bits) != Z_OK) return false;
  started_ = true;
  return true;
}

bool BodyInflater::Inflate(std::string_view in, std::string* out, std::size_t limit) {
  if (failed_) return false;
  if (in.empty()) return true;
  if (!started_) {
    // Deflate's format is told by its first two bytes: one byte alone waits for the next.
    if (coding_ == ContentCoding::kDeflate && first_.size() + in.size() < 2) {
      first_.append(in);
      return true;
    }
    if (!first_.empty()) {
      first_.append(in);
      in = first_;
    }
    if (!Start(in)) {
      failed_ = true;
      return false;
    }
  }
  z_stream_s& z = *stream_;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  std::array<char, 16 * 1024> buffer;
  while (true) {
    z.next_out = reinterpret_cast<Bytef*>(buffer.data());
    z.avail_out = static_cast<uInt>(buffer.size());
    const int rc = inflate(&z, Z_NO_FLUSH);
    const std::size_t produced = buffer.size() - z.avail_out;
    if (out->size() + produced > limit) break;
    out->append(buffer.data(), produced);
    if (rc == Z_STREAM_END) {
      // gzip allows several members one after another; anything after a deflate stream's end
      // is ignored.
      if (coding_ != ContentCoding::kGzip || z.avail_in == 0) return true;
      if (inflateReset(&z) != Z_OK) break;
      continue;
    }
    if (rc == Z_BUF_ERROR) return true;  // no progress without more input
    if (rc != Z_OK) break;
    if (z.avail_in == 0 && z.avail_out != 0) return true;  // all in, all out
  }
  failed_ = true;
  return false;
}

}  // namespace llm_exporter::transport::proxy
