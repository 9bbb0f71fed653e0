#include "config/reloader.h"

#include <doctest/doctest.h>
#include <prometheus/registry.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "fakes/fake_clock.h"

namespace llm_exporter::config {
namespace {

// A temp file the test writes and rewrites; removed at the end.
class TempFile {
 public:
  TempFile() {
    char name[] = "/tmp/llmx-reload-XXXXXX";
    const int fd = mkstemp(name);
    close(fd);
    path_ = name;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  void Write(const std::string& text) { std::ofstream(path_, std::ios::trunc) << text; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string Exposition(const telemetry::AgentMetrics& metrics) {
  std::string out;
  metrics.AppendText(&out);
  return out;
}

TEST_CASE("Reloader: a good file replaces the table, a broken one keeps it and is counted") {
  testing::FakeClock clock;
  telemetry::AgentMetrics metrics;
  pricing::PriceCatalog catalog(pricing::PriceTable::Default());
  TempFile prices, budgets;
  prices.Write(R"({"models": {"a": {"input": 1, "output": 2}}})");
  budgets.Write(R"({"teams": {"search": {"daily_usd": 50}}})");
  Reloader reloader(prices.path(), budgets.path(), catalog, metrics, clock);
  reloader.LoadInitial();
  CHECK(catalog.Current()->size() == 1);
  CHECK(Exposition(metrics).find("llm_team_budget_usd{period=\"daily\",team_id=\"search\"} 50") !=
        std::string::npos);

  prices.Write(R"({"models": {"a": {"input": 1, "output": 2}, "b": {"input": 1, "output": 2}}})");
  budgets.Write(R"({"teams": {"ads": {"monthly_usd": 7}}})");
  CHECK(reloader.Reload().ok());
  CHECK(catalog.Current()->size() == 2);
  std::string text = Exposition(metrics);
  CHECK(text.find("team_id=\"search\"") == std::string::npos);
  CHECK(text.find("llm_team_budget_usd{period=\"monthly\",team_id=\"ads\"} 7") != std::string::npos);
  CHECK(text.find("llm_exporter_pricing_reloads_total{result=\"success\"} 1") != std::string::npos);

  prices.Write(R"({"models": {"c": {"input": 1}}})");
  CHECK(reloader.Reload().error == "pricing file " + prices.path() + ": models[\"c\"].output is required");
  CHECK(catalog.Current()->size() == 2);  // the old table stays
  text = Exposition(metrics);
  CHECK(text.find("llm_exporter_pricing_reloads_total{result=\"failure\"} 1") != std::string::npos);
  CHECK(text.find("llm_exporter_pricing_last_reload_successful 0") != std::string::npos);
  CHECK(text.find("llm_team_budget_usd{period=\"monthly\",team_id=\"ads\"} 7") != std::string::npos);
}

// The value of an unlabelled series, or of the `result` series of a reloads counter.
double Value(telemetry::AgentMetrics& metrics, const std::string& name,
             const std::string& result = "") {
  for (const prometheus::MetricFamily& family : metrics.registry().Collect()) {
    if (family.name != name) continue;
    for (const prometheus::ClientMetric& metric : family.metric) {
      if (!result.empty() && (metric.label.empty() || metric.label[0].value != result)) continue;
      return family.type == prometheus::MetricType::Counter ? metric.counter.value
                                                            : metric.gauge.value;
    }
  }
  FAIL("no series ", name, " ", result);
  return -1;
}

TEST_CASE("Reloader: a broken budgets file fails the budgets reload only") {
  testing::FakeClock clock;
  telemetry::AgentMetrics metrics;
  pricing::PriceCatalog catalog(pricing::PriceTable::Default());
  TempFile prices, budgets;
  prices.Write(R"({"models": {"a": {"input": 1, "output": 2}}})");
  budgets.Write(R"({"teams": {"search": {"daily_usd": 50}}})");
  Reloader reloader(prices.path(), budgets.path(), catalog, metrics, clock);
  reloader.LoadInitial();
  CHECK(Value(metrics, "llm_exporter_budgets_last_reload_successful") == 1);
  CHECK(Value(metrics, "llm_exporter_budgets_last_reload_success_timestamp_seconds") == 1.8e9);
  CHECK(Value(metrics, "llm_exporter_pricing_last_reload_success_timestamp_seconds") == 1.8e9);

  clock.Advance(std::chrono::seconds(60));
  prices.Write(R"({"models": {"a": {"input": 1, "output": 2}, "b": {"input": 1, "output": 2}}})");
  budgets.Write(R"({"teams": {"search": {"daily_usd": "50"}}})");
  CHECK(reloader.Reload().error == "budgets file " + budgets.path() +
                                 ": teams[\"search\"].daily_usd must be a non-negative number, "
                                 "got \"50\"");
  CHECK(catalog.Current()->size() == 2);  // the good price table takes effect
  CHECK(Value(metrics, "llm_exporter_pricing_last_reload_successful") == 1);
  CHECK(Value(metrics, "llm_exporter_pricing_reloads_total", "success") == 1);
  CHECK(Value(metrics, "llm_exporter_pricing_reloads_total", "failure") == 0);
  CHECK(Value(metrics, "llm_exporter_pricing_last_reload_success_timestamp_seconds") == 1.8e9 + 60);
  CHECK(Value(metrics, "llm_exporter_budgets_last_reload_successful") == 0);
  CHECK(Value(metrics, "llm_exporter_budgets_reloads_total", "success") == 0);
  CHECK(Value(metrics, "llm_exporter_budgets_reloads_total", "failure") == 1);
  CHECK(Value(metrics, "llm_exporter_budgets_last_reload_success_timestamp_seconds") == 1.8e9);
  CHECK(Exposition(metrics).find("llm_team_budget_usd{period=\"daily\",team_id=\"search\"} 50") !=
        std::string::npos);  // the old budgets stay

  clock.Advance(std::chrono::seconds(60));
  budgets.Write(R"({"teams": {"search": {"daily_usd": 70}}})");
  CHECK(reloader.Reload().ok());
  CHECK(Value(metrics, "llm_exporter_budgets_last_reload_successful") == 1);
  CHECK(Value(metrics, "llm_exporter_budgets_reloads_total", "success") == 1);
  CHECK(Value(metrics, "llm_exporter_budgets_last_reload_success_timestamp_seconds") ==
        1.8e9 + 120);
  CHECK(Exposition(metrics).find("llm_team_budget_usd{period=\"daily\",team_id=\"search\"} 70") !=
        std::string::npos);
}

TEST_CASE("Reloader: a broken price file fails the pricing reload only") {
  testing::FakeClock clock;
  telemetry::AgentMetrics metrics;
  pricing::PriceCatalog catalog(pricing::PriceTable::Default());
  TempFile prices, budgets;
  prices.Write(R"({"models": {"a": {"input": 1, "output": 2}}})");
  budgets.Write(R"({"teams": {"search": {"daily_usd": 50}}})");
  Reloader reloader(prices.path(), budgets.path(), catalog, metrics, clock);
  reloader.LoadInitial();
  prices.Write(R"({"models": {}})");
  budgets.Write(R"({"teams": {"ads": {"daily_usd": 5}}})");
  CHECK(reloader.Reload().error == "pricing file " + prices.path() +
                                 ": \"models\" is empty: list at least one model (calls of "
                                 "models not listed are priced with the fallback price)");
  CHECK(catalog.Current()->size() == 1);
  REQUIRE(catalog.Current()->Find("a") != nullptr);
  CHECK(Value(metrics, "llm_exporter_pricing_last_reload_successful") == 0);
  CHECK(Value(metrics, "llm_exporter_pricing_reloads_total", "failure") == 1);
  CHECK(Value(metrics, "llm_exporter_budgets_last_reload_successful") == 1);
  CHECK(Value(metrics, "llm_exporter_budgets_reloads_total", "success") == 1);
  CHECK(Value(metrics, "llm_exporter_budgets_reloads_total", "failure") == 0);
  const std::string text = Exposition(metrics);
  CHECK(text.find("team_id=\"search\"") == std::string::npos);
  CHECK(text.find("llm_team_budget_usd{period=\"daily\",team_id=\"ads\"} 5") != std::string::npos);
}

TEST_CASE("Reloader: when both files are broken the answer names both") {
  testing::FakeClock clock;
  telemetry::AgentMetrics metrics;
  pricing::PriceCatalog catalog(pricing::PriceTable::Default());
  TempFile prices, budgets;
  prices.Write(R"({"models": {"a": {"input": 1, "output": 2}}})");
  budgets.Write(R"({"teams": {}})");
  Reloader reloader(prices.path(), budgets.path(), catalog, metrics, clock);
  reloader.LoadInitial();
  prices.Write(R"({"models": {"a": {"input": 1}}})");
  budgets.Write(R"({"teams": {"x": {"weekly_usd": 1}}})");
  ReloadAction& action = reloader;  // as POST /-/reload and SIGHUP see it
  const ReloadStatus status = action.Reload();
  CHECK_FALSE(status.ok());
  CHECK(status.error ==
        "pricing file " + prices.path() + ": models[\"a\"].output is required; budgets file " +
            budgets.path() + ": teams[\"x\"] has unknown key \"weekly_usd\" (known: daily_usd, "
            "monthly_usd)");
  CHECK(Value(metrics, "llm_exporter_pricing_last_reload_successful") == 0);
  CHECK(Value(metrics, "llm_exporter_budgets_last_reload_successful") == 0);
}

TEST_CASE("Reloader: without a budgets file the budgets reload always succeeds") {
  testing::FakeClock clock;
  telemetry::AgentMetrics metrics;
  pricing::PriceCatalog catalog(pricing::PriceTable::Default());
  Reloader reloader("", "", catalog, metrics, clock);
  reloader.LoadInitial();
  CHECK(catalog.Current()->size() == pricing::PriceTable::Default().size());
  clock.Advance(std::chrono::seconds(5));
  CHECK(reloader.Reload().ok());
  CHECK(Value(metrics, "llm_exporter_budgets_last_reload_successful") == 1);
  CHECK(Value(metrics, "llm_exporter_budgets_reloads_total", "success") == 1);
  CHECK(Value(metrics, "llm_exporter_budgets_last_reload_success_timestamp_seconds") == 1.8e9 + 5);
  CHECK(Value(metrics, "llm_exporter_pricing_reloads_total", "success") == 1);
  CHECK(Exposition(metrics).find("llm_team_budget_usd{") == std::string::npos);
}

}  // namespace
}  // namespace llm_exporter::config
