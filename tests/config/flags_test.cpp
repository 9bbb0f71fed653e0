#include "config/flags.h"

#include <doctest/doctest.h>

#include <array>
#include <initializer_list>
#include <iostream>
#include <regex>
#include <set>
#include <sstream>
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

// Collects what is written to `stream` (std::cout, std::cerr) while it lives.
class CapturedStream {
 public:
  explicit CapturedStream(std::ostream& stream)
      : stream_(stream), saved_(stream.rdbuf(text_.rdbuf())) {}
  ~CapturedStream() { stream_.rdbuf(saved_); }
  std::string text() const { return text_.str(); }

 private:
  std::ostream& stream_;
  std::ostringstream text_;
  std::streambuf* saved_;
};

// Every flag that takes a value, by what an empty value does. The last test checks that --help
// lists no other flag, so a new flag must be added to one of these lists.
const std::vector<std::string> kEmptyMeansDefault = {
    "--pricing.file",       "--budgets.file",          "--web.config.file",
    "--ingest.listen-unix", "--ingest.listen-unixgram", "--ingest.listen-udp",
    "--otlp.grpc-listen-address", "--remote-write.config.file"};
const std::vector<std::pair<std::string, std::string>> kEmptyIsAnError = {
    {"--web.listen-address", "give host:port, e.g. 127.0.0.1:9778"},
    {"--web.telemetry-path", "give a path such as /metrics"},
    {"--web.max-request-bytes", "give a whole number"},
    {"--web.threads", "give a whole number"},
    {"--web.request-timeout", "give a duration like 10s or 1m"},
    {"--web.keep-alive-timeout", "give a duration like 5s or 1m"},
    {"--ingest.max-label-bytes", "give a whole number"},
    {"--ingest.unixsocket-mode", "give an octal file mode like 0660"},
    {"--ingest.max-line-bytes", "give a whole number"},
    {"--ingest.max-datagram-bytes", "give a whole number"},
    {"--ingest.max-connections", "give a whole number"},
    {"--metrics.max-series-per-family", "give a whole number"},
    {"--metrics.ttl", "give a duration like 30m or 12h, or 0 to keep series forever"},
    {"--metrics.buckets.request-duration", "give comma-separated upper bounds like 0.5,1,5"},
    {"--metrics.buckets.ttft", "give comma-separated upper bounds like 0.5,1,5"},
    {"--metrics.buckets.time-per-output-token",
     "give comma-separated upper bounds like 0.01,0.05,0.1"},
    {"--metrics.buckets.output-tokens-per-second",
     "give comma-separated upper bounds like 10,50,100"},
    {"--metrics.drop-labels", "give family:label pairs like llm_cost_usd_total:user_id"},
    {"--metrics.max-series", "give family:N pairs like llm_cost_usd_total:50000"},
    {"--metrics.buckets.quality", "give comma-separated upper bounds like 1,2,3,4,5"},
    {"--metrics.buckets.workflow-duration", "give comma-separated upper bounds like 1,10,60"},
    {"--metrics.native-histograms.max-buckets", "give a whole number"},
    {"--otlp.span-hold", "give a duration like 5s, or 0"},
    {"--otlp.max-remembered-spans", "give a whole number"},
    {"--otlp.user-attributes", "give comma-separated attribute names"},
    {"--otlp.team-attributes", "give comma-separated attribute names"},
    {"--otlp.endpoint-attributes", "give comma-separated attribute names"},
    {"--log.level", "give one of debug, info, warn, error"},
    {"--log.format", "give logfmt or json"},
    {"--remote-write.flush-deadline", "give a duration like 5s, or 0"},
};

// The one line ParseFlags prints to stderr for `args`, checking that it exits with code 2.
std::string ErrorLine(std::initializer_list<std::string> args) {
  AgentConfig config;
  CapturedStream err(std::cerr);
  const std::optional<int> code = Parse(args, &config);
  CHECK(code == 2);
  return err.text();
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

TEST_CASE("ParseFlags: an empty file or socket flag means its default, and takes nothing else") {
  for (const std::string& flag : kEmptyMeansDefault) {
    CAPTURE(flag);
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{flag + "=", "--log.level=debug"},
          std::vector<std::string>{flag, "", "--log.level=debug"}}) {
      AgentConfig config;
      config.pricing_file = config.budgets_file = config.web_config_file = "set";
      config.unix_listen_path = config.unixgram_listen_path = config.udp_listen_address = "set";
      config.otlp_grpc_listen_address = config.remote_write_config_file = "set";
      std::vector<std::string> storage = {"llm_exporter"};
      storage.insert(storage.end(), args.begin(), args.end());
      std::vector<char*> argv;
      for (std::string& s : storage) argv.push_back(s.data());
      CHECK_FALSE(ParseFlags(static_cast<int>(argv.size()), argv.data(), &config).has_value());
      CHECK(config.log_level == "debug");
      const std::string& value =
          flag == "--pricing.file"             ? config.pricing_file
          : flag == "--budgets.file"           ? config.budgets_file
          : flag == "--web.config.file"        ? config.web_config_file
          : flag == "--ingest.listen-unix"     ? config.unix_listen_path
          : flag == "--ingest.listen-unixgram" ? config.unixgram_listen_path
          : flag == "--otlp.grpc-listen-address" ? config.otlp_grpc_listen_address
          : flag == "--remote-write.config.file" ? config.remote_write_config_file
                                               : config.udp_listen_address;
      CHECK(value.empty());
    }
  }
  AgentConfig config;
  CHECK_FALSE(Parse({"--ingest.listen-unix="}, &config).has_value());
  CHECK(config.unix_listen_path.empty());
  CHECK(config.unix_listen_path_given);
}

