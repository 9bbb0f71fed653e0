// --remote-write.config.file: where the agent pushes its series by Prometheus remote write, in
// the shape of Prometheus' own remote_write block (docs/configuration.md, docs/scale-out.md).
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace llm_exporter::config {

// write_relabel_configs: keep or drop a series by the values of some of its labels ("__name__"
// is the metric's name), joined by `separator` and matched in full against `regex` (RE2, the
// syntax of Prometheus' regexes).
struct WriteRelabelRule {
  enum class Action { kKeep, kDrop };
  std::vector<std::string> source_labels;
  std::string separator = ";";
  std::string regex = "(.*)";
  Action action = Action::kKeep;
};

struct RemoteWriteTls {
  std::string ca_file;  // empty: the system's CAs
  std::string cert_file;
  std::string key_file;
  // The name the receiver's certificate must carry, sent as SNI and Host; empty: the url's host.
  std::string server_name;
  bool insecure_skip_verify = false;
};

// One remote_write target. Paths are absolute: relative ones are resolved against the config
// file's directory. Secrets from files are read when the agent starts.
struct RemoteWriteTarget {
  std::string url;
  std::string name;  // the `remote` label of its self-metrics; default "host:port/path" of url
  std::chrono::milliseconds remote_timeout{30000};
  std::chrono::milliseconds send_interval{15000};
  // Added to every series that lacks the label; `instance` and `job` always present.
  std::map<std::string, std::string> external_labels;
  std::map<std::string, std::string> headers;
  std::optional<std::string> basic_auth_username;
  std::string basic_auth_password;  // read from password_file when that is given
  std::string bearer_token;         // read from bearer_token_file when that is given
  std::optional<RemoteWriteTls> tls;
  std::vector<WriteRelabelRule> write_relabel_configs;
  // queue_config
  std::size_t capacity = 10;  // snapshots waiting; when full, the oldest is dropped
  // The most bytes of compressed requests the queue holds; past it, the oldest snapshots are
  // dropped too (the newest is always kept).
  std::size_t max_bytes = std::size_t{256} << 20;
  std::size_t max_samples_per_send = 2000;
  std::chrono::milliseconds min_backoff{30};
  std::chrono::milliseconds max_backoff{5000};
  // metadata_config
  bool send_metadata = true;
  std::chrono::milliseconds metadata_interval{60000};
};

// What `instance` and `job` default to when external_labels leaves them out: `instance` is
// "<hostname>:<port>" as a Prometheus scraping the agent would name it.
struct RemoteWriteDefaults {
  std::string instance;
  std::string job = "llm_exporter";
};

// Reads and checks the file; throws std::runtime_error("remote write config PATH: ...") naming
// the target and key at fault. Strict: an unknown key is an error, and so is a Prometheus
// remote_write option llm_exporter does not implement (named as such).
std::vector<RemoteWriteTarget> LoadRemoteWriteConfig(const std::string& path,
                                                     const RemoteWriteDefaults& defaults);

// The same from YAML text; relative file names are resolved against `base_dir`.
std::vector<RemoteWriteTarget> ParseRemoteWriteConfig(const std::string& yaml_text,
                                                      const std::string& base_dir,
                                                      const std::string& path_for_errors,
                                                      const RemoteWriteDefaults& defaults);

// "500ms", "15s", "1m", "2h", "1d": a whole number and one unit. Throws std::invalid_argument.
std::chrono::milliseconds ParseMillisDuration(const std::string& text);

// "1048576", "512KiB", "256MiB", "1GiB": a whole number of bytes, or of KiB, MiB or GiB.
// Throws std::invalid_argument.
std::size_t ParseByteSize(const std::string& text);

}  // namespace llm_exporter::config
