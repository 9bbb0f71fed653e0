// Histogram buckets: one layout of upper bounds per family, one cell of counts per series.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace llm_exporter::aggregate {

// The finite, strictly increasing upper bounds of one histogram family (+Inf is implicit).
// Immutable; shared by all the family's series.
class BucketLayout {
 public:
  // Throws std::invalid_argument naming the problem when bounds are empty, not finite or not
  // strictly increasing.
  explicit BucketLayout(std::vector<double> bounds);

  const std::vector<double>& bounds() const { return bounds_; }
  // Index of the bucket `value` falls in: the first bound >= value, or bounds().size() for +Inf.
  std::size_t BucketFor(double value) const;

 private:
  std::vector<double> bounds_;
};

// One series' observations. Not thread-safe: its owner's lock guards it.
struct HistogramCell {
  explicit HistogramCell(const BucketLayout& layout) : counts(layout.bounds().size() + 1, 0) {}

  void Observe(const BucketLayout& layout, double value) {
    ++counts[layout.BucketFor(value)];
    sum += value;
  }
  uint64_t Count() const;

  std::vector<uint64_t> counts;  // per bucket, not cumulative; the last is (largest bound, +Inf)
  double sum = 0;
};

// Parses "0.1,0.5,1" into bounds for BucketLayout; throws std::invalid_argument naming the bad item.
std::vector<double> ParseBucketList(const std::string& text);

}  // namespace llm_exporter::aggregate
