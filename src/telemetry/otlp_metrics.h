// The OTLP ingest's own metrics: spans received by kind and transport, spans and requests refused
// by reason, and the state of the hold that keeps LLM-call spans until their trace shows which
// call is innermost (docs/otlp.md).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>

#include "llm_exporter/span_ingest.h"

namespace prometheus {
class Counter;
class Gauge;
}  // namespace prometheus

namespace llm_exporter::telemetry {

class AgentMetrics;

// Registers its series (all present from start-up, at 0) in AgentMetrics' registry, so that
// AgentMetrics::AppendText() writes them; `agent_metrics` must outlive it.
// Thread-safe: every method may be called from any thread.
class OtlpMetrics {
 public:
  explicit OtlpMetrics(AgentMetrics& agent_metrics);

  void CountSpans(SpanTransport transport, const std::array<uint64_t, kSpanKindCount>& by_kind);
  // Spans refused one by one, or a whole request (which counts as one).
  void CountRejected(SpanTransport transport, SpanRejectReason reason, uint64_t count);
  // The hold's state: gauges now, and its running totals (counters advance by the difference).
  void SetHold(std::size_t held_calls, std::size_t remembered_spans, uint64_t nested_total,
               uint64_t evicted_traces_total);

  double spans(SpanTransport transport, SpanKind kind) const;
  double rejected(SpanTransport transport, SpanRejectReason reason) const;

 private:
  std::array<std::array<prometheus::Counter*, kSpanKindCount>, kSpanTransportCount> spans_{};
  std::array<std::array<prometheus::Counter*, kSpanRejectReasonCount>, kSpanTransportCount>
      rejected_{};
  prometheus::Gauge* held_calls_;
  prometheus::Gauge* remembered_spans_;
  prometheus::Counter* nested_;
  prometheus::Counter* evicted_;
  std::mutex hold_mu_;  // the totals last seen, for SetHold's differences
  uint64_t nested_seen_ = 0;
  uint64_t evicted_seen_ = 0;
};

}  // namespace llm_exporter::telemetry
