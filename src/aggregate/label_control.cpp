#include "aggregate/label_control.h"

#include <charconv>
#include <stdexcept>
#include <system_error>

namespace llm_exporter::aggregate {
namespace {

struct MetricFamily {
  std::string_view name;
  Family stored;
};

// Every LLM metric family, by the stored family that keeps it.
constexpr std::array<MetricFamily, 20> kMetricFamilies = {{
    {"llm_requests_total", Family::kRequests},
    {"llm_request_duration_seconds", Family::kDuration},
    {"llm_time_per_output_token_seconds", Family::kDuration},
    {"llm_output_tokens_per_second", Family::kDuration},
    {"llm_tokens_total", Family::kModel},
    {"llm_tokens_by_kind_total", Family::kModel},
    {"llm_ttft_seconds", Family::kModel},
    {"llm_cache_hits_total", Family::kModel},
    {"llm_cache_misses_total", Family::kModel},
    {"llm_calls_without_usage_total", Family::kModel},
    {"llm_exporter_fallback_priced_events_total", Family::kModel},
    {"llm_cost_usd_total", Family::kCost},
    {"llm_quality_score", Family::kQuality},
    {"llm_workflow_duration_seconds", Family::kWorkflow},
    {"llm_agent_invocations_total", Family::kAgent},
    {"llm_tool_calls_total", Family::kTool},
    {"llm_ratelimit_remaining", Family::kUpstream},
    {"llm_ratelimit_limit", Family::kUpstream},
    {"llm_proxy_requests_total", Family::kUpstream},
    {"llm_client_retries_total", Family::kUpstream},
}};

// Each stored family's key labels, in kKeyOrder (series_labels.h; series_store.cpp checks the
// two agree).
constexpr std::array<std::array<std::string_view, 3>, kFamilyCount> kKeyLabels = {{
    {"model", "endpoint", "status"},
    {"model", "endpoint"},
    {"model"},
    {"model", "user_id", "team_id"},
    {"model", "evaluator"},
    {"workflow", "status"},
    {"agent", "status"},
    {"tool", "status"},
    {"upstream", "model"},
}};

// Never droppable: `model`, by which the series limit admits series and every dashboard groups;
// and the proxy's `upstream`, whose values are the upstreams of the proxy config (few, so
// dropping it would save next to nothing) and whose rate-limit gauges, merged, would show
// whichever upstream answered last.
bool Droppable(Family stored, std::string_view label) {
  if (label.empty() || label == "model") return false;
  return !(stored == Family::kUpstream && label == "upstream");
}

// The metric families of one stored family, "a, b and c".
std::string MetricsOf(Family stored) {
  std::vector<std::string_view> names;
  for (const MetricFamily& f : kMetricFamilies) {
    if (f.stored == stored) names.push_back(f.name);
  }
  std::string text;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) text += i + 1 == names.size() ? " and " : ", ";
    text += names[i];
  }
  return text;
}

// The droppable labels of a stored family, comma-separated ("" for none).
std::string DroppableOf(Family stored) {
  std::string text;
  for (const std::string_view label : kKeyLabels[static_cast<std::size_t>(stored)]) {
    if (!Droppable(stored, label)) continue;
    if (!text.empty()) text += ", ";
    text += label;
  }
  return text;
}

std::string Quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

// Calls item(family, value, whole item) with each comma-separated "family:value" of `text`.
template <typename Item>
void ForEachItem(std::string_view text, std::string_view second, const Item& item) {
  std::size_t at = 0;
  while (at <= text.size()) {
    std::size_t comma = text.find(',', at);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view whole = text.substr(at, comma - at);
    while (!whole.empty() && whole.front() == ' ') whole.remove_prefix(1);
    while (!whole.empty() && whole.back() == ' ') whole.remove_suffix(1);
    const std::size_t colon = whole.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == whole.size()) {
      throw std::invalid_argument(Quoted(whole) + " is not family:" + std::string(second) +
                                  ", e.g. llm_requests_total:" +
                                  (second == "label" ? "endpoint" : "2000"));
    }
    item(whole.substr(0, colon), whole.substr(colon + 1), whole);
    at = comma + 1;
  }
}

