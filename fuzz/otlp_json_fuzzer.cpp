// Fuzzes the OTLP/JSON span decoder: it must never crash (nesting thousands deep included),
// refuse a body that is not JSON, account for every element of every spans array once, hand on
// only valid UTF-8 within the limits, and give the same result however often the decoder is
// reused, whatever encoding it decoded in between.
#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "otlp/span_decoder.h"
#include "otlp_fuzz_support.h"

namespace {

using llm_exporter::SpanEncoding;
using llm_exporter::fuzz::Require;
using llm_exporter::otlp::DecodedSpans;
using llm_exporter::otlp::SpanDecodeLimits;
using llm_exporter::otlp::SpanDecoder;
using simdjson::dom::element;

// The last member named `a` or `b` of `object`, or a null-typed result when there is none.
bool LastMember(const simdjson::dom::object& object, std::string_view a, std::string_view b,
                element* out) {
  bool found = false;
  for (const auto field : object) {
    if (field.key == a || field.key == b) {
      *out = field.value;
      found = true;
    }
  }
  return found && !out->is_null();
}

// The spans of an accepted body, counted from the document by the OTLP/JSON layout alone.
std::size_t CountSpans(std::string_view body) {
  static simdjson::dom::parser parser;
  element root;
  Require(parser.parse(body.data(), body.size(), true).get(root) == simdjson::SUCCESS,
          "an accepted body is not JSON", body);
  Require(root.is_object(), "an accepted body is not an object", body);
  element all;
  if (!LastMember(root.get_object().value_unsafe(), "resourceSpans", "resource_spans", &all)) {
    return 0;
  }
  Require(all.is_array(), "accepted with resourceSpans not an array", body);
  // Each array in a local: a range-for over value_unsafe() of a temporary would outlive it.
  const simdjson::dom::array resource_spans = all.get_array().value_unsafe();
  std::size_t count = 0;
  for (const element rs : resource_spans) {
    Require(rs.is_object(), "accepted with a resourceSpans element not an object", body);
    element scopes;
    if (!LastMember(rs.get_object().value_unsafe(), "scopeSpans", "scope_spans", &scopes)) continue;
    Require(scopes.is_array(), "accepted with scopeSpans not an array", body);
    const simdjson::dom::array scope_spans = scopes.get_array().value_unsafe();
    for (const element ss : scope_spans) {
      Require(ss.is_object(), "accepted with a scopeSpans element not an object", body);
      element spans;
      if (!LastMember(ss.get_object().value_unsafe(), "spans", "spans", &spans)) continue;
      Require(spans.is_array(), "accepted with spans not an array", body);
      count += spans.get_array().value_unsafe().size();
    }
  }
  return count;
}

void Check(const DecodedSpans& d, const SpanDecodeLimits& limits, std::string_view body) {
  llm_exporter::fuzz::CheckDecoded(d, limits, body, d.ok() ? CountSpans(body) : SIZE_MAX);
}

void CheckOne(std::string_view body) {
  static const SpanDecodeLimits defaults;
  static const SpanDecodeLimits tight = llm_exporter::fuzz::TightSpanLimits();
  static SpanDecoder reused(defaults);

  const DecodedSpans& first = reused.Decode(SpanEncoding::kJson, body);
  Check(first, defaults, body);
  const std::string summary = llm_exporter::fuzz::Summary(first);

  SpanDecoder fresh(defaults);
  Require(llm_exporter::fuzz::Summary(fresh.Decode(SpanEncoding::kJson, body)) == summary,
          "a fresh and a reused decoder differ", body);
  // The same bytes as protobuf in between: no state carries over to the next JSON body.
  llm_exporter::fuzz::CheckDecoded(reused.Decode(SpanEncoding::kProtobuf, body), defaults, body,
                                   SIZE_MAX);
  Require(llm_exporter::fuzz::Summary(reused.Decode(SpanEncoding::kJson, body)) == summary,
          "decoding twice gives different results", body);

  SpanDecoder strict(tight);
  Check(strict.Decode(SpanEncoding::kJson, body), tight, body);
}

}  // namespace

// On a small stack: nesting in the body must not recurse in the decoder.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  llm_exporter::fuzz::RunOnSmallStack([&] { CheckOne(body); });
  return 0;
}
