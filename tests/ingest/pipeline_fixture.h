// A real EventPipeline (built-in prices, an unlimited store, the agent's metrics) for the ingest
// tests, with readers for the counts that the transports must get exactly right.
#pragma once

#include <prometheus/registry.h>

#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "aggregate/series_store.h"
#include "fakes/fake_clock.h"
#include "ingest/event_pipeline.h"
#include "ingest/listener_metrics.h"
#include "pricing/price_catalog.h"
#include "telemetry/agent_metrics.h"

namespace llm_exporter::ingest::testing {

struct PipelineFixture {
  llm_exporter::testing::FakeClock clock;
  telemetry::AgentMetrics agent_metrics;
  pricing::PriceCatalog prices{pricing::PriceTable::Default()};
  aggregate::SeriesStore store{aggregate::StoreOptions{}, clock};
  EventPipeline pipeline{decode::DecodeLimits{}, prices, store, agent_metrics, clock};
  ListenerMetrics listener_metrics{agent_metrics.registry()};

  // The value of one sample of the agent's registry; -1 when there is none.
  double Sample(const std::string& name, const std::map<std::string, std::string>& labels) {
    for (const auto& family : agent_metrics.registry().Collect()) {
      if (family.name != name) continue;
      for (const auto& metric : family.metric) {
        std::map<std::string, std::string> have;
        for (const auto& label : metric.label) have[label.name] = label.value;
        if (have != labels) continue;
        return family.type == prometheus::MetricType::Counter ? metric.counter.value
                                                              : metric.gauge.value;
      }
    }
    return -1;
  }
  double Accepted(Transport t) {
    return Sample("llm_exporter_events_accepted_total", {{"transport", std::string(TransportName(t))}});
  }
  double Received(Transport t) {
    return Sample("llm_exporter_events_received_total", {{"transport", std::string(TransportName(t))}});
  }
  double Rejected(Transport t, RejectReason r) {
    return Sample("llm_exporter_events_rejected_total",
                  {{"transport", std::string(TransportName(t))},
                   {"reason", std::string(RejectReasonName(r))}});
  }
  // llm_requests_total summed over every series.
  uint64_t Requests() const {
    uint64_t total = 0;
    store.SnapshotRequests().ForEach(
        [&](const aggregate::RequestLabels&, uint64_t count) { total += count; });
    return total;
  }
  // llm_tokens_total summed over every series and direction.
  uint64_t Tokens() const {
    uint64_t total = 0;
    store.SnapshotModels().ForEach([&](const aggregate::ModelLabels&, const aggregate::ModelValue& v) {
      total += v.input_tokens + v.output_tokens;
    });
    return total;
  }
};

// A fresh directory under /tmp with a short name (socket paths must fit in 107 bytes), removed
// with everything in it when the test ends.
class TempDir {
 public:
  TempDir() {
    char name[] = "/tmp/llmxtestXXXXXX";
    path_ = ::mkdtemp(name);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string operator/(const std::string& file) const { return path_ + "/" + file; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// One valid llm_call event (no newline) whose tokens are `input` + `output`.
inline std::string EventJson(int input = 10, int output = 5, const std::string& model = "gpt-4o") {
  return "{\"model\":\"" + model + "\",\"endpoint\":\"/chat\",\"input_tokens\":" +
         std::to_string(input) + ",\"output_tokens\":" + std::to_string(output) +
         ",\"latency\":0.25,\"user_id\":\"u1\",\"team_id\":\"search\"}";
}

}  // namespace llm_exporter::ingest::testing
