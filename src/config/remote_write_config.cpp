#include "config/remote_write_config.h"

#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include "config/yaml_fields.h"

namespace llm_exporter::config {
namespace {

// Options of Prometheus' remote_write block that llm_exporter does not implement: named as such,
// so that a block copied from prometheus.yml fails with a reason rather than "unknown key".
constexpr std::array<std::string_view, 9> kUnsupportedKeys = {
    "authorization", "oauth2",        "sigv4",          "azuread",
    "proxy_url",     "follow_redirects", "enable_http2", "send_exemplars",
    "send_native_histograms"};
constexpr std::array<std::string_view, 4> kUnsupportedQueueKeys = {
    "max_shards", "min_shards", "batch_send_deadline", "retry_on_http_429"};

// Headers the agent sets itself, or that would confuse the receiver; Prometheus refuses the same.
constexpr std::array<std::string_view, 14> kReservedHeaders = {
    "authorization",    "host",          "content-encoding",   "content-length",
    "content-type",     "user-agent",    "connection",         "keep-alive",
    "proxy-authenticate", "proxy-authorization", "www-authenticate", "accept-encoding",
    "x-prometheus-remote-write-version", "x-prometheus-scrape-timeout-seconds"};

template <std::size_t N>
bool Contains(const std::array<std::string_view, N>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// Throws the loader's error for this file, naming the target where there is one.
class Errors : public YamlErrors {
 public:
  explicit Errors(std::string path) : YamlErrors("remote write config", std::move(path)) {}
  void SetTarget(std::size_t index) { SetWhere("remote_write[" + std::to_string(index) + "]: "); }
};

std::map<std::string, std::string> StringMap(const Errors& errors, const YAML::Node& node,
                                             const std::string& key) {
  std::map<std::string, std::string> out;
  if (node.IsNull()) return out;
  if (!node.IsMap()) errors.Fail(node, key + " must be a mapping");
  for (const auto& entry : node) {
    const std::string name = YamlScalar(errors, entry.first, key);
    out[name] = YamlScalar(errors, entry.second, key + "." + name);
  }
  return out;
}

// A secret file's contents, without the trailing newline an editor leaves.
std::string ReadSecret(const Errors& errors, const std::string& key, const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) errors.Fail(key + ": cannot read " + file + ": " + std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  std::string secret = text.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.empty()) errors.Fail(key + ": " + file + " is empty");
  return secret;
}

bool IsLabelName(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// RFC 7230's token characters.
bool IsHeaderName(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
  });
}

WriteRelabelRule ParseRelabel(const Errors& errors, const YAML::Node& node,
                              const std::string& key) {
  if (!node.IsMap()) errors.Fail(node, key + " must be a mapping");
  WriteRelabelRule rule;
  bool has_action = false;
  bool has_sources = false;
  for (const auto& entry : node) {
    const std::string name = entry.first.as<std::string>();
    const std::string where = key + "." + name;
    const YAML::Node& value = entry.second;
    if (name == "source_labels") {
      if (!value.IsSequence()) errors.Fail(value, where + " must be a list of label names");
      for (const auto& label : value) {
        const std::string text = YamlScalar(errors, label, where);
        if (!IsLabelName(text)) errors.Fail(label, where + ": \"" + text + "\" is not a label name");
        rule.source_labels.push_back(text);
      }
      has_sources = !rule.source_labels.empty();
    } else if (name == "separator") {
      rule.separator = YamlScalar(errors, value, where);
    } else if (name == "regex") {
      rule.regex = YamlScalar(errors, value, where);
      const RE2 re("^(?:" + rule.regex + ")$", RE2::Quiet);
      if (!re.ok()) errors.Fail(value, where + " \"" + rule.regex + "\": " + re.error());
    } else if (name == "action") {
      const std::string action = Lower(YamlScalar(errors, value, where));
      if (action == "keep") {
        rule.action = WriteRelabelRule::Action::kKeep;
      } else if (action == "drop") {
        rule.action = WriteRelabelRule::Action::kDrop;
      } else {
        errors.Fail(value, where + " \"" + action + "\": only keep and drop are supported");
      }
      has_action = true;
    } else if (name == "target_label" || name == "replacement" || name == "modulus") {
      errors.Fail(entry.first, where + " is for relabel actions llm_exporter does not support "
                                       "(only keep and drop)");
    } else {
      errors.Fail(entry.first, "unknown key " + where);
    }
  }
  if (!has_action) {
    errors.Fail(node, key + ".action is required: keep or drop (the default, replace, is not "
                            "supported)");
  }
  if (!has_sources) errors.Fail(node, key + ".source_labels is required, e.g. [__name__]");
  return rule;
}

void ParseTls(const Errors& errors, const YAML::Node& node, const std::string& base_dir,
              RemoteWriteTarget* target) {
  if (!node.IsMap()) errors.Fail(node, "tls_config must be a mapping");
  RemoteWriteTls tls;
  for (const auto& entry : node) {
    const std::string key = entry.first.as<std::string>();
    const std::string where = "tls_config." + key;
    const YAML::Node& value = entry.second;
    if (key == "ca_file") {
      tls.ca_file = ResolvePath(base_dir, YamlScalar(errors, value, where));
    } else if (key == "cert_file") {
      tls.cert_file = ResolvePath(base_dir, YamlScalar(errors, value, where));
    } else if (key == "key_file") {
      tls.key_file = ResolvePath(base_dir, YamlScalar(errors, value, where));
    } else if (key == "server_name") {
      tls.server_name = YamlScalar(errors, value, where);
      if (tls.server_name.find_first_of(":/@ \t[]") != std::string::npos) {
        errors.Fail(value, where + " \"" + tls.server_name + "\" must be a host name");
      }
    } else if (key == "insecure_skip_verify") {
      tls.insecure_skip_verify = YamlBool(errors, value, where);
    } else if (key == "ca" || key == "cert" || key == "key" || key == "min_version" ||
               key == "max_version") {
      errors.Fail(entry.first, where + " is a Prometheus option llm_exporter does not support");
    } else {
      errors.Fail(entry.first, "unknown key " + where);
    }
  }
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    errors.Fail(node, "tls_config.cert_file and tls_config.key_file go together");
  }
  if (!tls.ca_file.empty()) CheckReadable(errors, "tls_config.ca_file", tls.ca_file);
  if (!tls.cert_file.empty()) CheckReadable(errors, "tls_config.cert_file", tls.cert_file);
  if (!tls.key_file.empty()) CheckReadable(errors, "tls_config.key_file", tls.key_file);
  target->tls = tls;
}

