// The LLM metrics themselves: every series of every family, updated per event without a global
// lock, bounded by a per-family series limit (overflow series keep sums exact) and an optional
// time-to-live. The expose stage reads it through one snapshot per family (family_snapshot.h).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string_view>

#include "aggregate/exemplar.h"
#include "aggregate/family_snapshot.h"
#include "aggregate/histogram.h"
#include "aggregate/label_control.h"
#include "aggregate/native_histogram.h"
#include "aggregate/series_labels.h"
#include "aggregate/sharded_series_map.h"
#include "llm_exporter/clock.h"
#include "llm_exporter/event.h"
#include "llm_exporter/money.h"
#include "llm_exporter/proxy_ingest.h"

namespace llm_exporter::aggregate {

// The label value that replaces high-cardinality labels once a family is full.
inline constexpr std::string_view kOverflowLabelValue = "__overflow__";

// An overflow series keeps the labels that alerts and panels group by, as long as their values
// are bounded: `model` as the model family admitted it (the admitted model or __overflow__),
// and `status` folded into success, error or other. Without `status` the errors of a
// cardinality flood would disappear from error rates exactly when they matter. Which label of
// which family overflows is listed in docs/metrics.md.
inline constexpr std::string_view kOtherStatusLabelValue = "other";

// The `status` an overflow series carries for an event's status (llm_requests_total and the
// workflow, agent and tool families).
std::string_view OverflowStatus(std::string_view status);

struct StoreOptions {
  std::size_t max_series_per_family = std::numeric_limits<std::size_t>::max();
  std::chrono::nanoseconds ttl{0};  // 0: series never expire
  std::vector<double> duration_buckets = {0.1, 0.5, 1, 2, 5, 10, 30};
  std::vector<double> ttft_buckets = {0.1, 0.25, 0.5, 1, 2, 5};
  // llm_time_per_output_token_seconds: the time between output tokens after the first.
  std::vector<double> tpot_buckets = {0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1};
  std::vector<double> output_tps_buckets = {5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500};
  std::vector<double> quality_buckets = {1, 2, 3, 4, 5};
  // A workflow runs several calls (and tools), so its buckets reach further than a call's.
  std::vector<double> workflow_buckets = {0.5, 1, 2, 5, 10, 30, 60, 120, 300};
  // Set: llm_request_duration_seconds and llm_ttft_seconds are also kept as native histograms.
  std::optional<NativeHistogramOptions> native;
  // Labels dropped at record time and per-family series limits (label_control.h).
  LabelControl labels;
};

// Steady-clock nanoseconds of a series' last update, for the TTL.
using Touched = int64_t;

// Every cell also keeps `created`, the Unix time in seconds its series was created (OpenMetrics'
// _created samples), and its exemplars (exemplar.h): one for a counter, one per bucket of a
// histogram, where the family keeps them.
struct CountCell {
  uint64_t count = 0;
  Touched touched = 0;
  double created = 0;
  Exemplars exemplars;  // llm_requests_total only
};

// llm_quality_score and llm_workflow_duration_seconds.
struct HistogramSeries {
  explicit HistogramSeries(const BucketLayout& layout) : histogram(layout) {}
  HistogramCell histogram;
  Touched touched = 0;
  double created = 0;
  Exemplars exemplars;  // always empty: these families keep no exemplars
};

// Everything kept per {model, endpoint}: llm_request_duration_seconds, and the output speed of
// the calls whose usage and timings allow it (llm_time_per_output_token_seconds,
// llm_output_tokens_per_second). Same key, so one lookup per event serves all three.
struct DurationCell {
  DurationCell(const BucketLayout& latency, const BucketLayout& tpot_layout,
               const BucketLayout& output_tps_layout)
      : histogram(latency), tpot(tpot_layout), output_tps(output_tps_layout) {}
  HistogramCell histogram;  // the latency
  HistogramCell tpot;
  HistogramCell output_tps;
  Touched touched = 0;
  double created = 0;
  Exemplars exemplars;  // of the latency's buckets
  std::unique_ptr<NativeHistogram> native;  // of the latency, when kept
};

// Everything kept per model: llm_tokens_total, llm_tokens_by_kind_total, llm_ttft_seconds,
// llm_cache_{hits,misses}_total, llm_calls_without_usage_total and
// llm_exporter_fallback_priced_events_total. They live and expire together.
struct ModelCell {
  explicit ModelCell(const BucketLayout& ttft_layout) : ttft(ttft_layout) {}
  uint64_t input_tokens = 0;
  uint64_t output_tokens = 0;
  uint64_t cache_read_tokens = 0;
  uint64_t cache_write_tokens = 0;
  uint64_t reasoning_tokens = 0;
  std::array<uint64_t, kCallSourceCount> calls_without_usage{};  // by CallSource
  uint64_t cache_hits = 0;
  uint64_t cache_misses = 0;
  uint64_t fallback_priced = 0;
  HistogramCell ttft;
  Touched touched = 0;
  double created = 0;
  Exemplars exemplars;  // of ttft's buckets
  std::unique_ptr<NativeHistogram> ttft_native;  // when native histograms are kept
};

struct CostCell {
  PicoUsdTotal cost = 0;
  Touched touched = 0;
  double created = 0;
  Exemplars exemplars;
};

// Everything kept per {upstream, model} of the metering proxy: llm_ratelimit_remaining,
// llm_ratelimit_limit, llm_proxy_requests_total and llm_client_retries_total.
struct UpstreamCell {
  RateLimits rate_limits;  // the last value reported of each; -1 until one is
  uint64_t client_retries = 0;
  std::array<uint64_t, kProxyOutcomeCount> outcomes{};  // by ProxyOutcome
  Touched touched = 0;
  double created = 0;
  Exemplars exemplars;  // always empty: this family keeps no exemplars
};

// The series one SeriesStore::Expire() dropped, each as it was when it went, in the snapshot
// types the readers take; with the same Snapshot* calls as the store, so that whatever renders
// the store can render these (the remote writer sends a staleness marker for each).
struct ExpiredSeries {
  RequestsSnapshot requests;
  DurationSnapshot durations;
  ModelSnapshot models;
  CostSnapshot costs;
  QualitySnapshot qualities;
  WorkflowSnapshot workflows;
  AgentSnapshot agents;
  ToolSnapshot tools;
  UpstreamSnapshot upstreams;

