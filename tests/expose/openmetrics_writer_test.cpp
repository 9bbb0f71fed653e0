#include "expose/openmetrics_writer.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace llm_exporter::expose {
namespace {

TEST_CASE("OpenMetricsWriter: counters drop _total from the family, carry exemplars and _created") {
  std::string out;
  OpenMetricsWriter w(&out);
  w.Family("llm_requests_total", MetricType::kCounter, "Total \"LLM\" requests");
  const Exemplar exemplar{"4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 1, 1800000000.5};
  w.Sample("llm_requests_total", {{"model", "gpt-4o"}}, uint64_t{3},
           SampleExtras{&exemplar, 1799999999.25});
  const Exemplar no_span{"abc", "", 0.0075, 1800000001};
  w.Family("llm_cost_usd_total", MetricType::kCounter, "Total cost in USD", "usd");
  w.Sample("llm_cost_usd_total", {{"model", "m"}}, 0.0075, SampleExtras{&no_span, 0});
  w.Family("llm_exporter_series", MetricType::kGauge, "Series held.");
  w.Sample("llm_exporter_series", {{"family", "requests"}}, uint64_t{2},
           SampleExtras{&exemplar, 17});  // a gauge has neither
  w.Finish();
  CHECK(out ==
        "# HELP llm_requests Total \\\"LLM\\\" requests\n"
        "# TYPE llm_requests counter\n"
        "llm_requests_total{model=\"gpt-4o\"} 3 # {trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\","
        "span_id=\"00f067aa0ba902b7\"} 1 1800000000.5\n"
        "llm_requests_created{model=\"gpt-4o\"} 1799999999.25\n"
        "# HELP llm_cost_usd Total cost in USD\n"
        "# TYPE llm_cost_usd counter\n"
        "# UNIT llm_cost_usd usd\n"
        "llm_cost_usd_total{model=\"m\"} 0.0075 # {trace_id=\"abc\"} 0.0075 1800000001\n"
        "# HELP llm_exporter_series Series held.\n"
        "# TYPE llm_exporter_series gauge\n"
        "llm_exporter_series{family=\"requests\"} 2\n"
        "# EOF\n");
}

TEST_CASE("OpenMetricsWriter: a counter without _total is written as unknown, its name kept") {
  std::string out;
  OpenMetricsWriter w(&out);
  w.Family("odd_counter", MetricType::kCounter, "h");
  w.Sample("odd_counter", {}, 1.0, SampleExtras{nullptr, 5});
  CHECK(out == "# HELP odd_counter h\n# TYPE odd_counter unknown\nodd_counter 1\n");
}

TEST_CASE("OpenMetricsWriter: histogram buckets as the text format, exemplars, count, sum, created") {
  std::string out;
  OpenMetricsWriter w(&out);
  const std::vector<double> bounds = {0.5, 1};
  const std::vector<std::string> les = {"0.5", "1.0", "+Inf"};
  const std::vector<uint64_t> counts = {1, 0, 2};
  const Exemplar low{"t1", "s1", 0.25, 1800000000};
  const Exemplar high{"t2", "", 40, 1800000002};
  const std::vector<const Exemplar*> exemplars = {&low, nullptr, &high};
  w.Family("llm_request_duration_seconds", MetricType::kHistogram, "Request latency", "seconds");
  HistogramSample sample;
  sample.counts = counts;
  sample.sum = 80.25;
  sample.exemplars = exemplars;
  sample.created = 1700000000;
  w.Histogram("llm_request_duration_seconds", {{"model", "m"}}, BucketBounds{bounds, les}, sample);
  w.Finish();
  CHECK(out ==
        "# HELP llm_request_duration_seconds Request latency\n"
        "# TYPE llm_request_duration_seconds histogram\n"
        "# UNIT llm_request_duration_seconds seconds\n"
        "llm_request_duration_seconds_bucket{model=\"m\",le=\"0.5\"} 1 "
        "# {trace_id=\"t1\",span_id=\"s1\"} 0.25 1800000000\n"
        "llm_request_duration_seconds_bucket{model=\"m\",le=\"1.0\"} 1\n"
        "llm_request_duration_seconds_bucket{model=\"m\",le=\"+Inf\"} 3 "
        "# {trace_id=\"t2\"} 40 1800000002\n"
        "llm_request_duration_seconds_count{model=\"m\"} 3\n"
        "llm_request_duration_seconds_sum{model=\"m\"} 80.25\n"
        "llm_request_duration_seconds_created{model=\"m\"} 1700000000\n"
        "# EOF\n");
}

TEST_CASE("OpenMetricsWriter: a unit that is not the name's suffix is left out") {
  std::string out;
  OpenMetricsWriter w(&out);
  w.Family("llm_quality_score", MetricType::kHistogram, "h", "seconds");
  CHECK(out == "# HELP llm_quality_score h\n# TYPE llm_quality_score histogram\n");
}

}  // namespace
}  // namespace llm_exporter::expose
