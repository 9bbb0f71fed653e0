// The socket listeners' own metrics, beside AgentMetrics' event counts: stream connections open
// and refused, datagrams the kernel dropped before the agent could read them, and the unexpected
// errors a listener caught and logged.
#pragma once

#include <array>
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
  // An unexpected error (an exception out of the data path) that a listener of `transport`
  // caught: it dropped a batch or a connection, or its thread stopped serving.
  void ListenerError(Transport transport);

  double open_connections() const;
  double refused_connections() const;
  double dropped_datagrams() const;
  double listener_errors(Transport transport) const;

 private:
  prometheus::Gauge* open_connections_;
  prometheus::Counter* refused_connections_;
  prometheus::Counter* dropped_datagrams_;
  std::array<prometheus::Counter*, kTransportCount> listener_errors_{};  // null for HTTP
};

}  // namespace llm_exporter::telemetry
