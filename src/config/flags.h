// The command line, Prometheus-exporter style (--web.listen-address, --log.level ...), parsed
// with CLI11 into one plain struct. docs/configuration.md lists every flag.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace llm_exporter::config {

inline constexpr const char* kDefaultListenAddress = "127.0.0.1:9778";

struct AgentConfig {
  std::string listen_address = kDefaultListenAddress;
  std::string telemetry_path = "/metrics";
  std::string pricing_file;  // empty: the built-in table
  std::string budgets_file;  // empty: no budgets
  std::string log_level = "info";
  std::string log_format = "logfmt";
  std::size_t max_request_bytes = 16u << 20;
  std::size_t max_label_bytes = 128;
  std::size_t web_threads = 16;
  std::size_t max_series_per_family = 10000;
  std::chrono::seconds ttl{0};
  std::vector<double> duration_buckets = {0.1, 0.5, 1, 2, 5, 10, 30};
  std::vector<double> ttft_buckets = {0.1, 0.25, 0.5, 1, 2, 5};
  std::vector<double> quality_buckets = {1, 2, 3, 4, 5};
};

// Parses argv into *config. Returns nullopt to go on running, or the exit code to stop with:
// 0 after --help or --version (printed to stdout), 2 after one error line on stderr.
std::optional<int> ParseFlags(int argc, char** argv, AgentConfig* config);

// "30s", "5m", "2h", "1d", or "0" (off): the duration in seconds; throws std::invalid_argument.
std::chrono::seconds ParseDuration(const std::string& text);

}  // namespace llm_exporter::config
