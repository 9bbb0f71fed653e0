// llm_exporter: composition only. Parse flags, build the pipeline (decode -> price -> aggregate
// -> expose), start the transports, then wait for signals: SIGHUP reloads, SIGTERM/SIGINT stop.
// Each transport is one folder under src/transport/ and one Start... function here.
#include <malloc.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "aggregate/series_store.h"
#include "config/flags.h"
#include "config/logging.h"
#include "config/proxy_config.h"
#include "config/reloader.h"
#include "config/remote_write_config.h"
#include "config/web_config.h"
#include "expose/metrics_renderer.h"
#include "llm_exporter/clock.h"
#include "llm_exporter/metrics_source.h"
#include "llm_exporter/version.h"
#include "pipeline/event_pipeline.h"
#include "pipeline/proxy_pipeline.h"
#include "pipeline/span_pipeline.h"
#include "pricing/price_catalog.h"
#include "remote_write/http_sender.h"
#include "remote_write/remote_writer.h"
#include "telemetry/agent_metrics.h"
#include "telemetry/listener_metrics.h"
#include "telemetry/otlp_metrics.h"
#include "telemetry/proxy_metrics.h"
#include "telemetry/remote_write_metrics.h"
#include "transport/common/listen_address.h"
#include "transport/common/socket_file.h"
#include "transport/datagram/datagram_listener.h"
#include "transport/grpc/grpc_server.h"
#include "transport/http/http_server.h"
#include "transport/proxy/metering_proxy.h"
#include "transport/unix/unix_stream_listener.h"

namespace {

using namespace llm_exporter;

// The unix stream socket. Its default path is used only when its directory exists, and a failure
// there leaves HTTP serving; a path given with --ingest.listen-unix must work (docs/ingest.md).
std::unique_ptr<transport::UnixStreamListener> StartUnixListener(
    const config::AgentConfig& cfg, EventIngest& events, telemetry::ListenerMetrics& metrics,
    const Clock& clock) {
  const std::string& path = cfg.unix_listen_path;
  if (path.empty()) return nullptr;
  if (!cfg.unix_listen_path_given && !transport::SocketDirectoryExists(path)) {
    spdlog::info("Not listening on the default unix socket {}: its directory does not exist "
                 "(create it, or set --ingest.listen-unix; see docs/ingest.md)",
                 path);
    return nullptr;
  }
  transport::UnixStreamListenerOptions options;
  options.path = path;
  options.mode = cfg.unix_socket_mode;
  options.max_line_bytes = cfg.max_line_bytes;
  options.max_connections = cfg.max_connections;
  auto listener = std::make_unique<transport::UnixStreamListener>(options, events, metrics, clock);
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
               transport::ModeText(cfg.unix_socket_mode));
  return listener;
}

