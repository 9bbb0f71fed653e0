#include "transport/http/events_response.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <cstring>

namespace llm_exporter::transport {
namespace {

// `text` copied to `at`; returns the end.
char* Put(char* at, std::string_view text) {
  std::memcpy(at, text.data(), text.size());
  return at + text.size();
}

constexpr std::size_t kMaxDigits = 20;  // of a 64-bit std::size_t
static_assert(sizeof(std::size_t) <= 8);

char* PutNumber(char* at, std::size_t value) {
  return std::to_chars(at, at + kMaxDigits, value).ptr;
}

constexpr std::string_view kAccepted = R"({"accepted":)";
constexpr std::string_view kNoErrors = R"(,"errors":[])";
constexpr std::string_view kTruncated = R"(,"errors_truncated":true)";
constexpr std::string_view kRejected = R"(,"rejected":)";
constexpr std::string_view kEnd = "}\n";
constexpr std::size_t kLongest = kAccepted.size() + kMaxDigits + kNoErrors.size() +
                                 kTruncated.size() + kRejected.size() + kMaxDigits + kEnd.size();

}  // namespace

EventsResponse::EventsResponse(const IngestResult& result) {
  // Every rejection is counted, the first ones listed: "errors_truncated" says some are not.
  const bool truncated = result.errors.size() < result.rejected;
  if (result.errors.empty()) {
    static_assert(kLongest <= std::tuple_size_v<decltype(inline_)>);
    char* at = inline_.data();
    at = Put(at, kAccepted);
    at = PutNumber(at, result.accepted);
    at = Put(at, kNoErrors);
    if (truncated) at = Put(at, kTruncated);
    at = Put(at, kRejected);
    at = PutNumber(at, result.rejected);
    at = Put(at, kEnd);
    body_ = std::string_view(inline_.data(), static_cast<std::size_t>(at - inline_.data()));
    return;
  }
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
  if (truncated) body["errors_truncated"] = true;
  built_ = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  body_ = built_;
}

}  // namespace llm_exporter::transport
