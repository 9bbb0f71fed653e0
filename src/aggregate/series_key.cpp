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

}  // namespace llm_exporter::aggregate
