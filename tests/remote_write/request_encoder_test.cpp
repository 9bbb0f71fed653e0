#include "remote_write/request_encoder.h"

#include <doctest/doctest.h>
#include <snappy.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "aggregate/series_store.h"
#include "expose/metrics_renderer.h"
#include "expose/metrics_walk.h"
#include "fakes/fake_clock.h"
#include "prometheus/remote_write.pb.h"
#include "telemetry/agent_metrics.h"

namespace llm_exporter::remote_write {
namespace {

// Every request decoded with the schema's generated classes.
std::vector<prometheus::WriteRequest> Decode(const std::vector<EncodedRequest>& requests) {
  std::vector<prometheus::WriteRequest> out;
  for (const EncodedRequest& request : requests) {
    std::string raw;
    REQUIRE(snappy::Uncompress(request.body.data(), request.body.size(), &raw));
    prometheus::WriteRequest message;
    REQUIRE(message.ParseFromString(raw));
    CHECK(static_cast<std::size_t>(message.timeseries_size()) == request.samples);
    CHECK(static_cast<std::size_t>(message.metadata_size()) == request.metadata);
    out.push_back(std::move(message));
  }
  return out;
}

// "name{a=\"x\",b=\"y\"}" of a series, its labels in the order sent; checks they are sorted.
std::string SeriesText(const prometheus::TimeSeries& series) {
  std::string name;
  std::string labels;
  for (int i = 0; i < series.labels_size(); ++i) {
    const auto& label = series.labels(i);
    if (i > 0) CHECK(series.labels(i - 1).name() < label.name());
    if (label.name() == "__name__") {
      name = label.value();
      continue;
    }
    labels += (labels.empty() ? "" : ",") + label.name() + "=\"" + label.value() + "\"";
  }
  return name + "{" + labels + "}";
}

struct Fixture {
  testing::FakeClock clock;
  aggregate::SeriesStore store{{}, clock};
  telemetry::AgentMetrics agent_metrics;
  expose::MetricsRenderer renderer{store, agent_metrics, clock};

