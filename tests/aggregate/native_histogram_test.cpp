#include "aggregate/native_histogram.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <vector>

namespace llm_exporter::aggregate {

// Outside the unnamed namespace, where argument-dependent lookup from std::vector's == finds it.
bool operator==(const NativeBucketSpan& a, const NativeBucketSpan& b) {
  return a.offset == b.offset && a.length == b.length;
}

namespace {

using Spans = std::vector<NativeBucketSpan>;
using Deltas = std::vector<int64_t>;

NativeHistogram WithSchema(int32_t schema, uint32_t max_buckets = 160) {
  NativeHistogramOptions options;
  options.initial_schema = schema;
  options.max_buckets = max_buckets;
  return NativeHistogram(options);
}

NativeHistogramValue Value(const NativeHistogram& histogram) {
  NativeHistogramValue value;
  histogram.CopyTo(&value);
  return value;
}

// Spans and deltas decoded back into index -> count, as Prometheus reads them.
std::map<int32_t, uint64_t> Decode(const Spans& spans, const Deltas& deltas) {
  std::map<int32_t, uint64_t> counts;
  int32_t index = 0;
  int64_t count = 0;
  std::size_t d = 0;
  for (const NativeBucketSpan& span : spans) {
    index += span.offset;
    for (uint32_t k = 0; k < span.length; ++k, ++index) {
      count += deltas.at(d++);
      if (count != 0) counts[index] = static_cast<uint64_t>(count);
    }
  }
  CHECK(d == deltas.size());
  return counts;
}

uint64_t Total(const std::map<int32_t, uint64_t>& counts) {
  uint64_t total = 0;
  for (const auto& [index, count] : counts) total += count;
  return total;
}

TEST_CASE("NativeHistogram: bucket indices at schema 3, 0 and -1, exact at the edges") {
  // 2^(1/8) = 1.090507732665257659...; this is the largest double not above it.
  const double root8 = 0x1.172b83c7d517ap+0;
  CHECK(NativeHistogram::BucketIndex(1.0, 3) == 0);
  CHECK(NativeHistogram::BucketIndex(1.09, 3) == 1);
  CHECK(NativeHistogram::BucketIndex(1.0905, 3) == 1);  // still below 2^(1/8)
  CHECK(NativeHistogram::BucketIndex(root8, 3) == 1);
  CHECK(NativeHistogram::BucketIndex(std::nextafter(root8, 2.0), 3) == 2);
  CHECK(NativeHistogram::BucketIndex(1.0906, 3) == 2);
  CHECK(NativeHistogram::BucketIndex(std::nextafter(1.0, 2.0), 3) == 1);
  CHECK(NativeHistogram::BucketIndex(2.0, 3) == 8);
  CHECK(NativeHistogram::BucketIndex(0.5, 3) == -8);
  CHECK(NativeHistogram::BucketIndex(0.001, 3) == -79);  // (2^-10, 2^-9.875]
  CHECK(NativeHistogram::BucketIndex(300, 3) == 66);     // (2^8.125, 2^8.25]

  CHECK(NativeHistogram::BucketIndex(1.0, 0) == 0);
  CHECK(NativeHistogram::BucketIndex(1.09, 0) == 1);
  CHECK(NativeHistogram::BucketIndex(1.0905, 0) == 1);
  CHECK(NativeHistogram::BucketIndex(2.0, 0) == 1);
  CHECK(NativeHistogram::BucketIndex(std::nextafter(2.0, 3.0), 0) == 2);
  CHECK(NativeHistogram::BucketIndex(0.5, 0) == -1);
  CHECK(NativeHistogram::BucketIndex(0.001, 0) == -9);
  CHECK(NativeHistogram::BucketIndex(300, 0) == 9);

  CHECK(NativeHistogram::BucketIndex(1.0, -1) == 0);  // (0.25, 1]
  CHECK(NativeHistogram::BucketIndex(1.09, -1) == 1);
  CHECK(NativeHistogram::BucketIndex(1.0905, -1) == 1);
  CHECK(NativeHistogram::BucketIndex(2.0, -1) == 1);
  CHECK(NativeHistogram::BucketIndex(4.0, -1) == 1);  // (1, 4]
  CHECK(NativeHistogram::BucketIndex(std::nextafter(4.0, 5.0), -1) == 2);
  CHECK(NativeHistogram::BucketIndex(0.5, -1) == 0);
  CHECK(NativeHistogram::BucketIndex(0.25, -1) == -1);
  CHECK(NativeHistogram::BucketIndex(0.001, -1) == -4);  // (2^-10, 2^-8]
  CHECK(NativeHistogram::BucketIndex(300, -1) == 5);     // (2^8, 2^10]
}

TEST_CASE("NativeHistogram: the extremes of the double range at schemas 8 and -4") {
  const double smallest = std::numeric_limits<double>::denorm_min();  // 2^-1074
  const double largest = std::numeric_limits<double>::max();
  CHECK(NativeHistogram::BucketIndex(smallest, 8) == -1074 * 256);
  CHECK(NativeHistogram::BucketIndex(largest, 8) == 1024 * 256);
  CHECK(NativeHistogram::BucketIndex(smallest, -4) == -67);  // ceil(-1074 / 16)
  CHECK(NativeHistogram::BucketIndex(largest, -4) == 64);
  CHECK(NativeHistogram::BucketIndex(0x1p-1022, 1) == -2044);  // smallest normal
  CHECK(NativeHistogram::BucketIndex(0x1.8p-1070, 0) == -1069);  // subnormal, not a power of 2
}

TEST_CASE("NativeHistogram: every value falls in the bucket whose bounds hold it") {
  std::mt19937_64 random(42);
  for (int32_t schema = NativeHistogram::kMinSchema; schema <= NativeHistogram::kMaxSchema;
       ++schema) {
    for (int i = 0; i < 20000; ++i) {
      // A random 53-bit fraction in [0.5, 1) times a random power of two from 2^-60 to 2^60.
      const double fraction = 0.5 + static_cast<double>(random() >> 11) * 0x1p-54;
      const double value = std::ldexp(fraction, static_cast<int>(random() % 121) - 60);
      const int32_t index = NativeHistogram::BucketIndex(value, schema);
      const long double width = std::ldexp(1.0L, -schema);  // log2 of the bucket growth factor
      const long double upper = std::exp2(index * width);
      const long double lower = std::exp2((index - 1) * width);
      INFO("schema ", schema, " value ", value, " index ", index);
      CHECK(value <= upper);
      CHECK(value > lower);
    }
  }
}

TEST_CASE("NativeHistogram: zero bucket, negatives, and values it ignores") {
  NativeHistogramOptions options;
  options.initial_schema = 0;
  options.zero_threshold = 0.001;
  NativeHistogram histogram(options);
  for (double v : {0.0, -0.0, 0.001, -0.001, 1e-40}) histogram.Observe(v);
  CHECK(histogram.zero_count() == 5);
  CHECK(histogram.populated_buckets() == 0);
  histogram.Observe(0.0011);  // bucket -9: (2^-10, 2^-9]
  for (double v : {-1.0, -2.0, -2.0, -8.0}) histogram.Observe(v);
  for (double v : {std::numeric_limits<double>::quiet_NaN(),
                   std::numeric_limits<double>::infinity(),
                   -std::numeric_limits<double>::infinity()}) {
    histogram.Observe(v);
  }
  CHECK(histogram.populated_buckets() == 4);
  const NativeHistogramValue value = Value(histogram);
  CHECK(value.schema == 0);
  CHECK(value.zero_threshold == 0.001);
  CHECK(value.zero_count == 5);
  CHECK(value.positive_spans == Spans{{-9, 1}});
  CHECK(value.positive_deltas == Deltas{1});
  // -1, -2, -8 are negative buckets 0, 1 (twice) and 3.
  CHECK(value.negative_spans == Spans{{0, 4}});
  CHECK(value.negative_deltas == Deltas{1, 1, -2, 1});
}

TEST_CASE("NativeHistogram: the default zero threshold is 2^-128") {
  NativeHistogram histogram;
  histogram.Observe(0x1p-128);
  histogram.Observe(-0x1p-128);
  CHECK(histogram.zero_count() == 2);
  histogram.Observe(0x1.0000000000001p-128);
  CHECK(histogram.zero_count() == 2);
  CHECK(Value(histogram).positive_spans == Spans{{-1023, 1}});  // (2^-128, 2^(-128 + 1/8)]
}

TEST_CASE("NativeHistogram: spans bridge gaps of up to two empty buckets with zero counts") {
  NativeHistogram histogram = WithSchema(0);
  for (double v : {1.0, 1.0, 2.0, 8.0}) histogram.Observe(v);  // buckets 0 (twice), 1, 3
  NativeHistogramValue value = Value(histogram);
  CHECK(value.positive_spans == Spans{{0, 4}});
  CHECK(value.positive_deltas == Deltas{2, -1, -1, 1});
  CHECK(value.negative_spans.empty());
  CHECK(value.negative_deltas.empty());

  histogram.Observe(32.0);  // bucket 5: a gap of one (bucket 4)
  histogram.Observe(64.0);  // bucket 6
  histogram.Observe(512.0);  // bucket 9: a gap of two (7 and 8)
  histogram.Observe(8192.0);  // bucket 13: a gap of three starts a new span
  histogram.Observe(0.25);  // bucket -2, a gap of one before bucket 0
  histogram.CopyTo(&value);
  CHECK(value.positive_spans == Spans{{-2, 12}, {3, 1}});
  CHECK(value.positive_deltas == Deltas{1, -1, 2, -1, -1, 1, -1, 1, 0, -1, 0, 1, 0});
  CHECK(Decode(value.positive_spans, value.positive_deltas) ==
        std::map<int32_t, uint64_t>{{-2, 1}, {0, 2}, {1, 1}, {3, 1}, {5, 1}, {6, 1}, {9, 1},
                                    {13, 1}});
}

TEST_CASE("NativeHistogram: CopyTo replaces what out held and keeps its capacity") {
  NativeHistogram wide = WithSchema(0);
  for (int e = 0; e < 40; e += 4) wide.Observe(std::ldexp(1.0, e));
  wide.Observe(-1.0);
  NativeHistogramValue value = Value(wide);
  REQUIRE(value.positive_spans.size() == 10);
  const std::size_t span_capacity = value.positive_spans.capacity();
  const int64_t* deltas_data = value.positive_deltas.data();

  NativeHistogram narrow = WithSchema(0);
  narrow.Observe(3.0);
  narrow.CopyTo(&value);
  CHECK(value.positive_spans == Spans{{2, 1}});
  CHECK(value.positive_deltas == Deltas{1});
  CHECK(value.negative_spans.empty());
  CHECK(value.positive_spans.capacity() == span_capacity);
  CHECK(value.positive_deltas.data() == deltas_data);
}

TEST_CASE("NativeHistogram: too many buckets lower the schema by one, merging pairs") {
  NativeHistogram histogram = WithSchema(0, 4);
  for (double v : {1.0, 2.0, 4.0, 8.0}) histogram.Observe(v);  // buckets 0..3: four fit
  CHECK(histogram.schema() == 0);
  CHECK(histogram.populated_buckets() == 4);
  histogram.Observe(16.0);  // bucket 4, the fifth
  CHECK(histogram.schema() == -1);
  CHECK(histogram.populated_buckets() == 3);
  // 0 -> 0, 1 and 2 -> 1, 3 and 4 -> 2.
  const NativeHistogramValue value = Value(histogram);
  CHECK(value.schema == -1);
  CHECK(value.positive_spans == Spans{{0, 3}});
  CHECK(value.positive_deltas == Deltas{1, 1, 0});
  CHECK(Total(Decode(value.positive_spans, value.positive_deltas)) == 5);
}

TEST_CASE("NativeHistogram: the schema drops as many steps as needed, both signs merged") {
  SUBCASE("two steps at once") {
    NativeHistogram histogram = WithSchema(3, 1);
    histogram.Observe(1.5);  // schema 3 bucket 5
    histogram.Observe(2.0);  // schema 3 bucket 8; 4 and 4 at schema 2, 2 and 2 at schema 1
    CHECK(histogram.schema() == 1);
    CHECK(histogram.populated_buckets() == 1);
    const NativeHistogramValue value = Value(histogram);
    CHECK(value.positive_spans == Spans{{2, 1}});  // (2^(1/2), 2]
    CHECK(value.positive_deltas == Deltas{2});
  }
  SUBCASE("negative indices go to ceil(i/2)") {
    NativeHistogram histogram = WithSchema(0, 2);
    for (double v : {0.125, 0.25, 1.0}) histogram.Observe(v);  // buckets -3, -2, 0
    CHECK(histogram.schema() == -1);
    const NativeHistogramValue value = Value(histogram);
    CHECK(value.positive_spans == Spans{{-1, 2}});  // -3 and -2 -> -1, 0 -> 0
    CHECK(value.positive_deltas == Deltas{2, -1});
  }
  SUBCASE("negative buckets count towards the limit and merge too") {
    NativeHistogram histogram = WithSchema(0, 3);
    for (double v : {-1.0, -2.0, -2.0, 2.0, 4.0}) histogram.Observe(v);
    CHECK(histogram.schema() == -1);
    CHECK(histogram.populated_buckets() == 3);
    const NativeHistogramValue value = Value(histogram);
    CHECK(value.negative_spans == Spans{{0, 2}});  // 0 -> 0, 1 -> 1
    CHECK(value.negative_deltas == Deltas{1, 1});
    CHECK(value.positive_spans == Spans{{1, 1}});  // 1 and 2 -> 1
    CHECK(value.positive_deltas == Deltas{2});
  }
  SUBCASE("a range wider than 4 * max_buckets slots lowers it too") {
    NativeHistogram histogram = WithSchema(0, 2);
    histogram.Observe(1.0);
    histogram.Observe(0x1p20);  // bucket 20: 21 slots; 11 at schema -1, 6 at -2 fit in 8
    CHECK(histogram.schema() == -2);
    CHECK(histogram.populated_buckets() == 2);
    const NativeHistogramValue value = Value(histogram);
    CHECK(value.positive_spans == Spans{{0, 1}, {4, 1}});
    CHECK(value.positive_deltas == Deltas{1, 0});
  }
  SUBCASE("it stops at schema -4") {
    NativeHistogram histogram = WithSchema(3, 1);
    for (double v : {1e-30, 1.0, 1e30}) histogram.Observe(v);
    CHECK(histogram.schema() == -4);
    CHECK(histogram.populated_buckets() == 3);
    const NativeHistogramValue value = Value(histogram);
    // 1e-30 is 2^-99.66, bucket ceil(-99/16) = -6; 1e30 is 2^99.66, bucket ceil(100/16) = 7.
    CHECK(value.positive_spans == Spans{{-6, 1}, {5, 1}, {6, 1}});
    CHECK(value.positive_deltas == Deltas{1, 0, 0});
  }
}

// The upper bound of the bucket where the cumulative count reaches the rank of quantile q: the
// quantile lies in that bucket, so the bound is at most a factor 2^(2^-schema) above it.
double QuantileUpperBound(const NativeHistogramValue& value, double q) {
  const std::map<int32_t, uint64_t> counts = Decode(value.positive_spans, value.positive_deltas);
  const auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(Total(counts))));
  uint64_t cumulative = 0;
  for (const auto& [index, count] : counts) {
    cumulative += count;
    if (cumulative >= rank) return std::exp2(std::ldexp(static_cast<double>(index), -value.schema));
  }
  return NAN;
}

