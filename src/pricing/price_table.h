// Prices LLM calls: a model's USD-per-1K-token rates for input, cached input, cache-write input
// and output tokens, and the fallback rate for models the table does not list.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "llm_exporter/event.h"
#include "llm_exporter/money.h"

namespace llm_exporter::pricing {

// Rates in pico-dollars per 1,000 tokens (0.0025 USD per 1K tokens is 2'500'000'000).
struct ModelPrice {
  PicoUsd input_per_1k = 0;
  PicoUsd output_per_1k = 0;
  std::optional<PicoUsd> cached_input_per_1k;  // Absent: cached tokens cost the input rate.
  // Tokens written to a prompt cache (Anthropic charges 1.25x input for 5-minute writes).
  // Absent: they cost the input rate.
  std::optional<PicoUsd> cache_write_input_per_1k;

  bool operator==(const ModelPrice&) const = default;
};

struct PricedCall {
  PicoUsd cost = 0;
  bool fallback = false;  // The model is not in the table: the fallback rate was used.
};

// Immutable once built, so any number of threads may price calls with one table at once.
class PriceTable {
 public:
  PriceTable(std::unordered_map<std::string, ModelPrice> models, ModelPrice fallback);

  // The seed's table: gpt-4o, gpt-4o-mini and claude-sonnet-4-20250514, fallback 0.01/0.03.
  static PriceTable Default();

  // cost = ((input - cached - cache_write) x input + cached x cached_input
  //         + cache_write x cache_write_input + output x output) / 1000, in exact integer
  // arithmetic and rounded to the nearest pico-dollar; reasoning tokens are part of output and
  // priced with it. A caller-given cost wins. A call without usage (usage_known false) and
  // without a caller cost costs 0 and is not a fallback: no tokens were priced.
  PricedCall Price(const LlmCall& call) const;

  // nullptr when the model is not listed.
  const ModelPrice* Find(std::string_view model) const;
  const ModelPrice& fallback() const { return fallback_; }
  std::size_t size() const { return models_.size(); }

 private:
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, ModelPrice, NameHash, std::equal_to<>> models_;
  ModelPrice fallback_;
};

}  // namespace llm_exporter::pricing
