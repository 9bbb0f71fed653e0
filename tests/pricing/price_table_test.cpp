#include "pricing/price_table.h"

#include <doctest/doctest.h>

namespace llm_exporter::pricing {
namespace {

LlmCall Call(std::string_view model, uint64_t in, uint64_t out, uint64_t cached = 0) {
  LlmCall call;
  call.model = model;
  call.input_tokens = in;
  call.output_tokens = out;
  call.cached_input_tokens = cached;
  return call;
}

// The seed's formula in double arithmetic, for comparison.
double SeedCost(double in, double out, double in_price, double out_price) {
  return (in * in_price + out * out_price) / 1000;
}

TEST_CASE("PriceTable: the default table prices the seed's models with the seed's formula") {
  const PriceTable table = PriceTable::Default();
  CHECK(table.size() == 3);
  const PricedCall gpt4o = table.Price(Call("gpt-4o", 1000, 500));
  CHECK(gpt4o.cost == 7'500'000'000);  // 0.0075 USD
  CHECK_FALSE(gpt4o.fallback);
  CHECK(PicoToUsd(gpt4o.cost) == SeedCost(1000, 500, 0.0025, 0.01));
  CHECK(table.Price(Call("gpt-4o-mini", 2000, 1000)).cost == 900'000'000);  // 0.0009
  CHECK(PicoToUsd(table.Price(Call("gpt-4o-mini", 2000, 1000)).cost) ==
        doctest::Approx(SeedCost(2000, 1000, 0.00015, 0.0006)).epsilon(1e-15));
  CHECK(table.Price(Call("claude-sonnet-4-20250514", 1234, 567)).cost ==
        1234LL * 3'000'000 + 567LL * 15'000'000);
}

TEST_CASE("PriceTable: an unknown model falls back to 0.01/0.03 and is marked as fallback") {
  const PricedCall priced = PriceTable::Default().Price(Call("llama-3-70b", 100, 10));
  CHECK(priced.fallback);
  CHECK(priced.cost == 100LL * 10'000'000 + 10LL * 30'000'000);  // 0.0013 USD
  CHECK(PicoToUsd(priced.cost) == SeedCost(100, 10, 0.01, 0.03));
}

TEST_CASE("PriceTable: cached input tokens use the cached rate when the table has one") {
  const PriceTable table({{"m", {2'500'000'000, 10'000'000'000, 1'250'000'000}}},
                         PriceTable::Default().fallback());
  // 600 uncached x 0.0025 + 400 cached x 0.00125 + 100 x 0.01, per 1K tokens
  CHECK(table.Price(Call("m", 1000, 100, 400)).cost ==
        600LL * 2'500'000 + 400LL * 1'250'000 + 100LL * 10'000'000);
  // Without a cached rate they cost the input rate, exactly as the seed prices them.
  CHECK(PriceTable::Default().Price(Call("gpt-4o", 1000, 0, 400)).cost == 1000LL * 2'500'000);
}

TEST_CASE("PriceTable: a caller-given cost replaces the priced one and is never a fallback") {
  LlmCall call = Call("unknown-model", 1000, 1000);
  call.caller_cost_pico = 42;
  const PricedCall priced = PriceTable::Default().Price(call);
  CHECK(priced.cost == 42);
  CHECK_FALSE(priced.fallback);
}

TEST_CASE("PriceTable: sub-pico-dollar remainders round to nearest, huge counts clamp") {
  // 0.000001 USD per 1K tokens = 1'000'000 pico per 1K = 1'000 pico per token: exact.
  const PriceTable table({{"tiny", {1, 3, std::nullopt}}}, {0, 0, std::nullopt});
  CHECK(table.Price(Call("tiny", 499, 0)).cost == 0);  // 0.499 pico
  CHECK(table.Price(Call("tiny", 500, 0)).cost == 1);  // 0.5 pico rounds up
  CHECK(table.Price(Call("tiny", 1000, 1000)).cost == 4);
  const PriceTable dear({{"dear", {1'000'000'000'000'000, 0, std::nullopt}}}, {0, 0, std::nullopt});
  CHECK(dear.Price(Call("dear", UINT64_MAX, 0)).cost == INT64_MAX);
}

}  // namespace
}  // namespace llm_exporter::pricing
