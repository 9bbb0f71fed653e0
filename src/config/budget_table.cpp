#include "config/budget_table.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace llm_exporter::config {
namespace {

[[noreturn]] void Fail(std::string_view origin, const std::string& what) {
  throw std::runtime_error("budgets file " + std::string(origin) + ": " + what);
}

}  // namespace

std::vector<TeamBudget> ParseBudgets(std::string_view json_text, std::string_view origin) {
  using nlohmann::json;
  json doc;
  try {
    doc = json::parse(json_text);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number like 1e400
    Fail(origin, std::string("not valid JSON: ") + e.what());
  }
  if (!doc.is_object() || doc.size() != 1 || !doc.contains("teams") || !doc["teams"].is_object()) {
    Fail(origin, "must be {\"teams\": {\"<team_id>\": {\"daily_usd\": N, \"monthly_usd\": N}}}");
  }
  std::vector<TeamBudget> budgets;
  for (const auto& [team, entry] : doc["teams"].items()) {
    if (!entry.is_object() || entry.empty()) {
      Fail(origin, "teams[\"" + team + "\"] must be an object with daily_usd and/or monthly_usd");
    }
    for (const auto& [key, value] : entry.items()) {
      std::string period;
      if (key == "daily_usd") {
        period = "daily";
      } else if (key == "monthly_usd") {
        period = "monthly";
      } else {
        Fail(origin, "teams[\"" + team + "\"] has unknown key \"" + key +
                         "\" (known: daily_usd, monthly_usd)");
      }
      if (!value.is_number() || !std::isfinite(value.get<double>()) || value.get<double>() < 0) {
        // Containers by kind only: dump() recurses once per nesting level.
        Fail(origin, "teams[\"" + team + "\"]." + key + " must be a non-negative number, got " +
                         (value.is_primitive() ? value.dump() : std::string("an ") + value.type_name()));
      }
      budgets.push_back({team, period, value.get<double>()});
    }
  }
  return budgets;
}

std::vector<TeamBudget> LoadBudgetsFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Fail(path, std::string("cannot be read: ") + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return ParseBudgets(text.str(), path);
}

}  // namespace llm_exporter::config