TEST_CASE("ParseFlags: an empty value of any other flag is one error line naming the flag") {
  for (const auto& [name, takes] : kEmptyIsAnError) {
    const std::string& flag = name;  // clang 14 cannot capture a structured binding in CAPTURE
    CAPTURE(flag);
    const std::string expected =
        "llm_exporter: error: " + flag + ": must not be empty; " + takes + " (see --help)\n";
    CHECK(ErrorLine({flag + "=", "--log.level=debug"}) == expected);
    CHECK(ErrorLine({flag, "", "--log.level=debug"}) == expected);
    CHECK(ErrorLine({"--log.level=debug", flag + "="}) == expected);
  }
}

TEST_CASE("ParseFlags: a flag followed by another flag instead of its value is refused") {
  CHECK(ErrorLine({"--pricing.file", "--log.level=debug"}) ==
        "llm_exporter: error: --pricing.file: needs a value; give a file, or \"\" for the "
        "built-in table (see --help)\n");
  CHECK(ErrorLine({"--log.format", "--log.level=debug"}) ==
        "llm_exporter: error: --log.format: needs a value; give logfmt or json (see --help)\n");
  CHECK(ErrorLine({"--log.level=debug", "--metrics.ttl"}) ==
        "llm_exporter: error: --metrics.ttl: needs a value; give a duration like 30m or 12h, "
        "or 0 to keep series forever (see --help)\n");
  // Values that only look like flags are still values when given after "=".
  AgentConfig config;
  CHECK(Parse({"--web.telemetry-path=--metrics"}, &config) == 2);
  CHECK_FALSE(Parse({"--web.telemetry-path", "/--m", "--log.level", "warn"}, &config).has_value());
  CHECK(config.telemetry_path == "/--m");
  CHECK(config.log_level == "warn");
}

TEST_CASE("ParseFlags: a nonexistent price or budget file is still refused") {
  CHECK(ErrorLine({"--budgets.file=/nonexistent/budgets.json"}) ==
        "llm_exporter: error: --budgets.file: File does not exist: /nonexistent/budgets.json "
        "(see --help)\n");
}

TEST_CASE("ParseFlags: the lists above name every flag that --help shows") {
  AgentConfig config;
  std::string help;
  {
    CapturedStream out(std::cout);
    CHECK(Parse({"--help"}, &config) == 0);
    help = out.text();
  }
  std::set<std::string> shown;
  const std::regex flag_pattern(R"(^\s+(?:-[a-z],)?(--[a-z][a-z0-9.-]*))");
  std::istringstream lines(help);
  for (std::string line; std::getline(lines, line);) {
    std::smatch match;
    if (std::regex_search(line, match, flag_pattern)) shown.insert(match[1]);
  }
  std::set<std::string> listed = {"--help", "--version", "--metrics.native-histograms",
                                  "--check-config"};
  listed.insert(kEmptyMeansDefault.begin(), kEmptyMeansDefault.end());
  for (const auto& flag_and_takes : kEmptyIsAnError) listed.insert(flag_and_takes.first);
  CHECK(shown == listed);
}

TEST_CASE("ParseFlags: the output speed buckets, their defaults and their errors") {
  AgentConfig config;
  CHECK_FALSE(Parse({}, &config).has_value());
  CHECK(config.tpot_buckets ==
        std::vector<double>{0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1});
  CHECK(config.output_tps_buckets ==
        std::vector<double>{5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500});
  CHECK_FALSE(Parse({"--metrics.buckets.time-per-output-token=0.01,0.1",
                     "--metrics.buckets.output-tokens-per-second", "25,250"},
                    &config)
                  .has_value());
  CHECK(config.tpot_buckets == std::vector<double>{0.01, 0.1});
  CHECK(config.output_tps_buckets == std::vector<double>{25, 250});
  CHECK(ErrorLine({"--metrics.buckets.time-per-output-token=0.1,0.01"})
            .starts_with("llm_exporter: error: --metrics.buckets.time-per-output-token: "));
  CHECK(ErrorLine({"--metrics.buckets.output-tokens-per-second=ten"})
            .starts_with("llm_exporter: error: --metrics.buckets.output-tokens-per-second: "));
}