void ParseQueue(const Errors& errors, const YAML::Node& node, RemoteWriteTarget* target) {
  if (node.IsNull()) return;
  if (!node.IsMap()) errors.Fail(node, "queue_config must be a mapping");
  for (const auto& entry : node) {
    const std::string key = entry.first.as<std::string>();
    const std::string where = "queue_config." + key;
    const YAML::Node& value = entry.second;
    if (key == "capacity") {
      target->capacity = YamlCount(errors, value, where, 1, 10000);
    } else if (key == "max_samples_per_send") {
      target->max_samples_per_send = YamlCount(errors, value, where, 1, 1000000);
    } else if (key == "max_bytes") {
      try {
        target->max_bytes = ParseByteSize(YamlScalar(errors, value, where));
      } catch (const std::invalid_argument& e) {
        errors.Fail(value, where + ": " + e.what());
      }
      if (target->max_bytes < (std::size_t{1} << 20)) {
        errors.Fail(value, where + " must be at least 1MiB");
      }
    } else if (key == "min_backoff") {
      target->min_backoff = YamlDuration(errors, value, where);
    } else if (key == "max_backoff") {
      target->max_backoff = YamlDuration(errors, value, where);
    } else if (Contains(kUnsupportedQueueKeys, key)) {
      errors.Fail(entry.first, where + " is a Prometheus option llm_exporter does not need: it "
                                       "sends from one queue per target, and retries 429");
    } else {
      errors.Fail(entry.first, "unknown key " + where);
    }
  }
  if (target->min_backoff.count() <= 0) errors.Fail(node, "queue_config.min_backoff must be above 0");
  if (target->max_backoff < target->min_backoff) {
    errors.Fail(node, "queue_config.max_backoff must not be below min_backoff");
  }
}

void ParseMetadata(const Errors& errors, const YAML::Node& node, RemoteWriteTarget* target) {
  if (node.IsNull()) return;
  if (!node.IsMap()) errors.Fail(node, "metadata_config must be a mapping");
  for (const auto& entry : node) {
    const std::string key = entry.first.as<std::string>();
    const std::string where = "metadata_config." + key;
    if (key == "send") {
      target->send_metadata = YamlBool(errors, entry.second, where);
    } else if (key == "send_interval") {
      target->metadata_interval = YamlDuration(errors, entry.second, where);
      if (target->metadata_interval.count() <= 0) errors.Fail(entry.second, where + " must be above 0");
    } else if (key == "max_samples_per_send") {
      errors.Fail(entry.first, where + " is a Prometheus option llm_exporter does not need: "
                                       "metadata goes in a request of its own");
    } else {
      errors.Fail(entry.first, "unknown key " + where);
    }
  }
}

