#include "aggregate/native_histogram.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace llm_exporter::aggregate {
namespace {

// At schema -4 the finite doubles above 0 fall in buckets -67 (2^-1074) to 64 (the largest
// double), so a sign never needs more slots than this whatever max_buckets is.
constexpr uint32_t kWidestRangeAtMinSchema = 132;

struct OctaveTable {
  std::vector<double> bounds;
  std::vector<uint16_t> cell_first;
};

std::array<OctaveTable, NativeHistogram::kMaxSchema + 1> BuildOctaveTables() {
  std::array<OctaveTable, NativeHistogram::kMaxSchema + 1> tables;
  for (int32_t schema = 1; schema <= NativeHistogram::kMaxSchema; ++schema) {
    const uint32_t per_octave = 1u << schema;
    OctaveTable& table = tables[static_cast<std::size_t>(schema)];
    // The edge 2^(j/2^schema - 1) rounded down to a double: no double lies between the two
    // (the edges for j > 0 are irrational), so "fraction <= table value" is exactly "fraction
    // <= edge" and every double lands in its mathematically right bucket. client_golang's
    // constants are within 4 ulps of the edges, so only values that close to an edge can land
    // one bucket apart from it. long double carries 64 bits or more on the targets we build for,
    // enough to tell which side of the 53-bit neighbours the edge falls.
    for (uint32_t j = 0; j < per_octave; ++j) {
      const long double edge = std::exp2(static_cast<long double>(j) / per_octave - 1.0L);
      double bound = static_cast<double>(edge);
      if (static_cast<long double>(bound) > edge) bound = std::nextafter(bound, 0.0);
      table.bounds.push_back(bound);
    }
    table.bounds.push_back(1.0);  // above every fraction, so the look-up never runs off the end
    const uint32_t cells = 2 * per_octave;
    for (uint32_t cell = 0; cell < cells; ++cell) {
      const double cell_start = 0.5 + static_cast<double>(cell) / (2.0 * cells);
      table.cell_first.push_back(static_cast<uint16_t>(
          std::lower_bound(table.bounds.begin(), table.bounds.end(), cell_start) -
          table.bounds.begin()));
    }
  }
  return tables;
}

// The slot limit of one sign for the reserve() calls: what the schema drops keep it under.
uint32_t SlotLimit(uint32_t max_width) { return std::max(max_width, kWidestRangeAtMinSchema); }

uint32_t MaxWidth(uint32_t max_buckets) {
  return static_cast<uint32_t>(std::min<uint64_t>(uint64_t{4} * max_buckets,
                                                  std::numeric_limits<uint32_t>::max()));
}

// Makes room for `needed` slots with a quarter spare, so a range growing one bucket at a time
// does not reallocate each time, but never reserves beyond the bound MaxMemoryBytes() states.
void ReserveSlots(std::vector<uint64_t>& counts, std::size_t needed, uint32_t limit) {
  if (needed <= counts.capacity()) return;
  counts.reserve(std::max(needed, std::min<std::size_t>(limit, needed + needed / 4 + 2)));
}

}  // namespace

void NativeHistogram::OctaveTables(int32_t schema, const double** bounds,
                                   const uint16_t** cell_first) {
  static const std::array<OctaveTable, kMaxSchema + 1> tables = BuildOctaveTables();
  if (schema <= 0) {
    *bounds = nullptr;
    *cell_first = nullptr;
    return;
  }
  const OctaveTable& table = tables[static_cast<std::size_t>(schema)];
  *bounds = table.bounds.data();
  *cell_first = table.cell_first.data();
}

std::string NativeHistogram::Validate(const NativeHistogramOptions& options) {
  if (options.initial_schema < kMinSchema || options.initial_schema > kMaxSchema) {
    return "native histogram schema must be in [-4, 8], got " +
           std::to_string(options.initial_schema);
  }
  if (options.max_buckets < 1) return "native histogram max buckets must be at least 1, got 0";
  if (!std::isfinite(options.zero_threshold) || options.zero_threshold < 0) {
    return "native histogram zero threshold must be finite and >= 0";
  }
  return {};
}

NativeHistogram::NativeHistogram(const NativeHistogramOptions& options)
    : max_buckets_(std::max<uint32_t>(options.max_buckets, 1)),
      max_width_(MaxWidth(max_buckets_)),
      // NaN or negative would send 0 to Index(), which needs a positive magnitude.
      zero_threshold_(options.zero_threshold >= 0 ? options.zero_threshold : 0.0) {
  SetSchema(std::clamp(options.initial_schema, kMinSchema, kMaxSchema));
}

void NativeHistogram::SetSchema(int32_t schema) {
  schema_ = schema;
  OctaveTables(schema, &bounds_, &cell_first_);
}

int32_t NativeHistogram::BucketIndex(double magnitude, int32_t schema) {
  schema = std::clamp(schema, kMinSchema, kMaxSchema);
  const double* bounds = nullptr;
  const uint16_t* cell_first = nullptr;
  OctaveTables(schema, &bounds, &cell_first);
  return Index(magnitude, schema, bounds, cell_first);
}