TEST_CASE("NativeHistogram: quantiles from the buckets lie within the schema's relative error") {
  // 10,000 log-uniform latencies from 0.05 s to 30 s, in a scrambled but fixed order.
  constexpr int kCount = 10000;
  std::vector<double> values;
  for (int k = 0; k < kCount; ++k) {
    values.push_back(0.05 * std::pow(30 / 0.05, (k + 0.5) / kCount));
  }
  std::vector<double> shuffled = values;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937(7));

  for (const auto& limit_and_schema : {std::pair{160u, 3}, {40u, 2}}) {
    const int32_t schema = limit_and_schema.second;
    NativeHistogram histogram = WithSchema(3, limit_and_schema.first);
    for (double v : shuffled) histogram.Observe(v);
    // 0.05 s is bucket -34 and 30 s bucket 40 at schema 3: 75 buckets, 38 at schema 2.
    CHECK(histogram.schema() == schema);
    CHECK(histogram.populated_buckets() == (schema == 3 ? 75 : 38));
    const NativeHistogramValue value = Value(histogram);
    const double relative_error = std::exp2(std::ldexp(1.0, -schema)) - 1;  // 9.05%, 18.9%
    for (double q : {0.01, 0.25, 0.5, 0.9, 0.99, 0.999}) {
      const double truth = values[static_cast<std::size_t>(std::ceil(q * kCount)) - 1];
      const double estimate = QuantileUpperBound(value, q);
      INFO("schema ", schema, " q ", q, " truth ", truth, " estimate ", estimate);
      CHECK(estimate >= truth);
      CHECK((estimate - truth) / truth <= relative_error);
    }
  }
}

