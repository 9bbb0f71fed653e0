// The standard process_* metrics (CPU, memory, file descriptors, start time), read from /proc at
// each scrape. Internal to telemetry: AgentMetrics::AppendText() writes them, so only telemetry's
// .cpp files and its tests include this header and its prometheus-cpp types.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <vector>

namespace llm_exporter::telemetry {

// Thread-safe: Collect() only reads /proc.
class ProcessMetrics final : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace llm_exporter::telemetry
