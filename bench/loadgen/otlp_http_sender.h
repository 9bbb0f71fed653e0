// Sends the bodies of an OTLP run to POST /v1/traces as application/x-protobuf, one keep-alive
// connection and one thread per connection of the SpanBodies.
#pragma once

#include <string>

#include "loadgen/send_report.h"
#include "loadgen/span_bodies.h"

namespace llm_exporter::bench {

struct OtlpHttpOptions {
  std::string host = "127.0.0.1";
  int port = 9778;
  std::string path = "/v1/traces";
  bool quick_ack = false;  // HttpClient's TCP_QUICKACK work-around
};

// Run() once, from one thread; it starts and joins its own threads.
class OtlpHttpSender {
 public:
  OtlpHttpSender(SpanBodies& bodies, OtlpHttpOptions options);

  // Blocks until every request is answered or one fails. Only a 200 with an empty
  // ExportTraceServiceResponse (every span taken) counts as sent; anything else stops the run.
  SendReport Run();

 private:
  SpanBodies& bodies_;
  OtlpHttpOptions options_;
};

}  // namespace llm_exporter::bench