TEST_CASE("ParseFlags: --metrics.drop-labels and --metrics.max-series") {
  AgentConfig config;
  CHECK_FALSE(Parse({}, &config).has_value());
  using aggregate::kFamilyCount;
  CHECK(config.label_control.dropped == std::array<aggregate::DroppedLabels, kFamilyCount>{});
  CHECK(config.label_control.max_series == std::array<std::size_t, kFamilyCount>{});
  CHECK_FALSE(Parse({"--metrics.drop-labels=llm_cost_usd_total:user_id,llm_requests_total:endpoint",
                     "--metrics.max-series", "llm_cost_usd_total:50000,llm_ttft_seconds:300"},
                    &config)
                  .has_value());
  const auto at = [](aggregate::Family f) { return static_cast<std::size_t>(f); };
  CHECK(config.label_control.dropped[at(aggregate::Family::kCost)] == 0b010);
  CHECK(config.label_control.dropped[at(aggregate::Family::kRequests)] == 0b010);
  CHECK(config.label_control.dropped[at(aggregate::Family::kDuration)] == 0);
  CHECK(config.label_control.max_series[at(aggregate::Family::kCost)] == 50000);
  CHECK(config.label_control.max_series[at(aggregate::Family::kModel)] == 300);
  CHECK(config.label_control.max_series[at(aggregate::Family::kRequests)] == 0);
  // The metering proxy's family, by any of its four metrics.
  AgentConfig proxy;
  CHECK_FALSE(Parse({"--metrics.max-series=llm_proxy_requests_total:40"}, &proxy).has_value());
  CHECK(proxy.label_control.max_series[at(aggregate::Family::kUpstream)] == 40);
}

TEST_CASE("ParseFlags: label control errors are one line naming the flag and the choices") {
  CHECK(ErrorLine({"--metrics.drop-labels=llm_requests_total:model"}) ==
        "llm_exporter: error: --metrics.drop-labels: model cannot be dropped from "
        "llm_requests_total: the series limit admits series by model and every dashboard "
        "groups by it; droppable: endpoint, status (see --help)\n");
  CHECK(ErrorLine({"--metrics.drop-labels=llm_cost_usd_total:team"}) ==
        "llm_exporter: error: --metrics.drop-labels: llm_cost_usd_total has no droppable label "
        "\"team\"; choose from user_id, team_id (see --help)\n");
  CHECK(ErrorLine({"--metrics.drop-labels=llm_costs:user_id"})
            .starts_with("llm_exporter: error: --metrics.drop-labels: unknown metric family "
                         "\"llm_costs\"; choose from llm_requests_total, "));
  CHECK(ErrorLine({"--metrics.max-series=llm_cost_usd_total:many"}) ==
        "llm_exporter: error: --metrics.max-series: \"llm_cost_usd_total:many\": \"many\" is "
        "not a whole number from 1 to 100000000 (see --help)\n");
  CHECK(ErrorLine({"--metrics.max-series=llm_nope:5"})
            .starts_with("llm_exporter: error: --metrics.max-series: unknown metric family "
                         "\"llm_nope\"; choose from llm_requests_total, "));
}

TEST_CASE("ParseFlags: the OTLP flags") {
  AgentConfig config;
  CHECK(config.otlp_grpc_listen_address.empty());
  CHECK(config.otlp_span_hold == std::chrono::seconds(5));
  CHECK(config.otlp_max_remembered_spans == 200'000);
  CHECK_FALSE(config.otlp_user_attributes);
  CHECK_FALSE(Parse({"--otlp.grpc-listen-address=127.0.0.1:4317", "--otlp.span-hold=0",
                     "--otlp.user-attributes=enduser.id, user.id",
                     "--otlp.endpoint-attributes=http.route"},
                    &config)
                   .has_value());
  CHECK(config.otlp_grpc_listen_address == "127.0.0.1:4317");
  CHECK(config.otlp_span_hold == std::chrono::seconds(0));
  CHECK(config.otlp_user_attributes == std::vector<std::string>{"enduser.id", "user.id"});
  CHECK(config.otlp_endpoint_attributes == std::vector<std::string>{"http.route"});
  CHECK_FALSE(config.otlp_team_attributes);
  CHECK(ErrorLine({"--otlp.span-hold=10m"}) ==
        "llm_exporter: error: --otlp.span-hold: must be from 0 to 5m (see --help)\n");
  CHECK(ErrorLine({"--otlp.team-attributes=a,,b"}) ==
        "llm_exporter: error: --otlp.team-attributes: \"a,,b\" has an empty attribute name "
        "(see --help)\n");
}

}  // namespace
}  // namespace llm_exporter::config

namespace llm_exporter::config {
namespace {

TEST_CASE("ParseFlags: --metrics.native-histograms is off unless given; its bucket limit") {
  AgentConfig config;
  REQUIRE_FALSE(Parse({}, &config).has_value());
  CHECK_FALSE(config.native_histograms);
  CHECK(config.native_histogram_max_buckets == 160);
  AgentConfig on;
  REQUIRE_FALSE(Parse({"--metrics.native-histograms", "--metrics.native-histograms.max-buckets=40"},
                      &on).has_value());
  CHECK(on.native_histograms);
  CHECK(on.native_histogram_max_buckets == 40);
  CHECK(ErrorLine({"--metrics.native-histograms.max-buckets=0"}).find(
            "--metrics.native-histograms.max-buckets") != std::string::npos);
}

}  // namespace
}  // namespace llm_exporter::config
