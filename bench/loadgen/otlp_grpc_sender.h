// Sends the bodies of an OTLP run to the OTLP/gRPC trace service (TraceService/Export) with
// gRPC's generic stub: the bodies are already serialized requests, so no generated gRPC code is
// needed. One channel (its own HTTP/2 connection) and one thread per connection of the SpanBodies,
// one call in flight on each.
#pragma once

#include <chrono>
#include <string>

#include "loadgen/send_report.h"
#include "loadgen/span_bodies.h"

namespace llm_exporter::bench {

struct OtlpGrpcOptions {
  std::string target = "127.0.0.1:4317";  // the agent's --otlp.grpc-listen-address
  // How long a call may wait, for the channel to connect and for its answer: a call past it
  // fails with DEADLINE_EXCEEDED and stops the run.
  std::chrono::milliseconds call_timeout{60'000};
};

// Run() once, from one thread; it starts and joins its own threads.
class OtlpGrpcSender {
 public:
  OtlpGrpcSender(SpanBodies& bodies, OtlpGrpcOptions options);

  // Blocks until every call is answered or one fails. Only OK with an empty
  // ExportTraceServiceResponse (every span taken) counts as sent; anything else stops the run.
  SendReport Run();

 private:
  SpanBodies& bodies_;
  OtlpGrpcOptions options_;
};

}  // namespace llm_exporter::bench
