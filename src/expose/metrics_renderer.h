// Builds the /metrics response in the format the scraper asked for: the LLM families (calls, and
// the workflow, agent and tool spans) from the series store, then the agent's own metrics and
// the process metrics. One walk of the store per scrape, through one writer
// (text_writer.h, openmetrics_writer.h, protobuf_writer.h).
#pragma once

#include <atomic>
#include <cstddef>
#include <string>
#include <vector>

#include "aggregate/series_store.h"
#include "llm_exporter/clock.h"
#include "llm_exporter/metrics_source.h"
#include "telemetry/agent_metrics.h"

namespace llm_exporter::expose {

// Reads the store only through its family snapshots, so no shard lock is held while text is
// formatted. Thread-safe: concurrent Render() calls are fine (each takes its own snapshots).
class MetricsRenderer final : public MetricsSource {
 public:
  MetricsRenderer(aggregate::SeriesStore& store, telemetry::AgentMetrics& agent_metrics,
                  const Clock& clock);

  // Renders everything in `format`. Only reads the store: dropping stale series is
  // SeriesStore::Expire(), which the caller runs before a scrape if it wants it.
  std::string Render(ExpositionFormat format) override;

  // What Render() writes, through any writer with the calls of exposition.h (the remote write
  // encoder is one), Finish() included. Defined in metrics_walk.h.
  template <typename Writer>
  void WriteAll(Writer& w) const;
  // Only the LLM families, of `source`: the store, or aggregate::ExpiredSeries (the series an
  // Expire() dropped), anything with the store's Snapshot*() calls.
  template <typename Source, typename Writer>
  void WriteLlmFamilies(const Source& source, Writer& w) const;

 private:
  template <typename Writer>
  void WriteStoreHealth(Writer& w) const;
  template <typename Writer>
  void WriteAgentMetrics(Writer& w) const;

  aggregate::SeriesStore& store_;
  telemetry::AgentMetrics& agent_metrics_;
  const Clock& clock_;
  std::vector<std::string> duration_les_;
  std::vector<std::string> ttft_les_;
  std::vector<std::string> tpot_les_;
  std::vector<std::string> output_tps_les_;
  std::vector<std::string> quality_les_;
  std::vector<std::string> workflow_les_;
  std::atomic<std::size_t> last_size_{64 * 1024};
};

}  // namespace llm_exporter::expose
