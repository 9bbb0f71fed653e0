#include "config/remote_write_config.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace llm_exporter::config {
namespace {

namespace fs = std::filesystem;

RemoteWriteDefaults Defaults() {
  RemoteWriteDefaults defaults;
  defaults.instance = "host-a:9464";
  return defaults;
}

std::vector<RemoteWriteTarget> Parse(const std::string& yaml, const std::string& dir = "/cfg") {
  return ParseRemoteWriteConfig(yaml, dir, "rw.yml", Defaults());
}

// The message ParseRemoteWriteConfig throws for this text, or "" when it does not.
std::string Error(const std::string& yaml, const std::string& dir = "/cfg") {
  try {
    Parse(yaml, dir);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST_CASE("ParseRemoteWriteConfig: Prometheus' defaults, instance and job always set") {
  const auto targets = Parse("remote_write:\n  - url: http://mimir:9009/api/v1/push\n");
  REQUIRE(targets.size() == 1);
  const RemoteWriteTarget& t = targets[0];
  CHECK(t.url == "http://mimir:9009/api/v1/push");
  CHECK(t.name == "mimir:9009/api/v1/push");
  CHECK(t.remote_timeout == std::chrono::seconds(30));
  CHECK(t.send_interval == std::chrono::seconds(15));
  CHECK(t.external_labels == std::map<std::string, std::string>{{"instance", "host-a:9464"},
                                                                {"job", "llm_exporter"}});
  CHECK(t.capacity == 10);
  CHECK(t.max_samples_per_send == 2000);
  CHECK(t.max_bytes == std::size_t{256} << 20);
  CHECK(t.min_backoff == std::chrono::milliseconds(30));
  CHECK(t.max_backoff == std::chrono::seconds(5));
  CHECK(t.send_metadata);
  CHECK(t.metadata_interval == std::chrono::minutes(1));
  CHECK_FALSE(t.basic_auth_username);
  CHECK(t.bearer_token.empty());
  CHECK_FALSE(t.tls);
  CHECK(t.write_relabel_configs.empty());
}

TEST_CASE("ParseRemoteWriteConfig: every key; a given instance or job wins over the default") {
  const auto targets = Parse(R"(remote_write:
  - url: https://mimir.example/api/v1/push
    name: mimir
    remote_timeout: 10s
    send_interval: 500ms
    external_labels: {instance: web-1, job: llm, cluster: eu}
    headers: {X-Scope-OrgID: team-a}
    basic_auth: {username: u, password: p}
    tls_config: {insecure_skip_verify: true, server_name: receiver.internal}
    write_relabel_configs:
      - source_labels: [__name__]
        regex: llm_exporter_.*|process_.*
        action: drop
      - source_labels: [model, __name__]
        separator: "@"
        action: Keep
    queue_config: {capacity: 3, max_samples_per_send: 500, min_backoff: 1s, max_backoff: 1m,
                   max_bytes: 64MiB}
    metadata_config: {send: false, send_interval: 2m}
  - url: http://vm:8428/api/v1/write
    bearer_token: secret
)");
  REQUIRE(targets.size() == 2);
  const RemoteWriteTarget& t = targets[0];
  CHECK(t.name == "mimir");
  CHECK(t.remote_timeout == std::chrono::seconds(10));
  CHECK(t.send_interval == std::chrono::milliseconds(500));
  CHECK(t.external_labels == std::map<std::string, std::string>{
                                 {"cluster", "eu"}, {"instance", "web-1"}, {"job", "llm"}});
  CHECK(t.headers.at("X-Scope-OrgID") == "team-a");
  CHECK(*t.basic_auth_username == "u");
  CHECK(t.basic_auth_password == "p");
  REQUIRE(t.tls);
  CHECK(t.tls->insecure_skip_verify);
  CHECK(t.tls->server_name == "receiver.internal");
  REQUIRE(t.write_relabel_configs.size() == 2);
  CHECK(t.write_relabel_configs[0].action == WriteRelabelRule::Action::kDrop);
  CHECK(t.write_relabel_configs[0].regex == "llm_exporter_.*|process_.*");
  CHECK(t.write_relabel_configs[0].separator == ";");
  CHECK(t.write_relabel_configs[1].action == WriteRelabelRule::Action::kKeep);
  CHECK(t.write_relabel_configs[1].source_labels == std::vector<std::string>{"model", "__name__"});
  CHECK(t.write_relabel_configs[1].separator == "@");
  CHECK(t.write_relabel_configs[1].regex == "(.*)");
  CHECK(t.capacity == 3);
  CHECK(t.max_samples_per_send == 500);
  CHECK(t.max_bytes == std::size_t{64} << 20);
  CHECK(t.min_backoff == std::chrono::seconds(1));
  CHECK(t.max_backoff == std::chrono::minutes(1));
  CHECK_FALSE(t.send_metadata);
  CHECK(t.metadata_interval == std::chrono::minutes(2));
  CHECK(targets[1].name == "vm:8428/api/v1/write");
  CHECK(targets[1].bearer_token == "secret");
}

TEST_CASE("LoadRemoteWriteConfig: secrets and certificates from files beside the config") {
  const fs::path dir = fs::temp_directory_path() / ("llmx-rwcfg-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "password") << "s3cret\n";
  std::ofstream(dir / "token") << "tok\r\n";
  std::ofstream(dir / "ca.pem") << "not checked here\n";
  std::ofstream(dir / "a.yml") << "remote_write:\n"
                                  "  - url: https://a/push\n"
                                  "    basic_auth: {username: u, password_file: password}\n"
                                  "    tls_config: {ca_file: ca.pem}\n"
                                  "  - url: https://b/push\n"
                                  "    bearer_token_file: token\n";
  const auto targets = LoadRemoteWriteConfig((dir / "a.yml").string(), Defaults());
  REQUIRE(targets.size() == 2);
  CHECK(targets[0].basic_auth_password == "s3cret");
  CHECK(targets[0].tls->ca_file == (dir / "ca.pem").string());
  CHECK(targets[1].bearer_token == "tok");
  fs::remove_all(dir);
}

TEST_CASE("ParseRemoteWriteConfig: errors name the file, the target, the line and the key") {
  const std::string head = "remote_write:\n  - url: http://r/w\n";
  CHECK(Error("") == "remote write config rw.yml: the file is empty; it needs a remote_write: list");
  CHECK(Error("remote_write: []\n").find("remote_write must be a list of one or more targets") !=
        std::string::npos);
  CHECK(Error("global: {}\n").find("unknown key global") != std::string::npos);
  CHECK(Error("remote_write:\n  - name: x\n").find("remote_write[0]: url is required") !=
        std::string::npos);
  CHECK(Error("remote_write:\n  - url: ftp://r/w\n").find("must start with http:// or https://") !=
        std::string::npos);
  CHECK(Error("remote_write:\n  - url: http://u:p@r/w\n").find("put credentials in basic_auth") !=
        std::string::npos);
  CHECK(Error(head + "    urls: x\n") ==
        "remote write config rw.yml: line 3: remote_write[0]: unknown key urls");
  CHECK(Error(head + "    sigv4: {}\n").find("sigv4 is a Prometheus remote_write option llm_exporter "
                                              "does not support") != std::string::npos);
  CHECK(Error(head + "    send_interval: 15\n").find("send_interval: \"15\" is not a duration") !=
        std::string::npos);
  CHECK(Error(head + "    send_interval: 10ms\n").find("at least 100ms") != std::string::npos);
  CHECK(Error(head + "    external_labels: {__x: y}\n").find("\"__x\" is not a label name") !=
        std::string::npos);
  CHECK(Error(head + "    headers: {Authorization: x}\n")
            .find("Authorization is set by the agent itself (use basic_auth") != std::string::npos);
  CHECK(Error(head + "    basic_auth: {password: p}\n").find("basic_auth.username is required") !=
        std::string::npos);
  CHECK(Error(head + "    bearer_token: t\n    basic_auth: {username: u}\n")
            .find("basic_auth or a bearer token, not both") != std::string::npos);
  CHECK(Error(head + "    bearer_token_file: /nonexistent/token\n")
            .find("bearer_token_file: cannot read /nonexistent/token") != std::string::npos);
  CHECK(Error(head + "    write_relabel_configs: [{source_labels: [__name__], regex: '(', "
                     "action: drop}]\n")
            .find("write_relabel_configs[0].regex \"(\": missing )") != std::string::npos);
  CHECK(Error(head + "    write_relabel_configs: [{source_labels: [a], action: replace}]\n")
            .find("only keep and drop are supported") != std::string::npos);
  CHECK(Error(head + "    write_relabel_configs: [{source_labels: [a]}]\n")
            .find("action is required") != std::string::npos);
  CHECK(Error(head + "    queue_config: {capacity: 0}\n")
            .find("queue_config.capacity must be a whole number from 1 to 10000, not \"0\"") !=
        std::string::npos);
  CHECK(Error(head + "    queue_config: {max_bytes: 1KiB}\n").find("at least 1MiB") !=
        std::string::npos);
  CHECK(Error(head + "    queue_config: {max_shards: 4}\n").find("does not need") !=
        std::string::npos);
  CHECK(Error(head + "    queue_config: {min_backoff: 2s, max_backoff: 1s}\n")
            .find("max_backoff must not be below min_backoff") != std::string::npos);
  CHECK(Error(head + "    tls_config: {server_name: \"a:1\"}\n").find("must be a host name") !=
        std::string::npos);
  CHECK(Error(head + "    tls_config: {ca: x}\n").find("does not support") != std::string::npos);
  CHECK(Error(head + "  - url: http://r/w\n").find("remote_write[1]: name \"r/w\" is used by an "
                                                   "earlier target") != std::string::npos);
  CHECK(Error("remote_write: [").find("not valid YAML") != std::string::npos);
}

TEST_CASE("ParseByteSize") {
  CHECK(ParseByteSize("1048576") == 1048576);
  CHECK(ParseByteSize("512KiB") == 512 << 10);
  CHECK(ParseByteSize("256MiB") == std::size_t{256} << 20);
  CHECK(ParseByteSize("2GiB") == std::size_t{2} << 30);
  CHECK_THROWS_AS(ParseByteSize("1MB"), std::invalid_argument);
  CHECK_THROWS_AS(ParseByteSize("MiB"), std::invalid_argument);
  CHECK_THROWS_AS(ParseByteSize("1.5GiB"), std::invalid_argument);
  CHECK_THROWS_AS(ParseByteSize("99999999GiB"), std::invalid_argument);
}

TEST_CASE("ParseMillisDuration") {
  CHECK(ParseMillisDuration("250ms") == std::chrono::milliseconds(250));
  CHECK(ParseMillisDuration("15s") == std::chrono::seconds(15));
  CHECK(ParseMillisDuration("2m") == std::chrono::minutes(2));
  CHECK(ParseMillisDuration("1h") == std::chrono::hours(1));
  CHECK(ParseMillisDuration("1d") == std::chrono::hours(24));
  CHECK(ParseMillisDuration("0") == std::chrono::milliseconds(0));
  CHECK_THROWS_AS(ParseMillisDuration("1.5s"), std::invalid_argument);
  CHECK_THROWS_AS(ParseMillisDuration("s"), std::invalid_argument);
  CHECK_THROWS_AS(ParseMillisDuration("-1s"), std::invalid_argument);
  CHECK_THROWS_AS(ParseMillisDuration("5"), std::invalid_argument);
  CHECK_THROWS_AS(ParseMillisDuration("1y"), std::invalid_argument);
}

}  // namespace
}  // namespace llm_exporter::config
