#include "otlp/span_decoder.h"

#include "otlp/json_span_decoder.h"
#include "otlp/protobuf_span_decoder.h"
#include "otlp/span_collector.h"

namespace llm_exporter::otlp {
namespace {

// The span, attribute and event vectors are freed when they grew past this, at the start of the
// request after the one that grew them (until then the spans of that request point into them).
constexpr std::size_t kMaxRetainedVectorBytes = std::size_t{1} << 20;

}  // namespace

struct SpanDecoder::Impl {
  explicit Impl(const SpanDecodeLimits& limits) : collector(limits) {}
  SpanCollector collector;
  ProtobufSpanDecoder protobuf;
  JsonSpanDecoder json;
};

SpanDecoder::SpanDecoder(SpanDecodeLimits limits) : impl_(std::make_unique<Impl>(limits)) {}
SpanDecoder::~SpanDecoder() = default;

const DecodedSpans& SpanDecoder::Decode(SpanEncoding encoding, std::string_view body) {
  SpanCollector& collector = impl_->collector;
  collector.Reset();
  collector.ReleaseIfOver(kMaxRetainedVectorBytes);
  switch (encoding) {
    case SpanEncoding::kProtobuf:
      impl_->protobuf.Decode(body, collector);
      break;
    case SpanEncoding::kJson:
      impl_->json.Decode(body, collector);
      break;
  }
  return collector.Finish();
}

std::size_t SpanDecoder::retained_bytes() const {
  return impl_->collector.retained_bytes() + impl_->json.retained_bytes();
}

}  // namespace llm_exporter::otlp
