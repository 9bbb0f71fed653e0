#include "expose/number_text.h"

#include <doctest/doctest.h>
#include <fmt/compile.h>
#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>

#include "llm_exporter/money.h"

namespace llm_exporter::expose {
namespace {

std::string Shortest(double value) {
  char text[kMaxNumberText];
  return std::string(text, WriteShortest(text, value));
}

std::string Fmt(double value) { return fmt::format(FMT_COMPILE("{}"), value); }

TEST_CASE("WriteShortest: the layout of Python's repr, as prometheus_client writes numbers") {
  CHECK(Shortest(0.0) == "0");
  CHECK(Shortest(-0.0) == "-0");
  CHECK(Shortest(1.0) == "1");
  CHECK(Shortest(0.0075) == "0.0075");
  CHECK(Shortest(0.0003) == "0.0003");
  CHECK(Shortest(0.0001) == "0.0001");
  CHECK(Shortest(2.25e-05) == "2.25e-05");
  CHECK(Shortest(1e-12) == "1e-12");
  CHECK(Shortest(1.5e-12) == "1.5e-12");
  CHECK(Shortest(1000.0) == "1000");
  CHECK(Shortest(4.5) == "4.5");
  CHECK(Shortest(1234.000000000001) == "1234.000000000001");  // 16 digits: fmt's path
  CHECK(Shortest(123456789012345.0) == "123456789012345");
  CHECK(Shortest(1e15) == "1000000000000000");
  CHECK(Shortest(1e16) == "1e+16");
  CHECK(Shortest(0.1 + 0.2) == "0.30000000000000004");
  CHECK(Shortest(-2.5) == "-2.5");
}

// Every double the fast forms take must come out byte for byte as fmt writes it.
TEST_CASE("WriteShortest: the same text as fmt's shortest form, for pico-dollar totals") {
  std::mt19937_64 random(15);
  for (int i = 0; i < 2'000'000; ++i) {
    // Whole pico-dollars of every magnitude up to 2^63, as PicoToUsd() turns them into USD.
    const int bits = 1 + static_cast<int>(random() % 63);
    const auto pico = static_cast<int64_t>(random() >> (64 - bits));
    const double usd = PicoToUsd(PicoUsdTotal{pico});
    REQUIRE_MESSAGE(Shortest(usd) == Fmt(usd), "pico ", pico);
  }
  // Round sums, with trailing zeros in every position.
  for (int64_t digits = 1; digits < 1'000'000; digits = digits * 7 + 3) {
    for (int64_t scale = 1; scale <= 1'000'000'000'000'000; scale *= 10) {
      const double usd = PicoToUsd(PicoUsdTotal{digits} * scale);
      REQUIRE_MESSAGE(Shortest(usd) == Fmt(usd), digits, " * ", scale);
    }
  }
}

TEST_CASE("WriteShortest: the same text as fmt's shortest form, for any double") {
  std::mt19937_64 random(16);
  std::uniform_real_distribution<double> exponent(-20, 20);
  for (int i = 0; i < 1'000'000; ++i) {
    // Decimals with few digits (latencies, scores, bounds), whole numbers, and random bits.
    const double decimal = std::round(std::pow(10.0, exponent(random)) * 1000) / 1000;
    const double whole = std::floor(std::pow(10.0, exponent(random)));
    uint64_t bits = random();
    double any;
    std::memcpy(&any, &bits, sizeof(any));
    for (const double value : {decimal, whole, -decimal, any}) {
      if (!std::isfinite(value)) continue;
      REQUIRE_MESSAGE(Shortest(value) == Fmt(value), "value ", Fmt(value));
    }
  }
  for (const double value :
       {std::numeric_limits<double>::min(), std::numeric_limits<double>::denorm_min(),
        std::numeric_limits<double>::max(), std::numeric_limits<double>::epsilon(),
        9007.199254740991, 9007.199254740992, 9007.199254740993, 9007199254740991.0,
        9007199254740992.0, 999999999999999.0, 0.5e-12, 1e-13, 0.49999999999999994}) {
    REQUIRE_MESSAGE(Shortest(value) == Fmt(value), "value ", Fmt(value));
  }
}

TEST_CASE("WriteUnsigned: decimal digits") {
  char text[kMaxNumberText];
  CHECK(std::string(text, WriteUnsigned(text, 0)) == "0");
  CHECK(std::string(text, WriteUnsigned(text, UINT64_MAX)) == "18446744073709551615");
}

}  // namespace
}  // namespace llm_exporter::expose
