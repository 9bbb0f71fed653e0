#include "config/flags.h"

#include <doctest/doctest.h>

#include <initializer_list>
#include <string>
#include <vector>

namespace llm_exporter::config {
namespace {

// Parses `args` (without argv[0]); returns ParseFlags' result.
std::optional<int> Parse(std::initializer_list<std::string> args, AgentConfig* config) {
  std::vector<std::string> storage = {"llm_exporter"};
  storage.insert(storage.end(), args);
  std::vector<char*> argv;
  for (std::string& s : storage) argv.push_back(s.data());
  return ParseFlags(static_cast<int>(argv.size()), argv.data(), config);
}

TEST_CASE("ParseFlags: defaults are loopback-only and the seed's buckets") {
  AgentConfig config;
  CHECK_FALSE(Parse({}, &config).has_value());
  CHECK(config.listen_address == "127.0.0.1:9778");
  CHECK(config.telemetry_path == "/metrics");
  CHECK(config.log_format == "logfmt");
  CHECK(config.ttl.count() == 0);
  CHECK(config.duration_buckets == std::vector<double>{0.1, 0.5, 1, 2, 5, 10, 30});
}

TEST_CASE("ParseFlags: exporter-style flags are read") {
  AgentConfig config;
  CHECK_FALSE(Parse({"--web.listen-address=0.0.0.0:9999", "--web.telemetry-path", "/m",
                     "--log.level=debug", "--log.format=json", "--metrics.ttl=30m",
                     "--metrics.buckets.ttft=0.05,0.1,1", "--metrics.max-series-per-family=5"},
                    &config)
                  .has_value());
  CHECK(config.listen_address == "0.0.0.0:9999");
  CHECK(config.telemetry_path == "/m");
  CHECK(config.log_level == "debug");
  CHECK(config.log_format == "json");
  CHECK(config.ttl == std::chrono::minutes(30));
  CHECK(config.ttft_buckets == std::vector<double>{0.05, 0.1, 1});
  CHECK(config.max_series_per_family == 5);
}

TEST_CASE("ParseFlags: bad flags exit with code 2, --help and --version with 0") {
  AgentConfig config;
  CHECK(Parse({"--nope"}, &config) == 2);
  CHECK(Parse({"--log.format=xml"}, &config) == 2);
  CHECK(Parse({"--metrics.ttl=soon"}, &config) == 2);
  CHECK(Parse({"--metrics.buckets.request-duration=5,1"}, &config) == 2);
  CHECK(Parse({"--web.telemetry-path=metrics"}, &config) == 2);
  CHECK(Parse({"--pricing.file=/nonexistent.json"}, &config) == 2);
  CHECK(Parse({"--version"}, &config) == 0);
  CHECK(Parse({"--help"}, &config) == 0);
}

TEST_CASE("ParseDuration: seconds, minutes, hours, days and 0") {
  CHECK(ParseDuration("0").count() == 0);
  CHECK(ParseDuration("45s").count() == 45);
  CHECK(ParseDuration("2h").count() == 7200);
  CHECK(ParseDuration("1d").count() == 86400);
  CHECK_THROWS_AS(ParseDuration("5"), std::invalid_argument);
  CHECK_THROWS_AS(ParseDuration("-5m"), std::invalid_argument);
  CHECK_THROWS_AS(ParseDuration("5w"), std::invalid_argument);
}

TEST_CASE("ParseFlags: the web config file and the HTTP timeouts") {
  AgentConfig config;
  CHECK_FALSE(Parse({}, &config).has_value());
  CHECK(config.web_config_file.empty());
  CHECK(config.web_request_timeout == std::chrono::seconds(10));
  CHECK(config.web_keep_alive_timeout == std::chrono::seconds(5));
  CHECK_FALSE(Parse({"--web.config.file=/etc/llm_exporter/web.yml", "--web.request-timeout=1m",
                     "--web.keep-alive-timeout=2m"},
                    &config)
                  .has_value());
  CHECK(config.web_config_file == "/etc/llm_exporter/web.yml");
  CHECK(config.web_request_timeout == std::chrono::seconds(60));
  CHECK(config.web_keep_alive_timeout == std::chrono::minutes(2));
  CHECK(Parse({"--web.request-timeout=0"}, &config) == 2);
  CHECK(Parse({"--web.request-timeout=2h"}, &config) == 2);
  CHECK(Parse({"--web.request-timeout=10"}, &config) == 2);
  CHECK(Parse({"--web.keep-alive-timeout=0"}, &config) == 2);
  CHECK(Parse({"--web.keep-alive-timeout=1d"}, &config) == 2);
}

}  // namespace
}  // namespace llm_exporter::config
