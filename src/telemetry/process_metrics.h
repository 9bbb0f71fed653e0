// The standard process_* metrics (CPU, memory, file descriptors, start time), read from /proc at
// each scrape.
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
