// Reads a price table from a JSON file (format in docs/pricing.md). Control plane: failures
// throw std::runtime_error with one line that names the file, the entry and what is wrong.
#pragma once

#include <string>
#include <string_view>

#include "pricing/price_table.h"

namespace llm_exporter::pricing {

// `origin` names the source in error messages, e.g. the file path.
PriceTable ParsePriceTable(std::string_view json_text, std::string_view origin);

PriceTable LoadPriceTableFile(const std::string& path);

}  // namespace llm_exporter::pricing
