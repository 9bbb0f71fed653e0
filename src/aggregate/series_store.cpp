#include "aggregate/series_store.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "aggregate/series_key.h"

namespace llm_exporter::aggregate {
namespace {

// Encodes `labels` into this thread's key buffer (no allocation once it has grown).
template <typename Labels>
HashedKey KeyOf(const Labels& labels) {
  thread_local std::string buffer;
  EncodeLabels(labels, &buffer);
  return HashedKey(buffer);
}

// The same in a buffer of its own, for the overflow series: its key is made while the key of
// the event's own series is still in use.
template <typename Labels>
HashedKey OverflowKeyOf(const Labels& labels) {
  thread_local std::string buffer;
  EncodeLabels(labels, &buffer);
  return HashedKey(buffer);
}

// Update, or on a full family fold the event into the overflow series, whose labels overflow()
// gives: they are made only then.
template <typename Cell, typename Overflow, typename Make, typename Apply>
bool UpdateOrOverflow(ShardedSeriesMap<Cell>& map, const HashedKey& key, const Overflow& overflow,
                      Make&& make, Apply&& apply) {
  if (map.Update(key, make, apply) != UpdateResult::kOverLimit) return false;
  map.UpdateUnlimited(OverflowKeyOf(overflow()), make, apply);
  return true;
}

// RecordCall encodes two keys per event, {model, endpoint, status} and {model, user_id,
// team_id}, and finds the model and duration series by prefixes of the first: these keep that
// right if a kKeyOrder changes.
static_assert(KeyStartsWith(RequestLabels{.model = "m", .endpoint = "e", .status = "s"},
                            DurationLabels{.model = "m", .endpoint = "e"}));
static_assert(KeyStartsWith(RequestLabels{.model = "m", .endpoint = "e", .status = "s"},
                            ModelLabels{.model = "m"}));
inline constexpr std::size_t kModelKeyValues = ModelLabels::kKeyOrder.size();
inline constexpr std::size_t kDurationKeyValues = DurationLabels::kKeyOrder.size();

// `labels` with the values of the labels `dropped` names (label_control.h) made "".
template <typename Labels>
Labels WithDropped(Labels labels, DroppedLabels dropped) {
  std::size_t i = 0;
  ForEachKeyField<Labels>([&](auto field) {
    if ((dropped >> i++) & 1) labels.*field() = {};
  });
  return labels;
}

// label_control.cpp names each family's labels by their place in kKeyOrder; these keep the two
// in step for the labels RecordCall drops by place.
static_assert(RequestLabels::kKeyOrder[1] == &RequestLabels::endpoint);
static_assert(RequestLabels::kKeyOrder[2] == &RequestLabels::status);
static_assert(DurationLabels::kKeyOrder[1] == &DurationLabels::endpoint);
static_assert(CostLabels::kKeyOrder[1] == &CostLabels::user_id);
static_assert(CostLabels::kKeyOrder[2] == &CostLabels::team_id);
static_assert(QualityLabels::kKeyOrder[1] == &QualityLabels::evaluator);
static_assert(WorkflowLabels::kKeyOrder[0] == &WorkflowLabels::workflow);
static_assert(AgentLabels::kKeyOrder[0] == &AgentLabels::agent);
static_assert(ToolLabels::kKeyOrder[0] == &ToolLabels::tool);
static_assert(UpstreamLabels::kKeyOrder[0] == &UpstreamLabels::upstream);
static_assert(UpstreamLabels::kKeyOrder[1] == &UpstreamLabels::model);
inline constexpr DroppedLabels kEndpointBit = 1u << 1;  // in requests and duration alike

std::size_t LimitOf(const StoreOptions& options, Family family) {
  const std::size_t own = options.labels.max_series[static_cast<std::size_t>(family)];
  return own != 0 ? own : options.max_series_per_family;
}

// Counters stop at the largest value rather than wrap round to small numbers.
void AddSaturating(uint64_t* total, uint64_t amount) {
  if (__builtin_add_overflow(*total, amount, total)) *total = UINT64_MAX;
}

}  // namespace

std::string_view OverflowStatus(std::string_view status) {
  if (status == "success" || status == "error") return status;
  return kOtherStatusLabelValue;
}

SeriesStore::SeriesStore(StoreOptions options, const Clock& clock)
    : options_(std::move(options)),
      clock_(clock),
      duration_layout_(options_.duration_buckets),
      ttft_layout_(options_.ttft_buckets),
      tpot_layout_(options_.tpot_buckets),
      output_tps_layout_(options_.output_tps_buckets),
      quality_layout_(options_.quality_buckets),
      workflow_layout_(options_.workflow_buckets),
      duration_key_apart_(((dropped_labels(Family::kRequests) ^
                            dropped_labels(Family::kDuration)) &
                           kEndpointBit) != 0),
      requests_(LimitOf(options_, Family::kRequests)),
      durations_(LimitOf(options_, Family::kDuration)),
      models_(LimitOf(options_, Family::kModel)),
      costs_(LimitOf(options_, Family::kCost)),
      qualities_(LimitOf(options_, Family::kQuality)),
      workflows_(LimitOf(options_, Family::kWorkflow)),
      agents_(LimitOf(options_, Family::kAgent)),
      tools_(LimitOf(options_, Family::kTool)),
      upstreams_(LimitOf(options_, Family::kUpstream)) {}

std::size_t SeriesStore::series_limit(Family family) const { return LimitOf(options_, family); }

template <typename Labels>
Labels SeriesStore::Dropped(Family family, const Labels& labels) const {
  const DroppedLabels dropped = dropped_labels(family);
  if (dropped == 0) [[likely]] return labels;
  return WithDropped(labels, dropped);
}

CountCell SeriesStore::MakeCount() const {
  CountCell cell;
  cell.created = WallSeconds();
  return cell;
}

HistogramSeries SeriesStore::MakeHistogram(const BucketLayout& layout) const {
  HistogramSeries cell(layout);
  cell.created = WallSeconds();
  return cell;
}

double SeriesStore::WallSeconds() const {
  return std::chrono::duration<double>(clock_.WallNow().time_since_epoch()).count();
}

Touched SeriesStore::Now() const {
  if (options_.ttl.count() == 0) return 0;
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             clock_.SteadyNow().time_since_epoch())
      .count();
}

