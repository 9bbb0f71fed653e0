#include "expose/text_writer.h"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace llm_exporter::expose {
namespace {

TEST_CASE("TextWriter: family header, labels and values") {
  std::string out;
  TextWriter w(&out);
  w.Family("llm_requests_total", MetricType::kCounter, "Total LLM requests");
  w.Sample("llm_requests_total", {{"model", "gpt-4o"}, {"status", "success"}}, uint64_t{18446744073709551615u});
  w.Sample("up", {}, 1.0);
  w.Sample("cost", {}, 0.0075);
  w.Sample("tiny", {}, 2.25e-05);
  w.Sample("small", {}, 0.0003);
  w.Sample("big", {}, 1000.0);
  w.Sample("huge", {}, 1e16);
  w.Finish();
  CHECK(out ==
        "# HELP llm_requests_total Total LLM requests\n"
        "# TYPE llm_requests_total counter\n"
        "llm_requests_total{model=\"gpt-4o\",status=\"success\"} 18446744073709551615\n"
        "up 1\n"
        "cost 0.0075\n"
        "tiny 2.25e-05\n"
        "small 0.0003\n"
        "big 1000\n"
        "huge 1e+16\n");
}

TEST_CASE("TextWriter: label values escape backslash, quote and newline; HELP escapes two") {
  std::string out;
  TextWriter w(&out);
  w.Family("m", MetricType::kGauge, "a \"quoted\" \\ help\nline");
  w.Sample("m", {{"l", "a\"b\\c\nd"}}, 1.0);
  w.Finish();
  CHECK(out ==
        "# HELP m a \"quoted\" \\\\ help\\nline\n"
        "# TYPE m gauge\n"
        "m{l=\"a\\\"b\\\\c\\nd\"} 1\n");
}

// The escapes as the text format defines them, one character at a time.
std::string EscapedOneByOne(std::string_view value) {
  std::string escaped;
  for (const char c : value) {
    if (c == '\\') escaped += "\\\\";
    else if (c == '\n') escaped += "\\n";
    else if (c == '"') escaped += "\\\"";
    else escaped += c;
  }
  return escaped;
}

// Label values are copied and searched for escapes a word at a time, with overlapping words at
// the end: every length, with each byte value (the escaped ones among them) at each position.
TEST_CASE("TextWriter: label values of every length, escapes in every position") {
  for (std::size_t size = 0; size <= 40; ++size) {
    std::string plain;
    for (std::size_t i = 0; i < size; ++i) plain += static_cast<char>('a' + i % 26);
    std::vector<std::string> values = {plain};
    for (std::size_t at = 0; at < size; ++at) {
      for (int c = 0; c < 256; ++c) {  // the escaped ones, and every other byte beside them
        std::string value = plain;
        value[at] = static_cast<char>(c);
        values.push_back(value);
      }
    }
    for (const std::string& value : values) {
      std::string out;
      TextWriter w(&out);
      w.Sample("m", {{"a", value}, {"b", "x"}}, uint64_t{7});
      w.Finish();
      REQUIRE(out == "m{a=\"" + EscapedOneByOne(value) + "\",b=\"x\"} 7\n");
    }
  }
}

TEST_CASE("TextWriter: a line longer than the stack buffer, escapes included") {
  const std::string value = std::string(3000, '"') + std::string(65535 - 3000, 'v');
  std::string out;
  TextWriter w(&out);
  w.Sample("m", {{"a", value}, {"b", value}}, 0.5);
  w.Finish();
  CHECK(out == "m{a=\"" + EscapedOneByOne(value) + "\",b=\"" + EscapedOneByOne(value) +
                   "\"} 0.5\n");
}

// Sample lines wait in the writer's buffer (64 KiB) and reach the string in blocks; a family
// header, out() and Finish() append what waits first, so that the order is kept.
TEST_CASE("TextWriter: lines past the pending buffer keep their order around headers") {
  std::string out;
  std::string expected;
  TextWriter w(&out);
  const std::string long_value(70'000, 'x');  // a line longer than the buffer
  for (int i = 0; i < 20'000; ++i) {
    if (i % 7000 == 0) {
      w.Family("m", MetricType::kCounter, "help");
      expected += "# HELP m help\n# TYPE m counter\n";
    }
    if (i == 12'345) {
      w.out()->append("# appended through out()\n");
      expected += "# appended through out()\n";
      w.Sample("m", {{"user", long_value}}, 0.25);
      expected += "m{user=\"" + long_value + "\"} 0.25\n";
    }
    const std::string user = "user-" + std::to_string(i);
    w.Sample("m", {{"user", user}, {"team", "t"}}, static_cast<uint64_t>(i));
    expected += "m{user=\"" + user + "\",team=\"t\"} " + std::to_string(i) + "\n";
  }
  w.Finish();
  CHECK(out == expected);
}

TEST_CASE("TextWriter: NaN and infinities are spelled as Prometheus reads them") {
  std::string out;
  TextWriter w(&out);
  w.Sample("a", {}, std::nan(""));
  w.Sample("b", {}, std::numeric_limits<double>::infinity());
  w.Sample("c", {}, -std::numeric_limits<double>::infinity());
  w.Finish();
  CHECK(out == "a NaN\nb +Inf\nc -Inf\n");
}

TEST_CASE("TextWriter: histogram buckets are cumulative and le reads like prometheus_client") {
  CHECK(TextWriter::FormatBound(1) == "1.0");
  CHECK(TextWriter::FormatBound(0.25) == "0.25");
  CHECK(TextWriter::FormatBound(30) == "30.0");
  CHECK(TextWriter::FormatBound(1e-05) == "1e-05");
  std::string out;
  TextWriter w(&out);
  const std::vector<double> bounds = {0.5, 1};
  const std::vector<std::string> les = TextWriter::FormatBounds(bounds);
  const std::vector<uint64_t> counts = {1, 0, 2};
  HistogramSample sample;
  sample.counts = counts;
  sample.sum = 4.5;
  w.Histogram("h", {{"model", "m"}}, BucketBounds{bounds, les}, sample);
  w.Finish();
  CHECK(out ==
        "h_bucket{model=\"m\",le=\"0.5\"} 1\n"
        "h_bucket{model=\"m\",le=\"1.0\"} 1\n"
        "h_bucket{model=\"m\",le=\"+Inf\"} 3\n"
        "h_sum{model=\"m\"} 4.5\n"
        "h_count{model=\"m\"} 3\n");
}

}  // namespace
}  // namespace llm_exporter::expose
