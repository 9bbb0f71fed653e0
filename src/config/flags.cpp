#include "config/flags.h"

#include "config/remote_write_config.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "aggregate/histogram.h"
#include "aggregate/label_control.h"
#include "otlp/span_reader.h"
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

// Flags whose empty value (--flag= or --flag "") means something, as docs/configuration.md
// says: the built-in price table, no budgets, no web config, a socket transport turned off,
// no remote write, no proxy. Every other flag refuses an empty value.
constexpr std::array<std::string_view, 9> kEmptyMeansDefault = {
    "--pricing.file",       "--budgets.file",           "--web.config.file",
    "--ingest.listen-unix", "--ingest.listen-unixgram", "--ingest.listen-udp",
    "--otlp.grpc-listen-address", "--remote-write.config.file", "--proxy.config.file"};

// What a flag takes, for the error line of a flag given without a value.
// A comma-separated list of span attribute names, the first present of which gives `what`.
void AddNameListOption(CLI::App& app, const std::string& name, const std::string& what,
                       const std::vector<std::string>& defaults,
                       std::optional<std::vector<std::string>>* into) {
  std::string shown;
  for (const std::string& d : defaults) shown += (shown.empty() ? "" : ",") + d;
  app.add_option_function<std::string>(
         name,
         [name, into](const std::string& text) {
           std::vector<std::string> names;
           std::size_t at = 0;
           while (at <= text.size()) {
             std::size_t comma = text.find(',', at);
             if (comma == std::string::npos) comma = text.size();
             std::string item = text.substr(at, comma - at);
             item.erase(0, item.find_first_not_of(' '));
             item.erase(item.find_last_not_of(' ') + 1);
             if (item.empty()) {
               throw CLI::ValidationError(name, "\"" + text + "\" has an empty attribute name");
             }
             names.push_back(std::move(item));
             at = comma + 1;
           }
           if (names.size() > 32) {
             throw CLI::ValidationError(name, "lists more than 32 attribute names");
           }
           *into = std::move(names);
         },
         "Span (then resource) attributes, comma-separated, the first present of which gives " +
             what)
      ->default_str(shown);
}

std::string WhatItTakes(const CLI::Option& option) {
  static const std::map<std::string_view, std::string_view> kTakes = {
      {"--web.listen-address", "give host:port, e.g. 127.0.0.1:9778"},
      {"--web.telemetry-path", "give a path such as /metrics"},
      {"--web.config.file", "give a file, or \"\" for none"},
      {"--remote-write.config.file", "give a file, or \"\" for none"},
      {"--proxy.config.file", "give a file, or \"\" for no proxy"},
      {"--remote-write.flush-deadline", "give a duration like 5s, or 0"},
      {"--web.request-timeout", "give a duration like 10s or 1m"},
      {"--web.keep-alive-timeout", "give a duration like 5s or 1m"},
      {"--pricing.file", "give a file, or \"\" for the built-in table"},
      {"--budgets.file", "give a file, or \"\" for none"},
      {"--ingest.listen-unix", "give a socket path, or \"\" to turn the socket off"},
      {"--ingest.listen-unixgram", "give a socket path, or \"\" to turn the socket off"},
      {"--ingest.listen-udp", "give host:port, or \"\" to turn the socket off"},
      {"--ingest.unixsocket-mode", "give an octal file mode like 0660"},
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
      {"--otlp.grpc-listen-address", "give host:port, e.g. 127.0.0.1:4317, or \"\" for none"},
      {"--otlp.span-hold", "give a duration like 5s, or 0"},
      {"--otlp.user-attributes", "give comma-separated attribute names"},
      {"--otlp.team-attributes", "give comma-separated attribute names"},
      {"--otlp.endpoint-attributes", "give comma-separated attribute names"},
      {"--log.level", "give one of debug, info, warn, error"},
      {"--log.format", "give logfmt or json"},
  };
  const auto it = kTakes.find(option.get_name());
  if (it != kTakes.end()) return std::string(it->second);
  // The size and count flags ("UINT", then the range, which --help shows).
  return option.get_type_name().starts_with("UINT") ? "give a whole number" : "give a value";
}

