#include "aggregate/histogram.h"

#include <doctest/doctest.h>

#include <stdexcept>

namespace llm_exporter::aggregate {
namespace {

TEST_CASE("BucketLayout: a value equal to a bound falls in that bound's bucket") {
  const BucketLayout layout({0.1, 0.5, 1});
  CHECK(layout.BucketFor(0.05) == 0);
  CHECK(layout.BucketFor(0.1) == 0);
  CHECK(layout.BucketFor(0.10000001) == 1);
  CHECK(layout.BucketFor(1) == 2);
  CHECK(layout.BucketFor(1.5) == 3);  // +Inf
}

TEST_CASE("HistogramCell: counts per bucket, sum and count") {
  const BucketLayout layout({1, 2});
  HistogramCell cell(layout);
  for (double v : {0.5, 1.0, 1.5, 3.0, 3.0}) cell.Observe(layout, v);
  CHECK(cell.counts == std::vector<uint64_t>{2, 1, 2});
  CHECK(cell.sum == 9.0);
  CHECK(cell.Count() == 5);
}

TEST_CASE("BucketLayout and ParseBucketList refuse bad bounds with a reason") {
  CHECK_THROWS_WITH_AS(BucketLayout({}), "bucket list is empty", std::invalid_argument);
  CHECK_THROWS_WITH_AS(BucketLayout({1, 1}), "bucket bounds must be strictly increasing",
                       std::invalid_argument);
  CHECK(ParseBucketList("0.1, 0.5,1,2.5") == std::vector<double>{0.1, 0.5, 1, 2.5});
  CHECK_THROWS_WITH_AS(ParseBucketList("1,x"), "\"x\" is not a number", std::invalid_argument);
  CHECK_THROWS_WITH_AS(ParseBucketList("1,,2"), "\"\" is not a number", std::invalid_argument);
  CHECK_THROWS_WITH_AS(ParseBucketList("2,1"), "bucket bounds must be strictly increasing",
                       std::invalid_argument);
}

}  // namespace
}  // namespace llm_exporter::aggregate
