#include "config/reloader.h"

#include <doctest/doctest.h>
#include <prometheus/text_serializer.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
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

std::string Exposition(telemetry::AgentMetrics& metrics) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, metrics.registry().Collect());
  return out.str();
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
  CHECK(reloader.Reload() == "");
  CHECK(catalog.Current()->size() == 2);
  std::string text = Exposition(metrics);
  CHECK(text.find("team_id=\"search\"") == std::string::npos);
  CHECK(text.find("llm_team_budget_usd{period=\"monthly\",team_id=\"ads\"} 7") != std::string::npos);
  CHECK(text.find("llm_exporter_pricing_reloads_total{result=\"success\"} 1") != std::string::npos);

  prices.Write(R"({"models": {"c": {"input": 1}}})");
  CHECK(reloader.Reload() == "pricing file " + prices.path() + ": models[\"c\"].output is required");
  CHECK(catalog.Current()->size() == 2);  // the old table stays
  text = Exposition(metrics);
  CHECK(text.find("llm_exporter_pricing_reloads_total{result=\"failure\"} 1") != std::string::npos);
  CHECK(text.find("llm_exporter_pricing_last_reload_successful 0") != std::string::npos);
  CHECK(text.find("llm_team_budget_usd{period=\"monthly\",team_id=\"ads\"} 7") != std::string::npos);
}

TEST_CASE("Reloader: a broken budgets file keeps the old price table too") {
  testing::FakeClock clock;
  telemetry::AgentMetrics metrics;
  pricing::PriceCatalog catalog(pricing::PriceTable::Default());
  TempFile prices, budgets;
  prices.Write(R"({"models": {"a": {"input": 1, "output": 2}}})");
  budgets.Write(R"({"teams": {}})");
  Reloader reloader(prices.path(), budgets.path(), catalog, metrics, clock);
  reloader.LoadInitial();
  prices.Write(R"({"models": {}})");
  budgets.Write("not json");
  CHECK(reloader.Reload().find("budgets file") == 0);
  CHECK(catalog.Current()->size() == 1);
}

}  // namespace
}  // namespace llm_exporter::config
