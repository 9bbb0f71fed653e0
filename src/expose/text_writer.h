// Writes the Prometheus text exposition format (version 0.0.4) into a string: family headers,
// samples with escaped label values, and histograms with cumulative buckets. Exemplars, created
// times and native histograms have no place in this format and are left out.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "expose/exposition.h"

namespace llm_exporter::expose {

// Appends to a string it does not own. Not thread-safe; cheap to make, one per render.
// The methods are those exposition.h lists for every writer.
class TextWriter {
 public:
  explicit TextWriter(std::string* out) : out_(out) {}
  // Whether the renderer should hand over exemplars and created times (this format has neither).
  static constexpr bool kWritesExtras = false;

  // "# HELP" and "# TYPE" lines.
  void Family(std::string_view name, MetricType type, std::string_view help,
              std::string_view unit = {});
  void Sample(std::string_view name, LabelList labels, uint64_t value,
              const SampleExtras& extras = {});
  void Sample(std::string_view name, LabelList labels, double value,
              const SampleExtras& extras = {});
  // _bucket (cumulative, with le), _sum and _count lines.
  void Histogram(std::string_view name, LabelList labels, const BucketBounds& buckets,
                 const HistogramSample& sample);
  void Finish() {}
  // The string written to.
  std::string* out() const { return out_; }

  // How a bucket bound is written in `le`: like prometheus_client ("0.1", "1.0", "+Inf"), so
  // queries written against the Python client keep matching. OpenMetrics writes them the same.
  static std::string FormatBound(double bound);
  // Every bound formatted, then "+Inf".
  static std::vector<std::string> FormatBounds(const std::vector<double>& bounds);

 protected:
  static std::string_view TypeName(MetricType type);
  void AppendEscaped(std::string_view text, bool escape_quotes);
  // name{labels[,extra]}
  void Name(std::string_view name, LabelList labels, const Label* extra);
  // " value" without the newline.
  void Number(double value);
  void Number(uint64_t value);
  // name{labels[,extra]} value and the newline, appended in one piece.
  template <typename T>
  void Line(std::string_view name, LabelList labels, const Label* extra, T value);
  void Value(double value) {
    Number(value);
    out_->push_back('\n');
  }
  void Value(uint64_t value) {
    Number(value);
    out_->push_back('\n');
  }

  // The _bucket lines (cumulative, with le) into `metric`'s buffer; `line_end(i)` may add to
  // bucket i's line before its newline. Returns the count of all observations.
  template <typename LineEnd>
  uint64_t Buckets(std::string_view name, LabelList labels, const BucketBounds& buckets,
                   std::span<const uint64_t> counts, std::string* metric, LineEnd&& line_end) {
    metric->assign(name).append("_bucket");
    uint64_t cumulative = 0;
    for (std::size_t i = 0; i < counts.size(); ++i) {
      cumulative += counts[i];
      const Label le_label{"le", buckets.les[i]};
      Name(*metric, labels, &le_label);
      Number(cumulative);
      line_end(i);
      out_->push_back('\n');
    }
    return cumulative;
  }

  std::string* out_;
};

}  // namespace llm_exporter::expose
