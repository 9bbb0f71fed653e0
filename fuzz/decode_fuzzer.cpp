// Fuzzes EventDecoder with every body form (object, array, NDJSON, socket lines): it must never
// crash, and whatever it accepts must be a valid event, counted exactly once, with the same
// result whether the body is parsed in place or copied, and however often the decoder is reused.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "decode/event_decoder.h"
#include "fuzz_support.h"
#include "llm_exporter/event_sink.h"

namespace {

using llm_exporter::EventSink;
using llm_exporter::LlmCall;
using llm_exporter::QualityScore;
using llm_exporter::RejectReason;
using llm_exporter::decode::DecodeLimits;
using llm_exporter::decode::DecodeResult;
using llm_exporter::decode::EventDecoder;
using llm_exporter::decode::kPadding;
using llm_exporter::fuzz::IsValidUtf8;
using llm_exporter::fuzz::Require;

constexpr double kMaxMagnitude = 9007199254740992.0;  // 2^53, the decoder's bound

// Checks each event as it arrives and keeps a copy of it as text, so that runs can be compared
// after the decoder has reused its buffers.
class CheckingSink final : public EventSink {
 public:
  explicit CheckingSink(const DecodeLimits& limits) : limits_(limits) {}

  void OnLlmCall(const LlmCall& call) override {
    CheckLabel(call.model, /*required=*/true);
    CheckLabel(call.endpoint, false);
    if (call.status != "success") CheckLabel(call.status, true);  // the default is not checked
    CheckLabel(call.user_id, false);
    CheckLabel(call.team_id, false);
    Require(call.trace_id.size() <= limits_.max_trace_id_bytes, "trace_id over its limit");
    Require(IsValidUtf8(call.trace_id), "trace_id not UTF-8");
    Require(call.input_tokens <= (uint64_t{1} << 53), "input_tokens over 2^53");
    Require(call.output_tokens <= (uint64_t{1} << 53), "output_tokens over 2^53");
    Require(call.cached_input_tokens <= call.input_tokens, "cached_input_tokens > input_tokens");
    Require(call.cached_input_tokens + call.cache_write_input_tokens <= call.input_tokens,
            "cached + cache_write input tokens > input_tokens");
    Require(call.reasoning_tokens <= call.output_tokens, "reasoning_tokens > output_tokens");
    Require(call.usage_known || (call.input_tokens == 0 && call.output_tokens == 0),
            "token counts on a call without usage");
    CheckNumber(call.latency_seconds, 0);
    if (call.ttft_seconds) CheckNumber(*call.ttft_seconds, 0);
    if (call.caller_cost_pico) Require(*call.caller_cost_pico >= 0, "negative caller cost");
    events.push_back("call|" + std::string(call.model) + "|" + std::string(call.endpoint) + "|" +
                     std::string(call.status) + "|" + std::string(call.user_id) + "|" +
                     std::string(call.team_id) + "|" + std::string(call.trace_id) + "|" +
                     std::to_string(call.input_tokens) + "|" + std::to_string(call.output_tokens) +
                     "|" + std::to_string(call.cached_input_tokens) + "|" +
                     Bits(call.latency_seconds) + "|" +
                     (call.ttft_seconds ? Bits(*call.ttft_seconds) : "-") + "|" +
                     (call.caller_cost_pico ? std::to_string(*call.caller_cost_pico) : "-") + "|" +
                     std::to_string(static_cast<int>(call.cache)));
  }

  void OnQualityScore(const QualityScore& score) override {
    CheckLabel(score.model, true);
    CheckLabel(score.evaluator, true);
    Require(score.trace_id.size() <= limits_.max_trace_id_bytes, "trace_id over its limit");
    CheckNumber(score.score, -kMaxMagnitude);
    events.push_back("quality|" + std::string(score.model) + "|" + std::string(score.evaluator) +
                     "|" + std::string(score.trace_id) + "|" + Bits(score.score));
  }

  std::vector<std::string> events;

 private:
  void CheckLabel(std::string_view value, bool required) {
    Require(!required || !value.empty(), "a required label is empty");
    Require(value.size() <= limits_.max_label_bytes, "a label is over the limit", value);
    Require(IsValidUtf8(value), "a label is not valid UTF-8", value);
  }
  static void CheckNumber(double value, double min) {
    Require(std::isfinite(value), "a number is not finite");
    Require(value >= min && std::fabs(value) <= kMaxMagnitude, "a number is out of its range");
  }
  static std::string Bits(double value) {
    uint64_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    return std::to_string(bits);
  }

