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
  const PriceTable table({{"m", {2'500'000'000, 10'000'000'000, 1'250'000'000, std::nullopt}}},
                         PriceTable::Default().fallback());
  // 600 uncached x 0.0025 + 400 cached x 0.00125 + 100 x 0.01, per 1K tokens
  CHECK(table.Price(Call("m", 1000, 100, 400)).cost ==
        600LL * 2'500'000 + 400LL * 1'250'000 + 100LL * 10'000'000);
  // Without a cached rate they cost the input rate, exactly as the seed prices them.
  CHECK(PriceTable::Default().Price(Call("gpt-4o", 1000, 0, 400)).cost == 1000LL * 2'500'000);
}

TEST_CASE("PriceTable: cache-write tokens use the cache-write rate, else the input rate") {
  // Anthropic-style rates per 1K tokens: input 0.003, cache read 0.0003, 5-minute cache write
  // 0.00375 (1.25x input), output 0.015.
  const PriceTable table(
      {{"claude", {3'000'000'000, 15'000'000'000, 300'000'000, 3'750'000'000}},
       {"no-write-rate", {3'000'000'000, 15'000'000'000, 300'000'000, std::nullopt}}},
      PriceTable::Default().fallback());
  LlmCall call = Call("claude", 10'000, 200, 6'000);
  call.cache_write_input_tokens = 3'000;
  // 1000 uncached x 0.003 + 6000 cached x 0.0003 + 3000 written x 0.00375 + 200 x 0.015, per 1K:
  // 0.003 + 0.0018 + 0.01125 + 0.003 = 0.01905 USD.
  CHECK(table.Price(call).cost == 19'050'000'000);
  CHECK(table.Price(call).cost ==
        1000LL * 3'000'000 + 6000LL * 300'000 + 3000LL * 3'750'000 + 200LL * 15'000'000);
  // Without a cache-write rate the written tokens cost the input rate: 4000 x 0.003 = 0.012,
  // + 0.0018 + 0.003 = 0.0168 USD.
  call.model = "no-write-rate";
  CHECK(table.Price(call).cost == 16'800'000'000);
  // The fallback price has no cache-write rate either: 4000 x 0.01 + 6000 x 0.01 + 200 x 0.03.
  call.model = "unlisted";
  const PricedCall fallback = table.Price(call);
  CHECK(fallback.cost == 106'000'000'000);
  CHECK(fallback.fallback);
  // Sub-pico remainders of the cache-write part round like the rest: 1 token at 1.5 pico.
  const PriceTable tiny({{"t", {0, 0, std::nullopt, 1'500}}}, {0, 0, std::nullopt, std::nullopt});
  LlmCall one = Call("t", 1, 0);
  one.cache_write_input_tokens = 1;
  CHECK(tiny.Price(one).cost == 2);  // 1.5 pico rounds up
}

TEST_CASE("PriceTable: reasoning tokens are part of output and priced with it, not again") {
  LlmCall call = Call("gpt-4o", 1000, 500);
  call.reasoning_tokens = 400;
  // 1000 x 0.0025 + 500 x 0.01 per 1K: the 400 reasoning tokens are inside the 500.
  CHECK(PriceTable::Default().Price(call).cost == 7'500'000'000);
  call.reasoning_tokens = 0;
  CHECK(PriceTable::Default().Price(call).cost == 7'500'000'000);
}

TEST_CASE("PriceTable: a call without usage costs 0 and is not a fallback, unless the caller "
          "gave a cost") {
  LlmCall call;
  call.model = "unlisted-model";
  call.usage_known = false;
  const PricedCall priced = PriceTable::Default().Price(call);
  CHECK(priced.cost == 0);
  CHECK_FALSE(priced.fallback);
  call.model = "gpt-4o";
  CHECK(PriceTable::Default().Price(call).cost == 0);
  CHECK_FALSE(PriceTable::Default().Price(call).fallback);
  call.caller_cost_pico = 1'234'567;
  CHECK(PriceTable::Default().Price(call).cost == 1'234'567);
  CHECK_FALSE(PriceTable::Default().Price(call).fallback);
  // The same call with its usage known is priced as usual (0 tokens: 0, but a fallback).
  LlmCall zero;
  zero.model = "unlisted-model";
  CHECK(PriceTable::Default().Price(zero).cost == 0);
  CHECK(PriceTable::Default().Price(zero).fallback);
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
  const PriceTable table({{"tiny", {1, 3, std::nullopt, std::nullopt}}},
                         {0, 0, std::nullopt, std::nullopt});
  CHECK(table.Price(Call("tiny", 499, 0)).cost == 0);  // 0.499 pico
  CHECK(table.Price(Call("tiny", 500, 0)).cost == 1);  // 0.5 pico rounds up
  CHECK(table.Price(Call("tiny", 1000, 1000)).cost == 4);
  const PriceTable dear({{"dear", {1'000'000'000'000'000, 0, std::nullopt, std::nullopt}}},
                        {0, 0, std::nullopt, std::nullopt});
  CHECK(dear.Price(Call("dear", UINT64_MAX, 0)).cost == INT64_MAX);
}

}  // namespace
}  // namespace llm_exporter::pricing
