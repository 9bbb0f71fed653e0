#include "expose/wire_writer.h"

namespace llm_exporter::expose {

void WireWriter::CloseLong(std::size_t mark, std::size_t length) {
  char buffer[kMaxVarint];
  const std::size_t n = PutVarint(buffer, length);
  // Within the string's capacity (which the caller's earlier scrapes have grown), this moves the
  // message up in place without allocating.
  out_->insert(mark + 1, n - 1, '\0');
  std::memcpy(out_->data() + mark, buffer, n);
}

}  // namespace llm_exporter::expose
