// llm_exporter: composition only. Parse flags, build the pipeline (decode -> price -> aggregate
// -> expose), start the transports, then wait for signals: SIGHUP reloads, SIGTERM/SIGINT stop.
#include <malloc.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "aggregate/series_store.h"
#include "config/flags.h"
#include "config/logging.h"
#include "config/reloader.h"
#include "expose/metrics_renderer.h"
#include "ingest/datagram_listener.h"
#include "ingest/event_pipeline.h"
#include "ingest/listener_metrics.h"
#include "ingest/socket_file.h"
#include "ingest/unix_stream_listener.h"
#include "llm_exporter/clock.h"
#include "llm_exporter/metrics_source.h"
#include "llm_exporter/version.h"
#include "pricing/price_catalog.h"
#include "server/http_server.h"
#include "server/web_config.h"
#include "telemetry/agent_metrics.h"

namespace {

using namespace llm_exporter;

// What /metrics serves: series past --metrics.ttl are dropped just before each scrape, as the
// renderer itself only reads the store. Thread-safe, as both parts are.
class ExpiringMetrics final : public MetricsSource {
 public:
  ExpiringMetrics(aggregate::SeriesStore& store, expose::MetricsRenderer& renderer)
      : store_(store), renderer_(renderer) {}

  std::string Render() override {
    store_.Expire();
    return renderer_.Render();
  }

 private:
  aggregate::SeriesStore& store_;
  expose::MetricsRenderer& renderer_;
};

// The unix stream socket. Its default path is used only when its directory exists, and a failure
// there leaves HTTP serving; a path given with --ingest.listen-unix must work (docs/ingest.md).
std::unique_ptr<ingest::UnixStreamListener> StartUnixListener(const config::AgentConfig& cfg,
                                                              ingest::EventPipeline& pipeline,
                                                              ingest::ListenerMetrics& metrics,
                                                              const Clock& clock) {
  const std::string& path = cfg.unix_listen_path;
  if (path.empty()) return nullptr;
  if (!cfg.unix_listen_path_given && !ingest::SocketDirectoryExists(path)) {
    spdlog::info("Not listening on the default unix socket {}: its directory does not exist "
                 "(create it, or set --ingest.listen-unix; see docs/ingest.md)",
                 path);
    return nullptr;
  }
  ingest::UnixStreamListenerOptions options;
  options.path = path;
  options.mode = cfg.unix_socket_mode;
  options.max_line_bytes = cfg.max_line_bytes;
  options.max_connections = cfg.max_connections;
  auto listener = std::make_unique<ingest::UnixStreamListener>(options, pipeline, metrics, clock);
  try {
    listener->Start();
  } catch (const std::runtime_error& e) {
    if (cfg.unix_listen_path_given) throw;
    spdlog::warn("{}; events can still be posted over HTTP (set --ingest.listen-unix to another "
                 "path, or to \"\" to turn the socket off)",
                 e.what());
    return nullptr;
  }
  spdlog::info("Listening for NDJSON events on unix socket {} (mode {})", path,
               ingest::ModeText(cfg.unix_socket_mode));
  return listener;
}

// A unix datagram socket or UDP, when its flag names an address.
std::unique_ptr<ingest::DatagramListener> StartDatagramListener(
    Transport transport, const std::string& address, const config::AgentConfig& cfg,
    ingest::EventPipeline& pipeline, ingest::ListenerMetrics& metrics, const Clock& clock) {
  if (address.empty()) return nullptr;
  ingest::DatagramListenerOptions options;
  options.transport = transport;
  options.address = address;
  options.mode = cfg.unix_socket_mode;
  options.max_datagram_bytes = cfg.max_datagram_bytes;
  auto listener = std::make_unique<ingest::DatagramListener>(options, pipeline, metrics, clock);
  listener->Start();
  if (transport == Transport::kUdp) {
    spdlog::info("Listening for events on udp {} (receive buffer {} bytes)",
                 listener->bound_address(), listener->receive_buffer_bytes() / 2);
    if (!listener->loopback_only()) {
      spdlog::warn("Listening for UDP on a non-loopback address: anyone who can reach {} can "
                   "send events",
                   listener->bound_address());
    }
  } else {
    spdlog::info("Listening for events on unixgram socket {} (mode {})", address,
                 ingest::ModeText(cfg.unix_socket_mode));
  }
  return listener;
}

// Memory that follows the load rather than its peaks. glibc serves a block of 128 KiB or more (a
// request body, a parse document, a scrape's text) with mmap and unmaps it when freed; by default
// it raises that threshold to the largest block freed so far, after which such blocks come from
// one of its per-thread arenas and stay resident there, in every arena that once served one.
// A fixed threshold turns that off (measured: 287 -> see bench/README.md, bytes per series).
void SetUpMalloc() { mallopt(M_MMAP_THRESHOLD, 128 << 10); }

// Every connection served at once holds a descriptor: raise the soft limit towards the hard one
// so that --web.threads connections (and the unix socket's) can be open, and say so when the
// hard limit is too low.
void RaiseOpenFileLimit(const config::AgentConfig& cfg) {
  const rlim_t wanted = cfg.web_threads + cfg.max_connections + 256;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= wanted) return;
  const rlim_t raised = limit.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, limit.rlim_max);
  if (raised > limit.rlim_cur) {
    limit.rlim_cur = raised;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  if (raised < wanted) {
    spdlog::warn("The open file limit ({}) is below the {} descriptors that --web.threads={} "
                 "connections need; raise it (LimitNOFILE= in a systemd unit, ulimit -n)",
                 raised, wanted, cfg.web_threads);
  }
}

