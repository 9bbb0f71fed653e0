#include "aggregate/series_key.h"

#include <doctest/doctest.h>

#include "aggregate/series_labels.h"

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

// Encodes `labels`, checks the key holds the values in kKeyOrder and decodes them back: the
// order a key is written in and the order its values are named in are the same one array.
template <typename Labels>
void CheckRoundTrip(const Labels& labels) {
  std::string key;
  EncodeLabels(labels, &key);
  std::string positional;
  LabelValues<Labels::kKeyOrder.size()> values;
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = labels.*Labels::kKeyOrder[i];
  EncodeSeriesKey(values, &positional);
  CHECK(key == positional);
  const Labels decoded = DecodeLabels<Labels>(key);
  for (const auto field : Labels::kKeyOrder) CHECK(decoded.*field == labels.*field);
}

TEST_CASE("SeriesKey: every labels struct round-trips field by field through its key") {
  CheckRoundTrip(RequestLabels{.model = "gpt-4o", .endpoint = "/chat", .status = "error"});
  CheckRoundTrip(DurationLabels{.model = "gpt-4o", .endpoint = "/chat"});
  CheckRoundTrip(ModelLabels{.model = "gpt-4o"});
  CheckRoundTrip(CostLabels{.model = "gpt-4o", .user_id = "alice", .team_id = "search"});
  CheckRoundTrip(QualityLabels{.model = "gpt-4o", .evaluator = "judge"});

  // The fields by name, not only through kKeyOrder.
  std::string key;
  EncodeLabels(CostLabels{.model = "m", .user_id = "u", .team_id = ""}, &key);
  const CostLabels cost = DecodeLabels<CostLabels>(key);
  CHECK(cost.model == "m");
  CHECK(cost.user_id == "u");
  CHECK(cost.team_id == "");
  EncodeLabels(RequestLabels{.model = "m", .endpoint = "/e", .status = "success"}, &key);
  const RequestLabels request = DecodeLabels<RequestLabels>(key);
  CHECK(request.model == "m");
  CHECK(request.endpoint == "/e");
  CHECK(request.status == "success");
}

}  // namespace
}  // namespace llm_exporter::aggregate
