// Fuzzes the pricing file loader: any text either loads into a table whose prices are sane, or
// is refused with std::runtime_error naming the file. Any other exception, crash, leak or UB is
// a bug (a bad file given to SIGHUP or /-/reload must never take the agent down).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "pricing/price_table.h"
#include "pricing/price_table_loader.h"

namespace {

using llm_exporter::LlmCall;
using llm_exporter::fuzz::Require;
using llm_exporter::pricing::ModelPrice;
using llm_exporter::pricing::ParsePriceTable;
using llm_exporter::pricing::PriceTable;

constexpr std::string_view kOrigin = "fuzz.json";

void CheckPrice(const PriceTable& table, const ModelPrice& price, std::string_view model) {
  Require(price.input_per_1k >= 0 && price.output_per_1k >= 0, "a negative rate", model);
  Require(!price.cached_input_per_1k || *price.cached_input_per_1k >= 0, "a negative cached rate",
          model);
  Require(!price.cache_write_input_per_1k || *price.cache_write_input_per_1k >= 0,
          "a negative cache-write rate", model);
  // The largest call the decoder lets through: the cost clamps, it never wraps or goes negative.
  LlmCall call;
  call.model = model;
  call.input_tokens = uint64_t{1} << 53;
  call.cached_input_tokens = uint64_t{1} << 52;
  call.cache_write_input_tokens = uint64_t{1} << 51;
  call.output_tokens = uint64_t{1} << 53;
  Require(table.Price(call).cost >= 0, "a huge call priced negative", model);
  call.input_tokens = 1000;
  call.cached_input_tokens = 0;
  call.cache_write_input_tokens = 0;
  call.output_tokens = 0;
  Require(table.Price(call).cost == price.input_per_1k, "1000 input tokens do not cost the rate",
          model);
}

void CheckOne(std::string_view text) {
  try {
    const PriceTable table = ParsePriceTable(text, kOrigin);
    constexpr std::string_view kUnlisted = "a model no table lists \x01";
    if (table.Find(kUnlisted) == nullptr) CheckPrice(table, table.fallback(), kUnlisted);
    // Every model the file names is in the table, and nothing else is. The loader accepted the
    // file, so it is valid JSON and nlohmann parses it the same way again.
    const nlohmann::json doc = nlohmann::json::parse(text);
    const nlohmann::json& models = doc.at("models");
    Require(table.size() == models.size(), "the table's size differs from the file's models");
    for (const auto& [name, entry] : models.items()) {
      const ModelPrice* price = table.Find(name);
      Require(price != nullptr, "a model in the file is missing from the table", name);
      CheckPrice(table, *price, name);
    }
  } catch (const std::runtime_error& e) {
    const std::string_view what = e.what();
    Require(what.starts_with("pricing file fuzz.json: "), "an error that does not name the file",
            what);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  llm_exporter::fuzz::RunOnSmallStack([&] { CheckOne(text); });
  return 0;
}
