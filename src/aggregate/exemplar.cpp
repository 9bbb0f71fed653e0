#include "aggregate/exemplar.h"

#include <algorithm>
#include <cstring>

namespace llm_exporter::aggregate {

namespace {

// The characters an exemplar id may hold: printable ASCII but space, '"' and '\'.
constexpr std::array<bool, 256> kIdChars = [] {
  std::array<bool, 256> table{};
  for (int c = '!'; c <= '~'; ++c) table[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
  return table;
}();

}  // namespace

bool UsableExemplarId(std::string_view id, std::size_t max_size) {
  if (id.empty() || id.size() > max_size) return false;
  bool usable = true;  // no early exit: ids are short, and a branch per character costs more
  for (const char c : id) usable &= kIdChars[static_cast<unsigned char>(c)];
  return usable;
}

ExemplarIds::ExemplarIds(std::string_view trace, std::string_view span) {
  if (!UsableExemplarId(trace, kMaxExemplarTraceId)) return;
  trace_id = trace;
  if (UsableExemplarId(span, kMaxExemplarSpanId)) span_id = span;
}

void ExemplarSlot::Set(std::string_view trace_id, std::string_view span_id, double value,
                       double timestamp) {
  value_ = value;
  timestamp_ = timestamp;
  trace_size_ = static_cast<uint8_t>(trace_id.size());
  span_size_ = static_cast<uint8_t>(span_id.size());
  std::memcpy(ids_.data(), trace_id.data(), trace_id.size());
  if (!span_id.empty()) std::memcpy(ids_.data() + trace_id.size(), span_id.data(), span_id.size());
}

Exemplars::Exemplars(const Exemplars& other) { *this = other; }

Exemplars& Exemplars::operator=(const Exemplars& other) {
  if (this == &other) return *this;
  slots_ = other.slots_;
  capacity_ = other.capacity_;
  block_.reset();
  if (slots_ != 0) {
    block_ = std::make_unique<unsigned char[]>(MemoryBytes());
    std::memcpy(block_.get(), other.block_.get(), MemoryBytes());
  }
  return *this;
}

void Exemplars::Set(std::size_t slots, std::size_t index, std::string_view trace_id,
                    std::string_view span_id, double value, double timestamp) {
  const std::size_t needed = trace_id.size() + span_id.size();
  if (!block_ || needed > capacity_) {
    // Room for these ids, the stride rounded up to 8 bytes; existing slots move across.
    const std::size_t capacity = ((kHeader + needed + 7) / 8) * 8 - kHeader;
    const std::size_t count = block_ ? slots_ : slots;
    auto grown = std::make_unique<unsigned char[]>(count * (kHeader + capacity));  // zeroed
    for (std::size_t i = 0; block_ && i < count; ++i) {
      std::memcpy(grown.get() + i * (kHeader + capacity), block_.get() + i * Stride(),
                  Stride());
    }
    block_ = std::move(grown);
    slots_ = static_cast<uint16_t>(count);
    capacity_ = static_cast<uint8_t>(capacity);
  }
  if (index >= slots_) return;
  unsigned char* slot = block_.get() + index * Stride();
  std::memcpy(slot, &value, 8);
  std::memcpy(slot + 8, &timestamp, 8);
  slot[16] = static_cast<unsigned char>(trace_id.size());
  slot[17] = static_cast<unsigned char>(span_id.size());
  std::memcpy(slot + kHeader, trace_id.data(), trace_id.size());
  if (!span_id.empty()) std::memcpy(slot + kHeader + trace_id.size(), span_id.data(), span_id.size());
}

void Exemplars::AppendTo(std::vector<ExemplarSlot>* out) const {
  for (std::size_t i = 0; i < slots_; ++i) {
    const unsigned char* slot = block_.get() + i * Stride();
    ExemplarSlot& copy = out->emplace_back();
    const std::size_t trace_size = slot[16];
    if (trace_size == 0) continue;  // never set
    double value = 0, timestamp = 0;
    std::memcpy(&value, slot, 8);
    std::memcpy(&timestamp, slot + 8, 8);
    const char* ids = reinterpret_cast<const char*>(slot + kHeader);
    copy.Set(std::string_view(ids, trace_size), std::string_view(ids + trace_size, slot[17]),
             value, timestamp);
  }
}

}  // namespace llm_exporter::aggregate
