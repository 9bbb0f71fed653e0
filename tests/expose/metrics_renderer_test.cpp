#include "expose/metrics_renderer.h"

#include <doctest/doctest.h>

#include "fakes/fake_clock.h"

namespace llm_exporter::expose {
namespace {

bool Contains(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
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

  const std::string text = renderer.Render();
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
  const std::string text = renderer.Render();
  CHECK(text.find("llm_ttft_seconds_bucket{") == std::string::npos);
  CHECK(text.find("llm_cache_hits_total{") == std::string::npos);
  CHECK(Contains(text, "llm_exporter_fallback_priced_events_total{model=\"m\"} 1"));
}

TEST_CASE("MetricsRenderer: the previous render's duration and size are reported") {
  testing::FakeClock clock;
  aggregate::SeriesStore store({}, clock);
  telemetry::AgentMetrics agent_metrics;
  MetricsRenderer renderer(store, agent_metrics, clock);
  const std::string first = renderer.Render();
  const std::string second = renderer.Render();
  CHECK(Contains(second, "llm_exporter_last_scrape_size_bytes " + std::to_string(first.size())));
  CHECK(Contains(second, "llm_exporter_last_scrape_duration_seconds 0"));  // the fake clock stands still
}

}  // namespace
}  // namespace llm_exporter::expose