void SeriesStore::RecordCall(const LlmCall& call, PicoUsd cost, bool fallback_priced,
                             CallSource source) {
  const Touched now = Now();
  constexpr std::string_view kOver = kOverflowLabelValue;
  // An event with a usable trace id leaves its ids as the exemplar of the series and buckets
  // it lands in; one without costs this one test.
  const ExemplarIds ids(call.trace_id, call.span_id);
  const bool traced = ids.usable();
  const double wall = traced ? WallSeconds() : 0;
  const std::size_t source_at =
      std::min(static_cast<std::size_t>(source), kCallSourceCount - 1);

  // The output speed, where the call's usage and timings give one (docs/metrics.md): computed
  // before any lock is taken.
  double tpot = 0;
  double output_tps = 0;
  bool has_tpot = false;
  bool has_output_tps = false;
  if (call.usage_known && call.output_tokens >= 1) {
    const double output = static_cast<double>(call.output_tokens);
    if (call.ttft_seconds) {
      const double generating = call.latency_seconds - *call.ttft_seconds;
      if (generating > 0) {
        output_tps = output / generating;
        has_output_tps = true;
        if (call.output_tokens >= 2) {
          tpot = generating / (output - 1);
          has_tpot = true;
        }
      }
    } else if (call.latency_seconds > 0) {
      output_tps = output / call.latency_seconds;
      has_output_tps = true;
    }
  }

  // The model family admits models; a model it has no room for is recorded as __overflow__
  // in every family, which bounds the overflow series of the others by the model limit (times
  // three in requests, whose overflow series keep the status as success, error or other).
  std::string_view model = call.model;
  const auto make_model = [&] {
    ModelCell cell(ttft_layout_);
    cell.created = WallSeconds();
    if (options_.native) cell.ttft_native = std::make_unique<NativeHistogram>(*options_.native);
    return cell;
  };
  const auto apply_model = [&](ModelCell& cell) {
    if (call.usage_known) {
      AddSaturating(&cell.input_tokens, call.input_tokens);
      AddSaturating(&cell.output_tokens, call.output_tokens);
      AddSaturating(&cell.cache_read_tokens, call.cached_input_tokens);
      AddSaturating(&cell.cache_write_tokens, call.cache_write_input_tokens);
      AddSaturating(&cell.reasoning_tokens, call.reasoning_tokens);
    } else {
      ++cell.calls_without_usage[source_at];
    }
    if (call.cache == CacheOutcome::kHit) ++cell.cache_hits;
    if (call.cache == CacheOutcome::kMiss) ++cell.cache_misses;
    if (fallback_priced) ++cell.fallback_priced;
    if (call.ttft_seconds) {
      cell.ttft.Observe(ttft_layout_, *call.ttft_seconds);
      if (cell.ttft_native) cell.ttft_native->Observe(*call.ttft_seconds);
      if (traced) {
        cell.exemplars.Set(cell.ttft.counts.size(), ttft_layout_.BucketFor(*call.ttft_seconds),
                           ids.trace_id, ids.span_id, *call.ttft_seconds, wall);
      }
    }
    cell.touched = now;
  };
  // One key for requests, whose prefixes are the model's and (unless only one of the two
  // families drops `endpoint`) the duration's keys. Without dropped labels this costs one
  // predictable branch.
  const DroppedLabels request_drops = dropped_labels(Family::kRequests);
  const auto encode_call_key = [&](std::string* key) {
    RequestLabels labels{.model = model, .endpoint = call.endpoint, .status = call.status};
    if (request_drops != 0) [[unlikely]] labels = WithDropped(labels, request_drops);
    EncodeLabels(labels, key);
  };
  thread_local std::string call_key;
  encode_call_key(&call_key);
  if (UpdateOrOverflow(
          models_, HashedKey(SeriesKeyPrefix(call_key, kModelKeyValues)),
          [] { return ModelLabels{.model = kOverflowLabelValue}; }, make_model, apply_model)) {
    CountOverflow(Family::kModel);
    model = kOver;
    encode_call_key(&call_key);
  }

  if (UpdateOrOverflow(
          requests_, HashedKey(call_key),
          [&] {
            return Dropped(Family::kRequests,
                           RequestLabels{.model = model,
                                         .endpoint = kOver,
                                         .status = OverflowStatus(call.status)});
          },
          [this] { return MakeCount(); },
          [&](CountCell& cell) {
            ++cell.count;
            cell.touched = now;
            if (traced) cell.exemplars.Set(1, 0, ids.trace_id, ids.span_id, 1, wall);
          })) {
    CountOverflow(Family::kRequests);
  }

  thread_local std::string duration_key;
  std::string_view duration_key_view = SeriesKeyPrefix(call_key, kDurationKeyValues);
  if (duration_key_apart_) [[unlikely]] {
    EncodeLabels(Dropped(Family::kDuration, DurationLabels{.model = model, .endpoint = call.endpoint}),
                 &duration_key);
    duration_key_view = duration_key;
  }
  if (UpdateOrOverflow(
          durations_, HashedKey(duration_key_view),
          [&] {
            return Dropped(Family::kDuration, DurationLabels{.model = model, .endpoint = kOver});
          },
          [&] {
            DurationCell cell(duration_layout_, tpot_layout_, output_tps_layout_);
            cell.created = WallSeconds();
            if (options_.native) cell.native = std::make_unique<NativeHistogram>(*options_.native);
            return cell;
          },
          [&](DurationCell& cell) {
            cell.histogram.Observe(duration_layout_, call.latency_seconds);
            if (cell.native) cell.native->Observe(call.latency_seconds);
            if (has_tpot) cell.tpot.Observe(tpot_layout_, tpot);
            if (has_output_tps) cell.output_tps.Observe(output_tps_layout_, output_tps);
            cell.touched = now;
            if (traced) {
              cell.exemplars.Set(cell.histogram.counts.size(),
                                 duration_layout_.BucketFor(call.latency_seconds), ids.trace_id,
                                 ids.span_id, call.latency_seconds, wall);
            }
          })) {
    CountOverflow(Family::kDuration);
  }

  if (UpdateOrOverflow(
          costs_,
          KeyOf(Dropped(Family::kCost, CostLabels{.model = model,
                                                  .user_id = call.user_id,
                                                  .team_id = call.team_id})),
          [&] {
            return Dropped(Family::kCost,
                           CostLabels{.model = model, .user_id = kOver, .team_id = kOver});
          },
          [&] {
            CostCell cell;
            cell.created = WallSeconds();
            return cell;
          },
          [&](CostCell& cell) {
            cell.cost += cost;
            cell.touched = now;
            if (traced) {
              cell.exemplars.Set(1, 0, ids.trace_id, ids.span_id, PicoToUsd(PicoUsdTotal{cost}),
                                 wall);
            }
          })) {
    CountOverflow(Family::kCost);
  }
}

