#include "expose/text_writer.h"

#include <array>
#include <charconv>
#include <cmath>
#include <iterator>

#include <fmt/compile.h>
#include <fmt/format.h>

namespace llm_exporter::expose {
namespace {

// The shortest text that reads back as `value`, in fixed notation for exponents -4 to 15 and
// scientific beyond, as Python's repr() (and so prometheus_client) writes numbers: 0.0003, not
// 3e-04. fmt's shortest form (Dragonbox) follows the same rule, and takes about half the time of
// std::to_chars, which a scrape with exemplars calls three times a series.
void AppendShortest(std::string* out, double value) {
  fmt::memory_buffer buffer;
  fmt::format_to(std::back_inserter(buffer), FMT_COMPILE("{}"), value);
  out->append(buffer.data(), buffer.size());
}

}  // namespace

std::string_view TextWriter::TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
  }
  return "untyped";
}

// Copies runs of plain characters in one append; only \\, \n (and " in label values) are escaped.
// The characters are tested one by one here: string_view::find_first_of calls memchr once per
// character of the text, and memchr was a third of perf's samples of a 100,000-series render.
void TextWriter::AppendEscaped(std::string_view text, bool escape_quotes) {
  std::string* out = out_;
  std::size_t run = 0;  // start of the run of plain characters not yet appended
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c != '\\' && c != '\n' && (c != '"' || !escape_quotes)) continue;
    out->append(text.data() + run, i - run);
    out->append(c == '\\' ? "\\\\" : c == '\n' ? "\\n" : "\\\"");
    run = i + 1;
  }
  out->append(text.data() + run, text.size() - run);
}

void TextWriter::Family(std::string_view name, MetricType type, std::string_view help,
                        std::string_view /*unit*/) {
  out_->append("# HELP ").append(name).push_back(' ');
  AppendEscaped(help, /*escape_quotes=*/false);
  out_->append("\n# TYPE ").append(name).push_back(' ');
  out_->append(TypeName(type)).push_back('\n');
}

void TextWriter::Name(std::string_view name, LabelList labels, const Label* extra) {
  out_->append(name);
  if (labels.size() == 0 && extra == nullptr) return;
  out_->push_back('{');
  bool first = true;
  const auto append = [&](const Label& label) {
    if (!first) out_->push_back(',');
    first = false;
    out_->append(label.name).append("=\"");
    AppendEscaped(label.value, /*escape_quotes=*/true);
    out_->push_back('"');
  };
  for (const Label& label : labels) append(label);
  if (extra != nullptr) append(*extra);
  out_->push_back('}');
}

void TextWriter::Number(double value) {
  out_->push_back(' ');
  if (std::isnan(value)) {
    out_->append("NaN");
  } else if (std::isinf(value)) {
    out_->append(value > 0 ? "+Inf" : "-Inf");
  } else {
    AppendShortest(out_, value);
  }
}

void TextWriter::Number(uint64_t value) {
  std::array<char, 24> buffer;
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  out_->push_back(' ');
  out_->append(buffer.data(), result.ptr);
}

void TextWriter::Sample(std::string_view name, LabelList labels, uint64_t value,
                        const SampleExtras& /*extras*/) {
  Name(name, labels, nullptr);
  Value(value);
}

void TextWriter::Sample(std::string_view name, LabelList labels, double value,
                        const SampleExtras& /*extras*/) {
  Name(name, labels, nullptr);
  Value(value);
}

void TextWriter::Histogram(std::string_view name, LabelList labels, const BucketBounds& buckets,
                           const HistogramSample& sample) {
  thread_local std::string metric;
  const uint64_t cumulative =
      Buckets(name, labels, buckets, sample.counts, &metric, [](std::size_t) {});
  metric.assign(name).append("_sum");
  Name(metric, labels, nullptr);
  Value(sample.sum);
  metric.assign(name).append("_count");
  Name(metric, labels, nullptr);
  Value(cumulative);
}

std::string TextWriter::FormatBound(double bound) {
  if (std::isinf(bound)) return bound > 0 ? "+Inf" : "-Inf";
  std::string text;
  AppendShortest(&text, bound);
  if (text.find_first_of(".e") == std::string::npos) text.append(".0");
  return text;
}

std::vector<std::string> TextWriter::FormatBounds(const std::vector<double>& bounds) {
  std::vector<std::string> les;
  les.reserve(bounds.size() + 1);
  for (const double bound : bounds) les.push_back(FormatBound(bound));
  les.emplace_back("+Inf");
  return les;
}

}  // namespace llm_exporter::expose
