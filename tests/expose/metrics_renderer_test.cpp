#include "expose/metrics_renderer.h"

#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <thread>

#include "fakes/fake_clock.h"

namespace llm_exporter::expose {
namespace {

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

  const std::string text = renderer.Render();
  CHECK(Contains(text, "llm_requests_total{model=\"old\",endpoint=\"/chat\",status=\"success\"} 1"));
  CHECK(Contains(text, "llm_exporter_series_expired_total{family=\"requests\"} 0"));
  CHECK(Contains(renderer.Render(),  // still there at the next scrape
                 "llm_requests_total{model=\"old\",endpoint=\"/chat\",status=\"success\"} 1"));
  CHECK(store.SeriesCount(aggregate::Family::kCost) == 1);

  CHECK(store.Expire() == 4);
  const std::string after = renderer.Render();
  CHECK(after.find("llm_requests_total{") == std::string::npos);
  CHECK(Contains(after, "llm_exporter_series{family=\"requests\"} 0"));
  CHECK(Contains(after, "llm_exporter_series_expired_total{family=\"requests\"} 1"));
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
    const std::string text = renderer.Render();
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
