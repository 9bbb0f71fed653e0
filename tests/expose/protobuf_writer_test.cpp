#include "expose/protobuf_writer.h"

#include <doctest/doctest.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/delimited_message_util.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "io/prometheus/client/metrics.pb.h"

namespace llm_exporter::expose {
namespace {

namespace pb = io::prometheus::client;

constexpr double kInf = std::numeric_limits<double>::infinity();

// Every MetricFamily of a delimited stream, parsed by libprotobuf; the stream must end cleanly
// after the last one.
std::vector<pb::MetricFamily> Parse(const std::string& bytes) {
  google::protobuf::io::ArrayInputStream input(bytes.data(), static_cast<int>(bytes.size()));
  std::vector<pb::MetricFamily> families;
  for (;;) {
    pb::MetricFamily family;
    bool clean_eof = false;
    if (!google::protobuf::util::ParseDelimitedFromZeroCopyStream(&family, &input, &clean_eof)) {
      CHECK(clean_eof);
      return families;
    }
    families.push_back(std::move(family));
  }
}

// The families as libprotobuf writes them: fields in number order, repeated scalars unpacked.
std::string Serialize(const std::vector<pb::MetricFamily>& families) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream output(&bytes);
    for (const pb::MetricFamily& family : families) {
      REQUIRE(google::protobuf::util::SerializeDelimitedToZeroCopyStream(family, &output));
    }
  }
  return bytes;
}

void CheckLabel(const pb::LabelPair& label, const std::string& name, const std::string& value) {
  CHECK(label.has_name());
  CHECK(label.name() == name);
  CHECK(label.has_value());
  CHECK(label.value() == value);
}

void CheckTimestamp(const google::protobuf::Timestamp& t, int64_t seconds, int32_t nanos) {
  CHECK(t.seconds() == seconds);
  CHECK(t.nanos() == nanos);
}

TEST_CASE("ProtobufWriter: the smallest family, byte for byte") {
  std::string out;
  ProtobufWriter w(&out);
  w.Family("g", MetricType::kGauge, "");
  w.Sample("g", {}, 1.0);
  w.Finish();
  // Length 20; name "g", empty help, type GAUGE, one Metric holding a Gauge with value 1.0.
  CHECK(out == std::string("\x14"
                           "\x0a\x01g"
                           "\x12\x00"
                           "\x18\x01"
                           "\x22\x0b\x12\x09\x09\x00\x00\x00\x00\x00\x00\xf0\x3f",
                           21));
}

TEST_CASE("ProtobufWriter: appends after what the string held; Finish() leaves nothing more") {
  std::string out = "before";
  ProtobufWriter w(&out);
  w.Family("g", MetricType::kGauge, "");
  w.Sample("g", {}, 1.0);
  w.Finish();
  REQUIRE(out.size() == 6 + 21);
  CHECK(out.substr(0, 6) == "before");
  const std::vector<pb::MetricFamily> families = Parse(out.substr(6));
  REQUIRE(families.size() == 1);
  CHECK(families[0].metric(0).gauge().value() == 1);
}

