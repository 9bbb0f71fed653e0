#include "expose/protobuf_writer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>

namespace llm_exporter::expose {
namespace {

// Field numbers of expose/proto/io/prometheus/client/metrics.proto.
namespace family_field {
constexpr uint32_t kName = 1, kHelp = 2, kType = 3, kMetric = 4, kUnit = 5;
}
namespace metric_field {
constexpr uint32_t kLabel = 1, kGauge = 2, kCounter = 3, kHistogram = 7;
}
namespace label_field {
constexpr uint32_t kName = 1, kValue = 2;
}
namespace value_field {  // Gauge and Counter
constexpr uint32_t kValue = 1, kExemplar = 2, kCreated = 3;
}
namespace exemplar_field {
constexpr uint32_t kLabel = 1, kValue = 2, kTimestamp = 3;
}
namespace histogram_field {
constexpr uint32_t kSampleCount = 1, kSampleSum = 2, kBucket = 3, kSchema = 5,
                   kZeroThreshold = 6, kZeroCount = 7, kNegativeSpan = 9, kNegativeDelta = 10,
                   kPositiveSpan = 12, kPositiveDelta = 13, kCreated = 15;
}
namespace bucket_field {
constexpr uint32_t kCumulativeCount = 1, kUpperBound = 2, kExemplar = 3;
}
namespace span_field {
constexpr uint32_t kOffset = 1, kLength = 2;
}
namespace timestamp_field {
constexpr uint32_t kSeconds = 1, kNanos = 2;
}

// client_model's MetricType numbers.
uint64_t TypeNumber(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return 0;
    case MetricType::kGauge:
      return 1;
    case MetricType::kHistogram:
      return 4;
  }
  return 1;
}

void Spans(WireWriter& wire, uint32_t field, std::span<const aggregate::NativeBucketSpan> spans) {
  for (const aggregate::NativeBucketSpan& span : spans) {
    const std::size_t mark = wire.Open(field);
    wire.Sint32(span_field::kOffset, span.offset);
    wire.Varint(span_field::kLength, span.length);
    wire.Close(mark);
  }
}

// Unpacked, as client_golang writes these proto2 fields; parsers take either form.
void Deltas(WireWriter& wire, uint32_t field, const std::vector<int64_t>& deltas) {
  for (const int64_t delta : deltas) wire.Sint64(field, delta);
}

}  // namespace

void ProtobufWriter::Family(std::string_view name, MetricType type, std::string_view help,
                           std::string_view unit) {
  CloseFamily();
  type_ = type;
  family_start_ = wire_.OpenDelimited();
  wire_.Bytes(family_field::kName, name);
  wire_.Bytes(family_field::kHelp, help);
  wire_.Varint(family_field::kType, TypeNumber(type));
  // Before the metrics, not after as the field numbers go: parsers take fields in any order, and
  // `unit` need not outlive this call.
  if (!unit.empty()) wire_.Bytes(family_field::kUnit, unit);
  header_end_ = wire_.size();
}

void ProtobufWriter::CloseFamily() {
  if (family_start_ == kNoFamily) return;
  if (wire_.size() == header_end_) {
    wire_.Truncate(family_start_);  // no samples: client_golang leaves the family out
  } else {
    wire_.Close(family_start_);
  }
  family_start_ = kNoFamily;
}

void ProtobufWriter::Finish() {
  CloseFamily();
  wire_.Flush();
}

void ProtobufWriter::Labels(uint32_t field, LabelList labels) {
  for (const Label& label : labels) {
    const std::size_t mark = wire_.Open(field);
    wire_.Bytes(label_field::kName, label.name);
    wire_.Bytes(label_field::kValue, label.value);
    wire_.Close(mark);
  }
}

void ProtobufWriter::Timestamp(uint32_t field, double seconds) {
  const std::size_t mark = wire_.Open(field);
  // Past year 9999 protobuf's Timestamp is out of range anyway; beyond 2^63 the cast would be
  // undefined. Such a time (or NaN) is written as the empty Timestamp, the epoch.
  if (std::isfinite(seconds) && std::abs(seconds) < 1e15) {
    double whole = std::floor(seconds);
    // Microseconds: a double near today's Unix time resolves about 0.24 us, so the nanosecond
    // digits would be noise (1700000000.123 is 1700000000.1229999 as a double).
    auto micros = static_cast<int64_t>(std::llround((seconds - whole) * 1e6));
    if (micros == 1'000'000) {
      whole += 1;
      micros = 0;
    }
    const auto whole_seconds = static_cast<int64_t>(whole);
    // Zero fields are left out, as proto3 (which Timestamp is) writes them.
    if (whole_seconds != 0) wire_.Int64(timestamp_field::kSeconds, whole_seconds);
    if (micros != 0) wire_.Int64(timestamp_field::kNanos, micros * 1000);
  }
  wire_.Close(mark);
}