// CLI11 2.1.2 reads "--flag=" as "--flag" and takes the next argument as the value, even when
// that is another flag: "--pricing.file= --log.level=debug" would read a price file named
// "--log.level=debug". So empty values are settled here, before CLI11 parses. A flag whose empty
// value means something gets it as the two arguments --flag "" (CLI11 takes the "" as the
// value); any other flag given "--flag=", --flag "", or no value before the next flag stops the
// parse with one line naming it. Returns the arguments after argv[0], in the reverse order that
// CLI::App::parse(std::vector) takes.
std::vector<std::string> SettleEmptyValues(const CLI::App& app, int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    const std::size_t equals = arg.find('=');
    const std::string name = arg.substr(0, equals);
    const CLI::Option* option = name.starts_with("--") ? app.get_option_no_throw(name) : nullptr;
    if (option == nullptr || option->get_items_expected_max() == 0) {  // takes no value
      args.push_back(std::move(arg));
      continue;
    }
    bool empty = false;
    if (equals != std::string::npos) {
      empty = equals + 1 == arg.size();
    } else if (i + 1 < argc && argv[i + 1][0] == '\0') {
      empty = true;
      ++i;
    } else if (i + 1 == argc || std::string_view(argv[i + 1]).starts_with("--")) {
      throw CLI::ValidationError(name, "needs a value; " + WhatItTakes(*option));
    }
    if (!empty) {
      args.push_back(std::move(arg));
      continue;
    }
    if (std::find(kEmptyMeansDefault.begin(), kEmptyMeansDefault.end(), name) ==
        kEmptyMeansDefault.end()) {
      throw CLI::ValidationError(name, "must not be empty; " + WhatItTakes(*option));
    }
    args.push_back(name);
    args.emplace_back();
  }
  std::reverse(args.begin(), args.end());
  return args;
}

// A duration flag read by `parse` (ParseDuration or ParseMillisDuration) into *target, refused
// outside [min, max] with `range` ("must be from 1s to 1h") as the reason.
template <typename Duration, typename Parse>
void AddDurationOption(CLI::App& app, const std::string& name, Duration* target, Parse parse,
                       Duration min, Duration max, const std::string& range,
                       const std::string& help, const std::string& default_text) {
  app.add_option_function<std::string>(
         name,
         [=](const std::string& text) {
           try {
             *target = parse(text);
           } catch (const std::invalid_argument& e) {
             throw CLI::ValidationError(name, e.what());
           }
           if (*target < min || *target > max) throw CLI::ValidationError(name, range);
         },
         help)
      ->default_str(default_text);
}

