#include "loadgen/otlp_http_sender.h"

#include "loadgen/http_client.h"
#include "loadgen/parallel_connections.h"

namespace llm_exporter::bench {

OtlpHttpSender::OtlpHttpSender(SpanBodies& bodies, OtlpHttpOptions options)
    : bodies_(bodies), options_(std::move(options)) {}

SendReport OtlpHttpSender::Run() {
  return RunConnections(bodies_.connections(), [&](std::size_t c, const std::atomic<bool>& failed) {
    HttpClient client(options_.host, options_.port, options_.quick_ack);
    HttpResponse response;
    std::string error;
    SendReport mine;
    for (uint64_t b = c; b < bodies_.batches() && !failed.load(std::memory_order_relaxed);
         b += bodies_.connections()) {
      const std::string_view body = bodies_.Prepare(c, b);
      if (!client.Post(options_.path, "application/x-protobuf", body, &response, &error)) {
        mine.error = "POST " + options_.path + ": " + error;
        break;
      }
      if (response.status != 200) {
        mine.error = "POST " + options_.path + " answered " + std::to_string(response.status) +
                     ": " + DescribeRpcStatus(response.body);
        break;
      }
      if (!response.body.empty()) {
        mine.error = "POST " + options_.path + " answered 200 with " +
                     DescribeExportResponse(response.body);
        break;
      }
      mine.events += bodies_.SpansIn(b);
      mine.acknowledged += bodies_.SpansIn(b);
    }
    mine.messages = client.requests();
    mine.connects = client.connects();
    return mine;
  });
}

}  // namespace llm_exporter::bench
