// The command line, Prometheus-exporter style (--web.listen-address, --log.level ...), parsed
// with CLI11 into one plain struct. docs/configuration.md lists every flag.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "aggregate/label_control.h"

namespace llm_exporter::config {

inline constexpr const char* kDefaultListenAddress = "127.0.0.1:9778";
// The unix stream socket's default: used when its directory exists (docs/ingest.md).
inline constexpr const char* kDefaultUnixSocketPath = "/run/llm_exporter/events.sock";

struct AgentConfig {
  std::string listen_address = kDefaultListenAddress;
  std::string telemetry_path = "/metrics";
  std::string pricing_file;  // empty: the built-in table
  std::string budgets_file;  // empty: no budgets
  std::string log_level = "info";
  std::string log_format = "logfmt";
  std::size_t max_request_bytes = 16u << 20;
  std::size_t max_label_bytes = 128;
  // One civetweb worker per connection served at once (a stalled client holds one until its
  // deadline); an idle worker costs about 20 KiB of RSS (docs/operations.md).
  std::size_t web_threads = 1536;
  std::string web_config_file;  // TLS and basic auth (docs/configuration.md); empty: neither
  // Remote write targets (docs/scale-out.md); empty: none.
  std::string remote_write_config_file;
  // The metering proxy's upstreams (docs/proxy.md); empty: no proxy.
  std::string proxy_config_file;
  // How long a stopping agent keeps sending what its remote write queues hold.
  std::chrono::milliseconds remote_write_flush_deadline{5000};
  // --check-config: load every file the flags name, report, exit.
  bool check_config = false;
  std::chrono::seconds web_request_timeout{10};
  std::chrono::seconds web_keep_alive_timeout{5};
  std::size_t max_series_per_family = 10000;
  // --metrics.drop-labels and --metrics.max-series (docs/metrics.md, "Label control").
  aggregate::LabelControl label_control;
  std::chrono::seconds ttl{0};
  std::vector<double> duration_buckets = {0.1, 0.5, 1, 2, 5, 10, 30};
  std::vector<double> ttft_buckets = {0.1, 0.25, 0.5, 1, 2, 5};
  std::vector<double> tpot_buckets = {0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1};
  std::vector<double> output_tps_buckets = {5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500};
  std::vector<double> quality_buckets = {1, 2, 3, 4, 5};
  std::vector<double> workflow_buckets = {0.5, 1, 2, 5, 10, 30, 60, 120, 300};
  // Native histograms of latency and TTFT beside the classic buckets (docs/metrics.md).
  bool native_histograms = false;
  uint32_t native_histogram_max_buckets = 160;
  // Socket transports (docs/ingest.md); an empty path or address turns one off.
  std::string unix_listen_path = kDefaultUnixSocketPath;
  bool unix_listen_path_given = false;  // on the command line: failing to listen is fatal
  std::string unixgram_listen_path;
  std::string udp_listen_address;
  unsigned unix_socket_mode = 0660;
  std::size_t max_line_bytes = 64u << 10;
  std::size_t max_datagram_bytes = 64u << 10;
  std::size_t max_connections = 1024;
  // OTLP trace ingest (docs/otlp.md). POST /v1/traces is always on the HTTP port.
  std::string otlp_grpc_listen_address;  // empty: no OTLP/gRPC (the usual value: 127.0.0.1:4317)
  std::chrono::seconds otlp_span_hold{5};
  std::size_t otlp_max_remembered_spans = 200'000;
  // Attribute names for the user, team and endpoint of an LLM-call span, in order; nullopt: the
  // built-in lists (otlp::SpanAttributeNames).
  std::optional<std::vector<std::string>> otlp_user_attributes;
  std::optional<std::vector<std::string>> otlp_team_attributes;
  std::optional<std::vector<std::string>> otlp_endpoint_attributes;
};

// Parses argv into *config. Returns nullopt to go on running, or the exit code to stop with:
// 0 after --help or --version (printed to stdout), 2 after one error line on stderr. An empty
// value (--flag= or --flag "") is the default of a file or socket flag, an error for any other
// flag, and never makes a flag take the next argument as its value.
std::optional<int> ParseFlags(int argc, char** argv, AgentConfig* config);

// "30s", "5m", "2h", "1d", or "0" (off): the duration in seconds; throws std::invalid_argument.
std::chrono::seconds ParseDuration(const std::string& text);

}  // namespace llm_exporter::config
