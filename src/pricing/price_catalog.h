// The price table in force. A reload swaps in a whole new table; calls being priced keep the
// table they started with, so no call is ever priced half with one table and half with another.
#pragma once

#include <atomic>
#include <memory>

#include "pricing/price_table.h"

namespace llm_exporter::pricing {

// Thread-safe: Current() and Replace() may be called from any thread at any time.
class PriceCatalog {
 public:
  explicit PriceCatalog(PriceTable table)
      : current_(std::make_shared<const PriceTable>(std::move(table))) {}

  std::shared_ptr<const PriceTable> Current() const { return current_.load(); }
  void Replace(PriceTable table) {
    current_.store(std::make_shared<const PriceTable>(std::move(table)));
  }

 private:
  std::atomic<std::shared_ptr<const PriceTable>> current_;
};

}  // namespace llm_exporter::pricing