void ProtobufWriter::Exemplar(uint32_t field, const expose::Exemplar& exemplar) {
  const std::size_t mark = wire_.Open(field);
  if (exemplar.span_id.empty()) {
    Labels(exemplar_field::kLabel, {{"trace_id", exemplar.trace_id}});
  } else {
    Labels(exemplar_field::kLabel,
           {{"trace_id", exemplar.trace_id}, {"span_id", exemplar.span_id}});
  }
  wire_.Double(exemplar_field::kValue, exemplar.value);
  Timestamp(exemplar_field::kTimestamp, exemplar.timestamp);
  wire_.Close(mark);
}

void ProtobufWriter::Sample(std::string_view name, LabelList labels, uint64_t value,
                           const SampleExtras& extras) {
  Sample(name, labels, static_cast<double>(value), extras);
}

void ProtobufWriter::Sample(std::string_view /*name*/, LabelList labels, double value,
                           const SampleExtras& extras) {
  const std::size_t metric = wire_.Open(family_field::kMetric);
  Labels(metric_field::kLabel, labels);
  if (type_ == MetricType::kCounter) {
    const std::size_t counter = wire_.Open(metric_field::kCounter);
    wire_.Double(value_field::kValue, value);
    if (extras.exemplar != nullptr) Exemplar(value_field::kExemplar, *extras.exemplar);
    if (extras.created != 0) Timestamp(value_field::kCreated, extras.created);
    wire_.Close(counter);
  } else {
    const std::size_t gauge = wire_.Open(metric_field::kGauge);
    wire_.Double(value_field::kValue, value);
    wire_.Close(gauge);
  }
  wire_.Close(metric);
}

void ProtobufWriter::Histogram(std::string_view /*name*/, LabelList labels,
                              const BucketBounds& buckets, const HistogramSample& sample) {
  const std::size_t metric = wire_.Open(family_field::kMetric);
  Labels(metric_field::kLabel, labels);
  const std::size_t histogram = wire_.Open(metric_field::kHistogram);

  uint64_t count = 0;
  for (const uint64_t n : sample.counts) count += n;
  wire_.Varint(histogram_field::kSampleCount, count);
  wire_.Double(histogram_field::kSampleSum, sample.sum);

  const std::size_t finite = std::min(buckets.bounds.size(), sample.counts.size());
  const auto exemplar_of = [&](std::size_t i) {
    return i < sample.exemplars.size() ? sample.exemplars[i] : nullptr;
  };
  uint64_t cumulative = 0;
  for (std::size_t i = 0; i < finite; ++i) {
    cumulative += sample.counts[i];
    const std::size_t bucket = wire_.Open(histogram_field::kBucket);
    wire_.Varint(bucket_field::kCumulativeCount, cumulative);
    wire_.Double(bucket_field::kUpperBound, buckets.bounds[i]);
    if (const expose::Exemplar* e = exemplar_of(i)) Exemplar(bucket_field::kExemplar, *e);
    wire_.Close(bucket);
  }
  // client_golang writes no +Inf bucket (sample_count is its count) unless it carries an
  // exemplar; then it adds one, and so does this.
  const expose::Exemplar* inf_exemplar = exemplar_of(finite);
  if (inf_exemplar != nullptr && finite < sample.counts.size()) {
    const std::size_t bucket = wire_.Open(histogram_field::kBucket);
    wire_.Varint(bucket_field::kCumulativeCount, count);
    wire_.Double(bucket_field::kUpperBound, std::numeric_limits<double>::infinity());
    Exemplar(bucket_field::kExemplar, *inf_exemplar);
    wire_.Close(bucket);
  }

  if (const aggregate::NativeHistogramValue* native = sample.native; native != nullptr) {
    wire_.Sint32(histogram_field::kSchema, native->schema);
    wire_.Double(histogram_field::kZeroThreshold, native->zero_threshold);
    wire_.Varint(histogram_field::kZeroCount, native->zero_count);
    Spans(wire_, histogram_field::kNegativeSpan, native->negative_spans);
    Deltas(wire_, histogram_field::kNegativeDelta, native->negative_deltas);
    if (native->zero_threshold == 0 && native->zero_count == 0 &&
        native->positive_spans.empty() && native->negative_spans.empty()) {
      // Prometheus takes a histogram with no spans, no zero bucket and no zero threshold for a
      // classic one; client_golang adds this no-op span to an empty native histogram.
      static constexpr aggregate::NativeBucketSpan kNoOp[1] = {};
      Spans(wire_, histogram_field::kPositiveSpan, kNoOp);
    } else {
      Spans(wire_, histogram_field::kPositiveSpan, native->positive_spans);
    }
    Deltas(wire_, histogram_field::kPositiveDelta, native->positive_deltas);
  }
  if (sample.created != 0) Timestamp(histogram_field::kCreated, sample.created);

  wire_.Close(histogram);
  wire_.Close(metric);
}

}  // namespace llm_exporter::expose
