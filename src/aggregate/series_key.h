// A series' label values packed into one byte string (each value behind a 2-byte length), so a
// series is found with one hash of one contiguous key.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace llm_exporter::aggregate {

// Label values are at most this long; the decoder's limit is checked against it at start-up.
inline constexpr std::size_t kMaxLabelValueBytes = 65535;

template <std::size_t N>
using LabelValues = std::array<std::string_view, N>;

// Replaces *key with the encoding of `values`.
void EncodeSeriesKey(const std::string_view* values, std::size_t count, std::string* key);

// Splits a key made by EncodeSeriesKey back into `count` values (views into `key`).
void DecodeSeriesKey(std::string_view key, std::string_view* values, std::size_t count);

template <std::size_t N>
void EncodeSeriesKey(const LabelValues<N>& values, std::string* key) {
  EncodeSeriesKey(values.data(), N, key);
}

template <std::size_t N>
LabelValues<N> DecodeSeriesKey(std::string_view key) {
  LabelValues<N> values;
  DecodeSeriesKey(key, values.data(), N);
  return values;
}

}  // namespace llm_exporter::aggregate
