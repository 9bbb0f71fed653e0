// The price table in force. A reload swaps in a whole new table; calls being priced keep the
// table they started with, so no call is ever priced half with one table and half with another.
#pragma once

#include <memory>
#include <mutex>

#include "pricing/price_table.h"

namespace llm_exporter::pricing {

// Thread-safe: Current() and Replace() may be called from any thread at any time. Current() is
// called once per request, line run or datagram, not per event, so a plain mutex costs nothing
// measurable (and, unlike libstdc++'s atomic<shared_ptr>, ThreadSanitizer understands it).
class PriceCatalog {
 public:
  explicit PriceCatalog(PriceTable table)
      : current_(std::make_shared<const PriceTable>(std::move(table))) {}

  std::shared_ptr<const PriceTable> Current() const {
    std::lock_guard<std::mutex> lock(mu_);
    return current_;
  }
  void Replace(PriceTable table) {
    auto next = std::make_shared<const PriceTable>(std::move(table));
    std::lock_guard<std::mutex> lock(mu_);
    current_.swap(next);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const PriceTable> current_;
};

}  // namespace llm_exporter::pricing
