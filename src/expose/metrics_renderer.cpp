#include "expose/metrics_renderer.h"

#include "expose/exposition.h"
#include "expose/metrics_walk.h"
#include "expose/openmetrics_writer.h"
#include "expose/protobuf_writer.h"
#include "expose/text_writer.h"

namespace llm_exporter::expose {

MetricsRenderer::MetricsRenderer(aggregate::SeriesStore& store,
                                 telemetry::AgentMetrics& agent_metrics, const Clock& clock)
    : store_(store),
      agent_metrics_(agent_metrics),
      clock_(clock),
      duration_les_(TextWriter::FormatBounds(store.duration_layout().bounds())),
      ttft_les_(TextWriter::FormatBounds(store.ttft_layout().bounds())),
      tpot_les_(TextWriter::FormatBounds(store.tpot_layout().bounds())),
      output_tps_les_(TextWriter::FormatBounds(store.output_tps_layout().bounds())),
      quality_les_(TextWriter::FormatBounds(store.quality_layout().bounds())),
      workflow_les_(TextWriter::FormatBounds(store.workflow_layout().bounds())) {}

std::string MetricsRenderer::Render(ExpositionFormat format) {
  const auto start = clock_.SteadyNow();
  std::string out;
  // Sized for the previous render, so a large scrape does not regrow its buffer step by step.
  out.reserve(last_size_.load(std::memory_order_relaxed) * 9 / 8 + 4096);
  const auto write = [&](auto& writer) { WriteAll(writer); };
  switch (format) {
    case ExpositionFormat::kOpenMetrics: {
      OpenMetricsWriter writer(&out);
      write(writer);
      break;
    }
    case ExpositionFormat::kProtobuf: {
      ProtobufWriter writer(&out);
      write(writer);
      break;
    }
    case ExpositionFormat::kText: {
      TextWriter writer(&out);
      write(writer);
      break;
    }
  }

  const std::chrono::duration<double> took = clock_.SteadyNow() - start;
  agent_metrics_.SetLastScrape(took.count(), out.size());
  last_size_.store(out.size(), std::memory_order_relaxed);
  return out;
}

}  // namespace llm_exporter::expose
