#include "expose/metrics_renderer.h"

#include "expose/text_writer.h"

namespace llm_exporter::expose {

MetricsRenderer::MetricsRenderer(aggregate::SeriesStore& store,
                                 telemetry::AgentMetrics& agent_metrics, const Clock& clock)
    : store_(store),
      agent_metrics_(agent_metrics),
      clock_(clock),
      duration_les_(TextWriter::FormatBounds(store.duration_layout().bounds())),
      ttft_les_(TextWriter::FormatBounds(store.ttft_layout().bounds())),
      quality_les_(TextWriter::FormatBounds(store.quality_layout().bounds())),
      workflow_les_(TextWriter::FormatBounds(store.workflow_layout().bounds())) {}

std::string MetricsRenderer::Render() {
  const auto start = clock_.SteadyNow();
  std::string out;
  // Sized for the previous render, so a large scrape does not regrow its buffer step by step.
  out.reserve(last_size_.load(std::memory_order_relaxed) * 9 / 8 + 4096);
  WriteLlmFamilies(&out);
  WriteStoreHealth(&out);

  agent_metrics_.AppendText(&out);

  const std::chrono::duration<double> took = clock_.SteadyNow() - start;
  agent_metrics_.SetLastScrape(took.count(), out.size());
  last_size_.store(out.size(), std::memory_order_relaxed);
  return out;
}

void MetricsRenderer::WriteLlmFamilies(std::string* out) const {
  using aggregate::HistogramValue;
  TextWriter w(out);
  // Every family is written from a copy, with no lock held. The families with many series are
  // copied and written one shard at a time, so a scrape holds one shard's copy, which stays in
  // the CPU's cache between copying and writing, rather than another copy of the whole store.

  w.Family("llm_requests_total", "counter", "Total LLM requests");
  store_.SnapshotRequestsByShard([&](const aggregate::RequestsSnapshot& shard) {
    shard.ForEach([&](const aggregate::RequestLabels& l, uint64_t count) {
      w.Sample("llm_requests_total",
               {{"model", l.model}, {"endpoint", l.endpoint}, {"status", l.status}}, count);
    });
  });

  // One copy of the model family serves its five metrics, so that tokens, ttft, cache hits and
  // misses and fallback pricing all show the same moment.
  const aggregate::ModelSnapshot models = store_.SnapshotModels();

  w.Family("llm_tokens_total", "counter", "Total tokens used");
  models.ForEach([&](const aggregate::ModelLabels& l, const aggregate::ModelValue& v) {
    w.Sample("llm_tokens_total", {{"model", l.model}, {"direction", "input"}}, v.input_tokens);
    w.Sample("llm_tokens_total", {{"model", l.model}, {"direction", "output"}}, v.output_tokens);
  });

  w.Family("llm_cost_usd_total", "counter", "Total cost in USD");
  store_.SnapshotCostsByShard([&](const aggregate::CostSnapshot& shard) {
    shard.ForEach([&](const aggregate::CostLabels& l, PicoUsdTotal cost) {
      w.Sample("llm_cost_usd_total",
               {{"model", l.model}, {"user_id", l.user_id}, {"team_id", l.team_id}},
               PicoToUsd(cost));
    });
  });

  w.Family("llm_request_duration_seconds", "histogram", "Request latency");
  store_.SnapshotDurationsByShard([&](const aggregate::DurationSnapshot& shard) {
    shard.ForEach([&](const aggregate::DurationLabels& l, const HistogramValue& v) {
      w.Histogram("llm_request_duration_seconds", {{"model", l.model}, {"endpoint", l.endpoint}},
                  duration_les_, v.counts, v.sum);
    });
  });

  w.Family("llm_ttft_seconds", "histogram", "Time to first token");
  models.ForEach([&](const aggregate::ModelLabels& l, const aggregate::ModelValue& v) {
    if (v.ttft.Count() == 0) return;  // the app never reported a ttft for this model
    w.Histogram("llm_ttft_seconds", {{"model", l.model}}, ttft_les_, v.ttft.counts, v.ttft.sum);
  });

  w.Family("llm_quality_score", "histogram", "Quality evaluation score");
  store_.SnapshotQualitiesByShard([&](const aggregate::QualitySnapshot& shard) {
    shard.ForEach([&](const aggregate::QualityLabels& l, const HistogramValue& v) {
      w.Histogram("llm_quality_score", {{"model", l.model}, {"evaluator", l.evaluator}},
                  quality_les_, v.counts, v.sum);
    });
  });

  // Hits and misses appear together once a model has reported either, so that the hit-rate
  // query divides by a real zero instead of finding no series.
  w.Family("llm_cache_hits_total", "counter", "LLM calls answered from a cache");
  models.ForEach([&](const aggregate::ModelLabels& l, const aggregate::ModelValue& v) {
    if (v.cache_hits + v.cache_misses == 0) return;
    w.Sample("llm_cache_hits_total", {{"model", l.model}}, v.cache_hits);
  });
  w.Family("llm_cache_misses_total", "counter", "LLM calls not answered from a cache");
  models.ForEach([&](const aggregate::ModelLabels& l, const aggregate::ModelValue& v) {
    if (v.cache_hits + v.cache_misses == 0) return;
    w.Sample("llm_cache_misses_total", {{"model", l.model}}, v.cache_misses);
  });

  w.Family("llm_exporter_fallback_priced_events_total", "counter",
           "LLM calls priced with the fallback price because the model is not in the price "
           "table.");
  models.ForEach([&](const aggregate::ModelLabels& l, const aggregate::ModelValue& v) {
    if (v.fallback_priced == 0) return;
    w.Sample("llm_exporter_fallback_priced_events_total", {{"model", l.model}},
             v.fallback_priced);
  });

  // The families fed by OTLP trace spans other than LLM calls.
  w.Family("llm_workflow_duration_seconds", "histogram",
           "Duration of workflow spans (OpenLLMetry @workflow/@task, LangGraph graphs) in "
           "seconds.");
  store_.SnapshotWorkflowsByShard([&](const aggregate::WorkflowSnapshot& shard) {
    shard.ForEach([&](const aggregate::WorkflowLabels& l, const HistogramValue& v) {
      w.Histogram("llm_workflow_duration_seconds",
                  {{"workflow", l.workflow}, {"status", l.status}}, workflow_les_, v.counts,
                  v.sum);
    });
  });

  w.Family("llm_agent_invocations_total", "counter",
           "Agent invocations (OpenLLMetry @agent, gen_ai invoke_agent spans).");
  store_.SnapshotAgentsByShard([&](const aggregate::AgentSnapshot& shard) {
    shard.ForEach([&](const aggregate::AgentLabels& l, uint64_t count) {
      w.Sample("llm_agent_invocations_total", {{"agent", l.agent}, {"status", l.status}}, count);
    });
  });

  w.Family("llm_tool_calls_total", "counter",
           "Tool calls (OpenLLMetry @tool, gen_ai execute_tool spans).");
  store_.SnapshotToolsByShard([&](const aggregate::ToolSnapshot& shard) {
    shard.ForEach([&](const aggregate::ToolLabels& l, uint64_t count) {
      w.Sample("llm_tool_calls_total", {{"tool", l.tool}, {"status", l.status}}, count);
    });
  });
}

void MetricsRenderer::WriteStoreHealth(std::string* out) const {
  using aggregate::Family;
  using aggregate::kFamilyCount;
  using aggregate::kFamilyNames;
  TextWriter w(out);
  const auto each_family = [&](std::string_view metric, auto value) {
    for (std::size_t i = 0; i < kFamilyCount; ++i) {
      w.Sample(metric, {{"family", kFamilyNames[i]}}, value(static_cast<Family>(i)));
    }
  };
  w.Family("llm_exporter_series", "gauge", "Series held per LLM metric family.");
  each_family("llm_exporter_series",
              [&](Family f) { return static_cast<uint64_t>(store_.SeriesCount(f)); });
  w.Family("llm_exporter_series_limit", "gauge",
           "Most series a family may hold before new label sets go to its overflow series.");
  each_family("llm_exporter_series_limit",
              [&](Family) { return static_cast<double>(store_.series_limit()); });
  w.Family("llm_exporter_series_overflow_total", "counter",
           "Events recorded in an overflow series because their family was full.");
  each_family("llm_exporter_series_overflow_total", [&](Family f) { return store_.OverflowCount(f); });
  w.Family("llm_exporter_series_expired_total", "counter",
           "Series dropped because they were not updated within --metrics.ttl.");
  each_family("llm_exporter_series_expired_total", [&](Family f) { return store_.ExpiredCount(f); });
}

}  // namespace llm_exporter::expose
