#include "loadgen/span_bodies.h"

#include <algorithm>

namespace llm_exporter::bench {

SpanBodies::SpanBodies(const EventMix& mix, SpanBodiesOptions options)
    : mix_(mix), options_(options) {
  options_.batch = std::max<std::size_t>(options_.batch, 1);
  options_.connections = std::max<std::size_t>(options_.connections, 1);
  batches_ = (options_.spans + options_.batch - 1) / options_.batch;
  if (mix_.size() % options_.batch == 0) pool_batches_ = mix_.size() / options_.batch;
  bodies_.resize(options_.connections);
  scratch_.resize(options_.connections);
  if (pool_batches_ == 0) return;
  for (std::size_t c = 0; c < options_.connections; ++c) {
    bodies_[c].resize(pool_batches_);
    // Connection c sends batches c, c + connections, ...: after pool_batches of them, it has
    // met every pool batch it will meet.
    for (uint64_t b = c, sent = 0; b < batches_ && sent < pool_batches_;
         b += options_.connections, ++sent) {
      if (SpansIn(b) != options_.batch) continue;
      auto& body = bodies_[c][b % pool_batches_];
      if (!body) {
        body = std::make_unique<SpanBatch>(mix_, (b % pool_batches_) * options_.batch,
                                           options_.batch, options_.batch_options);
      }
    }
  }
}

uint64_t SpanBodies::SpansIn(uint64_t b) const {
  return std::min<uint64_t>(options_.batch, options_.spans - b * options_.batch);
}

std::string_view SpanBodies::Prepare(std::size_t c, uint64_t b) {
  const uint64_t first = b * options_.batch;
  SpanBatch* body = nullptr;
  if (pool_batches_ > 0 && SpansIn(b) == options_.batch) body = bodies_[c][b % pool_batches_].get();
  if (body == nullptr) {
    scratch_[c] = std::make_unique<SpanBatch>(mix_, first, static_cast<std::size_t>(SpansIn(b)),
                                              options_.batch_options);
    body = scratch_[c].get();
  }
  body->Renumber(first);
  return body->bytes();
}

}  // namespace llm_exporter::bench