TEST_CASE("ProtobufWriter: counters with labels, exemplars and created times") {
  std::string out;
  ProtobufWriter w(&out);
  const Exemplar with_span{"4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 0.25,
                           1700000000.5};
  const Exemplar without_span{"0af7651916cd43dd8448eb211c80319c", "", 3, 1700000001.123};
  w.Family("llm_cost_usd_total", MetricType::kCounter, "Total cost in USD", "usd");
  w.Sample("llm_cost_usd_total", {{"model", "gpt-4o"}, {"user", "alice"}}, 0.0075,
           {.exemplar = &with_span, .created = 1699999999.25});
  w.Sample("llm_cost_usd_total", {{"model", "claude"}}, uint64_t{18446744073709551615u},
           {.exemplar = &without_span});
  w.Sample("llm_cost_usd_total", {}, uint64_t{0});
  w.Finish();

  const std::vector<pb::MetricFamily> families = Parse(out);
  REQUIRE(families.size() == 1);
  const pb::MetricFamily& f = families[0];
  CHECK(f.name() == "llm_cost_usd_total");
  CHECK(f.help() == "Total cost in USD");
  CHECK(f.has_type());
  CHECK(f.type() == pb::COUNTER);
  CHECK(f.unit() == "usd");
  REQUIRE(f.metric_size() == 3);

  const pb::Metric& first = f.metric(0);
  REQUIRE(first.label_size() == 2);
  CheckLabel(first.label(0), "model", "gpt-4o");
  CheckLabel(first.label(1), "user", "alice");
  CHECK_FALSE(first.has_gauge());
  CHECK_FALSE(first.has_histogram());
  REQUIRE(first.has_counter());
  CHECK(first.counter().value() == 0.0075);
  REQUIRE(first.counter().has_exemplar());
  const pb::Exemplar& e1 = first.counter().exemplar();
  REQUIRE(e1.label_size() == 2);
  CheckLabel(e1.label(0), "trace_id", "4bf92f3577b34da6a3ce929d0e0e4736");
  CheckLabel(e1.label(1), "span_id", "00f067aa0ba902b7");
  CHECK(e1.value() == 0.25);
  REQUIRE(e1.has_timestamp());
  CheckTimestamp(e1.timestamp(), 1700000000, 500'000'000);
  REQUIRE(first.counter().has_created_timestamp());
  CheckTimestamp(first.counter().created_timestamp(), 1699999999, 250'000'000);

  const pb::Metric& second = f.metric(1);
  REQUIRE(second.label_size() == 1);
  CheckLabel(second.label(0), "model", "claude");
  CHECK(second.counter().value() == 18446744073709551615.0);
  const pb::Exemplar& e2 = second.counter().exemplar();
  REQUIRE(e2.label_size() == 1);
  CheckLabel(e2.label(0), "trace_id", "0af7651916cd43dd8448eb211c80319c");
  CHECK(e2.value() == 3);
  // To the microsecond: the double 1700000001.123 is 1700000001.1229999 and a bit.
  CheckTimestamp(e2.timestamp(), 1700000001, 123'000'000);
  CHECK_FALSE(second.counter().has_created_timestamp());

  const pb::Metric& third = f.metric(2);
  CHECK(third.label_size() == 0);
  REQUIRE(third.has_counter());
  CHECK(third.counter().has_value());
  CHECK(third.counter().value() == 0);
  CHECK_FALSE(third.counter().has_exemplar());
  CHECK_FALSE(third.counter().has_created_timestamp());
}

TEST_CASE("ProtobufWriter: gauges carry their value and drop an exemplar") {
  std::string out;
  ProtobufWriter w(&out);
  const Exemplar exemplar{"4bf92f3577b34da6a3ce929d0e0e4736", "", 1, 1700000000};
  w.Family("llm_budget_remaining_usd", MetricType::kGauge, "Budget left", "usd");
  w.Sample("llm_budget_remaining_usd", {{"team", "a"}}, -12.5,
           {.exemplar = &exemplar, .created = 1700000000});
  w.Sample("llm_budget_remaining_usd", {{"team", "b"}}, uint64_t{7});
  w.Sample("llm_budget_remaining_usd", {{"team", "c"}}, std::nan(""));
  w.Sample("llm_budget_remaining_usd", {{"team", "d"}}, -kInf);
  w.Finish();

  const std::vector<pb::MetricFamily> families = Parse(out);
  REQUIRE(families.size() == 1);
  const pb::MetricFamily& f = families[0];
  CHECK(f.type() == pb::GAUGE);
  CHECK(f.unit() == "usd");
  REQUIRE(f.metric_size() == 4);
  CheckLabel(f.metric(0).label(0), "team", "a");
  CHECK_FALSE(f.metric(0).has_counter());
  REQUIRE(f.metric(0).has_gauge());
  CHECK(f.metric(0).gauge().value() == -12.5);
  CHECK(f.metric(1).gauge().value() == 7);
  CHECK(std::isnan(f.metric(2).gauge().value()));
  CHECK(f.metric(3).gauge().value() == -kInf);
  // Nothing but the label and the value: the exemplar and created time left no bytes.
  CHECK(f.metric(0).ByteSizeLong() == 11 + 11);  // the label pair, the gauge
}

