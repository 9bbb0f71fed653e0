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
  size_ = other.size_;
  slots_.reset();
  if (size_ != 0) {
    slots_ = std::make_unique<ExemplarSlot[]>(size_);
    std::copy(other.slots_.get(), other.slots_.get() + size_, slots_.get());
  }
  return *this;
}

void Exemplars::Set(std::size_t slots, std::size_t index, std::string_view trace_id,
                    std::string_view span_id, double value, double timestamp) {
  if (!slots_) {
    slots_ = std::make_unique<ExemplarSlot[]>(slots);
    size_ = slots;
  }
  if (index < size_) slots_[index].Set(trace_id, span_id, value, timestamp);
}

}  // namespace llm_exporter::aggregate
