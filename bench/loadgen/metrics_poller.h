// Scrapes the agent's /metrics and sums what the load generator needs to know that its events
// arrived: llm_requests_total (one per LLM call), llm_quality_score_count (one per quality score),
// the agent's own accepted/rejected event counters and its OTLP span counters.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "loadgen/http_client.h"

namespace llm_exporter::bench {

struct MetricsSnapshot {
  double requests = 0;          // sum of llm_requests_total
  double quality_scores = 0;    // sum of llm_quality_score_count
  double accepted = 0;          // sum of llm_exporter_events_accepted_total
  double rejected = 0;          // sum of llm_exporter_events_rejected_total
  double llm_spans = 0;         // llm_exporter_otlp_spans_received_total{kind="llm_call"}, summed
  double rejected_spans = 0;    // sum of llm_exporter_otlp_spans_rejected_total
  double cost_series = 0;       // llm_exporter_series{family="cost"}
  double last_scrape_seconds = 0;  // llm_exporter_last_scrape_duration_seconds (the one before)
  std::size_t bytes = 0;        // size of this response
  double seconds = 0;           // this scrape, request sent to last byte received
};

// Sums the samples of a text-format exposition. Pure function, for tests and the poller.
MetricsSnapshot SummarizeExposition(std::string_view text);

// Not thread-safe: one poller per thread (it owns one keep-alive connection).
class MetricsPoller {
 public:
  MetricsPoller(std::string host, int port, std::string path = "/metrics", bool quick_ack = false);

  bool Scrape(MetricsSnapshot* snapshot, std::string* error);

  // Scrapes every `interval` until done(snapshot) is true (returns true) or `timeout` passes
  // (false, "timed out"). *last is the final scrape either way.
  bool PollUntil(const std::function<bool(const MetricsSnapshot&)>& done,
                 std::chrono::milliseconds interval, std::chrono::milliseconds timeout,
                 MetricsSnapshot* last, std::string* error);

  std::size_t scrapes() const { return scrapes_; }

 private:
  HttpClient client_;
  std::string path_;
  HttpResponse response_;
  std::size_t scrapes_ = 0;
};

}  // namespace llm_exporter::bench