  Fixture() {
    LlmCall call;
    call.model = "gpt-4o";
    call.endpoint = "/chat";
    call.user_id = "alice";
    call.team_id = "search";
    call.input_tokens = 1000;
    call.output_tokens = 500;
    call.latency_seconds = 0.8;
    store.RecordCall(call, 7'500'000'000, false);
    call.latency_seconds = 3;
    store.RecordCall(call, 7'500'000'000, false);
  }

  EncoderOptions Options() const {
    EncoderOptions options;
    options.external_labels = {{"instance", "host-a:9464"}, {"job", "llm_exporter"}};
    options.timestamp_ms = 1'800'000'000'123;
    return options;
  }
};

TEST_CASE("RequestEncoder: every sample of /metrics, with external labels, sorted, one timestamp") {
  Fixture f;
  std::vector<EncodedRequest> requests;
  RequestEncoder encoder(f.Options(), nullptr, &requests);
  f.renderer.WriteAll(encoder);
  REQUIRE(requests.size() == 1);  // under 2000 samples
  const auto decoded = Decode(requests);
  std::map<std::string, double> values;
  for (const auto& series : decoded[0].timeseries()) {
    REQUIRE(series.samples_size() == 1);
    CHECK(series.samples(0).timestamp() == 1'800'000'000'123);
    values[SeriesText(series)] = series.samples(0).value();
  }
  CHECK(values.size() == encoder.samples());
  const std::string ext = "instance=\"host-a:9464\",job=\"llm_exporter\"";
  CHECK(values.at("llm_requests_total{endpoint=\"/chat\"," + ext +
                  ",model=\"gpt-4o\",status=\"success\"}") == 2);
  CHECK(values.at("llm_cost_usd_total{" + ext +
                  ",model=\"gpt-4o\",team_id=\"search\",user_id=\"alice\"}") ==
        doctest::Approx(0.015));
  CHECK(values.at("llm_tokens_total{direction=\"input\"," + ext + ",model=\"gpt-4o\"}") == 2000);
  // Classic buckets, cumulative, +Inf last; _sum and _count.
  const std::string d = "{endpoint=\"/chat\"," + ext;
  CHECK(values.at("llm_request_duration_seconds_bucket" + d + ",le=\"0.5\",model=\"gpt-4o\"}") == 0);
  CHECK(values.at("llm_request_duration_seconds_bucket" + d + ",le=\"1.0\",model=\"gpt-4o\"}") == 1);
  CHECK(values.at("llm_request_duration_seconds_bucket" + d + ",le=\"5.0\",model=\"gpt-4o\"}") == 2);
  CHECK(values.at("llm_request_duration_seconds_bucket" + d + ",le=\"+Inf\",model=\"gpt-4o\"}") == 2);
  CHECK(values.at("llm_request_duration_seconds_sum" + d + ",model=\"gpt-4o\"}") ==
        doctest::Approx(3.8));
  CHECK(values.at("llm_request_duration_seconds_count" + d + ",model=\"gpt-4o\"}") == 2);
  // 500 tokens in 0.8 s and in 3 s: 625 and 166.67 tokens/s.
  const std::string tps = "llm_output_tokens_per_second_bucket" + d;
  CHECK(values.at(tps + ",le=\"150.0\",model=\"gpt-4o\"}") == 0);
  CHECK(values.at(tps + ",le=\"200.0\",model=\"gpt-4o\"}") == 1);
  CHECK(values.at(tps + ",le=\"500.0\",model=\"gpt-4o\"}") == 1);
  CHECK(values.at(tps + ",le=\"+Inf\",model=\"gpt-4o\"}") == 2);
  CHECK(values.at("llm_tokens_by_kind_total{" + ext + ",kind=\"reasoning\",model=\"gpt-4o\"}") == 0);
  // The agent's own metrics and the process metrics come too.
  CHECK(values.at("llm_exporter_series{family=\"requests\"," + ext + "}") == 1);
  bool process = false;
  for (const auto& [series, value] : values) process = process || series.starts_with("process_");
  CHECK(process);
}

TEST_CASE("RequestEncoder: max_samples_per_send splits the requests; metadata comes first") {
  Fixture f;
  EncoderOptions options = f.Options();
  options.max_samples_per_send = 7;
  options.metadata = true;
  std::vector<EncodedRequest> requests;
  RequestEncoder encoder(options, nullptr, &requests);
  f.renderer.WriteAll(encoder);
  const auto decoded = Decode(requests);
  REQUIRE(decoded.size() >= 3);
  CHECK(requests[0].samples == 0);
  std::map<std::string, const prometheus::MetricMetadata*> metadata;
  for (const auto& m : decoded[0].metadata()) metadata[m.metric_family_name()] = &m;
  REQUIRE(metadata.count("llm_requests_total") == 1);
  CHECK(metadata["llm_requests_total"]->type() == prometheus::MetricMetadata::COUNTER);
  CHECK(metadata["llm_requests_total"]->help() == "Total LLM requests");
  CHECK(metadata["llm_request_duration_seconds"]->type() == prometheus::MetricMetadata::HISTOGRAM);
  CHECK(metadata["llm_request_duration_seconds"]->unit() == "seconds");
  CHECK(metadata["llm_exporter_series"]->type() == prometheus::MetricMetadata::GAUGE);
  std::size_t samples = 0;
  for (std::size_t i = 1; i < requests.size(); ++i) {
    CHECK(requests[i].samples <= 7);
    CHECK(requests[i].metadata == 0);
    if (i + 1 < requests.size()) CHECK(requests[i].samples == 7);
    samples += requests[i].samples;
  }
  CHECK(samples == encoder.samples());
}

TEST_CASE("RequestEncoder: staleness markers; relabeling by name drops whole families") {
  Fixture f;
  EncoderOptions options = f.Options();
  options.stale = true;
  config::WriteRelabelRule rule;
  rule.source_labels = {"__name__"};
  rule.regex = "llm_exporter_.*|process_.*";
  rule.action = config::WriteRelabelRule::Action::kDrop;
  WriteRelabel relabel({rule});
  std::vector<EncodedRequest> requests;
  RequestEncoder encoder(options, &relabel, &requests);
  f.renderer.WriteAll(encoder);
  const auto decoded = Decode(requests);
  REQUIRE(decoded.size() == 1);
  // The LLM families only: requests, tokens (2), token kinds (3), cost, duration (10) and output
  // tokens per second (14; the calls have no ttft, so no time per output token).
  CHECK(encoder.samples() == 31);
  for (const auto& series : decoded[0].timeseries()) {
    const std::string text = SeriesText(series);
    CHECK_FALSE(text.starts_with("llm_exporter_"));
    CHECK_FALSE(text.starts_with("process_"));
    CHECK(IsStaleNan(series.samples(0).value()));
  }
  CHECK(std::isnan(StaleNan()));
  CHECK_FALSE(IsStaleNan(std::nan("")));
}

TEST_CASE("RequestEncoder: the series an Expire() dropped, as staleness markers") {
  testing::FakeClock clock;
  aggregate::StoreOptions store_options;
  store_options.ttl = std::chrono::seconds(60);
  aggregate::SeriesStore store(store_options, clock);
  telemetry::AgentMetrics agent_metrics;
  expose::MetricsRenderer renderer(store, agent_metrics, clock);
  LlmCall call;
  call.model = "old";
  call.endpoint = "/e";
  call.latency_seconds = 1;
  store.RecordCall(call, 1, false);
  clock.Advance(std::chrono::seconds(61));
  call.model = "new";
  store.RecordCall(call, 1, false);
  aggregate::ExpiredSeries expired;
  CHECK(store.Expire(&expired) == 4);  // requests, duration, model, cost of "old"
  CHECK(expired.size() == 4);

  EncoderOptions options;
  options.stale = true;
  std::vector<EncodedRequest> requests;
  RequestEncoder encoder(options, nullptr, &requests);
  renderer.WriteLlmFamilies(expired, encoder);
  encoder.Finish();
  const auto decoded = Decode(requests);
  REQUIRE(decoded.size() == 1);
  std::vector<std::string> names;
  for (const auto& series : decoded[0].timeseries()) {
    const std::string text = SeriesText(series);
    CHECK(text.find("model=\"old\"") != std::string::npos);
    CHECK(IsStaleNan(series.samples(0).value()));
    names.push_back(text.substr(0, text.find('{')));
  }
  // llm_requests_total, tokens in and out, the three token kinds, cost, 8 duration buckets + sum
  // + count; the model had no ttft, no output tokens and no cache outcome, so those families
  // have no series to end.
  CHECK(names.size() == 1 + 2 + 3 + 1 + 8 + 2);
}

TEST_CASE("RequestEncoder: dropped labels are left out of the series sent") {
  testing::FakeClock clock;
  aggregate::StoreOptions store_options;
  aggregate::ParseDropLabels("llm_requests_total:endpoint,llm_request_duration_seconds:endpoint",
                             &store_options.labels);
  aggregate::SeriesStore store(store_options, clock);
  telemetry::AgentMetrics agent_metrics;
  expose::MetricsRenderer renderer(store, agent_metrics, clock);
  LlmCall call;
  call.model = "m";
  call.latency_seconds = 1;
  for (const char* endpoint : {"/a", "/b"}) {
    call.endpoint = endpoint;
    store.RecordCall(call, 1, false);
  }
  EncoderOptions options;
  std::vector<EncodedRequest> requests;
  RequestEncoder encoder(options, nullptr, &requests);
  renderer.WriteLlmFamilies(store, encoder);
  encoder.Finish();
  const auto decoded = Decode(requests);
  REQUIRE(decoded.size() == 1);
  std::map<std::string, double> values;
  for (const auto& series : decoded[0].timeseries()) {
    values[SeriesText(series)] = series.samples(0).value();
  }
  CHECK(values.at("llm_requests_total{model=\"m\",status=\"success\"}") == 2);
  CHECK(values.at("llm_request_duration_seconds_count{model=\"m\"}") == 2);
  for (const auto& [text, value] : values) CHECK(text.find("endpoint") == std::string::npos);
}

TEST_CASE("RequestEncoder: the proxy's upstream series, and staleness markers when they expire") {
  testing::FakeClock clock;
  aggregate::StoreOptions store_options;
  store_options.ttl = std::chrono::seconds(60);
  aggregate::SeriesStore store(store_options, clock);
  telemetry::AgentMetrics agent_metrics;
  expose::MetricsRenderer renderer(store, agent_metrics, clock);
  UpstreamObservation o;
  o.upstream = "openai";
  o.model = "gpt-4o";
  o.outcome = ProxyOutcome::kRateLimited;
  o.rate_limits.remaining[static_cast<std::size_t>(RateLimitResource::kRequests)] = 0;
  o.rate_limits.limit[static_cast<std::size_t>(RateLimitResource::kRequests)] = 500;
  store.RecordUpstream(o);

  std::map<std::string, double> values;
  {
    std::vector<EncodedRequest> requests;
    RequestEncoder encoder(EncoderOptions{}, nullptr, &requests);
    renderer.WriteLlmFamilies(store, encoder);
    encoder.Finish();
    for (const auto& request : Decode(requests)) {
      for (const auto& series : request.timeseries()) {
        values[SeriesText(series)] = series.samples(0).value();
      }
    }
  }
  CHECK(values == std::map<std::string, double>{
                      {"llm_client_retries_total{model=\"gpt-4o\",upstream=\"openai\"}", 0},
                      {"llm_proxy_requests_total{model=\"gpt-4o\",outcome=\"rate_limited\","
                       "upstream=\"openai\"}",
                       1},
                      {"llm_ratelimit_limit{model=\"gpt-4o\",resource=\"requests\","
                       "upstream=\"openai\"}",
                       500},
                      {"llm_ratelimit_remaining{model=\"gpt-4o\",resource=\"requests\","
                       "upstream=\"openai\"}",
                       0}});

  clock.Advance(std::chrono::seconds(61));
  aggregate::ExpiredSeries expired;
  CHECK(store.Expire(&expired) == 1);
  EncoderOptions options;
  options.stale = true;
  std::vector<EncodedRequest> requests;
  RequestEncoder encoder(options, nullptr, &requests);
  renderer.WriteLlmFamilies(expired, encoder);
  encoder.Finish();
  std::vector<std::string> ended;
  for (const auto& request : Decode(requests)) {
    for (const auto& series : request.timeseries()) {
      CHECK(IsStaleNan(series.samples(0).value()));
      ended.push_back(SeriesText(series));
    }
  }
  std::sort(ended.begin(), ended.end());
  std::vector<std::string> expected;
  for (const auto& [text, value] : values) expected.push_back(text);
  CHECK(ended == expected);  // every series sent before, and nothing else
}

}  // namespace
}  // namespace llm_exporter::remote_write