// CLI::ExistingFile, except that "" passes: it is the flag's documented default.
std::string ExistingFileOrEmpty(const std::string& path) {
  if (path.empty()) return std::string();
  std::string checked = path;
  return CLI::ExistingFile(checked);
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
                 "connections served at once (each idle worker costs about 20 KiB); more "
                 "wait until a worker is free")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{16384}));
  app.add_option("--web.config.file", config->web_config_file,
                 "Web config (exporter-toolkit format): TLS and basic auth for every HTTP "
                 "endpoint (docs/configuration.md); default, or \"\": none");
  AddDurationOption(app, "--web.request-timeout", &config->web_request_timeout, ParseDuration,
                    std::chrono::seconds(1), std::chrono::seconds(3600), "must be from 1s to 1h",
                    "A client must send a request's headers (and finish the TLS handshake) "
                    "within this; slower connections are closed",
                    "10s");
  AddDurationOption(app, "--web.keep-alive-timeout", &config->web_keep_alive_timeout,
                    ParseDuration, std::chrono::seconds(1), std::chrono::seconds(3600),
                    "must be from 1s to 1h",
                    "How long an idle keep-alive connection may wait for its next request", "5s");
  app.add_option("--remote-write.config.file", config->remote_write_config_file,
                 "YAML list of Prometheus remote write targets (Mimir, Thanos, VictoriaMetrics, "
                 "Prometheus) to push every series to (docs/scale-out.md); default, or \"\": none")
      ->check(ExistingFileOrEmpty, "FILE");
  app.add_option("--proxy.config.file", config->proxy_config_file,
                 "YAML list of upstreams (OpenAI, Anthropic) for the metering proxy: apps set "
                 "their SDK's base URL to http://<this agent>/proxy/<upstream> and every call "
                 "through it is measured (docs/proxy.md); default, or \"\": no proxy")
      ->check(ExistingFileOrEmpty, "FILE");
  AddDurationOption(app, "--remote-write.flush-deadline", &config->remote_write_flush_deadline,
                    ParseMillisDuration, std::chrono::milliseconds(0),
                    std::chrono::milliseconds(600000), "must be at most 10m",
                    "On SIGTERM, how long the agent keeps sending what its remote write queues "
                    "hold (staleness markers for every series included) before it exits; 0: "
                    "not at all",
                    "5s");
  app.add_flag("--check-config", config->check_config,
               "Load and check every file the other flags name (price table, budgets, web "
               "config, remote write config, proxy config), say what is wrong or that all is well, and exit "
               "(0 or 2) without starting");
  app.add_option("--pricing.file", config->pricing_file,
                 "JSON price table (docs/pricing.md); default, or \"\": the built-in table")
      ->check(ExistingFileOrEmpty, "FILE");
  app.add_option("--budgets.file", config->budgets_file,
                 "JSON per-team spend budgets, exposed as llm_team_budget_usd "
                 "(docs/configuration.md); default, or \"\": none")
      ->check(ExistingFileOrEmpty, "FILE");
  app.add_option("--ingest.max-label-bytes", config->max_label_bytes,
                 "Longest label value accepted (model, endpoint, status, user_id, team_id, evaluator)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{65535}));
  CLI::Option* unix_option =
      app.add_option("--ingest.listen-unix", config->unix_listen_path,
                     std::string("Unix stream socket for NDJSON events (docs/ingest.md); "
                                 "default ") +
                         kDefaultUnixSocketPath +
                         ", used only if its directory exists; \"\" turns it off");
  app.add_option("--ingest.listen-unixgram", config->unixgram_listen_path,
                 "Unix datagram socket for events, one event or an NDJSON batch a datagram; "
                 "off by default");
  app.add_option("--ingest.listen-udp", config->udp_listen_address,
                 "UDP host:port for events, one event or an NDJSON batch a datagram; off by "
                 "default");
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
         "--metrics.max-series",
         [config](const std::string& text) {
           try {
             aggregate::ParseMaxSeries(text, &config->label_control);
           } catch (const std::invalid_argument& e) {
             throw CLI::ValidationError("--metrics.max-series", e.what());
           }
         },
         "Series limits of single families, comma-separated family:N (e.g. "
         "llm_cost_usd_total:50000), in place of --metrics.max-series-per-family; metrics "
         "stored together share one (docs/metrics.md)");
  app.add_option_function<std::string>(
         "--metrics.drop-labels",
         [config](const std::string& text) {
           try {
             aggregate::ParseDropLabels(text, &config->label_control);
           } catch (const std::invalid_argument& e) {
             throw CLI::ValidationError("--metrics.drop-labels", e.what());
           }
         },
         "Labels to drop, comma-separated family:label (e.g. llm_cost_usd_total:user_id): "
         "recorded as one value, so their series merge, and left out of every exposition; "
         "model cannot be dropped (docs/metrics.md)");
  AddDurationOption(app, "--metrics.ttl", &config->ttl, ParseDuration, std::chrono::seconds(0),
                    std::chrono::seconds::max(), "",
                    "Drop a series not updated for this long (e.g. 30m, 12h); 0 keeps series "
                    "forever",
                    "0");
  AddBucketOption(app, "--metrics.buckets.request-duration", "llm_request_duration_seconds",
                  &config->duration_buckets);
  AddBucketOption(app, "--metrics.buckets.ttft", "llm_ttft_seconds", &config->ttft_buckets);
  AddBucketOption(app, "--metrics.buckets.time-per-output-token",
                  "llm_time_per_output_token_seconds", &config->tpot_buckets);
  AddBucketOption(app, "--metrics.buckets.output-tokens-per-second",
                  "llm_output_tokens_per_second", &config->output_tps_buckets);
  AddBucketOption(app, "--metrics.buckets.quality", "llm_quality_score",
                  &config->quality_buckets);
  AddBucketOption(app, "--metrics.buckets.workflow-duration", "llm_workflow_duration_seconds",
                  &config->workflow_buckets);
  app.add_flag("--metrics.native-histograms", config->native_histograms,
               "Also keep llm_request_duration_seconds and llm_ttft_seconds as native "
               "histograms, served to protobuf scrapes (Prometheus with "
               "--enable-feature=native-histograms) beside the classic buckets");
  app.add_option("--metrics.native-histograms.max-buckets", config->native_histogram_max_buckets,
                 "Most populated buckets a native histogram keeps; past it, its resolution is "
                 "halved (as client_golang's NativeHistogramMaxBucketNumber)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1000u));
  app.add_option("--otlp.grpc-listen-address", config->otlp_grpc_listen_address,
                 "host:port for OTLP/gRPC trace export (TraceService/Export), e.g. "
                 "127.0.0.1:4317 (docs/otlp.md); off by default. OTLP/HTTP is POST /v1/traces "
                 "on --web.listen-address");
  AddDurationOption(app, "--otlp.span-hold", &config->otlp_span_hold, ParseDuration,
                    std::chrono::seconds(0), std::chrono::seconds(300), "must be from 0 to 5m",
                    "How long an LLM-call span waits for an LLM call under it in its trace "
                    "before it is counted (only the innermost call of a chain is counted); 0: "
                    "decide as each request is read",
                    "5s");
  app.add_option("--otlp.max-remembered-spans", config->otlp_max_remembered_spans,
                 "Most spans whose place in their trace is remembered at once, for finding the "
                 "innermost LLM call; past it the oldest traces are decided early")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{16}, std::size_t{100000000}));
  const otlp::SpanAttributeNames names;
  AddNameListOption(app, "--otlp.user-attributes", "the user of an LLM-call span", names.user,
                    &config->otlp_user_attributes);
  AddNameListOption(app, "--otlp.team-attributes", "the team of an LLM-call span", names.team,
                    &config->otlp_team_attributes);
  AddNameListOption(app, "--otlp.endpoint-attributes",
                    "the endpoint of an LLM-call span (else its operation name)", names.endpoint,
                    &config->otlp_endpoint_attributes);
  app.add_option("--log.level", config->log_level, "Only log messages with this severity or above")
      ->capture_default_str()
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  app.add_option("--log.format", config->log_format, "Output format of log messages")
      ->capture_default_str()
      ->check(CLI::IsMember({"logfmt", "json"}));

  try {
    app.parse(SettleEmptyValues(app, argc, argv));
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
