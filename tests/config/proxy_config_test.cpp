#include "config/proxy_config.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace llm_exporter::config {
namespace {

ProxyConfig Parse(const std::string& yaml) { return ParseProxyConfig(yaml, "/cfg", "proxy.yml"); }

// The message ParseProxyConfig throws for this text, or "" when it does not.
std::string Error(const std::string& yaml) {
  try {
    Parse(yaml);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

bool Says(const std::string& yaml, const std::string& words) {
  const std::string error = Error(yaml);
  INFO("error: " << error);
  return error.find(words) != std::string::npos;
}

TEST_CASE("ParseProxyConfig: defaults, both kinds, every key") {
  const ProxyConfig config = Parse(R"(
upstreams:
  - name: openai
    kind: openai
    url: https://api.openai.com/
  - name: claude.eu-1
    kind: anthropic
    url: http://127.0.0.1:8080/anthropic
    connect_timeout: 250ms
    idle_timeout: 90s
    inject_stream_usage: true
)");
  CHECK(config.max_request_bytes == std::size_t{32} << 20);
  REQUIRE(config.upstreams.size() == 2);
  const Upstream& openai = config.upstreams[0];
  CHECK(openai.name == "openai");
  CHECK(openai.kind == UpstreamKind::kOpenAi);
  CHECK(openai.url == "https://api.openai.com");  // the trailing slash is cut
  CHECK(openai.connect_timeout == std::chrono::seconds(10));
  CHECK(openai.idle_timeout == std::chrono::minutes(10));
  CHECK_FALSE(openai.inject_stream_usage);
  CHECK_FALSE(openai.tls.has_value());
  const Upstream& claude = config.upstreams[1];
  CHECK(claude.kind == UpstreamKind::kAnthropic);
  CHECK(claude.url == "http://127.0.0.1:8080/anthropic");
  CHECK(claude.connect_timeout == std::chrono::milliseconds(250));
  CHECK(claude.idle_timeout == std::chrono::seconds(90));
  CHECK(claude.inject_stream_usage);
  CHECK(config.Find("claude.eu-1") == &claude);
  CHECK(config.Find("claude") == nullptr);
  CHECK(std::string(UpstreamKindName(claude.kind)) == "anthropic");
}

TEST_CASE("ParseProxyConfig: max_request_bytes and tls") {
  const std::string dir = std::filesystem::temp_directory_path() / "llm_exporter_proxy_cfg";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/ca.pem") << "-----BEGIN CERTIFICATE-----\n";
  const ProxyConfig config = ParseProxyConfig(R"(
max_request_bytes: 4MiB
upstreams:
  - name: local
    kind: openai
    url: https://vllm.internal:8443
    tls:
      ca_file: ca.pem
      insecure_skip_verify: false
)",
                                              dir, "proxy.yml");
  CHECK(config.max_request_bytes == std::size_t{4} << 20);
  REQUIRE(config.upstreams[0].tls.has_value());
  CHECK(config.upstreams[0].tls->ca_file == dir + "/ca.pem");
  CHECK_FALSE(config.upstreams[0].tls->insecure_skip_verify);
  std::filesystem::remove_all(dir);
}

TEST_CASE("ParseProxyConfig: every error names the file, the upstream and the key") {
  CHECK(Says("", "proxy config proxy.yml: the file is empty; it needs an upstreams: list"));
  CHECK(Says("upstreams: [\n", "proxy config proxy.yml: not valid YAML"));
  CHECK(Says("- a\n", "must be a mapping with an upstreams: list"));
  CHECK(Says("max_request_bytes: 1MiB\n", "the file needs an upstreams: list"));
  CHECK(Says("upstreams: []\n", "upstreams must be a list of at least one upstream"));
  CHECK(Says("listen: x\nupstreams: []\n", "line 1: unknown key listen"));
  CHECK(Says("max_request_bytes: lots\nupstreams: []\n",
             "max_request_bytes: \"lots\" is not a size like 64MiB"));
  CHECK(Says("max_request_bytes: 2GiB\nupstreams: []\n",
             "max_request_bytes must be from 1 byte to 1GiB"));
  const std::string ok = "    kind: openai\n    url: http://u\n";
  CHECK(Says("upstreams:\n  - kind: openai\n    url: http://u\n",
             "line 2: upstreams[0]: name is required"));
  CHECK(Says("upstreams:\n  - name: a/b\n" + ok, "upstreams[0]: name \"a/b\" may hold only"));
  CHECK(Says("upstreams:\n  - name: ..\n" + ok, "name \"..\" may hold only"));
  CHECK(Says("upstreams:\n  - name: a\n    url: http://u\n",
             "upstreams[0]: kind is required: openai or anthropic"));
  CHECK(Says("upstreams:\n  - name: a\n    kind: gemini\n    url: http://u\n",
             "line 3: upstreams[0]: kind must be openai"));
  CHECK(Says("upstreams:\n  - name: a\n    kind: openai\n", "upstreams[0]: url is required"));
  CHECK(Says("upstreams:\n  - name: a\n    kind: openai\n    url: ftp://u\n",
             "url \"ftp://u\" must start with http:// or https://"));
  CHECK(Says("upstreams:\n  - name: a\n    kind: openai\n    url: https://k:s@u\n",
             "the url carries none"));
  CHECK(Says("upstreams:\n  - name: a\n    kind: openai\n    url: https://u/v1?x=1\n",
             "must not have a query or fragment"));
  CHECK(Says("upstreams:\n  - name: a\n" + ok + "    idle_timeout: 500ms\n",
             "idle_timeout must be at least 1s"));
  CHECK(Says("upstreams:\n  - name: a\n" + ok + "    connect_timeout: soon\n",
             "connect_timeout: \"soon\" is not a duration"));
  CHECK(Says("upstreams:\n  - name: a\n" + ok + "    connect_timeout: 0\n",
             "connect_timeout must be above 0"));
  CHECK(Says("upstreams:\n  - name: a\n" + ok + "    inject_stream_usage: yes please\n",
             "inject_stream_usage must be true or false"));
  CHECK(Says("upstreams:\n  - name: a\n" + ok + "    timeout: 5s\n",
             "upstreams[0]: unknown key timeout (an upstream takes name, kind, url"));
  CHECK(Says("upstreams:\n  - name: a\n" + ok + "    tls:\n      insecure_skip_verify: true\n",
             "tls is set but url \"http://u\" is plain http://"));
  CHECK(Says("upstreams:\n  - name: a\n    kind: openai\n    url: https://u\n"
             "    tls:\n      ca_file: /nonexistent/ca.pem\n",
             "tls.ca_file: cannot read /nonexistent/ca.pem"));
  CHECK(Says("upstreams:\n  - name: a\n    kind: openai\n    url: https://u\n"
             "    tls:\n      cert_file: c.pem\n",
             "unknown key tls.cert_file"));
  CHECK(Says("upstreams:\n  - name: a\n" + ok + "  - name: a\n" + ok,
             "upstreams[1]: name \"a\" is used by an earlier upstream"));
  CHECK(Says("upstreams:\n  - name: a\n" + ok + "  - name: b\n    kind: openai\n",
             "upstreams[1]: url is required"));
}

TEST_CASE("LoadProxyConfig: a file that cannot be read") {
  try {
    LoadProxyConfig("/nonexistent/proxy.yml");
    FAIL("no error");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()) ==
          "proxy config /nonexistent/proxy.yml: cannot read: No such file or directory");
  }
}

}  // namespace
}  // namespace llm_exporter::config
