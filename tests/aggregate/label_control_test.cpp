#include "aggregate/label_control.h"

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

namespace llm_exporter::aggregate {
namespace {

// The message ParseDropLabels or ParseMaxSeries throws for `text`, or "" if it throws none.
template <typename Parse>
std::string ErrorOf(Parse parse, std::string_view text) {
  LabelControl control;
  try {
    parse(text, &control);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

std::size_t At(Family family) { return static_cast<std::size_t>(family); }

TEST_CASE("LabelControl: drop-labels sets each named label's bit in its stored family") {
  LabelControl control;
  ParseDropLabels(
      "llm_requests_total:status, llm_requests_total:endpoint,llm_cost_usd_total:team_id,"
      "llm_time_per_output_token_seconds:endpoint,llm_quality_score:evaluator,"
      "llm_workflow_duration_seconds:workflow,llm_agent_invocations_total:status,"
      "llm_tool_calls_total:tool",
      &control);
  CHECK(control.dropped[At(Family::kRequests)] == 0b110);
  CHECK(control.dropped[At(Family::kDuration)] == 0b10);
  CHECK(control.dropped[At(Family::kModel)] == 0);
  CHECK(control.dropped[At(Family::kCost)] == 0b100);
  CHECK(control.dropped[At(Family::kQuality)] == 0b10);
  CHECK(control.dropped[At(Family::kWorkflow)] == 0b01);
  CHECK(control.dropped[At(Family::kAgent)] == 0b10);
  CHECK(control.dropped[At(Family::kTool)] == 0b01);
  CHECK(control.max_series == std::array<std::size_t, kFamilyCount>{});
}

TEST_CASE("LabelControl: any of the three duration metrics drops endpoint from all three") {
  for (const char* name : {"llm_request_duration_seconds", "llm_time_per_output_token_seconds",
                           "llm_output_tokens_per_second"}) {
    LabelControl control;
    ParseDropLabels(std::string(name) + ":endpoint", &control);
    CHECK(control.dropped[At(Family::kDuration)] == 0b10);
  }
}

TEST_CASE("LabelControl: drop-labels errors name the item and the choices") {
  CHECK(ErrorOf(ParseDropLabels, "llm_requests_total:model") ==
        "model cannot be dropped from llm_requests_total: the series limit admits series by "
        "model and every dashboard groups by it; droppable: endpoint, status");
  CHECK(ErrorOf(ParseDropLabels, "llm_tokens_total:model") ==
        "model cannot be dropped from llm_tokens_total: the series limit admits series by "
        "model and every dashboard groups by it");
  CHECK(ErrorOf(ParseDropLabels, "llm_requests_total:user_id") ==
        "llm_requests_total has no droppable label \"user_id\"; choose from endpoint, status");
  CHECK(ErrorOf(ParseDropLabels, "llm_tokens_total:direction") ==
        "llm_tokens_total has no droppable label \"direction\"; it has none");
  CHECK(ErrorOf(ParseDropLabels, "llm_request_total:endpoint") ==
        "unknown metric family \"llm_request_total\"; choose from llm_requests_total, "
        "llm_request_duration_seconds, llm_time_per_output_token_seconds, "
        "llm_output_tokens_per_second, llm_cost_usd_total, llm_quality_score, "
        "llm_workflow_duration_seconds, llm_agent_invocations_total, llm_tool_calls_total");
  CHECK(ErrorOf(ParseDropLabels, "llm_requests_total") ==
        "\"llm_requests_total\" is not family:label, e.g. llm_requests_total:endpoint");
  CHECK(ErrorOf(ParseDropLabels, "llm_requests_total:endpoint,") ==
        "\"\" is not family:label, e.g. llm_requests_total:endpoint");
  CHECK(ErrorOf(ParseDropLabels, ":endpoint") ==
        "\":endpoint\" is not family:label, e.g. llm_requests_total:endpoint");
}

TEST_CASE("LabelControl: max-series sets a stored family's limit by any of its metrics") {
  LabelControl control;
  ParseMaxSeries("llm_cost_usd_total:50000,llm_ttft_seconds:200, llm_tokens_total:200,"
                 "llm_output_tokens_per_second:7",
                 &control);
  CHECK(control.max_series[At(Family::kCost)] == 50000);
  CHECK(control.max_series[At(Family::kModel)] == 200);
  CHECK(control.max_series[At(Family::kDuration)] == 7);
  CHECK(control.max_series[At(Family::kRequests)] == 0);
  CHECK(control.dropped == std::array<DroppedLabels, kFamilyCount>{});
}

TEST_CASE("LabelControl: max-series errors") {
  CHECK(ErrorOf(ParseMaxSeries, "llm_cost_usd_total:lots") ==
        "\"llm_cost_usd_total:lots\": \"lots\" is not a whole number from 1 to 100000000");
  CHECK(ErrorOf(ParseMaxSeries, "llm_cost_usd_total:0") ==
        "\"llm_cost_usd_total:0\": \"0\" is not a whole number from 1 to 100000000");
  CHECK(ErrorOf(ParseMaxSeries, "llm_cost_usd_total:-5") ==
        "\"llm_cost_usd_total:-5\": \"-5\" is not a whole number from 1 to 100000000");
  CHECK(ErrorOf(ParseMaxSeries, "llm_cost_usd_total:100000001") ==
        "\"llm_cost_usd_total:100000001\": \"100000001\" is not a whole number from 1 to "
        "100000000");
  CHECK(ErrorOf(ParseMaxSeries, "llm_cost_usd_total") ==
        "\"llm_cost_usd_total\" is not family:N, e.g. llm_requests_total:2000");
  CHECK(ErrorOf(ParseMaxSeries, "llm_tokens_total:10,llm_ttft_seconds:20") ==
        "\"llm_ttft_seconds:20\" contradicts an earlier limit of 10 for llm_tokens_total, "
        "llm_tokens_by_kind_total, llm_ttft_seconds, llm_cache_hits_total, "
        "llm_cache_misses_total, llm_calls_without_usage_total and "
        "llm_exporter_fallback_priced_events_total, which share one series limit");
  const std::string unknown = ErrorOf(ParseMaxSeries, "llm_foo:1");
  CHECK(unknown.starts_with("unknown metric family \"llm_foo\"; choose from llm_requests_total, "));
  CHECK(unknown.find("llm_tokens_by_kind_total") != std::string::npos);
}

TEST_CASE("LabelControl: a choice for a stored family of several metrics is noted for the log") {
  LabelControl control;
  CHECK(SharedFamilyNotes(control).empty());
  ParseDropLabels("llm_request_duration_seconds:endpoint,llm_requests_total:endpoint", &control);
  ParseMaxSeries("llm_cost_usd_total:5,llm_tokens_total:9", &control);
  CHECK(SharedFamilyNotes(control) ==
        std::vector<std::string>{
            "endpoint is dropped from llm_request_duration_seconds, "
            "llm_time_per_output_token_seconds and llm_output_tokens_per_second: they are "
            "stored together",
            "the series limit 9 applies to llm_tokens_total, llm_tokens_by_kind_total, "
            "llm_ttft_seconds, llm_cache_hits_total, llm_cache_misses_total, "
            "llm_calls_without_usage_total and llm_exporter_fallback_priced_events_total: they "
            "are stored together"});
}

TEST_CASE("LabelControl: the proxy's four metrics share the upstream family; none drops a label") {
  LabelControl control;
  ParseMaxSeries("llm_ratelimit_remaining:40,llm_client_retries_total:40", &control);
  CHECK(control.max_series[At(Family::kUpstream)] == 40);
  CHECK(ErrorOf(ParseMaxSeries, "llm_ratelimit_limit:10,llm_proxy_requests_total:20") ==
        "\"llm_proxy_requests_total:20\" contradicts an earlier limit of 10 for "
        "llm_ratelimit_remaining, llm_ratelimit_limit, llm_proxy_requests_total and "
        "llm_client_retries_total, which share one series limit");
  CHECK(ErrorOf(ParseDropLabels, "llm_ratelimit_remaining:upstream") ==
        "upstream cannot be dropped from llm_ratelimit_remaining: its values are the proxy "
        "config's upstreams, and the rate-limit gauges of different upstreams would overwrite "
        "each other");
  CHECK(ErrorOf(ParseDropLabels, "llm_proxy_requests_total:model") ==
        "model cannot be dropped from llm_proxy_requests_total: the series limit admits series "
        "by model and every dashboard groups by it");
  CHECK(ErrorOf(ParseDropLabels, "llm_proxy_requests_total:outcome") ==
        "llm_proxy_requests_total has no droppable label \"outcome\"; it has none");
  CHECK(SharedFamilyNotes(control) ==
        std::vector<std::string>{"the series limit 40 applies to llm_ratelimit_remaining, "
                                 "llm_ratelimit_limit, llm_proxy_requests_total and "
                                 "llm_client_retries_total: they are stored together"});
}

}  // namespace
}  // namespace llm_exporter::aggregate