  std::size_t size() const {
    return requests.size() + durations.size() + models.size() + costs.size() + qualities.size() +
           workflows.size() + agents.size() + tools.size() + upstreams.size();
  }
  void SnapshotRequestsByShard(const ShardReader<RequestsSnapshot>& read, bool) const {
    read(requests);
  }
  void SnapshotDurationsByShard(const ShardReader<DurationSnapshot>& read, bool) const {
    read(durations);
  }
  const ModelSnapshot& SnapshotModels(bool) const { return models; }
  void SnapshotCostsByShard(const ShardReader<CostSnapshot>& read, bool) const { read(costs); }
  void SnapshotQualitiesByShard(const ShardReader<QualitySnapshot>& read, bool) const {
    read(qualities);
  }
  void SnapshotWorkflowsByShard(const ShardReader<WorkflowSnapshot>& read, bool) const {
    read(workflows);
  }
  void SnapshotAgentsByShard(const ShardReader<AgentSnapshot>& read, bool) const { read(agents); }
  void SnapshotToolsByShard(const ShardReader<ToolSnapshot>& read, bool) const { read(tools); }
  const UpstreamSnapshot& SnapshotUpstreams(bool) const { return upstreams; }
};

// Thread-safe: Record*() from any number of threads, concurrently with the readers and Expire().
// A snapshot holds each series as it was at one moment, but may hold an event in one family and
// not yet in another while that event is being recorded.
class SeriesStore {
 public:
  SeriesStore(StoreOptions options, const Clock& clock);

