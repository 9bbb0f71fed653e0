// The remote writer's own metrics, one set per remote_write target (label `remote`): samples
// sent, refused and dropped, requests by status code, retries, the queue, and how far delivery
// has come (docs/scale-out.md).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace prometheus {
class Counter;
class Gauge;
template <typename T>
class Family;
}  // namespace prometheus

namespace llm_exporter::telemetry {

class AgentMetrics;

// Why samples were dropped before they could be sent, as the `reason` label names it.
enum class RemoteWriteDrop : uint8_t { kQueueFull, kShutdown };

// One target's series, all present from start-up. Thread-safe.
class RemoteWriteTargetMetrics {
 public:
  void CountSent(uint64_t samples);
  void CountFailed(uint64_t samples);
  void CountDropped(RemoteWriteDrop reason, uint64_t samples);
  // One request's outcome: its HTTP status code, or 0 when no answer came (refused connection,
  // time-out, TLS failure), counted as code="error".
  void CountRequest(int status_code);
  void CountRetry();
  void SetQueue(std::size_t length, std::size_t capacity);
  void SetLastSend(double unix_seconds);
  void SetHighestTimestamp(double unix_seconds);
  void SetHighestSentTimestamp(double unix_seconds);
  void SetLastSnapshot(std::size_t samples, double seconds);

  double sent() const;
  double failed() const;
  double dropped(RemoteWriteDrop reason) const;
  double requests(int status_code) const;
  double retries() const;

 private:
  friend class RemoteWriteMetrics;
  std::string remote_;
  prometheus::Family<prometheus::Counter>* requests_family_ = nullptr;
  prometheus::Counter* sent_ = nullptr;
  prometheus::Counter* failed_ = nullptr;
  prometheus::Counter* dropped_queue_full_ = nullptr;
  prometheus::Counter* dropped_shutdown_ = nullptr;
  prometheus::Counter* retries_ = nullptr;
  prometheus::Gauge* queue_length_ = nullptr;
  prometheus::Gauge* queue_capacity_ = nullptr;
  prometheus::Gauge* last_send_ = nullptr;
  prometheus::Gauge* highest_ = nullptr;
  prometheus::Gauge* highest_sent_ = nullptr;
  prometheus::Gauge* snapshot_samples_ = nullptr;
  prometheus::Gauge* snapshot_seconds_ = nullptr;
  mutable std::mutex codes_mu_;
  std::map<int, prometheus::Counter*> codes_;  // by status code; 0 is "error"
};

// Registers the families in AgentMetrics' registry; `agent_metrics` must outlive it.
class RemoteWriteMetrics {
 public:
  explicit RemoteWriteMetrics(AgentMetrics& agent_metrics);
  ~RemoteWriteMetrics();
  // The series of target `remote`, created now, its queue empty and of `queue_capacity`
  // snapshots. The reference lives as long as this object.
  RemoteWriteTargetMetrics& AddTarget(std::string_view remote, std::size_t queue_capacity);

 private:
  prometheus::Family<prometheus::Counter>* sent_;
  prometheus::Family<prometheus::Counter>* failed_;
  prometheus::Family<prometheus::Counter>* dropped_;
  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Counter>* retries_;
  prometheus::Family<prometheus::Gauge>* queue_length_;
  prometheus::Family<prometheus::Gauge>* queue_capacity_;
  prometheus::Family<prometheus::Gauge>* last_send_;
  prometheus::Family<prometheus::Gauge>* highest_;
  prometheus::Family<prometheus::Gauge>* highest_sent_;
  prometheus::Family<prometheus::Gauge>* snapshot_samples_;
  prometheus::Family<prometheus::Gauge>* snapshot_seconds_;
  std::vector<std::unique_ptr<RemoteWriteTargetMetrics>> targets_;
};

}  // namespace llm_exporter::telemetry
