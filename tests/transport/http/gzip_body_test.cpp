#include "transport/http/gzip_body.h"

#include <doctest/doctest.h>
#include <zlib.h>

#include <string>

namespace llm_exporter::transport {
namespace {

// Compressed by zlib directly, for Gunzip to read.
std::string Compressed(std::string_view data) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 9,
                       Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&z, data.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

TEST_CASE("Gunzip: inflates a body, and concatenated gzip members") {
  std::string out, error;
  const std::string body = "{\"resourceSpans\":[]}";
  CHECK(Gunzip(Compressed(body), 1 << 20, &out, &error) == Gunzipped::kOk);
  CHECK(out == body);
  CHECK(Gunzip(Compressed("abc") + Compressed("def"), 1 << 20, &out, &error) == Gunzipped::kOk);
  CHECK(out == "abcdef");
  CHECK(Gunzip(Compressed(""), 1 << 20, &out, &error) == Gunzipped::kOk);
  CHECK(out.empty());
}

TEST_CASE("Gunzip: a body that inflates to exactly the limit passes; one byte more does not") {
  const std::string body(100'000, 'a');
  std::string out, error;
  CHECK(Gunzip(Compressed(body), 100'000, &out, &error) == Gunzipped::kOk);
  CHECK(out.size() == 100'000);
  CHECK(Gunzip(Compressed(body), 99'999, &out, &error) == Gunzipped::kTooLarge);
}

TEST_CASE("Gunzip: a gzip bomb stops at the limit without inflating it all") {
  // 1 GiB of zeros compresses to about 1 MiB; only limit + 1 bytes are ever held.
  const std::string chunk(1 << 20, '\0');
  std::string bomb;
  {
    z_stream z{};
    REQUIRE(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY) == Z_OK);
    std::string buf(1 << 16, '\0');
    for (int i = 0; i < 1024; ++i) {
      z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(chunk.data()));
      z.avail_in = static_cast<uInt>(chunk.size());
      const int flush = i == 1023 ? Z_FINISH : Z_NO_FLUSH;
      do {
        z.next_out = reinterpret_cast<Bytef*>(buf.data());
        z.avail_out = static_cast<uInt>(buf.size());
        deflate(&z, flush);
        bomb.append(buf.data(), buf.size() - z.avail_out);
      } while (z.avail_out == 0);
    }
    deflateEnd(&z);
  }
  CHECK(bomb.size() < (2u << 20));
  std::string out, error;
  CHECK(Gunzip(bomb, 16u << 20, &out, &error) == Gunzipped::kTooLarge);
  CHECK(out.capacity() <= (16u << 20) + 1 + 64);
}

TEST_CASE("Gunzip: corrupt and truncated streams are refused with zlib's reason") {
  std::string out, error;
  CHECK(Gunzip("not gzip at all", 1 << 20, &out, &error) == Gunzipped::kCorrupt);
  CHECK(error == "gzip: incorrect header check");
  const std::string full = Compressed(std::string(10'000, 'x'));
  error.clear();
  CHECK(Gunzip(std::string_view(full).substr(0, full.size() / 2), 1 << 20, &out, &error) ==
        Gunzipped::kCorrupt);
  CHECK(error == "the gzip stream is truncated");
  std::string flipped = Compressed("hello hello hello");
  flipped[flipped.size() - 5] ^= 0x55;  // the CRC
  error.clear();
  CHECK(Gunzip(flipped, 1 << 20, &out, &error) == Gunzipped::kCorrupt);
  CHECK(error == "gzip: incorrect data check");
}

TEST_CASE("Gzip: round trips through Gunzip at every level, the empty body included") {
  std::string text;
  for (int i = 0; i < 20'000; ++i) {
    text += "llm_tokens_total{model=\"m" + std::to_string(i % 37) + "\"} " + std::to_string(i);
    text += '\n';
  }
  std::string zipped, back, error;
  for (const int level : {-1, 0, 1, 6, 9}) {
    CAPTURE(level);
    REQUIRE(Gzip(text, level, &zipped));
    CHECK(zipped.substr(0, 3) == "\x1f\x8b\x08");  // gzip magic, deflate
    CHECK(Gunzip(zipped, text.size(), &back, &error) == Gunzipped::kOk);
    CHECK(back == text);
    if (level != 0) CHECK(zipped.size() < text.size() / 4);
  }
  REQUIRE(Gzip("", 6, &zipped));
  CHECK(zipped.size() == 20);  // header (10 bytes), an empty final block (2), CRC and size (8)
  CHECK(Gunzip(zipped, 0, &back, &error) == Gunzipped::kOk);
  CHECK(back.empty());
}

TEST_CASE("Gzip: replaces the output and keeps its buffer") {
  std::string zipped = "left over";
  zipped.reserve(1 << 16);
  const char* const buffer = zipped.data();
  REQUIRE(Gzip(std::string(10'000, 'a'), 6, &zipped));
  CHECK(zipped.data() == buffer);
  std::string back, error;
  CHECK(Gunzip(zipped, 1 << 20, &back, &error) == Gunzipped::kOk);
  CHECK(back == std::string(10'000, 'a'));
}

TEST_CASE("Gzip: a level zlib does not know is refused, the output left empty") {
  std::string zipped = "left over";
  CHECK_FALSE(Gzip("abc", 10, &zipped));
  CHECK(zipped.empty());
  CHECK_FALSE(Gzip("abc", -2, &zipped));
}

}  // namespace
}  // namespace llm_exporter::transport