RemoteWriteTarget ParseTarget(const Errors& errors, const YAML::Node& node,
                              const std::string& base_dir, const RemoteWriteDefaults& defaults) {
  if (!node.IsMap()) errors.Fail(node, "each target must be a mapping with a url");
  RemoteWriteTarget target;
  std::string password_file;
  std::string bearer_token_file;
  bool has_bearer_token = false;
  bool has_password = false;
  const YAML::Node* basic_auth_node = nullptr;
  for (const auto& entry : node) {
    const std::string key = entry.first.as<std::string>();
    const YAML::Node& value = entry.second;
    if (key == "url") {
      target.url = YamlScalar(errors, value, key);
    } else if (key == "name") {
      target.name = YamlScalar(errors, value, key);
      if (target.name.empty()) errors.Fail(value, "name must not be empty");
    } else if (key == "remote_timeout") {
      target.remote_timeout = YamlDuration(errors, value, key);
      if (target.remote_timeout.count() <= 0) errors.Fail(value, "remote_timeout must be above 0");
    } else if (key == "send_interval") {
      target.send_interval = YamlDuration(errors, value, key);
      if (target.send_interval.count() < 100) {
        errors.Fail(value, "send_interval must be at least 100ms");
      }
    } else if (key == "external_labels") {
      target.external_labels = StringMap(errors, value, key);
      for (const auto& [name, label_value] : target.external_labels) {
        if (!IsLabelName(name) || name.starts_with("__")) {
          errors.Fail(value, "external_labels: \"" + name + "\" is not a label name (letters, "
                             "digits and _, not starting with a digit or __)");
        }
        if (label_value.empty()) {
          errors.Fail(value, "external_labels." + name + " is empty: leave it out instead");
        }
      }
    } else if (key == "headers") {
      target.headers = StringMap(errors, value, key);
      for (const auto& [name, header_value] : target.headers) {
        if (!IsHeaderName(name)) errors.Fail(value, "headers: \"" + name + "\" is not a header name");
        if (Contains(kReservedHeaders, Lower(name))) {
          errors.Fail(value, "headers: " + name + " is set by the agent itself" +
                                 (Lower(name) == "authorization"
                                      ? " (use basic_auth, bearer_token or bearer_token_file)"
                                      : ""));
        }
        if (header_value.find_first_of("\r\n") != std::string::npos) {
          errors.Fail(value, "headers." + name + " must be one line");
        }
      }
    } else if (key == "basic_auth") {
      basic_auth_node = &value;
      if (!value.IsMap()) errors.Fail(value, "basic_auth must be a mapping");
      for (const auto& auth : value) {
        const std::string auth_key = auth.first.as<std::string>();
        const std::string where = "basic_auth." + auth_key;
        if (auth_key == "username") {
          target.basic_auth_username = YamlScalar(errors, auth.second, where);
        } else if (auth_key == "password") {
          target.basic_auth_password = YamlScalar(errors, auth.second, where);
          has_password = true;
        } else if (auth_key == "password_file") {
          password_file = ResolvePath(base_dir, YamlScalar(errors, auth.second, where));
        } else {
          errors.Fail(auth.first, "unknown key " + where);
        }
      }
    } else if (key == "bearer_token") {
      target.bearer_token = YamlScalar(errors, value, key);
      if (target.bearer_token.empty()) errors.Fail(value, "bearer_token is empty");
      has_bearer_token = true;
    } else if (key == "bearer_token_file") {
      bearer_token_file = ResolvePath(base_dir, YamlScalar(errors, value, key));
    } else if (key == "tls_config") {
      ParseTls(errors, value, base_dir, &target);
    } else if (key == "write_relabel_configs") {
      if (value.IsNull()) continue;
      if (!value.IsSequence()) errors.Fail(value, "write_relabel_configs must be a list");
      for (std::size_t i = 0; i < value.size(); ++i) {
        target.write_relabel_configs.push_back(
            ParseRelabel(errors, value[i], "write_relabel_configs[" + std::to_string(i) + "]"));
      }
    } else if (key == "queue_config") {
      ParseQueue(errors, value, &target);
    } else if (key == "metadata_config") {
      ParseMetadata(errors, value, &target);
    } else if (Contains(kUnsupportedKeys, key)) {
      errors.Fail(entry.first, key + " is a Prometheus remote_write option llm_exporter does not "
                                     "support");
    } else {
      errors.Fail(entry.first, "unknown key " + key);
    }
  }
  if (target.url.empty()) errors.Fail(node, "url is required");
  const std::string host_and_path = CheckHttpUrl(errors, node, target.url, "put credentials in basic_auth, not in the url");
  if (target.name.empty()) target.name = host_and_path;

  if (basic_auth_node != nullptr) {
    if (!target.basic_auth_username || target.basic_auth_username->empty()) {
      errors.Fail(*basic_auth_node, "basic_auth.username is required");
    }
    if (has_password && !password_file.empty()) {
      errors.Fail(*basic_auth_node, "basic_auth: give password or password_file, not both");
    }
    if (!password_file.empty()) {
      target.basic_auth_password = ReadSecret(errors, "basic_auth.password_file", password_file);
    }
  }
  if (has_bearer_token && !bearer_token_file.empty()) {
    errors.Fail(node, "give bearer_token or bearer_token_file, not both");
  }
  if (!bearer_token_file.empty()) {
    target.bearer_token = ReadSecret(errors, "bearer_token_file", bearer_token_file);
  }
  if (basic_auth_node != nullptr && !target.bearer_token.empty()) {
    errors.Fail(node, "give basic_auth or a bearer token, not both");
  }
  target.external_labels.try_emplace("instance", defaults.instance);
  target.external_labels.try_emplace("job", defaults.job);
  return target;
}

}  // namespace

