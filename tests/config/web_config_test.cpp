#include "config/web_config.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace llm_exporter::config {
namespace {

namespace fs = std::filesystem;

constexpr const char* kHash = "$2b$04$abcdefghijklmnopqrstuujZkTwHUiJ9XdZPwKfcfDo7dMp5DjlTu";

// A temp directory holding a web config and the (dummy) files it names; removed at the end.
class ConfigDir {
 public:
  ConfigDir() {
    dir_ = fs::temp_directory_path() /
           ("llmx-webcfg-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::create_directories(dir_ / "tls");
    for (const char* name : {"tls/server.crt", "tls/server.key", "tls/ca.crt"}) {
      Write(name, "not checked here\n");
    }
  }
  ~ConfigDir() { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) const {
    const fs::path path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  // LoadWebConfig of a file with this text; the error message when it throws.
  std::string Error(const std::string& yaml) const {
    const std::string path = Write("web.yml", yaml);
    try {
      LoadWebConfig(path);
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "(no error)";
  }

 private:
  static inline int counter_ = 0;
  fs::path dir_;
};

TEST_CASE("LoadWebConfig: TLS and users; relative files resolve against the file's directory") {
  ConfigDir dir;
  const std::string path = dir.Write("web.yml", R"(
tls_server_config:
  cert_file: tls/server.crt
  key_file: tls/server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: tls/ca.crt
  min_version: TLS13
basic_auth_users:
  alice: )" + std::string(kHash) + R"(
  "bob smith": ')" + kHash + R"('
)");
  const WebConfig config = LoadWebConfig(path);
  REQUIRE(config.tls);
  CHECK(config.tls->cert_file == dir.Path("tls/server.crt"));
  CHECK(config.tls->key_file == dir.Path("tls/server.key"));
  CHECK(config.tls->client_ca_file == dir.Path("tls/ca.crt"));
  CHECK(config.tls->client_auth == ClientAuth::kRequireAndVerifyClientCert);
  CHECK(config.tls->min_version == TlsVersion::kTls13);
  CHECK(config.tls->max_version == TlsVersion::kTls13);
  CHECK(config.basic_auth_users.size() == 2);
  CHECK(config.basic_auth_users.at("alice") == kHash);
  CHECK(config.basic_auth_users.at("bob smith") == kHash);
  CHECK(config.tls_enabled());
  CHECK(config.auth_enabled());
  CHECK(config.authenticates_clients());
}

TEST_CASE("LoadWebConfig: defaults are exporter-toolkit's; absolute paths stay as they are") {
  ConfigDir dir;
  const std::string cert = dir.Path("tls/server.crt");
  const WebConfig config = LoadWebConfig(dir.Write(
      "web.yml", "tls_server_config:\n  cert_file: " + cert + "\n  key_file: " +
                     dir.Path("tls/server.key") + "\n"));
  REQUIRE(config.tls);
  CHECK(config.tls->cert_file == cert);
  CHECK(config.tls->client_auth == ClientAuth::kNoClientCert);
  CHECK(config.tls->client_ca_file.empty());
  CHECK(config.tls->min_version == TlsVersion::kTls12);
  CHECK(config.tls->max_version == TlsVersion::kTls13);
  CHECK_FALSE(config.auth_enabled());
  CHECK_FALSE(config.authenticates_clients());
}

TEST_CASE("LoadWebConfig: an empty file, or users only") {
  ConfigDir dir;
  WebConfig config = LoadWebConfig(dir.Write("web.yml", "# nothing yet\n"));
  CHECK_FALSE(config.tls_enabled());
  CHECK_FALSE(config.auth_enabled());
  config = LoadWebConfig(dir.Write("web.yml", "basic_auth_users:\n  u: " + std::string(kHash)));
  CHECK_FALSE(config.tls_enabled());
  CHECK(config.auth_enabled());
}

TEST_CASE("LoadWebConfig: every client_auth_type and TLS version by its exporter-toolkit name") {
  ConfigDir dir;
  const auto load = [&](const std::string& extra) {
    return *LoadWebConfig(dir.Write("web.yml", "tls_server_config:\n  cert_file: tls/server.crt\n"
                                               "  key_file: tls/server.key\n" + extra))
                .tls;
  };
  CHECK(load("  client_auth_type: RequestClientCert\n").client_auth ==
        ClientAuth::kRequestClientCert);
  CHECK(load("  client_auth_type: RequireAnyClientCert\n").client_auth ==
        ClientAuth::kRequireAnyClientCert);
  CHECK(load("  client_auth_type: RequireClientCert\n").client_auth ==
        ClientAuth::kRequireAnyClientCert);
  CHECK(load("  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: tls/ca.crt\n")
            .client_auth == ClientAuth::kVerifyClientCertIfGiven);
  CHECK(load("  client_auth_type: NoClientCert\n").client_auth == ClientAuth::kNoClientCert);
  const TlsServerConfig tls = load("  min_version: TLS10\n  max_version: TLS11\n");
  CHECK(tls.min_version == TlsVersion::kTls10);
  CHECK(tls.max_version == TlsVersion::kTls11);
}

TEST_CASE("LoadWebConfig: errors name the file, the line and the key") {
  ConfigDir dir;
  const std::string file = dir.Path("web.yml");
  const std::string tls = "tls_server_config:\n  cert_file: tls/server.crt\n"
                          "  key_file: tls/server.key\n";
  CHECK(dir.Error("tls_server_config:\n  cert_file: tls/server.crt\n  key_file: tls/server.key\n"
                  "  cert_fiel: x\n") ==
        "web config " + file + ": line 4: unknown key tls_server_config.cert_fiel");
  CHECK(dir.Error("basic_auth_user:\n  a: b\n") ==
        "web config " + file + ": line 1: unknown key basic_auth_user");
  CHECK(dir.Error(tls + "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n") ==
        "web config " + file +
            ": line 4: tls_server_config.cipher_suites is an exporter-toolkit option "
            "llm_exporter does not support");
  CHECK(dir.Error("http_server_config:\n  http2: false\n") ==
        "web config " + file +
            ": line 1: http_server_config is an exporter-toolkit option llm_exporter does not "
            "support");
  CHECK(dir.Error(tls + "  client_auth_type: RequireCert\n") ==
        "web config " + file +
            ": line 4: tls_server_config.client_auth_type \"RequireCert\" is not one of "
            "NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, "
            "RequireAndVerifyClientCert");
  CHECK(dir.Error(tls + "  min_version: TLS1.3\n") ==
        "web config " + file +
            ": line 4: tls_server_config.min_version \"TLS1.3\" is not one of TLS10, TLS11, "
            "TLS12, TLS13");
  CHECK(dir.Error(tls + "  min_version: TLS13\n  max_version: TLS12\n") ==
        "web config " + file +
            ": line 2: tls_server_config.min_version TLS13 is above max_version TLS12");
  CHECK(dir.Error("tls_server_config:\n  key_file: tls/server.key\n") ==
        "web config " + file + ": line 2: tls_server_config.cert_file is required");
  CHECK(dir.Error("tls_server_config:\n  cert_file: tls/server.crt\n") ==
        "web config " + file + ": line 2: tls_server_config.key_file is required");
  CHECK(dir.Error(tls + "  client_ca_file: tls/ca.crt\n") ==
        "web config " + file +
            ": line 2: tls_server_config.client_ca_file is set but client_auth_type is "
            "NoClientCert, so no client certificate would be asked for");
  CHECK(dir.Error(tls + "  client_auth_type: RequireAndVerifyClientCert\n") ==
        "web config " + file +
            ": line 2: tls_server_config.client_auth_type RequireAndVerifyClientCert needs "
            "client_ca_file to verify client certificates against");
  CHECK(dir.Error("tls_server_config:\n  cert_file: tls/missing.crt\n"
                  "  key_file: tls/server.key\n") ==
        "web config " + file + ": tls_server_config.cert_file: cannot read " +
            dir.Path("tls/missing.crt") + ": No such file or directory");
  CHECK(dir.Error("tls_server_config:\n  cert_file: [a, b]\n  key_file: k\n") ==
        "web config " + file + ": line 2: tls_server_config.cert_file must be a string");
  CHECK(dir.Error("tls_server_config: yes\n") ==
        "web config " + file + ": line 1: tls_server_config must be a mapping");
  CHECK(dir.Error("- a\n- b\n") ==
        "web config " + file +
            ": line 1: must be a mapping with tls_server_config and/or basic_auth_users");
  CHECK(dir.Error("basic_auth_users: [a]\n") ==
        "web config " + file + ": line 1: basic_auth_users must be a mapping of user: bcrypt hash");
  CHECK(dir.Error("a: [b\n").starts_with("web config " + file + ": line "));
  CHECK(dir.Error("{") .starts_with("web config " + file + ": line "));
}

TEST_CASE("LoadWebConfig: user entries must be bcrypt hashes under usable names") {
  ConfigDir dir;
  const std::string file = dir.Path("web.yml");
  const std::string not_bcrypt =
      ": not a bcrypt hash ($2a$, $2b$ or $2y$, cost 04 to 31, 60 characters); see "
      "docs/configuration.md to make one";
  CHECK(dir.Error("basic_auth_users:\n  alice: secret\n") ==
        "web config " + file + ": line 2: basic_auth_users.alice" + not_bcrypt);
  // SHA-512 crypt, a cost below 4, a stray character, one character short.
  CHECK(dir.Error("basic_auth_users:\n  a: $6$salt$abc\n").find(not_bcrypt) != std::string::npos);
  const auto refused = [&](const std::string& hash) {
    return dir.Error("basic_auth_users:\n  a: " + hash + "\n").find(not_bcrypt) !=
           std::string::npos;
  };
  CHECK(refused("$2b$03$abcdefghijklmnopqrstuujZkTwHUiJ9XdZPwKfcfDo7dMp5DjlTu"));
  CHECK(refused("$2b$04$abcdefghijklmnopqrstuujZkTwHUiJ9XdZPwKfcfDo7dMp5Djl!u"));
  CHECK(refused("$2b$04$abcdefghijklmnopqrstuujZkTwHUiJ9XdZPwKfcfDo7dMp5DjlT"));
  CHECK(refused("$2x$04$abcdefghijklmnopqrstuujZkTwHUiJ9XdZPwKfcfDo7dMp5DjlTu"));
  CHECK_FALSE(refused(kHash));
  CHECK(dir.Error("basic_auth_users:\n  a:\n").find(not_bcrypt) != std::string::npos);
  CHECK(dir.Error("basic_auth_users:\n  \"a:b\": " + std::string(kHash) + "\n") ==
        "web config " + file +
            ": line 2: basic_auth_users.a:b: a user name cannot contain ':' in HTTP basic auth");
  CHECK(dir.Error("basic_auth_users:\n  \"\": " + std::string(kHash) + "\n") ==
        "web config " + file + ": line 2: basic_auth_users: a user name is empty");
}

TEST_CASE("LoadWebConfig: a file that cannot be read") {
  CHECK_THROWS_WITH_AS(LoadWebConfig("/nonexistent/web.yml"),
                       "web config /nonexistent/web.yml: cannot read: No such file or directory",
                       std::runtime_error);
}

}  // namespace
}  // namespace llm_exporter::config
