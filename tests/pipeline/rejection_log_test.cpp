#include "pipeline/rejection_log.h"

#include <doctest/doctest.h>

#include <string>
#include <thread>
#include <vector>

#include "fakes/fake_clock.h"
#include "fakes/log_capture.h"

namespace llm_exporter::pipeline {
namespace {

using std::chrono::seconds;
using testing::ScopedLogCapture;

RejectCounts Counts(RejectReason reason, uint64_t n) {
  RejectCounts counts{};
  counts[static_cast<std::size_t>(reason)] = n;
  return counts;
}

TEST_CASE("RejectionLog: a line names what it knows of the latest rejection and strips the "
          "index the message repeats") {
  const Rejection full{3, "input_tokens", RejectReason::kInvalidValue,
                       "event 3: input_tokens must be a non-negative integer, got -5"};
  CHECK(RejectionLog::Format(Transport::kUnix, Counts(RejectReason::kInvalidValue, 2),
                             seconds(10), full) ==
        "unix: rejected 2 event(s) since the last such warning (at most one every 10s; by "
        "reason: invalid_value 2); latest: event 3 of its batch, field input_tokens, reason "
        "invalid_value: input_tokens must be a non-negative integer, got -5");

  const Rejection whole{7, "", RejectReason::kNotAnObject, "event 7: must be a JSON object"};
  RejectCounts counts{};
  counts[static_cast<std::size_t>(RejectReason::kNotAnObject)] = 1;
  counts[static_cast<std::size_t>(RejectReason::kLabelTooLong)] = 4;
  CHECK(RejectionLog::Format(Transport::kHttp, counts, seconds(30), whole) ==
        "http: rejected 5 event(s) since the last such warning (at most one every 30s; by "
        "reason: not_an_object 1, label_too_long 4); latest: event 7 of its batch, reason "
        "not_an_object: must be a JSON object");

  // Without an index the message is kept whole, even if it starts like an event's.
  const Rejection piece{std::nullopt, "", RejectReason::kTooLarge, "event 1: as sent"};
  CHECK(RejectionLog::Format(Transport::kUdp, Counts(RejectReason::kTooLarge, 1), seconds(10),
                             piece) ==
        "udp: rejected 1 event(s) since the last such warning (at most one every 10s; by "
        "reason: too_large 1); latest: reason too_large: event 1: as sent");
  const Rejection bare{std::nullopt, "", RejectReason::kTooLarge, ""};
  CHECK(RejectionLog::Format(Transport::kUdp, Counts(RejectReason::kTooLarge, 1), seconds(10),
                             bare)
            .ends_with("latest: reason too_large"));
}

TEST_CASE("RejectionLog: nothing rejected writes nothing and holds nothing back") {
  ScopedLogCapture log;
  llm_exporter::testing::FakeClock clock;
  RejectionLog rejections(clock);
  rejections.Record(Transport::kHttp, RejectCounts{}, Rejection{});
  CHECK(log.lines().empty());
  rejections.Record(Transport::kHttp, Counts(RejectReason::kWrongType, 1), Rejection{});
  REQUIRE(log.At(spdlog::level::warn).size() == 1);
  CHECK(log.At(spdlog::level::warn)[0].starts_with("http: rejected 1 event(s)"));
}

TEST_CASE("RejectionLog: concurrent rejections on one transport are all reported once") {
  ScopedLogCapture log;
  llm_exporter::testing::FakeClock clock;
  RejectionLog rejections(clock);
  constexpr int kThreads = 4, kEach = 1000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        rejections.Record(Transport::kUnixgram, Counts(RejectReason::kMissingField, 1),
                          Rejection{0, "model", RejectReason::kMissingField, "model is required"});
      }
    });
  }
  for (auto& thread : threads) thread.join();
  clock.Advance(seconds(10));
  rejections.Record(Transport::kUnixgram, Counts(RejectReason::kMissingField, 1),
                    Rejection{0, "model", RejectReason::kMissingField, "model is required"});
  const std::vector<std::string> warns = log.At(spdlog::level::warn);
  REQUIRE(warns.size() == 2);
  CHECK(warns[0].starts_with("unixgram: rejected 1 event(s)"));
  CHECK(warns[1] ==
        "unixgram: rejected 4000 event(s) since the last such warning (at most one every 10s; "
        "by reason: missing_field 4000); latest: event 0 of its batch, field model, reason "
        "missing_field: model is required");
}

}  // namespace
}  // namespace llm_exporter::pipeline