TEST_CASE("ProtobufWriter: a classic histogram: cumulative finite buckets, no native fields") {
  const std::vector<double> bounds{0.1, 1, 10};
  const std::vector<std::string> les{"0.1", "1.0", "10.0", "+Inf"};
  const BucketBounds buckets{bounds, les};
  const std::vector<uint64_t> counts{1, 2, 0, 4};
  const Exemplar in_second{"0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", 0.5,
                           1700000002.75};
  const std::vector<const Exemplar*> exemplars{nullptr, &in_second, nullptr, nullptr};

  std::string out;
  ProtobufWriter w(&out);
  w.Family("llm_request_duration_seconds", MetricType::kHistogram, "Latency", "seconds");
  w.Histogram("llm_request_duration_seconds", {{"model", "gpt-4o"}}, buckets,
              {.counts = counts, .sum = 41.5, .exemplars = exemplars, .created = 1690000000});
  w.Histogram("llm_request_duration_seconds", {{"model", "empty"}}, buckets,
              {.counts = std::vector<uint64_t>(4, 0), .exemplars = {}});
  w.Finish();

  const std::vector<pb::MetricFamily> families = Parse(out);
  REQUIRE(families.size() == 1);
  const pb::MetricFamily& f = families[0];
  CHECK(f.name() == "llm_request_duration_seconds");
  CHECK(f.type() == pb::HISTOGRAM);
  CHECK(f.unit() == "seconds");
  REQUIRE(f.metric_size() == 2);

  const pb::Metric& m = f.metric(0);
  CheckLabel(m.label(0), "model", "gpt-4o");
  CHECK_FALSE(m.has_counter());
  CHECK_FALSE(m.has_gauge());
  REQUIRE(m.has_histogram());
  const pb::Histogram& h = m.histogram();
  CHECK(h.sample_count() == 7);
  CHECK(h.sample_sum() == 41.5);
  REQUIRE(h.bucket_size() == 3);
  CHECK(h.bucket(0).cumulative_count() == 1);
  CHECK(h.bucket(0).upper_bound() == 0.1);
  CHECK_FALSE(h.bucket(0).has_exemplar());
  CHECK(h.bucket(1).cumulative_count() == 3);
  CHECK(h.bucket(1).upper_bound() == 1);
  REQUIRE(h.bucket(1).has_exemplar());
  const pb::Exemplar& e = h.bucket(1).exemplar();
  REQUIRE(e.label_size() == 2);
  CheckLabel(e.label(0), "trace_id", "0af7651916cd43dd8448eb211c80319c");
  CheckLabel(e.label(1), "span_id", "b7ad6b7169203331");
  CHECK(e.value() == 0.5);
  CheckTimestamp(e.timestamp(), 1700000002, 750'000'000);
  CHECK(h.bucket(2).cumulative_count() == 3);
  CHECK(h.bucket(2).upper_bound() == 10);
  CHECK_FALSE(h.bucket(2).has_exemplar());
  REQUIRE(h.has_created_timestamp());
  CheckTimestamp(h.created_timestamp(), 1690000000, 0);
  // Classic only: a field of the native histogram would make Prometheus read it as native.
  CHECK_FALSE(h.has_schema());
  CHECK_FALSE(h.has_zero_threshold());
  CHECK_FALSE(h.has_zero_count());
  CHECK(h.positive_span_size() == 0);
  CHECK(h.negative_span_size() == 0);
  CHECK(h.positive_delta_size() == 0);
  CHECK(h.negative_delta_size() == 0);
  CHECK(h.exemplars_size() == 0);

  const pb::Histogram& empty = f.metric(1).histogram();
  CHECK(empty.has_sample_count());
  CHECK(empty.sample_count() == 0);
  CHECK(empty.has_sample_sum());
  CHECK(empty.sample_sum() == 0);
  REQUIRE(empty.bucket_size() == 3);
  CHECK(empty.bucket(2).has_cumulative_count());
  CHECK(empty.bucket(2).cumulative_count() == 0);
  CHECK_FALSE(empty.has_created_timestamp());

  // Byte for byte what libprotobuf writes for the same messages (less the unit, which this
  // writer puts ahead of the metrics).
  pb::MetricFamily without_unit = f;
  without_unit.clear_unit();
  std::string again;
  ProtobufWriter again_writer(&again);
  again_writer.Family("llm_request_duration_seconds", MetricType::kHistogram, "Latency");
  again_writer.Histogram("llm_request_duration_seconds", {{"model", "gpt-4o"}}, buckets,
                         {.counts = counts, .sum = 41.5, .exemplars = exemplars,
                          .created = 1690000000});
  again_writer.Histogram("llm_request_duration_seconds", {{"model", "empty"}}, buckets,
                         {.counts = std::vector<uint64_t>(4, 0), .exemplars = {}});
  again_writer.Finish();
  CHECK(again == Serialize({without_unit}));
}