void NativeHistogram::AddToNewBucket(Side& side, int32_t index) {
  if (side.counts.empty()) {
    ReserveSlots(side.counts, 1, SlotLimit(max_width_));
    side.counts.push_back(0);
    side.offset = index;
  } else {
    // Lower the resolution until the range with this bucket fits in max_width_ slots.
    int64_t low = std::min<int64_t>(side.offset, index);
    int64_t high = std::max<int64_t>(side.offset + static_cast<int64_t>(side.counts.size()) - 1,
                                     index);
    while (high - low >= max_width_ && schema_ > kMinSchema) {
      HalveResolution();
      index = (index + 1) >> 1;
      low = std::min<int64_t>(side.offset, index);
      high = std::max<int64_t>(side.offset + static_cast<int64_t>(side.counts.size()) - 1, index);
    }
    const auto width = static_cast<std::size_t>(high - low + 1);
    if (width > side.counts.size()) {
      ReserveSlots(side.counts, width, SlotLimit(max_width_));
      if (index < side.offset) {
        side.counts.insert(side.counts.begin(), static_cast<std::size_t>(side.offset - index), 0);
        side.offset = index;
      } else {
        side.counts.resize(width, 0);
      }
    }
  }
  if (side.counts[static_cast<std::size_t>(index - side.offset)]++ != 0) return;
  ++populated_;
  while (populated_ > max_buckets_ && schema_ > kMinSchema) HalveResolution();
}

namespace {

// Bucket i goes to bucket ceil(i/2) of the next lower schema; returns the populated buckets.
uint32_t MergePairs(std::vector<uint64_t>& counts, int32_t* offset) {
  if (counts.empty()) return 0;
  const int32_t old_offset = *offset;
  const int32_t new_offset = (old_offset + 1) >> 1;
  // In place: slot k moves to a slot <= k that the loop has already emptied (or to itself).
  for (std::size_t k = 0; k < counts.size(); ++k) {
    const uint64_t count = counts[k];
    counts[k] = 0;
    const int32_t index = old_offset + static_cast<int32_t>(k);
    counts[static_cast<std::size_t>(((index + 1) >> 1) - new_offset)] += count;
  }
  const int32_t old_high = old_offset + static_cast<int32_t>(counts.size()) - 1;
  counts.resize(static_cast<std::size_t>(((old_high + 1) >> 1) - new_offset + 1));
  counts.shrink_to_fit();
  *offset = new_offset;
  return static_cast<uint32_t>(
      counts.size() - static_cast<std::size_t>(std::count(counts.begin(), counts.end(), 0)));
}

void WriteSide(const std::vector<uint64_t>& counts, int32_t offset,
               std::vector<NativeBucketSpan>* spans, std::vector<int64_t>* deltas) {
  spans->clear();
  deltas->clear();
  int64_t previous = 0;
  int32_t next_index = 0;  // the first span's offset is its first index, i.e. counted from 0
  for (std::size_t k = 0; k < counts.size(); ++k) {
    if (counts[k] == 0) continue;
    const int32_t index = offset + static_cast<int32_t>(k);
    const int32_t gap = index - next_index;
    if (spans->empty() || gap > 2) {
      spans->push_back({gap, 0});
    } else {
      for (int32_t i = 0; i < gap; ++i) {
        ++spans->back().length;
        deltas->push_back(-previous);
        previous = 0;
      }
    }
    const auto count = static_cast<int64_t>(counts[k]);
    ++spans->back().length;
    deltas->push_back(count - previous);
    previous = count;
    next_index = index + 1;
  }
}

}  // namespace

void NativeHistogram::HalveResolution() {
  SetSchema(schema_ - 1);
  populated_ = MergePairs(positive_.counts, &positive_.offset) +
               MergePairs(negative_.counts, &negative_.offset);
}

void NativeHistogram::CopyTo(NativeHistogramValue* out) const {
  out->schema = schema_;
  out->zero_threshold = zero_threshold_;
  out->zero_count = zero_count_;
  WriteSide(positive_.counts, positive_.offset, &out->positive_spans, &out->positive_deltas);
  WriteSide(negative_.counts, negative_.offset, &out->negative_spans, &out->negative_deltas);
}

std::size_t NativeHistogram::MemoryBytes() const {
  return sizeof(NativeHistogram) +
         (positive_.counts.capacity() + negative_.counts.capacity()) * sizeof(uint64_t);
}

std::size_t NativeHistogram::MaxMemoryBytes(const NativeHistogramOptions& options) {
  const uint32_t limit = SlotLimit(MaxWidth(std::max<uint32_t>(options.max_buckets, 1)));
  return sizeof(NativeHistogram) + 2 * std::size_t{limit} * sizeof(uint64_t);
}

}  // namespace llm_exporter::aggregate
