// Writes the Prometheus text exposition format (version 0.0.4) into a string: family headers,
// samples with escaped label values, and histograms with cumulative buckets. Exemplars, created
// times and native histograms have no place in this format and are left out.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "expose/exposition.h"

namespace llm_exporter::expose {

// Appends to a string it does not own. Sample lines are gathered in a buffer of the writer's
// and appended in blocks: the string holds everything written once Finish() (or out()) has run,
// or the writer is gone. Not thread-safe; one per render.
// The methods are those exposition.h lists for every writer.
class TextWriter {
 public:
  explicit TextWriter(std::string* out) : out_(out) {}
  TextWriter(const TextWriter&) = delete;
  TextWriter& operator=(const TextWriter&) = delete;
  ~TextWriter() { Flush(); }
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
  void Finish() { Flush(); }
  // The string written to, holding everything written so far.
  std::string* out() {
    Flush();
    return out_;
  }

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
  // name{labels[,extra]} value and the newline, into the pending lines. Only TextWriter's own
  // samples take this way; everything else appends to the string itself, after Flush().
  template <typename T>
  void Line(std::string_view name, LabelList labels, const Label* extra, T value);
  // Appends the pending lines to the string.
  void Flush() {
    if (pending_at_ != pending_.get()) FlushPending();
  }
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

 private:
  void FlushPending();

  // Lines waiting to be appended: appending each line to the string on its own (a capacity
  // check and a memcpy call apiece) took a fifth of the instructions of a text render.
  std::unique_ptr<char[]> pending_;
  char* pending_at_ = nullptr;   // where the next line goes
  char* pending_end_ = nullptr;  // the end of pending_
};

}  // namespace llm_exporter::expose
