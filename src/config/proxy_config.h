// --proxy.config.file: the metering proxy's upstreams (docs/proxy.md). YAML; off when no file is
// given. Requests to /proxy/<name>/... go to the upstream of that name only.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace llm_exporter::config {

// The wire format an upstream speaks, which decides how its answers are metered.
enum class UpstreamKind { kOpenAi, kAnthropic };

struct UpstreamTls {
  std::string ca_file;  // absolute (resolved against the config's directory); empty: system CAs
  bool insecure_skip_verify = false;
};

struct Upstream {
  std::string name;  // [A-Za-z0-9_.-]+, unique
  UpstreamKind kind = UpstreamKind::kOpenAi;
  // scheme://host[:port][/prefix], without a trailing slash, query or fragment.
  std::string url;
  std::chrono::milliseconds connect_timeout{10'000};
  // The transfer is aborted when no byte arrives for this long; there is no cap on total time.
  std::chrono::milliseconds idle_timeout{600'000};
  bool inject_stream_usage = false;
  std::optional<UpstreamTls> tls;
};

struct ProxyConfig {
  std::size_t max_request_bytes = std::size_t{32} << 20;
  std::vector<Upstream> upstreams;

  const Upstream* Find(std::string_view name) const {
    for (const Upstream& u : upstreams) {
      if (u.name == name) return &u;
    }
    return nullptr;
  }
};

// Reads and checks the file; throws std::runtime_error("proxy config PATH: ...") naming the
// upstream and key at fault. Strict: an unknown key is an error.
ProxyConfig LoadProxyConfig(const std::string& path);
// The same from YAML text; relative file names are resolved against `base_dir`.
ProxyConfig ParseProxyConfig(const std::string& yaml_text, const std::string& base_dir,
                             const std::string& path_for_errors);

const char* UpstreamKindName(UpstreamKind kind);  // "openai", "anthropic"

}  // namespace llm_exporter::config
