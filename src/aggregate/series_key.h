// A series' label values packed into one byte string (each value behind a 2-byte length), so a
// series is found with one hash of one contiguous key. Private to src/aggregate: other stages
// see labels by name (series_labels.h) through snapshots (family_snapshot.h), never keys.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "aggregate/series_labels.h"

namespace llm_exporter::aggregate {

// Label values are at most this long; the decoder's limit is checked against it at start-up.
inline constexpr std::size_t kMaxLabelValueBytes = 65535;

template <std::size_t N>
using LabelValues = std::array<std::string_view, N>;

// Replaces *key with the encoding of `values`. Inline, sized once and written with memcpy:
// RecordCall encodes two keys per event, and pushing byte by byte cost 786 instructions per
// event (callgrind, BM_Pipeline_Batch/array_1000), more than the four hash lookups.
inline void EncodeSeriesKey(const std::string_view* values, std::size_t count, std::string* key) {
  std::size_t total = 0;
  for (std::size_t i = 0; i < count; ++i) {
    total += 2 + std::min(values[i].size(), kMaxLabelValueBytes);
  }
  key->resize(total);
  char* out = key->data();
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t n = std::min(values[i].size(), kMaxLabelValueBytes);
    out[0] = static_cast<char>(n & 0xFF);
    out[1] = static_cast<char>(n >> 8);
    if (n > 0) std::memcpy(out + 2, values[i].data(), n);
    out += 2 + n;
  }
}

// The leading part of `key` (made by EncodeSeriesKey) that holds its first `count` values: by
// itself, the key of those values. A family whose labels are the first ones of another's (in
// kKeyOrder) finds its series with a prefix of the other's key, encoded once.
inline std::string_view SeriesKeyPrefix(std::string_view key, std::size_t count) {
  std::size_t pos = 0;
  for (std::size_t i = 0; i < count && pos + 2 <= key.size(); ++i) {
    pos += 2 + (static_cast<uint8_t>(key[pos]) |
                (static_cast<std::size_t>(static_cast<uint8_t>(key[pos + 1])) << 8));
  }
  return key.substr(0, pos);
}

// Splits a key made by EncodeSeriesKey back into `count` values (views into `key`). Inline:
// snapshots call it once per series while they hold a shard's lock.
inline void DecodeSeriesKey(std::string_view key, std::string_view* values, std::size_t count) {
  std::size_t pos = 0;
  for (std::size_t i = 0; i < count; ++i) {
    if (pos + 2 > key.size()) {
      values[i] = {};
      continue;
    }
    const std::size_t n = static_cast<uint8_t>(key[pos]) |
                          (static_cast<std::size_t>(static_cast<uint8_t>(key[pos + 1])) << 8);
    pos += 2;
    values[i] = key.substr(pos, n);
    pos += values[i].size();
  }
}

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

// Replaces *key with the encoding of a labels struct (series_labels.h), its values taken in the
// struct's kKeyOrder.
template <typename Labels>
void EncodeLabels(const Labels& labels, std::string* key) {
  LabelValues<Labels::kKeyOrder.size()> values;
  std::size_t i = 0;
  ForEachKeyField<Labels>([&](auto field) { values[i++] = labels.*field(); });
  EncodeSeriesKey(values, key);
}

// True when the key of `shorter` is a prefix of the key of `longer`: each of shorter's key values
// is the one at the same place in longer's. Given labels with a distinct value in every field,
// it says (at compile time) that a family's key order starts with another family's, so that
// SeriesKeyPrefix of the longer key finds the shorter family's series.
template <typename Longer, typename Shorter>
constexpr bool KeyStartsWith(const Longer& longer, const Shorter& shorter) {
  static_assert(Shorter::kKeyOrder.size() <= Longer::kKeyOrder.size());
  for (std::size_t i = 0; i < Shorter::kKeyOrder.size(); ++i) {
    if (longer.*Longer::kKeyOrder[i] != shorter.*Shorter::kKeyOrder[i]) return false;
  }
  return true;
}

// The labels struct a key made by EncodeLabels holds (views into `key`), named by kKeyOrder:
// as DecodeSeriesKey() splits it, but straight into the fields. Through an array of values, the
// fields were stored twice and read back in wider loads that waited for the stores: 13% of
// perf's samples of a 100,000-series text scrape, which decodes every series' key.
template <typename Labels>
Labels DecodeLabels(std::string_view key) {
  Labels labels;
  std::size_t pos = 0;
  ForEachKeyField<Labels>([&](auto field) {
    if (pos + 2 > key.size()) {
      labels.*field() = {};
      return;
    }
    const std::size_t n = static_cast<uint8_t>(key[pos]) |
                          (static_cast<std::size_t>(static_cast<uint8_t>(key[pos + 1])) << 8);
    pos += 2;
    const std::string_view value = key.substr(pos, n);
    labels.*field() = value;
    pos += value.size();
  });
  return labels;
}

}  // namespace llm_exporter::aggregate
