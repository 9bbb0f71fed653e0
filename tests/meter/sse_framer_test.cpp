#include "meter/sse_framer.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace llm_exporter::meter {
namespace {

struct Piece {
  std::string raw;
  bool oversize;
  bool operator==(const Piece&) const = default;
};

// Feeds `stream` cut at the given positions (ascending), then finishes.
std::vector<Piece> Frame(std::string_view stream, const std::vector<std::size_t>& cuts,
                         std::size_t max_event_bytes = SseFramer::kDefaultMaxEventBytes) {
  SseFramer framer(max_event_bytes);
  std::vector<Piece> pieces;
  const auto collect = [&](std::string_view raw, bool oversize) {
    pieces.push_back({std::string(raw), oversize});
  };
  std::size_t at = 0;
  for (const std::size_t cut : cuts) {
    framer.Feed(stream.substr(at, cut - at), collect);
    at = cut;
  }
  framer.Feed(stream.substr(at), collect);
  framer.Finish(collect);
  return pieces;
}

std::vector<Piece> Events(std::initializer_list<const char*> raws) {
  std::vector<Piece> pieces;
  for (const char* raw : raws) pieces.push_back({raw, false});
  return pieces;
}

TEST_CASE("SseFramer: events end at a blank line, terminator included") {
  const std::string stream =
      "event: message_start\ndata: {\"a\":1}\n\n: ping\n\ndata: [DONE]\n\n";
  CHECK(Frame(stream, {}) ==
        Events({"event: message_start\ndata: {\"a\":1}\n\n", ": ping\n\n", "data: [DONE]\n\n"}));
}

TEST_CASE("SseFramer: CRLF, CR and mixed line endings") {
  CHECK(Frame("data: a\r\n\r\ndata: b\r\nevent: x\r\n\r\n", {}) ==
        Events({"data: a\r\n\r\n", "data: b\r\nevent: x\r\n\r\n"}));
  CHECK(Frame("data: a\r\rdata: b\r\r", {}) == Events({"data: a\r\r", "data: b\r\r"}));
  CHECK(Frame("data: a\r\n\ndata: b\n\r\ndata: c\r\n\r", {}) ==
        Events({"data: a\r\n\n", "data: b\n\r\n", "data: c\r\n\r"}));
  // "\r\r\n": the blank line's ending is "\r\n", so the '\n' belongs to the first event.
  CHECK(Frame("data: a\r\r\ndata: b\n\n", {}) == Events({"data: a\r\r\n", "data: b\n\n"}));
}

TEST_CASE("SseFramer: an unfinished event waits for the next Feed, Finish hands it over") {
  SseFramer framer;
  std::vector<std::string> events;
  const auto collect = [&](std::string_view raw, bool oversize) {
    CHECK_FALSE(oversize);
    events.emplace_back(raw);
  };
  framer.Feed("data: {\"a\"", collect);
  CHECK(events.empty());
  CHECK(framer.buffered() == 10);
  framer.Feed(":1}\n", collect);
  CHECK(events.empty());
  framer.Feed("\ndata: tail", collect);
  CHECK(events == std::vector<std::string>{"data: {\"a\":1}\n\n"});
  CHECK(framer.buffered() == 10);
  framer.Finish(collect);
  CHECK(events == std::vector<std::string>{"data: {\"a\":1}\n\n", "data: tail"});
  CHECK(framer.buffered() == 0);
  // Finish resets: a new stream starts at a line start.
  framer.Feed("\n", collect);
  CHECK(events.back() == "\n");
}

TEST_CASE("SseFramer: a blank line ending in CR at the end of the bytes so far waits for one more") {
  SseFramer framer;
  std::vector<std::string> events;
  const auto collect = [&](std::string_view raw, bool) { events.emplace_back(raw); };
  framer.Feed("data: a\r\n\r", collect);
  CHECK(events.empty());
  framer.Feed("\ndata: b\r\r", collect);
  CHECK(events == std::vector<std::string>{"data: a\r\n\r\n"});
  framer.Feed("data: c", collect);
  CHECK(events == std::vector<std::string>{"data: a\r\n\r\n", "data: b\r\r"});
  framer.Finish(collect);
  CHECK(events.back() == "data: c");
}

// A multi-event stream of both providers, in each line-ending style, cut at every point: the
// events are the same as uncut. Then cut at every pair of points, and byte by byte.
TEST_CASE("SseFramer: every split point gives the same events") {
  const std::string lf =
      "event: message_start\n"
      "data: {\"type\":\"message_start\",\"message\":{\"model\":\"claude\"}}\n\n"
      "event: ping\ndata: {\"type\": \"ping\"}\n\n"
      ": keep-alive\n\n"
      "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n"
      "data: first\ndata: second\n\n"
      "data: [DONE]\n\n";
  std::string crlf;
  std::string cr;
  for (const char c : lf) {
    crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
    cr += c == '\n' ? '\r' : c;
  }
  for (const std::string& stream : {lf, crlf, cr}) {
    const std::vector<Piece> whole = Frame(stream, {});
    REQUIRE(whole.size() == 6);
    std::string joined;
    for (const Piece& p : whole) joined += p.raw;
    CHECK(joined == stream);
    for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
      CAPTURE(cut);
      REQUIRE(Frame(stream, {cut}) == whole);
    }
    for (std::size_t a = 0; a <= stream.size(); a += 3) {
      for (std::size_t b = a; b <= stream.size(); b += 5) {
        CAPTURE(a);
        CAPTURE(b);
        REQUIRE(Frame(stream, {a, b}) == whole);
      }
    }
    std::vector<std::size_t> every;
    for (std::size_t cut = 1; cut < stream.size(); ++cut) every.push_back(cut);
    CHECK(Frame(stream, every) == whole);
  }
}

