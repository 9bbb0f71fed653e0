#include "telemetry/listener_metrics.h"

#include <doctest/doctest.h>

#include <string>

#include "telemetry/agent_metrics.h"

namespace llm_exporter::telemetry {
namespace {

bool Has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

std::string Exposition(const AgentMetrics& metrics) {
  std::string out;
  metrics.AppendText(&out);
  return out;
}

TEST_CASE("ListenerMetrics: its series are in AgentMetrics' text, at zero from the start") {
  AgentMetrics agent_metrics;
  ListenerMetrics metrics(agent_metrics);
  const std::string text = Exposition(agent_metrics);
  CHECK(Has(text, "# TYPE llm_exporter_ingest_connections gauge"));
  CHECK(Has(text, "llm_exporter_ingest_connections{transport=\"unix\"} 0"));
  CHECK(Has(text, "# TYPE llm_exporter_ingest_connections_refused_total counter"));
  CHECK(Has(text, "llm_exporter_ingest_connections_refused_total{transport=\"unix\"} 0"));
  CHECK(Has(text, "# TYPE llm_exporter_ingest_datagrams_dropped_total counter"));
  CHECK(Has(text, "llm_exporter_ingest_datagrams_dropped_total{transport=\"udp\"} 0"));
}

TEST_CASE("ListenerMetrics: connections and drops read the same in accessors and in the text") {
  AgentMetrics agent_metrics;
  ListenerMetrics metrics(agent_metrics);
  metrics.ConnectionOpened();
  metrics.ConnectionOpened();
  metrics.ConnectionClosed();
  metrics.ConnectionRefused();
  metrics.DatagramsDropped(5);
  metrics.DatagramsDropped(0);
  CHECK(metrics.open_connections() == 1);
  CHECK(metrics.refused_connections() == 1);
  CHECK(metrics.dropped_datagrams() == 5);
  const std::string text = Exposition(agent_metrics);
  CHECK(Has(text, "llm_exporter_ingest_connections{transport=\"unix\"} 1"));
  CHECK(Has(text, "llm_exporter_ingest_connections_refused_total{transport=\"unix\"} 1"));
  CHECK(Has(text, "llm_exporter_ingest_datagrams_dropped_total{transport=\"udp\"} 5"));
}

}  // namespace
}  // namespace llm_exporter::telemetry
