#include "telemetry/proxy_metrics.h"

#include <doctest/doctest.h>

#include <string>

#include "telemetry/agent_metrics.h"

namespace llm_exporter::telemetry {
namespace {

bool Has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST_CASE("ProxyMetrics: every upstream's series exist at zero, and count apart") {
  AgentMetrics agent;
  ProxyMetrics metrics(agent, {"openai", "claude"});
  std::string before;
  agent.AppendText(&before);
  CHECK(Has(before, R"(llm_exporter_proxy_requests_in_flight{upstream="claude"} 0)"));
  CHECK(Has(before, R"(llm_exporter_proxy_streams_without_usage_total{upstream="openai"} 0)"));
  CHECK(Has(before, R"(llm_exporter_proxy_unmetered_requests_total{upstream="claude"} 0)"));
  CHECK(Has(before, R"(llm_exporter_proxy_unknown_upstream_requests_total 0)"));
  for (const char* reason : {"connect", "tls", "timeout", "broken"}) {
    CHECK(Has(before, std::string(R"(llm_exporter_proxy_upstream_failures_total{reason=")") +
                          reason + R"(",upstream="openai"} 0)"));
  }

  metrics.RequestStarted(1);
  metrics.RequestStarted(1);
  metrics.RequestFinished(1);
  metrics.CountStreamWithoutUsage(0);
  metrics.CountUnmetered(1);
  metrics.CountUnknownUpstream();
  metrics.CountFailure(0, UpstreamFailure::kTimeout);
  metrics.CountFailure(0, UpstreamFailure::kTimeout);
  CHECK(metrics.in_flight(1) == 1);
  CHECK(metrics.in_flight(0) == 0);
  CHECK(metrics.streams_without_usage(0) == 1);
  CHECK(metrics.unmetered(1) == 1);
  CHECK(metrics.unknown_upstream() == 1);
  CHECK(metrics.failures(0, UpstreamFailure::kTimeout) == 2);
  CHECK(metrics.failures(0, UpstreamFailure::kConnect) == 0);
  std::string after;
  agent.AppendText(&after);
  CHECK(Has(after, R"(llm_exporter_proxy_upstream_failures_total{reason="timeout",upstream="openai"} 2)"));
}

}  // namespace
}  // namespace llm_exporter::telemetry
