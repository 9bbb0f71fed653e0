#include "telemetry/agent_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <sstream>
#include <utility>

#include "llm_exporter/version.h"
#include "telemetry/process_metrics.h"

namespace llm_exporter::telemetry {
namespace {

constexpr std::array<std::string_view, kHandlerCount> kHandlerNames = {
    "/v1/events", "/v1/traces", "/metrics", "/-/reload", "/-/ready", "/-/healthy", "/", "/proxy/",
    "other"};
constexpr std::array<std::string_view, kAuthFailureCount> kAuthFailureNames = {
    "missing", "bad_credentials", "malformed"};
constexpr std::array<std::string_view, kHttpDropCount> kHttpDropNames = {
    "request_timeout", "malformed_request", "tls_handshake", "body_timeout"};
// The metric name part and the help text's words for each ReloadTarget.
constexpr std::array<std::string_view, kReloadTargetCount> kReloadTargetNames = {"pricing",
                                                                                 "budgets"};
constexpr std::array<std::string_view, kReloadTargetCount> kReloadTargetWhat = {
    "price table (--pricing.file, or the built-in table)",
    "team budgets (--budgets.file; none configured counts as a successful load)"};

}  // namespace

AgentMetrics::AgentMetrics() : registry_(std::make_unique<prometheus::Registry>()) {
  using prometheus::BuildCounter;
  using prometheus::BuildGauge;
  BuildGauge()
      .Name("llm_exporter_build_info")
      .Help("A metric with a constant '1' value labeled by the version and revision of llm_exporter.")
      .Register(*registry_)
      .Add({{"version", LLM_EXPORTER_VERSION}, {"revision", LLM_EXPORTER_REVISION}})
      .Set(1);

  auto& received = BuildCounter()
                       .Name("llm_exporter_events_received_total")
                       .Help("Events received, accepted or not, by transport.")
                       .Register(*registry_);
  auto& accepted = BuildCounter()
                       .Name("llm_exporter_events_accepted_total")
                       .Help("Events counted in the LLM metrics, by transport.")
                       .Register(*registry_);
  auto& rejected = BuildCounter()
                       .Name("llm_exporter_events_rejected_total")
                       .Help("Events refused, by transport and reason.")
                       .Register(*registry_);
  for (std::size_t t = 0; t < kTransportCount; ++t) {
    const std::string transport(kTransportNames[t]);
    received_[t] = &received.Add({{"transport", transport}});
    accepted_[t] = &accepted.Add({{"transport", transport}});
    for (std::size_t r = 0; r < kRejectReasonCount; ++r) {
      rejected_[t][r] =
          &rejected.Add({{"transport", transport}, {"reason", std::string(kRejectReasonNames[r])}});
    }
  }

  http_requests_ = &BuildCounter()
                        .Name("llm_exporter_http_requests_total")
                        .Help("HTTP requests served, by handler and status code.")
                        .Register(*registry_);
  // Present from start-up (at 0) whether or not basic auth is on, so alerts need no absent().
  auto& auth_failures =
      BuildCounter()
          .Name("llm_exporter_http_auth_failures_total")
          .Help("HTTP requests refused with 401 by basic auth (--web.config.file), by reason: "
                "missing, malformed or bad_credentials (unknown user or wrong password).")
          .Register(*registry_);
  for (std::size_t r = 0; r < kAuthFailureCount; ++r) {
    auth_failures_[r] = &auth_failures.Add({{"reason", std::string(kAuthFailureNames[r])}});
  }
  auto& http_drops =
      BuildCounter()
          .Name("llm_exporter_http_connections_dropped_total")
          .Help("HTTP connections closed before their request was served, by reason: "
                "request_timeout (headers not in within --web.request-timeout), body_timeout "
                "(body not in within --web.request-timeout of its headers), malformed_request "
                "(including headers above 16 KiB), tls_handshake.")
          .Register(*registry_);
  for (std::size_t r = 0; r < kHttpDropCount; ++r) {
    http_drops_[r] = &http_drops.Add({{"reason", std::string(kHttpDropNames[r])}});
  }

  for (std::size_t t = 0; t < kReloadTargetCount; ++t) {
    const std::string prefix = "llm_exporter_" + std::string(kReloadTargetNames[t]);
    const std::string what(kReloadTargetWhat[t]);
    auto& reloads = BuildCounter()
                        .Name(prefix + "_reloads_total")
                        .Help("Reloads of the " + what + " (SIGHUP, POST /-/reload), by result.")
                        .Register(*registry_);
    ReloadSeries& series = reloads_[t];
    series.success = &reloads.Add({{"result", "success"}});
    series.failure = &reloads.Add({{"result", "failure"}});
    series.last_successful = &BuildGauge()
                                  .Name(prefix + "_last_reload_successful")
                                  .Help("Whether the last reload of the " + what +
                                        " succeeded (1) or not (0).")
                                  .Register(*registry_)
                                  .Add({});
    series.last_successful->Set(1);
    series.last_success_time = &BuildGauge()
                                    .Name(prefix + "_last_reload_success_timestamp_seconds")
                                    .Help("Unix time of the last successful load of the " + what +
                                          ".")
                                    .Register(*registry_)
                                    .Add({});
  }
  pricing_models_ = &BuildGauge()
                         .Name("llm_exporter_pricing_models")
                         .Help("Models listed in the price table in force.")
                         .Register(*registry_)
                         .Add({});
  last_scrape_seconds_ = &BuildGauge()
                              .Name("llm_exporter_last_scrape_duration_seconds")
                              .Help("Time the previous /metrics response took to render.")
                              .Register(*registry_)
                              .Add({});
  last_scrape_bytes_ = &BuildGauge()
                            .Name("llm_exporter_last_scrape_size_bytes")
                            .Help("Size of the previous /metrics response body.")
                            .Register(*registry_)
                            .Add({});
  auto& scrapes = BuildCounter()
                      .Name("llm_exporter_scrapes_total")
                      .Help("/metrics answers, by the format the scraper's Accept header chose "
                            "(text, openmetrics, protobuf) and the encoding (identity, gzip).")
                      .Register(*registry_);
  constexpr std::array<std::string_view, 3> kFormatNames = {"text", "openmetrics", "protobuf"};
  for (std::size_t f = 0; f < kFormatNames.size(); ++f) {
    for (std::size_t gz = 0; gz < 2; ++gz) {
      scrapes_[f][gz] = &scrapes.Add({{"format", std::string(kFormatNames[f])},
                                      {"encoding", gz ? "gzip" : "identity"}});
    }
  }
  budgets_ = &BuildGauge()
                  .Name("llm_team_budget_usd")
                  .Help("Spend budget per team and period (daily, or monthly as a rolling 30 "
                        "days), from --budgets.file.")
                  .Register(*registry_);
}

AgentMetrics::~AgentMetrics() = default;

prometheus::Registry& AgentMetrics::registry() { return *registry_; }

void AgentMetrics::CountEvents(Transport transport, uint64_t accepted,
                               const std::array<uint64_t, kRejectReasonCount>& rejected_by_reason) {
  const auto t = static_cast<std::size_t>(transport);
  uint64_t total = accepted;
  for (std::size_t r = 0; r < kRejectReasonCount; ++r) {
    if (rejected_by_reason[r] == 0) continue;
    rejected_[t][r]->Increment(static_cast<double>(rejected_by_reason[r]));
    total += rejected_by_reason[r];
  }
  if (accepted > 0) accepted_[t]->Increment(static_cast<double>(accepted));
  if (total > 0) received_[t]->Increment(static_cast<double>(total));
}

void AgentMetrics::CountHttpRequest(Handler handler, int status_code) {
  if (status_code < 100 || status_code >= kMaxStatus) status_code = 500;
  auto& slot = http_[static_cast<std::size_t>(handler)][static_cast<std::size_t>(status_code)];
  prometheus::Counter* counter = slot.load(std::memory_order_acquire);
  if (counter == nullptr) {
    std::lock_guard<std::mutex> lock(http_mu_);
    counter = slot.load(std::memory_order_relaxed);
    if (counter == nullptr) {
      counter = &http_requests_->Add(
          {{"handler", std::string(kHandlerNames[static_cast<std::size_t>(handler)])},
           {"code", std::to_string(status_code)}});
      slot.store(counter, std::memory_order_release);
    }
  }
  counter->Increment();
}

void AgentMetrics::CountAuthFailure(AuthFailure reason) {
  auth_failures_[static_cast<std::size_t>(reason)]->Increment();
}

void AgentMetrics::CountHttpDrop(HttpDrop reason) {
  http_drops_[static_cast<std::size_t>(reason)]->Increment();
}

void AgentMetrics::CountReload(ReloadTarget target, bool success, double unix_time_seconds) {
  const ReloadSeries& series = reloads_[static_cast<std::size_t>(target)];
  (success ? series.success : series.failure)->Increment();
  series.last_successful->Set(success ? 1 : 0);
  if (success) series.last_success_time->Set(unix_time_seconds);
}

void AgentMetrics::SetLoaded(ReloadTarget target, double unix_time_seconds) {
  const ReloadSeries& series = reloads_[static_cast<std::size_t>(target)];
  series.last_successful->Set(1);
  series.last_success_time->Set(unix_time_seconds);
}

void AgentMetrics::SetPricingModels(std::size_t models) {
  pricing_models_->Set(static_cast<double>(models));
}

void AgentMetrics::SetBudgets(std::span<const BudgetGauge> budgets) {
  std::lock_guard<std::mutex> lock(budgets_mu_);
  for (prometheus::Gauge* gauge : budget_gauges_) budgets_->Remove(gauge);
  budget_gauges_.clear();
  for (const BudgetGauge& budget : budgets) {
    prometheus::Gauge& gauge = budgets_->Add(
        {{"team_id", std::string(budget.team_id)}, {"period", std::string(budget.period)}});
    gauge.Set(budget.usd);
    budget_gauges_.push_back(&gauge);
  }
}

void AgentMetrics::CountScrape(ExpositionFormat format, bool gzip) {
  scrapes_[static_cast<std::size_t>(format)][gzip ? 1 : 0]->Increment();
}

void AgentMetrics::SetLastScrape(double seconds, std::size_t bytes) {
  last_scrape_seconds_->Set(seconds);
  last_scrape_bytes_->Set(static_cast<double>(bytes));
}

void AgentMetrics::AppendText(std::string* out) const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  for (auto& family : ProcessMetrics().Collect()) families.push_back(std::move(family));
  std::ostringstream text;
  prometheus::TextSerializer().Serialize(text, families);
  out->append(text.str());
}

