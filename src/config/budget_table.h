// Per-team spend budgets from a JSON file (format in docs/configuration.md), exposed as the
// llm_team_budget_usd gauge so that alert rules can compare spend against them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace llm_exporter::config {

// One budget of one team, as the file gives it.
struct TeamBudget {
  std::string team_id;
  std::string period;  // "daily" or "monthly"
  double usd = 0;
};

// {"teams": {"search": {"daily_usd": 50, "monthly_usd": 1000}}}. Throws std::runtime_error
// naming `origin`, the team and the problem.
std::vector<TeamBudget> ParseBudgets(std::string_view json_text, std::string_view origin);
std::vector<TeamBudget> LoadBudgetsFile(const std::string& path);

}  // namespace llm_exporter::config
