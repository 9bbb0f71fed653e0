// The pipeline stage: the one place where events are decoded, priced, recorded and counted, and
// where rejections are logged. Every transport hands it raw bodies, lines or datagrams through
// the EventIngest interface (llm_exporter/event_ingest.h).
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "aggregate/series_store.h"
#include "decode/event_decoder.h"
#include "llm_exporter/clock.h"
#include "llm_exporter/event_ingest.h"
#include "llm_exporter/transport.h"
#include "pipeline/decoder_pool.h"
#include "pipeline/rejection_log.h"
#include "pricing/price_catalog.h"
#include "telemetry/agent_metrics.h"

namespace llm_exporter::pipeline {

// Thread-safe: any number of transports may call Ingest() at once. Parsing and pricing take no
// lock; the store locks one shard per series update, the rejection log one lock per transport
// when something was rejected. Every rejection is counted and logged here, so that every
// transport reports them alike (at most one warn line per transport every 10 s).
class EventPipeline final : public EventIngest {
 public:
  EventPipeline(decode::DecodeLimits limits, const pricing::PriceCatalog& prices,
                aggregate::SeriesStore& store, telemetry::AgentMetrics& agent_metrics,
                const Clock& clock);

  using EventIngest::Ingest;
  // Decodes `body` (EventDecoder::Decode) and records every valid event.
  IngestResult Ingest(Transport transport, std::string_view body, std::size_t readable) override;
  // Decodes `lines` as NDJSON (EventDecoder::DecodeLines) and records every valid event.
  IngestResult IngestLines(Transport transport, std::string_view lines,
                           std::size_t readable) override;
  // Counts events refused before decoding (e.g. an over-long line) as `reason`, and logs them;
  // `detail` says what was refused for the log line ("a line longer than 65536 bytes ...").
  void CountRejected(Transport transport, RejectReason reason, uint64_t events,
                     std::string_view detail) override;

 private:
  template <typename DecodeFn>
  IngestResult Run(Transport transport, DecodeFn&& decode);
  void LogRejected(Transport transport, const decode::DecodeResult& result);

  const decode::DecodeLimits limits_;
  const pricing::PriceCatalog& prices_;
  aggregate::SeriesStore& store_;
  telemetry::AgentMetrics& agent_metrics_;
  RejectionLog rejection_log_;
  // Up to 4 idle decoders, each warm for documents of at most 1 MiB (about 14 bytes of memory
  // per byte of document).
  DecoderPool<decode::EventDecoder, decode::DecodeLimits, &decode::EventDecoder::capacity>
      decoders_{limits_, 4, std::size_t{1} << 20};
};

}  // namespace llm_exporter::pipeline
