#include "pricing/price_table_loader.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace llm_exporter::pricing {
namespace {

using nlohmann::json;

[[noreturn]] void Fail(std::string_view origin, const std::string& what) {
  throw std::runtime_error("pricing file " + std::string(origin) + ": " + what);
}

// A value as shown in an error: scalars as written, containers by kind only, since dump() recurses
// once per nesting level and a file nested 100,000 deep would overflow the stack.
std::string Shown(const json& value) {
  if (value.is_object()) return "an object";
  if (value.is_array()) return "an array";
  std::string text = value.dump();
  if (text.size() > 80) text = text.substr(0, 80) + "...";
  return text;
}

// A rate in the file's unit, converted to pico-dollars per 1K tokens.
PicoUsd Rate(const json& value, double per_1k_factor, std::string_view origin,
             const std::string& where) {
  if (!value.is_number()) Fail(origin, where + " must be a number, got " + Shown(value));
  const double usd = value.get<double>() * per_1k_factor;
  const std::optional<PicoUsd> pico = UsdToPico(usd);
  if (!pico) Fail(origin, where + " must be a non-negative number of USD, got " + Shown(value));
  return *pico;
}

ModelPrice ParsePrice(const json& entry, double factor, std::string_view origin,
                      const std::string& where) {
  if (!entry.is_object()) Fail(origin, where + " must be an object like {\"input\": 0.0025, \"output\": 0.01}");
  ModelPrice price;
  bool has_input = false, has_output = false;
  for (const auto& [key, value] : entry.items()) {
    if (key == "input") {
      price.input_per_1k = Rate(value, factor, origin, where + ".input");
      has_input = true;
    } else if (key == "output") {
      price.output_per_1k = Rate(value, factor, origin, where + ".output");
      has_output = true;
    } else if (key == "cached_input") {
      price.cached_input_per_1k = Rate(value, factor, origin, where + ".cached_input");
    } else if (key == "cache_write_input") {
      price.cache_write_input_per_1k = Rate(value, factor, origin, where + ".cache_write_input");
    } else {
      Fail(origin, where + " has unknown key \"" + key +
                       "\" (known: input, output, cached_input, cache_write_input)");
    }
  }
  if (!has_input) Fail(origin, where + ".input is required");
  if (!has_output) Fail(origin, where + ".output is required");
  return price;
}

}  // namespace

PriceTable ParsePriceTable(std::string_view json_text, std::string_view origin) {
  json doc;
  try {
    doc = json::parse(json_text);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number like 1e400
    Fail(origin, std::string("not valid JSON: ") + e.what());
  }
  if (!doc.is_object()) Fail(origin, "must be a JSON object with a \"models\" object");
  double factor = 1.0;  // the file's unit -> USD per 1K tokens
  if (doc.contains("unit")) {
    const json& unit = doc["unit"];
    if (unit == "usd_per_1k_tokens") {
      factor = 1.0;
    } else if (unit == "usd_per_1m_tokens") {
      factor = 1.0 / 1000.0;
    } else {
      Fail(origin, "unit must be \"usd_per_1k_tokens\" or \"usd_per_1m_tokens\", got " +
                       Shown(unit));
    }
  }
  for (const auto& [key, value] : doc.items()) {
    if (key != "unit" && key != "models" && key != "fallback") {
      Fail(origin, "unknown key \"" + key + "\" (known: unit, models, fallback)");
    }
  }
  if (!doc.contains("models") || !doc["models"].is_object()) {
    Fail(origin, "\"models\" must be an object mapping model names to prices");
  }
  // An empty table would price every call with the fallback price: almost certainly a file cut
  // short or generated from an empty list, so it is refused rather than silently put in force.
  if (doc["models"].empty()) {
    Fail(origin, "\"models\" is empty: list at least one model (calls of models not listed are "
                 "priced with the fallback price)");
  }
  std::unordered_map<std::string, ModelPrice> models;
  for (const auto& [name, entry] : doc["models"].items()) {
    if (name.empty()) Fail(origin, "models has an entry with an empty name");
    models.emplace(name, ParsePrice(entry, factor, origin, "models[\"" + name + "\"]"));
  }
  ModelPrice fallback = PriceTable::Default().fallback();
  if (doc.contains("fallback")) fallback = ParsePrice(doc["fallback"], factor, origin, "fallback");
  return PriceTable(std::move(models), fallback);
}

PriceTable LoadPriceTableFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Fail(path, std::string("cannot be read: ") + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return ParsePriceTable(text.str(), path);
}

}  // namespace llm_exporter::pricing
