// What the HTTP transport serves at /metrics: a source of exposition text. The expose stage
// implements it; the transport knows nothing of the store behind it.
#pragma once

#include <string>

namespace llm_exporter {

// Implementations are thread-safe: concurrent scrapes may call Render() at once.
class MetricsSource {
 public:
  virtual ~MetricsSource() = default;
  // Everything /metrics holds, in the Prometheus text format 0.0.4. Reading changes nothing.
  virtual std::string Render() = 0;
};

}  // namespace llm_exporter