  // `source`: the way the call came in, for llm_calls_without_usage_total.
  void RecordCall(const LlmCall& call, PicoUsd cost, bool fallback_priced,
                  CallSource source = CallSource::kHttp);
  void RecordQuality(const QualityScore& score);
  // One finished span each (OTLP trace ingest): a workflow (OpenLLMetry @workflow/@task, a
  // LangGraph graph), an agent invocation (@agent, gen_ai invoke_agent) or a tool call (@tool,
  // gen_ai execute_tool). `status` is "success" or "error"; any other value is kept as given,
  // as llm_requests_total keeps a call's, and folded by OverflowStatus() in overflow series.
  void RecordWorkflow(std::string_view workflow, std::string_view status, double duration_seconds);
  void RecordAgentInvocation(std::string_view agent, std::string_view status);
  void RecordToolCall(std::string_view tool, std::string_view status);
  // What the metering proxy saw of an upstream for one relayed request: its outcome, whether the
  // client retried, and each rate limit the answer reported (one it did not report keeps the
  // value last reported). Keyed {upstream, model}; past the family's limit a new model is
  // recorded as __overflow__ under its upstream (upstream names are bounded by the proxy config).
  void RecordUpstream(const UpstreamObservation& observation);

  // Drops series not updated for longer than the TTL; returns how many went. No-op without TTL.
  // With `expired`, also appends each dropped series to it (without exemplars or native
  // histograms).
  std::size_t Expire(ExpiredSeries* expired = nullptr);

  // A copy of one family, for readers to format with no lock held: each shard is copied under
  // its own lock, which is held only while copying. The labels are those of series_labels.h.
  // Overflow series: requests (model, __overflow__, OverflowStatus(status)); duration (model,
  // __overflow__); model (__overflow__); cost (model, __overflow__, __overflow__); quality
  // (__overflow__, __overflow__); `model` there is the model as the model family admitted it.
  // workflow, agent and tool: (__overflow__, OverflowStatus(status)). upstream: (upstream,
  // __overflow__).
  RequestsSnapshot SnapshotRequests() const;
  DurationSnapshot SnapshotDurations() const;
  ModelSnapshot SnapshotModels(bool extras = true) const;
  CostSnapshot SnapshotCosts() const;
  QualitySnapshot SnapshotQualities() const;
  WorkflowSnapshot SnapshotWorkflows() const;
  AgentSnapshot SnapshotAgents() const;
  ToolSnapshot SnapshotTools() const;
  // One copy serves the upstream family's four metrics, as for the model family: remaining and
  // limit of one moment. `extras` as below.
  UpstreamSnapshot SnapshotUpstreams(bool extras = true) const;

  // `extras` = false leaves out what only some exposition formats write: the series'
  // exemplars and native histograms (their creation times are kept).
  //
  // The same copy handed over one shard at a time, for a reader that formats as it goes: `read`
  // gets each shard's series in turn, after that shard's lock is released, in one buffer reused
  // from shard to shard. The reader holds about 1/32 of the family at once instead of all of it.
  // (The model and upstream families have no such form: their metrics are meant to be read
  // from one copy.)
  void SnapshotRequestsByShard(const ShardReader<RequestsSnapshot>& read, bool extras = true) const;
  void SnapshotDurationsByShard(const ShardReader<DurationSnapshot>& read,
                                bool extras = true) const;
  void SnapshotCostsByShard(const ShardReader<CostSnapshot>& read, bool extras = true) const;
  void SnapshotQualitiesByShard(const ShardReader<QualitySnapshot>& read, bool extras = true) const;
  void SnapshotWorkflowsByShard(const ShardReader<WorkflowSnapshot>& read,
                                bool extras = true) const;
  void SnapshotAgentsByShard(const ShardReader<AgentSnapshot>& read, bool extras = true) const;
  void SnapshotToolsByShard(const ShardReader<ToolSnapshot>& read, bool extras = true) const;

