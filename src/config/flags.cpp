#include "config/flags.h"

#include <CLI/CLI.hpp>

#include <charconv>
#include <cstdio>
#include <iostream>
#include <stdexcept>

#include "aggregate/histogram.h"
#include "llm_exporter/version.h"

namespace llm_exporter::config {
namespace {

std::string BucketText(const std::vector<double>& bounds) {
  std::string text;
  for (const double b : bounds) {
    if (!text.empty()) text += ',';
    std::array<char, 32> buffer;
    text.append(buffer.data(), std::to_chars(buffer.data(), buffer.data() + 32, b).ptr);
  }
  return text;
}

// A --metrics.buckets.* option: parsed and checked by aggregate::ParseBucketList.
void AddBucketOption(CLI::App& app, const std::string& name, const std::string& what,
                     std::vector<double>* bounds) {
  app.add_option_function<std::string>(
         name,
         [bounds, name](const std::string& text) {
           try {
             *bounds = aggregate::ParseBucketList(text);
           } catch (const std::invalid_argument& e) {
             throw CLI::ValidationError(name, e.what());
           }
         },
         "Bucket upper bounds of " + what + ", comma-separated")
      ->default_str(BucketText(*bounds));
}

}  // namespace

std::chrono::seconds ParseDuration(const std::string& text) {
  if (text == "0") return std::chrono::seconds(0);
  if (text.size() < 2) throw std::invalid_argument("\"" + text + "\" is not a duration like 30s, 5m, 2h or 1d");
  long long amount = 0;
  const char* end = text.data() + text.size() - 1;
  const auto [ptr, ec] = std::from_chars(text.data(), end, amount);
  long long unit = 0;
  switch (text.back()) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    default: break;
  }
  if (ec != std::errc() || ptr != end || unit == 0 || amount < 0) {
    throw std::invalid_argument("\"" + text + "\" is not a duration like 30s, 5m, 2h or 1d");
  }
  return std::chrono::seconds(amount * unit);
}

