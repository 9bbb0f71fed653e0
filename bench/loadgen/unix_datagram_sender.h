// Sends a run of the event mix over the agent's unix datagram socket (--ingest.listen-unixgram):
// one JSON event per datagram, or `batch` events as NDJSON per datagram, from `connections`
// sockets, one thread each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "loadgen/event_mix.h"
#include "loadgen/send_report.h"

namespace llm_exporter::bench {

struct UnixDatagramLoadOptions {
  std::string path;
  std::size_t connections = 1;
  std::size_t batch = 1;  // events per datagram
  uint64_t events = 0;
};

// Run() once, from one thread. Sends block while the agent's receive queue is full, so no
// datagram is dropped for want of room (unix datagram sockets are reliable).
class UnixDatagramSender {
 public:
  UnixDatagramSender(const EventMix& mix, UnixDatagramLoadOptions options);

  // Socket c sends datagrams c, c + connections, ...; datagram d holds events
  // [d * batch, min(events, (d + 1) * batch)).
  SendReport Run();

 private:
  // The bytes of datagram d: a view of the mix's text when contiguous, else built in *scratch.
  std::string_view DatagramOf(uint64_t d, std::string* scratch) const;

  const EventMix& mix_;
  UnixDatagramLoadOptions options_;
};

}  // namespace llm_exporter::bench
