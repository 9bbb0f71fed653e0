#include "pipeline/proxy_pipeline.h"

#include <memory>

namespace llm_exporter::pipeline {

void ProxyPipeline::RecordProxied(const LlmCall& call, bool metered,
                                  const UpstreamObservation& upstream) {
  if (metered) {
    // The price table in force when the call ended; a reload meanwhile prices the next one.
    const std::shared_ptr<const pricing::PriceTable> prices = prices_.Current();
    const pricing::PricedCall priced = prices->Price(call);
    store_.RecordCall(call, priced.cost, priced.fallback, CallSource::kProxy);
  }
  store_.RecordUpstream(upstream);
}

}  // namespace llm_exporter::pipeline