// A unix datagram socket or UDP, when its flag names an address.
std::unique_ptr<transport::DatagramListener> StartDatagramListener(
    Transport transport, const std::string& address, const config::AgentConfig& cfg,
    EventIngest& events, telemetry::ListenerMetrics& metrics, const Clock& clock) {
  if (address.empty()) return nullptr;
  transport::DatagramListenerOptions options;
  options.transport = transport;
  options.address = address;
  options.mode = cfg.unix_socket_mode;
  options.max_datagram_bytes = cfg.max_datagram_bytes;
  auto listener = std::make_unique<transport::DatagramListener>(options, events, metrics, clock);
  listener->Start();
  if (transport == Transport::kUdp) {
    spdlog::info("Listening for events on udp {} (receive buffer {} bytes)",
                 listener->bound_address(), listener->receive_buffer_bytes() / 2);
    if (const std::optional<std::string> warning = transport::ExposureWarning(
            transport, listener->bound_host(), listener->bound_address(), {})) {
      spdlog::warn("{}", *warning);
    }
  } else {
    spdlog::info("Listening for events on unixgram socket {} (mode {})", address,
                 transport::ModeText(cfg.unix_socket_mode));
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

// Series past --metrics.ttl are dropped just before each scrape and each remote write snapshot,
// as their own step, so that neither ever shows one. Each remote writer is handed the series
// that went, to end them at its receiver with staleness markers.
class StoreExpiry {
 public:
  explicit StoreExpiry(aggregate::SeriesStore& store) : store_(store) {}
  void AddWriter(remote_write::RemoteWriter* writer) {
    std::lock_guard<std::mutex> lock(mu_);
    writers_.push_back(writer);
  }
  void Run() {
    std::lock_guard<std::mutex> lock(mu_);
    if (writers_.empty()) {
      store_.Expire();
      return;
    }
    auto expired = std::make_shared<aggregate::ExpiredSeries>();
    if (store_.Expire(expired.get()) == 0) return;
    for (remote_write::RemoteWriter* writer : writers_) writer->AddExpired(expired);
  }

 private:
  aggregate::SeriesStore& store_;
  std::mutex mu_;
  std::vector<remote_write::RemoteWriter*> writers_;
};

// /metrics: expired series dropped first.
class ExpiringMetrics final : public MetricsSource {
 public:
  ExpiringMetrics(StoreExpiry& expiry, MetricsSource& renderer)
      : expiry_(expiry), renderer_(renderer) {}
  std::string Render(ExpositionFormat format) override {
    expiry_.Run();
    return renderer_.Render(format);
  }

 private:
  StoreExpiry& expiry_;
  MetricsSource& renderer_;
};

// `instance` and `job` for the remote write targets that leave them out: "<hostname>:<port>",
// as a Prometheus scraping the agent at that port would label it.
config::RemoteWriteDefaults RemoteWriteDefaultsFor(const std::string& address) {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) std::strcpy(host, "localhost");
  config::RemoteWriteDefaults defaults;
  const std::size_t colon = address.rfind(':');
  defaults.instance = std::string(host) + ":" +
                      (colon == std::string::npos ? address : address.substr(colon + 1));
  return defaults;
}

// The remote writers of `targets` (--remote-write.config.file), started. Their metrics were
// registered before HTTP started, so that /metrics shows them from the first scrape on. A target
// whose `instance` was left to the default gets the port the agent really listens on, which
// differs from the flag's when that says port 0.
std::vector<std::unique_ptr<remote_write::RemoteWriter>> StartRemoteWriters(
    std::vector<config::RemoteWriteTarget> targets,
    const std::vector<telemetry::RemoteWriteTargetMetrics*>& target_metrics,
    const config::AgentConfig& cfg, const std::string& bound_address,
    const expose::MetricsRenderer& renderer, StoreExpiry& expiry, const Clock& clock) {
  std::vector<std::unique_ptr<remote_write::RemoteWriter>> writers;
  const std::string configured = RemoteWriteDefaultsFor(cfg.listen_address).instance;
  const std::string bound = RemoteWriteDefaultsFor(bound_address).instance;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    config::RemoteWriteTarget& target = targets[i];
    std::string& instance = target.external_labels["instance"];
    if (instance == configured) instance = bound;
    spdlog::info("Remote write to {} ({}) every {} ms, instance=\"{}\" job=\"{}\"", target.url,
                 target.name, target.send_interval.count(), instance,
                 target.external_labels["job"]);
    writers.push_back(std::make_unique<remote_write::RemoteWriter>(
        std::move(target), renderer, *target_metrics[i], clock, [&expiry] { expiry.Run(); }));
    expiry.AddWriter(writers.back().get());
    writers.back()->Start();
  }
  return writers;
}

