// Native (sparse exponential) histograms, kept beside the classic buckets of the latency and
// time-to-first-token families when --metrics.native-histograms is on. Bucket i of schema s
// covers (2^((i-1)/2^s), 2^(i/2^s)]; values within the zero threshold of 0 go to the zero bucket.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace llm_exporter::aggregate {

// A run of `length` consecutive buckets, `offset` buckets after the end of the previous span
// (the first span's offset is the index of its first bucket), as Prometheus' BucketSpan.
struct NativeBucketSpan {
  int32_t offset = 0;
  uint32_t length = 0;
};

// One native histogram as written in the protobuf exposition: buckets as spans plus deltas
// (each bucket's count minus the previous bucket's, the first against 0). Count and sum are the
// classic histogram's, which observes the same values.
struct NativeHistogramValue {
  int32_t schema = 0;
  double zero_threshold = 0;
  uint64_t zero_count = 0;
  std::vector<NativeBucketSpan> positive_spans;
  std::vector<int64_t> positive_deltas;
  std::vector<NativeBucketSpan> negative_spans;
  std::vector<int64_t> negative_deltas;
};

// How a NativeHistogram starts and how far it may grow. The defaults are client_golang's
// (schema 3: 8 buckets per power of two, about 9% relative error; at most 160 buckets).
struct NativeHistogramOptions {
  int32_t initial_schema = 3;
  uint32_t max_buckets = 160;
  double zero_threshold = 2.938735877055719e-39;  // 2^-128, client_golang's default
};

// The observations of one series in exponential buckets, kept as Prometheus native histograms
// are by client_golang: bucket i of schema s holds (2^((i-1)/2^s), 2^(i/2^s)] (upper bound
// inclusive, so 1.0 is bucket 0), -v goes to negative bucket i when v does to positive bucket
// i, and |v| <= zero_threshold goes to the zero bucket.
//
// Counts are kept densely, one uint64_t per bucket from the lowest to the highest populated
// index of each sign (an index offset and a vector), so Observe() is a frexp, a table look-up
// and an increment. Bounding: when more than max_buckets buckets (both signs) are populated,
// or one sign's range would span more than 4 * max_buckets slots, the schema drops by one,
// merging bucket i into ceil(i/2), as often as needed or until schema -4 (where the whole
// double range above 2^-1074 is 132 slots, so a sign never holds more than
// max(4 * max_buckets, 132) slots). The schema never rises again: a series keeps the
// resolution its widest spread needed, as client_golang does between resets.
//
// Memory (x86-64, libstdc++): sizeof(NativeHistogram) is 112 bytes, and the heap holds 8 bytes
// per slot of each sign's range, plus up to a quarter spare while a range grows. Latencies from
// 0.05 s to 30 s at schema 3 are buckets -34..40, 75 slots: 600 to 760 bytes of heap, about
// 730 bytes in all (the negative side allocates nothing until a negative value comes).
// MaxMemoryBytes() is the bound for any input: 112 + 2 * 8 * max(4 * max_buckets, 132) bytes,
// 10,352 with the defaults.
//
// NaN and infinities are ignored (counted nowhere): callers observe finite durations, and the
// classic histogram beside it keeps count and sum.
//
// Copyable and movable. Not thread-safe: its owner's lock guards it, as for HistogramCell.
class NativeHistogram {
 public:
  static constexpr int32_t kMinSchema = -4;
  static constexpr int32_t kMaxSchema = 8;

  // Empty when the options are usable, else the reason ("native histogram schema must be in
  // [-4, 8], got 9"), for the flag parser.
  static std::string Validate(const NativeHistogramOptions& options);

  // The options should have passed Validate(); out-of-range values are clamped into range so
  // that no input can index outside the tables.
  explicit NativeHistogram(const NativeHistogramOptions& options = {});

