// Sends a run of the event mix to POST /v1/events: `batch` events per request, over
// `connections` keep-alive connections, one thread each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "loadgen/event_mix.h"
#include "loadgen/send_report.h"

namespace llm_exporter::bench {

struct HttpLoadOptions {
  std::string host = "127.0.0.1";
  int port = 9778;
  std::string path = "/v1/events";
  std::size_t connections = 1;
  std::size_t batch = 1000;  // events per POST; 1 sends each event as a single JSON object
  BodyFormat format = BodyFormat::kArray;
  uint64_t first = 0;  // index in the mix of the first event sent
  uint64_t events = 0;
  bool quick_ack = false;  // HttpClient's TCP_QUICKACK work-around
};

// Run() once, from one thread; it starts and joins its own threads. The bodies are built in the
// constructor, so Run() only sends.
class HttpSender {
 public:
  HttpSender(const EventMix& mix, HttpLoadOptions options);

  // Blocks until every request is answered or one fails. Batch b goes on connection
  // b % connections; the events sent are mix events [first, first + events).
  SendReport Run();

 private:
  // The body of batch `b` (events [first + b * batch, ...)), prebuilt when possible.
  std::string_view BodyOf(uint64_t b, std::string* scratch) const;

  const EventMix& mix_;
  HttpLoadOptions options_;
  std::string content_type_;
  std::vector<std::string> bodies_;  // when the pool is a multiple of the batch: one per offset
};

}  // namespace llm_exporter::bench
