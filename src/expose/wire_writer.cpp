#include "expose/wire_writer.h"

#include <algorithm>

namespace llm_exporter::expose {
namespace {

// resize() clears what it adds, so the string grows by steps much larger than a field; within its
// capacity that allocates nothing, and beyond it std::string at least doubles the capacity, so
// allocations stay logarithmic in the size of the scrape.
constexpr std::size_t kGrowStep = 256 * 1024;

}  // namespace

void WireWriter::Grow(std::size_t n) {
  const std::size_t used = size();
  out_->resize(used + std::max(n, kGrowStep));
  pos_ = out_->data() + used;
  end_ = out_->data() + out_->size();
}

void WireWriter::CloseLong(std::size_t mark, std::size_t length) {
  char buffer[kMaxVarint];
  const auto n = static_cast<std::size_t>(PutVarint(buffer, length) - buffer);
  Reserve(n - 1);
  char* const data = out_->data();
  std::memmove(data + mark + n, data + mark + 1, length);
  std::memcpy(data + mark, buffer, n);
  pos_ += n - 1;
}

}  // namespace llm_exporter::expose
