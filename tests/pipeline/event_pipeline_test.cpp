#include "pipeline/event_pipeline.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "fakes/log_capture.h"
#include "fakes/pipeline_fixture.h"

namespace llm_exporter::pipeline {
namespace {

using std::chrono::seconds;
using testing::EventJson;
using testing::PipelineFixture;
using testing::ScopedLogCapture;

// An event whose input_tokens is a string: rejected as wrong_type.
const std::string kWrongType =
    R"({"model":"gpt-4o","input_tokens":"12","output_tokens":1,"latency":0.1})";

TEST_CASE("EventPipeline: an HTTP body with a rejected event logs one warn line naming the "
          "transport, index, field, reason and message") {
  ScopedLogCapture log;
  PipelineFixture f;
  const std::string body = "[" + EventJson() + "," + kWrongType + "," + EventJson() + "]";
  const decode::DecodeResult result = f.pipeline.Ingest(Transport::kHttp, body);
  CHECK(result.accepted == 2);
  CHECK(result.rejected == 1);
  CHECK(f.Rejected(Transport::kHttp, RejectReason::kWrongType) == 1);
  CHECK(log.Text(spdlog::level::warn) ==
        "http: rejected 1 event(s) since the last such warning (at most one every 10s; by "
        "reason: wrong_type 1); latest: event 1 of its batch, field input_tokens, reason "
        "wrong_type: input_tokens must be a non-negative integer, got a string\n");
  CHECK(log.lines().size() == 1);
}

TEST_CASE("EventPipeline: good events log nothing") {
  ScopedLogCapture log;
  PipelineFixture f;
  f.pipeline.Ingest(Transport::kHttp, EventJson());
  const std::string lines = EventJson() + "\n" + EventJson() + "\n";
  f.pipeline.IngestLines(Transport::kUnix, lines, lines.size());
  f.pipeline.CountRejected(Transport::kUdp, RejectReason::kTooLarge, 0, {});
  CHECK(f.Accepted(Transport::kHttp) == 1);
  CHECK(f.Accepted(Transport::kUnix) == 2);
  CHECK(f.Received(Transport::kUdp) == 0);
  CHECK(log.lines().empty());
}

TEST_CASE("EventPipeline: at most one rejection line per transport every 10s, reporting every "
          "rejection held back by reason and the latest one") {
  ScopedLogCapture log;
  PipelineFixture f;
  f.pipeline.Ingest(Transport::kHttp, kWrongType);
  CHECK(log.At(spdlog::level::warn).size() == 1);

  // Within 10s: counted, not logged. Another transport has a limit of its own.
  f.pipeline.Ingest(Transport::kHttp, "[" + kWrongType + "," + kWrongType + "]");
  f.pipeline.Ingest(Transport::kHttp, "[{\"model\":\"gpt-4o\"}]");
  f.clock.Advance(seconds(9));
  f.pipeline.CountRejected(Transport::kHttp, RejectReason::kTooLarge, 1, {});
  const std::string lines = "not json\n" + EventJson() + "\n";
  f.pipeline.IngestLines(Transport::kUnix, lines, lines.size());
  CHECK(log.Text(spdlog::level::warn) ==
        "http: rejected 1 event(s) since the last such warning (at most one every 10s; by "
        "reason: wrong_type 1); latest: event 0 of its batch, field input_tokens, reason "
        "wrong_type: input_tokens must be a non-negative integer, got a string\n"
        "unix: rejected 1 event(s) since the last such warning (at most one every 10s; by "
        "reason: invalid_json 1); latest: event 0 of its batch, reason invalid_json: not valid "
        "JSON: Problem while parsing an atom starting with the letter 'n'\n");

  // 10s after the first line the next rejection logs, with the 4 held back and itself.
  f.clock.Advance(seconds(1));
  f.pipeline.Ingest(Transport::kHttp, "{\"type\":\"span\"}");
  const std::vector<std::string> warns = log.At(spdlog::level::warn);
  REQUIRE(warns.size() == 3);
  CHECK(warns[2] ==
        "http: rejected 5 event(s) since the last such warning (at most one every 10s; by "
        "reason: unknown_type 1, missing_field 1, wrong_type 2, too_large 1); latest: event 0 "
        "of its batch, field type, reason unknown_type: type must be \"llm_call\" or "
        "\"quality\", got \"span\"");
  CHECK(f.Received(Transport::kHttp) == 6);
}

TEST_CASE("EventPipeline: a body refused as a whole and a piece refused before decoding are "
          "logged with what was wrong") {
  ScopedLogCapture log;
  PipelineFixture f;
  f.pipeline.Ingest(Transport::kHttp, "hello");
  f.pipeline.CountRejected(Transport::kUdp, RejectReason::kTooLarge, 3,
                           "a datagram longer than 10 bytes (--ingest.max-datagram-bytes)");
  f.pipeline.CountRejected(Transport::kUnixgram, RejectReason::kTooLarge, 1, {});
  CHECK(f.Rejected(Transport::kHttp, RejectReason::kInvalidJson) == 1);
  CHECK(f.Rejected(Transport::kUdp, RejectReason::kTooLarge) == 3);
  CHECK(f.Rejected(Transport::kUnixgram, RejectReason::kTooLarge) == 1);
  CHECK(log.Text(spdlog::level::warn) ==
        "http: rejected 1 event(s) since the last such warning (at most one every 10s; by "
        "reason: invalid_json 1); latest: reason invalid_json: body is not JSON: send a JSON "
        "object, a JSON array of objects, or NDJSON (one object a line)\n"
        "udp: rejected 3 event(s) since the last such warning (at most one every 10s; by "
        "reason: too_large 3); latest: reason too_large: a datagram longer than 10 bytes "
        "(--ingest.max-datagram-bytes)\n"
        "unixgram: rejected 1 event(s) since the last such warning (at most one every 10s; by "
        "reason: too_large 1); latest: reason too_large\n");
}

}  // namespace
}  // namespace llm_exporter::pipeline
