#include "telemetry/proxy_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "telemetry/agent_metrics.h"

namespace llm_exporter::telemetry {

ProxyMetrics::ProxyMetrics(AgentMetrics& agent_metrics, const std::vector<std::string>& upstreams) {
  prometheus::Registry& registry = agent_metrics.registry();
  auto& in_flight = prometheus::BuildGauge()
                        .Name("llm_exporter_proxy_requests_in_flight")
                        .Help("Requests the metering proxy is relaying now, by upstream.")
                        .Register(registry);
  auto& without_usage =
      prometheus::BuildCounter()
          .Name("llm_exporter_proxy_streams_without_usage_total")
          .Help("Streamed calls relayed whose tokens are unknown: the client did not ask for "
                "usage (stream_options.include_usage) and the upstream's inject_stream_usage is "
                "off. They are counted as calls, with no tokens and no cost.")
          .Register(registry);
  auto& unmetered = prometheus::BuildCounter()
                        .Name("llm_exporter_proxy_unmetered_requests_total")
                        .Help("Requests relayed that are not LLM calls (model lists, files, "
                              "batches, token counts): passed through, not metered.")
                        .Register(registry);
  auto& failures = prometheus::BuildCounter()
                       .Name("llm_exporter_proxy_upstream_failures_total")
                       .Help("Requests for which no complete answer came from the upstream, by "
                             "reason: connect (DNS or TCP), tls, timeout (connect or idle), "
                             "broken (the connection broke mid-answer).")
                       .Register(registry);
  unknown_upstream_ = &prometheus::BuildCounter()
                           .Name("llm_exporter_proxy_unknown_upstream_requests_total")
                           .Help("Requests to /proxy/<name>/ for a name the proxy config does not "
                                 "list (answered 404), or to /proxy/ with the proxy off.")
                           .Register(registry)
                           .Add({});
  upstreams_.reserve(upstreams.size());
  for (const std::string& name : upstreams) {
    PerUpstream u{};
    u.in_flight = &in_flight.Add({{"upstream", name}});
    u.streams_without_usage = &without_usage.Add({{"upstream", name}});
    u.unmetered = &unmetered.Add({{"upstream", name}});
    for (std::size_t r = 0; r < kUpstreamFailureCount; ++r) {
      u.failures[r] =
          &failures.Add({{"upstream", name}, {"reason", std::string(kUpstreamFailureNames[r])}});
    }
    upstreams_.push_back(u);
  }
}

void ProxyMetrics::RequestStarted(std::size_t upstream) { upstreams_[upstream].in_flight->Increment(); }
void ProxyMetrics::RequestFinished(std::size_t upstream) {
  upstreams_[upstream].in_flight->Decrement();
}
void ProxyMetrics::CountStreamWithoutUsage(std::size_t upstream) {
  upstreams_[upstream].streams_without_usage->Increment();
}
void ProxyMetrics::CountUnmetered(std::size_t upstream) { upstreams_[upstream].unmetered->Increment(); }
void ProxyMetrics::CountUnknownUpstream() { unknown_upstream_->Increment(); }
void ProxyMetrics::CountFailure(std::size_t upstream, UpstreamFailure reason) {
  upstreams_[upstream].failures[static_cast<std::size_t>(reason)]->Increment();
}

double ProxyMetrics::in_flight(std::size_t upstream) const {
  return upstreams_[upstream].in_flight->Value();
}
double ProxyMetrics::streams_without_usage(std::size_t upstream) const {
  return upstreams_[upstream].streams_without_usage->Value();
}
double ProxyMetrics::unmetered(std::size_t upstream) const {
  return upstreams_[upstream].unmetered->Value();
}
double ProxyMetrics::unknown_upstream() const { return unknown_upstream_->Value(); }
double ProxyMetrics::failures(std::size_t upstream, UpstreamFailure reason) const {
  return upstreams_[upstream].failures[static_cast<std::size_t>(reason)]->Value();
}

}  // namespace llm_exporter::telemetry
