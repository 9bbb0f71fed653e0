// Writes the protobuf exposition format (io.prometheus.client.MetricFamily, encoding=delimited):
// each family one MetricFamily message preceded by its length as a varint, encoded by hand as
// Prometheus' client_golang would write the same values (expose/proto/ holds the schema).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "expose/exposition.h"
#include "expose/wire_writer.h"

namespace llm_exporter::expose {

// Appends to a string it does not own, with the calls every exposition writer takes
// (exposition.h). A family is encoded straight into the output as its samples arrive; its
// length prefix is put in when the next Family() or Finish() closes it, and a family that got
// no samples is taken out again, as client_golang leaves empty families out of a scrape. The
// string is grown ahead of the writing (see WireWriter): it holds just what was written once
// Finish() has run, and nothing else may change it before then. Not thread-safe; one per render.
//
// As client_golang writes them: counters keep their _total suffix in the family name; a counter
// sample's value is a double, with its exemplar (labels trace_id and span_id) and created time;
// a gauge has neither, and drops both. A histogram has one bucket per finite bound and no +Inf
// bucket, unless the (largest bound, +Inf] bucket has an exemplar: then that exemplar comes in
// an explicit +Inf bucket counting every observation. Native buckets are written only when the
// sample has them; a native histogram with nothing in it gets the no-op span (offset 0, length
// 0) that tells it from a classic one.
class ProtobufWriter {
 public:
  explicit ProtobufWriter(std::string* out) : wire_(out) {}
  static constexpr bool kWritesExtras = true;

  // Closes the previous family and starts `name`. `unit` is written only when not empty.
  void Family(std::string_view name, MetricType type, std::string_view help,
              std::string_view unit = {});
  // A counter or gauge series of the current family (`name` is the family's and not written
  // again). A sample of a histogram family is written as a gauge, which Prometheus refuses.
  void Sample(std::string_view name, LabelList labels, uint64_t value,
              const SampleExtras& extras = {});
  void Sample(std::string_view name, LabelList labels, double value,
              const SampleExtras& extras = {});
  void Histogram(std::string_view name, LabelList labels, const BucketBounds& buckets,
                 const HistogramSample& sample);
  // Closes the last family and trims the string to what was written.
  void Finish();

 private:
  static constexpr std::size_t kNoFamily = static_cast<std::size_t>(-1);

  void CloseFamily();
  void Labels(uint32_t field, LabelList labels);
  void Exemplar(uint32_t field, const expose::Exemplar& exemplar);
  // A google.protobuf.Timestamp from Unix time in seconds.
  void Timestamp(uint32_t field, double seconds);

  WireWriter wire_;
  MetricType type_ = MetricType::kGauge;
  std::size_t family_start_ = kNoFamily;  // where the open family's length prefix is
  std::size_t header_end_ = 0;            // where its first Metric would start
};

}  // namespace llm_exporter::expose
