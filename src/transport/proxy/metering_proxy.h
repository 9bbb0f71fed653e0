// The metering proxy (docs/proxy.md): /proxy/<upstream>/<path> is forwarded to that upstream's
// url + /<path>, the answer relayed to the client as it arrives, and every LLM call measured on
// the wire (model, tokens, latency, TTFT, status) and recorded as a call event.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/proxy_config.h"
#include "llm_exporter/proxy_ingest.h"
#include "llm_exporter/proxy_service.h"
#include "telemetry/proxy_metrics.h"

namespace llm_exporter::transport::proxy {

class UpstreamPool;

struct MeteringProxyOptions {
  std::size_t max_label_bytes = 128;  // --ingest.max-label-bytes: longer labels are cut
  std::size_t max_idle_sessions = 64;  // per upstream: connections kept open between requests
};

// Thread-safe: Serve() runs on any number of HTTP worker threads at once, each request on its
// own. Owns one UpstreamPool per configured upstream. With no upstream configured the proxy is
// off: every request gets a 404 saying how to turn it on. `ingest` and `metrics` must outlive it;
// `metrics` indexes upstreams in the config's order.
class MeteringProxy final : public ProxyService {
 public:
  MeteringProxy(config::ProxyConfig config, ProxyIngest& ingest, telemetry::ProxyMetrics& metrics,
                MeteringProxyOptions options = {});
  ~MeteringProxy() override;

  int Serve(ProxyExchange& exchange) override;

  // The agent is stopping: transfers in flight end at once (their clients' connections are cut)
  // and later requests are answered 503.
  void Shutdown();

  const config::ProxyConfig& config() const { return config_; }

 private:
  int ServeUpstream(ProxyExchange& exchange, std::size_t index, std::string_view rest,
                    bool has_rest);

  const config::ProxyConfig config_;
  ProxyIngest& ingest_;
  telemetry::ProxyMetrics& metrics_;
  const MeteringProxyOptions options_;
  std::vector<std::unique_ptr<UpstreamPool>> pools_;
  std::string known_upstreams_;  // "openai, anthropic", for the 404
  std::atomic<bool> stopping_{false};
};

}  // namespace llm_exporter::transport::proxy
