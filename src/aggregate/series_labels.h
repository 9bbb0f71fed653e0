// The labels of each LLM metric family, by name. Each struct's kKeyOrder is the one place that
// says in which order its values are packed into a series key: the store encodes keys through
// it and snapshots name the values through it, so reordering it cannot mislabel a series.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>
#include <type_traits>
#include <utility>

namespace llm_exporter::aggregate {

// llm_requests_total.
struct RequestLabels {
  std::string_view model;
  std::string_view endpoint;
  std::string_view status;
  static constexpr std::array kKeyOrder = {&RequestLabels::model, &RequestLabels::endpoint,
                                           &RequestLabels::status};
};

// llm_request_duration_seconds.
struct DurationLabels {
  std::string_view model;
  std::string_view endpoint;
  static constexpr std::array kKeyOrder = {&DurationLabels::model, &DurationLabels::endpoint};
};

// The per-model family: llm_tokens_total, llm_ttft_seconds, llm_cache_{hits,misses}_total and
// llm_exporter_fallback_priced_events_total.
struct ModelLabels {
  std::string_view model;
  static constexpr std::array kKeyOrder = {&ModelLabels::model};
};

// llm_cost_usd_total.
struct CostLabels {
  std::string_view model;
  std::string_view user_id;
  std::string_view team_id;
  static constexpr std::array kKeyOrder = {&CostLabels::model, &CostLabels::user_id,
                                           &CostLabels::team_id};
};

// llm_quality_score.
struct QualityLabels {
  std::string_view model;
  std::string_view evaluator;
  static constexpr std::array kKeyOrder = {&QualityLabels::model, &QualityLabels::evaluator};
};

// llm_workflow_duration_seconds: workflow spans (OpenLLMetry @workflow/@task, LangGraph graphs).
struct WorkflowLabels {
  std::string_view workflow;
  std::string_view status;
  static constexpr std::array kKeyOrder = {&WorkflowLabels::workflow, &WorkflowLabels::status};
};

// llm_agent_invocations_total: agent spans (OpenLLMetry @agent, gen_ai invoke_agent).
struct AgentLabels {
  std::string_view agent;
  std::string_view status;
  static constexpr std::array kKeyOrder = {&AgentLabels::agent, &AgentLabels::status};
};

// llm_tool_calls_total: tool spans (OpenLLMetry @tool, gen_ai execute_tool).
struct ToolLabels {
  std::string_view tool;
  std::string_view status;
  static constexpr std::array kKeyOrder = {&ToolLabels::tool, &ToolLabels::status};
};

// llm_ratelimit_remaining, llm_ratelimit_limit, llm_proxy_requests_total and
// llm_client_retries_total: what the metering proxy saw of each upstream, per model.
struct UpstreamLabels {
  std::string_view upstream;
  std::string_view model;
  static constexpr std::array kKeyOrder = {&UpstreamLabels::upstream, &UpstreamLabels::model};
};

// Calls fn(field) with each member pointer of Labels::kKeyOrder in turn, as a compile-time
// constant (std::integral_constant; `labels.*field()` reads the field). Read from the array in a
// loop, GCC 12 loads every member pointer at run time and did not inline the key encoding into
// SeriesStore::RecordCall: 5 % more instructions per event (callgrind) and 4-8 % more time.
template <typename Labels, typename Fn>
void ForEachKeyField(Fn&& fn) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (fn(std::integral_constant<std::string_view Labels::*, Labels::kKeyOrder[I]>{}), ...);
  }(std::make_index_sequence<Labels::kKeyOrder.size()>{});
}

// True when Labels::kKeyOrder names every field of Labels exactly once (each struct holds only
// its label values, all string_views), so no label is left out of a key or stored twice.
template <typename Labels>
constexpr bool KeyOrderNamesEveryLabelOnce() {
  constexpr auto& order = Labels::kKeyOrder;
  for (std::size_t i = 0; i < order.size(); ++i) {
    for (std::size_t j = i + 1; j < order.size(); ++j) {
      if (order[i] == order[j]) return false;
    }
  }
  return sizeof(Labels) == order.size() * sizeof(std::string_view);
}
static_assert(KeyOrderNamesEveryLabelOnce<RequestLabels>());
static_assert(KeyOrderNamesEveryLabelOnce<DurationLabels>());
static_assert(KeyOrderNamesEveryLabelOnce<ModelLabels>());
static_assert(KeyOrderNamesEveryLabelOnce<CostLabels>());
static_assert(KeyOrderNamesEveryLabelOnce<QualityLabels>());
static_assert(KeyOrderNamesEveryLabelOnce<WorkflowLabels>());
static_assert(KeyOrderNamesEveryLabelOnce<AgentLabels>());
static_assert(KeyOrderNamesEveryLabelOnce<ToolLabels>());
static_assert(KeyOrderNamesEveryLabelOnce<UpstreamLabels>());

}  // namespace llm_exporter::aggregate
