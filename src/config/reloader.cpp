#include "config/reloader.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <stdexcept>
#include <utility>

#include "pricing/price_table_loader.h"

namespace llm_exporter::config {

Reloader::Reloader(std::string pricing_file, std::string budgets_file,
                   pricing::PriceCatalog& catalog, telemetry::AgentMetrics& agent_metrics,
                   const Clock& clock)
    : pricing_file_(std::move(pricing_file)),
      budgets_file_(std::move(budgets_file)),
      catalog_(catalog),
      agent_metrics_(agent_metrics),
      clock_(clock) {}

pricing::PriceTable Reloader::LoadPriceTable() const {
  return pricing_file_.empty() ? pricing::PriceTable::Default()
                               : pricing::LoadPriceTableFile(pricing_file_);
}

std::vector<TeamBudget> Reloader::LoadBudgets() const {
  // No file means no budgets: nothing can fail, so the load always succeeds.
  return budgets_file_.empty() ? std::vector<TeamBudget>{} : LoadBudgetsFile(budgets_file_);
}

void Reloader::ApplyPriceTable(pricing::PriceTable table) {
  agent_metrics_.SetPricingModels(table.size());
  catalog_.Replace(std::move(table));
}

void Reloader::ApplyBudgets(const std::vector<TeamBudget>& budgets) {
  // Views into `budgets` are enough: SetBudgets() copies the labels before it returns.
  std::vector<telemetry::BudgetGauge> gauges;
  gauges.reserve(budgets.size());
  for (const TeamBudget& budget : budgets) {
    gauges.push_back({budget.team_id, budget.period, budget.usd});
  }
  agent_metrics_.SetBudgets(gauges);
}

void Reloader::LoadInitial() {
  std::lock_guard<std::mutex> lock(mu_);
  // Both files are read before either is applied: a bad one stops the agent at start-up anyway.
  pricing::PriceTable table = LoadPriceTable();
  std::vector<TeamBudget> budgets = LoadBudgets();
  ApplyPriceTable(std::move(table));
  ApplyBudgets(budgets);
  const std::chrono::duration<double> now = clock_.WallNow().time_since_epoch();
  agent_metrics_.SetLoaded(telemetry::ReloadTarget::kPricing, now.count());
  agent_metrics_.SetLoaded(telemetry::ReloadTarget::kBudgets, now.count());
}

ReloadStatus Reloader::Reload() {
  using telemetry::ReloadTarget;
  std::lock_guard<std::mutex> lock(mu_);
  const std::chrono::duration<double> now = clock_.WallNow().time_since_epoch();
  std::string errors;
  try {
    pricing::PriceTable table = LoadPriceTable();
    const std::size_t models = table.size();
    ApplyPriceTable(std::move(table));
    agent_metrics_.CountReload(ReloadTarget::kPricing, true, now.count());
    spdlog::info("Reloaded the price table ({} models)", models);
  } catch (const std::exception& e) {
    agent_metrics_.CountReload(ReloadTarget::kPricing, false, now.count());
    spdlog::error("Reload failed, keeping the previous price table: {}", e.what());
    errors = e.what();
  }
  try {
    const std::vector<TeamBudget> budgets = LoadBudgets();
    ApplyBudgets(budgets);
    agent_metrics_.CountReload(ReloadTarget::kBudgets, true, now.count());
    if (!budgets_file_.empty()) spdlog::info("Reloaded the budgets ({} budgets)", budgets.size());
  } catch (const std::exception& e) {
    agent_metrics_.CountReload(ReloadTarget::kBudgets, false, now.count());
    spdlog::error("Reload failed, keeping the previous budgets: {}", e.what());
    if (!errors.empty()) errors += "; ";
    errors += e.what();
  }
  return ReloadStatus{std::move(errors)};
}

}  // namespace llm_exporter::config
