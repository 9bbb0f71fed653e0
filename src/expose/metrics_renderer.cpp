#include "expose/metrics_renderer.h"

#include "aggregate/series_key.h"
#include "expose/text_writer.h"

namespace llm_exporter::expose {
namespace {

using aggregate::DecodeSeriesKey;

}  // namespace

MetricsRenderer::MetricsRenderer(aggregate::SeriesStore& store,
                                 telemetry::AgentMetrics& agent_metrics, const Clock& clock)
    : store_(store),
      agent_metrics_(agent_metrics),
      clock_(clock),
      duration_les_(TextWriter::FormatBounds(store.duration_layout().bounds())),
      ttft_les_(TextWriter::FormatBounds(store.ttft_layout().bounds())),
      quality_les_(TextWriter::FormatBounds(store.quality_layout().bounds())) {}

std::string MetricsRenderer::Render() {
  const auto start = clock_.SteadyNow();
  store_.Expire();
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
  TextWriter w(out);

  w.Family("llm_requests_total", "counter", "Total LLM requests");
  store_.requests().ForEach([&](std::string_view key, const aggregate::CountCell& cell) {
    const auto [model, endpoint, status] = DecodeSeriesKey<3>(key);
    w.Sample("llm_requests_total",
             {{"model", model}, {"endpoint", endpoint}, {"status", status}}, cell.count);
  });

  w.Family("llm_tokens_total", "counter", "Total tokens used");
  store_.models().ForEach([&](std::string_view key, const aggregate::ModelCell& cell) {
    const auto [model] = DecodeSeriesKey<1>(key);
    w.Sample("llm_tokens_total", {{"model", model}, {"direction", "input"}}, cell.input_tokens);
    w.Sample("llm_tokens_total", {{"model", model}, {"direction", "output"}}, cell.output_tokens);
  });

  w.Family("llm_cost_usd_total", "counter", "Total cost in USD");
  store_.costs().ForEach([&](std::string_view key, const aggregate::CostCell& cell) {
    const auto [model, user_id, team_id] = DecodeSeriesKey<3>(key);
    w.Sample("llm_cost_usd_total", {{"model", model}, {"user_id", user_id}, {"team_id", team_id}},
             PicoToUsd(cell.cost));
  });

  w.Family("llm_request_duration_seconds", "histogram", "Request latency");
  store_.durations().ForEach([&](std::string_view key, const aggregate::HistogramSeries& cell) {
    const auto [model, endpoint] = DecodeSeriesKey<2>(key);
    w.Histogram("llm_request_duration_seconds", {{"model", model}, {"endpoint", endpoint}},
                duration_les_, cell.histogram.counts, cell.histogram.sum);
  });

  w.Family("llm_ttft_seconds", "histogram", "Time to first token");
  store_.models().ForEach([&](std::string_view key, const aggregate::ModelCell& cell) {
    if (cell.ttft.Count() == 0) return;  // the app never reported a ttft for this model
    const auto [model] = DecodeSeriesKey<1>(key);
    w.Histogram("llm_ttft_seconds", {{"model", model}}, ttft_les_, cell.ttft.counts,
                cell.ttft.sum);
  });

  w.Family("llm_quality_score", "histogram", "Quality evaluation score");
  store_.qualities().ForEach([&](std::string_view key, const aggregate::HistogramSeries& cell) {
    const auto [model, evaluator] = DecodeSeriesKey<2>(key);
    w.Histogram("llm_quality_score", {{"model", model}, {"evaluator", evaluator}}, quality_les_,
                cell.histogram.counts, cell.histogram.sum);
  });

  // Hits and misses appear together once a model has reported either, so that the hit-rate
  // query divides by a real zero instead of finding no series.
  w.Family("llm_cache_hits_total", "counter", "LLM calls answered from a cache");
  store_.models().ForEach([&](std::string_view key, const aggregate::ModelCell& cell) {
    if (cell.cache_hits + cell.cache_misses == 0) return;
    const auto [model] = DecodeSeriesKey<1>(key);
    w.Sample("llm_cache_hits_total", {{"model", model}}, cell.cache_hits);
  });
  w.Family("llm_cache_misses_total", "counter", "LLM calls not answered from a cache");
  store_.models().ForEach([&](std::string_view key, const aggregate::ModelCell& cell) {
    if (cell.cache_hits + cell.cache_misses == 0) return;
    const auto [model] = DecodeSeriesKey<1>(key);
    w.Sample("llm_cache_misses_total", {{"model", model}}, cell.cache_misses);
  });

  w.Family("llm_exporter_fallback_priced_events_total", "counter",
           "LLM calls priced with the fallback price because the model is not in the price "
           "table.");
  store_.models().ForEach([&](std::string_view key, const aggregate::ModelCell& cell) {
    if (cell.fallback_priced == 0) return;
    const auto [model] = DecodeSeriesKey<1>(key);
    w.Sample("llm_exporter_fallback_priced_events_total", {{"model", model}},
             cell.fallback_priced);
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
