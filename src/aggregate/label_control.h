// The stored LLM metric families, and what an operator may change of each: labels dropped at
// record time (--metrics.drop-labels) and a series limit of its own (--metrics.max-series).
// Flags name metric families; several metrics share one stored family (docs/metrics.md).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace llm_exporter::aggregate {

// The store keeps one map of series per stored family; the metrics that share one share its
// labels, series limit, overflow series and expiry.
enum class Family : uint8_t {
  kRequests,
  kDuration,  // llm_request_duration_seconds, llm_time_per_output_token_seconds,
              // llm_output_tokens_per_second
  kModel,     // llm_tokens_total, llm_tokens_by_kind_total, llm_ttft_seconds, llm_cache_*,
              // llm_calls_without_usage_total, llm_exporter_fallback_priced_events_total
  kCost,
  kQuality,
  kWorkflow,
  kAgent,
  kTool,
  kUpstream,  // llm_ratelimit_remaining, llm_ratelimit_limit, llm_proxy_requests_total,
              // llm_client_retries_total
};
inline constexpr std::size_t kFamilyCount = 9;
inline constexpr std::array<std::string_view, kFamilyCount> kFamilyNames = {
    "requests", "duration", "model", "cost", "quality", "workflow", "agent", "tool", "upstream"};

// Bit i set: the label at place i of the family's kKeyOrder (series_labels.h) is dropped, i.e.
// recorded as "" (its series merge) and left out of every exposition.
using DroppedLabels = uint8_t;

struct LabelControl {
  std::array<DroppedLabels, kFamilyCount> dropped{};
  // A stored family's own series limit; 0: StoreOptions::max_series_per_family.
  std::array<std::size_t, kFamilyCount> max_series{};
};

// Parses --metrics.drop-labels ("llm_requests_total:endpoint,llm_cost_usd_total:user_id") into
// control->dropped. Throws std::invalid_argument naming the item and the choices: an unknown
// family or label, `model` (never droppable), `upstream` (never droppable either: see
// label_control.cpp), an item not of the form family:label.
void ParseDropLabels(std::string_view text, LabelControl* control);

// Parses --metrics.max-series ("llm_cost_usd_total:50000,llm_requests_total:2000") into
// control->max_series. A metric of a shared stored family sets the limit of all its metrics.
// Throws std::invalid_argument: an unknown family, a number not from 1 to 100,000,000, two
// different limits for one stored family.
void ParseMaxSeries(std::string_view text, LabelControl* control);

// One line for each choice of `control` that reaches metrics beside the one named, because
// they share a stored family ("endpoint is dropped from llm_request_duration_seconds,
// llm_time_per_output_token_seconds and llm_output_tokens_per_second: they are stored
// together"), for the agent to log at start.
std::vector<std::string> SharedFamilyNotes(const LabelControl& control);

}  // namespace llm_exporter::aggregate
