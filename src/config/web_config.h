// --web.config.file: TLS and basic auth for every HTTP endpoint, in the YAML format of the
// Prometheus exporter-toolkit (github.com/prometheus/exporter-toolkit, docs/web-configuration.md).
#pragma once

#include <map>
#include <optional>
#include <string>

namespace llm_exporter::config {

// Go's tls.ClientAuthType, by the names exporter-toolkit uses.
enum class ClientAuth {
  kNoClientCert,                // no certificate asked for
  kRequestClientCert,           // asked for, not required, not verified
  kRequireAnyClientCert,        // required, not verified
  kVerifyClientCertIfGiven,     // not required; verified against client_ca_file when sent
  kRequireAndVerifyClientCert,  // required and verified against client_ca_file
};

// TLS protocol versions as numbers that order them: TLS10 < TLS11 < TLS12 < TLS13.
enum class TlsVersion { kTls10 = 10, kTls11 = 11, kTls12 = 12, kTls13 = 13 };

struct TlsServerConfig {
  std::string cert_file;  // absolute: relative paths are resolved against the config's directory
  std::string key_file;
  ClientAuth client_auth = ClientAuth::kNoClientCert;
  std::string client_ca_file;  // empty: none
  TlsVersion min_version = TlsVersion::kTls12;  // exporter-toolkit's default
  TlsVersion max_version = TlsVersion::kTls13;
};

// The whole file. Both parts are optional; an empty file turns nothing on.
struct WebConfig {
  std::optional<TlsServerConfig> tls;
  // user name -> bcrypt hash ($2a$, $2b$ or $2y$), checked for form at load time.
  std::map<std::string, std::string> basic_auth_users;

  bool tls_enabled() const { return tls.has_value(); }
  bool auth_enabled() const { return !basic_auth_users.empty(); }
  // Whether a client must prove who it is: a password, or a certificate signed by the client CA.
  bool authenticates_clients() const {
    return auth_enabled() || (tls && tls->client_auth == ClientAuth::kRequireAndVerifyClientCert);
  }
};

// Reads and checks the file; throws std::runtime_error("web config PATH: ...") naming the key or
// value at fault. Like exporter-toolkit it is strict: an unknown key is an error, and so is a
// client CA without a verifying client_auth_type or the reverse. Certificate and key files must
// be readable; their contents are checked when the server starts.
WebConfig LoadWebConfig(const std::string& path);

// The same from YAML text; relative file names are resolved against `base_dir`.
WebConfig ParseWebConfig(const std::string& yaml_text, const std::string& base_dir,
                         const std::string& path_for_errors);

// "TLS12" for kTls12, and so on.
const char* TlsVersionName(TlsVersion version);
const char* ClientAuthName(ClientAuth client_auth);

}  // namespace llm_exporter::config
