#include "expose/openmetrics_writer.h"

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

void OpenMetricsWriter::AppendExemplar(const Exemplar& exemplar) {
  out_->append(" # {trace_id=\"");
  AppendEscaped(exemplar.trace_id, /*escape_quotes=*/true);
  if (!exemplar.span_id.empty()) {
    out_->append("\",span_id=\"");
    AppendEscaped(exemplar.span_id, /*escape_quotes=*/true);
  }
  out_->append("\"}");
  Number(exemplar.value);
  Number(exemplar.timestamp);
}

void OpenMetricsWriter::Created(LabelList labels, double created) {
  if (created == 0) return;
  metric_.assign(family_).append("_created");
  Name(metric_, labels, nullptr);
  Value(created);
}

template <typename T>
void OpenMetricsWriter::CounterOrGauge(std::string_view name, LabelList labels, T value,
                                       const SampleExtras& extras) {
  Name(name, labels, nullptr);
  Number(value);
  if (counter_ && extras.exemplar != nullptr) AppendExemplar(*extras.exemplar);
  out_->push_back('\n');
  if (counter_) Created(labels, extras.created);
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
  metric_.assign(name).append("_bucket");
  uint64_t cumulative = 0;
  for (std::size_t i = 0; i < sample.counts.size(); ++i) {
    cumulative += sample.counts[i];
    const Label le_label{"le", buckets.les[i]};
    Name(metric_, labels, &le_label);
    Number(cumulative);
    if (i < sample.exemplars.size() && sample.exemplars[i] != nullptr) {
      AppendExemplar(*sample.exemplars[i]);
    }
    out_->push_back('\n');
  }
  metric_.assign(name).append("_count");
  Name(metric_, labels, nullptr);
  Value(cumulative);
  metric_.assign(name).append("_sum");
  Name(metric_, labels, nullptr);
  Value(sample.sum);
  Created(labels, sample.created);
}

void OpenMetricsWriter::Finish() { out_->append("# EOF\n"); }

}  // namespace llm_exporter::expose
