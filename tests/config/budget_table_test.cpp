#include "config/budget_table.h"

#include <doctest/doctest.h>

#include <stdexcept>

namespace llm_exporter::config {
namespace {

std::string ErrorOf(std::string_view json) {
  try {
    ParseBudgets(json, "budgets.json");
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "no error";
}

TEST_CASE("ParseBudgets: daily and monthly budgets per team") {
  const auto budgets =
      ParseBudgets(R"({"teams": {"search": {"daily_usd": 50, "monthly_usd": 1000}, "ads": {"daily_usd": 5.5}}})",
                   "test");
  REQUIRE(budgets.size() == 3);
  CHECK(budgets[0].team_id == "ads");
  CHECK(budgets[0].period == "daily");
  CHECK(budgets[0].usd == 5.5);
  CHECK(budgets[2].team_id == "search");
  CHECK(budgets[2].period == "monthly");
  CHECK(budgets[2].usd == 1000);
}

TEST_CASE("ParseBudgets: mistakes are named") {
  CHECK(ErrorOf(R"({"teams": {"a": {"weekly_usd": 1}}})") ==
        "budgets file budgets.json: teams[\"a\"] has unknown key \"weekly_usd\" (known: daily_usd, monthly_usd)");
  CHECK(ErrorOf(R"({"teams": {"a": {"daily_usd": -1}}})") ==
        "budgets file budgets.json: teams[\"a\"].daily_usd must be a non-negative number, got -1");
  CHECK(ErrorOf(R"({"team": {}})").find("must be {\"teams\"") != std::string::npos);
  CHECK(ErrorOf(R"({"teams": {"a": {"daily_usd": [[[1]]]}}})") ==
        "budgets file budgets.json: teams[\"a\"].daily_usd must be a non-negative number, got an array");
  CHECK(ErrorOf(R"({"teams": {"a": {"daily_usd": 1e400}}})").find("budgets file budgets.json: not valid JSON") == 0);
}

}  // namespace
}  // namespace llm_exporter::config
