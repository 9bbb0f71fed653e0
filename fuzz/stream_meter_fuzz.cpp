// Fuzzes the meter (src/meter/) with the bytes an upstream or a client could send: the SSE framer
// and the stream meter on a stream cut at input-chosen points, and the body readers. Nothing may
// crash; the framer hands over exactly the bytes fed, in the same events wherever they are cut;
// the meter's rewrites only remove bytes; InjectStreamUsage returns JSON that asks for usage.
#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.h"
#include "meter/operation.h"
#include "meter/request_facts.h"
#include "meter/response_reader.h"
#include "meter/sse_framer.h"
#include "meter/stream_meter.h"

namespace {

using llm_exporter::fuzz::Require;
using llm_exporter::meter::ApiKind;
using llm_exporter::meter::InjectStreamUsage;
using llm_exporter::meter::Metered;
using llm_exporter::meter::Operation;
using llm_exporter::meter::ReadRequest;
using llm_exporter::meter::ReadResponse;
using llm_exporter::meter::SseFramer;
using llm_exporter::meter::StreamMeter;

constexpr Operation kOperations[] = {Operation::kOther,      Operation::kChat,
                                     Operation::kCompletion, Operation::kResponses,
                                     Operation::kEmbeddings, Operation::kMessages};

struct Framed {
  std::vector<std::string> events;
  std::string client;  // what the client gets
  Metered metered;
  int first_content = 0;
};

Framed Relay(std::string_view stream, const std::vector<std::size_t>& cuts, ApiKind kind,
             Operation op, bool strip, std::size_t max_event_bytes) {
  SseFramer framer(max_event_bytes);
  StreamMeter meter(kind, op, strip);
  Framed out;
  std::string rewritten;
  const auto on_event = [&](std::string_view raw, bool oversize) {
    Require(!raw.empty(), "the framer handed over an empty event");
    Require(oversize || raw.size() <= max_event_bytes, "an event over the limit is not flagged");
    out.events.emplace_back(raw);
    switch (meter.OnEvent(raw, &rewritten)) {
      case StreamMeter::Action::kForward:
        out.client.append(raw);
        break;
      case StreamMeter::Action::kDrop:
        Require(strip, "an event dropped without stripping");
        break;
      case StreamMeter::Action::kRewrite: {
        Require(strip, "an event rewritten without stripping");
        Require(rewritten.size() < raw.size(), "a rewrite that does not shorten the event", raw);
        // The rewrite removes one run of bytes: a prefix and a suffix of the raw event remain.
        std::size_t prefix = 0;
        while (prefix < rewritten.size() && rewritten[prefix] == raw[prefix]) ++prefix;
        const std::string_view tail = std::string_view(rewritten).substr(prefix);
        Require(raw.ends_with(tail), "a rewrite that changes more than one run of bytes", raw);
        out.client.append(rewritten);
        break;
      }
    }
    if (meter.first_content()) ++out.first_content;
  };
  std::size_t at = 0;
  for (const std::size_t cut : cuts) {
    framer.Feed(stream.substr(at, cut - at), on_event);
    at = cut;
  }
  framer.Feed(stream.substr(at), on_event);
  framer.Finish(on_event);
  Require(framer.buffered() == 0, "Finish left bytes behind");
  Require(out.first_content <= 1, "first content flagged more than once");
  out.metered = meter.result();
  return out;
}

void CheckInjection(std::string_view body) {
  const std::optional<std::string> injected = InjectStreamUsage(body);
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  const bool object = parser.parse(body.data(), body.size()).get(root) == simdjson::SUCCESS &&
                      root.is_object();
  Require(injected.has_value() == object, "InjectStreamUsage disagrees on what is an object", body);
  if (!injected) return;
  Require(parser.parse(injected->data(), injected->size()).get(root) == simdjson::SUCCESS &&
              root.is_object(),
          "InjectStreamUsage wrote invalid JSON", *injected);
  Require(ReadRequest(*injected).include_usage, "the injected body does not ask for usage",
          *injected);
  const auto before = ReadRequest(body);
  const auto after = ReadRequest(*injected);
  Require(before.model == after.model && before.user == after.user &&
              before.stream == after.stream,
          "injection changed another field", *injected);
}

void Check(const uint8_t* data, std::size_t size) {
  if (size < 3) return;
  const uint8_t mode = data[0];
  const std::size_t cut_a = data[1];
  const std::size_t cut_b = data[2];
  const std::string_view input(reinterpret_cast<const char*>(data + 3), size - 3);

  const ApiKind kind = (mode & 1) ? ApiKind::kAnthropic : ApiKind::kOpenAi;
  const Operation op = kOperations[(mode >> 1) % 6];
  const bool strip = (mode & 0x10) != 0;

  // The body readers on the whole input.
  ReadResponse(kind, op, input);
  ReadRequest(input);
  CheckInjection(input);

  // The stream, whole and cut at two input-chosen points (scaled over the input).
  const std::size_t a = input.size() * cut_a / 255;
  const std::size_t b = a + (input.size() - a) * cut_b / 255;
  const Framed whole = Relay(input, {}, kind, op, strip, SseFramer::kDefaultMaxEventBytes);
  const Framed cut = Relay(input, {a, b}, kind, op, strip, SseFramer::kDefaultMaxEventBytes);
  std::string joined;
  for (const std::string& e : whole.events) joined += e;
  Require(joined == input, "the framer's events are not the bytes fed");
  Require(whole.events == cut.events, "the events depend on where the stream was cut");
  Require(whole.client == cut.client, "what the client gets depends on the cuts");
  Require(whole.metered.model == cut.metered.model && whole.metered.usage == cut.metered.usage &&
              whole.metered.error == cut.metered.error &&
              whole.metered.error_type == cut.metered.error_type,
          "what is metered depends on the cuts");
  if (!strip) Require(whole.client == input, "a stream changed without stripping");

  // A small limit: oversize pieces still add up to the input.
  const Framed small = Relay(input, {a, b}, kind, op, strip, 64);
  joined.clear();
  for (const std::string& e : small.events) joined += e;
  Require(joined == input, "oversize pieces are not the bytes fed");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  llm_exporter::fuzz::RunOnSmallStack([&] { Check(data, size); });
  return 0;
}
