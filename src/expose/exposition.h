// What every exposition writer (text 0.0.4, OpenMetrics 1.0, protobuf) is handed: families,
// samples with an optional exemplar and creation time, and histograms with classic buckets and
// optionally native ones. The renderer walks the store once per scrape and calls one writer.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "aggregate/native_histogram.h"
#include "llm_exporter/metrics_source.h"

namespace llm_exporter::expose {

using llm_exporter::ExpositionFormat;  // llm_exporter/metrics_source.h

struct Label {
  std::string_view name;
  std::string_view value;
};

// A series' labels: a braced list at the call ({{"model", m}, {"endpoint", e}}) or a span.
// A view, used only as a parameter: a braced list's array lives until the call returns.
class LabelList {
 public:
  // Assigned in the body: gcc's -Winit-list-lifetime warns on a member initialized from a list's
  // begin(), yet the list here lives until the end of the call it is written in, as intended.
  LabelList(std::initializer_list<Label> labels) {
    data_ = labels.begin();
    size_ = labels.size();
  }
  LabelList(std::span<const Label> labels) : data_(labels.data()), size_(labels.size()) {}
  const Label* begin() const { return data_; }
  const Label* end() const { return data_ + size_; }
  std::size_t size() const { return size_; }

 private:
  const Label* data_ = nullptr;
  std::size_t size_ = 0;
};

enum class MetricType : uint8_t { kCounter, kGauge, kHistogram };

// The trace behind one observation. Both ids are printable ASCII without space, '"' or '\'
// (aggregate/exemplar.h), so writers copy them unescaped, and fit OpenMetrics' 128-character
// limit on exemplar labels together ("trace_id" and "span_id" included); span_id may be empty,
// and then the exemplar has the trace_id label only.
struct Exemplar {
  std::string_view trace_id;
  std::string_view span_id;
  double value = 0;
  double timestamp = 0;  // Unix time in seconds
};

// What may come with a counter or gauge sample.
struct SampleExtras {
  const Exemplar* exemplar = nullptr;  // counters only
  double created = 0;                  // Unix time the series was created, in seconds; 0: unknown
};

// The classic buckets of a histogram family, shared by all its series.
struct BucketBounds {
  const std::vector<double>& bounds;    // finite and increasing; +Inf is implicit
  const std::vector<std::string>& les;  // each bound as `le` writes it, then "+Inf"
};

// One histogram series.
struct HistogramSample {
  std::span<const uint64_t> counts;  // per bucket, not cumulative; the last is (largest, +Inf]
  double sum = 0;
  // Empty, or one entry per bucket of `counts`, nullptr where a bucket has none.
  std::span<const Exemplar* const> exemplars;
  double created = 0;                                       // as in SampleExtras
  const aggregate::NativeHistogramValue* native = nullptr;  // protobuf writes it; others don't
};

// Each writer appends to a string it does not own, is made once per render and is not
// thread-safe. Its members, duck-typed so the renderer's calls compile to direct ones:
//   static constexpr bool kWritesExtras;  // false: the renderer skips exemplars, created times
//                                         // and native histograms
//   void Family(std::string_view name, MetricType type, std::string_view help,
//               std::string_view unit = {});
//       `name` as text 0.0.4 names the family: counters keep their _total suffix. `unit`
//       ("seconds", "usd", "tokens") is a suffix of the name, or empty.
//   void Sample(std::string_view name, LabelList labels, uint64_t value,
//               const SampleExtras& extras = {});
//   void Sample(std::string_view name, LabelList labels, double value,
//               const SampleExtras& extras = {});
//       `name` is the sample's name (the family's).
//   void Histogram(std::string_view name, LabelList labels, const BucketBounds& buckets,
//                  const HistogramSample& sample);
//   void Finish();  // after the last family: OpenMetrics' "# EOF", protobuf's last family

}  // namespace llm_exporter::expose
