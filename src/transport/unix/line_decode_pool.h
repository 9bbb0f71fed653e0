// Lets one stream listener use more than one core: its reads land in chunks from a fixed pool,
// and the runs of lines framed in a chunk are decoded on worker threads (and on the reading
// thread itself whenever the workers are behind) before the chunk goes back to the pool.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "transport/common/line_framer.h"

namespace llm_exporter::transport {

// A read buffer and the runs of complete lines framed in it.
struct LineChunk {
  std::unique_ptr<char[]> data;
  std::size_t size = 0;  // bytes readable from data, the decoder's padding included
  std::vector<std::pair<std::size_t, std::size_t>> runs;  // offset and length of each run
};

// Acquire(), Submit(), Release() and Drain() are called from one thread, the reader; the
// workers run inside, and hand runs to `sink`, which must be thread-safe.
class LineDecodePool {
 public:
  // `workers` threads (0: the reader decodes everything itself) and chunks of `chunk_bytes`.
  LineDecodePool(std::size_t workers, std::size_t chunk_bytes, LineSink& sink);
  ~LineDecodePool();
  LineDecodePool(const LineDecodePool&) = delete;
  LineDecodePool& operator=(const LineDecodePool&) = delete;

  // A free chunk with no runs. While none is free, the reader decodes queued chunks itself, or
  // waits for a worker to finish one: reading stops until decoding catches up.
  LineChunk* Acquire();
  // Queues the chunk's runs for decoding; it returns to the pool afterwards.
  void Submit(LineChunk* chunk);
  // Returns a chunk with nothing to decode.
  void Release(LineChunk* chunk);
  // Returns once every submitted chunk has been decoded.
  void Drain();

  std::size_t workers() const { return workers_.size(); }

 private:
  void Work();
  void Decode(LineChunk* chunk);
  // With mu_ held: decodes one queued chunk on this thread; false when none is queued.
  bool HelpOne(std::unique_lock<std::mutex>& lock);

  LineSink& sink_;
  std::vector<std::unique_ptr<LineChunk>> chunks_;
  std::mutex mu_;
  std::condition_variable queued_;    // a chunk was queued, or the pool is stopping
  std::condition_variable returned_;  // a chunk came back to free_
  std::deque<LineChunk*> queue_;
  std::vector<LineChunk*> free_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace llm_exporter::transport
