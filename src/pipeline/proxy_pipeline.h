// The metering proxy's side of the pipeline stage: prices each LLM call the proxy relayed and
// records it as every transport's calls are, under CallSource::kProxy, and records what the proxy
// saw of the upstream (outcome, client retry, rate limits) in the store's upstream family.
#pragma once

#include "aggregate/series_store.h"
#include "llm_exporter/proxy_ingest.h"
#include "pricing/price_catalog.h"

namespace llm_exporter::pipeline {

// Holds no state of its own and takes no lock but the price catalog's (once per call) and the
// store's (one per series updated). Thread-safe: any number of proxied calls are recorded at
// once. The catalog and the store must outlive it.
class ProxyPipeline final : public ProxyIngest {
 public:
  ProxyPipeline(const pricing::PriceCatalog& prices, aggregate::SeriesStore& store)
      : prices_(prices), store_(store) {}

  void RecordProxied(const LlmCall& call, bool metered,
                     const UpstreamObservation& upstream) override;

 private:
  const pricing::PriceCatalog& prices_;
  aggregate::SeriesStore& store_;
};

}  // namespace llm_exporter::pipeline
