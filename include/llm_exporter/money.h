// Money as whole pico-dollars (1e-12 USD), so that sums of costs are exact and do not depend on
// the order in which concurrent events arrive.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>

namespace llm_exporter {

// One event's cost: int64 holds up to about 9.2 million USD.
using PicoUsd = int64_t;
// A running total: wide enough never to overflow in an agent's lifetime.
__extension__ typedef __int128 PicoUsdTotal;

inline constexpr double kPicoPerUsd = 1e12;

// USD -> pico-dollars, rounded to nearest; nullopt when not finite, negative or too large.
inline std::optional<PicoUsd> UsdToPico(double usd) {
  if (!std::isfinite(usd) || usd < 0 || usd > 9.0e6) return std::nullopt;
  return static_cast<PicoUsd>(std::llround(usd * kPicoPerUsd));
}

// The value Prometheus sees. Exact to the nearest double while the total is under 2^53 pico
// (about 9,007 USD), and within one part in 10^15 beyond.
inline double PicoToUsd(PicoUsdTotal pico) {
  return static_cast<double>(pico) / kPicoPerUsd;
}

}  // namespace llm_exporter
