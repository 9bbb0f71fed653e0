// A copy of one LLM metric family for readers such as the /metrics renderer: the store fills it
// shard by shard, each shard under its own lock, and the reader formats it with no lock held.
// Labels come out by name (series_labels.h) and values as plain numbers, never as series keys.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <numeric>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "aggregate/exemplar.h"
#include "aggregate/histogram.h"
#include "aggregate/native_histogram.h"
#include "aggregate/series_key.h"
#include "aggregate/series_labels.h"
#include "llm_exporter/event.h"
#include "llm_exporter/money.h"
#include "llm_exporter/proxy_ingest.h"

namespace llm_exporter::aggregate {

// One histogram series as a snapshot holds it.
struct HistogramValue {
  std::span<const uint64_t> counts;  // per bucket, not cumulative; the last is (largest, +Inf)
  double sum = 0;
  // The same observations as a native histogram, where --metrics.native-histograms keeps one.
  const NativeHistogramValue* native = nullptr;

  uint64_t Count() const { return std::accumulate(counts.begin(), counts.end(), uint64_t{0}); }
};

// One {model, endpoint} series of the duration family: the latency histogram (this value read
// as a HistogramValue) and the output speed histograms kept beside it.
struct DurationValue : HistogramValue {
  HistogramValue tpot;        // llm_time_per_output_token_seconds
  HistogramValue output_tps;  // llm_output_tokens_per_second
};

// Everything the model family keeps for one model, copied together under one lock: tokens,
// cache outcomes, fallback pricing and time to first token agree with each other.
struct ModelValue {
  uint64_t input_tokens = 0;
  uint64_t output_tokens = 0;
  uint64_t cache_hits = 0;
  uint64_t cache_misses = 0;
  uint64_t fallback_priced = 0;
  HistogramValue ttft;
  // llm_tokens_by_kind_total: parts of input_tokens (cache read, cache write) and of
  // output_tokens (reasoning).
  uint64_t cache_read_tokens = 0;
  uint64_t cache_write_tokens = 0;
  uint64_t reasoning_tokens = 0;
  std::array<uint64_t, kCallSourceCount> calls_without_usage{};  // by CallSource
};

// Everything the upstream family keeps for one {upstream, model}, copied under one lock: the
// rate limits last reported (-1: never reported), the client's retries and the calls by outcome.
struct UpstreamValue {
  RateLimits rate_limits;
  uint64_t client_retries = 0;
  std::array<uint64_t, kProxyOutcomeCount> outcomes{};  // by ProxyOutcome
};

// What a snapshot keeps of a series beside its value: when it was created (Unix seconds) and its
// exemplars (none, one for a counter, one per bucket for a histogram; empty slots included).
struct SeriesExtras {
  double created = 0;
  std::span<const ExemplarSlot> exemplars;
};

class SeriesStore;

namespace snapshot_internal {

// How a snapshot keeps its values: in flat vectors, one entry (or one run of bucket counts) per
// series, and handed out as the family's value type by At().
template <typename T>
class ScalarColumn {
 public:
  void Clear() { values_.clear(); }
  void Reserve(std::size_t series) { values_.reserve(series); }
  void Append(T value) { values_.push_back(value); }
  std::size_t size() const { return values_.size(); }
  const T& At(std::size_t i) const { return values_[i]; }

 private:
  std::vector<T> values_;
};

class HistogramColumn {
 public:
  void Clear() {
    counts_.clear();
    sums_.clear();
    native_at_.clear();
    natives_used_ = 0;  // natives_ keeps its values, and their buffers, for the next fill
  }
  void Reserve(std::size_t series) { sums_.reserve(series); }
  // Every cell of one snapshot has the same layout (its family's).
  void Append(const HistogramCell& cell, const NativeHistogram* native) {
    buckets_ = cell.counts.size();
    counts_.insert(counts_.end(), cell.counts.begin(), cell.counts.end());
    sums_.push_back(cell.sum);
    if (native == nullptr) {
      native_at_.push_back(kNoNative);
      return;
    }
    if (natives_used_ == natives_.size()) natives_.emplace_back();
    native->CopyTo(&natives_[natives_used_]);
    native_at_.push_back(static_cast<uint32_t>(natives_used_++));
  }
  std::size_t size() const { return sums_.size(); }
  HistogramValue At(std::size_t i) const {
    return {std::span<const uint64_t>(counts_.data() + i * buckets_, buckets_), sums_[i],
            native_at_[i] == kNoNative ? nullptr : &natives_[native_at_[i]]};
  }

