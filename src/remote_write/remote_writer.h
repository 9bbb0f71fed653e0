// Pushes the agent's series to one remote_write target: every send_interval a snapshot of
// everything /metrics shows is encoded (request_encoder.h) and queued; a sending thread posts
// the queue oldest first (http_sender.h), retrying 5xx, 429 and network errors with exponential
// backoff and jitter. The queue is bounded, in snapshots and in bytes: when it is full the oldest
// snapshot is dropped, which
// costs resolution but not totals, since every counter is sent cumulative. Each target has its
// own threads, so a slow or failing one holds up nothing else. docs/scale-out.md.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "aggregate/series_store.h"
#include "config/remote_write_config.h"
#include "expose/metrics_renderer.h"
#include "llm_exporter/clock.h"
#include "remote_write/http_sender.h"
#include "remote_write/request_encoder.h"
#include "remote_write/write_relabel.h"
#include "telemetry/rate_limited_warning.h"
#include "telemetry/remote_write_metrics.h"

namespace llm_exporter::remote_write {

class RemoteWriter {
 public:
  // `before_snapshot` runs first in each snapshot (main drops expired series there, which hands
  // them to AddExpired). Everything referred to must outlive the writer.
  RemoteWriter(config::RemoteWriteTarget target, const expose::MetricsRenderer& renderer,
               telemetry::RemoteWriteTargetMetrics& metrics, const Clock& clock,
               std::function<void()> before_snapshot);
  ~RemoteWriter();
  RemoteWriter(const RemoteWriter&) = delete;
  RemoteWriter& operator=(const RemoteWriter&) = delete;

  // Starts the snapshot timer (the first snapshot is taken at once) and the sending thread.
  void Start();
  // Series an Expire() dropped: the next snapshot carries a staleness marker for each.
  // Thread-safe.
  void AddExpired(std::shared_ptr<const aggregate::ExpiredSeries> expired);
  // Stops the timer, queues a last snapshot of staleness markers for every series, and sends
  // what is queued for up to `flush_deadline` (a request under way finishes, up to its
  // remote_timeout); what is left then is counted as dropped.
  void Stop(std::chrono::milliseconds flush_deadline = std::chrono::seconds(5));

  const std::string& name() const { return target_.name; }

 private:
  struct Snapshot {
    std::vector<EncodedRequest> requests;
    std::size_t next = 0;  // the first request not yet done
    double timestamp = 0;  // Unix seconds
    std::size_t bytes = 0;  // of its requests' bodies
    std::size_t UnsentSamples() const;
  };

  void TakeSnapshot(bool stale);
  void Enqueue(std::shared_ptr<Snapshot> snapshot);
  void CollectLoop();
  void SendLoop();
  // Posts the request at the front of the queue once; returns the pause before the next post.
  std::chrono::milliseconds SendOne();
  std::chrono::milliseconds NextBackoff(std::chrono::milliseconds retry_after);
  void UpdateQueueGauge();  // with mu_ held

  const config::RemoteWriteTarget target_;
  const expose::MetricsRenderer& renderer_;
  telemetry::RemoteWriteTargetMetrics& metrics_;
  const Clock& clock_;
  const std::function<void()> before_snapshot_;
  EncoderOptions encoder_options_;
  WriteRelabel relabel_;  // the snapshot thread's
  HttpSender sender_;     // the sending thread's
  std::chrono::steady_clock::time_point last_metadata_{};
  bool metadata_sent_ = false;

  std::mutex mu_;
  std::condition_variable snapshot_cv_;  // the timer waits on it
  std::condition_variable send_cv_;      // the sender waits on it
  std::deque<std::shared_ptr<Snapshot>> queue_;
  std::shared_ptr<Snapshot> posting_;  // the snapshot a request is being posted from
  std::size_t queued_bytes_ = 0;
  std::vector<std::shared_ptr<const aggregate::ExpiredSeries>> expired_;
  bool started_ = false;
  bool stopping_ = false;  // the timer stops
  bool flushing_ = false;  // the sender sends what is queued until flush_deadline_, then stops
  std::chrono::steady_clock::time_point flush_deadline_{};

  std::chrono::milliseconds backoff_{0};
  std::mt19937_64 jitter_{std::random_device{}()};
  telemetry::RateLimitedWarning retry_warning_;
  telemetry::RateLimitedWarning refused_warning_;
  telemetry::RateLimitedWarning dropped_warning_;
  std::thread snapshot_thread_;
  std::thread send_thread_;
};

}  // namespace llm_exporter::remote_write
