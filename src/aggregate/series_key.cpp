#include "aggregate/series_key.h"

namespace llm_exporter::aggregate {

void EncodeSeriesKey(const std::string_view* values, std::size_t count, std::string* key) {
  key->clear();
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t n = values[i].size() > kMaxLabelValueBytes ? kMaxLabelValueBytes
                                                                 : values[i].size();
    key->push_back(static_cast<char>(n & 0xFF));
    key->push_back(static_cast<char>(n >> 8));
    key->append(values[i].data(), n);
  }
}

void DecodeSeriesKey(std::string_view key, std::string_view* values, std::size_t count) {
  std::size_t pos = 0;
  for (std::size_t i = 0; i < count; ++i) {
    if (pos + 2 > key.size()) {
      values[i] = {};
      continue;
    }
    const std::size_t n = static_cast<uint8_t>(key[pos]) |
                          (static_cast<std::size_t>(static_cast<uint8_t>(key[pos + 1])) << 8);
    pos += 2;
    values[i] = key.substr(pos, n);
    pos += values[i].size();
  }
}

}  // namespace llm_exporter::aggregate
