#include "transport/common/line_framer.h"

#include <doctest/doctest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "decode/event_decoder.h"

namespace llm_exporter::transport {
namespace {

constexpr const char* kTooLong = "<too long>";

// Keeps each line handed on (without its '\n'), a marker for each dropped line, and the calls.
class CapturingLineSink final : public LineSink {
 public:
  void OnLines(std::string_view lines, std::size_t readable) override {
    ++calls;
    runs.emplace_back(lines);
    if (readable < lines.size()) padding_ok = false;
    if (from_buffer && readable < lines.size() + decode::kPadding) padding_ok = false;
    std::size_t start = 0;
    while (start < lines.size()) {
      std::size_t end = lines.find('\n', start);
      if (end == std::string_view::npos) end = lines.size();
      items.emplace_back(lines.substr(start, end - start));
      start = end + 1;
    }
  }
  void OnLineTooLong() override { items.emplace_back(kTooLong); }

  std::vector<std::string> items;
  std::vector<std::string> runs;
  int calls = 0;
  bool from_buffer = true;  // runs straight from the read buffer must leave room for padding
  bool padding_ok = true;
};

// Feeds `reads` to a framer the way UnixStreamListener does: each read lands in one shared
// buffer after the partial line that Restore() put back.
class Reader {
 public:
  explicit Reader(std::size_t max_line_bytes, std::size_t max_read = 4096)
      : framer(max_line_bytes),
        capacity_(max_line_bytes + max_read),
        buffer_(std::make_unique<char[]>(capacity_ + decode::kPadding)) {}

  void Read(const std::string& bytes) {
    REQUIRE(bytes.size() <= capacity_ - framer.partial_size());
    const std::size_t kept = framer.Restore(buffer_.get());
    std::copy(bytes.begin(), bytes.end(), buffer_.get() + kept);
    framer.Frame(buffer_.get(), kept + bytes.size(), capacity_ + decode::kPadding, sink);
  }
  void Finish() {
    sink.from_buffer = false;
    framer.Finish(sink);
  }

  LineFramer framer;
  CapturingLineSink sink;

 private:
  std::size_t capacity_;
  std::unique_ptr<char[]> buffer_;
};

using Items = std::vector<std::string>;

TEST_CASE("LineFramer: a line split across reads is handed on whole once its newline arrives") {
  Reader reader(1024);
  reader.Read("{\"a\":");
  CHECK(reader.sink.items.empty());
  CHECK(reader.framer.partial_size() == 5);
  reader.Read("1}");
  CHECK(reader.sink.items.empty());
  reader.Read("\n{\"b\"");
  CHECK(reader.sink.items == Items{"{\"a\":1}"});
  reader.Read(":2}\n");
  CHECK(reader.sink.items == Items{"{\"a\":1}", "{\"b\":2}"});
  CHECK(reader.framer.partial_size() == 0);
  CHECK(reader.sink.padding_ok);
}

TEST_CASE("LineFramer: all complete lines of one read go on in one call, the rest waits") {
  Reader reader(1024);
  reader.Read("one\ntwo\nthree\nfou");
  CHECK(reader.sink.calls == 1);
  CHECK(reader.sink.runs == Items{"one\ntwo\nthree\n"});
  reader.Read("r\n");
  CHECK(reader.sink.calls == 2);
  CHECK(reader.sink.runs.back() == "four\n");
}

TEST_CASE("LineFramer: CRLF ends and blank lines pass through untouched for the decoder") {
  Reader reader(1024);
  reader.Read("{\"a\":1}\r\n\r\n\n{\"b\":2}\r");
  reader.Read("\n");
  CHECK(reader.sink.items == Items{"{\"a\":1}\r", "\r", "", "{\"b\":2}\r"});
}

TEST_CASE("LineFramer: a line of exactly the limit is kept, one byte more is dropped") {
  Reader reader(8);
  reader.Read("12345678\n123456789\nok\n");
  CHECK(reader.sink.items == Items{"12345678", kTooLong, "ok"});
  // The good lines on either side of the dropped one still go on, in two runs.
  CHECK(reader.sink.runs == Items{"12345678\n", "ok\n"});
}

TEST_CASE("LineFramer: an over-long line spread over many reads is dropped once, and the next "
          "line is kept") {
  Reader reader(16);
  reader.Read("{\"first\":1}\n{\"long\":\"");
  CHECK(reader.sink.items == Items{"{\"first\":1}"});
  reader.Read(std::string(10, 'x'));  // 8 + 10 bytes: over the limit, no newline yet
  CHECK(reader.sink.items == Items{"{\"first\":1}", kTooLong});
  CHECK(reader.framer.skipping());
  CHECK(reader.framer.partial_size() == 0);
  reader.Read(std::string(100, 'y'));  // still the same line: nothing more is counted
  reader.Read("zz\"}\n{\"next\"");
  CHECK_FALSE(reader.framer.skipping());
  reader.Read(":2}\n");
  CHECK(reader.sink.items == Items{"{\"first\":1}", kTooLong, "{\"next\":2}"});
}

TEST_CASE("LineFramer: an over-long partial line is dropped as soon as it passes the limit") {
  Reader reader(16);
  reader.Read(std::string(17, 'x'));
  CHECK(reader.sink.items == Items{kTooLong});
  reader.Read("\n");
  reader.Finish();
  CHECK(reader.sink.items == Items{kTooLong});
}

TEST_CASE("LineFramer: at the end of the stream a last line without newline goes on") {
  Reader reader(1024);
  reader.Read("{\"a\":1}\n{\"b\":");
  reader.Read("2}");
  reader.Finish();
  CHECK(reader.sink.items == Items{"{\"a\":1}", "{\"b\":2}"});
  CHECK(reader.framer.partial_size() == 0);
  CHECK(reader.sink.padding_ok);
}

TEST_CASE("LineFramer: an over-long line cut off by the end of the stream is not decoded") {
  Reader reader(4);
  reader.Read("ab\n123456");
  reader.Finish();
  CHECK(reader.sink.items == Items{"ab", kTooLong});
}

TEST_CASE("LineFramer: any split of a stream into reads gives the same lines as one read") {
  // Lines of every length around the limit, including blank and over-long ones.
  constexpr std::size_t kMax = 40;
  std::mt19937 random(12345);
  std::string stream;
  Items expected;
  for (int i = 0; i < 2000; ++i) {
    const std::size_t length = std::uniform_int_distribution<std::size_t>(0, kMax + 20)(random);
    std::string line(length, static_cast<char>('a' + i % 26));
    stream += line + "\n";
    expected.push_back(length > kMax ? kTooLong : line);
  }
  for (const std::size_t max_read : {1, 2, 7, 41, 64, 1000}) {
    CAPTURE(max_read);
    Reader reader(kMax, max_read);
    std::size_t pos = 0;
    while (pos < stream.size()) {
      const std::size_t n = std::min(
          stream.size() - pos, std::uniform_int_distribution<std::size_t>(1, max_read)(random));
      reader.Read(stream.substr(pos, n));
      pos += n;
    }
    reader.Finish();
    CHECK(reader.sink.items == expected);
    CHECK(reader.sink.padding_ok);
  }
}

}  // namespace
}  // namespace llm_exporter::transport
