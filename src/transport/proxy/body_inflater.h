// Inflating a compressed answer on the side, as it streams through, for the meter only: the
// client gets the bytes as the upstream sent them.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

struct z_stream_s;

namespace llm_exporter::transport::proxy {

// The codings the proxy lets upstreams use (Accept-Encoding is narrowed to them); kOther: one the
// meter cannot read, relayed unmetered.
enum class ContentCoding : uint8_t { kIdentity, kGzip, kDeflate, kOther };

// From a Content-Encoding value ("" or "identity": kIdentity; one coding only, else kOther).
ContentCoding CodingOf(std::string_view content_encoding);

// One answer body's inflation. Used by one thread.
class BodyInflater {
 public:
  explicit BodyInflater(ContentCoding coding);  // kGzip or kDeflate
  ~BodyInflater();
  BodyInflater(const BodyInflater&) = delete;
  BodyInflater& operator=(const BodyInflater&) = delete;

  // Appends what `in` inflates to to *out, never letting *out grow past `limit`. False once the
  // data is corrupt or *out would pass the limit; nothing more is inflated after that.
  bool Inflate(std::string_view in, std::string* out, std::size_t limit);

 private:
  bool Start(std::string_view first);

  ContentCoding coding_;
  std::unique_ptr<z_stream_s> stream_;
  std::string first_;  // a deflate body's first byte, until the second comes
  bool started_ = false;
  bool failed_ = false;
};

}  // namespace llm_exporter::transport::proxy