// --check-config: every file the flags name, loaded as start-up would load it.
int CheckConfig(const config::AgentConfig& cfg) {
  if (!cfg.web_config_file.empty()) config::LoadWebConfig(cfg.web_config_file);
  transport::CivetwebListeningPort(cfg.listen_address);
  SystemClock clock;
  telemetry::AgentMetrics agent_metrics;
  pricing::PriceCatalog prices(pricing::PriceTable::Default());
  config::Reloader reloader(cfg.pricing_file, cfg.budgets_file, prices, agent_metrics, clock);
  reloader.LoadInitial();
  std::size_t targets = 0;
  if (!cfg.remote_write_config_file.empty()) {
    targets = config::LoadRemoteWriteConfig(cfg.remote_write_config_file,
                                            RemoteWriteDefaultsFor(cfg.listen_address))
                  .size();
  }
  std::size_t upstreams = 0;
  if (!cfg.proxy_config_file.empty()) {
    upstreams = config::LoadProxyConfig(cfg.proxy_config_file).upstreams.size();
  }
  std::cout << "llm_exporter: config OK: price table "
            << (cfg.pricing_file.empty() ? "built-in" : cfg.pricing_file) << " ("
            << prices.Current()->size() << " models), budgets "
            << (cfg.budgets_file.empty() ? "none" : cfg.budgets_file) << ", web config "
            << (cfg.web_config_file.empty() ? "none" : cfg.web_config_file) << ", remote write "
            << (cfg.remote_write_config_file.empty()
                    ? std::string("none")
                    : cfg.remote_write_config_file + " (" + std::to_string(targets) +
                          (targets == 1 ? " target)" : " targets)"))
            << ", proxy "
            << (cfg.proxy_config_file.empty()
                    ? std::string("none")
                    : cfg.proxy_config_file + " (" + std::to_string(upstreams) +
                          (upstreams == 1 ? " upstream)" : " upstreams)"))
            << std::endl;
  return 0;
}

// OTLP/gRPC, when --otlp.grpc-listen-address asks for it; failing to listen there is fatal.
std::unique_ptr<transport::GrpcServer> StartGrpcServer(
    const config::AgentConfig& cfg, const std::optional<config::WebConfig>& web_config,
    SpanIngest& spans, telemetry::AgentMetrics& agent_metrics) {
  if (cfg.otlp_grpc_listen_address.empty()) return nullptr;
  transport::GrpcServerOptions options;
  options.listen_address = cfg.otlp_grpc_listen_address;
  options.max_message_bytes = cfg.max_request_bytes;
  options.web_config = web_config;
  auto server = std::make_unique<transport::GrpcServer>(options, spans, agent_metrics);
  server->Start();
  spdlog::info("Listening for OTLP/gRPC on {} ({}){}", server->bound_address(),
               server->tls() ? "TLS" : "plaintext",
               web_config && web_config->auth_enabled() ? ", basic auth required" : "");
  if (const std::optional<std::string> warning = server->exposure_warning()) {
    spdlog::warn("{}", *warning);
  }
  return server;
}

