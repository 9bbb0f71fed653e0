#include "transport/proxy/body_inflater.h"

#include <doctest/doctest.h>
#include <zlib.h>

#include <string>

namespace llm_exporter::transport::proxy {
namespace {

// `window_bits`: 16 + 15 gzip, 15 zlib, -15 raw deflate.
std::string Compressed(std::string_view data, int window_bits) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&z, data.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// Inflates `compressed` fed `piece` bytes at a time.
std::string InflateInPieces(ContentCoding coding, std::string_view compressed, std::size_t piece,
                            std::size_t limit = 1 << 20, bool* ok = nullptr) {
  BodyInflater inflater(coding);
  std::string out;
  bool all_ok = true;
  for (std::size_t at = 0; at < compressed.size(); at += piece) {
    all_ok = inflater.Inflate(compressed.substr(at, piece), &out, limit) && all_ok;
  }
  if (ok != nullptr) *ok = all_ok;
  return out;
}

TEST_CASE("CodingOf: the codings the meter reads") {
  CHECK(CodingOf("") == ContentCoding::kIdentity);
  CHECK(CodingOf("identity") == ContentCoding::kIdentity);
  CHECK(CodingOf(" GZIP ") == ContentCoding::kGzip);
  CHECK(CodingOf("x-gzip") == ContentCoding::kGzip);
  CHECK(CodingOf("deflate") == ContentCoding::kDeflate);
  CHECK(CodingOf("br") == ContentCoding::kOther);
  CHECK(CodingOf("gzip, br") == ContentCoding::kOther);
}

TEST_CASE("BodyInflater: gzip, zlib and raw deflate, fed whole or a byte at a time") {
  std::string body;
  for (int i = 0; i < 2000; ++i) body += "data: {\"n\":" + std::to_string(i) + "}\n\n";
  const std::string gzip = Compressed(body, 16 + 15);
  const std::string zlib = Compressed(body, 15);
  const std::string raw = Compressed(body, -15);
  for (const std::size_t piece : {std::size_t{1}, std::size_t{7}, std::size_t{1} << 20}) {
    CHECK(InflateInPieces(ContentCoding::kGzip, gzip, piece) == body);
    CHECK(InflateInPieces(ContentCoding::kDeflate, zlib, piece) == body);
    CHECK(InflateInPieces(ContentCoding::kDeflate, raw, piece) == body);
  }
  // Two gzip members one after the other.
  CHECK(InflateInPieces(ContentCoding::kGzip, Compressed("ab", 31) + Compressed("cd", 31), 3) ==
        "abcd");
}

TEST_CASE("BodyInflater: stops at the limit and at corrupt data") {
  const std::string body(10'000, 'a');
  bool ok = true;
  CHECK(InflateInPieces(ContentCoding::kGzip, Compressed(body, 31), 100, 10'000, &ok) == body);
  CHECK(ok);
  const std::string cut = InflateInPieces(ContentCoding::kGzip, Compressed(body, 31), 100, 9'999, &ok);
  CHECK_FALSE(ok);
  CHECK(cut.size() <= 9'999);
  InflateInPieces(ContentCoding::kGzip, "not gzip at all", 100, 1 << 20, &ok);
  CHECK_FALSE(ok);
}

}  // namespace
}  // namespace llm_exporter::transport::proxy
