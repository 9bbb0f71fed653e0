#include "expose/openmetrics_writer.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>

namespace llm_exporter::expose {
namespace {

constexpr std::string_view kTotal = "_total";

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

}  // namespace

void OpenMetricsWriter::Family(std::string_view name, MetricType type, std::string_view help,
                               std::string_view unit) {
  counter_ = type == MetricType::kCounter && EndsWith(name, kTotal);
  family_.assign(counter_ ? name.substr(0, name.size() - kTotal.size()) : name);
  const std::string_view type_name =
      type == MetricType::kCounter && !counter_ ? "unknown" : TypeName(type);
  out_->append("# HELP ").append(family_).push_back(' ');
  AppendEscaped(help, /*escape_quotes=*/true);  // OpenMetrics escapes quotes in HELP too
  out_->append("\n# TYPE ").append(family_).push_back(' ');
  out_->append(type_name).push_back('\n');
  if (!unit.empty() && EndsWith(family_, unit) && family_.size() > unit.size() &&
      family_[family_.size() - unit.size() - 1] == '_') {
    out_->append("# UNIT ").append(family_).push_back(' ');
    out_->append(unit).push_back('\n');
  }
}

void OpenMetricsWriter::Timestamp(double seconds) {
  const auto ms = static_cast<int64_t>(std::llround(seconds * 1000));
  if (!std::isfinite(seconds) || ms < 0) {
    Number(seconds);  // not a time the agent makes; written as any other number
    return;
  }
  std::array<char, 32> buffer;
  char* end = std::to_chars(buffer.data(), buffer.data() + buffer.size(), ms / 1000).ptr;
  if (const int64_t fraction = ms % 1000; fraction != 0) {
    *end++ = '.';
    *end++ = static_cast<char>('0' + fraction / 100);
    *end++ = static_cast<char>('0' + fraction / 10 % 10);
    *end++ = static_cast<char>('0' + fraction % 10);
    while (end[-1] == '0') --end;
  }
  out_->push_back(' ');
  out_->append(buffer.data(), end);
}

void OpenMetricsWriter::AppendExemplar(const Exemplar& exemplar) {
  // The ids need no escaping: the store keeps only ids without '"', '\\' or control characters
  // (aggregate/exemplar.h).
  out_->append(" # {trace_id=\"").append(exemplar.trace_id);
  if (!exemplar.span_id.empty()) out_->append("\",span_id=\"").append(exemplar.span_id);
  out_->append("\"}");
  Number(exemplar.value);
  Timestamp(exemplar.timestamp);
}

void OpenMetricsWriter::Created(std::size_t labels_at, std::size_t labels_end, double created) {
  if (created == 0) return;
  out_->append(family_).append("_created");
  out_->append(*out_, labels_at, labels_end - labels_at);
  Timestamp(created);
  out_->push_back('\n');
}

template <typename T>
void OpenMetricsWriter::CounterOrGauge(std::string_view name, LabelList labels, T value,
                                       const SampleExtras& extras) {
  const std::size_t labels_at = out_->size() + name.size();
  Name(name, labels, nullptr);
  const std::size_t labels_end = out_->size();
  Number(value);
  if (counter_ && extras.exemplar != nullptr) AppendExemplar(*extras.exemplar);
  out_->push_back('\n');
  if (counter_) Created(labels_at, labels_end, extras.created);
}

void OpenMetricsWriter::Sample(std::string_view name, LabelList labels, uint64_t value,
                               const SampleExtras& extras) {
  CounterOrGauge(name, labels, value, extras);
}

void OpenMetricsWriter::Sample(std::string_view name, LabelList labels, double value,
                               const SampleExtras& extras) {
  CounterOrGauge(name, labels, value, extras);
}

void OpenMetricsWriter::Histogram(std::string_view name, LabelList labels,
                                  const BucketBounds& buckets, const HistogramSample& sample) {
  const uint64_t cumulative =
      Buckets(name, labels, buckets, sample.counts, &metric_, [&](std::size_t i) {
        if (i < sample.exemplars.size() && sample.exemplars[i] != nullptr) {
          AppendExemplar(*sample.exemplars[i]);
        }
      });
  metric_.assign(name).append("_count");
  const std::size_t labels_at = out_->size() + metric_.size();
  Name(metric_, labels, nullptr);
  const std::size_t labels_end = out_->size();
  Value(cumulative);
  metric_.assign(name).append("_sum");
  out_->append(metric_);
  out_->append(*out_, labels_at, labels_end - labels_at);
  Value(sample.sum);
  Created(labels_at, labels_end, sample.created);
}

void OpenMetricsWriter::Finish() { out_->append("# EOF\n"); }

}  // namespace llm_exporter::expose
