// Native (sparse exponential) histograms, kept beside the classic buckets of the latency and
// time-to-first-token families when --metrics.native-histograms is on. Bucket i of schema s
// covers (2^((i-1)/2^s), 2^(i/2^s)]; values within the zero threshold of 0 go to the zero bucket.
#pragma once

#include <cstdint>
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

}  // namespace llm_exporter::aggregate
