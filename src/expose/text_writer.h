// Writes the Prometheus text exposition format (version 0.0.4) into a string: family headers,
// samples with escaped label values, and histograms with cumulative buckets.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace llm_exporter::expose {

struct Label {
  std::string_view name;
  std::string_view value;
};

// Appends to a string it does not own. Not thread-safe; cheap to make, one per render.
class TextWriter {
 public:
  explicit TextWriter(std::string* out) : out_(out) {}

  // "# HELP" and "# TYPE" lines; `type` is counter, gauge or histogram.
  void Family(std::string_view name, std::string_view type, std::string_view help);
  void Sample(std::string_view name, std::initializer_list<Label> labels, uint64_t value);
  void Sample(std::string_view name, std::initializer_list<Label> labels, double value);
  // _bucket (cumulative, with le), _sum and _count lines. `counts` holds one count per bucket,
  // not cumulative; `les` the matching le values (FormatBounds), the last being "+Inf".
  void Histogram(std::string_view name, std::initializer_list<Label> labels,
                 const std::vector<std::string>& les, std::span<const uint64_t> counts,
                 double sum);

  // How a bucket bound is written in `le`: like prometheus_client ("0.1", "1.0", "+Inf"), so
  // queries written against the Python client keep matching.
  static std::string FormatBound(double bound);
  // Every bound formatted, then "+Inf".
  static std::vector<std::string> FormatBounds(const std::vector<double>& bounds);

 private:
  void Name(std::string_view name, std::initializer_list<Label> labels, const Label* extra);
  void Value(double value);
  void Value(uint64_t value);

  std::string* out_;
};

}  // namespace llm_exporter::expose
