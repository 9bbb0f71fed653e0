#include "expose/text_writer.h"

#include <array>
#include <cmath>
#include <cstring>
#include <memory>

#include "expose/number_text.h"

namespace llm_exporter::expose {
namespace {

// A sample line is built in a buffer and appended to the output in one call. Appending each
// piece (name, label names, values, number) took a capacity check and a memcpy call apiece, and
// the escaping loop tested every character on its own: together 55% of perf's samples of a
// 100,000-series text render. The pieces are copied here eight bytes at a time, the escapes
// looked for in the same words, and numbers written in place (number_text.h).

// A line that fits is built on the stack; a longer one (label values may be 64 KiB) on the heap.
constexpr std::size_t kStackLine = 1024;
// The buffer of pending sample lines: appended to the output each time it fills.
constexpr std::size_t kPendingBytes = 64 * 1024;

uint64_t Load64(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}
void Store64(char* p, uint64_t w) { std::memcpy(p, &w, 8); }
uint32_t Load32(const char* p) {
  uint32_t w;
  std::memcpy(&w, p, 4);
  return w;
}
void Store32(char* p, uint32_t w) { std::memcpy(p, &w, 4); }

// Copies n bytes to `out` with a few word-wide moves (overlapping ones for the tail) rather than
// a call to memcpy, which costs more than the copy for the short pieces of a line.
[[gnu::always_inline]] inline char* Copy(char* out, const char* from, std::size_t n) {
  if (n >= 8) {
    for (std::size_t i = 0; i + 8 < n; i += 8) Store64(out + i, Load64(from + i));
    Store64(out + n - 8, Load64(from + n - 8));
  } else if (n >= 4) {
    Store32(out, Load32(from));
    Store32(out + n - 4, Load32(from + n - 4));
  } else if (n > 0) {
    out[0] = from[0];
    out[n / 2] = from[n / 2];
    out[n - 1] = from[n - 1];
  }
  return out + n;
}
[[gnu::always_inline]] inline char* Copy(char* out, std::string_view text) {
  return Copy(out, text.data(), text.size());
}

constexpr uint64_t kOnes = 0x0101010101010101u;
constexpr uint64_t kHighBits = 0x8080808080808080u;

// Non-zero when some byte of `w` is zero (exact: a borrow can misplace the flag, never invent it).
uint64_t ZeroByte(uint64_t w) { return (w - kOnes) & ~w & kHighBits; }

// Non-zero when some byte of `w` may need escaping: a backslash, or any byte below '#', which
// takes in the newline and the double quote (and the space, '!' and control characters, which
// EscapeEach() then copies as they are). One test for the three is cheaper than three exact ones.
uint64_t Special(uint64_t w) {
  return ((w - kOnes * '#') & ~w & kHighBits) | ZeroByte(w ^ (kOnes * '\\'));
}

// The escaped text, one character at a time: for the rare text that has something to escape.
char* EscapeEach(char* out, std::string_view text, bool quotes) {
  for (const char c : text) {
    if (c == '\\') {
      *out++ = '\\';
      *out++ = '\\';
    } else if (c == '\n') {
      *out++ = '\\';
      *out++ = 'n';
    } else if (c == '"' && quotes) {
      *out++ = '\\';
      *out++ = '"';
    } else {
      *out++ = c;
    }
  }
  return out;
}

// Copies `text` to `out` escaped; `out` has room for twice its size. Inlined into PutName(),
// which calls it for every label value.
[[gnu::always_inline]] inline char* Escape(char* out, std::string_view text, bool quotes) {
  const char* from = text.data();
  const std::size_t n = text.size();
  uint64_t hit = 0;
  if (n >= 8) {
    for (std::size_t i = 0; i + 8 < n; i += 8) {
      const uint64_t w = Load64(from + i);
      hit |= Special(w);
      Store64(out + i, w);
    }
    const uint64_t w = Load64(from + n - 8);
    hit |= Special(w);
    Store64(out + n - 8, w);
  } else if (n >= 4) {
    const uint32_t head = Load32(from);
    const uint32_t tail = Load32(from + n - 4);
    hit = Special(head | (uint64_t{tail} << 32));
    Store32(out, head);
    Store32(out + n - 4, tail);
  } else if (n > 0) {
    // The other five bytes are filled with a letter, which needs no escaping.
    const auto byte = [&](std::size_t i) { return uint64_t{static_cast<unsigned char>(from[i])}; };
    hit = Special(byte(0) | byte(n / 2) << 8 | byte(n - 1) << 16 | (kOnes * 'a') << 24);
    out[0] = from[0];
    out[n / 2] = from[n / 2];
    out[n - 1] = from[n - 1];
  }
  if (hit == 0) return out + n;
  return EscapeEach(out, text, quotes);
}

// The most bytes Name() writes for these labels.
std::size_t NameBound(std::string_view name, LabelList labels, const Label* extra) {
  std::size_t n = name.size() + 2;  // the braces
  for (const Label& label : labels) n += label.name.size() + 2 * label.value.size() + 4;
  if (extra != nullptr) n += extra->name.size() + 2 * extra->value.size() + 4;
  return n;
}

// name{labels[,extra]} at `out`, which has NameBound() bytes of room.
char* PutName(char* out, std::string_view name, LabelList labels, const Label* extra) {
  out = Copy(out, name);
  if (labels.size() == 0 && extra == nullptr) return out;
  *out++ = '{';
  const auto put = [&](const Label& label) {
    out = Copy(out, label.name);
    *out++ = '=';
    *out++ = '"';
    out = Escape(out, label.value, /*quotes=*/true);
    *out++ = '"';
    *out++ = ',';
  };
  for (const Label& label : labels) put(label);
  if (extra != nullptr) put(*extra);
  out[-1] = '}';  // in place of the last comma
  return out;
}

// " value" at `out`, which has kMaxNumberText + 1 bytes of room.
char* PutNumber(char* out, uint64_t value) {
  *out++ = ' ';
  return WriteUnsigned(out, value);
}
char* PutNumber(char* out, double value) {
  *out++ = ' ';
  if (std::isnan(value)) return Copy(out, "NaN", 3);
  if (std::isinf(value)) return Copy(out, value > 0 ? "+Inf" : "-Inf", 4);
  return WriteShortest(out, value);
}

// Builds up to `bound` bytes with put(char* begin) -> end and appends them to `out`.
template <typename Put>
void AppendBuilt(std::string* out, std::size_t bound, Put&& put) {
  if (bound <= kStackLine) {
    char line[kStackLine];
    out->append(line, static_cast<std::size_t>(put(line) - line));
    return;
  }
  const std::unique_ptr<char[]> line(new char[bound]);
  out->append(line.get(), static_cast<std::size_t>(put(line.get()) - line.get()));
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

void TextWriter::AppendEscaped(std::string_view text, bool escape_quotes) {
  AppendBuilt(out_, 2 * text.size(), [&](char* line) { return Escape(line, text, escape_quotes); });
}

void TextWriter::Family(std::string_view name, MetricType type, std::string_view help,
                        std::string_view /*unit*/) {
  Flush();
  out_->append("# HELP ").append(name).push_back(' ');
  AppendEscaped(help, /*escape_quotes=*/false);
  out_->append("\n# TYPE ").append(name).push_back(' ');
  out_->append(TypeName(type)).push_back('\n');
}

void TextWriter::Name(std::string_view name, LabelList labels, const Label* extra) {
  AppendBuilt(out_, NameBound(name, labels, extra),
              [&](char* line) { return PutName(line, name, labels, extra); });
}

void TextWriter::Number(double value) {
  char text[kMaxNumberText + 1];
  out_->append(text, static_cast<std::size_t>(PutNumber(text, value) - text));
}

void TextWriter::Number(uint64_t value) {
  char text[kMaxNumberText + 1];
  out_->append(text, static_cast<std::size_t>(PutNumber(text, value) - text));
}

template <typename T>
void TextWriter::Line(std::string_view name, LabelList labels, const Label* extra, T value) {
  const auto put = [&](char* line) {
    char* end = PutNumber(PutName(line, name, labels, extra), value);
    *end++ = '\n';
    return end;
  };
  const std::size_t bound = NameBound(name, labels, extra) + kMaxNumberText + 2;
  if (static_cast<std::size_t>(pending_end_ - pending_at_) < bound) {
    Flush();
    if (bound > kPendingBytes) {
      AppendBuilt(out_, bound, put);
      return;
    }
    if (!pending_) {
      pending_ = std::make_unique_for_overwrite<char[]>(kPendingBytes);
      pending_at_ = pending_.get();
      pending_end_ = pending_at_ + kPendingBytes;
    }
  }
  pending_at_ = put(pending_at_);
}

void TextWriter::FlushPending() {
  out_->append(pending_.get(), static_cast<std::size_t>(pending_at_ - pending_.get()));
  pending_at_ = pending_.get();
}

void TextWriter::Sample(std::string_view name, LabelList labels, uint64_t value,
                        const SampleExtras& /*extras*/) {
  Line(name, labels, nullptr, value);
}

void TextWriter::Sample(std::string_view name, LabelList labels, double value,
                        const SampleExtras& /*extras*/) {
  Line(name, labels, nullptr, value);
}

void TextWriter::Histogram(std::string_view name, LabelList labels, const BucketBounds& buckets,
                           const HistogramSample& sample) {
  thread_local std::string metric;
  metric.assign(name).append("_bucket");
  uint64_t cumulative = 0;
  for (std::size_t i = 0; i < sample.counts.size(); ++i) {
    cumulative += sample.counts[i];
    const Label le_label{"le", buckets.les[i]};
    Line(metric, labels, &le_label, cumulative);
  }
  metric.assign(name).append("_sum");
  Line(metric, labels, nullptr, sample.sum);
  metric.assign(name).append("_count");
  Line(metric, labels, nullptr, cumulative);
}

std::string TextWriter::FormatBound(double bound) {
  if (std::isinf(bound)) return bound > 0 ? "+Inf" : "-Inf";
  char text[kMaxNumberText + 2];
  std::string formatted(text, PutNumber(text, bound));
  formatted.erase(0, 1);  // the space
  if (formatted.find_first_of(".e") == std::string::npos) formatted.append(".0");
  return formatted;
}

std::vector<std::string> TextWriter::FormatBounds(const std::vector<double>& bounds) {
  std::vector<std::string> les;
  les.reserve(bounds.size() + 1);
  for (const double bound : bounds) les.push_back(FormatBound(bound));
  les.emplace_back("+Inf");
  return les;
}

}  // namespace llm_exporter::expose
