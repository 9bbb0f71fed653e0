#include "config/proxy_config.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include "config/remote_write_config.h"
#include "config/yaml_fields.h"

namespace llm_exporter::config {
namespace {

// A request body larger than this is refused even when the config asks for more: the proxy
// holds a request's body in memory while it is forwarded.
constexpr std::size_t kMaxRequestBytesCeiling = std::size_t{1} << 30;

bool IsUpstreamName(std::string_view name) {
  if (name.empty()) return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return name != "." && name != "..";
}

UpstreamTls ParseTls(const YamlErrors& errors, const YAML::Node& node, const std::string& base_dir) {
  if (!node.IsMap()) errors.Fail(node, "tls must be a mapping");
  UpstreamTls tls;
  for (const auto& entry : node) {
    const std::string key = entry.first.as<std::string>();
    const std::string where = "tls." + key;
    if (key == "ca_file") {
      tls.ca_file = ResolvePath(base_dir, YamlScalar(errors, entry.second, where));
      if (!tls.ca_file.empty()) CheckReadable(errors, where, tls.ca_file);
    } else if (key == "insecure_skip_verify") {
      tls.insecure_skip_verify = YamlBool(errors, entry.second, where);
    } else {
      errors.Fail(entry.first, "unknown key " + where + " (tls takes ca_file and "
                               "insecure_skip_verify)");
    }
  }
  return tls;
}

Upstream ParseUpstream(const YamlErrors& errors, const YAML::Node& node,
                       const std::string& base_dir) {
  if (!node.IsMap()) errors.Fail(node, "each upstream must be a mapping with name, kind and url");
  Upstream upstream;
  bool has_kind = false;
  for (const auto& entry : node) {
    const std::string key = entry.first.as<std::string>();
    const YAML::Node& value = entry.second;
    if (key == "name") {
      upstream.name = YamlScalar(errors, value, key);
    } else if (key == "kind") {
      const std::string kind = YamlScalar(errors, value, key);
      if (kind == "openai") {
        upstream.kind = UpstreamKind::kOpenAi;
      } else if (kind == "anthropic") {
        upstream.kind = UpstreamKind::kAnthropic;
      } else {
        errors.Fail(value, "kind must be openai (Chat Completions, Responses, Embeddings and "
                           "OpenAI-compatible servers) or anthropic (Messages), not \"" +
                               kind + "\"");
      }
      has_kind = true;
    } else if (key == "url") {
      upstream.url = YamlScalar(errors, value, key);
    } else if (key == "connect_timeout") {
      upstream.connect_timeout = YamlDuration(errors, value, key);
    } else if (key == "idle_timeout") {
      upstream.idle_timeout = YamlDuration(errors, value, key);
    } else if (key == "inject_stream_usage") {
      upstream.inject_stream_usage = YamlBool(errors, value, key);
    } else if (key == "tls") {
      if (!value.IsNull()) upstream.tls = ParseTls(errors, value, base_dir);
    } else {
      errors.Fail(entry.first, "unknown key " + key + " (an upstream takes name, kind, url, "
                               "connect_timeout, idle_timeout, inject_stream_usage and tls)");
    }
  }
  if (upstream.name.empty()) errors.Fail(node, "name is required");
  if (!IsUpstreamName(upstream.name)) {
    errors.Fail(node, "name \"" + upstream.name + "\" may hold only letters, digits, _, . and -"
                      " (it is the path segment after /proxy/)");
  }
  if (!has_kind) errors.Fail(node, "kind is required: openai or anthropic");
  if (upstream.url.empty()) errors.Fail(node, "url is required, e.g. https://api.openai.com");
  CheckHttpUrl(errors, node, upstream.url,
               "the proxy forwards each client's own credentials; the url carries none");
  if (upstream.url.find_first_of("?#") != std::string::npos) {
    errors.Fail(node, "url \"" + upstream.url + "\" must not have a query or fragment: the "
                      "request's own are appended");
  }
  while (upstream.url.ends_with('/')) upstream.url.pop_back();
  if (upstream.connect_timeout.count() <= 0) {
    errors.Fail(node, "connect_timeout must be above 0");
  }
  if (upstream.idle_timeout < std::chrono::seconds(1)) {
    // libcurl's low-speed limit counts whole seconds.
    errors.Fail(node, "idle_timeout must be at least 1s");
  }
  if (upstream.tls && upstream.url.starts_with("http://")) {
    errors.Fail(node, "tls is set but url \"" + upstream.url + "\" is plain http://");
  }
  return upstream;
}

}  // namespace

const char* UpstreamKindName(UpstreamKind kind) {
  return kind == UpstreamKind::kAnthropic ? "anthropic" : "openai";
}

ProxyConfig ParseProxyConfig(const std::string& yaml_text, const std::string& base_dir,
                             const std::string& path_for_errors) {
  YamlErrors errors("proxy config", path_for_errors);
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    errors.Fail("not valid YAML: " + e.msg + " (line " + std::to_string(e.mark.line + 1) + ")");
  }
  if (root.IsNull()) errors.Fail("the file is empty; it needs an upstreams: list");
  if (!root.IsMap()) errors.Fail(root, "the file must be a mapping with an upstreams: list");
  ProxyConfig config;
  bool has_upstreams = false;
  try {
    for (const auto& entry : root) {
      const std::string key = entry.first.as<std::string>();
      if (key == "max_request_bytes") {
        const std::string text = YamlScalar(errors, entry.second, key);
        try {
          config.max_request_bytes = ParseByteSize(text);
        } catch (const std::invalid_argument& e) {
          errors.Fail(entry.second, key + ": " + e.what());
        }
        if (config.max_request_bytes == 0 || config.max_request_bytes > kMaxRequestBytesCeiling) {
          errors.Fail(entry.second, key + " must be from 1 byte to 1GiB, not \"" + text + "\"");
        }
      } else if (key == "upstreams") {
        has_upstreams = true;
        const YAML::Node& list = entry.second;
        if (!list.IsSequence() || list.size() == 0) {
          errors.Fail(list, "upstreams must be a list of at least one upstream");
        }
        std::set<std::string> names;
        for (std::size_t i = 0; i < list.size(); ++i) {
          errors.SetWhere("upstreams[" + std::to_string(i) + "]: ");
          Upstream upstream = ParseUpstream(errors, list[i], base_dir);
          if (!names.insert(upstream.name).second) {
            errors.Fail(list[i], "name \"" + upstream.name + "\" is used by an earlier upstream");
          }
          errors.SetWhere("upstreams[" + std::to_string(i) + "] (" + upstream.name + "): ");
          config.upstreams.push_back(std::move(upstream));
        }
        errors.SetWhere("");
      } else {
        errors.Fail(entry.first, "unknown key " + key + " (the file takes upstreams and "
                                 "max_request_bytes)");
      }
    }
  } catch (const YAML::Exception& e) {
    errors.Fail("line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (!has_upstreams) errors.Fail("the file needs an upstreams: list");
  return config;
}

ProxyConfig LoadProxyConfig(const std::string& path) {
  const std::string base_dir = std::filesystem::path(path).parent_path().string();
  return ParseProxyConfig(ReadConfigFile("proxy config", path), base_dir, path);
}

}  // namespace llm_exporter::config
