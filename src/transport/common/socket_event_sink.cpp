#include "transport/common/socket_event_sink.h"

#include <utility>

namespace llm_exporter::transport {

SocketEventSink::SocketEventSink(SocketEventSinkOptions options, EventIngest& pipeline)
    : options_(std::move(options)),
      too_large_detail_("a " + options_.unit + " longer than " +
                        std::to_string(options_.limit_bytes) + " bytes (" + options_.limit_flag +
                        ") on " + options_.source),
      pipeline_(pipeline) {}

void SocketEventSink::OnLines(std::string_view lines, std::size_t readable) {
  pipeline_.IngestLines(options_.transport, lines, readable);
}

void SocketEventSink::CountTooLarge(uint64_t pieces) {
  if (pieces == 0) return;
  pipeline_.CountRejected(options_.transport, RejectReason::kTooLarge, pieces, too_large_detail_);
}

}  // namespace llm_exporter::transport
