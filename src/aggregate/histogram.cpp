#include "aggregate/histogram.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace llm_exporter::aggregate {

BucketLayout::BucketLayout(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  if (bounds_.empty()) throw std::invalid_argument("bucket list is empty");
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i])) throw std::invalid_argument("bucket bounds must be finite");
    if (i > 0 && !(bounds_[i] > bounds_[i - 1])) {
      throw std::invalid_argument("bucket bounds must be strictly increasing");
    }
  }
}

std::size_t BucketLayout::BucketFor(double value) const {
  // Buckets are "less than or equal": a value equal to a bound belongs to that bound's bucket.
  return static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) -
                                  bounds_.begin());
}

uint64_t HistogramCell::Count() const {
  return std::accumulate(counts.begin(), counts.end(), uint64_t{0});
}

std::vector<double> ParseBucketList(const std::string& text) {
  std::vector<double> bounds;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    double value = 0;
    const auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (item.empty() || ec != std::errc() || ptr != item.data() + item.size()) {
      throw std::invalid_argument("\"" + item + "\" is not a number");
    }
    bounds.push_back(value);
    start = end + 1;
  }
  BucketLayout check(bounds);  // same rules as the layout itself
  return bounds;
}

}  // namespace llm_exporter::aggregate
