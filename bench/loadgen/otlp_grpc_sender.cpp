#include "loadgen/otlp_grpc_sender.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include "loadgen/parallel_connections.h"

namespace llm_exporter::bench {
namespace {

constexpr char kExportMethod[] = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

std::string Flatten(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const grpc::Slice& s : slices) {
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return out;
}

}  // namespace

OtlpGrpcSender::OtlpGrpcSender(SpanBodies& bodies, OtlpGrpcOptions options)
    : bodies_(bodies), options_(std::move(options)) {}

SendReport OtlpGrpcSender::Run() {
  return RunConnections(bodies_.connections(), [&](std::size_t c, const std::atomic<bool>& failed) {
    // gRPC shares one connection between channels of equal arguments unless told not to.
    grpc::ChannelArguments arguments;
    arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    arguments.SetMaxReceiveMessageSize(-1);
    const auto channel = grpc::CreateCustomChannel(
        options_.target, grpc::InsecureChannelCredentials(), arguments);
    grpc::GenericStub stub(channel);
    grpc::CompletionQueue queue;
    SendReport mine;
    mine.connects = 1;
    for (uint64_t b = c; b < bodies_.batches() && !failed.load(std::memory_order_relaxed);
         b += bodies_.connections()) {
      const std::string_view body = bodies_.Prepare(c, b);
      grpc::Slice slice(body.data(), body.size());  // a copy: the body is rewritten next time
      const grpc::ByteBuffer request(&slice, 1);
      grpc::ClientContext context;
      context.set_wait_for_ready(true);  // the first call may come before the channel connects
      context.set_deadline(std::chrono::system_clock::now() + options_.call_timeout);
      const auto call = stub.PrepareUnaryCall(&context, kExportMethod, request, &queue);
      call->StartCall();
      grpc::ByteBuffer response;
      grpc::Status status;
      call->Finish(&response, &status, nullptr);
      void* tag = nullptr;
      bool ok = false;
      if (!queue.Next(&tag, &ok) || !ok) {
        mine.error = std::string("Export: the completion queue failed");
        break;
      }
      ++mine.messages;
      if (!status.ok()) {
        mine.error = "Export answered " + std::to_string(status.error_code()) + ": " +
                     status.error_message();
        break;
      }
      if (response.Length() != 0) {
        mine.error = "Export answered OK with " + DescribeExportResponse(Flatten(response));
        break;
      }
      mine.events += bodies_.SpansIn(b);
      mine.acknowledged += bodies_.SpansIn(b);
    }
    queue.Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (queue.Next(&tag, &ok)) {
    }
    return mine;
  });
}

}  // namespace llm_exporter::bench