TEST_CASE("ProtobufWriter: an exemplar in the +Inf bucket comes in an explicit +Inf bucket") {
  const std::vector<double> bounds{1, 2};
  const std::vector<std::string> les{"1.0", "2.0", "+Inf"};
  const std::vector<uint64_t> counts{3, 0, 5};
  const Exemplar slow{"4bf92f3577b34da6a3ce929d0e0e4736", "", 42, 1700000000};
  const Exemplar fast{"0af7651916cd43dd8448eb211c80319c", "", 0.5, 1700000000};
  const std::vector<const Exemplar*> exemplars{&fast, nullptr, &slow};

  std::string out;
  ProtobufWriter w(&out);
  w.Family("h", MetricType::kHistogram, "");
  w.Histogram("h", {}, {bounds, les}, {.counts = counts, .sum = 300, .exemplars = exemplars});
  w.Finish();

  const std::vector<pb::MetricFamily> families = Parse(out);
  REQUIRE(families.size() == 1);
  const pb::Histogram& h = families[0].metric(0).histogram();
  CHECK(h.sample_count() == 8);
  REQUIRE(h.bucket_size() == 3);
  CHECK(h.bucket(0).exemplar().value() == 0.5);
  CHECK(h.bucket(1).cumulative_count() == 3);
  CHECK(h.bucket(2).cumulative_count() == 8);
  CHECK(h.bucket(2).upper_bound() == kInf);
  REQUIRE(h.bucket(2).exemplar().label_size() == 1);
  CheckLabel(h.bucket(2).exemplar().label(0), "trace_id", "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(h.bucket(2).exemplar().value() == 42);
  CheckTimestamp(h.bucket(2).exemplar().timestamp(), 1700000000, 0);
  CHECK(h.exemplars_size() == 0);
  CHECK(out == Serialize(families));
}

TEST_CASE("ProtobufWriter: native buckets as spans and zigzag deltas beside the classic ones") {
  const std::vector<double> bounds{1};
  const std::vector<std::string> les{"1.0", "+Inf"};
  const std::vector<uint64_t> counts{4, 6};
  aggregate::NativeHistogramValue native;
  native.schema = -4;
  native.zero_threshold = 1e-128;
  native.zero_count = 2;
  native.positive_spans = {{-2, 2}, {3, 1}};
  native.positive_deltas = {1, 2, -3};
  native.negative_spans = {{0, 1}};
  native.negative_deltas = {-9223372036854775807 - 1};

  std::string out;
  ProtobufWriter w(&out);
  w.Family("n", MetricType::kHistogram, "native");
  w.Histogram("n", {{"model", "m"}}, {bounds, les},
              {.counts = counts, .sum = 12.5, .exemplars = {}, .created = 1700000000.5,
               .native = &native});
  w.Finish();

  const std::vector<pb::MetricFamily> families = Parse(out);
  REQUIRE(families.size() == 1);
  const pb::Histogram& h = families[0].metric(0).histogram();
  CHECK(h.sample_count() == 10);
  CHECK(h.sample_sum() == 12.5);
  REQUIRE(h.bucket_size() == 1);
  CHECK(h.bucket(0).cumulative_count() == 4);
  CHECK(h.bucket(0).upper_bound() == 1);
  CHECK(h.has_schema());
  CHECK(h.schema() == -4);
  CHECK(h.zero_threshold() == 1e-128);
  CHECK(h.zero_count() == 2);
  REQUIRE(h.positive_span_size() == 2);
  CHECK(h.positive_span(0).offset() == -2);
  CHECK(h.positive_span(0).length() == 2);
  CHECK(h.positive_span(1).offset() == 3);
  CHECK(h.positive_span(1).length() == 1);
  REQUIRE(h.positive_delta_size() == 3);
  CHECK(h.positive_delta(0) == 1);
  CHECK(h.positive_delta(1) == 2);
  CHECK(h.positive_delta(2) == -3);
  REQUIRE(h.negative_span_size() == 1);
  CHECK(h.negative_span(0).has_offset());
  CHECK(h.negative_span(0).offset() == 0);
  CHECK(h.negative_span(0).length() == 1);
  REQUIRE(h.negative_delta_size() == 1);
  CHECK(h.negative_delta(0) == std::numeric_limits<int64_t>::min());
  CheckTimestamp(h.created_timestamp(), 1700000000, 500'000'000);
  CHECK(out == Serialize(families));
}

TEST_CASE("ProtobufWriter: an empty native histogram gets the no-op span that marks it native") {
  const std::vector<double> bounds{1};
  const std::vector<std::string> les{"1.0", "+Inf"};
  const std::vector<uint64_t> counts{0, 0};
  aggregate::NativeHistogramValue native;
  native.schema = 3;

  std::string out;
  ProtobufWriter w(&out);
  w.Family("n", MetricType::kHistogram, "");
  w.Histogram("n", {}, {bounds, les}, {.counts = counts, .exemplars = {}, .native = &native});
  w.Finish();

  const std::vector<pb::MetricFamily> families = Parse(out);
  REQUIRE(families.size() == 1);
  const pb::Histogram& h = families[0].metric(0).histogram();
  CHECK(h.schema() == 3);
  CHECK(h.has_zero_threshold());
  CHECK(h.zero_threshold() == 0);
  CHECK(h.has_zero_count());
  CHECK(h.zero_count() == 0);
  REQUIRE(h.positive_span_size() == 1);
  CHECK(h.positive_span(0).has_offset());
  CHECK(h.positive_span(0).offset() == 0);
  CHECK(h.positive_span(0).has_length());
  CHECK(h.positive_span(0).length() == 0);
  CHECK(h.positive_delta_size() == 0);
  CHECK(h.negative_span_size() == 0);
}

TEST_CASE("ProtobufWriter: families without samples are left out, as client_golang leaves them") {
  std::string out;
  ProtobufWriter w(&out);
  w.Finish();
  CHECK(out.empty());

  w.Family("first_empty", MetricType::kCounter, "no series yet", "usd");
  w.Family("kept", MetricType::kGauge, "one series");
  w.Sample("kept", {}, 1.0);
  w.Family("middle_empty", MetricType::kHistogram, "none either");
  w.Family("also_kept", MetricType::kCounter, "");
  w.Sample("also_kept", {{"a", "b"}}, uint64_t{2});
  w.Family("last_empty", MetricType::kGauge, "nor here");
  w.Finish();

  const std::vector<pb::MetricFamily> families = Parse(out);
  REQUIRE(families.size() == 2);
  CHECK(families[0].name() == "kept");
  CHECK(families[0].help() == "one series");
  CHECK(families[0].metric(0).gauge().value() == 1);
  CHECK(families[1].name() == "also_kept");
  CHECK(families[1].has_help());
  CHECK(families[1].help().empty());
  CHECK(families[1].type() == pb::COUNTER);
  CHECK_FALSE(families[1].has_unit());
  CHECK(families[1].metric(0).counter().value() == 2);
  CHECK(out == Serialize(families));
}

TEST_CASE("ProtobufWriter: label values and help pass through unchanged, UTF-8 and all") {
  const std::string odd = "mod\xC3\xA8le \xE6\xA8\xA1\xE5\x9E\x8B \xF0\x9F\xA4\x96 \"quoted\"\n"
                          "line two \\ backslash";
  std::string out;
  ProtobufWriter w(&out);
  w.Family("m", MetricType::kGauge, "help with \"quotes\",\na newline and \\");
  w.Sample("m", {{"model", odd}, {"empty", ""}}, 1.0);
  w.Finish();

  const std::vector<pb::MetricFamily> families = Parse(out);
  REQUIRE(families.size() == 1);
  CHECK(families[0].help() == "help with \"quotes\",\na newline and \\");
  REQUIRE(families[0].metric(0).label_size() == 2);
  CheckLabel(families[0].metric(0).label(0), "model", odd);
  CheckLabel(families[0].metric(0).label(1), "empty", "");
  CHECK(out == Serialize(families));
}

TEST_CASE("ProtobufWriter: lengths of two and three bytes, from labels to whole families") {
  // A 200-byte label value puts the label pair and metric past one-byte lengths, 20,000 bytes
  // the family past two; many small metrics make a family of three-byte length from short ones.
  const std::string two(200, 'x');
  const std::string three(20'000, 'y');
  std::string out;
  ProtobufWriter w(&out);
  w.Family("long_labels", MetricType::kCounter, std::string(300, 'h'));
  w.Sample("long_labels", {{"a", two}}, 1.0);
  w.Sample("long_labels", {{"b", three}}, 2.0);
  w.Family("many", MetricType::kCounter, "");
  for (int i = 0; i < 10'000; ++i) {
    const std::string user = "user" + std::to_string(i);
    w.Sample("many", {{"user", user}}, static_cast<double>(i));
  }
  w.Finish();

  const std::vector<pb::MetricFamily> families = Parse(out);
  REQUIRE(families.size() == 2);
  CHECK(families[0].help() == std::string(300, 'h'));
  CheckLabel(families[0].metric(0).label(0), "a", two);
  CheckLabel(families[0].metric(1).label(0), "b", three);
  CHECK(families[0].metric(1).counter().value() == 2);
  REQUIRE(families[1].metric_size() == 10'000);
  CheckLabel(families[1].metric(9'999).label(0), "user", "user9999");
  CHECK(families[1].metric(9'999).counter().value() == 9999);
  CHECK(families[1].ByteSizeLong() > 1u << 14);
  CHECK(out == Serialize(families));
}

TEST_CASE("ProtobufWriter: times before the epoch, rounding up to the next second, and NaN") {
  const Exemplar before{"t", "", 1, -1.5};
  const Exemplar almost{"t", "", 1, 1700000000.9999996};
  const Exemplar nan{"t", "", 1, std::nan("")};
  std::string out;
  ProtobufWriter w(&out);
  w.Family("c", MetricType::kCounter, "");
  w.Sample("c", {}, 1.0, {.exemplar = &before, .created = 0.000001});
  w.Sample("c", {}, 1.0, {.exemplar = &almost});
  w.Sample("c", {}, 1.0, {.exemplar = &nan});
  w.Finish();

  const std::vector<pb::MetricFamily> families = Parse(out);
  REQUIRE(families.size() == 1);
  REQUIRE(families[0].metric_size() == 3);
  CheckTimestamp(families[0].metric(0).counter().exemplar().timestamp(), -2, 500'000'000);
  CheckTimestamp(families[0].metric(0).counter().created_timestamp(), 0, 1'000);
  CheckTimestamp(families[0].metric(1).counter().exemplar().timestamp(), 1700000001, 0);
  CHECK(families[0].metric(2).counter().exemplar().has_timestamp());
  CheckTimestamp(families[0].metric(2).counter().exemplar().timestamp(), 0, 0);
}

}  // namespace
}  // namespace llm_exporter::expose
