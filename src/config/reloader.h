// Reloads the price table and the budgets from their files (SIGHUP, POST /-/reload). A file that
// fails to load leaves everything as it was, is logged with the reason, and is counted.
#pragma once

#include <mutex>
#include <string>

#include "llm_exporter/clock.h"
#include "pricing/price_catalog.h"
#include "telemetry/agent_metrics.h"

namespace llm_exporter::config {

// Thread-safe: reloads are serialized.
class Reloader {
 public:
  Reloader(std::string pricing_file, std::string budgets_file, pricing::PriceCatalog& catalog,
           telemetry::AgentMetrics& agent_metrics, const Clock& clock);

  // Loads both files at start-up; throws std::runtime_error with the reason when one is bad.
  void LoadInitial();
  // Loads both files; on failure keeps the old table and budgets. Returns the error, or "".
  std::string Reload();

 private:
  void Apply(pricing::PriceTable table, std::vector<telemetry::TeamBudget> budgets);

  const std::string pricing_file_;
  const std::string budgets_file_;
  pricing::PriceCatalog& catalog_;
  telemetry::AgentMetrics& agent_metrics_;
  const Clock& clock_;
  std::mutex mu_;
};

}  // namespace llm_exporter::config