void SeriesStore::RecordQuality(const QualityScore& score) {
  const Touched now = Now();
  if (UpdateOrOverflow(
          qualities_,
          KeyOf(Dropped(Family::kQuality,
                        QualityLabels{.model = score.model, .evaluator = score.evaluator})),
          [&] {
            return Dropped(Family::kQuality, QualityLabels{.model = kOverflowLabelValue,
                                                           .evaluator = kOverflowLabelValue});
          },
          [&] { return MakeHistogram(quality_layout_); },
          [&](HistogramSeries& cell) {
            cell.histogram.Observe(quality_layout_, score.score);
            cell.touched = now;
          })) {
    CountOverflow(Family::kQuality);
  }
}

void SeriesStore::RecordWorkflow(std::string_view workflow, std::string_view status,
                                 double duration_seconds) {
  const Touched now = Now();
  if (UpdateOrOverflow(
          workflows_,
          KeyOf(Dropped(Family::kWorkflow, WorkflowLabels{.workflow = workflow, .status = status})),
          [&] {
            return Dropped(Family::kWorkflow, WorkflowLabels{.workflow = kOverflowLabelValue,
                                                             .status = OverflowStatus(status)});
          },
          [&] { return MakeHistogram(workflow_layout_); },
          [&](HistogramSeries& cell) {
            cell.histogram.Observe(workflow_layout_, duration_seconds);
            cell.touched = now;
          })) {
    CountOverflow(Family::kWorkflow);
  }
}