TEST_CASE("NativeHistogram: memory stays under MaxMemoryBytes for values from 1e-6 to 1e6") {
  NativeHistogram histogram;
  CHECK(NativeHistogram::MaxMemoryBytes({}) ==
        sizeof(NativeHistogram) + 2 * 640 * sizeof(uint64_t));
  CHECK(histogram.MemoryBytes() == sizeof(NativeHistogram));
  std::mt19937_64 random(1);
  std::size_t most = 0;
  uint64_t observed = 0;
  for (int i = 0; i < 1000000; ++i) {
    const double u = static_cast<double>(random() >> 11) * 0x1p-53;  // [0, 1)
    const double magnitude = std::pow(10.0, -6 + 12 * u);
    histogram.Observe(i % 4 == 0 ? -magnitude : magnitude);
    ++observed;
    most = std::max(most, histogram.MemoryBytes());
  }
  CHECK(most <= NativeHistogram::MaxMemoryBytes({}));
  // 40 powers of two a sign: 320 buckets at schema 3, 160 at 2, 80 at 1; two signs fit at 1.
  CHECK(histogram.schema() == 1);
  const NativeHistogramValue value = Value(histogram);
  CHECK(Total(Decode(value.positive_spans, value.positive_deltas)) +
            Total(Decode(value.negative_spans, value.negative_deltas)) ==
        observed);
  MESSAGE("memory: ", histogram.MemoryBytes(), " bytes now, ", most, " at most, bound ",
          NativeHistogram::MaxMemoryBytes({}));
}

