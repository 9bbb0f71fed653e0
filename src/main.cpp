// llm_exporter: composition only. Parse flags, build the pipeline (decode -> price -> aggregate
// -> expose), start the transports, then wait for signals: SIGHUP reloads, SIGTERM/SIGINT stop.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <exception>
#include <iostream>

#include "aggregate/series_store.h"
#include "config/flags.h"
#include "config/logging.h"
#include "config/reloader.h"
#include "expose/metrics_renderer.h"
#include "ingest/event_pipeline.h"
#include "llm_exporter/clock.h"
#include "llm_exporter/version.h"
#include "pricing/price_catalog.h"
#include "server/http_server.h"
#include "telemetry/agent_metrics.h"

namespace {

using namespace llm_exporter;

int Run(const config::AgentConfig& cfg) {
  // Signals are taken by sigwait() below; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

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
  ingest::EventPipeline pipeline(limits, prices, store, agent_metrics);
  expose::MetricsRenderer renderer(store, agent_metrics, clock);

  server::HttpServerOptions http_options;
  http_options.listen_address = cfg.listen_address;
  http_options.telemetry_path = cfg.telemetry_path;
  http_options.max_request_bytes = cfg.max_request_bytes;
  http_options.threads = cfg.web_threads;
  server::HttpServer http(http_options, pipeline, renderer, reloader, agent_metrics);
  http.Start();

  spdlog::info("Starting llm_exporter {}: price table {} ({} models), budgets {}",
               LLM_EXPORTER_VERSION_STRING,
               cfg.pricing_file.empty() ? "built-in" : cfg.pricing_file,
               prices.Current()->size(), cfg.budgets_file.empty() ? "none" : cfg.budgets_file);
  spdlog::info("Listening on http://{}; metrics at {}, events to POST /v1/events",
               http.bound_address(), cfg.telemetry_path);
  if (!server::IsLoopbackHost(cfg.listen_address)) {
    spdlog::warn("Listening on a non-loopback address: anyone who can reach {} can post events "
                 "and read metrics",
                 http.bound_address());
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
