// Per-team spend budgets from a JSON file (format in docs/configuration.md), exposed as the
// llm_team_budget_usd gauge so that alert rules can compare spend against them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "telemetry/agent_metrics.h"

namespace llm_exporter::config {

// {"teams": {"search": {"daily_usd": 50, "monthly_usd": 1000}}}. Throws std::runtime_error
// naming `origin`, the team and the problem.
std::vector<telemetry::TeamBudget> ParseBudgets(std::string_view json_text, std::string_view origin);
std::vector<telemetry::TeamBudget> LoadBudgetsFile(const std::string& path);

}  // namespace llm_exporter::config