TEST_CASE("NativeHistogram: latencies at schema 3 take the memory the header states") {
  NativeHistogram histogram;
  for (int k = 0; k < 1000; ++k) histogram.Observe(0.05 * std::pow(600.0, k / 999.0));
  CHECK(histogram.schema() == 3);
  CHECK(histogram.populated_buckets() == 75);
  CHECK(histogram.MemoryBytes() <= sizeof(NativeHistogram) + 96 * sizeof(uint64_t));
  MESSAGE("sizeof ", sizeof(NativeHistogram), ", memory ", histogram.MemoryBytes());
}

TEST_CASE("NativeHistogram: copies and moves are independent and complete") {
  NativeHistogram original = WithSchema(0);
  for (double v : {1.0, 2.0, -4.0, 0.0}) original.Observe(v);
  NativeHistogram copy = original;
  copy.Observe(2.0);
  CHECK(Value(original).positive_deltas == Deltas{1, 0});
  CHECK(Value(copy).positive_deltas == Deltas{1, 1});
  CHECK(Value(copy).negative_spans == Spans{{2, 1}});
  CHECK(copy.zero_count() == 1);

  NativeHistogram moved = std::move(copy);
  moved.Observe(1.0);
  CHECK(Value(moved).positive_deltas == Deltas{2, 0});
  original = moved;
  CHECK(Value(original).positive_deltas == Deltas{2, 0});
  CHECK(original.populated_buckets() == 3);
}

