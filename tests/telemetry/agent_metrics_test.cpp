#include "telemetry/agent_metrics.h"

#include <doctest/doctest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <sys/resource.h>

#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "telemetry/process_metrics.h"

namespace llm_exporter::telemetry {
namespace {

std::string Exposition(const AgentMetrics& metrics) {
  std::string out;
  metrics.AppendText(&out);
  return out;
}

// What /metrics held for these metrics before AppendText() existed: prometheus-cpp's serializer
// over the registry, then over the process metrics.
std::string Serialized(const std::vector<prometheus::MetricFamily>& families) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool Has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST_CASE("AgentMetrics: every transport and reason exists at zero from the start") {
  AgentMetrics metrics;
  const std::string text = Exposition(metrics);
  CHECK(Has(text, "llm_exporter_events_received_total{transport=\"unixgram\"} 0"));
  CHECK(Has(text, "llm_exporter_events_rejected_total{reason=\"too_large\",transport=\"udp\"} 0"));
  CHECK(Has(text, "llm_exporter_pricing_reloads_total{result=\"failure\"} 0"));
  CHECK(Has(text, "llm_exporter_budgets_reloads_total{result=\"failure\"} 0"));
  CHECK(Has(text, "llm_exporter_budgets_reloads_total{result=\"success\"} 0"));
  CHECK(Has(text, "llm_exporter_pricing_last_reload_successful 1"));
  CHECK(Has(text, "llm_exporter_budgets_last_reload_successful 1"));
}

TEST_CASE("AgentMetrics: price table and budgets reloads are counted apart") {
  AgentMetrics metrics;
  metrics.SetLoaded(ReloadTarget::kPricing, 100);
  metrics.SetLoaded(ReloadTarget::kBudgets, 100);
  metrics.CountReload(ReloadTarget::kBudgets, false, 200);
  metrics.CountReload(ReloadTarget::kPricing, true, 200);
  std::string text = Exposition(metrics);
  CHECK(Has(text, "llm_exporter_budgets_reloads_total{result=\"failure\"} 1"));
  CHECK(Has(text, "llm_exporter_budgets_reloads_total{result=\"success\"} 0"));
  CHECK(Has(text, "llm_exporter_budgets_last_reload_successful 0"));
  CHECK(Has(text, "llm_exporter_budgets_last_reload_success_timestamp_seconds 100"));
  CHECK(Has(text, "llm_exporter_pricing_reloads_total{result=\"failure\"} 0"));
  CHECK(Has(text, "llm_exporter_pricing_reloads_total{result=\"success\"} 1"));
  CHECK(Has(text, "llm_exporter_pricing_last_reload_successful 1"));
  CHECK(Has(text, "llm_exporter_pricing_last_reload_success_timestamp_seconds 200"));

  metrics.CountReload(ReloadTarget::kPricing, false, 300);
  metrics.CountReload(ReloadTarget::kBudgets, true, 300);
  text = Exposition(metrics);
  CHECK(Has(text, "llm_exporter_pricing_last_reload_successful 0"));
  CHECK(Has(text, "llm_exporter_pricing_last_reload_success_timestamp_seconds 200"));
  CHECK(Has(text, "llm_exporter_budgets_last_reload_successful 1"));
  CHECK(Has(text, "llm_exporter_budgets_last_reload_success_timestamp_seconds 300"));
}

TEST_CASE("AgentMetrics: a batch counts received, accepted and rejected by reason") {
  AgentMetrics metrics;
  std::array<uint64_t, kRejectReasonCount> rejected{};
  rejected[static_cast<std::size_t>(RejectReason::kMissingField)] = 2;
  rejected[static_cast<std::size_t>(RejectReason::kInvalidUtf8)] = 1;
  metrics.CountEvents(Transport::kHttp, 7, rejected);
  metrics.CountHttpRequest(Handler::kEvents, 200);
  metrics.CountHttpRequest(Handler::kEvents, 200);
  metrics.CountHttpRequest(Handler::kOther, 404);
  const std::string text = Exposition(metrics);
  CHECK(Has(text, "llm_exporter_events_received_total{transport=\"http\"} 10"));
  CHECK(Has(text, "llm_exporter_events_accepted_total{transport=\"http\"} 7"));
  CHECK(Has(text, "llm_exporter_events_rejected_total{reason=\"missing_field\",transport=\"http\"} 2"));
  CHECK(Has(text, "llm_exporter_events_rejected_total{reason=\"invalid_utf8\",transport=\"http\"} 1"));
  CHECK(Has(text, "llm_exporter_http_requests_total{code=\"200\",handler=\"/v1/events\"} 2"));
  CHECK(Has(text, "llm_exporter_http_requests_total{code=\"404\",handler=\"other\"} 1"));
}

TEST_CASE("AgentMetrics: AppendText writes what prometheus-cpp's serializer writes, then process_*") {
  AgentMetrics metrics;
  std::array<uint64_t, kRejectReasonCount> rejected{};
  rejected[static_cast<std::size_t>(RejectReason::kTooLarge)] = 3;
  metrics.CountEvents(Transport::kUdp, 4, rejected);
  metrics.CountHttpRequest(Handler::kMetrics, 200);
  metrics.CountAuthFailure(AuthFailure::kMissing);
  metrics.CountHttpDrop(HttpDrop::kBodyTimeout);
  metrics.SetPricingModels(12);
  metrics.SetLastScrape(0.25, 4096);

  const std::string text = Exposition(metrics);
  const std::string registry_text = Serialized(metrics.registry().Collect());
  REQUIRE(text.compare(0, registry_text.size(), registry_text) == 0);

  // The process part, line by line, against ProcessMetrics serialized the old way. CPU time and
  // memory move between the two reads; file descriptors and start time do not.
  const std::vector<std::string> process = Lines(text.substr(registry_text.size()));
  const std::vector<std::string> expected = Lines(Serialized(ProcessMetrics().Collect()));
  REQUIRE(process.size() == expected.size());
  REQUIRE(process.size() == 18);  // six families: HELP, TYPE and one sample each
  const std::set<std::string> moving = {"process_cpu_seconds_total",
                                        "process_resident_memory_bytes",
                                        "process_virtual_memory_bytes"};
  for (std::size_t i = 0; i < process.size(); ++i) {
    const std::string name = expected[i].substr(0, expected[i].find(' '));
    if (expected[i][0] != '#' && moving.count(name) > 0) {
      CHECK(process[i].substr(0, name.size() + 1) == name + " ");
    } else {
      CHECK(process[i] == expected[i]);
    }
  }

  // A few exact lines, as Prometheus reads them.
  CHECK(Has(text, "llm_exporter_events_received_total{transport=\"udp\"} 7"));
  CHECK(Has(text, "llm_exporter_events_accepted_total{transport=\"udp\"} 4"));
  CHECK(Has(text, "llm_exporter_events_rejected_total{reason=\"too_large\",transport=\"udp\"} 3"));
  CHECK(Has(text, "llm_exporter_http_requests_total{code=\"200\",handler=\"/metrics\"} 1"));
  CHECK(Has(text, "llm_exporter_http_auth_failures_total{reason=\"missing\"} 1"));
  CHECK(Has(text, "llm_exporter_http_auth_failures_total{reason=\"malformed\"} 0"));
  CHECK(Has(text, "llm_exporter_http_connections_dropped_total{reason=\"body_timeout\"} 1"));
  CHECK(Has(text, "llm_exporter_pricing_models 12"));
  CHECK(Has(text, "llm_exporter_last_scrape_duration_seconds 0.25"));
  CHECK(Has(text, "llm_exporter_last_scrape_size_bytes 4096"));
  CHECK(Has(text, "# TYPE llm_exporter_events_received_total counter"));
  CHECK(Has(text, "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds."));
  CHECK(Has(text, "# TYPE process_cpu_seconds_total counter"));
  CHECK(Has(text, "# HELP process_open_fds Number of open file descriptors."));
  CHECK(Has(text, "# TYPE process_open_fds gauge"));
  CHECK(Has(text, "# TYPE process_resident_memory_bytes gauge"));
  CHECK(Has(text, "# TYPE process_start_time_seconds gauge"));
  rlimit limit{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &limit) == 0);
  CHECK(Has(text, "process_max_fds " + std::to_string(limit.rlim_cur)));
  // Appends: what the buffer held stays in front.
  std::string out = "# before\n";
  metrics.AppendText(&out);
  CHECK(out.rfind("# before\n# HELP ", 0) == 0);
}

TEST_CASE("AgentMetrics: the event counters read as /metrics shows them") {
  AgentMetrics metrics;
  std::array<uint64_t, kRejectReasonCount> rejected{};
  rejected[static_cast<std::size_t>(RejectReason::kInvalidJson)] = 2;
  metrics.CountEvents(Transport::kUnix, 5, rejected);
  CHECK(metrics.events_received(Transport::kUnix) == 7);
  CHECK(metrics.events_accepted(Transport::kUnix) == 5);
  CHECK(metrics.events_rejected(Transport::kUnix, RejectReason::kInvalidJson) == 2);
  CHECK(metrics.events_rejected(Transport::kUnix, RejectReason::kTooLarge) == 0);
  CHECK(metrics.events_received(Transport::kHttp) == 0);
}

TEST_CASE("AgentMetrics: SetBudgets replaces every budget series") {
  AgentMetrics metrics;
  const std::vector<BudgetGauge> first = {{"search", "daily", 50}, {"search", "monthly", 1000}};
  metrics.SetBudgets(first);
  std::string text = Exposition(metrics);
  CHECK(Has(text, "# TYPE llm_team_budget_usd gauge"));
  CHECK(Has(text, "llm_team_budget_usd{period=\"daily\",team_id=\"search\"} 50"));
  CHECK(Has(text, "llm_team_budget_usd{period=\"monthly\",team_id=\"search\"} 1000"));

  std::string team = "ads";  // the labels are copied: the views need not outlive the call
  metrics.SetBudgets(std::vector<BudgetGauge>{{team, "daily", 7.5}});
  team = "xxx";
  text = Exposition(metrics);
  CHECK(text.find("team_id=\"search\"") == std::string::npos);
  CHECK(Has(text, "llm_team_budget_usd{period=\"daily\",team_id=\"ads\"} 7.5"));

  metrics.SetBudgets({});
  CHECK(Exposition(metrics).find("llm_team_budget_usd{") == std::string::npos);
}

}  // namespace
}  // namespace llm_exporter::telemetry