void SeriesStore::RecordAgentInvocation(std::string_view agent, std::string_view status) {
  const Touched now = Now();
  if (UpdateOrOverflow(
          agents_, KeyOf(Dropped(Family::kAgent, AgentLabels{.agent = agent, .status = status})),
          [&] {
            return Dropped(Family::kAgent, AgentLabels{.agent = kOverflowLabelValue,
                                                       .status = OverflowStatus(status)});
          },
          [this] { return MakeCount(); },
          [&](CountCell& cell) {
            ++cell.count;
            cell.touched = now;
          })) {
    CountOverflow(Family::kAgent);
  }
}

void SeriesStore::RecordToolCall(std::string_view tool, std::string_view status) {
  const Touched now = Now();
  if (UpdateOrOverflow(
          tools_, KeyOf(Dropped(Family::kTool, ToolLabels{.tool = tool, .status = status})),
          [&] {
            return Dropped(Family::kTool, ToolLabels{.tool = kOverflowLabelValue,
                                                     .status = OverflowStatus(status)});
          },
          [this] { return MakeCount(); },
          [&](CountCell& cell) {
            ++cell.count;
            cell.touched = now;
          })) {
    CountOverflow(Family::kTool);
  }
}

void SeriesStore::RecordUpstream(const UpstreamObservation& observation) {
  const Touched now = Now();
  const std::size_t outcome_at =
      std::min(static_cast<std::size_t>(observation.outcome), kProxyOutcomeCount - 1);
  if (UpdateOrOverflow(
          upstreams_,
          KeyOf(Dropped(Family::kUpstream, UpstreamLabels{.upstream = observation.upstream,
                                                          .model = observation.model})),
          [&] {
            return Dropped(Family::kUpstream, UpstreamLabels{.upstream = observation.upstream,
                                                             .model = kOverflowLabelValue});
          },
          [this] {
            UpstreamCell cell;
            cell.created = WallSeconds();
            return cell;
          },
          [&](UpstreamCell& cell) {
            // Each figure on its own: an answer may report some headers and not others (a 429
            // from a gateway, Anthropic's per-direction token limits), and one it did not
            // report keeps the value last seen.
            const RateLimits& seen = observation.rate_limits;
            for (std::size_t i = 0; i < kRateLimitResourceCount; ++i) {
              if (seen.remaining[i] >= 0) cell.rate_limits.remaining[i] = seen.remaining[i];
              if (seen.limit[i] >= 0) cell.rate_limits.limit[i] = seen.limit[i];
            }
            if (observation.client_retry) ++cell.client_retries;
            ++cell.outcomes[outcome_at];
            cell.touched = now;
          })) {
    CountOverflow(Family::kUpstream);
  }
}

