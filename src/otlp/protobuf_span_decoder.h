// Decodes a protobuf ExportTraceServiceRequest (OTLP/HTTP application/x-protobuf, OTLP/gRPC) into
// a SpanCollector, with the classes protoc generates from otlp/proto/.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "otlp/span_collector.h"

namespace google::protobuf {
class Arena;
}

namespace llm_exporter::otlp {

// Parses onto an arena that lives until the next Decode(), so the spans' strings point into the
// parsed message without a copy. The arena starts each request in one block the decoder owns,
// sized by what earlier requests needed (up to kMaxArenaBlockBytes): a warm decoder parses a
// typical request with no call to malloc for the message. Not thread-safe.
class ProtobufSpanDecoder {
 public:
  // The most memory the arena's first block keeps between requests; a larger request allocates
  // further blocks, freed at the start of the next one.
  static constexpr std::size_t kMaxArenaBlockBytes = std::size_t{4} << 20;

  ProtobufSpanDecoder();
  ~ProtobufSpanDecoder();
  ProtobufSpanDecoder(const ProtobufSpanDecoder&) = delete;
  ProtobufSpanDecoder& operator=(const ProtobufSpanDecoder&) = delete;

  // Decodes `body` into `out`, which the caller has Reset(); what it holds points into `body` and
  // into this decoder until the next call.
  void Decode(std::string_view body, SpanCollector& out);

  // The arena's size: its first block, and what the last request added to it.
  std::size_t retained_bytes() const;

 private:
  void ResetArena();

  std::unique_ptr<char[]> block_;
  std::size_t block_bytes_ = 0;
  std::unique_ptr<google::protobuf::Arena> arena_;  // protobuf stays out of this header
};

}  // namespace llm_exporter::otlp