std::chrono::milliseconds ParseMillisDuration(const std::string& text) {
  const std::string message = "\"" + text + "\" is not a duration like 500ms, 15s, 1m or 2h";
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) throw std::invalid_argument(message);
  long long amount = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + digits, amount);
  if (ec != std::errc()) throw std::invalid_argument(message);
  const std::string_view unit = std::string_view(text).substr(digits);
  long long ms = 0;
  if (unit == "ms") {
    ms = 1;
  } else if (unit == "s") {
    ms = 1000;
  } else if (unit == "m") {
    ms = 60'000;
  } else if (unit == "h") {
    ms = 3'600'000;
  } else if (unit == "d") {
    ms = 86'400'000;
  } else if (unit.empty() && amount == 0) {
    return std::chrono::milliseconds(0);
  } else {
    throw std::invalid_argument(message);
  }
  if (amount > (1LL << 40) / ms) throw std::invalid_argument(message + ": too long");
  return std::chrono::milliseconds(amount * ms);
}

std::size_t ParseByteSize(const std::string& text) {
  const std::string message = "\"" + text + "\" is not a size like 64MiB, 1GiB or 1048576";
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) throw std::invalid_argument(message);
  unsigned long long amount = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + digits, amount);
  if (ec != std::errc()) throw std::invalid_argument(message);
  const std::string_view unit = std::string_view(text).substr(digits);
  unsigned shift = 0;
  if (unit.empty() || unit == "B") {
    shift = 0;
  } else if (unit == "KiB") {
    shift = 10;
  } else if (unit == "MiB") {
    shift = 20;
  } else if (unit == "GiB") {
    shift = 30;
  } else {
    throw std::invalid_argument(message);
  }
  if (amount > (1ULL << 40) >> shift) throw std::invalid_argument(message + ": too large");
  return static_cast<std::size_t>(amount << shift);
}

std::vector<RemoteWriteTarget> ParseRemoteWriteConfig(const std::string& yaml_text,
                                                      const std::string& base_dir,
                                                      const std::string& path_for_errors,
                                                      const RemoteWriteDefaults& defaults) {
  Errors errors(path_for_errors);
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    errors.Fail("not valid YAML: " + e.msg + " (line " + std::to_string(e.mark.line + 1) + ")");
  }
  if (root.IsNull()) errors.Fail("the file is empty; it needs a remote_write: list");
  if (!root.IsMap()) errors.Fail(root, "the file must be a mapping with a remote_write: list");
  std::vector<RemoteWriteTarget> targets;
  for (const auto& entry : root) {
    const std::string key = entry.first.as<std::string>();
    if (key != "remote_write") {
      errors.Fail(entry.first, "unknown key " + key + " (the file holds one key, remote_write)");
    }
    const YAML::Node& list = entry.second;
    if (!list.IsSequence() || list.size() == 0) {
      errors.Fail(list, "remote_write must be a list of one or more targets");
    }
    for (std::size_t i = 0; i < list.size(); ++i) {
      errors.SetTarget(i);
      try {
        targets.push_back(ParseTarget(errors, list[i], base_dir, defaults));
      } catch (const YAML::Exception& e) {
        errors.Fail(list[i], e.msg);
      }
    }
  }
  if (targets.empty()) errors.Fail("remote_write must be a list of one or more targets");
  std::set<std::string> names;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    if (!names.insert(targets[i].name).second) {
      errors.SetTarget(i);
      errors.Fail("name \"" + targets[i].name + "\" is used by an earlier target; give each a "
                  "distinct name");
    }
  }
  return targets;
}

std::vector<RemoteWriteTarget> LoadRemoteWriteConfig(const std::string& path,
                                                     const RemoteWriteDefaults& defaults) {
  const std::string base_dir = std::filesystem::absolute(path).parent_path().string();
  return ParseRemoteWriteConfig(ReadConfigFile("remote write config", path), base_dir, path,
                                defaults);
}

}  // namespace llm_exporter::config