 private:
  static constexpr uint32_t kNoNative = UINT32_MAX;
  std::size_t buckets_ = 0;
  std::vector<uint64_t> counts_;  // buckets_ per series, back to back
  std::vector<double> sums_;
  std::vector<uint32_t> native_at_;  // per series: its entry of natives_, or kNoNative
  std::vector<NativeHistogramValue> natives_;
  std::size_t natives_used_ = 0;
};

// The duration family's three histograms, the latency's with its native form.
class DurationColumn {
 public:
  void Clear() {
    latency_.Clear();
    tpot_.Clear();
    output_tps_.Clear();
  }
  void Reserve(std::size_t series) {
    latency_.Reserve(series);
    tpot_.Reserve(series);
    output_tps_.Reserve(series);
  }
  void Append(const HistogramCell& latency, const NativeHistogram* native,
              const HistogramCell& tpot, const HistogramCell& output_tps) {
    latency_.Append(latency, native);
    tpot_.Append(tpot, nullptr);
    output_tps_.Append(output_tps, nullptr);
  }
  std::size_t size() const { return latency_.size(); }
  DurationValue At(std::size_t i) const {
    DurationValue value;
    static_cast<HistogramValue&>(value) = latency_.At(i);
    value.tpot = tpot_.At(i);
    value.output_tps = output_tps_.At(i);
    return value;
  }

 private:
  HistogramColumn latency_;
  HistogramColumn tpot_;
  HistogramColumn output_tps_;
};

class ModelColumn {
 public:
  struct Counters {
    uint64_t input_tokens;
    uint64_t output_tokens;
    uint64_t cache_hits;
    uint64_t cache_misses;
    uint64_t fallback_priced;
    uint64_t cache_read_tokens;
    uint64_t cache_write_tokens;
    uint64_t reasoning_tokens;
    std::array<uint64_t, kCallSourceCount> calls_without_usage;
  };

  void Clear() {
    counters_.clear();
    ttft_.Clear();
  }
  void Reserve(std::size_t series) {
    counters_.reserve(series);
    ttft_.Reserve(series);
  }
  void Append(const Counters& counters, const HistogramCell& ttft,
              const NativeHistogram* ttft_native) {
    counters_.push_back(counters);
    ttft_.Append(ttft, ttft_native);
  }
  std::size_t size() const { return counters_.size(); }
  ModelValue At(std::size_t i) const {
    const Counters& c = counters_[i];
    return {.input_tokens = c.input_tokens,
            .output_tokens = c.output_tokens,
            .cache_hits = c.cache_hits,
            .cache_misses = c.cache_misses,
            .fallback_priced = c.fallback_priced,
            .ttft = ttft_.At(i),
            .cache_read_tokens = c.cache_read_tokens,
            .cache_write_tokens = c.cache_write_tokens,
            .reasoning_tokens = c.reasoning_tokens,
            .calls_without_usage = c.calls_without_usage};
  }

 private:
  std::vector<Counters> counters_;
  HistogramColumn ttft_;
};

template <typename Value>
struct ColumnOf {
  using type = ScalarColumn<Value>;
};
template <>
struct ColumnOf<HistogramValue> {
  using type = HistogramColumn;
};
template <>
struct ColumnOf<DurationValue> {
  using type = DurationColumn;
};
template <>
struct ColumnOf<ModelValue> {
  using type = ModelColumn;
};

}  // namespace snapshot_internal

// Filled only by SeriesStore::Snapshot*(); not thread-safe while being filled, and any number
// of threads may read a filled one. The views it hands out point into the snapshot itself, and
// no lock is held while they are used: they stay valid while the snapshot lives (for one shard
// handed to a ShardReader, until the reader returns).
template <typename Labels, typename Value>
class FamilySnapshot {
 public:
  using LabelsType = Labels;

