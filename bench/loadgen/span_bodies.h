// The request bodies of an OTLP run: `batch` spans per export request, batch b going on
// connection b % connections. Built up front, each connection owning copies of the bodies it
// sends, so that it can give every span of the run ids of its own just before sending it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "loadgen/event_mix.h"
#include "loadgen/span_batch.h"

namespace llm_exporter::bench {

struct SpanBodiesOptions {
  std::size_t batch = 512;  // spans per request (the OpenTelemetry SDKs' default batch)
  uint64_t spans = 0;       // spans in the run: mix events [0, spans), all LLM calls
  std::size_t connections = 1;
  SpanBatchOptions batch_options;
};

// Prepare(c, ...) may be called from connection c's thread only; distinct connections at once.
class SpanBodies {
 public:
  SpanBodies(const EventMix& mix, SpanBodiesOptions options);

  std::size_t connections() const { return options_.connections; }
  uint64_t batches() const { return batches_; }
  uint64_t SpansIn(uint64_t b) const;

  // Batch b's body, with the ids of spans [b * batch, ...) of the run. Valid until the next call
  // for connection c. Batches are prebuilt when the pool is a whole number of them; else (and for
  // a partial last batch) built here.
  std::string_view Prepare(std::size_t c, uint64_t b);

 private:
  const EventMix& mix_;
  SpanBodiesOptions options_;
  uint64_t batches_ = 0;
  std::size_t pool_batches_ = 0;  // whole batches in the pool; 0 when it is not a whole number
  // [connection][batch within the pool]: only those the connection sends.
  std::vector<std::vector<std::unique_ptr<SpanBatch>>> bodies_;
  std::vector<std::unique_ptr<SpanBatch>> scratch_;  // [connection]
};

}  // namespace llm_exporter::bench
