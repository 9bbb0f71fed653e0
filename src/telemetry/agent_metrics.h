// The agent's own metrics (events in, rejections, HTTP requests, reloads, budgets, scrapes), kept
// in a prometheus-cpp registry. Every series a hot path touches is created up front, so no
// per-event or per-request call ever registers anything. prometheus-cpp stays inside telemetry's
// .cpp files: this header only names its types, and AppendText() writes the exposition text.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "llm_exporter/metrics_source.h"
#include "llm_exporter/transport.h"

namespace prometheus {
class Counter;
class Gauge;
class Registry;
template <typename T>
class Family;
}  // namespace prometheus

namespace llm_exporter::telemetry {

// One series of llm_team_budget_usd. The views need only outlive the SetBudgets() call.
struct BudgetGauge {
  std::string_view team_id;
  std::string_view period;  // "daily" or "monthly"
  double usd = 0;
};

// HTTP handlers, as the `handler` label names them.
enum class Handler : uint8_t {
  kEvents,
  kTraces,
  kMetrics,
  kReload,
  kReady,
  kHealthy,
  kLanding,
  kProxy,  // every request under /proxy/ (the metering proxy, docs/proxy.md)
  kOther
};
inline constexpr std::size_t kHandlerCount = 9;

// Why a request was refused with 401, as the `reason` label names it.
enum class AuthFailure : uint8_t { kMissing, kBadCredentials, kMalformed };
inline constexpr std::size_t kAuthFailureCount = 3;

// Why the HTTP server dropped a connection before its request was served.
enum class HttpDrop : uint8_t {
  kRequestTimeout,    // the request's headers did not arrive within --web.request-timeout
  kMalformedRequest,  // not HTTP, headers above civetweb's 16 KiB, or closed mid-request
  kTlsHandshake,      // the TLS handshake failed: plain HTTP, no or bad client certificate ...
  kBodyTimeout,       // the body did not all arrive within --web.request-timeout of its headers
};
inline constexpr std::size_t kHttpDropCount = 4;

// What a reload loads. Each has its own reload metrics, so a broken budgets file does not read as
// a broken price table.
enum class ReloadTarget : uint8_t { kPricing, kBudgets };
inline constexpr std::size_t kReloadTargetCount = 2;

// Owns the registry that the self-metrics part of /metrics is written from; ListenerMetrics adds
// its series to it. Thread-safe: every method may be called from any thread.
class AgentMetrics {
 public:
  AgentMetrics();
  ~AgentMetrics();
  AgentMetrics(const AgentMetrics&) = delete;
  AgentMetrics& operator=(const AgentMetrics&) = delete;

  // One decoded batch: accepted events and rejected ones by reason.
  void CountEvents(Transport transport, uint64_t accepted,
                   const std::array<uint64_t, kRejectReasonCount>& rejected_by_reason);
  void CountHttpRequest(Handler handler, int status_code);
  // A request refused by basic auth (also counted by CountHttpRequest with 401).
  void CountAuthFailure(AuthFailure reason);
  void CountHttpDrop(HttpDrop reason);
  void CountReload(ReloadTarget target, bool success, double unix_time_seconds);
  // The start-up load: sets the last-success gauges without counting a reload.
  void SetLoaded(ReloadTarget target, double unix_time_seconds);
  void SetPricingModels(std::size_t models);
  // Replaces every llm_team_budget_usd series with one per entry.
  void SetBudgets(std::span<const BudgetGauge> budgets);
  void SetLastScrape(double seconds, std::size_t bytes);
  // One /metrics answer, by the format negotiated and whether it went gzip-compressed.
  void CountScrape(ExpositionFormat format, bool gzip);

  // Appends every series of the registry (these metrics and ListenerMetrics'), then the process_*
  // metrics, in the Prometheus text format 0.0.4: the self-metrics part of /metrics.
  void AppendText(std::string* out) const;

  // The same series as plain values, for the OpenMetrics and protobuf writers. The agent's own
  // metrics are counters and gauges only.
  struct OwnSample {
    std::vector<std::pair<std::string, std::string>> labels;
    double value = 0;
  };
  struct OwnFamily {
    std::string name;
    std::string help;
    bool counter = false;  // else a gauge
    std::vector<OwnSample> samples;
  };
  std::vector<OwnFamily> CollectFamilies() const;

  // Current values of the event counters, as /metrics would show them.
  double events_received(Transport transport) const;
  double events_accepted(Transport transport) const;
  double events_rejected(Transport transport, RejectReason reason) const;

  // For telemetry's own classes (ListenerMetrics registers its series here) and its tests.
  prometheus::Registry& registry();

 private:
  std::unique_ptr<prometheus::Registry> registry_;
  std::array<prometheus::Counter*, kTransportCount> received_{};
  std::array<prometheus::Counter*, kTransportCount> accepted_{};
  std::array<std::array<prometheus::Counter*, kRejectReasonCount>, kTransportCount> rejected_{};

  prometheus::Family<prometheus::Counter>* http_requests_;
  // Status codes seen so far per handler: created under http_mu_ on first use, then lock-free.
  static constexpr int kMaxStatus = 600;
  std::array<std::array<std::atomic<prometheus::Counter*>, kMaxStatus>, kHandlerCount> http_{};
  std::mutex http_mu_;
  std::array<prometheus::Counter*, kAuthFailureCount> auth_failures_{};
  std::array<prometheus::Counter*, kHttpDropCount> http_drops_{};

  struct ReloadSeries {
    prometheus::Counter* success = nullptr;
    prometheus::Counter* failure = nullptr;
    prometheus::Gauge* last_successful = nullptr;
    prometheus::Gauge* last_success_time = nullptr;
  };
  std::array<ReloadSeries, kReloadTargetCount> reloads_{};
  prometheus::Gauge* pricing_models_;
  prometheus::Gauge* last_scrape_seconds_;
  prometheus::Gauge* last_scrape_bytes_;
  std::array<std::array<prometheus::Counter*, 2>, 3> scrapes_{};  // [format][gzip]

  prometheus::Family<prometheus::Gauge>* budgets_;
  std::vector<prometheus::Gauge*> budget_gauges_;
  std::mutex budgets_mu_;
};

}  // namespace llm_exporter::telemetry