template <typename Snapshot, typename Cell, typename Copy>
void SeriesStore::CopyShard(const ShardedSeriesMap<Cell>& map, std::size_t shard, Snapshot* into,
                            const Copy& copy, bool extras) {
  // Under the shard's lock: copying only, no formatting.
  const auto copy_one = [&](std::string_view key, const Cell& cell) {
    into->AppendKey(key);
    copy(cell, &into->values_, extras);
    into->AppendExtras(cell.created, cell.exemplars, extras);
  };
  if (!extras) {
    map.ForEachIn(shard, copy_one);
    return;
  }
  // Each series' exemplars are a heap block of their own, and waiting for each in turn was most
  // of the time of a scrape with exemplars: the blocks of the series a few places ahead are
  // fetched while a series is copied.
  map.ForEachInLookingAhead(
      shard, 32,
      [](const Cell& cell) {
        if (const void* block = cell.exemplars.data()) __builtin_prefetch(block);
      },
      copy_one);
}

template <typename Snapshot, typename Cell, typename Copy>
Snapshot SeriesStore::Whole(const ShardedSeriesMap<Cell>& map, const Copy& copy, bool extras) {
  Snapshot snapshot;
  // Sized before any lock is taken, so that copying under the locks rarely allocates; if series
  // are added meanwhile, the buffers grow.
  snapshot.Clear(map.size());
  for (std::size_t shard = 0; shard < ShardedSeriesMap<Cell>::kShards; ++shard) {
    CopyShard(map, shard, &snapshot, copy, extras);
  }
  return snapshot;
}

template <typename Snapshot, typename Cell, typename Copy>
void SeriesStore::ByShard(const ShardedSeriesMap<Cell>& map, const Copy& copy,
                          const ShardReader<Snapshot>& read, bool extras) {
  Snapshot snapshot;
  constexpr std::size_t kShards = ShardedSeriesMap<Cell>::kShards;
  for (std::size_t shard = 0; shard < kShards; ++shard) {
    snapshot.Clear(map.size() / kShards);  // keeps the buffers of the previous shard
    CopyShard(map, shard, &snapshot, copy, extras);
    read(snapshot);
  }
}

namespace {

// How each family's cell is copied into its snapshot's values; `extras` asks for native
// histograms too.
constexpr auto kCopyCount = [](const CountCell& cell, auto* values, bool) {
  values->Append(cell.count);
};
constexpr auto kCopyHistogram = [](const HistogramSeries& cell, auto* values, bool) {
  values->Append(cell.histogram, nullptr);
};
constexpr auto kCopyDuration = [](const DurationCell& cell, auto* values, bool extras) {
  values->Append(cell.histogram, extras ? cell.native.get() : nullptr, cell.tpot,
                 cell.output_tps);
};
constexpr auto kCopyModel = [](const ModelCell& cell, auto* values, bool extras) {
  values->Append({.input_tokens = cell.input_tokens,
                  .output_tokens = cell.output_tokens,
                  .cache_hits = cell.cache_hits,
                  .cache_misses = cell.cache_misses,
                  .fallback_priced = cell.fallback_priced,
                  .cache_read_tokens = cell.cache_read_tokens,
                  .cache_write_tokens = cell.cache_write_tokens,
                  .reasoning_tokens = cell.reasoning_tokens,
                  .calls_without_usage = cell.calls_without_usage},
                 cell.ttft, extras ? cell.ttft_native.get() : nullptr);
};
constexpr auto kCopyCost = [](const CostCell& cell, auto* values, bool) {
  values->Append(cell.cost);
};
constexpr auto kCopyUpstream = [](const UpstreamCell& cell, auto* values, bool) {
  values->Append(UpstreamValue{.rate_limits = cell.rate_limits,
                               .client_retries = cell.client_retries,
                               .outcomes = cell.outcomes});
};

}  // namespace

template <typename Snapshot, typename Cell, typename Stale, typename Copy>
std::size_t SeriesStore::EraseInto(ShardedSeriesMap<Cell>& map, const Stale& stale,
                                   const Copy& copy, Snapshot* into) {
  if (into == nullptr) return map.EraseIf(stale);
  return map.EraseIf(stale, [&](std::string_view key, const Cell& cell) {
    into->AppendKey(key);
    copy(cell, &into->values_, false);
    into->AppendExtras(cell.created, cell.exemplars, false);
  });
}

