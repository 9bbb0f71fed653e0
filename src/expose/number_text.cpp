#include "expose/number_text.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>

#include <fmt/compile.h>
#include <fmt/format.h>

namespace llm_exporter::expose {
namespace {

// The fast form below covers decimals of at most this many significant digits: any two decimals
// that short read back as different doubles (DBL_DIG), which is what makes it the shortest form.
constexpr int kExactDigits = 15;
// The fast form is tried for values k * 10^-12 (k a whole number below 2^53): every cost the
// store keeps is a whole number of pico-dollars, and latencies and bounds are short decimals.
constexpr double kScale = 1e12;
constexpr int kScaleDigits = 12;
constexpr double kMaxScaled = 9007199254740992.0;  // 2^53: up to it, every whole number is exact

constexpr uint64_t kOnes = 0x0101010101010101u;
constexpr uint64_t kHighBits = 0x8080808080808080u;

uint64_t Load64(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}
// 16 bytes from `from` to `out`, whatever is to be kept of them.
void Copy16(char* out, const char* from) { std::memcpy(out, from, 16); }

// "00" to "99".
constexpr std::array<char, 200> kTwoDigits = [] {
  std::array<char, 200> digits{};
  for (int i = 0; i < 100; ++i) {
    digits[2 * i] = static_cast<char>('0' + i / 10);
    digits[2 * i + 1] = static_cast<char>('0' + i % 10);
  }
  return digits;
}();

// n (below 10^8) as 8 digits, leading zeros included.
void EightDigits(char* out, uint32_t n) {
  const uint32_t high = n / 10000;
  const uint32_t low = n % 10000;
  std::memcpy(out, &kTwoDigits[2 * (high / 100)], 2);
  std::memcpy(out + 2, &kTwoDigits[2 * (high % 100)], 2);
  std::memcpy(out + 4, &kTwoDigits[2 * (low / 100)], 2);
  std::memcpy(out + 6, &kTwoDigits[2 * (low % 100)], 2);
}

// A bit set in the high bit of each byte of `w` (eight digit characters) that is not '0'.
uint64_t NonZeroDigits(uint64_t w) { return ((w - kOnes * '0') + kOnes * 0x7F) & kHighBits; }

// `scaled` (1 to 2^53) * 10^-scale_digits, laid out as fmt lays out a shortest form, if its
// significant digits are few enough for that decimal to be the shortest form of the double it
// reads back as; else nullptr. Writes scratch bytes up to out + kMaxNumberText.
char* WriteScaled(char* out, uint64_t scaled, int scale_digits) {
  char buffer[32] = {};  // 16 digits, then room for 16-byte copies from any of them
  EightDigits(buffer, static_cast<uint32_t>(scaled / 100000000));
  EightDigits(buffer + 8, static_cast<uint32_t>(scaled % 100000000));
  const uint64_t high = NonZeroDigits(Load64(buffer));
  const uint64_t low = NonZeroDigits(Load64(buffer + 8));
  // Characters in memory order are bytes in little-endian order.
  const int first = high != 0 ? __builtin_ctzll(high) / 8 : 8 + __builtin_ctzll(low) / 8;
  const int last = low != 0 ? 8 + (63 - __builtin_clzll(low)) / 8 : (63 - __builtin_clzll(high)) / 8;
  const int significant = last - first + 1;
  if (significant > kExactDigits) return nullptr;
  const char* digits = buffer + first;
  const int exponent = 15 - first - scale_digits;  // of the first significant digit
  if (exponent < -4) {  // scientific; exponents here are -5 to -12
    out[0] = digits[0];
    out[1] = '.';
    Copy16(out + 2, digits + 1);
    out += significant == 1 ? 1 : significant + 1;
    out[0] = 'e';
    out[1] = '-';
    out[2] = static_cast<char>('0' - exponent / 10);
    out[3] = static_cast<char>('0' - exponent % 10);
    return out + 4;
  }
  if (exponent >= 0) {  // fixed, with (exponent + 1) digits before the point
    const int whole = exponent + 1;
    Copy16(out, digits);  // the whole part, zeros past the significant digits included
    if (significant <= whole) return out + whole;
    out[whole] = '.';
    Copy16(out + whole + 1, digits + whole);
    return out + significant + 1;
  }
  // 0.0001 to 0.999...: "0.", up to three zeros, the digits.
  std::memcpy(out, "0.000", 5);
  out += 1 - exponent;
  Copy16(out, digits);
  return out + significant;
}

}  // namespace

char* WriteUnsigned(char* out, uint64_t value) {
  return std::to_chars(out, out + kMaxNumberText, value).ptr;
}

// fmt's shortest form (Dragonbox) is exact for every double but takes some 300 instructions; a
// scrape writes one double per cost series. A double d that some decimal D of at most 15
// significant digits rounds to has D as its shortest form: a shorter or equally short decimal
// rounding to d would be a second such decimal for d, and decimals of 15 digits or fewer read
// back as distinct doubles. So where d is D = k * 10^-12 rounded (k whole, below 2^53, which the
// division below reproduces exactly when it finds d again), k's digits are d's shortest form.
char* WriteShortest(char* out, double value) {
  if (value > 0 && value < kMaxScaled / kScale) {
    const double scaled = value * kScale;
    const auto k = static_cast<uint64_t>(scaled + 0.5);
    if (k != 0 && static_cast<double>(k) / kScale == value) {
      if (char* end = WriteScaled(out, k, kScaleDigits)) return end;
    }
  } else if (value >= 1 && value < kMaxScaled && value == std::floor(value)) {
    if (char* end = WriteScaled(out, static_cast<uint64_t>(value), 0)) return end;
  } else if (value == 0 && !std::signbit(value)) {
    *out = '0';
    return out + 1;
  }
  return fmt::format_to(out, FMT_COMPILE("{}"), value);
}

}  // namespace llm_exporter::expose
