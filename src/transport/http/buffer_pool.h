// Request bodies are read into buffers lent from a pool and given back once decoded, so the
// memory they hold follows the requests in flight rather than the worker threads that once
// served a large one (a thread_local buffer per worker kept up to 32 MiB in each of them).
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <vector>

namespace llm_exporter::transport {

// Thread-safe. Keeps at most `max_idle` idle buffers, and none larger than `max_idle_bytes`:
// a larger one is freed on return (glibc hands such blocks straight back to the kernel; see
// main.cpp's malloc set-up).
class BufferPool {
 public:
  BufferPool(std::size_t max_idle, std::size_t max_idle_bytes)
      : max_idle_(max_idle), max_idle_bytes_(max_idle_bytes) {}

  // An empty buffer, with the capacity it had when it was last returned.
  std::string Take();
  void Return(std::string buffer);

  // Bytes held by idle buffers (their capacities).
  std::size_t idle_bytes() const;

 private:
  const std::size_t max_idle_;
  const std::size_t max_idle_bytes_;
  mutable std::mutex mu_;
  std::vector<std::string> idle_;
};

// Takes a buffer for one scope and returns it at the end.
class PooledBuffer {
 public:
  explicit PooledBuffer(BufferPool& pool) : pool_(pool), buffer_(pool.Take()) {}
  ~PooledBuffer() { pool_.Return(std::move(buffer_)); }
  PooledBuffer(const PooledBuffer&) = delete;
  PooledBuffer& operator=(const PooledBuffer&) = delete;
  std::string& operator*() { return buffer_; }
  std::string* operator->() { return &buffer_; }

 private:
  BufferPool& pool_;
  std::string buffer_;
};

}  // namespace llm_exporter::transport