std::vector<AgentMetrics::OwnFamily> AgentMetrics::CollectFamilies() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  for (auto& family : ProcessMetrics().Collect()) families.push_back(std::move(family));
  std::vector<OwnFamily> out;
  out.reserve(families.size());
  for (prometheus::MetricFamily& family : families) {
    OwnFamily own;
    own.name = std::move(family.name);
    own.help = std::move(family.help);
    own.counter = family.type == prometheus::MetricType::Counter;
    for (prometheus::ClientMetric& metric : family.metric) {
      OwnSample sample;
      for (prometheus::ClientMetric::Label& label : metric.label) {
        sample.labels.emplace_back(std::move(label.name), std::move(label.value));
      }
      switch (family.type) {
        case prometheus::MetricType::Counter: sample.value = metric.counter.value; break;
        case prometheus::MetricType::Gauge: sample.value = metric.gauge.value; break;
        default: sample.value = metric.untyped.value; break;
      }
      own.samples.push_back(std::move(sample));
    }
    out.push_back(std::move(own));
  }
  return out;
}

double AgentMetrics::events_received(Transport transport) const {
  return received_[static_cast<std::size_t>(transport)]->Value();
}

double AgentMetrics::events_accepted(Transport transport) const {
  return accepted_[static_cast<std::size_t>(transport)]->Value();
}

double AgentMetrics::events_rejected(Transport transport, RejectReason reason) const {
  return rejected_[static_cast<std::size_t>(transport)][static_cast<std::size_t>(reason)]->Value();
}

}  // namespace llm_exporter::telemetry