std::size_t SeriesStore::Expire(ExpiredSeries* expired) {
  if (options_.ttl.count() == 0) return 0;
  const Touched deadline = Now() - options_.ttl.count();
  const auto stale = [deadline](const auto& cell) { return cell.touched < deadline; };
  ExpiredSeries* e = expired;
  const std::array<std::size_t, kFamilyCount> erased = {
      EraseInto(requests_, stale, kCopyCount, e ? &e->requests : nullptr),
      EraseInto(durations_, stale, kCopyDuration, e ? &e->durations : nullptr),
      EraseInto(models_, stale, kCopyModel, e ? &e->models : nullptr),
      EraseInto(costs_, stale, kCopyCost, e ? &e->costs : nullptr),
      EraseInto(qualities_, stale, kCopyHistogram, e ? &e->qualities : nullptr),
      EraseInto(workflows_, stale, kCopyHistogram, e ? &e->workflows : nullptr),
      EraseInto(agents_, stale, kCopyCount, e ? &e->agents : nullptr),
      EraseInto(tools_, stale, kCopyCount, e ? &e->tools : nullptr),
      EraseInto(upstreams_, stale, kCopyUpstream, e ? &e->upstreams : nullptr)};
  std::size_t total = 0;
  for (std::size_t i = 0; i < kFamilyCount; ++i) {
    expired_[i].fetch_add(erased[i], std::memory_order_relaxed);
    total += erased[i];
  }
  return total;
}

RequestsSnapshot SeriesStore::SnapshotRequests() const {
  return Whole<RequestsSnapshot>(requests_, kCopyCount, true);
}
DurationSnapshot SeriesStore::SnapshotDurations() const {
  return Whole<DurationSnapshot>(durations_, kCopyDuration, true);
}
ModelSnapshot SeriesStore::SnapshotModels(bool extras) const {
  return Whole<ModelSnapshot>(models_, kCopyModel, extras);
}
CostSnapshot SeriesStore::SnapshotCosts() const { return Whole<CostSnapshot>(costs_, kCopyCost, true); }
QualitySnapshot SeriesStore::SnapshotQualities() const {
  return Whole<QualitySnapshot>(qualities_, kCopyHistogram, true);
}
WorkflowSnapshot SeriesStore::SnapshotWorkflows() const {
  return Whole<WorkflowSnapshot>(workflows_, kCopyHistogram, true);
}
AgentSnapshot SeriesStore::SnapshotAgents() const {
  return Whole<AgentSnapshot>(agents_, kCopyCount, true);
}
ToolSnapshot SeriesStore::SnapshotTools() const { return Whole<ToolSnapshot>(tools_, kCopyCount, true); }
UpstreamSnapshot SeriesStore::SnapshotUpstreams(bool extras) const {
  return Whole<UpstreamSnapshot>(upstreams_, kCopyUpstream, extras);
}

void SeriesStore::SnapshotRequestsByShard(const ShardReader<RequestsSnapshot>& read, bool extras) const {
  ByShard(requests_, kCopyCount, read, extras);
}
void SeriesStore::SnapshotDurationsByShard(const ShardReader<DurationSnapshot>& read, bool extras) const {
  ByShard(durations_, kCopyDuration, read, extras);
}
void SeriesStore::SnapshotCostsByShard(const ShardReader<CostSnapshot>& read, bool extras) const {
  ByShard(costs_, kCopyCost, read, extras);
}
void SeriesStore::SnapshotQualitiesByShard(const ShardReader<QualitySnapshot>& read, bool extras) const {
  ByShard(qualities_, kCopyHistogram, read, extras);
}
void SeriesStore::SnapshotWorkflowsByShard(const ShardReader<WorkflowSnapshot>& read, bool extras) const {
  ByShard(workflows_, kCopyHistogram, read, extras);
}
void SeriesStore::SnapshotAgentsByShard(const ShardReader<AgentSnapshot>& read, bool extras) const {
  ByShard(agents_, kCopyCount, read, extras);
}
void SeriesStore::SnapshotToolsByShard(const ShardReader<ToolSnapshot>& read, bool extras) const {
  ByShard(tools_, kCopyCount, read, extras);
}

std::size_t SeriesStore::SeriesCount(Family family) const {
  switch (family) {
    case Family::kRequests: return requests_.size();
    case Family::kDuration: return durations_.size();
    case Family::kModel: return models_.size();
    case Family::kCost: return costs_.size();
    case Family::kQuality: return qualities_.size();
    case Family::kWorkflow: return workflows_.size();
    case Family::kAgent: return agents_.size();
    case Family::kTool: return tools_.size();
    case Family::kUpstream: return upstreams_.size();
  }
  return 0;
}

}  // namespace llm_exporter::aggregate