  // Calls fn(const Labels&, const Value&) for every series, in the store's order; or
  // fn(const Labels&, const Value&, const SeriesExtras&) if fn takes that.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    const char* bytes = key_bytes_.data();
    for (std::size_t i = 0; i < values_.size(); ++i) {
      // Decoded here, with no lock held, rather than while the shard was copied.
      const KeySpan span = key_spans_[i];
      const Labels labels = DecodeLabels<Labels>(std::string_view(bytes + span.offset, span.size));
      if constexpr (std::is_invocable_v<Fn&, const Labels&, decltype(values_.At(i)),
                                        const SeriesExtras&>) {
        const Extra& extra = extras_[i];
        fn(labels, values_.At(i),
           SeriesExtras{extra.created, std::span<const ExemplarSlot>(
                                           exemplars_.data() + extra.exemplars_at,
                                           extra.exemplar_count)});
      } else {
        fn(labels, values_.At(i));
      }
    }
  }

  std::size_t size() const { return values_.size(); }

 private:
  friend class SeriesStore;
  using Column = typename snapshot_internal::ColumnOf<Value>::type;

  // Where one series' key lies in key_bytes_.
  struct KeySpan {
    uint64_t offset : 40;
    uint64_t size : 24;
  };
  // A key is its label values (at most kMaxLabelValueBytes each), each behind a 2-byte length.
  static_assert(Labels::kKeyOrder.size() * (kMaxLabelValueBytes + 2) < (uint64_t{1} << 24));

  // Where a series' extras lie.
  struct Extra {
    double created;
    uint32_t exemplars_at;    // index into exemplars_
    uint32_t exemplar_count;  // 0 for a series never sent a usable trace id
  };

  // Empties the snapshot but keeps its buffers, sized for about `series` series.
  void Clear(std::size_t series) {
    key_bytes_.clear();
    key_spans_.clear();
    key_spans_.reserve(series);
    values_.Clear();
    values_.Reserve(series);
    extras_.clear();
    extras_.reserve(series);
    exemplars_.clear();
  }
  // The extras of the series appended last; its exemplars only if `with_exemplars`.
  void AppendExtras(double created, const Exemplars& exemplars, bool with_exemplars) {
    const std::size_t at = exemplars_.size();
    if (with_exemplars) exemplars.AppendTo(&exemplars_);
    extras_.push_back(Extra{created, static_cast<uint32_t>(at),
                            static_cast<uint32_t>(exemplars_.size() - at)});
  }
  // Copies a series' key: its labels are decoded from the copy when the snapshot is read, so
  // that the store's shard lock is held only for copying.
  void AppendKey(std::string_view key) {
    key_spans_.push_back(KeySpan{key_bytes_.size(), key.size()});
    key_bytes_.append(key);
  }

  std::string key_bytes_;                // every series' key, back to back
  std::vector<KeySpan> key_spans_;       // one per series: where its key lies in key_bytes_
  Column values_;                        // one value per series, in the same order
  std::vector<Extra> extras_;            // one per series, in the same order
  std::vector<ExemplarSlot> exemplars_;  // the exemplars of all series, back to back
};

// What SeriesStore::Snapshot*ByShard() calls with each shard's series.
template <typename Snapshot>
using ShardReader = std::function<void(const Snapshot&)>;

using RequestsSnapshot = FamilySnapshot<RequestLabels, uint64_t>;
using DurationSnapshot = FamilySnapshot<DurationLabels, DurationValue>;
using ModelSnapshot = FamilySnapshot<ModelLabels, ModelValue>;
using CostSnapshot = FamilySnapshot<CostLabels, PicoUsdTotal>;
using QualitySnapshot = FamilySnapshot<QualityLabels, HistogramValue>;
using WorkflowSnapshot = FamilySnapshot<WorkflowLabels, HistogramValue>;
using AgentSnapshot = FamilySnapshot<AgentLabels, uint64_t>;
using ToolSnapshot = FamilySnapshot<ToolLabels, uint64_t>;
using UpstreamSnapshot = FamilySnapshot<UpstreamLabels, UpstreamValue>;

}  // namespace llm_exporter::aggregate
