// A real EventPipeline (built-in prices, an unlimited store, the agent's metrics) for the
// pipeline and transport tests, with readers for the counts that the transports must get exactly right.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "aggregate/series_store.h"
#include "fakes/fake_clock.h"
#include "pipeline/event_pipeline.h"
#include "pricing/price_catalog.h"
#include "telemetry/agent_metrics.h"
#include "telemetry/listener_metrics.h"

namespace llm_exporter::testing {

struct PipelineFixture {
  llm_exporter::testing::FakeClock clock;
  telemetry::AgentMetrics agent_metrics;
  pricing::PriceCatalog prices{pricing::PriceTable::Default()};
  aggregate::SeriesStore store{aggregate::StoreOptions{}, clock};
  llm_exporter::pipeline::EventPipeline pipeline{decode::DecodeLimits{}, prices, store,
                                                 agent_metrics, clock};
  telemetry::ListenerMetrics listener_metrics{agent_metrics};

  // llm_exporter_events_{accepted,received,rejected}_total of one transport (and reason).
  double Accepted(Transport t) const { return agent_metrics.events_accepted(t); }
  double Received(Transport t) const { return agent_metrics.events_received(t); }
  double Rejected(Transport t, RejectReason r) const { return agent_metrics.events_rejected(t, r); }
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

}  // namespace llm_exporter::testing
