#include "telemetry/otlp_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <string>

#include "telemetry/agent_metrics.h"

namespace llm_exporter::telemetry {

OtlpMetrics::OtlpMetrics(AgentMetrics& agent_metrics) {
  prometheus::Registry& registry = agent_metrics.registry();
  auto& spans = prometheus::BuildCounter()
                    .Name("llm_exporter_otlp_spans_received_total")
                    .Help("OTLP spans taken in, by transport and by what they turned out to be: "
                          "llm_call, workflow, agent, tool, or ignored (none of these).")
                    .Register(registry);
  auto& rejected =
      prometheus::BuildCounter()
          .Name("llm_exporter_otlp_spans_rejected_total")
          .Help("OTLP spans refused, by transport and reason; a request refused as a whole "
                "(undecodable, too_large, unsupported_media_type, bad_encoding) counts as one.")
          .Register(registry);
  for (std::size_t t = 0; t < kSpanTransportCount; ++t) {
    const std::string transport(kSpanTransportNames[t]);
    for (std::size_t k = 0; k < kSpanKindCount; ++k) {
      spans_[t][k] = &spans.Add({{"transport", transport}, {"kind", std::string(kSpanKindNames[k])}});
    }
    for (std::size_t r = 0; r < kSpanRejectReasonCount; ++r) {
      rejected_[t][r] =
          &rejected.Add({{"transport", transport}, {"reason", std::string(kSpanRejectReasonNames[r])}});
    }
  }
  held_calls_ = &prometheus::BuildGauge()
                     .Name("llm_exporter_otlp_held_calls")
                     .Help("LLM-call spans waiting in the hold (--otlp.span-hold) until their "
                           "trace shows whether an LLM call sits under them.")
                     .Register(registry)
                     .Add({});
  remembered_spans_ = &prometheus::BuildGauge()
                           .Name("llm_exporter_otlp_remembered_spans")
                           .Help("Spans of traces with LLM calls whose place in their trace is "
                                 "remembered, at most --otlp.max-remembered-spans.")
                           .Register(registry)
                           .Add({});
  nested_ = &prometheus::BuildCounter()
                 .Name("llm_exporter_otlp_nested_calls_total")
                 .Help("LLM-call spans not counted because an LLM-call span under them was: "
                       "agent and framework spans that repeat the tokens of their calls.")
                 .Register(registry)
                 .Add({});
  evicted_ = &prometheus::BuildCounter()
                  .Name("llm_exporter_otlp_hold_evicted_traces_total")
                  .Help("Traces released from the hold early because --otlp.max-remembered-spans "
                        "was reached; a call of theirs may then be counted beside one under it.")
                  .Register(registry)
                  .Add({});
}

void OtlpMetrics::CountSpans(SpanTransport transport,
                             const std::array<uint64_t, kSpanKindCount>& by_kind) {
  for (std::size_t k = 0; k < kSpanKindCount; ++k) {
    if (by_kind[k] > 0) {
      spans_[static_cast<std::size_t>(transport)][k]->Increment(static_cast<double>(by_kind[k]));
    }
  }
}

void OtlpMetrics::CountRejected(SpanTransport transport, SpanRejectReason reason,
                                uint64_t count) {
  if (count == 0) return;
  rejected_[static_cast<std::size_t>(transport)][static_cast<std::size_t>(reason)]->Increment(
      static_cast<double>(count));
}

void OtlpMetrics::SetHold(std::size_t held_calls, std::size_t remembered_spans,
                          uint64_t nested_total, uint64_t evicted_traces_total) {
  held_calls_->Set(static_cast<double>(held_calls));
  remembered_spans_->Set(static_cast<double>(remembered_spans));
  std::lock_guard<std::mutex> lock(hold_mu_);
  if (nested_total > nested_seen_) {
    nested_->Increment(static_cast<double>(nested_total - nested_seen_));
    nested_seen_ = nested_total;
  }
  if (evicted_traces_total > evicted_seen_) {
    evicted_->Increment(static_cast<double>(evicted_traces_total - evicted_seen_));
    evicted_seen_ = evicted_traces_total;
  }
}

double OtlpMetrics::spans(SpanTransport transport, SpanKind kind) const {
  return spans_[static_cast<std::size_t>(transport)][static_cast<std::size_t>(kind)]->Value();
}

double OtlpMetrics::rejected(SpanTransport transport, SpanRejectReason reason) const {
  return rejected_[static_cast<std::size_t>(transport)][static_cast<std::size_t>(reason)]
      ->Value();
}

}  // namespace llm_exporter::telemetry
