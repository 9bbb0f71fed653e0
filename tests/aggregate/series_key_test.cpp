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

TEST_CASE("SeriesKey: a key's prefix holding its first values is the key of those values") {
  std::string key, two, one, none;
  EncodeSeriesKey(LabelValues<3>{"gpt-4o", "/chat", "success"}, &key);
  EncodeSeriesKey(LabelValues<2>{"gpt-4o", "/chat"}, &two);
  EncodeSeriesKey(LabelValues<1>{"gpt-4o"}, &one);
  CHECK(SeriesKeyPrefix(key, 3) == key);
  CHECK(SeriesKeyPrefix(key, 2) == two);
  CHECK(SeriesKeyPrefix(key, 1) == one);
  CHECK(SeriesKeyPrefix(key, 0) == none);
  std::string empty_values, empty_first;
  EncodeSeriesKey(LabelValues<2>{"", ""}, &empty_values);
  EncodeSeriesKey(LabelValues<1>{""}, &empty_first);
  CHECK(SeriesKeyPrefix(empty_values, 1) == empty_first);
}

TEST_CASE("SeriesKey: the keys RecordCall takes as prefixes are prefixes of the request key") {
  // The store finds model and duration series by prefixes of the request key.
  const RequestLabels request{.model = "gpt-4o", .endpoint = "/chat", .status = "error"};
  std::string request_key, duration_key, model_key;
  EncodeLabels(request, &request_key);
  EncodeLabels(DurationLabels{.model = "gpt-4o", .endpoint = "/chat"}, &duration_key);
  EncodeLabels(ModelLabels{.model = "gpt-4o"}, &model_key);
  CHECK(SeriesKeyPrefix(request_key, DurationLabels::kKeyOrder.size()) == duration_key);
  CHECK(SeriesKeyPrefix(request_key, ModelLabels::kKeyOrder.size()) == model_key);
  CHECK(KeyStartsWith(request, DurationLabels{.model = "gpt-4o", .endpoint = "/chat"}));
  CHECK_FALSE(KeyStartsWith(request, DurationLabels{.model = "/chat", .endpoint = "gpt-4o"}));
  CHECK_FALSE(KeyStartsWith(CostLabels{.model = "m", .user_id = "u", .team_id = "t"},
                            QualityLabels{.model = "m", .evaluator = "t"}));
}

}  // namespace
}  // namespace llm_exporter::aggregate
