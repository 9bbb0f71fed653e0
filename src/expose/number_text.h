// Numbers as the text formats write them, into a caller's buffer: unsigned integers in decimal,
// and doubles in their shortest round-trip form with Python's repr() layout (prometheus_client's):
// fixed notation for decimal exponents -4 to 15, scientific beyond ("0.0003", "2.25e-05", "1e+16").
#pragma once

#include <cstddef>
#include <cstdint>

namespace llm_exporter::expose {

// The room WriteUnsigned() and WriteShortest() need at `out`: they write at most 24 bytes of
// text, and may write scratch bytes after it up to out + kMaxNumberText.
inline constexpr std::size_t kMaxNumberText = 32;

// Writes `value` at `out`; returns the end of what was written.
char* WriteUnsigned(char* out, uint64_t value);

// Writes `value`, finite, at `out`, as fmt's "{}" writes it; returns the end of what was
// written. NaN and infinities are the caller's to spell.
char* WriteShortest(char* out, double value);

}  // namespace llm_exporter::expose