TEST_CASE("NativeHistogram::Validate names the option that is out of range") {
  CHECK(NativeHistogram::Validate({}).empty());
  CHECK(NativeHistogram::Validate({-4, 1, 0}).empty());
  CHECK(NativeHistogram::Validate({8, 160, 1e-3}).empty());
  CHECK(NativeHistogram::Validate({9, 160, 0}) ==
        "native histogram schema must be in [-4, 8], got 9");
  CHECK(NativeHistogram::Validate({-5, 160, 0}) ==
        "native histogram schema must be in [-4, 8], got -5");
  CHECK(NativeHistogram::Validate({3, 0, 0}) ==
        "native histogram max buckets must be at least 1, got 0");
  CHECK(NativeHistogram::Validate({3, 160, -1}) ==
        "native histogram zero threshold must be finite and >= 0");
  CHECK(NativeHistogram::Validate({3, 160, std::numeric_limits<double>::infinity()}) ==
        "native histogram zero threshold must be finite and >= 0");
  CHECK(NativeHistogram::Validate({3, 160, std::numeric_limits<double>::quiet_NaN()}) ==
        "native histogram zero threshold must be finite and >= 0");
}

TEST_CASE("NativeHistogram: out-of-range options are clamped, not trusted") {
  NativeHistogram histogram({12, 0, -1});
  CHECK(histogram.schema() == 8);
  histogram.Observe(0.0);
  histogram.Observe(1.0);
  histogram.Observe(2.0);
  CHECK(histogram.zero_count() == 1);
  // One bucket allowed, but 1 is the upper edge of bucket 0 at every schema, so 1 and 2 never
  // share a bucket: the schema goes down to -4 and stays over the limit.
  CHECK(histogram.schema() == -4);
  CHECK(histogram.populated_buckets() == 2);
}

}  // namespace
}  // namespace llm_exporter::aggregate
