// One OTLP trace export request (ExportTraceServiceRequest, protobuf) of Traceloop chat spans for
// a run of the event mix, built once, whose trace and span ids can be rewritten in place before
// each send, so that every span of a run has ids of its own while no body is built twice.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "loadgen/event_mix.h"

namespace llm_exporter::bench {

struct SpanBatchOptions {
  uint64_t start_unix_nanos = 0;  // span j of the pool starts j ms after this
  uint64_t id_seed = 1;           // the ids of span number n depend on n and this only
};

// Not thread-safe: one thread renumbers and sends a batch at a time (copies are independent).
class SpanBatch {
 public:
  // Mix events [first, first + count) (wrapping around the pool), which must all be LLM calls,
  // as one request with one resource and one scope, numbered as spans [0, count) of a run.
  SpanBatch(const EventMix& mix, uint64_t first, std::size_t count, SpanBatchOptions options);

  // Gives span k the trace id, span id and parent span id of span number `number + k` of the run.
  void Renumber(uint64_t number);

  std::string_view bytes() const { return bytes_; }
  std::size_t spans() const { return id_offsets_.size(); }

 private:
  struct IdOffsets {
    uint32_t trace = 0;
    uint32_t span = 0;
    uint32_t parent = 0;
  };
  void WriteIds(std::size_t k, uint64_t number);

  SpanBatchOptions options_;
  std::string bytes_;
  std::vector<IdOffsets> id_offsets_;
};

// A readable account of an OTLP export answer that was not a plain success: the partial_success
// of an ExportTraceServiceResponse, or the code and message of a google.rpc.Status.
std::string DescribeExportResponse(std::string_view bytes);
std::string DescribeRpcStatus(std::string_view bytes);

}  // namespace llm_exporter::bench
