#include "transport/unix/line_decode_pool.h"

#include <doctest/doctest.h>

#include <cstring>
#include <algorithm>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace llm_exporter::transport {
namespace {

// Thread-safe: records which numbered lines arrived and on how many threads.
class CountingSink final : public LineSink {
 public:
  explicit CountingSink(std::size_t lines) : seen(lines, 0) {}
  void OnLines(std::string_view lines, std::size_t readable) override {
    std::lock_guard<std::mutex> lock(mu);
    if (readable < lines.size()) short_readable = true;
    threads.insert(std::this_thread::get_id());
    std::size_t start = 0;
    while (start < lines.size()) {
      const std::size_t end = lines.find('\n', start);
      ++seen.at(std::stoul(std::string(lines.substr(start, end - start))));
      start = end + 1;
    }
  }
  void OnLineTooLong() override {}

  std::mutex mu;
  std::vector<int> seen;
  std::set<std::thread::id> threads;
  bool short_readable = false;
};

// Submits `chunks` chunks of two runs of three numbered lines each, then drains.
void SubmitAll(LineDecodePool& pool, std::size_t chunks) {
  std::size_t next = 0;
  for (std::size_t c = 0; c < chunks; ++c) {
    LineChunk* chunk = pool.Acquire();
    REQUIRE(chunk->runs.empty());
    std::string text;
    for (int run = 0; run < 2; ++run) {
      const std::size_t offset = text.size();
      for (int line = 0; line < 3; ++line) text += std::to_string(next++) + "\n";
      chunk->runs.emplace_back(offset, text.size() - offset);
    }
    REQUIRE(text.size() <= chunk->size);
    std::memcpy(chunk->data.get(), text.data(), text.size());
    if (c % 10 == 9) {
      chunk->runs.clear();  // a read that framed nothing goes back unused...
      next -= 6;
      pool.Release(chunk);
    } else {
      pool.Submit(chunk);  // ...every other chunk is decoded
    }
  }
  pool.Drain();
}

TEST_CASE("LineDecodePool: every submitted run is decoded exactly once, by the workers and the "
          "reader") {
  constexpr std::size_t kChunks = 20000;
  constexpr std::size_t kLines = kChunks / 10 * 9 * 6;
  for (const std::size_t workers : {0, 1, 3}) {
    CAPTURE(workers);
    CountingSink sink(kLines);
    {
      LineDecodePool pool(workers, 256, sink);
      CHECK(pool.workers() == workers);
      SubmitAll(pool, kChunks);
      // Drained: every line is in, once.
      std::lock_guard<std::mutex> lock(sink.mu);
      CHECK(std::count(sink.seen.begin(), sink.seen.end(), 1) == static_cast<long>(kLines));
      CHECK_FALSE(sink.short_readable);
      if (workers == 0) CHECK(sink.threads.size() == 1);
      if (workers > 0) CHECK(sink.threads.size() >= 2);  // the workers took part
    }
  }
}

TEST_CASE("LineDecodePool: destroying the pool decodes what is still queued") {
  CountingSink sink(6);
  {
    LineDecodePool pool(1, 64, sink);
    LineChunk* chunk = pool.Acquire();
    std::memcpy(chunk->data.get(), "0\n1\n2\n3\n4\n5\n", 12);
    chunk->runs.emplace_back(0, 6);
    chunk->runs.emplace_back(6, 6);
    pool.Submit(chunk);
  }
  CHECK(sink.seen == std::vector<int>(6, 1));
}

}  // namespace
}  // namespace llm_exporter::transport
