// The metering proxy's own metrics (docs/proxy.md): requests in flight, streams whose tokens are
// unknown, requests passed through unmetered, requests for an unknown upstream, and failures to
// reach an upstream, per configured upstream.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace prometheus {
class Counter;
class Gauge;
}  // namespace prometheus

namespace llm_exporter::telemetry {

class AgentMetrics;

// Why no (complete) answer came from an upstream.
enum class UpstreamFailure : uint8_t { kConnect, kTls, kTimeout, kBroken };
inline constexpr std::size_t kUpstreamFailureCount = 4;
inline constexpr std::array<std::string_view, kUpstreamFailureCount> kUpstreamFailureNames = {
    "connect", "tls", "timeout", "broken"};

// Registers the series of every upstream named (all at 0) in AgentMetrics' registry.
// Thread-safe. `upstream` indexes are positions in the list given to the constructor.
class ProxyMetrics {
 public:
  ProxyMetrics(AgentMetrics& agent_metrics, const std::vector<std::string>& upstreams);

  void RequestStarted(std::size_t upstream);
  void RequestFinished(std::size_t upstream);
  void CountStreamWithoutUsage(std::size_t upstream);
  void CountUnmetered(std::size_t upstream);
  void CountUnknownUpstream();
  void CountFailure(std::size_t upstream, UpstreamFailure reason);

  double in_flight(std::size_t upstream) const;
  double streams_without_usage(std::size_t upstream) const;
  double unmetered(std::size_t upstream) const;
  double unknown_upstream() const;
  double failures(std::size_t upstream, UpstreamFailure reason) const;

 private:
  struct PerUpstream {
    prometheus::Gauge* in_flight;
    prometheus::Counter* streams_without_usage;
    prometheus::Counter* unmetered;
    std::array<prometheus::Counter*, kUpstreamFailureCount> failures;
  };
  std::vector<PerUpstream> upstreams_;
  prometheus::Counter* unknown_upstream_;
};

}  // namespace llm_exporter::telemetry
