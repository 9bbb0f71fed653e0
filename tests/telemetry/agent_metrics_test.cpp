#include "telemetry/agent_metrics.h"

#include <doctest/doctest.h>
#include <prometheus/text_serializer.h>

#include <sstream>

namespace llm_exporter::telemetry {
namespace {

std::string Exposition(AgentMetrics& metrics) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, metrics.registry().Collect());
  return out.str();
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

}  // namespace
}  // namespace llm_exporter::telemetry
