#include "aggregate/series_key.h"

#include <doctest/doctest.h>

namespace llm_exporter::aggregate {
namespace {

TEST_CASE("SeriesKey: values round-trip, including empty ones and separators") {
  std::string key;
  EncodeSeriesKey(LabelValues<3>{"gpt-4o", "", "a\0b"}, &key);
  const auto values = DecodeSeriesKey<3>(key);
  CHECK(values[0] == "gpt-4o");
  CHECK(values[1] == "");
  CHECK(values[2] == std::string_view("a\0b", 1));  // string_view of a literal stops at NUL
}

TEST_CASE("SeriesKey: different splits of the same characters give different keys") {
  std::string a, b;
  EncodeSeriesKey(LabelValues<2>{"ab", "c"}, &a);
  EncodeSeriesKey(LabelValues<2>{"a", "bc"}, &b);
  CHECK(a != b);
}

TEST_CASE("SeriesKey: a 300-byte value keeps its length") {
  const std::string long_value(300, 'x');
  std::string key;
  EncodeSeriesKey(LabelValues<2>{long_value, "y"}, &key);
  const auto values = DecodeSeriesKey<2>(key);
  CHECK(values[0] == long_value);
  CHECK(values[1] == "y");
}

}  // namespace
}  // namespace llm_exporter::aggregate
