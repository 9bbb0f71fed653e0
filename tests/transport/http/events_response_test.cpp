#include "transport/http/events_response.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <limits>
#include <string>

namespace llm_exporter::transport {
namespace {

// The answer as it was built before the inline writer: an nlohmann::json object, dumped. Every
// answer must keep these bytes.
std::string NlohmannAnswer(const IngestResult& result) {
  nlohmann::json errors = nlohmann::json::array();
  for (const EventError& e : result.errors) {
    errors.push_back({{"index", e.index},
                      {"field", e.field},
                      {"reason", RejectReasonName(e.reason)},
                      {"message", e.message}});
  }
  nlohmann::json body = {{"accepted", result.accepted},
                         {"rejected", result.rejected},
                         {"errors", std::move(errors)}};
  if (result.errors.size() < result.rejected) body["errors_truncated"] = true;
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

IngestResult Counts(std::size_t accepted, std::size_t rejected) {
  IngestResult result;
  result.accepted = accepted;
  result.rejected = rejected;
  return result;
}

TEST_CASE("EventsResponse: every event accepted, the keys in nlohmann's sorted order") {
  CHECK(EventsResponse(Counts(1, 0)).body() == "{\"accepted\":1,\"errors\":[],\"rejected\":0}\n");
  CHECK(EventsResponse(Counts(0, 0)).body() == "{\"accepted\":0,\"errors\":[],\"rejected\":0}\n");
  CHECK(EventsResponse(Counts(1000, 0)).body() ==
        "{\"accepted\":1000,\"errors\":[],\"rejected\":0}\n");
}

TEST_CASE("EventsResponse: rejections with no error listed say the list is truncated") {
  CHECK(EventsResponse(Counts(2, 3)).body() ==
        "{\"accepted\":2,\"errors\":[],\"errors_truncated\":true,\"rejected\":3}\n");
}

TEST_CASE("EventsResponse: the inline answers are byte for byte nlohmann's") {
  constexpr std::size_t kMax = std::numeric_limits<std::size_t>::max();
  for (const std::size_t accepted : {std::size_t{0}, std::size_t{1}, std::size_t{9},
                                     std::size_t{10}, std::size_t{123456789}, kMax - 1, kMax}) {
    for (const std::size_t rejected : {std::size_t{0}, std::size_t{1}, std::size_t{99}, kMax}) {
      const IngestResult result = Counts(accepted, rejected);
      CAPTURE(accepted);
      CAPTURE(rejected);
      CHECK(EventsResponse(result).body() == NlohmannAnswer(result));
    }
  }
}

TEST_CASE("EventsResponse: listed errors are escaped as nlohmann escapes them") {
  IngestResult result = Counts(1, 3);
  result.errors.push_back({0, "input_tokens", RejectReason::kInvalidValue,
                           "event 0: input_tokens must be a non-negative integer, got -5"});
  result.errors.push_back({2, "model", RejectReason::kWrongType,
                           "event 2: model \"a\\\"b\" \x01 bad \xff utf-8"});
  const std::string expected = NlohmannAnswer(result);
  CHECK(EventsResponse(result).body() == expected);
  CHECK(expected.find("\"errors_truncated\":true") != std::string::npos);
  result.rejected = 2;  // every rejection listed: no "errors_truncated"
  CHECK(EventsResponse(result).body() == NlohmannAnswer(result));
  CHECK(EventsResponse(result).body().find("errors_truncated") == std::string_view::npos);
}

}  // namespace
}  // namespace llm_exporter::transport
