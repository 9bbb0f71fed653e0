#include "ingest/socket_event_sink.h"

#include <doctest/doctest.h>

#include "ingest/pipeline_fixture.h"

namespace llm_exporter::ingest {
namespace {

using testing::EventJson;
using testing::PipelineFixture;

SocketEventSinkOptions Options(Transport transport) {
  return {transport, "test socket", "line", "--ingest.max-line-bytes", 64};
}

TEST_CASE("SocketEventSink: lines are decoded one by one, CRLF and blank lines included") {
  PipelineFixture f;
  SocketEventSink sink(Options(Transport::kUnix), f.pipeline, f.clock);
  const std::string lines = EventJson(1, 2) + "\r\n\r\n\n" + EventJson(3, 4) + "\n" +
                            "{\"model\":\"gpt-4o\"}\n" + "not json\n" + EventJson(5, 6) + "\n";
  sink.OnLines(lines, lines.size());
  CHECK(f.Accepted(Transport::kUnix) == 3);
  CHECK(f.Rejected(Transport::kUnix, RejectReason::kMissingField) == 1);
  CHECK(f.Rejected(Transport::kUnix, RejectReason::kInvalidJson) == 1);
  CHECK(f.Received(Transport::kUnix) == 5);
  CHECK(f.Requests() == 3);
  CHECK(f.Tokens() == 21);
  CHECK(f.Accepted(Transport::kHttp) == 0);
}

TEST_CASE("SocketEventSink: over-long pieces count as too_large on their own transport") {
  PipelineFixture f;
  SocketEventSink sink(Options(Transport::kUdp), f.pipeline, f.clock);
  sink.CountTooLarge(3);
  sink.OnLineTooLong();
  sink.CountTooLarge(0);
  CHECK(f.Rejected(Transport::kUdp, RejectReason::kTooLarge) == 4);
  CHECK(f.Received(Transport::kUdp) == 4);
  CHECK(f.Accepted(Transport::kUdp) == 0);
  CHECK(f.Rejected(Transport::kUnixgram, RejectReason::kTooLarge) == 0);
}

}  // namespace
}  // namespace llm_exporter::ingest