// The OTLP span pipeline's settings from the flags (docs/otlp.md).
pipeline::SpanPipelineOptions SpanPipelineOptionsFrom(const config::AgentConfig& cfg) {
  pipeline::SpanPipelineOptions options;
  options.reader.max_label_bytes = cfg.max_label_bytes;
  if (cfg.otlp_user_attributes) options.reader.attributes.user = *cfg.otlp_user_attributes;
  if (cfg.otlp_team_attributes) options.reader.attributes.team = *cfg.otlp_team_attributes;
  if (cfg.otlp_endpoint_attributes) {
    options.reader.attributes.endpoint = *cfg.otlp_endpoint_attributes;
  }
  options.hold.hold = cfg.otlp_span_hold;
  options.hold.max_spans = cfg.otlp_max_remembered_spans;
  return options;
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

  // The config files first: a bad one stops the agent (exit 2) before anything listens.
  std::optional<config::WebConfig> web_config;
  if (!cfg.web_config_file.empty()) web_config = config::LoadWebConfig(cfg.web_config_file);
  transport::CivetwebListeningPort(cfg.listen_address);  // throws on a malformed address
  std::vector<config::RemoteWriteTarget> remote_write_targets;
  if (!cfg.remote_write_config_file.empty()) {
    remote_write_targets = config::LoadRemoteWriteConfig(
        cfg.remote_write_config_file, RemoteWriteDefaultsFor(cfg.listen_address));
    remote_write::InitHttpClient();
  }
  config::ProxyConfig proxy_config;  // no upstreams: the proxy is off
  if (!cfg.proxy_config_file.empty()) proxy_config = config::LoadProxyConfig(cfg.proxy_config_file);

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
  store_options.tpot_buckets = cfg.tpot_buckets;
  store_options.output_tps_buckets = cfg.output_tps_buckets;
  store_options.labels = cfg.label_control;
  // A dropped label or a limit given for one metric of a stored family holds for all of them.
  for (const std::string& note : aggregate::SharedFamilyNotes(cfg.label_control)) {
    spdlog::info("{}", note);
  }
  store_options.quality_buckets = cfg.quality_buckets;
  store_options.workflow_buckets = cfg.workflow_buckets;
  if (cfg.native_histograms) {
    aggregate::NativeHistogramOptions native;
    native.max_buckets = cfg.native_histogram_max_buckets;
    store_options.native = native;
  }
  aggregate::SeriesStore store(store_options, clock);

  decode::DecodeLimits limits;
  limits.max_label_bytes = cfg.max_label_bytes;
  pipeline::EventPipeline event_pipeline(limits, prices, store, agent_metrics, clock);
  telemetry::ListenerMetrics listener_metrics(agent_metrics);
  telemetry::OtlpMetrics otlp_metrics(agent_metrics);
  pipeline::SpanPipeline span_pipeline(SpanPipelineOptionsFrom(cfg), prices, store, otlp_metrics,
                                       clock);
  // Held LLM-call spans are decided after each request and, while none comes, on this timer.
  span_pipeline.StartReleasing(std::chrono::milliseconds(250));
  expose::MetricsRenderer renderer(store, agent_metrics, clock);
  StoreExpiry expiry(store);
  ExpiringMetrics metrics(expiry, renderer);
  telemetry::RemoteWriteMetrics remote_write_metrics(agent_metrics);
  std::vector<telemetry::RemoteWriteTargetMetrics*> remote_write_target_metrics;
  for (const config::RemoteWriteTarget& target : remote_write_targets) {
    remote_write_target_metrics.push_back(
        &remote_write_metrics.AddTarget(target.name, target.capacity));
  }

  // The metering proxy, with the upstreams --proxy.config.file names: its calls are priced and
  // recorded as every transport's, with what it saw of each upstream. Without the flag it has
  // none, and answers /proxy/... with a 404 saying how to turn it on (counted as an unknown
  // upstream).
  std::vector<std::string> proxy_names;
  for (const config::Upstream& upstream : proxy_config.upstreams) {
    proxy_names.push_back(upstream.name);
  }
  telemetry::ProxyMetrics proxy_metrics(agent_metrics, proxy_names);
  pipeline::ProxyPipeline proxy_pipeline(prices, store);
  transport::proxy::MeteringProxyOptions proxy_options;
  proxy_options.max_label_bytes = cfg.max_label_bytes;
  transport::proxy::MeteringProxy proxy(std::move(proxy_config), proxy_pipeline, proxy_metrics,
                                        proxy_options);

  transport::HttpServerOptions http_options;
  http_options.listen_address = cfg.listen_address;
  http_options.telemetry_path = cfg.telemetry_path;
  http_options.max_request_bytes = cfg.max_request_bytes;
  http_options.threads = cfg.web_threads;
  http_options.request_timeout_ms = static_cast<int>(cfg.web_request_timeout.count() * 1000);
  http_options.keep_alive_timeout_ms = static_cast<int>(cfg.web_keep_alive_timeout.count() * 1000);
  http_options.web_config = web_config;
  transport::HttpServer http(http_options, event_pipeline, metrics, reloader, agent_metrics,
                            &span_pipeline, &proxy);

  spdlog::info("Starting llm_exporter {}: price table {} ({} models), budgets {}",
               LLM_EXPORTER_VERSION_STRING,
               cfg.pricing_file.empty() ? "built-in" : cfg.pricing_file,
               prices.Current()->size(), cfg.budgets_file.empty() ? "none" : cfg.budgets_file);
  // The socket transports start before HTTP, so that /-/ready answering means every transport
  // is listening; they stop before it.
  std::unique_ptr<transport::UnixStreamListener> unix_listener =
      StartUnixListener(cfg, event_pipeline, listener_metrics, clock);
  std::unique_ptr<transport::DatagramListener> unixgram_listener = StartDatagramListener(
      Transport::kUnixgram, cfg.unixgram_listen_path, cfg, event_pipeline, listener_metrics, clock);
  std::unique_ptr<transport::DatagramListener> udp_listener = StartDatagramListener(
      Transport::kUdp, cfg.udp_listen_address, cfg, event_pipeline, listener_metrics, clock);
  std::unique_ptr<transport::GrpcServer> grpc_server =
      StartGrpcServer(cfg, web_config, span_pipeline, agent_metrics);
  http.Start();
  spdlog::info("Listening on {}://{}; metrics at {}, events to POST /v1/events, OTLP spans to "
               "POST /v1/traces{}", http.scheme(),
               http.bound_address(), cfg.telemetry_path,
               web_config && web_config->auth_enabled() ? " (basic auth required)" : "");
  if (const std::optional<std::string> warning = transport::HttpExposureWarning(
          cfg.listen_address, http.bound_address(), web_config ? &*web_config : nullptr)) {
    spdlog::warn("{}", *warning);
  }
  for (const config::Upstream& upstream : proxy.config().upstreams) {
    spdlog::info("Metering proxy: {}://{}/proxy/{} -> {} ({})", http.scheme(),
                 http.bound_address(), upstream.name, upstream.url,
                 config::UpstreamKindName(upstream.kind));
  }
  std::vector<std::unique_ptr<remote_write::RemoteWriter>> remote_writers =
      StartRemoteWriters(std::move(remote_write_targets), remote_write_target_metrics, cfg,
                         http.bound_address(), renderer, expiry, clock);

  while (true) {
    int signal_number = 0;
    if (sigwait(&signals, &signal_number) != 0) continue;
    if (signal_number == SIGHUP) {
      spdlog::info("SIGHUP: reloading the price table and budgets");
      // Reload() logs each file's outcome; a signal has no one to answer with the status.
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
  if (grpc_server) grpc_server->Stop();
  // Proxied streams may last minutes: they are cut now, so that stopping HTTP, which waits for
  // the requests in flight, does not wait for them.
  proxy.Shutdown();
  http.Stop();
  // What the hold still keeps is decided and counted, for a final scrape by nothing: the
  // series go with the process, but the log says how much was in flight.
  span_pipeline.ReleaseAll();
  // Last, so that what came in until now is sent: each writer ends every series with a
  // staleness marker and sends what is queued, for up to --remote-write.flush-deadline.
  // All at once, so that a slow target does not eat the others' time.
  std::vector<std::thread> stopping;
  for (auto& writer : remote_writers) {
    stopping.emplace_back([&writer, &cfg] { writer->Stop(cfg.remote_write_flush_deadline); });
  }
  for (std::thread& thread : stopping) thread.join();
  spdlog::info("Stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  llm_exporter::config::AgentConfig cfg;
  if (const auto exit_code = llm_exporter::config::ParseFlags(argc, argv, &cfg)) return *exit_code;
  llm_exporter::config::SetUpLogging(cfg.log_level, cfg.log_format);
  try {
    if (cfg.check_config) return CheckConfig(cfg);
    return Run(cfg);
  } catch (const std::exception& e) {
    std::cerr << "llm_exporter: error: " << e.what() << std::endl;
    return 2;
  }
}
