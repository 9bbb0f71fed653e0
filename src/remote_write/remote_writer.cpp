#include "remote_write/remote_writer.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "expose/metrics_walk.h"

namespace llm_exporter::remote_write {
namespace {

double UnixSeconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

}  // namespace

std::size_t RemoteWriter::Snapshot::UnsentSamples() const {
  std::size_t samples = 0;
  for (std::size_t i = next; i < requests.size(); ++i) samples += requests[i].samples;
  return samples;
}

RemoteWriter::RemoteWriter(config::RemoteWriteTarget target,
                           const expose::MetricsRenderer& renderer,
                           telemetry::RemoteWriteTargetMetrics& metrics, const Clock& clock,
                           std::function<void()> before_snapshot)
    : target_(std::move(target)),
      renderer_(renderer),
      metrics_(metrics),
      clock_(clock),
      before_snapshot_(std::move(before_snapshot)),
      relabel_(target_.write_relabel_configs),
      sender_(target_),
      retry_warning_(clock),
      refused_warning_(clock),
      dropped_warning_(clock) {
  encoder_options_.external_labels.assign(target_.external_labels.begin(),
                                          target_.external_labels.end());  // a map: sorted
  encoder_options_.max_samples_per_send = target_.max_samples_per_send;
}

RemoteWriter::~RemoteWriter() { Stop(std::chrono::milliseconds(0)); }

void RemoteWriter::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_) return;
  started_ = true;
  snapshot_thread_ = std::thread([this] { CollectLoop(); });
  send_thread_ = std::thread([this] { SendLoop(); });
  pthread_setname_np(snapshot_thread_.native_handle(), "llmx-rw-snap");
  pthread_setname_np(send_thread_.native_handle(), "llmx-rw-send");
}

void RemoteWriter::AddExpired(std::shared_ptr<const aggregate::ExpiredSeries> expired) {
  std::lock_guard<std::mutex> lock(mu_);
  expired_.push_back(std::move(expired));
}

void RemoteWriter::Stop(std::chrono::milliseconds flush_deadline) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_ || stopping_) return;
    stopping_ = true;
  }
  snapshot_cv_.notify_all();
  snapshot_thread_.join();
  // A last snapshot that marks every series stale, so that the receiver ends them now rather
  // than after its lookback, then what is queued, until the deadline.
  TakeSnapshot(/*stale=*/true);
  {
    std::lock_guard<std::mutex> lock(mu_);
    flushing_ = true;
    flush_deadline_ = clock_.SteadyNow() + flush_deadline;
  }
  send_cv_.notify_all();
  send_thread_.join();
  std::size_t left = 0;
  for (const auto& snapshot : queue_) left += snapshot->UnsentSamples();
  if (left > 0) {
    metrics_.CountDropped(telemetry::RemoteWriteDrop::kShutdown, left);
    spdlog::warn("remote write {}: {} samples were still queued at shutdown and are not sent",
                 target_.name, left);
  }
  queue_.clear();
  queued_bytes_ = 0;
  metrics_.SetQueue(0, target_.capacity);
}

void RemoteWriter::CollectLoop() {
  auto next = clock_.SteadyNow();
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (snapshot_cv_.wait_until(lock, next, [&] { return stopping_; })) break;
    lock.unlock();
    TakeSnapshot(/*stale=*/false);
    lock.lock();
    const auto now = clock_.SteadyNow();
    next += target_.send_interval;
    if (next < now) next = now + target_.send_interval;  // a snapshot took longer than the interval
  }
}

void RemoteWriter::TakeSnapshot(bool stale) {
  const auto start = clock_.SteadyNow();
  if (!stale && before_snapshot_) before_snapshot_();
  std::vector<std::shared_ptr<const aggregate::ExpiredSeries>> expired;
  {
    std::lock_guard<std::mutex> lock(mu_);
    expired.swap(expired_);
  }
  auto snapshot = std::make_shared<Snapshot>();
  const auto wall = clock_.WallNow();
  EncoderOptions options = encoder_options_;
  options.timestamp_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(wall.time_since_epoch()).count();
  options.stale = stale;
  options.metadata = !stale && target_.send_metadata &&
                     (!metadata_sent_ || start - last_metadata_ >= target_.metadata_interval);
  if (options.metadata) {
    metadata_sent_ = true;
    last_metadata_ = start;
  }
  std::size_t samples = 0;
  if (!stale) {
    // The series dropped since the last snapshot end here, a millisecond before the snapshot's
    // time and sent before it: an event may have made one of them again since, and its new
    // sample, at the snapshot's time, must come after the marker.
    EncoderOptions markers = options;
    markers.stale = true;
    markers.metadata = false;
    markers.timestamp_ms -= 1;
    for (const auto& series : expired) {
      RequestEncoder encoder(markers, &relabel_, &snapshot->requests);
      renderer_.WriteLlmFamilies(*series, encoder);
      encoder.Finish();
      samples += encoder.samples();
    }
  }
  {
    RequestEncoder encoder(options, &relabel_, &snapshot->requests);
    renderer_.WriteAll(encoder);
    samples += encoder.samples();
  }
  snapshot->timestamp = static_cast<double>(options.timestamp_ms) / 1000.0;
  const std::chrono::duration<double> took = clock_.SteadyNow() - start;
  metrics_.SetLastSnapshot(samples, took.count());
  metrics_.SetHighestTimestamp(snapshot->timestamp);
  Enqueue(std::move(snapshot));
}

