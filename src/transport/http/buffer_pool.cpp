#include "transport/http/buffer_pool.h"

#include <utility>

namespace llm_exporter::transport {

std::string BufferPool::Take() {
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.empty()) return {};
  std::string buffer = std::move(idle_.back());
  idle_.pop_back();
  return buffer;
}

void BufferPool::Return(std::string buffer) {
  if (buffer.capacity() > max_idle_bytes_) return;  // freed here, outside the lock
  buffer.clear();
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < max_idle_) idle_.push_back(std::move(buffer));
}

std::size_t BufferPool::idle_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::size_t bytes = 0;
  for (const std::string& buffer : idle_) bytes += buffer.capacity();
  return bytes;
}

}  // namespace llm_exporter::transport
