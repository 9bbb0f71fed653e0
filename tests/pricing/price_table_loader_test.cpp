#include "pricing/price_table_loader.h"

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

namespace llm_exporter::pricing {
namespace {

std::string ErrorOf(std::string_view json) {
  try {
    ParsePriceTable(json, "prices.json");
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "no error";
}

TEST_CASE("ParsePriceTable: models with input, output and cached_input, per 1K tokens") {
  const PriceTable table = ParsePriceTable(
      R"({"models": {"gpt-4o": {"input": 0.0025, "output": 0.01, "cached_input": 0.00125},
                     "mini": {"input": 0.00015, "output": 0.0006}}})",
      "test");
  CHECK(table.size() == 2);
  REQUIRE(table.Find("gpt-4o") != nullptr);
  CHECK(*table.Find("gpt-4o") ==
        ModelPrice{2'500'000'000, 10'000'000'000, 1'250'000'000, std::nullopt});
  CHECK(*table.Find("mini") == ModelPrice{150'000'000, 600'000'000, std::nullopt, std::nullopt});
  CHECK(table.Find("claude-sonnet-4-20250514") == nullptr);  // a file replaces the defaults
  CHECK(table.fallback() == PriceTable::Default().fallback());
}

TEST_CASE("ParsePriceTable: cache_write_input beside cached_input, in the file's unit") {
  const PriceTable table = ParsePriceTable(
      R"({"unit": "usd_per_1m_tokens",
          "models": {"claude": {"input": 3, "output": 15, "cached_input": 0.3,
                                "cache_write_input": 3.75}},
          "fallback": {"input": 1, "output": 2, "cache_write_input": 1.25}})",
      "test");
  CHECK(*table.Find("claude") ==
        ModelPrice{3'000'000'000, 15'000'000'000, 300'000'000, 3'750'000'000});
  CHECK(table.fallback() == ModelPrice{1'000'000'000, 2'000'000'000, std::nullopt, 1'250'000'000});
  const PriceTable per_1k = ParsePriceTable(
      R"({"models": {"m": {"input": 0.003, "output": 0.015, "cache_write_input": 0.00375}}})",
      "test");
  CHECK(per_1k.Find("m")->cache_write_input_per_1k == 3'750'000'000);
  CHECK(per_1k.Find("m")->cached_input_per_1k == std::nullopt);
  CHECK(ErrorOf(R"({"models": {"m": {"input": 1, "output": 1, "cache_write_input": -0.5}}})") ==
        "pricing file prices.json: models[\"m\"].cache_write_input must be a non-negative number "
        "of USD, got -0.5");
  CHECK(ErrorOf(R"({"models": {"m": {"input": 1, "output": 1, "cache_write_input": null}}})") ==
        "pricing file prices.json: models[\"m\"].cache_write_input must be a number, got null");
  CHECK(ErrorOf(R"({"models": {"m": {"input": 1, "output": 1}},
                    "fallback": {"input": 1, "output": 1, "cache_write_input": "1.25"}})") ==
        "pricing file prices.json: fallback.cache_write_input must be a number, got \"1.25\"");
}

TEST_CASE("ParsePriceTable: per-1M units and an explicit fallback") {
  const PriceTable table = ParsePriceTable(
      R"({"unit": "usd_per_1m_tokens", "models": {"gpt-4o": {"input": 2.5, "output": 10}},
          "fallback": {"input": 1, "output": 2}})",
      "test");
  CHECK(*table.Find("gpt-4o") ==
        ModelPrice{2'500'000'000, 10'000'000'000, std::nullopt, std::nullopt});
  CHECK(table.fallback() == ModelPrice{1'000'000'000, 2'000'000'000, std::nullopt, std::nullopt});
}

TEST_CASE("ParsePriceTable: every mistake is named with the file and the entry") {
  CHECK(ErrorOf("{") .find("pricing file prices.json: not valid JSON") == 0);
  CHECK(ErrorOf("[]") == "pricing file prices.json: must be a JSON object with a \"models\" object");
  CHECK(ErrorOf(R"({"models": {"m": {"input": 1}}})") ==
        "pricing file prices.json: models[\"m\"].output is required");
  CHECK(ErrorOf(R"({"models": {"m": {"input": -1, "output": 1}}})") ==
        "pricing file prices.json: models[\"m\"].input must be a non-negative number of USD, got -1");
  CHECK(ErrorOf(R"({"models": {"m": {"input": "1", "output": 1}}})") ==
        "pricing file prices.json: models[\"m\"].input must be a number, got \"1\"");
  CHECK(ErrorOf(R"({"models": {"m": {"input": 1, "ouput": 1}}})") ==
        "pricing file prices.json: models[\"m\"] has unknown key \"ouput\" (known: input, output, "
        "cached_input, cache_write_input)");
  CHECK(ErrorOf(R"({"modles": {}})") ==
        "pricing file prices.json: unknown key \"modles\" (known: unit, models, fallback)");
  CHECK(ErrorOf(R"({"models": {}})") ==
        "pricing file prices.json: \"models\" is empty: list at least one model (calls of models "
        "not listed are priced with the fallback price)");
  CHECK(ErrorOf(R"({"models": {}, "fallback": {"input": 1, "output": 1}})") ==
        "pricing file prices.json: \"models\" is empty: list at least one model (calls of models "
        "not listed are priced with the fallback price)");
  CHECK(ErrorOf(R"({"unit": "eur", "models": {}})") ==
        "pricing file prices.json: unit must be \"usd_per_1k_tokens\" or \"usd_per_1m_tokens\", got \"eur\"");
}

TEST_CASE("LoadPriceTableFile: a missing file is named") {
  try {
    LoadPriceTableFile("/nonexistent/prices.json");
    FAIL("expected an error");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()) ==
          "pricing file /nonexistent/prices.json: cannot be read: No such file or directory");
  }
}

}  // namespace
}  // namespace llm_exporter::pricing