int Run(const config::AgentConfig& cfg) {
  SetUpMalloc();
  RaiseOpenFileLimit(cfg);
  // Signals are taken by sigwait() below; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // The web config first: a bad one stops the agent (exit 2) before anything listens.
  std::optional<server::WebConfig> web_config;
  if (!cfg.web_config_file.empty()) web_config = server::LoadWebConfig(cfg.web_config_file);
  server::CivetwebListeningPort(cfg.listen_address);  // throws on a malformed address

  SystemClock clock;
  telemetry::AgentMetrics agent_metrics;
  pricing::PriceCatalog prices(pricing::PriceTable::Default());
  config::Reloader reloader(cfg.pricing_file, cfg.budgets_file, prices, agent_metrics, clock);
  reloader.LoadInitial();

  aggregate::StoreOptions store_options;
  store_options.max_series_per_family = cfg.max_series_per_family;
  store_options.ttl = cfg.ttl;
  store_options.duration_buckets = cfg.duration_buckets;
  store_options.ttft_buckets = cfg.ttft_buckets;
  store_options.quality_buckets = cfg.quality_buckets;
  aggregate::SeriesStore store(store_options, clock);

  decode::DecodeLimits limits;
  limits.max_label_bytes = cfg.max_label_bytes;
  ingest::EventPipeline pipeline(limits, prices, store, agent_metrics, clock);
  ingest::ListenerMetrics listener_metrics(agent_metrics.registry());
  expose::MetricsRenderer renderer(store, agent_metrics, clock);
  ExpiringMetrics metrics(store, renderer);

  server::HttpServerOptions http_options;
  http_options.listen_address = cfg.listen_address;
  http_options.telemetry_path = cfg.telemetry_path;
  http_options.max_request_bytes = cfg.max_request_bytes;
  http_options.threads = cfg.web_threads;
  http_options.request_timeout_ms = static_cast<int>(cfg.web_request_timeout.count() * 1000);
  http_options.keep_alive_timeout_ms = static_cast<int>(cfg.web_keep_alive_timeout.count() * 1000);
  http_options.web_config = web_config;
  server::HttpServer http(http_options, pipeline, metrics, reloader, agent_metrics);

  spdlog::info("Starting llm_exporter {}: price table {} ({} models), budgets {}",
               LLM_EXPORTER_VERSION_STRING,
               cfg.pricing_file.empty() ? "built-in" : cfg.pricing_file,
               prices.Current()->size(), cfg.budgets_file.empty() ? "none" : cfg.budgets_file);
  // The socket transports start before HTTP, so that /-/ready answering means every transport
  // is listening; they stop before it.
  std::unique_ptr<ingest::UnixStreamListener> unix_listener =
      StartUnixListener(cfg, pipeline, listener_metrics, clock);
  std::unique_ptr<ingest::DatagramListener> unixgram_listener = StartDatagramListener(
      Transport::kUnixgram, cfg.unixgram_listen_path, cfg, pipeline, listener_metrics, clock);
  std::unique_ptr<ingest::DatagramListener> udp_listener = StartDatagramListener(
      Transport::kUdp, cfg.udp_listen_address, cfg, pipeline, listener_metrics, clock);
  http.Start();
  spdlog::info("Listening on {}://{}; metrics at {}, events to POST /v1/events{}", http.scheme(),
               http.bound_address(), cfg.telemetry_path,
               web_config && web_config->auth_enabled() ? " (basic auth required)" : "");
  if (const std::optional<std::string> warning = server::ExposureWarning(
          cfg.listen_address, http.bound_address(), web_config ? &*web_config : nullptr)) {
    spdlog::warn("{}", *warning);
  }

  while (true) {
    int signal_number = 0;
    if (sigwait(&signals, &signal_number) != 0) continue;
    if (signal_number == SIGHUP) {
      spdlog::info("SIGHUP: reloading the price table and budgets");
      reloader.Reload();
      continue;
    }
    spdlog::info("Received {}, finishing requests in flight and stopping",
                 signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
    break;
  }
  // Each listener reads what its clients had already sent, then removes its socket file.
  if (udp_listener) udp_listener->Stop();
  if (unixgram_listener) unixgram_listener->Stop();
  if (unix_listener) unix_listener->Stop();
  http.Stop();
  spdlog::info("Stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  llm_exporter::config::AgentConfig cfg;
  if (const auto exit_code = llm_exporter::config::ParseFlags(argc, argv, &cfg)) return *exit_code;
  llm_exporter::config::SetUpLogging(cfg.log_level, cfg.log_format);
  try {
    return Run(cfg);
  } catch (const std::exception& e) {
    std::cerr << "llm_exporter: error: " << e.what() << std::endl;
    return 2;
  }
}
