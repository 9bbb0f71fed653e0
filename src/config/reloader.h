// Reloads the price table and the budgets from their files (SIGHUP, POST /-/reload). Each file is
// loaded on its own: one that fails keeps what it had loaded before, is logged with the reason and
// is counted in its own metrics (llm_exporter_pricing_* or llm_exporter_budgets_*), while the
// other still takes effect.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "config/budget_table.h"
#include "llm_exporter/clock.h"
#include "llm_exporter/reload.h"
#include "pricing/price_catalog.h"
#include "telemetry/agent_metrics.h"

namespace llm_exporter::config {

// The ReloadAction that POST /-/reload and SIGHUP run. Thread-safe: reloads are serialized.
class Reloader final : public ReloadAction {
 public:
  Reloader(std::string pricing_file, std::string budgets_file, pricing::PriceCatalog& catalog,
           telemetry::AgentMetrics& agent_metrics, const Clock& clock);

  // Loads both files at start-up; throws std::runtime_error with the reason when one is bad.
  void LoadInitial();
  // Loads both files; a file that fails keeps its old table or budgets. The status is ok when
  // both loaded; else its error holds each failure, "; "-separated, each starting
  // "pricing file PATH: " or "budgets file PATH: " so that the answer to /-/reload names the part
  // that failed.
  ReloadStatus Reload() override;

 private:
  pricing::PriceTable LoadPriceTable() const;
  std::vector<TeamBudget> LoadBudgets() const;
  void ApplyPriceTable(pricing::PriceTable table);
  void ApplyBudgets(const std::vector<TeamBudget>& budgets);

  const std::string pricing_file_;
  const std::string budgets_file_;
  pricing::PriceCatalog& catalog_;
  telemetry::AgentMetrics& agent_metrics_;
  const Clock& clock_;
  std::mutex mu_;
};

}  // namespace llm_exporter::config