void RemoteWriter::Enqueue(std::shared_ptr<Snapshot> snapshot) {
  if (snapshot->requests.empty()) return;
  for (const EncodedRequest& request : snapshot->requests) snapshot->bytes += request.body.size();
  std::size_t dropped = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Full, in snapshots or in bytes: the oldest snapshot goes, unless a request of it is being
    // posted right now. The new one is always kept.
    while (queue_.size() >= target_.capacity ||
           (!queue_.empty() && queued_bytes_ + snapshot->bytes > target_.max_bytes)) {
      auto victim = std::find_if(queue_.begin(), queue_.end(),
                                 [&](const auto& s) { return s != posting_; });
      if (victim == queue_.end()) break;
      dropped += (*victim)->UnsentSamples();
      queued_bytes_ -= (*victim)->bytes;
      queue_.erase(victim);
    }
    queued_bytes_ += snapshot->bytes;
    queue_.push_back(std::move(snapshot));
    UpdateQueueGauge();
  }
  send_cv_.notify_one();
  if (dropped > 0) {
    metrics_.CountDropped(telemetry::RemoteWriteDrop::kQueueFull, dropped);
    if (const uint64_t n = dropped_warning_.Record(dropped)) {
      spdlog::warn("remote write {}: the queue is full ({} snapshots): dropped {} samples of the "
                   "oldest snapshot; totals stay exact, the receiver misses their points in time",
                   target_.name, target_.capacity, n);
    }
  }
}

void RemoteWriter::UpdateQueueGauge() { metrics_.SetQueue(queue_.size(), target_.capacity); }

void RemoteWriter::SendLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    send_cv_.wait(lock, [&] { return !queue_.empty() || flushing_; });
    if (queue_.empty()) break;  // flushing and nothing left
    if (flushing_ && clock_.SteadyNow() >= flush_deadline_) break;
    lock.unlock();
    const std::chrono::milliseconds pause = SendOne();
    lock.lock();
    if (pause.count() > 0) {
      auto wake = clock_.SteadyNow() + pause;
      if (flushing_) wake = std::min(wake, flush_deadline_);
      // Only a flush's deadline cuts a pause short; new snapshots do not.
      send_cv_.wait_until(lock, wake, [&] { return flushing_ && clock_.SteadyNow() >= flush_deadline_; });
    }
  }
}

std::chrono::milliseconds RemoteWriter::SendOne() {
  std::shared_ptr<Snapshot> snapshot;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.empty()) return std::chrono::milliseconds(0);
    snapshot = queue_.front();
    posting_ = snapshot;
  }
  // Only this thread changes `next` and the requests, and the snapshot stays queued while it is
  // posting_, so its request is read with no lock held.
  const EncodedRequest& request = snapshot->requests[snapshot->next];
  const PostResult result = sender_.Post(request.body);
  metrics_.CountRequest(result.status);

  std::chrono::milliseconds pause(0);
  if (result.ok()) {
    metrics_.CountSent(request.samples);
    metrics_.SetLastSend(UnixSeconds(clock_.WallNow()));
    backoff_ = std::chrono::milliseconds(0);
  } else if (!result.retryable()) {
    metrics_.CountFailed(request.samples);
    if (const uint64_t n = refused_warning_.Record()) {
      spdlog::error("remote write {}: {} refused a request of {} samples with {} ({}); not "
                    "retried, its samples are lost ({} such requests since the last line)",
                    target_.name, target_.url, request.samples, result.status,
                    result.error.empty() ? "no message" : result.error, n);
    }
    backoff_ = std::chrono::milliseconds(0);
  } else {
    metrics_.CountRetry();
    pause = NextBackoff(result.retry_after);
    if (const uint64_t n = retry_warning_.Record()) {
      spdlog::warn("remote write {}: {} failed: {}; retrying in {} ms ({} failures since the "
                   "last line)",
                   target_.name, target_.url,
                   result.status == 0 ? result.error
                                      : std::to_string(result.status) + " " + result.error,
                   pause.count(), n);
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  posting_.reset();
  if (result.ok() || !result.retryable()) {
    if (++snapshot->next == snapshot->requests.size()) {
      if (!queue_.empty() && queue_.front() == snapshot) {
        queued_bytes_ -= snapshot->bytes;
        queue_.pop_front();
      }
      if (result.ok()) metrics_.SetHighestSentTimestamp(snapshot->timestamp);
    }
  }
  UpdateQueueGauge();
  return pause;
}

std::chrono::milliseconds RemoteWriter::NextBackoff(std::chrono::milliseconds retry_after) {
  backoff_ = backoff_.count() == 0 ? target_.min_backoff
                                   : std::min(backoff_ * 2, target_.max_backoff);
  // Jitter: somewhere in the upper half, so that agents that failed together do not retry in
  // step.
  std::uniform_int_distribution<int64_t> spread(backoff_.count() / 2, backoff_.count());
  std::chrono::milliseconds pause(spread(jitter_));
  if (retry_after.count() >= 0) pause = std::max(pause, std::min(retry_after, target_.max_backoff));
  return pause;
}

}  // namespace llm_exporter::remote_write
