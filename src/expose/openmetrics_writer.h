// Writes OpenMetrics 1.0 text (application/openmetrics-text; version=1.0.0): the text format's
// samples, plus `# UNIT`, exemplars on counters and histogram buckets, `_created` samples for
// counters and histograms, and the closing `# EOF`. Bucket bounds, label values and numbers are
// written exactly as TextWriter writes them, so queries give the same answer in either format.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "expose/exposition.h"
#include "expose/text_writer.h"

namespace llm_exporter::expose {

// Appends to a string it does not own. Not thread-safe; one per render.
class OpenMetricsWriter : private TextWriter {
 public:
  explicit OpenMetricsWriter(std::string* out) : TextWriter(out) {}
  static constexpr bool kWritesExtras = true;

  // A counter's family is named without its _total suffix, as OpenMetrics has it; a counter
  // whose name lacks the suffix is written as type "unknown", keeping its sample name.
  void Family(std::string_view name, MetricType type, std::string_view help,
              std::string_view unit = {});
  void Sample(std::string_view name, LabelList labels, uint64_t value,
              const SampleExtras& extras = {});
  void Sample(std::string_view name, LabelList labels, double value,
              const SampleExtras& extras = {});
  void Histogram(std::string_view name, LabelList labels, const BucketBounds& buckets,
                 const HistogramSample& sample);
  void Finish();

 private:
  // " # {trace_id="...",span_id="..."} value timestamp", for a sample line not yet ended.
  void AppendExemplar(const Exemplar& exemplar);
  // family_created{labels} created, if created is known. `labels_at` is where the labels of
  // the sample line just written start in the output (its "{...}" or its end), so that they are
  // copied rather than escaped again.
  void Created(std::size_t labels_at, std::size_t labels_end, double created);
  // " 1800000000.123": Unix seconds to the millisecond, formatted as integers (a timestamp's
  // shortest double form costs several times more, and milliseconds are all Prometheus keeps).
  void Timestamp(double seconds);
  template <typename T>
  void CounterOrGauge(std::string_view name, LabelList labels, T value,
                      const SampleExtras& extras);

  std::string family_;  // the current family's name, as OpenMetrics names it
  bool counter_ = false;
  std::string metric_;  // scratch for sample names
};

}  // namespace llm_exporter::expose