  // The families' bucket bounds, for the `le` labels of the histograms' snapshots.
  const BucketLayout& duration_layout() const { return duration_layout_; }
  const BucketLayout& ttft_layout() const { return ttft_layout_; }
  const BucketLayout& tpot_layout() const { return tpot_layout_; }
  const BucketLayout& output_tps_layout() const { return output_tps_layout_; }
  const BucketLayout& quality_layout() const { return quality_layout_; }
  const BucketLayout& workflow_layout() const { return workflow_layout_; }

  std::size_t SeriesCount(Family family) const;
  // The family's own limit (--metrics.max-series), else --metrics.max-series-per-family.
  std::size_t series_limit(Family family) const;
  // The labels of `family` dropped at record time, which expositions leave out.
  DroppedLabels dropped_labels(Family family) const {
    return options_.labels.dropped[static_cast<std::size_t>(family)];
  }
  // Events folded into an overflow series because the family was full.
  uint64_t OverflowCount(Family family) const {
    return overflowed_[static_cast<std::size_t>(family)].load(std::memory_order_relaxed);
  }
  uint64_t ExpiredCount(Family family) const {
    return expired_[static_cast<std::size_t>(family)].load(std::memory_order_relaxed);
  }

 private:
  Touched Now() const;
  double WallSeconds() const;
  // A new series' cell, its creation time set.
  CountCell MakeCount() const;
  HistogramSeries MakeHistogram(const BucketLayout& layout) const;
  // Copies the series of one shard of `map` into `into`, appending; copy(cell, &into->values_)
  // appends one series' value.
  template <typename Snapshot, typename Cell, typename Copy>
  static void CopyShard(const ShardedSeriesMap<Cell>& map, std::size_t shard, Snapshot* into,
                        const Copy& copy, bool extras);
  // The whole family, or shard by shard (the two forms of the Snapshot* methods).
  template <typename Snapshot, typename Cell, typename Copy>
  static Snapshot Whole(const ShardedSeriesMap<Cell>& map, const Copy& copy, bool extras);
  // Erases the series of `map` that `stale` picks, appending each to `into` when it is set.
  template <typename Snapshot, typename Cell, typename Stale, typename Copy>
  static std::size_t EraseInto(ShardedSeriesMap<Cell>& map, const Stale& stale, const Copy& copy,
                               Snapshot* into);
  template <typename Snapshot, typename Cell, typename Copy>
  static void ByShard(const ShardedSeriesMap<Cell>& map, const Copy& copy,
                      const ShardReader<Snapshot>& read, bool extras);
  // `labels` with the labels the family drops made "" (label_control.h).
  template <typename Labels>
  Labels Dropped(Family family, const Labels& labels) const;
  void CountOverflow(Family family) {
    overflowed_[static_cast<std::size_t>(family)].fetch_add(1, std::memory_order_relaxed);
  }

  StoreOptions options_;
  const Clock& clock_;
  BucketLayout duration_layout_;
  BucketLayout ttft_layout_;
  BucketLayout tpot_layout_;
  BucketLayout output_tps_layout_;
  BucketLayout quality_layout_;
  BucketLayout workflow_layout_;
  // Only one of requests and duration drops `endpoint`: the duration key is not a prefix of
  // the request key and is encoded apart.
  bool duration_key_apart_;
  ShardedSeriesMap<CountCell> requests_;
  ShardedSeriesMap<DurationCell> durations_;
  ShardedSeriesMap<ModelCell> models_;
  ShardedSeriesMap<CostCell> costs_;
  ShardedSeriesMap<HistogramSeries> qualities_;
  ShardedSeriesMap<HistogramSeries> workflows_;
  ShardedSeriesMap<CountCell> agents_;
  ShardedSeriesMap<CountCell> tools_;
  ShardedSeriesMap<UpstreamCell> upstreams_;
  std::array<std::atomic<uint64_t>, kFamilyCount> overflowed_{};
  std::array<std::atomic<uint64_t>, kFamilyCount> expired_{};
};

}  // namespace llm_exporter::aggregate