// The stored family of a metric family name, or throws naming the choices among `candidates`.
template <typename Pick>
Family StoredFamilyOf(std::string_view name, const Pick& candidate) {
  for (const MetricFamily& f : kMetricFamilies) {
    if (f.name == name) return f.stored;
  }
  std::string choices;
  for (const MetricFamily& f : kMetricFamilies) {
    if (!candidate(f.stored)) continue;
    if (!choices.empty()) choices += ", ";
    choices += f.name;
  }
  throw std::invalid_argument("unknown metric family " + Quoted(name) + "; choose from " +
                              choices);
}

}  // namespace

void ParseDropLabels(std::string_view text, LabelControl* control) {
  ForEachItem(text, "label", [&](std::string_view name, std::string_view label, std::string_view) {
    const Family stored =
        StoredFamilyOf(name, [](Family f) { return !DroppableOf(f).empty(); });
    const std::string droppable = DroppableOf(stored);
    if (label == "model") {
      throw std::invalid_argument(
          "model cannot be dropped from " + std::string(name) +
          ": the series limit admits series by model and every dashboard groups by it" +
          (droppable.empty() ? std::string() : "; droppable: " + droppable));
    }
    if (stored == Family::kUpstream && label == "upstream") {
      throw std::invalid_argument(
          "upstream cannot be dropped from " + std::string(name) +
          ": its values are the proxy config's upstreams, and the rate-limit gauges of "
          "different upstreams would overwrite each other");
    }
    const auto& labels = kKeyLabels[static_cast<std::size_t>(stored)];
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (Droppable(stored, labels[i]) && labels[i] == label) {
        control->dropped[static_cast<std::size_t>(stored)] |= static_cast<DroppedLabels>(1u << i);
        return;
      }
    }
    throw std::invalid_argument(std::string(name) + " has no droppable label " + Quoted(label) +
                                (droppable.empty() ? "; it has none" : "; choose from " + droppable));
  });
}

void ParseMaxSeries(std::string_view text, LabelControl* control) {
  ForEachItem(text, "N", [&](std::string_view name, std::string_view number, std::string_view whole) {
    const Family stored = StoredFamilyOf(name, [](Family) { return true; });
    std::size_t limit = 0;
    const auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), limit);
    if (ec != std::errc() || ptr != number.data() + number.size() || limit < 1 ||
        limit > 100'000'000) {
      throw std::invalid_argument(Quoted(whole) + ": " + Quoted(number) +
                                  " is not a whole number from 1 to 100000000");
    }
    std::size_t& into = control->max_series[static_cast<std::size_t>(stored)];
    if (into != 0 && into != limit) {
      throw std::invalid_argument(Quoted(whole) + " contradicts an earlier limit of " +
                                  std::to_string(into) + " for " + MetricsOf(stored) +
                                  ", which share one series limit");
    }
    into = limit;
  });
}

std::vector<std::string> SharedFamilyNotes(const LabelControl& control) {
  std::vector<std::string> notes;
  for (std::size_t i = 0; i < kFamilyCount; ++i) {
    const Family stored = static_cast<Family>(i);
    const std::string metrics = MetricsOf(stored);
    if (metrics.find(" and ") == std::string::npos) continue;  // a family of one metric
    const auto& labels = kKeyLabels[i];
    for (std::size_t l = 0; l < labels.size(); ++l) {
      if ((control.dropped[i] >> l & 1) == 0) continue;
      notes.push_back(std::string(labels[l]) + " is dropped from " + metrics +
                      ": they are stored together");
    }
    if (control.max_series[i] != 0) {
      notes.push_back("the series limit " + std::to_string(control.max_series[i]) +
                      " applies to " + metrics + ": they are stored together");
    }
  }
  return notes;
}

}  // namespace llm_exporter::aggregate
