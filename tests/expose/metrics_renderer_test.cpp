#include "expose/metrics_renderer.h"

#include <doctest/doctest.h>

#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/delimited_message_util.h>

#include <atomic>
#include <map>
#include <string>
#include <thread>

#include "fakes/fake_clock.h"
#include "io/prometheus/client/metrics.pb.h"

namespace llm_exporter::expose {
namespace {

namespace pb = io::prometheus::client;

// Every MetricFamily of a delimited protobuf exposition.
std::vector<pb::MetricFamily> ParseProtobuf(const std::string& bytes) {
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

bool Contains(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

// The value of the sample line that starts with `series` (name and labels), or -1.
long long ValueOf(const std::string& text, const std::string& series) {
  const std::size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stoll(text.substr(at + series.size() + 2));
}

TEST_CASE("MetricsRenderer: the seed's families, the agent's own and the process metrics") {
  testing::FakeClock clock;
  aggregate::SeriesStore store({}, clock);
  telemetry::AgentMetrics agent_metrics;
  MetricsRenderer renderer(store, agent_metrics, clock);

  LlmCall call;
  call.model = "gpt-4o";
  call.endpoint = "/chat";
  call.user_id = "alice";
  call.team_id = "search";
  call.input_tokens = 1000;
  call.output_tokens = 500;
  call.latency_seconds = 0.8;
  call.ttft_seconds = 0.2;
  call.cache = CacheOutcome::kMiss;
  store.RecordCall(call, 7'500'000'000, false);
  QualityScore score;
  score.model = "gpt-4o";
  score.evaluator = "judge";
  score.score = 4;
  store.RecordQuality(score);

  const std::string text = renderer.Render(ExpositionFormat::kText);
  CHECK(Contains(text, "llm_requests_total{model=\"gpt-4o\",endpoint=\"/chat\",status=\"success\"} 1"));
  CHECK(Contains(text, "llm_tokens_total{model=\"gpt-4o\",direction=\"input\"} 1000"));
  CHECK(Contains(text, "llm_tokens_total{model=\"gpt-4o\",direction=\"output\"} 500"));
  CHECK(Contains(text, "llm_cost_usd_total{model=\"gpt-4o\",user_id=\"alice\",team_id=\"search\"} 0.0075"));
  CHECK(Contains(text, "llm_request_duration_seconds_bucket{model=\"gpt-4o\",endpoint=\"/chat\",le=\"0.5\"} 0"));
  CHECK(Contains(text, "llm_request_duration_seconds_bucket{model=\"gpt-4o\",endpoint=\"/chat\",le=\"1.0\"} 1"));
  CHECK(Contains(text, "llm_request_duration_seconds_sum{model=\"gpt-4o\",endpoint=\"/chat\"} 0.8"));
  CHECK(Contains(text, "llm_ttft_seconds_bucket{model=\"gpt-4o\",le=\"0.25\"} 1"));
  CHECK(Contains(text, "llm_ttft_seconds_count{model=\"gpt-4o\"} 1"));
  CHECK(Contains(text, "llm_quality_score_bucket{model=\"gpt-4o\",evaluator=\"judge\",le=\"4.0\"} 1"));
  CHECK(Contains(text, "llm_quality_score_bucket{model=\"gpt-4o\",evaluator=\"judge\",le=\"3.0\"} 0"));
  CHECK(Contains(text, "llm_cache_hits_total{model=\"gpt-4o\"} 0"));
  CHECK(Contains(text, "llm_cache_misses_total{model=\"gpt-4o\"} 1"));
  CHECK(text.find("llm_exporter_fallback_priced_events_total{") == std::string::npos);
  CHECK(Contains(text, "llm_exporter_series{family=\"cost\"} 1"));
  CHECK(Contains(text, "llm_exporter_series_overflow_total{family=\"cost\"} 0"));
  CHECK(text.find("llm_exporter_build_info{") != std::string::npos);
  CHECK(text.find("\nprocess_resident_memory_bytes ") != std::string::npos);
  CHECK(text.find("\nprocess_open_fds ") != std::string::npos);
  CHECK(text.find("\nprocess_start_time_seconds ") != std::string::npos);
}

TEST_CASE("MetricsRenderer: no ttft and no cache outcome means no such series") {
  testing::FakeClock clock;
  aggregate::SeriesStore store({}, clock);
  telemetry::AgentMetrics agent_metrics;
  MetricsRenderer renderer(store, agent_metrics, clock);
  LlmCall call;
  call.model = "m";
  store.RecordCall(call, 0, true);
  const std::string text = renderer.Render(ExpositionFormat::kText);
  CHECK(text.find("llm_ttft_seconds_bucket{") == std::string::npos);
  CHECK(text.find("llm_cache_hits_total{") == std::string::npos);
  CHECK(Contains(text, "llm_exporter_fallback_priced_events_total{model=\"m\"} 1"));
}

TEST_CASE("MetricsRenderer: the previous render's duration and size are reported") {
  testing::FakeClock clock;
  aggregate::SeriesStore store({}, clock);
  telemetry::AgentMetrics agent_metrics;
  MetricsRenderer renderer(store, agent_metrics, clock);
  const std::string first = renderer.Render(ExpositionFormat::kText);
  const std::string second = renderer.Render(ExpositionFormat::kText);
  CHECK(Contains(second, "llm_exporter_last_scrape_size_bytes " + std::to_string(first.size())));
  CHECK(Contains(second, "llm_exporter_last_scrape_duration_seconds 0"));  // the fake clock stands still
}

TEST_CASE("MetricsRenderer: rendering does not expire series; SeriesStore::Expire() does") {
  testing::FakeClock clock;
  aggregate::StoreOptions options;
  options.ttl = std::chrono::minutes(10);
  aggregate::SeriesStore store(options, clock);
  telemetry::AgentMetrics agent_metrics;
  MetricsRenderer renderer(store, agent_metrics, clock);
  LlmCall call;
  call.model = "old";
  call.endpoint = "/chat";
  store.RecordCall(call, 1, false);
  clock.Advance(std::chrono::minutes(11));  // past the TTL

  const std::string text = renderer.Render(ExpositionFormat::kText);
  CHECK(Contains(text, "llm_requests_total{model=\"old\",endpoint=\"/chat\",status=\"success\"} 1"));
  CHECK(Contains(text, "llm_exporter_series_expired_total{family=\"requests\"} 0"));
  CHECK(Contains(renderer.Render(ExpositionFormat::kText),  // still there at the next scrape
                 "llm_requests_total{model=\"old\",endpoint=\"/chat\",status=\"success\"} 1"));
  CHECK(store.SeriesCount(aggregate::Family::kCost) == 1);

  CHECK(store.Expire() == 4);
  const std::string after = renderer.Render(ExpositionFormat::kText);
  CHECK(after.find("llm_requests_total{") == std::string::npos);
  CHECK(Contains(after, "llm_exporter_series{family=\"requests\"} 0"));
  CHECK(Contains(after, "llm_exporter_series_expired_total{family=\"requests\"} 1"));
}

TEST_CASE("MetricsRenderer: workflow, agent and tool spans, with their HELP and TYPE lines") {
  testing::FakeClock clock;
  aggregate::SeriesStore store({}, clock);
  telemetry::AgentMetrics agent_metrics;
  MetricsRenderer renderer(store, agent_metrics, clock);
  store.RecordWorkflow("plan_trip", "success", 0.25);
  store.RecordWorkflow("plan_trip", "success", 42.5);
  store.RecordWorkflow("plan_trip", "error", 301);
  store.RecordAgentInvocation("researcher", "success");
  store.RecordAgentInvocation("researcher", "success");
  store.RecordAgentInvocation("researcher", "error");
  store.RecordToolCall("web_search", "success");
  store.RecordToolCall("web_search", "error");
  store.RecordToolCall("calculator", "success");

  const std::string text = renderer.Render(ExpositionFormat::kText);
  CHECK(Contains(text,
                 "# HELP llm_workflow_duration_seconds Duration of workflow spans (OpenLLMetry "
                 "@workflow/@task, LangGraph graphs) in seconds.\n"
                 "# TYPE llm_workflow_duration_seconds histogram"));
  const std::string success = "llm_workflow_duration_seconds_bucket{workflow=\"plan_trip\","
                              "status=\"success\",le=";
  CHECK(Contains(text, success + "\"0.5\"} 1\n" + success + "\"1.0\"} 1\n" + success +
                           "\"2.0\"} 1\n" + success + "\"5.0\"} 1\n" + success +
                           "\"10.0\"} 1\n" + success + "\"30.0\"} 1\n" + success +
                           "\"60.0\"} 2\n" + success + "\"120.0\"} 2\n" + success +
                           "\"300.0\"} 2\n" + success + "\"+Inf\"} 2"));
  CHECK(Contains(text, "llm_workflow_duration_seconds_sum{workflow=\"plan_trip\","
                       "status=\"success\"} 42.75"));
  CHECK(Contains(text, "llm_workflow_duration_seconds_count{workflow=\"plan_trip\","
                       "status=\"success\"} 2"));
  CHECK(Contains(text, "llm_workflow_duration_seconds_bucket{workflow=\"plan_trip\","
                       "status=\"error\",le=\"300.0\"} 0"));
  CHECK(Contains(text, "llm_workflow_duration_seconds_bucket{workflow=\"plan_trip\","
                       "status=\"error\",le=\"+Inf\"} 1"));
  CHECK(Contains(text, "llm_workflow_duration_seconds_sum{workflow=\"plan_trip\","
                       "status=\"error\"} 301"));

  CHECK(Contains(text,
                 "# HELP llm_agent_invocations_total Agent invocations (OpenLLMetry @agent, "
                 "gen_ai invoke_agent spans).\n"
                 "# TYPE llm_agent_invocations_total counter"));
  CHECK(Contains(text, "llm_agent_invocations_total{agent=\"researcher\",status=\"success\"} 2"));
  CHECK(Contains(text, "llm_agent_invocations_total{agent=\"researcher\",status=\"error\"} 1"));

  CHECK(Contains(text,
                 "# HELP llm_tool_calls_total Tool calls (OpenLLMetry @tool, gen_ai execute_tool "
                 "spans).\n"
                 "# TYPE llm_tool_calls_total counter"));
  CHECK(Contains(text, "llm_tool_calls_total{tool=\"web_search\",status=\"success\"} 1"));
  CHECK(Contains(text, "llm_tool_calls_total{tool=\"web_search\",status=\"error\"} 1"));
  CHECK(Contains(text, "llm_tool_calls_total{tool=\"calculator\",status=\"success\"} 1"));

  CHECK(Contains(text, "llm_exporter_series{family=\"workflow\"} 2"));
  CHECK(Contains(text, "llm_exporter_series{family=\"agent\"} 2"));
  CHECK(Contains(text, "llm_exporter_series{family=\"tool\"} 3"));
  CHECK(Contains(text, "llm_exporter_series{family=\"requests\"} 0"));
}

TEST_CASE("MetricsRenderer: before any span the three families are announced, with no series, "
          "and their self-metrics read 0") {
  testing::FakeClock clock;
  aggregate::StoreOptions options;
  options.max_series_per_family = 100;
  aggregate::SeriesStore store(options, clock);
  telemetry::AgentMetrics agent_metrics;
  MetricsRenderer renderer(store, agent_metrics, clock);
  const std::string text = renderer.Render(ExpositionFormat::kText);
  CHECK(Contains(text, "# TYPE llm_workflow_duration_seconds histogram"));
  CHECK(Contains(text, "# TYPE llm_agent_invocations_total counter"));
  CHECK(Contains(text, "# TYPE llm_tool_calls_total counter"));
  CHECK(text.find("llm_workflow_duration_seconds_bucket{") == std::string::npos);
  CHECK(text.find("llm_agent_invocations_total{") == std::string::npos);
  CHECK(text.find("llm_tool_calls_total{") == std::string::npos);
  for (const char* family : {"requests", "duration", "model", "cost", "quality", "workflow",
                             "agent", "tool"}) {
    const std::string label = std::string("{family=\"") + family + "\"}";
    CAPTURE(family);
    CHECK(Contains(text, "llm_exporter_series" + label + " 0"));
    CHECK(Contains(text, "llm_exporter_series_limit" + label + " 100"));
    CHECK(Contains(text, "llm_exporter_series_overflow_total" + label + " 0"));
    CHECK(Contains(text, "llm_exporter_series_expired_total" + label + " 0"));
  }
}

TEST_CASE("MetricsRenderer: workflow, agent and tool spans past the series limit") {
  testing::FakeClock clock;
  aggregate::StoreOptions options;
  options.max_series_per_family = 1;
  aggregate::SeriesStore store(options, clock);
  telemetry::AgentMetrics agent_metrics;
  MetricsRenderer renderer(store, agent_metrics, clock);
  store.RecordWorkflow("w1", "success", 1);
  store.RecordWorkflow("w2", "error", 2);
  store.RecordWorkflow("w3", "cancelled", 3);
  store.RecordAgentInvocation("a1", "error");
  store.RecordAgentInvocation("a2", "error");
  store.RecordAgentInvocation("a3", "error");
  store.RecordToolCall("t1", "success");
  store.RecordToolCall("t2", "success");
  store.RecordToolCall("t3", "error");
  store.RecordToolCall("t4", "unknown");

  const std::string text = renderer.Render(ExpositionFormat::kText);
  CHECK(Contains(text, "llm_workflow_duration_seconds_count{workflow=\"w1\",status=\"success\"} 1"));
  CHECK(Contains(text, "llm_workflow_duration_seconds_count{workflow=\"__overflow__\","
                       "status=\"error\"} 1"));
  CHECK(Contains(text, "llm_workflow_duration_seconds_bucket{workflow=\"__overflow__\","
                       "status=\"error\",le=\"2.0\"} 1"));
  CHECK(Contains(text, "llm_workflow_duration_seconds_sum{workflow=\"__overflow__\","
                       "status=\"other\"} 3"));
  CHECK(text.find("workflow=\"w2\"") == std::string::npos);
  CHECK(text.find("status=\"cancelled\"") == std::string::npos);

  CHECK(Contains(text, "llm_agent_invocations_total{agent=\"a1\",status=\"error\"} 1"));
  CHECK(Contains(text, "llm_agent_invocations_total{agent=\"__overflow__\",status=\"error\"} 2"));

  CHECK(Contains(text, "llm_tool_calls_total{tool=\"t1\",status=\"success\"} 1"));
  CHECK(Contains(text, "llm_tool_calls_total{tool=\"__overflow__\",status=\"success\"} 1"));
  CHECK(Contains(text, "llm_tool_calls_total{tool=\"__overflow__\",status=\"error\"} 1"));
  CHECK(Contains(text, "llm_tool_calls_total{tool=\"__overflow__\",status=\"other\"} 1"));

  CHECK(Contains(text, "llm_exporter_series_overflow_total{family=\"workflow\"} 2"));
  CHECK(Contains(text, "llm_exporter_series_overflow_total{family=\"agent\"} 2"));
  CHECK(Contains(text, "llm_exporter_series_overflow_total{family=\"tool\"} 3"));
  CHECK(Contains(text, "llm_exporter_series{family=\"workflow\"} 3"));
  CHECK(Contains(text, "llm_exporter_series{family=\"agent\"} 2"));
  CHECK(Contains(text, "llm_exporter_series{family=\"tool\"} 4"));
  CHECK(Contains(text, "llm_exporter_series_limit{family=\"tool\"} 1"));
  CHECK(Contains(text, "llm_exporter_series_overflow_total{family=\"requests\"} 0"));
}

TEST_CASE("MetricsRenderer: idle workflow, agent and tool series go at SeriesStore::Expire()") {
  testing::FakeClock clock;
  aggregate::StoreOptions options;
  options.ttl = std::chrono::minutes(10);
  aggregate::SeriesStore store(options, clock);
  telemetry::AgentMetrics agent_metrics;
  MetricsRenderer renderer(store, agent_metrics, clock);
  store.RecordWorkflow("old", "success", 1);
  store.RecordAgentInvocation("old", "success");
  store.RecordToolCall("old", "error");
  clock.Advance(std::chrono::minutes(6));
  store.RecordToolCall("new", "success");
  clock.Advance(std::chrono::minutes(5));  // "old" is past the TTL, "new" is not

  const std::string before = renderer.Render(ExpositionFormat::kText);
  CHECK(Contains(before, "llm_workflow_duration_seconds_count{workflow=\"old\",status=\"success\"} 1"));
  CHECK(Contains(before, "llm_agent_invocations_total{agent=\"old\",status=\"success\"} 1"));
  CHECK(Contains(before, "llm_tool_calls_total{tool=\"old\",status=\"error\"} 1"));

  CHECK(store.Expire() == 3);
  const std::string after = renderer.Render(ExpositionFormat::kText);
  CHECK(after.find("llm_workflow_duration_seconds_bucket{") == std::string::npos);
  CHECK(after.find("llm_agent_invocations_total{") == std::string::npos);
  CHECK(after.find("tool=\"old\"") == std::string::npos);
  CHECK(Contains(after, "llm_tool_calls_total{tool=\"new\",status=\"success\"} 1"));
  CHECK(Contains(after, "llm_exporter_series_expired_total{family=\"workflow\"} 1"));
  CHECK(Contains(after, "llm_exporter_series_expired_total{family=\"agent\"} 1"));
  CHECK(Contains(after, "llm_exporter_series_expired_total{family=\"tool\"} 1"));
  CHECK(Contains(after, "llm_exporter_series{family=\"workflow\"} 0"));
  CHECK(Contains(after, "llm_exporter_series{family=\"tool\"} 1"));
}

TEST_CASE("MetricsRenderer: the model family's metrics in one scrape agree") {
  // Every call adds one input token, one cache hit, one fallback-priced event and one ttft
  // observation to model "m" while scrapes run; each scrape must show the same count in all.
  testing::FakeClock clock;
  aggregate::SeriesStore store({}, clock);
  telemetry::AgentMetrics agent_metrics;
  MetricsRenderer renderer(store, agent_metrics, clock);
  LlmCall call;
  call.model = "m";
  call.input_tokens = 1;
  call.cache = CacheOutcome::kHit;
  call.ttft_seconds = 0.2;
  std::atomic<bool> started{false}, stop{false};
  std::thread writer([&] {
    while (!stop.load()) {
      store.RecordCall(call, 1, /*fallback_priced=*/true);
      started.store(true);
    }
  });
  while (!started.load()) std::this_thread::yield();
  int disagreements = 0;
  for (int i = 0; i < 300; ++i) {
    const std::string text = renderer.Render(ExpositionFormat::kText);
    const long long tokens = ValueOf(text, "llm_tokens_total{model=\"m\",direction=\"input\"}");
    if (tokens < 1 || ValueOf(text, "llm_cache_hits_total{model=\"m\"}") != tokens ||
        ValueOf(text, "llm_exporter_fallback_priced_events_total{model=\"m\"}") != tokens ||
        ValueOf(text, "llm_ttft_seconds_count{model=\"m\"}") != tokens) {
      ++disagreements;
    }
  }
  stop = true;
  writer.join();
  CHECK(disagreements == 0);
}

}  // namespace
}  // namespace llm_exporter::expose

namespace llm_exporter::expose {
namespace {

TEST_CASE("MetricsRenderer: OpenMetrics carries the calls' trace ids as exemplars, and _created") {
  testing::FakeClock clock;  // wall time 1,800,000,000 s
  aggregate::SeriesStore store({}, clock);
  telemetry::AgentMetrics agent_metrics;
  MetricsRenderer renderer(store, agent_metrics, clock);

  LlmCall call;
  call.model = "gpt-4o";
  call.endpoint = "chat";
  call.user_id = "alice";
  call.input_tokens = 1000;
  call.latency_seconds = 0.8;
  call.ttft_seconds = 0.2;
  call.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  call.span_id = "00f067aa0ba902b7";
  store.RecordCall(call, 7'500'000'000, false);
  clock.Advance(std::chrono::milliseconds(1500));
  // The most recent exemplar of each series and bucket is kept; a call without a trace id,
  // or with an unusable one, leaves the last one in place.
  call.trace_id = "0af7651916cd43dd8448eb211c80319c";
  call.span_id = "span id with spaces";  // not usable: the exemplar goes without it
  call.latency_seconds = 0.7;
  store.RecordCall(call, 2'500'000'000, false);
  clock.Advance(std::chrono::seconds(1));
  call.trace_id = "";
  store.RecordCall(call, 0, false);
  call.trace_id = std::string_view("a\"b");  // a quote: no exemplar
  store.RecordCall(call, 0, false);

  const std::string om = renderer.Render(ExpositionFormat::kOpenMetrics);
  CHECK(Contains(om, "llm_requests_total{model=\"gpt-4o\",endpoint=\"chat\",status=\"success\"} 4 "
                     "# {trace_id=\"0af7651916cd43dd8448eb211c80319c\"} 1 1800000001.5"));
  CHECK(Contains(om, "llm_requests_created{model=\"gpt-4o\",endpoint=\"chat\",status=\"success\"} "
                     "1800000000"));
  CHECK(Contains(om, "llm_cost_usd_total{model=\"gpt-4o\",user_id=\"alice\",team_id=\"\"} 0.01 "
                     "# {trace_id=\"0af7651916cd43dd8448eb211c80319c\"} 0.0025 1800000001.5"));
  CHECK(Contains(om, "llm_request_duration_seconds_bucket{model=\"gpt-4o\",endpoint=\"chat\","
                     "le=\"1.0\"} 4 # {trace_id=\"0af7651916cd43dd8448eb211c80319c\"} 0.7 "
                     "1800000001.5"));
  CHECK(Contains(om, "llm_request_duration_seconds_bucket{model=\"gpt-4o\",endpoint=\"chat\","
                     "le=\"0.5\"} 0"));
  CHECK(Contains(om, "llm_ttft_seconds_bucket{model=\"gpt-4o\",le=\"0.25\"} 4 "
                     "# {trace_id=\"0af7651916cd43dd8448eb211c80319c\"} 0.2 1800000001.5"));
  CHECK(Contains(om, "llm_ttft_seconds_created{model=\"gpt-4o\"} 1800000000"));
  CHECK(Contains(om, "llm_tokens_created{model=\"gpt-4o\",direction=\"input\"} 1800000000"));
  CHECK(Contains(om, "# UNIT llm_request_duration_seconds seconds"));
  CHECK(om.find("# TYPE llm_exporter_events_received counter") != std::string::npos);
  CHECK(om.size() > 6);
  CHECK(om.substr(om.size() - 6) == "# EOF\n");
  CHECK(om.find("a\\\"b") == std::string::npos);

  // The text format has none of it, and is as before.
  const std::string text = renderer.Render(ExpositionFormat::kText);
  CHECK(text.find("trace_id") == std::string::npos);
  CHECK(text.find("_created") == std::string::npos);
  CHECK(Contains(text, "llm_request_duration_seconds_bucket{model=\"gpt-4o\",endpoint=\"chat\","
                       "le=\"1.0\"} 4"));
}

TEST_CASE("MetricsRenderer: series never sent a trace id keep no exemplar memory") {
  testing::FakeClock clock;
  aggregate::SeriesStore store({}, clock);
  telemetry::AgentMetrics agent_metrics;
  MetricsRenderer renderer(store, agent_metrics, clock);
  LlmCall call;
  call.model = "m";
  call.latency_seconds = 1;
  store.RecordCall(call, 0, false);
  const aggregate::DurationSnapshot durations = store.SnapshotDurations();
  durations.ForEach([](const aggregate::DurationLabels&, const aggregate::HistogramValue&,
                       const aggregate::SeriesExtras& extras) {
    CHECK(extras.exemplars.empty());
    CHECK(extras.created == 1800000000);
  });
  CHECK(renderer.Render(ExpositionFormat::kOpenMetrics).find(" # {") == std::string::npos);
}


// ---- output speed, token kinds, calls without usage ----

// A call of 41 output tokens, 1.0 s of them after the first: TPOT 0.025 s, 41 tokens/s.
LlmCall SpeedCall() {
  LlmCall call;
  call.model = "gpt-4o";
  call.endpoint = "/chat";
  call.user_id = "alice";
  call.input_tokens = 1000;
  call.cached_input_tokens = 600;
  call.cache_write_input_tokens = 300;
  call.output_tokens = 41;
  call.reasoning_tokens = 20;
  call.latency_seconds = 1.5;
  call.ttft_seconds = 0.5;
  return call;
}

TEST_CASE("MetricsRenderer: TPOT, output tokens/s, token kinds and calls without usage") {
  testing::FakeClock clock;
  aggregate::SeriesStore store({}, clock);
  telemetry::AgentMetrics agent_metrics;
  MetricsRenderer renderer(store, agent_metrics, clock);
  store.RecordCall(SpeedCall(), 0, false);
  LlmCall no_ttft = SpeedCall();
  no_ttft.ttft_seconds.reset();
  no_ttft.latency_seconds = 0.5;
  no_ttft.output_tokens = 100;  // 200 tokens/s
  no_ttft.reasoning_tokens = 0;
  store.RecordCall(no_ttft, 0, false);
  LlmCall unknown = SpeedCall();
  unknown.usage_known = false;
  unknown.input_tokens = unknown.output_tokens = 0;
  unknown.cached_input_tokens = unknown.cache_write_input_tokens = unknown.reasoning_tokens = 0;
  store.RecordCall(unknown, 0, false, CallSource::kUdp);
  store.RecordCall(unknown, 0, false, CallSource::kUdp);
  store.RecordCall(unknown, 0, false, CallSource::kOtlp);
  LlmCall embed = SpeedCall();  // another model, with no token kinds
  embed.model = "embed";
  embed.cached_input_tokens = embed.cache_write_input_tokens = embed.reasoning_tokens = 0;
  embed.output_tokens = 0;
  store.RecordCall(embed, 0, false);

  const std::string text = renderer.Render(ExpositionFormat::kText);
  CHECK(Contains(text,
                 "# HELP llm_time_per_output_token_seconds Time per output token after the "
                 "first: (latency - ttft) / (output_tokens - 1)\n"
                 "# TYPE llm_time_per_output_token_seconds histogram"));
  const std::string tpot = "llm_time_per_output_token_seconds_bucket{model=\"gpt-4o\","
                           "endpoint=\"/chat\",le=";
  CHECK(Contains(text, tpot + "\"0.005\"} 0\n" + tpot + "\"0.01\"} 0\n" + tpot +
                           "\"0.02\"} 0\n" + tpot + "\"0.03\"} 1\n" + tpot + "\"0.05\"} 1\n" +
                           tpot + "\"0.075\"} 1\n" + tpot + "\"0.1\"} 1\n" + tpot +
                           "\"0.25\"} 1\n" + tpot + "\"0.5\"} 1\n" + tpot + "\"1.0\"} 1\n" +
                           tpot + "\"+Inf\"} 1"));
  CHECK(Contains(text, "llm_time_per_output_token_seconds_sum{model=\"gpt-4o\","
                       "endpoint=\"/chat\"} 0.025"));
  CHECK(Contains(text, "llm_time_per_output_token_seconds_count{model=\"gpt-4o\","
                       "endpoint=\"/chat\"} 1"));
  // Written once a series has an observation: the embedding model has none.
  CHECK(text.find("llm_time_per_output_token_seconds_count{model=\"embed\"") == std::string::npos);
  CHECK(text.find("llm_output_tokens_per_second_count{model=\"embed\"") == std::string::npos);

  CHECK(Contains(text,
                 "# HELP llm_output_tokens_per_second Output tokens per second of generation: "
                 "output_tokens / (latency - ttft), or / latency without a ttft\n"
                 "# TYPE llm_output_tokens_per_second histogram"));
  const std::string tps = "llm_output_tokens_per_second_bucket{model=\"gpt-4o\","
                          "endpoint=\"/chat\",le=";
  CHECK(Contains(text, tps + "\"5.0\"} 0\n" + tps + "\"10.0\"} 0\n" + tps + "\"20.0\"} 0\n" +
                           tps + "\"30.0\"} 0\n" + tps + "\"50.0\"} 1\n" + tps + "\"75.0\"} 1\n" +
                           tps + "\"100.0\"} 1\n" + tps + "\"150.0\"} 1\n" + tps +
                           "\"200.0\"} 2\n" + tps + "\"300.0\"} 2\n" + tps + "\"500.0\"} 2\n" +
                           tps + "\"+Inf\"} 2"));
  CHECK(Contains(text, "llm_output_tokens_per_second_sum{model=\"gpt-4o\",endpoint=\"/chat\"} 241"));
  CHECK(Contains(text, "llm_output_tokens_per_second_count{model=\"gpt-4o\",endpoint=\"/chat\"} 2"));

  CHECK(Contains(text,
                 "# HELP llm_tokens_by_kind_total Tokens of each kind inside llm_tokens_total: "
                 "cache_read and cache_write input tokens, reasoning output tokens\n"
                 "# TYPE llm_tokens_by_kind_total counter"));
  // A model's three kinds together (models in the store's order).
  CHECK(Contains(text, "llm_tokens_by_kind_total{model=\"gpt-4o\",kind=\"cache_read\"} 1200\n"
                 "llm_tokens_by_kind_total{model=\"gpt-4o\",kind=\"cache_write\"} 600\n"
                 "llm_tokens_by_kind_total{model=\"gpt-4o\",kind=\"reasoning\"} 20"));
  CHECK(Contains(text, "llm_tokens_by_kind_total{model=\"embed\",kind=\"cache_read\"} 0"));
  CHECK(Contains(text, "llm_tokens_by_kind_total{model=\"embed\",kind=\"reasoning\"} 0"));
  // llm_tokens_total counts the calls with usage only.
  CHECK(Contains(text, "llm_tokens_total{model=\"gpt-4o\",direction=\"input\"} 2000"));
  CHECK(Contains(text, "llm_tokens_total{model=\"gpt-4o\",direction=\"output\"} 141"));

  CHECK(Contains(text,
                 "# HELP llm_calls_without_usage_total LLM calls that arrived without token "
                 "counts: their tokens and cost are unknown, not zero\n"
                 "# TYPE llm_calls_without_usage_total counter"));
  CHECK(Contains(text, "llm_calls_without_usage_total{model=\"gpt-4o\",transport=\"udp\"} 2"));
  CHECK(Contains(text, "llm_calls_without_usage_total{model=\"gpt-4o\",transport=\"otlp\"} 1"));
  CHECK(text.find("llm_calls_without_usage_total{model=\"gpt-4o\",transport=\"http\"") ==
        std::string::npos);
  CHECK(text.find("llm_calls_without_usage_total{model=\"embed\"") == std::string::npos);

  // OpenMetrics: the same samples, with _created and the unit of the seconds family.
  const std::string om = renderer.Render(ExpositionFormat::kOpenMetrics);
  CHECK(Contains(om, "# UNIT llm_time_per_output_token_seconds seconds"));
  CHECK(Contains(om, "llm_time_per_output_token_seconds_count{model=\"gpt-4o\","
                     "endpoint=\"/chat\"} 1"));
  CHECK(Contains(om, "llm_time_per_output_token_seconds_created{model=\"gpt-4o\","
                     "endpoint=\"/chat\"} 1800000000"));
  CHECK(Contains(om, "llm_output_tokens_per_second_sum{model=\"gpt-4o\",endpoint=\"/chat\"} 241"));
  CHECK(Contains(om, "llm_tokens_by_kind_total{model=\"gpt-4o\",kind=\"cache_write\"} 600"));
  CHECK(Contains(om, "llm_tokens_by_kind_created{model=\"gpt-4o\",kind=\"cache_write\"} "
                     "1800000000"));
  CHECK(Contains(om, "llm_calls_without_usage_total{model=\"gpt-4o\",transport=\"udp\"} 2"));
}

TEST_CASE("MetricsRenderer: the new families in protobuf") {
  testing::FakeClock clock;
  aggregate::SeriesStore store({}, clock);
  telemetry::AgentMetrics agent_metrics;
  MetricsRenderer renderer(store, agent_metrics, clock);
  store.RecordCall(SpeedCall(), 0, false);
  LlmCall unknown = SpeedCall();
  unknown.usage_known = false;
  store.RecordCall(unknown, 0, false, CallSource::kUnix);

  std::map<std::string, pb::MetricFamily> families;
  for (pb::MetricFamily& f : ParseProtobuf(renderer.Render(ExpositionFormat::kProtobuf))) {
    families[f.name()] = std::move(f);
  }
  const pb::MetricFamily& tpot = families.at("llm_time_per_output_token_seconds");
  CHECK(tpot.type() == pb::HISTOGRAM);
  REQUIRE(tpot.metric_size() == 1);
  CHECK(tpot.metric(0).label_size() == 2);
  CHECK(tpot.metric(0).histogram().sample_count() == 1);
  CHECK(tpot.metric(0).histogram().sample_sum() == 1.0 / 40);
  CHECK(tpot.metric(0).histogram().bucket(3).upper_bound() == 0.03);
  CHECK(tpot.metric(0).histogram().bucket(3).cumulative_count() == 1);
  CHECK(tpot.metric(0).histogram().bucket(2).cumulative_count() == 0);
  const pb::MetricFamily& tps = families.at("llm_output_tokens_per_second");
  REQUIRE(tps.metric_size() == 1);
  CHECK(tps.metric(0).histogram().sample_sum() == 41);
  const pb::MetricFamily& kinds = families.at("llm_tokens_by_kind_total");
  CHECK(kinds.type() == pb::COUNTER);
  REQUIRE(kinds.metric_size() == 3);
  CHECK(kinds.metric(1).label(1).value() == "cache_write");
  CHECK(kinds.metric(1).counter().value() == 300);
  const pb::MetricFamily& without = families.at("llm_calls_without_usage_total");
  REQUIRE(without.metric_size() == 1);
  CHECK(without.metric(0).label(1).name() == "transport");
  CHECK(without.metric(0).label(1).value() == "unix");
  CHECK(without.metric(0).counter().value() == 1);
}

// ---- label control ----

TEST_CASE("MetricsRenderer: dropped labels are left out of every format, not written empty") {
  testing::FakeClock clock;
  aggregate::StoreOptions options;
  aggregate::ParseDropLabels(
      "llm_requests_total:endpoint,llm_time_per_output_token_seconds:endpoint,"
      "llm_cost_usd_total:user_id,llm_workflow_duration_seconds:workflow,"
      "llm_workflow_duration_seconds:status,llm_tool_calls_total:status",
      &options.labels);
  aggregate::ParseMaxSeries("llm_cost_usd_total:5000,llm_ttft_seconds:70", &options.labels);
  options.max_series_per_family = 100;
  aggregate::SeriesStore store(options, clock);
  telemetry::AgentMetrics agent_metrics;
  MetricsRenderer renderer(store, agent_metrics, clock);
  LlmCall call = SpeedCall();
  store.RecordCall(call, 1'000'000'000, false);
  call.endpoint = "/other";
  call.user_id = "bob";
  store.RecordCall(call, 2'000'000'000, false);
  store.RecordWorkflow("plan", "success", 1);
  store.RecordWorkflow("answer", "error", 2);
  store.RecordToolCall("search", "success");
  store.RecordToolCall("search", "error");

  const std::string text = renderer.Render(ExpositionFormat::kText);
  CHECK(Contains(text, "llm_requests_total{model=\"gpt-4o\",status=\"success\"} 2"));
  CHECK(Contains(text, "llm_request_duration_seconds_count{model=\"gpt-4o\"} 2"));
  CHECK(Contains(text, "llm_request_duration_seconds_bucket{model=\"gpt-4o\",le=\"2.0\"} 2"));
  CHECK(Contains(text, "llm_time_per_output_token_seconds_count{model=\"gpt-4o\"} 2"));
  CHECK(Contains(text, "llm_output_tokens_per_second_sum{model=\"gpt-4o\"} 82"));
  CHECK(Contains(text, "llm_cost_usd_total{model=\"gpt-4o\",team_id=\"\"} 0.003"));
  CHECK(Contains(text, "llm_workflow_duration_seconds_bucket{le=\"2.0\"} 2"));
  CHECK(Contains(text, "llm_workflow_duration_seconds_sum 3"));
  CHECK(Contains(text, "llm_workflow_duration_seconds_count 2"));
  CHECK(Contains(text, "llm_tool_calls_total{tool=\"search\"} 2"));
  CHECK(text.find("endpoint=") == std::string::npos);
  CHECK(text.find("user_id=") == std::string::npos);
  CHECK(Contains(text, "llm_exporter_series{family=\"requests\"} 1"));
  CHECK(Contains(text, "llm_exporter_series{family=\"duration\"} 1"));
  CHECK(Contains(text, "llm_exporter_series{family=\"cost\"} 1"));
  CHECK(Contains(text, "llm_exporter_series_limit{family=\"cost\"} 5000"));
  CHECK(Contains(text, "llm_exporter_series_limit{family=\"model\"} 70"));
  CHECK(Contains(text, "llm_exporter_series_limit{family=\"requests\"} 100"));

  const std::string om = renderer.Render(ExpositionFormat::kOpenMetrics);
  CHECK(Contains(om, "llm_requests_created{model=\"gpt-4o\",status=\"success\"} 1800000000"));
  CHECK(Contains(om, "llm_workflow_duration_seconds_count 2"));
  CHECK(om.find("endpoint=") == std::string::npos);

  for (const pb::MetricFamily& f : ParseProtobuf(renderer.Render(ExpositionFormat::kProtobuf))) {
    if (f.name() != "llm_requests_total" && f.name() != "llm_workflow_duration_seconds") continue;
    REQUIRE(f.metric_size() == 1);
    CAPTURE(f.name());
    CHECK(f.metric(0).label_size() == (f.name() == "llm_requests_total" ? 2 : 0));
    for (const pb::LabelPair& label : f.metric(0).label()) CHECK(label.name() != "endpoint");
  }
}

// ---- the metering proxy's upstream family ----

// Two answers from openai for gpt-4o (the second a retried 429 that reported only the request
// figures), one from anthropic for claude, and a cancelled call to openai for gpt-4o-mini with no
// rate-limit headers at all.
void RecordUpstreams(aggregate::SeriesStore& store) {
  constexpr auto kRequests = static_cast<std::size_t>(RateLimitResource::kRequests);
  constexpr auto kTokens = static_cast<std::size_t>(RateLimitResource::kTokens);
  constexpr auto kInput = static_cast<std::size_t>(RateLimitResource::kInputTokens);
  UpstreamObservation o;
  o.upstream = "openai";
  o.model = "gpt-4o";
  o.rate_limits.remaining[kRequests] = 499;
  o.rate_limits.limit[kRequests] = 500;
  o.rate_limits.remaining[kTokens] = 29'000;
  o.rate_limits.limit[kTokens] = 30'000;
  store.RecordUpstream(o);
  o = {};
  o.upstream = "openai";
  o.model = "gpt-4o";
  o.outcome = ProxyOutcome::kRateLimited;
  o.client_retry = true;
  o.rate_limits.remaining[kRequests] = 0;
  store.RecordUpstream(o);
  o = {};
  o.upstream = "anthropic";
  o.model = "claude-sonnet-4-20250514";
  o.rate_limits.remaining[kInput] = 39'500;
  o.rate_limits.limit[kInput] = 40'000;
  store.RecordUpstream(o);
  o = {};
  o.upstream = "openai";
  o.model = "gpt-4o-mini";
  o.outcome = ProxyOutcome::kCancelled;
  store.RecordUpstream(o);
}

TEST_CASE("MetricsRenderer: rate limits, proxy outcomes and client retries in the text format") {
  testing::FakeClock clock;
  aggregate::SeriesStore store({}, clock);
  telemetry::AgentMetrics agent_metrics;
  MetricsRenderer renderer(store, agent_metrics, clock);
  RecordUpstreams(store);
  const std::string text = renderer.Render(ExpositionFormat::kText);

  CHECK(Contains(text,
                 "# HELP llm_ratelimit_remaining Requests or tokens an upstream said were left in "
                 "its current rate-limit window, as of the last answer through the proxy that "
                 "reported them\n"
                 "# TYPE llm_ratelimit_remaining gauge"));
  // Only the resources reported, in the order of RateLimitResource; the token figures of the
  // first answer stay when the second reports none.
  CHECK(Contains(text,
                 "llm_ratelimit_remaining{upstream=\"openai\",model=\"gpt-4o\",resource=\"requests\"} 0\n"
                 "llm_ratelimit_remaining{upstream=\"openai\",model=\"gpt-4o\",resource=\"tokens\"} 29000"));
  CHECK(Contains(text, "llm_ratelimit_remaining{upstream=\"anthropic\","
                       "model=\"claude-sonnet-4-20250514\",resource=\"input_tokens\"} 39500"));
  CHECK(Contains(text,
                 "# HELP llm_ratelimit_limit Requests or tokens an upstream allows per rate-limit "
                 "window, as of the last answer through the proxy that reported it\n"
                 "# TYPE llm_ratelimit_limit gauge"));
  CHECK(Contains(text,
                 "llm_ratelimit_limit{upstream=\"openai\",model=\"gpt-4o\",resource=\"requests\"} 500\n"
                 "llm_ratelimit_limit{upstream=\"openai\",model=\"gpt-4o\",resource=\"tokens\"} 30000"));
  CHECK(Contains(text, "llm_ratelimit_limit{upstream=\"anthropic\","
                       "model=\"claude-sonnet-4-20250514\",resource=\"input_tokens\"} 40000"));
  // Three figures reported of each; none of gpt-4o-mini.
  const auto lines_of = [&](const std::string& prefix) {
    std::size_t n = 0;
    for (std::size_t at = text.find("\n" + prefix); at != std::string::npos;
         at = text.find("\n" + prefix, at + 1)) {
      ++n;
    }
    return n;
  };
  CHECK(lines_of("llm_ratelimit_remaining{") == 3);
  CHECK(lines_of("llm_ratelimit_limit{") == 3);
  CHECK(text.find("model=\"gpt-4o-mini\",resource=") == std::string::npos);

  CHECK(Contains(text,
                 "# HELP llm_proxy_requests_total Requests relayed by the metering proxy, by how "
                 "they ended: ok, client_error, rate_limited, upstream_error, stream_error, "
                 "unreachable, timeout or cancelled\n"
                 "# TYPE llm_proxy_requests_total counter"));
  // Only outcomes that happened.
  CHECK(Contains(text,
                 "llm_proxy_requests_total{upstream=\"openai\",model=\"gpt-4o\",outcome=\"ok\"} 1\n"
                 "llm_proxy_requests_total{upstream=\"openai\",model=\"gpt-4o\",outcome=\"rate_limited\"} 1"));
  CHECK(Contains(text, "llm_proxy_requests_total{upstream=\"anthropic\","
                       "model=\"claude-sonnet-4-20250514\",outcome=\"ok\"} 1"));
  CHECK(Contains(text, "llm_proxy_requests_total{upstream=\"openai\",model=\"gpt-4o-mini\","
                       "outcome=\"cancelled\"} 1"));
  CHECK(lines_of("llm_proxy_requests_total{") == 4);

  CHECK(Contains(text,
                 "# HELP llm_client_retries_total Requests through the metering proxy that a "
                 "client SDK sent as a retry (x-stainless-retry-count above 0)\n"
                 "# TYPE llm_client_retries_total counter"));
  // Every series, 0 included.
  CHECK(Contains(text, "llm_client_retries_total{upstream=\"openai\",model=\"gpt-4o\"} 1"));
  CHECK(Contains(text, "llm_client_retries_total{upstream=\"openai\",model=\"gpt-4o-mini\"} 0"));
  CHECK(Contains(text, "llm_client_retries_total{upstream=\"anthropic\","
                       "model=\"claude-sonnet-4-20250514\"} 0"));
  CHECK(lines_of("llm_client_retries_total{") == 3);
  CHECK(Contains(text, "llm_exporter_series{family=\"upstream\"} 3"));
  CHECK(Contains(text, "llm_exporter_series_overflow_total{family=\"upstream\"} 0"));
  // No call was recorded.
  CHECK(text.find("llm_requests_total{") == std::string::npos);
}

TEST_CASE("MetricsRenderer: rate limits, proxy outcomes and client retries in OpenMetrics") {
  testing::FakeClock clock;
  aggregate::SeriesStore store({}, clock);
  telemetry::AgentMetrics agent_metrics;
  MetricsRenderer renderer(store, agent_metrics, clock);
  RecordUpstreams(store);
  const std::string om = renderer.Render(ExpositionFormat::kOpenMetrics);
  CHECK(Contains(om, "# TYPE llm_ratelimit_remaining gauge"));
  CHECK(Contains(om, "# TYPE llm_ratelimit_limit gauge"));
  CHECK(Contains(om, "# TYPE llm_proxy_requests counter"));
  CHECK(Contains(om, "# TYPE llm_client_retries counter"));
  // Gauges have no _created; counters have theirs, the time their series was created.
  CHECK(Contains(om,
                 "llm_ratelimit_remaining{upstream=\"openai\",model=\"gpt-4o\",resource=\"requests\"} 0\n"
                 "llm_ratelimit_remaining{upstream=\"openai\",model=\"gpt-4o\",resource=\"tokens\"} 29000"));
  CHECK(om.find("llm_ratelimit_remaining_created") == std::string::npos);
  CHECK(om.find("llm_ratelimit_limit_created") == std::string::npos);
  CHECK(Contains(om,
                 "llm_proxy_requests_total{upstream=\"openai\",model=\"gpt-4o\",outcome=\"rate_limited\"} 1\n"
                 "llm_proxy_requests_created{upstream=\"openai\",model=\"gpt-4o\",outcome=\"rate_limited\"} "
                 "1800000000"));
  CHECK(Contains(om,
                 "llm_client_retries_total{upstream=\"openai\",model=\"gpt-4o\"} 1\n"
                 "llm_client_retries_created{upstream=\"openai\",model=\"gpt-4o\"} 1800000000"));
  CHECK(Contains(om, "llm_ratelimit_limit{upstream=\"anthropic\","
                     "model=\"claude-sonnet-4-20250514\",resource=\"input_tokens\"} 40000"));
  CHECK(om.ends_with("# EOF\n"));
}

TEST_CASE("MetricsRenderer: rate limits, proxy outcomes and client retries in protobuf") {
  testing::FakeClock clock;
  aggregate::SeriesStore store({}, clock);
  telemetry::AgentMetrics agent_metrics;
  MetricsRenderer renderer(store, agent_metrics, clock);
  RecordUpstreams(store);
  std::map<std::string, pb::MetricFamily> families;
  for (pb::MetricFamily& f : ParseProtobuf(renderer.Render(ExpositionFormat::kProtobuf))) {
    families[f.name()] = std::move(f);
  }
  // Each family's series as "label=value,..." -> the value.
  const auto values = [&](const std::string& name) {
    std::map<std::string, double> out;
    const pb::MetricFamily& family = families.at(name);
    for (const pb::Metric& m : family.metric()) {
      std::string key;
      for (const pb::LabelPair& l : m.label()) key += l.name() + "=" + l.value() + ",";
      out[key] = family.type() == pb::GAUGE ? m.gauge().value() : m.counter().value();
      if (family.type() == pb::COUNTER) {
        CHECK(m.counter().created_timestamp().seconds() == 1'800'000'000);
      }
    }
    return out;
  };
  CHECK(families.at("llm_ratelimit_remaining").type() == pb::GAUGE);
  CHECK(families.at("llm_ratelimit_limit").type() == pb::GAUGE);
  CHECK(families.at("llm_proxy_requests_total").type() == pb::COUNTER);
  CHECK(families.at("llm_client_retries_total").type() == pb::COUNTER);
  CHECK(values("llm_ratelimit_remaining") ==
        std::map<std::string, double>{
            {"upstream=openai,model=gpt-4o,resource=requests,", 0},
            {"upstream=openai,model=gpt-4o,resource=tokens,", 29'000},
            {"upstream=anthropic,model=claude-sonnet-4-20250514,resource=input_tokens,", 39'500}});
  CHECK(values("llm_ratelimit_limit") ==
        std::map<std::string, double>{
            {"upstream=openai,model=gpt-4o,resource=requests,", 500},
            {"upstream=openai,model=gpt-4o,resource=tokens,", 30'000},
            {"upstream=anthropic,model=claude-sonnet-4-20250514,resource=input_tokens,", 40'000}});
  CHECK(values("llm_proxy_requests_total") ==
        std::map<std::string, double>{
            {"upstream=openai,model=gpt-4o,outcome=ok,", 1},
            {"upstream=openai,model=gpt-4o,outcome=rate_limited,", 1},
            {"upstream=openai,model=gpt-4o-mini,outcome=cancelled,", 1},
            {"upstream=anthropic,model=claude-sonnet-4-20250514,outcome=ok,", 1}});
  CHECK(values("llm_client_retries_total") ==
        std::map<std::string, double>{{"upstream=openai,model=gpt-4o,", 1},
                                      {"upstream=openai,model=gpt-4o-mini,", 0},
                                      {"upstream=anthropic,model=claude-sonnet-4-20250514,", 0}});
}

TEST_CASE("MetricsRenderer: before any proxied call the four families have no series") {
  testing::FakeClock clock;
  aggregate::SeriesStore store({}, clock);
  telemetry::AgentMetrics agent_metrics;
  MetricsRenderer renderer(store, agent_metrics, clock);
  // As the other families: the text formats announce them, protobuf leaves them out.
  for (const ExpositionFormat format : {ExpositionFormat::kText, ExpositionFormat::kOpenMetrics}) {
    const std::string text = renderer.Render(format);
    CHECK(Contains(text, "# TYPE llm_ratelimit_remaining gauge"));
    CHECK(Contains(text, "# TYPE llm_ratelimit_limit gauge"));
    for (const char* metric : {"llm_ratelimit_remaining{", "llm_ratelimit_limit{",
                               "llm_proxy_requests_total{", "llm_client_retries_total{"}) {
      CAPTURE(metric);
      CHECK(text.find(metric) == std::string::npos);
    }
    CHECK(Contains(text, "llm_exporter_series{family=\"upstream\"} 0"));
  }
  for (const pb::MetricFamily& f : ParseProtobuf(renderer.Render(ExpositionFormat::kProtobuf))) {
    CHECK(f.name().find("ratelimit") == std::string::npos);
    CHECK(f.name() != "llm_proxy_requests_total");
    CHECK(f.name() != "llm_client_retries_total");
  }
}

TEST_CASE("MetricsRenderer: upstream series past their limit and after SeriesStore::Expire()") {
  testing::FakeClock clock;
  aggregate::StoreOptions options;
  options.ttl = std::chrono::minutes(10);
  aggregate::ParseMaxSeries("llm_ratelimit_remaining:1", &options.labels);
  aggregate::SeriesStore store(options, clock);
  telemetry::AgentMetrics agent_metrics;
  MetricsRenderer renderer(store, agent_metrics, clock);
  UpstreamObservation o;
  o.upstream = "openai";
  for (const char* model : {"a", "b", "c"}) {
    o.model = model;
    store.RecordUpstream(o);
  }
  const std::string text = renderer.Render(ExpositionFormat::kText);
  CHECK(Contains(text, "llm_proxy_requests_total{upstream=\"openai\",model=\"a\",outcome=\"ok\"} 1"));
  CHECK(Contains(text, "llm_proxy_requests_total{upstream=\"openai\",model=\"__overflow__\","
                       "outcome=\"ok\"} 2"));
  CHECK(Contains(text, "llm_exporter_series_limit{family=\"upstream\"} 1"));
  CHECK(Contains(text, "llm_exporter_series_overflow_total{family=\"upstream\"} 2"));

  clock.Advance(std::chrono::minutes(11));
  CHECK(store.Expire() == 2);
  const std::string after = renderer.Render(ExpositionFormat::kText);
  CHECK(after.find("llm_proxy_requests_total{") == std::string::npos);
  CHECK(after.find("llm_client_retries_total{") == std::string::npos);
  CHECK(Contains(after, "llm_exporter_series_expired_total{family=\"upstream\"} 2"));
}

}  // namespace
}  // namespace llm_exporter::expose
