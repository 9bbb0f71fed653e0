#include "transport/unix/line_decode_pool.h"

#include <pthread.h>

#include <spdlog/spdlog.h>

#include <exception>
#include <string_view>

namespace llm_exporter::transport {

LineDecodePool::LineDecodePool(std::size_t workers, std::size_t chunk_bytes, LineSink& sink)
    : sink_(sink) {
  // Two chunks a worker keep every worker busy while the reader fills the next ones.
  const std::size_t chunks = 2 * workers + 2;
  for (std::size_t i = 0; i < chunks; ++i) {
    auto chunk = std::make_unique<LineChunk>();
    chunk->data = std::make_unique<char[]>(chunk_bytes);
    chunk->size = chunk_bytes;
    free_.push_back(chunk.get());
    chunks_.push_back(std::move(chunk));
  }
  for (std::size_t i = 0; i < workers; ++i) {
    workers_.emplace_back([this] { Work(); });
    pthread_setname_np(workers_.back().native_handle(), "llmx-decode");
  }
}

LineDecodePool::~LineDecodePool() {
  Drain();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  queued_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

LineChunk* LineDecodePool::Acquire() {
  std::unique_lock<std::mutex> lock(mu_);
  while (free_.empty()) {
    if (!HelpOne(lock)) returned_.wait(lock);
  }
  LineChunk* chunk = free_.back();
  free_.pop_back();
  return chunk;
}

void LineDecodePool::Submit(LineChunk* chunk) {
  if (workers_.empty()) {
    Decode(chunk);
    Release(chunk);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(chunk);
  }
  queued_.notify_one();
}

void LineDecodePool::Release(LineChunk* chunk) {
  chunk->runs.clear();
  std::lock_guard<std::mutex> lock(mu_);
  free_.push_back(chunk);
}

void LineDecodePool::Drain() {
  std::unique_lock<std::mutex> lock(mu_);
  while (free_.size() < chunks_.size()) {
    if (!HelpOne(lock)) returned_.wait(lock);
  }
}

bool LineDecodePool::HelpOne(std::unique_lock<std::mutex>& lock) {
  if (queue_.empty()) return false;
  LineChunk* chunk = queue_.front();
  queue_.pop_front();
  lock.unlock();
  Decode(chunk);
  chunk->runs.clear();
  lock.lock();
  free_.push_back(chunk);
  return true;
}

void LineDecodePool::Work() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    queued_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (!HelpOne(lock)) return;  // stopping, and nothing left
    returned_.notify_one();
  }
}

void LineDecodePool::Decode(LineChunk* chunk) {
  try {
    for (const auto& [offset, length] : chunk->runs) {
      sink_.OnLines(std::string_view(chunk->data.get() + offset, length), chunk->size - offset);
    }
  } catch (const std::exception& e) {
    // Last resort: the data path does not throw, but if it ever does (out of memory), lose
    // this chunk's lines and keep serving.
    spdlog::error("dropped a chunk of lines after an unexpected error: {}", e.what());
  }
}

}  // namespace llm_exporter::transport
