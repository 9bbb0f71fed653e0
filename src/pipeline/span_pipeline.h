// The OTLP side of the pipeline stage: decodes a trace export request, reads each span as an LLM
// call, workflow, agent invocation, tool call or nothing of these, holds LLM calls until their
// trace shows which is innermost (TraceHold), prices and records them, and counts every span.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "aggregate/series_store.h"
#include "llm_exporter/clock.h"
#include "llm_exporter/span_ingest.h"
#include "otlp/span_decoder.h"
#include "otlp/span_reader.h"
#include "pipeline/decoder_pool.h"
#include "pipeline/trace_hold.h"
#include "pricing/price_catalog.h"
#include "telemetry/otlp_metrics.h"
#include "telemetry/rate_limited_warning.h"

namespace llm_exporter::pipeline {

struct SpanPipelineOptions {
  otlp::SpanDecodeLimits decode;
  otlp::SpanReaderOptions reader;
  TraceHoldOptions hold;
  std::size_t max_reported_errors = 10;  // span errors named in partial_success.error_message
};

// Thread-safe: any number of transports may call IngestSpans() at once; decoding and reading
// take no lock, the hold one lock per shard of traces touched, the store one per series update.
class SpanPipeline final : public SpanIngest {
 public:
  SpanPipeline(SpanPipelineOptions options, const pricing::PriceCatalog& prices,
               aggregate::SeriesStore& store, telemetry::OtlpMetrics& metrics, const Clock& clock);
  ~SpanPipeline() override;

  SpanIngestResult IngestSpans(SpanTransport transport, SpanEncoding encoding,
                               std::string_view body) override;
  void CountRefused(SpanTransport transport, SpanRejectReason reason,
                    std::string_view detail) override;

  // Records the held calls whose hold has passed, and updates the hold's gauges. IngestSpans()
  // does so after each request; a timer (StartReleasing) does it while no request comes.
  void ReleaseHeld();
  // Calls ReleaseHeld() every `period` on a thread of its own until the pipeline is destroyed.
  void StartReleasing(std::chrono::milliseconds period);
  // Records every held call now, decided on what is known (at shutdown).
  void ReleaseAll();

 private:
  void Record(const LlmCall& call);
  void Warn(SpanTransport transport, uint64_t rejected, std::string_view latest);


  const SpanPipelineOptions options_;
  const pricing::PriceCatalog& prices_;
  aggregate::SeriesStore& store_;
  telemetry::OtlpMetrics& metrics_;
  const otlp::SpanReader reader_;
  TraceHold hold_;
  // Up to 4 idle decoders, each keeping at most 8 MiB warm.
  DecoderPool<otlp::SpanDecoder, otlp::SpanDecodeLimits, &otlp::SpanDecoder::retained_bytes>
      decoders_{options_.decode, 4, std::size_t{8} << 20};
  std::mutex warn_mu_;
  telemetry::RateLimitedWarning warning_;
  std::mutex timer_mu_;
  std::condition_variable timer_cv_;
  bool stopping_ = false;
  std::thread timer_;
};

}  // namespace llm_exporter::pipeline