  const DecodeLimits& limits_;
};

// What must hold of any result, whatever the input.
void CheckResult(const DecodeResult& result, const CheckingSink& sink, const DecodeLimits& limits,
                 std::string_view body) {
  if (!result.ok()) {
    Require(result.accepted == 0 && result.rejected == 0 && result.errors.empty(),
            "a refused body still counted events", body);
    Require(sink.events.empty(), "a refused body still handed events on", body);
    return;
  }
  Require(sink.events.size() == result.accepted, "accepted differs from the events handed on",
          body);
  uint64_t by_reason = 0;
  for (std::size_t r = 0; r < result.rejected_by_reason.size(); ++r) {
    by_reason += result.rejected_by_reason[r];
  }
  Require(by_reason == result.rejected, "rejected differs from the sum over reasons", body);
  Require(result.rejected_by_reason[static_cast<std::size_t>(RejectReason::kTooLarge)] == 0,
          "the decoder reported too_large");
  Require(
      result.errors.size() == std::min<std::size_t>(result.rejected, limits.max_reported_errors),
      "errors listed do not match the rejections", body);
  const std::size_t events = result.accepted + result.rejected;
  for (std::size_t i = 0; i < result.errors.size(); ++i) {
    const auto& e = result.errors[i];
    Require(e.index < events, "an error's index is past the last event", body);
    Require(i == 0 || e.index > result.errors[i - 1].index, "error indices not increasing", body);
    const std::string prefix = "event " + std::to_string(e.index) + ": ";
    Require(e.message.starts_with(prefix), "an error message does not name its event", e.message);
    Require(e.message.size() < 512, "an error message is unbounded", e.message);
    Require(e.field.size() <= 64, "an error's field is unbounded", e.field);
  }
}

bool SameResult(const DecodeResult& a, const DecodeResult& b) {
  if (a.body_error != b.body_error || a.accepted != b.accepted || a.rejected != b.rejected ||
      a.rejected_by_reason != b.rejected_by_reason || a.errors.size() != b.errors.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.errors.size(); ++i) {
    if (a.errors[i].index != b.errors[i].index || a.errors[i].field != b.errors[i].field ||
        a.errors[i].reason != b.errors[i].reason || a.errors[i].message != b.errors[i].message) {
      return false;
    }
  }
  return true;
}

void CheckOne(std::string_view body) {
  const std::size_t size = body.size();
  static DecodeLimits defaults;
  static DecodeLimits tight = [] {
    DecodeLimits l;
    l.max_label_bytes = 4;
    l.max_trace_id_bytes = 3;
    l.max_reported_errors = 2;
    return l;
  }();
  static EventDecoder reused(defaults);  // keeps its buffers from one input to the next

  // 1. A body without room for padding (the decoder copies it).
  CheckingSink copied_sink(defaults);
  const DecodeResult copied = reused.Decode(body, copied_sink);
  CheckResult(copied, copied_sink, defaults, body);

  // 2. The same body parsed in place, by a fresh decoder: same result, same events.
  std::string padded(body);
  padded.reserve(size + kPadding);
  {
    EventDecoder fresh(defaults);
    CheckingSink sink(defaults);
    const DecodeResult in_place = fresh.Decode(padded, padded.capacity(), sink);
    CheckResult(in_place, sink, defaults, body);
    Require(SameResult(copied, in_place), "in-place and copied decoding differ", body);
    Require(sink.events == copied_sink.events, "in-place and copied events differ", body);
  }

  // 3. The reused decoder again: no state carried over from the previous body.
  {
    CheckingSink sink(defaults);
    const DecodeResult again = reused.Decode(padded, padded.capacity(), sink);
    Require(SameResult(copied, again), "decoding twice gives different results", body);
    Require(sink.events == copied_sink.events, "decoding twice gives different events", body);
  }

  // 4. As socket lines, with default and with tight limits.
  {
    CheckingSink sink(defaults);
    const DecodeResult lines = reused.DecodeLines(body, body.size(), sink);
    Require(lines.ok(), "DecodeLines refused a body as a whole", body);
    CheckResult(lines, sink, defaults, body);
  }
  {
    EventDecoder strict(tight);
    CheckingSink sink(tight);
    CheckResult(strict.Decode(body, sink), sink, tight, body);
    CheckingSink line_sink(tight);
    CheckResult(strict.DecodeLines(body, body.size(), line_sink), line_sink, tight, body);
  }
}

}  // namespace

// On a small stack: nesting thousands deep must not recurse in the decoder.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  llm_exporter::fuzz::RunOnSmallStack([&] { CheckOne(body); });
  return 0;
}
