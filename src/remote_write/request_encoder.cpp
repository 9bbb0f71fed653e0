#include "remote_write/request_encoder.h"

#include <snappy.h>

#include <algorithm>
#include <bit>
#include <cstring>

namespace llm_exporter::remote_write {
namespace {

// prometheus.WriteRequest, TimeSeries, Label, Sample and MetricMetadata field numbers.
constexpr uint32_t kWriteRequestTimeseries = 1;
constexpr uint32_t kWriteRequestMetadata = 3;
constexpr uint32_t kTimeSeriesLabels = 1;
constexpr uint32_t kTimeSeriesSamples = 2;
constexpr uint32_t kLabelName = 1;
constexpr uint32_t kLabelValue = 2;
constexpr uint32_t kSampleValue = 1;
constexpr uint32_t kSampleTimestamp = 2;
constexpr uint32_t kMetadataType = 1;
constexpr uint32_t kMetadataFamilyName = 2;
constexpr uint32_t kMetadataHelp = 4;
constexpr uint32_t kMetadataUnit = 5;
// MetricMetadata.MetricType
constexpr uint64_t kTypeCounter = 1;
constexpr uint64_t kTypeGauge = 2;
constexpr uint64_t kTypeHistogram = 3;

bool ByName(const expose::Label& a, const expose::Label& b) { return a.name < b.name; }

}  // namespace

double StaleNan() { return std::bit_cast<double>(kStaleNanBits); }
bool IsStaleNan(double value) { return std::bit_cast<uint64_t>(value) == kStaleNanBits; }

RequestEncoder::RequestEncoder(const EncoderOptions& options, WriteRelabel* relabel,
                               std::vector<EncodedRequest>* out)
    : options_(options),
      relabel_(relabel != nullptr && !relabel->empty() ? relabel : nullptr),
      out_(out),
      first_out_(out->size()) {
  if (options_.max_samples_per_send == 0) options_.max_samples_per_send = 1;
  wire_.emplace(&raw_);
  if (options_.metadata) metadata_wire_.emplace(&metadata_raw_);
}

void RequestEncoder::Family(std::string_view name, expose::MetricType type,
                            std::string_view help, std::string_view unit) {
  if (!metadata_wire_) return;
  const bool histogram = type == expose::MetricType::kHistogram;
  if (relabel_ != nullptr && relabel_->by_name_only()) {
    scratch_name_.assign(name);
    if (histogram) scratch_name_ += "_count";
    if (!relabel_->KeepName(scratch_name_)) return;
  }
  expose::WireWriter& w = *metadata_wire_;
  const std::size_t entry = w.Open(kWriteRequestMetadata);
  w.Varint(kMetadataType, histogram                               ? kTypeHistogram
                          : type == expose::MetricType::kCounter ? kTypeCounter
                                                                 : kTypeGauge);
  w.Bytes(kMetadataFamilyName, name);
  w.Bytes(kMetadataHelp, help);
  if (!unit.empty()) w.Bytes(kMetadataUnit, unit);
  w.Close(entry);
  ++metadata_count_;
}

std::size_t RequestEncoder::SortedLabels(std::string_view name, expose::LabelList labels,
                                         std::string_view extra_name,
                                         std::string_view extra_value) {
  labels_.clear();
  labels_.push_back({"__name__", name});
  for (const expose::Label& label : labels) labels_.push_back(label);
  if (!extra_name.empty()) labels_.push_back({extra_name, extra_value});
  const std::size_t own = labels_.size();
  for (const auto& [label_name, label_value] : options_.external_labels) {
    bool present = false;
    for (std::size_t i = 0; i < own; ++i) present = present || labels_[i].name == label_name;
    if (!present) labels_.push_back({label_name, label_value});
  }
  std::sort(labels_.begin(), labels_.end(), ByName);
  for (std::size_t i = 0; i < labels_.size(); ++i) {
    if (labels_[i].name == "__name__") return i;
  }
  return 0;
}

bool RequestEncoder::Keep(std::string_view name) {
  if (relabel_ == nullptr) return true;
  if (relabel_->by_name_only()) return relabel_->KeepName(name);
  return relabel_->Keep(labels_);
}

void RequestEncoder::Series(double value) {
  expose::WireWriter& w = *wire_;
  const std::size_t series = w.Open(kWriteRequestTimeseries);
  for (const expose::Label& label : labels_) {
    const std::size_t l = w.Open(kTimeSeriesLabels);
    w.Bytes(kLabelName, label.name);
    w.Bytes(kLabelValue, label.value);
    w.Close(l);
  }
  const std::size_t sample = w.Open(kTimeSeriesSamples);
  w.Double(kSampleValue, options_.stale ? StaleNan() : value);
  w.Int64(kSampleTimestamp, options_.timestamp_ms);
  w.Close(sample);
  w.Close(series);
  ++samples_;
  if (++request_samples_ >= options_.max_samples_per_send) CloseRequest();
}

void RequestEncoder::Sample(std::string_view name, expose::LabelList labels, uint64_t value,
                            const expose::SampleExtras& extras) {
  Sample(name, labels, static_cast<double>(value), extras);
}

void RequestEncoder::Sample(std::string_view name, expose::LabelList labels, double value,
                            const expose::SampleExtras&) {
  SortedLabels(name, labels);
  if (!Keep(name)) return;
  Series(value);
}

void RequestEncoder::Histogram(std::string_view name, expose::LabelList labels,
                               const expose::BucketBounds& buckets,
                               const expose::HistogramSample& sample) {
  // _bucket: the labels sorted once with `le`; each bucket changes two values.
  std::string bucket_name(name);
  bucket_name += "_bucket";
  const std::size_t name_at = SortedLabels(bucket_name, labels, "le", "");
  std::size_t le_at = 0;
  for (std::size_t i = 0; i < labels_.size(); ++i) {
    if (labels_[i].name == "le") le_at = i;
  }
  uint64_t cumulative = 0;
  for (std::size_t b = 0; b < sample.counts.size(); ++b) {
    cumulative += sample.counts[b];
    labels_[name_at].value = bucket_name;
    labels_[le_at].value = buckets.les[b];
    if (Keep(bucket_name)) Series(static_cast<double>(cumulative));
  }
  std::string other_name(name);
  other_name += "_sum";
  SortedLabels(other_name, labels);
  if (Keep(other_name)) Series(sample.sum);
  other_name.replace(other_name.size() - 4, 4, "_count");
  SortedLabels(other_name, labels);
  if (Keep(other_name)) Series(static_cast<double>(cumulative));
}

void RequestEncoder::CloseRequest() {
  if (request_samples_ == 0) return;
  wire_->Flush();
  EncodedRequest request;
  snappy::Compress(raw_.data(), raw_.size(), &request.body);
  request.samples = request_samples_;
  out_->push_back(std::move(request));
  raw_.clear();
  wire_.emplace(&raw_);
  request_samples_ = 0;
}

void RequestEncoder::Finish() {
  CloseRequest();
  if (metadata_wire_ && metadata_count_ > 0) {
    metadata_wire_->Flush();
    EncodedRequest request;
    snappy::Compress(metadata_raw_.data(), metadata_raw_.size(), &request.body);
    request.metadata = metadata_count_;
    out_->insert(out_->begin() + static_cast<std::ptrdiff_t>(first_out_), std::move(request));
    metadata_wire_.reset();
    metadata_count_ = 0;
  }
}

}  // namespace llm_exporter::remote_write
