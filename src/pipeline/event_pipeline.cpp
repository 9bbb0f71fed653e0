#include "pipeline/event_pipeline.h"

namespace llm_exporter::pipeline {
namespace {

// The CallSource of the same name: a call's way in, as llm_calls_without_usage_total names it.
CallSource SourceOf(Transport transport) {
  switch (transport) {
    case Transport::kHttp: return CallSource::kHttp;
    case Transport::kUnix: return CallSource::kUnix;
    case Transport::kUnixgram: return CallSource::kUnixgram;
    case Transport::kUdp: return CallSource::kUdp;
  }
  return CallSource::kHttp;
}

// Prices and records the events of one batch, all with the price table in force when the
// batch began.
class RecordingSink final : public EventSink {
 public:
  RecordingSink(const pricing::PriceTable& prices, aggregate::SeriesStore& store,
                CallSource source)
      : prices_(prices), store_(store), source_(source) {}

  void OnLlmCall(const LlmCall& call) override {
    const pricing::PricedCall priced = prices_.Price(call);
    store_.RecordCall(call, priced.cost, priced.fallback, source_);
  }
  void OnQualityScore(const QualityScore& score) override { store_.RecordQuality(score); }

 private:
  const pricing::PriceTable& prices_;
  aggregate::SeriesStore& store_;
  CallSource source_;
};

}  // namespace

EventPipeline::EventPipeline(decode::DecodeLimits limits, const pricing::PriceCatalog& prices,
                             aggregate::SeriesStore& store, telemetry::AgentMetrics& agent_metrics,
                             const Clock& clock)
    : limits_(limits),
      prices_(prices),
      store_(store),
      agent_metrics_(agent_metrics),
      rejection_log_(clock) {}

template <typename DecodeFn>
IngestResult EventPipeline::Run(Transport transport, DecodeFn&& decode) {
  const std::shared_ptr<const pricing::PriceTable> prices = prices_.Current();
  RecordingSink sink(*prices, store_, SourceOf(transport));
  std::unique_ptr<decode::EventDecoder> decoder = decoders_.Take();
  decode::DecodeResult result = decode(*decoder, sink);
  decoders_.Return(std::move(decoder));
  if (result.ok()) {
    agent_metrics_.CountEvents(transport, result.accepted, result.rejected_by_reason);
    if (result.rejected > 0) LogRejected(transport, result);
  } else {
    // A refused body counts as one.
    CountRejected(transport, RejectReason::kInvalidJson, 1, result.body_error);
  }
  return result;
}

void EventPipeline::LogRejected(Transport transport, const decode::DecodeResult& result) {
  Rejection latest;
  if (!result.errors.empty()) {  // the first max_reported_errors: the last one listed
    const decode::EventError& error = result.errors.back();
    latest = {error.index, error.field, error.reason, error.message};
  } else {  // the decoder was asked to list no errors: name a reason that occurred
    for (std::size_t i = 0; i < kRejectReasonCount; ++i) {
      if (result.rejected_by_reason[i] > 0) latest.reason = static_cast<RejectReason>(i);
    }
  }
  rejection_log_.Record(transport, result.rejected_by_reason, latest);
}

IngestResult EventPipeline::Ingest(Transport transport, std::string_view body,
                                           std::size_t readable) {
  return Run(transport, [&](decode::EventDecoder& decoder, EventSink& sink) {
    return decoder.Decode(body, readable, sink);
  });
}

IngestResult EventPipeline::IngestLines(Transport transport, std::string_view lines,
                                                std::size_t readable) {
  return Run(transport, [&](decode::EventDecoder& decoder, EventSink& sink) {
    return decoder.DecodeLines(lines, readable, sink);
  });
}

void EventPipeline::CountRejected(Transport transport, RejectReason reason, uint64_t events,
                                  std::string_view detail) {
  if (events == 0) return;
  RejectCounts rejected{};
  rejected[static_cast<std::size_t>(reason)] = events;
  agent_metrics_.CountEvents(transport, 0, rejected);
  rejection_log_.Record(transport, rejected, Rejection{std::nullopt, {}, reason, detail});
}

}  // namespace llm_exporter::pipeline