TEST_CASE("SseFramer: an oversize event is handed over in flagged pieces, not kept growing") {
  SseFramer framer(16);
  std::vector<Piece> pieces;
  const auto collect = [&](std::string_view raw, bool oversize) {
    pieces.push_back({std::string(raw), oversize});
  };
  framer.Feed("data: 0123456789", collect);  // 16 bytes: at the limit, kept
  CHECK(pieces.empty());
  framer.Feed("abc", collect);  // 19: over it
  REQUIRE(pieces.size() == 1);
  CHECK(pieces[0] == Piece{"data: 0123456789abc", true});
  CHECK(framer.buffered() == 0);
  framer.Feed("def\n", collect);
  CHECK(pieces.size() == 1);
  framer.Feed("\ndata: ok\n\n", collect);
  // The rest of the oversize event is flagged too; the next event is not.
  REQUIRE(pieces.size() == 3);
  CHECK(pieces[1] == Piece{"def\n\n", true});
  CHECK(pieces[2] == Piece{"data: ok\n\n", false});
}

TEST_CASE("SseFramer: a complete event over the limit is flagged") {
  CHECK(Frame("data: 0123456789abcdef\n\ndata: x\n\n", {}, 16) ==
        std::vector<Piece>{{"data: 0123456789abcdef\n\n", true}, {"data: x\n\n", false}});
}

TEST_CASE("SseFramer: an oversize piece ending in a blank CR sends no empty event after it") {
  SseFramer framer(10);
  std::vector<Piece> pieces;
  const auto collect = [&](std::string_view raw, bool oversize) {
    pieces.push_back({std::string(raw), oversize});
  };
  framer.Feed("data: 0123456\r\r", collect);
  REQUIRE(pieces.size() == 1);
  CHECK(pieces[0] == Piece{"data: 0123456\r\r", true});
  framer.Feed("data: b\n\n", collect);
  REQUIRE(pieces.size() == 2);
  CHECK(pieces[1] == Piece{"data: b\n\n", false});
}

}  // namespace
}  // namespace llm_exporter::meter
