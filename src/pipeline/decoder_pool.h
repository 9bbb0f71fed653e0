// Idle decoders kept warm between requests, for the event and the span pipelines. Decoders are not
// thread-safe and own warm buffers: a call takes one, uses it alone, and hands it back.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace llm_exporter::pipeline {

// Thread-safe. Keeps at most `max_idle` decoders, each holding at most `max_idle_bytes` as its
// (decoder.*HeldBytes)() says, so what the pool keeps follows the usual request rather than the
// most requests ever in flight at once or the largest body ever posted: a bigger decoder is freed
// on return. New decoders are made with Decoder(limits).
template <typename Decoder, typename Limits, std::size_t (Decoder::*HeldBytes)() const>
class DecoderPool {
 public:
  DecoderPool(Limits limits, std::size_t max_idle, std::size_t max_idle_bytes)
      : limits_(std::move(limits)), max_idle_(max_idle), max_idle_bytes_(max_idle_bytes) {}

  std::unique_ptr<Decoder> Take() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!idle_.empty()) {
        std::unique_ptr<Decoder> decoder = std::move(idle_.back());
        idle_.pop_back();
        return decoder;
      }
    }
    return std::make_unique<Decoder>(limits_);
  }

  void Return(std::unique_ptr<Decoder> decoder) {
    if (((*decoder).*HeldBytes)() > max_idle_bytes_) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (idle_.size() < max_idle_) idle_.push_back(std::move(decoder));
  }

 private:
  const Limits limits_;
  const std::size_t max_idle_;
  const std::size_t max_idle_bytes_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Decoder>> idle_;
};

}  // namespace llm_exporter::pipeline
