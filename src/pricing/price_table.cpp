#include "pricing/price_table.h"

namespace llm_exporter::pricing {
namespace {

PicoUsd PerThousand(double usd) { return *UsdToPico(usd); }

}  // namespace

PriceTable::PriceTable(std::unordered_map<std::string, ModelPrice> models, ModelPrice fallback)
    : models_(models.begin(), models.end()), fallback_(fallback) {}

PriceTable PriceTable::Default() {
  return PriceTable(
      {
          {"gpt-4o", {PerThousand(0.0025), PerThousand(0.01), std::nullopt, std::nullopt}},
          {"gpt-4o-mini",
           {PerThousand(0.00015), PerThousand(0.0006), std::nullopt, std::nullopt}},
          {"claude-sonnet-4-20250514",
           {PerThousand(0.003), PerThousand(0.015), std::nullopt, std::nullopt}},
      },
      {PerThousand(0.01), PerThousand(0.03), std::nullopt, std::nullopt});
}

const ModelPrice* PriceTable::Find(std::string_view model) const {
  const auto it = models_.find(model);
  return it == models_.end() ? nullptr : &it->second;
}

PricedCall PriceTable::Price(const LlmCall& call) const {
  const ModelPrice* price = Find(call.model);
  const bool fallback = price == nullptr;
  if (call.caller_cost_pico) return {*call.caller_cost_pico, false};
  if (!call.usage_known) return {0, false};
  if (fallback) price = &fallback_;
  const auto cached = static_cast<PicoUsdTotal>(call.cached_input_tokens);
  const auto cache_write = static_cast<PicoUsdTotal>(call.cache_write_input_tokens);
  // The decoders guarantee cached + cache_write <= input; a caller that breaks it still gets a
  // cost that is never negative (the parts are priced, the uncached rest taken as 0).
  const auto input = static_cast<PicoUsdTotal>(call.input_tokens);
  const PicoUsdTotal uncached = input > cached + cache_write ? input - cached - cache_write : 0;
  const PicoUsdTotal cached_rate = price->cached_input_per_1k.value_or(price->input_per_1k);
  const PicoUsdTotal cache_write_rate =
      price->cache_write_input_per_1k.value_or(price->input_per_1k);
  const PicoUsdTotal thousandths =
      uncached * price->input_per_1k + cached * cached_rate + cache_write * cache_write_rate +
      static_cast<PicoUsdTotal>(call.output_tokens) * price->output_per_1k;
  // Round half up (thousandths is never negative). Nearly every call's thousandths fit in 64
  // bits, where dividing by the constant 1000 is a multiply and a shift instead of a call to the
  // 128-bit division routine.
  constexpr PicoUsdTotal kFits64 = UINT64_MAX - 500;
  PicoUsdTotal cost = thousandths <= kFits64
                          ? PicoUsdTotal{(static_cast<uint64_t>(thousandths) + 500) / 1000}
                          : (thousandths + 500) / 1000;
  constexpr PicoUsdTotal kMax = INT64_MAX;
  if (cost > kMax) cost = kMax;  // beyond 9.2 million USD for one call: clamp, never wrap
  return {static_cast<PicoUsd>(cost), fallback};
}

}  // namespace llm_exporter::pricing