std::optional<int> ParseFlags(int argc, char** argv, AgentConfig* config) {
  CLI::App app{"llm_exporter: receives LLM call events and serves them as Prometheus metrics.",
               "llm_exporter"};
  app.get_formatter()->column_width(44);
  app.set_version_flag("--version", std::string("llm_exporter ") + LLM_EXPORTER_VERSION_STRING);

  app.add_option("--web.listen-address", config->listen_address,
                 "Address to listen on for /metrics and /v1/events (host:port; port 0 picks "
                 "a free one)")
      ->capture_default_str();
  app.add_option("--web.telemetry-path", config->telemetry_path, "Path under which to expose metrics")
      ->capture_default_str()
      ->check([](const std::string& path) {
        return !path.empty() && path[0] == '/' && path != "/" ? std::string()
                                                              : std::string("must start with / and not be /");
      });
  app.add_option("--web.max-request-bytes", config->max_request_bytes,
                 "Largest request body accepted; larger ones get 413")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 30));
  app.add_option("--web.threads", config->web_threads,
                 "HTTP worker threads, which is also the connection limit: the most "
                 "connections served at once; more are queued until a worker is free")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1024}));
  app.add_option("--web.config.file", config->web_config_file,
                 "Web config (exporter-toolkit format): TLS and basic auth for every HTTP "
                 "endpoint (docs/configuration.md)");
  app.add_option_function<std::string>(
         "--web.request-timeout",
         [config](const std::string& text) {
           try {
             config->web_request_timeout = ParseDuration(text);
           } catch (const std::invalid_argument& e) {
             throw CLI::ValidationError("--web.request-timeout", e.what());
           }
           if (config->web_request_timeout.count() == 0 ||
               config->web_request_timeout > std::chrono::hours(1)) {
             throw CLI::ValidationError("--web.request-timeout", "must be from 1s to 1h");
           }
         },
         "A client must send a request's headers (and finish the TLS handshake) within this; "
         "slower connections are closed")
      ->default_str("10s");
  app.add_option_function<std::string>(
         "--web.keep-alive-timeout",
         [config](const std::string& text) {
           try {
             config->web_keep_alive_timeout = ParseDuration(text);
           } catch (const std::invalid_argument& e) {
             throw CLI::ValidationError("--web.keep-alive-timeout", e.what());
           }
           if (config->web_keep_alive_timeout.count() == 0 ||
               config->web_keep_alive_timeout > std::chrono::hours(1)) {
             throw CLI::ValidationError("--web.keep-alive-timeout", "must be from 1s to 1h");
           }
         },
         "How long an idle keep-alive connection may wait for its next request")
      ->default_str("5s");
  app.add_option("--pricing.file", config->pricing_file,
                 "JSON price table (docs/pricing.md); default: the built-in table")
      ->check(CLI::ExistingFile);
  app.add_option("--budgets.file", config->budgets_file,
                 "JSON per-team spend budgets, exposed as llm_team_budget_usd (docs/configuration.md)")
      ->check(CLI::ExistingFile);
  app.add_option("--ingest.max-label-bytes", config->max_label_bytes,
                 "Longest label value accepted (model, endpoint, status, user_id, team_id, evaluator)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{65535}));
  CLI::Option* unix_option =
      app.add_option("--ingest.listen-unix", config->unix_listen_path,
                     std::string("Unix stream socket for NDJSON events (docs/ingest.md); "
                                 "default ") +
                         kDefaultUnixSocketPath +
                         ", used only if its directory exists; \"\" turns it off")
          // CLI11 2.1 takes the next argument as the value of "--x=" unless a value may be
          // missing, and then fills in any default_str: so the default is in the text instead.
          ->expected(0, 1);
  app.add_option("--ingest.listen-unixgram", config->unixgram_listen_path,
                 "Unix datagram socket for events, one event or an NDJSON batch a datagram; "
                 "off by default")
      ->expected(0, 1);
  app.add_option("--ingest.listen-udp", config->udp_listen_address,
                 "UDP host:port for events, one event or an NDJSON batch a datagram; off by "
                 "default")
      ->expected(0, 1);
  app.add_option_function<std::string>(
         "--ingest.unixsocket-mode",
         [config](const std::string& text) {
           unsigned mode = 0;
           const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), mode, 8);
           if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() ||
               mode > 0777) {
             throw CLI::ValidationError("--ingest.unixsocket-mode",
                                        "\"" + text + "\" is not an octal file mode like 0660");
           }
           config->unix_socket_mode = mode;
         },
         "Permissions of the unix socket files, in octal")
      ->default_str("0660");
  app.add_option("--ingest.max-line-bytes", config->max_line_bytes,
                 "Longest line accepted on the unix stream socket; longer ones are dropped and "
                 "counted as too_large")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{64} << 20));
  app.add_option("--ingest.max-datagram-bytes", config->max_datagram_bytes,
                 "Largest datagram accepted (unixgram, UDP); larger ones are dropped and counted "
                 "as too_large")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{16} << 20));
  app.add_option("--ingest.max-connections", config->max_connections,
                 "Most unix stream connections served at once; more are closed at once and "
                 "counted")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20));
  app.add_option("--metrics.max-series-per-family", config->max_series_per_family,
                 "Series limit per LLM metric family; past it, new label sets are counted in an "
                 "__overflow__ series")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000000}));
  app.add_option_function<std::string>(
         "--metrics.ttl",
         [config](const std::string& text) {
           try {
             config->ttl = ParseDuration(text);
           } catch (const std::invalid_argument& e) {
             throw CLI::ValidationError("--metrics.ttl", e.what());
           }
         },
         "Drop a series not updated for this long (e.g. 30m, 12h); 0 keeps series forever")
      ->default_str("0");
  AddBucketOption(app, "--metrics.buckets.request-duration", "llm_request_duration_seconds",
                  &config->duration_buckets);
  AddBucketOption(app, "--metrics.buckets.ttft", "llm_ttft_seconds", &config->ttft_buckets);
  AddBucketOption(app, "--metrics.buckets.quality", "llm_quality_score",
                  &config->quality_buckets);
  app.add_option("--log.level", config->log_level, "Only log messages with this severity or above")
      ->capture_default_str()
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  app.add_option("--log.format", config->log_format, "Output format of log messages")
      ->capture_default_str()
      ->check(CLI::IsMember({"logfmt", "json"}));

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "llm_exporter: error: " << e.what() << " (see --help)" << std::endl;
    return 2;
  }
  config->unix_listen_path_given = unix_option->count() > 0;
  return std::nullopt;
}

}  // namespace llm_exporter::config
