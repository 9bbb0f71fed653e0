#include "telemetry/remote_write_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "telemetry/agent_metrics.h"

namespace llm_exporter::telemetry {
namespace {

prometheus::Family<prometheus::Counter>* Counter(prometheus::Registry& registry,
                                                 const std::string& name, const std::string& help) {
  return &prometheus::BuildCounter().Name(name).Help(help).Register(registry);
}
prometheus::Family<prometheus::Gauge>* Gauge(prometheus::Registry& registry,
                                             const std::string& name, const std::string& help) {
  return &prometheus::BuildGauge().Name(name).Help(help).Register(registry);
}

}  // namespace

RemoteWriteMetrics::RemoteWriteMetrics(AgentMetrics& agent_metrics) {
  prometheus::Registry& r = agent_metrics.registry();
  sent_ = Counter(r, "llm_exporter_remote_write_samples_sent_total",
                  "Samples the remote_write target accepted.");
  failed_ = Counter(r, "llm_exporter_remote_write_samples_failed_total",
                    "Samples lost because the target refused their request with a status that "
                    "is not retried (4xx other than 429).");
  dropped_ = Counter(r, "llm_exporter_remote_write_samples_dropped_total",
                     "Samples never sent: their snapshot was pushed out of the full queue "
                     "(queue_full) or was still queued when the agent stopped (shutdown).");
  requests_ = Counter(r, "llm_exporter_remote_write_requests_total",
                      "Remote write requests by the target's HTTP status code, or code=\"error\" "
                      "when no answer came (connection refused, time-out, TLS failure).");
  retries_ = Counter(r, "llm_exporter_remote_write_retries_total",
                     "Remote write requests sent again after a 5xx, a 429 or no answer.");
  queue_length_ = Gauge(r, "llm_exporter_remote_write_queue_length",
                        "Snapshots waiting to be sent to the target, the one being sent included.");
  queue_capacity_ = Gauge(r, "llm_exporter_remote_write_queue_capacity",
                          "Most snapshots the target's queue holds (queue_config.capacity).");
  last_send_ = Gauge(r, "llm_exporter_remote_write_last_send_timestamp_seconds",
                     "Unix time of the last request the target accepted; 0 before the first.");
  highest_ = Gauge(r, "llm_exporter_remote_write_highest_timestamp_seconds",
                   "Timestamp of the newest snapshot taken for the target.");
  highest_sent_ = Gauge(r, "llm_exporter_remote_write_highest_sent_timestamp_seconds",
                        "Timestamp of the newest snapshot the target has accepted whole.");
  snapshot_samples_ = Gauge(r, "llm_exporter_remote_write_snapshot_samples",
                            "Samples in the last snapshot taken for the target.");
  snapshot_seconds_ = Gauge(r, "llm_exporter_remote_write_snapshot_seconds",
                            "Time taken to take and encode the last snapshot for the target.");
}

RemoteWriteMetrics::~RemoteWriteMetrics() = default;

RemoteWriteTargetMetrics& RemoteWriteMetrics::AddTarget(std::string_view remote,
                                                        std::size_t queue_capacity) {
  auto target = std::make_unique<RemoteWriteTargetMetrics>();
  const std::string name(remote);
  target->remote_ = name;
  target->requests_family_ = requests_;
  target->sent_ = &sent_->Add({{"remote", name}});
  target->failed_ = &failed_->Add({{"remote", name}});
  target->dropped_queue_full_ = &dropped_->Add({{"remote", name}, {"reason", "queue_full"}});
  target->dropped_shutdown_ = &dropped_->Add({{"remote", name}, {"reason", "shutdown"}});
  target->retries_ = &retries_->Add({{"remote", name}});
  target->queue_length_ = &queue_length_->Add({{"remote", name}});
  target->queue_capacity_ = &queue_capacity_->Add({{"remote", name}});
  target->last_send_ = &last_send_->Add({{"remote", name}});
  target->highest_ = &highest_->Add({{"remote", name}});
  target->highest_sent_ = &highest_sent_->Add({{"remote", name}});
  target->snapshot_samples_ = &snapshot_samples_->Add({{"remote", name}});
  target->snapshot_seconds_ = &snapshot_seconds_->Add({{"remote", name}});
  target->SetQueue(0, queue_capacity);
  targets_.push_back(std::move(target));
  return *targets_.back();
}

void RemoteWriteTargetMetrics::CountSent(uint64_t samples) {
  sent_->Increment(static_cast<double>(samples));
}
void RemoteWriteTargetMetrics::CountFailed(uint64_t samples) {
  failed_->Increment(static_cast<double>(samples));
}
void RemoteWriteTargetMetrics::CountDropped(RemoteWriteDrop reason, uint64_t samples) {
  (reason == RemoteWriteDrop::kQueueFull ? dropped_queue_full_ : dropped_shutdown_)
      ->Increment(static_cast<double>(samples));
}
void RemoteWriteTargetMetrics::CountRequest(int status_code) {
  std::lock_guard<std::mutex> lock(codes_mu_);
  auto [it, added] = codes_.try_emplace(status_code, nullptr);
  if (added) {
    it->second = &requests_family_->Add(
        {{"remote", remote_},
         {"code", status_code == 0 ? std::string("error") : std::to_string(status_code)}});
  }
  it->second->Increment();
}
void RemoteWriteTargetMetrics::CountRetry() { retries_->Increment(); }
void RemoteWriteTargetMetrics::SetQueue(std::size_t length, std::size_t capacity) {
  queue_length_->Set(static_cast<double>(length));
  queue_capacity_->Set(static_cast<double>(capacity));
}
void RemoteWriteTargetMetrics::SetLastSend(double unix_seconds) { last_send_->Set(unix_seconds); }
void RemoteWriteTargetMetrics::SetHighestTimestamp(double unix_seconds) {
  highest_->Set(unix_seconds);
}
void RemoteWriteTargetMetrics::SetHighestSentTimestamp(double unix_seconds) {
  highest_sent_->Set(unix_seconds);
}
void RemoteWriteTargetMetrics::SetLastSnapshot(std::size_t samples, double seconds) {
  snapshot_samples_->Set(static_cast<double>(samples));
  snapshot_seconds_->Set(seconds);
}

double RemoteWriteTargetMetrics::sent() const { return sent_->Value(); }
double RemoteWriteTargetMetrics::failed() const { return failed_->Value(); }
double RemoteWriteTargetMetrics::dropped(RemoteWriteDrop reason) const {
  return (reason == RemoteWriteDrop::kQueueFull ? dropped_queue_full_ : dropped_shutdown_)->Value();
}
double RemoteWriteTargetMetrics::requests(int status_code) const {
  std::lock_guard<std::mutex> lock(codes_mu_);
  const auto it = codes_.find(status_code);
  return it == codes_.end() ? 0 : it->second->Value();
}
double RemoteWriteTargetMetrics::retries() const { return retries_->Value(); }

}  // namespace llm_exporter::telemetry
