#include "transport/common/socket_event_sink.h"

#include <doctest/doctest.h>

#include "fakes/log_capture.h"
#include "fakes/pipeline_fixture.h"

namespace llm_exporter::transport {
namespace {

using testing::EventJson;
using testing::PipelineFixture;
using testing::ScopedLogCapture;

SocketEventSinkOptions Options(Transport transport) {
  return {transport, "test socket", "line", "--ingest.max-line-bytes", 64};
}

TEST_CASE("SocketEventSink: lines are decoded one by one, CRLF and blank lines included") {
  PipelineFixture f;
  SocketEventSink sink(Options(Transport::kUnix), f.pipeline);
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
  SocketEventSink sink(Options(Transport::kUdp), f.pipeline);
  sink.CountTooLarge(3);
  sink.OnLineTooLong();
  sink.CountTooLarge(0);
  CHECK(f.Rejected(Transport::kUdp, RejectReason::kTooLarge) == 4);
  CHECK(f.Received(Transport::kUdp) == 4);
  CHECK(f.Accepted(Transport::kUdp) == 0);
  CHECK(f.Rejected(Transport::kUnixgram, RejectReason::kTooLarge) == 0);
}

TEST_CASE("SocketEventSink: rejections are logged once, by the pipeline, over-long pieces with "
          "their limit") {
  ScopedLogCapture log;
  PipelineFixture f;
  SocketEventSink sink(Options(Transport::kUnix), f.pipeline);
  const std::string lines = EventJson() + "\n{\"model\":\"gpt-4o\"}\n";
  sink.OnLines(lines, lines.size());
  f.clock.Advance(std::chrono::seconds(10));
  sink.CountTooLarge(2);
  CHECK(f.Rejected(Transport::kUnix, RejectReason::kMissingField) == 1);
  CHECK(f.Rejected(Transport::kUnix, RejectReason::kTooLarge) == 2);
  CHECK(log.Text(spdlog::level::warn) ==
        "unix: rejected 1 event(s) since the last such warning (at most one every 10s; by "
        "reason: missing_field 1); latest: event 1 of its batch, field latency, reason "
        "missing_field: latency is required\n"
        "unix: rejected 2 event(s) since the last such warning (at most one every 10s; by "
        "reason: too_large 2); latest: reason too_large: a line longer than 64 bytes "
        "(--ingest.max-line-bytes) on test socket\n");
  CHECK(log.lines().size() == 2);
}

}  // namespace
}  // namespace llm_exporter::transport
