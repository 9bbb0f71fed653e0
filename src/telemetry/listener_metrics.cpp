#include "telemetry/listener_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <string>

#include "telemetry/agent_metrics.h"

namespace llm_exporter::telemetry {

ListenerMetrics::ListenerMetrics(AgentMetrics& agent_metrics) {
  prometheus::Registry& registry = agent_metrics.registry();
  const std::string unix_transport(TransportName(Transport::kUnix));
  open_connections_ = &prometheus::BuildGauge()
                           .Name("llm_exporter_ingest_connections")
                           .Help("Stream connections open now, by transport.")
                           .Register(registry)
                           .Add({{"transport", unix_transport}});
  refused_connections_ =
      &prometheus::BuildCounter()
           .Name("llm_exporter_ingest_connections_refused_total")
           .Help("Stream connections closed as soon as accepted, over --ingest.max-connections or "
                 "out of file descriptors, by transport.")
           .Register(registry)
           .Add({{"transport", unix_transport}});
  dropped_datagrams_ =
      &prometheus::BuildCounter()
           .Name("llm_exporter_ingest_datagrams_dropped_total")
           .Help("Datagrams the kernel dropped because the socket's receive buffer was full, by "
                 "transport.")
           .Register(registry)
           .Add({{"transport", std::string(TransportName(Transport::kUdp))}});
  auto& errors = prometheus::BuildCounter()
                     .Name("llm_exporter_ingest_listener_errors_total")
                     .Help("Unexpected errors a socket listener caught and logged: a batch or a "
                           "connection dropped, or the listener stopped serving, by transport.")
                     .Register(registry);
  for (const Transport transport : {Transport::kUnix, Transport::kUnixgram, Transport::kUdp}) {
    listener_errors_[static_cast<std::size_t>(transport)] =
        &errors.Add({{"transport", std::string(TransportName(transport))}});
  }
}

void ListenerMetrics::ConnectionOpened() { open_connections_->Increment(); }
void ListenerMetrics::ConnectionClosed() { open_connections_->Decrement(); }
void ListenerMetrics::ConnectionRefused() { refused_connections_->Increment(); }
void ListenerMetrics::DatagramsDropped(uint64_t datagrams) {
  dropped_datagrams_->Increment(static_cast<double>(datagrams));
}

void ListenerMetrics::ListenerError(Transport transport) {
  if (prometheus::Counter* counter = listener_errors_[static_cast<std::size_t>(transport)]) {
    counter->Increment();
  }
}

double ListenerMetrics::open_connections() const { return open_connections_->Value(); }
double ListenerMetrics::refused_connections() const { return refused_connections_->Value(); }
double ListenerMetrics::dropped_datagrams() const { return dropped_datagrams_->Value(); }
double ListenerMetrics::listener_errors(Transport transport) const {
  const prometheus::Counter* counter = listener_errors_[static_cast<std::size_t>(transport)];
  return counter != nullptr ? counter->Value() : 0;
}

}  // namespace llm_exporter::telemetry
