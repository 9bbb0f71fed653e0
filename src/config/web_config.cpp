#include "config/web_config.h"

#include <yaml-cpp/yaml.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include "config/yaml_fields.h"

namespace llm_exporter::config {
namespace {

// Keys exporter-toolkit knows that llm_exporter does not implement: named as such, so that a
// file written for node_exporter fails with a reason rather than "unknown key".
constexpr std::array<std::string_view, 2> kUnsupportedTopLevel = {"http_server_config",
                                                                  "rate_limit"};
constexpr std::array<std::string_view, 7> kUnsupportedTls = {
    "cert",          "key", "client_ca", "cipher_suites", "curve_preferences",
    "prefer_server_cipher_suites", "client_allowed_sans"};

constexpr std::array<std::pair<std::string_view, ClientAuth>, 6> kClientAuthNames = {{
    {"NoClientCert", ClientAuth::kNoClientCert},
    {"RequestClientCert", ClientAuth::kRequestClientCert},
    {"RequireAnyClientCert", ClientAuth::kRequireAnyClientCert},
    {"RequireClientCert", ClientAuth::kRequireAnyClientCert},  // exporter-toolkit's old name
    {"VerifyClientCertIfGiven", ClientAuth::kVerifyClientCertIfGiven},
    {"RequireAndVerifyClientCert", ClientAuth::kRequireAndVerifyClientCert},
}};

constexpr std::array<std::pair<std::string_view, TlsVersion>, 4> kTlsVersionNames = {{
    {"TLS10", TlsVersion::kTls10},
    {"TLS11", TlsVersion::kTls11},
    {"TLS12", TlsVersion::kTls12},
    {"TLS13", TlsVersion::kTls13},
}};

template <std::size_t N>
bool Contains(const std::array<std::string_view, N>& names, std::string_view name) {
  for (const std::string_view n : names) {
    if (n == name) return true;
  }
  return false;
}

// Throws the loader's error for this file.
class Errors : public YamlErrors {
 public:
  explicit Errors(std::string path) : YamlErrors("web config", std::move(path)) {}
};

// $2a$, $2b$ or $2y$, a two-digit cost from 04 to 31, then 53 characters of bcrypt's base64.
bool IsBcryptHash(std::string_view hash) {
  if (hash.size() != 60 || hash.substr(0, 2) != "$2" || hash[3] != '$' || hash[6] != '$') {
    return false;
  }
  if (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') return false;
  if (hash[4] < '0' || hash[4] > '9' || hash[5] < '0' || hash[5] > '9') return false;
  const int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
  if (cost < 4 || cost > 31) return false;
  for (const char c : hash.substr(7)) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '/';
    if (!ok) return false;
  }
  return true;
}

TlsServerConfig ParseTls(const Errors& errors, const YAML::Node& node,
                         const std::string& base_dir) {
  TlsServerConfig tls;
  if (!node.IsMap()) errors.Fail(node, "tls_server_config must be a mapping");
  for (const auto& entry : node) {
    const std::string key = entry.first.as<std::string>();
    const std::string name = "tls_server_config." + key;
    const YAML::Node& value = entry.second;
    if (key == "cert_file") {
      tls.cert_file = YamlScalar(errors, value, name);
    } else if (key == "key_file") {
      tls.key_file = YamlScalar(errors, value, name);
    } else if (key == "client_ca_file") {
      tls.client_ca_file = YamlScalar(errors, value, name);
    } else if (key == "client_auth_type") {
      const std::string text = YamlScalar(errors, value, name);
      bool found = text.empty();  // "" is NoClientCert, as in exporter-toolkit
      for (const auto& [n, v] : kClientAuthNames) {
        if (n == text) {
          tls.client_auth = v;
          found = true;
        }
      }
      if (!found) {
        errors.Fail(value, name + " \"" + text +
                               "\" is not one of NoClientCert, RequestClientCert, "
                               "RequireAnyClientCert, VerifyClientCertIfGiven, "
                               "RequireAndVerifyClientCert");
      }
    } else if (key == "min_version" || key == "max_version") {
      const std::string text = YamlScalar(errors, value, name);
      bool found = false;
      for (const auto& [n, v] : kTlsVersionNames) {
        if (n == text) {
          (key == "min_version" ? tls.min_version : tls.max_version) = v;
          found = true;
        }
      }
      if (!found) {
        errors.Fail(value, name + " \"" + text + "\" is not one of TLS10, TLS11, TLS12, TLS13");
      }
    } else if (Contains(kUnsupportedTls, key)) {
      errors.Fail(entry.first, name + " is an exporter-toolkit option llm_exporter does not "
                                      "support");
    } else {
      errors.Fail(entry.first, "unknown key " + name);
    }
  }
  if (tls.cert_file.empty()) errors.Fail(node, "tls_server_config.cert_file is required");
  if (tls.key_file.empty()) errors.Fail(node, "tls_server_config.key_file is required");
  if (tls.min_version > tls.max_version) {
    errors.Fail(node, std::string("tls_server_config.min_version ") +
                          TlsVersionName(tls.min_version) + " is above max_version " +
                          TlsVersionName(tls.max_version));
  }
  const bool verifies = tls.client_auth == ClientAuth::kVerifyClientCertIfGiven ||
                        tls.client_auth == ClientAuth::kRequireAndVerifyClientCert;
  if (!tls.client_ca_file.empty() && tls.client_auth == ClientAuth::kNoClientCert) {
    errors.Fail(node, "tls_server_config.client_ca_file is set but client_auth_type is "
                      "NoClientCert, so no client certificate would be asked for");
  }
  if (verifies && tls.client_ca_file.empty()) {
    errors.Fail(node, std::string("tls_server_config.client_auth_type ") +
                          ClientAuthName(tls.client_auth) +
                          " needs client_ca_file to verify client certificates against");
  }
  tls.cert_file = ResolvePath(base_dir, tls.cert_file);
  tls.key_file = ResolvePath(base_dir, tls.key_file);
  tls.client_ca_file = ResolvePath(base_dir, tls.client_ca_file);
  CheckReadable(errors, "tls_server_config.cert_file", tls.cert_file);
  CheckReadable(errors, "tls_server_config.key_file", tls.key_file);
  if (!tls.client_ca_file.empty()) {
    CheckReadable(errors, "tls_server_config.client_ca_file", tls.client_ca_file);
  }
  return tls;
}

std::map<std::string, std::string> ParseUsers(const Errors& errors, const YAML::Node& node) {
  std::map<std::string, std::string> users;
  if (node.IsNull()) return users;
  if (!node.IsMap()) errors.Fail(node, "basic_auth_users must be a mapping of user: bcrypt hash");
  for (const auto& entry : node) {
    const std::string user = entry.first.as<std::string>();
    if (user.empty()) errors.Fail(entry.first, "basic_auth_users: a user name is empty");
    if (user.find(':') != std::string::npos) {
      errors.Fail(entry.first, "basic_auth_users." + user +
                                   ": a user name cannot contain ':' in HTTP basic auth");
    }
    const std::string hash = YamlScalar(errors, entry.second, "basic_auth_users." + user);
    if (!IsBcryptHash(hash)) {
      errors.Fail(entry.second, "basic_auth_users." + user +
                                    ": not a bcrypt hash ($2a$, $2b$ or $2y$, cost 04 to 31, "
                                    "60 characters); see docs/configuration.md to make one");
    }
    if (!users.emplace(user, hash).second) {
      errors.Fail(entry.first, "basic_auth_users." + user + " is listed twice");
    }
  }
  return users;
}

}  // namespace

const char* TlsVersionName(TlsVersion version) {
  for (const auto& [n, v] : kTlsVersionNames) {
    if (v == version) return n.data();
  }
  return "?";
}

const char* ClientAuthName(ClientAuth client_auth) {
  for (const auto& [n, v] : kClientAuthNames) {
    if (v == client_auth) return n.data();
  }
  return "?";
}

WebConfig ParseWebConfig(const std::string& yaml_text, const std::string& base_dir,
                         const std::string& path_for_errors) {
  const Errors errors(path_for_errors);
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    errors.Fail("line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  WebConfig config;
  if (root.IsNull()) return config;  // an empty file: plain HTTP, no auth
  if (!root.IsMap()) {
    errors.Fail(root, "must be a mapping with tls_server_config and/or basic_auth_users");
  }
  try {
    for (const auto& entry : root) {
      const std::string key = entry.first.as<std::string>();
      if (key == "tls_server_config") {
        if (!entry.second.IsNull()) config.tls = ParseTls(errors, entry.second, base_dir);
      } else if (key == "basic_auth_users") {
        config.basic_auth_users = ParseUsers(errors, entry.second);
      } else if (Contains(kUnsupportedTopLevel, key)) {
        errors.Fail(entry.first, key + " is an exporter-toolkit option llm_exporter does not "
                                       "support");
      } else {
        errors.Fail(entry.first, "unknown key " + key);
      }
    }
  } catch (const YAML::Exception& e) {
    // A key that is not a scalar, and the like.
    errors.Fail("line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  return config;
}

WebConfig LoadWebConfig(const std::string& path) {
  const std::string base_dir = std::filesystem::path(path).parent_path().string();
  return ParseWebConfig(ReadConfigFile("web config", path), base_dir, path);
}

}  // namespace llm_exporter::config
