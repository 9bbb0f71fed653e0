// What the YAML config loaders share (the web, remote write and proxy configs): errors that name
// the file, the line and the entry at fault, and the readers of scalar fields.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace llm_exporter::config {

// Throws the loader's std::runtime_error: "<what> <path>: [line N: ][<entry>: ]<message>".
class YamlErrors {
 public:
  YamlErrors(std::string what, std::string path) : what_(std::move(what)), path_(std::move(path)) {}
  // The entry of a list that later errors name ("remote_write[2]: "), or "" for none.
  void SetWhere(std::string where) { where_ = std::move(where); }
  [[noreturn]] void Fail(const std::string& message) const;
  [[noreturn]] void Fail(const YAML::Node& node, const std::string& message) const;

 private:
  std::string what_;
  std::string path_;
  std::string where_;
};

// The text of the config file at `path`; throws std::runtime_error("<what> <path>: cannot read:
// <reason>").
std::string ReadConfigFile(const std::string& what, const std::string& path);

// A scalar value as a string; YAML null (`key:` with nothing after it) reads as "".
std::string YamlScalar(const YamlErrors& errors, const YAML::Node& node, const std::string& key);
bool YamlBool(const YamlErrors& errors, const YAML::Node& node, const std::string& key);
// A duration like 500ms, 15s, 1m or 2h (ParseMillisDuration, remote_write_config.h).
std::chrono::milliseconds YamlDuration(const YamlErrors& errors, const YAML::Node& node,
                                       const std::string& key);
std::size_t YamlCount(const YamlErrors& errors, const YAML::Node& node, const std::string& key,
                      std::size_t min, std::size_t max);

// `file` relative to `base_dir` (the config file's directory) unless it is absolute.
std::string ResolvePath(const std::string& base_dir, const std::string& file);
void CheckReadable(const YamlErrors& errors, const std::string& key, const std::string& file);
// "http(s)://host[:port]/path": returns "host[:port]/path" (query and fragment cut off).
// Refuses another scheme, no host, white space, and credentials in the URL (`credentials_advice`
// says where they go instead).
std::string CheckHttpUrl(const YamlErrors& errors, const YAML::Node& node, const std::string& url,
                         std::string_view credentials_advice);

}  // namespace llm_exporter::config
