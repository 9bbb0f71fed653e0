// Sends a run of the event mix as NDJSON over the agent's unix stream socket
// (--ingest.listen-unix), split over `connections` connections, one thread each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "loadgen/event_mix.h"
#include "loadgen/send_report.h"

namespace llm_exporter::bench {

struct UnixStreamLoadOptions {
  std::string path;
  std::size_t connections = 1;
  uint64_t events = 0;
};

// Run() once, from one thread. Writes straight from the mix's NDJSON text: no copies.
class UnixStreamSender {
 public:
  UnixStreamSender(const EventMix& mix, UnixStreamLoadOptions options);

  // Connection c writes events [c * events / connections, (c + 1) * events / connections), then
  // closes. Returns when every byte was written (the agent may still be reading).
  SendReport Run();

 private:
  const EventMix& mix_;
  UnixStreamLoadOptions options_;
};

}  // namespace llm_exporter::bench
