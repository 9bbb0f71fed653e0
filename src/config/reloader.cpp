#include "config/reloader.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <stdexcept>

#include "config/budget_table.h"
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

void Reloader::Apply(pricing::PriceTable table, std::vector<telemetry::TeamBudget> budgets) {
  agent_metrics_.SetPricingModels(table.size());
  catalog_.Replace(std::move(table));
  agent_metrics_.SetBudgets(budgets);
}

void Reloader::LoadInitial() {
  std::lock_guard<std::mutex> lock(mu_);
  pricing::PriceTable table = pricing_file_.empty() ? pricing::PriceTable::Default()
                                                    : pricing::LoadPriceTableFile(pricing_file_);
  std::vector<telemetry::TeamBudget> budgets;
  if (!budgets_file_.empty()) budgets = LoadBudgetsFile(budgets_file_);
  Apply(std::move(table), std::move(budgets));
  const std::chrono::duration<double> now = clock_.WallNow().time_since_epoch();
  agent_metrics_.SetLoaded(now.count());
}

std::string Reloader::Reload() {
  std::lock_guard<std::mutex> lock(mu_);
  const std::chrono::duration<double> now = clock_.WallNow().time_since_epoch();
  try {
    pricing::PriceTable table = pricing_file_.empty() ? pricing::PriceTable::Default()
                                                      : pricing::LoadPriceTableFile(pricing_file_);
    std::vector<telemetry::TeamBudget> budgets;
    if (!budgets_file_.empty()) budgets = LoadBudgetsFile(budgets_file_);
    const std::size_t models = table.size();
    Apply(std::move(table), std::move(budgets));
    agent_metrics_.CountReload(true, now.count());
    spdlog::info("Reloaded the price table ({} models){}", models,
                 budgets_file_.empty() ? "" : " and budgets");
    return "";
  } catch (const std::exception& e) {
    agent_metrics_.CountReload(false, now.count());
    spdlog::error("Reload failed, keeping the previous price table and budgets: {}", e.what());
    return e.what();
  }
}

}  // namespace llm_exporter::config