  void Observe(double value) {
    if (value > zero_threshold_) {
      if (value <= kMaxFinite) Add(positive_, Index(value, schema_, bounds_, cell_first_));
    } else if (value < -zero_threshold_) {
      if (value >= -kMaxFinite) Add(negative_, Index(-value, schema_, bounds_, cell_first_));
    } else if (value == value) {  // false for NaN only
      ++zero_count_;
    }
  }

  // Schema, zero threshold, zero count and both signs' spans and deltas as the protobuf
  // exposition encodes them, reusing the capacity of out's vectors. A gap of one or two empty
  // buckets inside a sign is written as zero-count buckets within one span, a longer gap
  // starts a new span (client_golang's choice: each span costs two varints).
  void CopyTo(NativeHistogramValue* out) const;

  int32_t schema() const { return schema_; }
  uint64_t zero_count() const { return zero_count_; }
  // Buckets with a non-zero count, positive and negative (the zero bucket not included).
  std::size_t populated_buckets() const { return populated_; }
  // sizeof(*this) plus the heap its counts hold.
  std::size_t MemoryBytes() const;
  // The most MemoryBytes() can be under these options, for any observations.
  static std::size_t MaxMemoryBytes(const NativeHistogramOptions& options);

  // The bucket a positive finite `magnitude` falls in at `schema` (in [-4, 8]), exact at the
  // bucket edges that are powers of two.
  static int32_t BucketIndex(double magnitude, int32_t schema);

 private:
  static constexpr double kMaxFinite = 1.7976931348623157e308;

  // One sign's buckets: counts[k] is bucket offset + k. Empty, or its first and last populated.
  struct Side {
    std::vector<uint64_t> counts;
    int32_t offset = 0;
  };

  // For schema > 0: the 2^schema lower bucket edges within [0.5, 1) of frexp's fraction,
  // followed by 1.0, and for each of the 2^(schema+2) equal cells of [0.5, 1) the first edge at
  // or above the cell's start. Cells are narrower than any bucket, so at most one edge lies
  // inside a cell and one comparison finishes the look-up that a binary search would do.
  static void OctaveTables(int32_t schema, const double** bounds, const uint16_t** cell_first);

  static int32_t Index(double magnitude, int32_t schema, const double* bounds,
                       const uint16_t* cell_first) {
    int exponent = 0;
    const double fraction = std::frexp(magnitude, &exponent);  // magnitude = fraction * 2^exponent
    if (schema > 0) {
      // fraction - 0.5 is exact, and so is the scaling by a power of two.
      const auto cell = static_cast<uint32_t>((fraction - 0.5) * (4 << schema));
      uint32_t edge = cell_first[cell];
      edge += bounds[edge] < fraction ? 1 : 0;
      return static_cast<int32_t>(edge) + (exponent - 1) * (1 << schema);
    }
    // Schema 0 buckets are (2^(i-1), 2^i]: a power of two (fraction 0.5) closes the bucket below.
    const int32_t index = fraction == 0.5 ? exponent - 1 : exponent;
    // ceil(index / 2^-schema), with an arithmetic shift.
    return (index + (1 << -schema) - 1) >> -schema;
  }

  void Add(Side& side, int32_t index) {
    const auto slot = static_cast<uint32_t>(index - side.offset);
    if (slot < side.counts.size() && side.counts[slot] != 0) {
      ++side.counts[slot];
    } else {
      AddToNewBucket(side, index);
    }
  }
  // The slow path of Add(): the bucket is empty or outside the range, so the range may grow and
  // the schema may drop.
  void AddToNewBucket(Side& side, int32_t index);
  // Lowers the schema by one, merging pairs of buckets of both signs.
  void HalveResolution();
  void SetSchema(int32_t schema);

  int32_t schema_;
  uint32_t max_buckets_;
  uint32_t max_width_;  // slots one sign may span before the schema drops
  uint32_t populated_ = 0;
  double zero_threshold_;
  const double* bounds_ = nullptr;        // OctaveTables() of the schema, when it is > 0
  const uint16_t* cell_first_ = nullptr;
  uint64_t zero_count_ = 0;
  Side positive_;
  Side negative_;
};

}  // namespace llm_exporter::aggregate
