#include "ingest/event_pipeline.h"

namespace llm_exporter::ingest {
namespace {

// Prices and records the events of one batch, all with the price table in force when the
// batch began.
class RecordingSink final : public EventSink {
 public:
  RecordingSink(const pricing::PriceTable& prices, aggregate::SeriesStore& store)
      : prices_(prices), store_(store) {}

  void OnLlmCall(const LlmCall& call) override {
    const pricing::PricedCall priced = prices_.Price(call);
    store_.RecordCall(call, priced.cost, priced.fallback);
  }
  void OnQualityScore(const QualityScore& score) override { store_.RecordQuality(score); }

 private:
  const pricing::PriceTable& prices_;
  aggregate::SeriesStore& store_;
};

}  // namespace

EventPipeline::EventPipeline(decode::DecodeLimits limits, const pricing::PriceCatalog& prices,
                             aggregate::SeriesStore& store, telemetry::AgentMetrics& agent_metrics)
    : limits_(limits), prices_(prices), store_(store), agent_metrics_(agent_metrics) {}

template <typename DecodeFn>
decode::DecodeResult EventPipeline::Run(Transport transport, DecodeFn&& decode) {
  const std::shared_ptr<const pricing::PriceTable> prices = prices_.Current();
  RecordingSink sink(*prices, store_);
  std::unique_ptr<decode::EventDecoder> decoder = TakeDecoder();
  decode::DecodeResult result = decode(*decoder, sink);
  ReturnDecoder(std::move(decoder));
  if (result.ok()) {
    agent_metrics_.CountEvents(transport, result.accepted, result.rejected_by_reason);
  } else {
    CountRejected(transport, RejectReason::kInvalidJson);  // a refused body counts as one
  }
  return result;
}

decode::DecodeResult EventPipeline::Ingest(Transport transport, std::string_view body,
                                           std::size_t readable) {
  return Run(transport, [&](decode::EventDecoder& decoder, EventSink& sink) {
    return decoder.Decode(body, readable, sink);
  });
}

decode::DecodeResult EventPipeline::IngestLines(Transport transport, std::string_view lines,
                                                std::size_t readable) {
  return Run(transport, [&](decode::EventDecoder& decoder, EventSink& sink) {
    return decoder.DecodeLines(lines, readable, sink);
  });
}

void EventPipeline::CountRejected(Transport transport, RejectReason reason, uint64_t events) {
  std::array<uint64_t, kRejectReasonCount> rejected{};
  rejected[static_cast<std::size_t>(reason)] = events;
  agent_metrics_.CountEvents(transport, 0, rejected);
}

std::unique_ptr<decode::EventDecoder> EventPipeline::TakeDecoder() {
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (!pool_.empty()) {
      std::unique_ptr<decode::EventDecoder> decoder = std::move(pool_.back());
      pool_.pop_back();
      return decoder;
    }
  }
  return std::make_unique<decode::EventDecoder>(limits_);
}

void EventPipeline::ReturnDecoder(std::unique_ptr<decode::EventDecoder> decoder) {
  std::lock_guard<std::mutex> lock(pool_mu_);
  pool_.push_back(std::move(decoder));
}

}  // namespace llm_exporter::ingest
