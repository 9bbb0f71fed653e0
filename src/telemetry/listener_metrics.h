// The socket listeners' own metrics, beside AgentMetrics' event counts: stream connections open
// and refused, and datagrams the kernel dropped before the agent could read them.
#pragma once

#include <cstdint>

#include "llm_exporter/transport.h"

namespace prometheus {
class Counter;
class Gauge;
}  // namespace prometheus

namespace llm_exporter::telemetry {

class AgentMetrics;

// Registers its series (all present from start-up, at 0) in AgentMetrics' registry, so that
// AgentMetrics::AppendText() writes them; `agent_metrics` must outlive it.
// Thread-safe: every method may be called from any thread.
class ListenerMetrics {
 public:
  explicit ListenerMetrics(AgentMetrics& agent_metrics);

  void ConnectionOpened();
  void ConnectionClosed();
  // A connection closed at once: over --ingest.max-connections, or out of file descriptors.
  void ConnectionRefused();
  // Datagrams the kernel dropped because the receive buffer was full (UDP only).
  void DatagramsDropped(uint64_t datagrams);

  double open_connections() const;
  double refused_connections() const;
  double dropped_datagrams() const;

 private:
  prometheus::Gauge* open_connections_;
  prometheus::Counter* refused_connections_;
  prometheus::Counter* dropped_datagrams_;
};

}  // namespace llm_exporter::telemetry
