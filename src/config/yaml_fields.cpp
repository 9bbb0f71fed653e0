#include "config/yaml_fields.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "config/remote_write_config.h"

namespace llm_exporter::config {

void YamlErrors::Fail(const std::string& message) const {
  throw std::runtime_error(what_ + " " + path_ + ": " + where_ + message);
}

void YamlErrors::Fail(const YAML::Node& node, const std::string& message) const {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null()) Fail(message);
  throw std::runtime_error(what_ + " " + path_ + ": line " + std::to_string(mark.line + 1) + ": " +
                           where_ + message);
}

std::string ReadConfigFile(const std::string& what, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(what + " " + path + ": cannot read: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string YamlScalar(const YamlErrors& errors, const YAML::Node& node, const std::string& key) {
  if (node.IsNull()) return "";
  if (!node.IsScalar()) errors.Fail(node, key + " must be a string");
  return node.Scalar();
}

bool YamlBool(const YamlErrors& errors, const YAML::Node& node, const std::string& key) {
  const std::string text = YamlScalar(errors, node, key);
  if (text == "true") return true;
  if (text == "false") return false;
  errors.Fail(node, key + " must be true or false, not \"" + text + "\"");
}

std::chrono::milliseconds YamlDuration(const YamlErrors& errors, const YAML::Node& node,
                                       const std::string& key) {
  const std::string text = YamlScalar(errors, node, key);
  try {
    return ParseMillisDuration(text);
  } catch (const std::invalid_argument& e) {
    errors.Fail(node, key + ": " + e.what());
  }
}

std::size_t YamlCount(const YamlErrors& errors, const YAML::Node& node, const std::string& key,
                      std::size_t min, std::size_t max) {
  const std::string text = YamlScalar(errors, node, key);
  std::size_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value < min || value > max) {
    errors.Fail(node, key + " must be a whole number from " + std::to_string(min) + " to " +
                          std::to_string(max) + ", not \"" + text + "\"");
  }
  return value;
}

std::string ResolvePath(const std::string& base_dir, const std::string& file) {
  if (file.empty() || file.front() == '/' || base_dir.empty()) return file;
  return (std::filesystem::path(base_dir) / file).lexically_normal().string();
}

void CheckReadable(const YamlErrors& errors, const std::string& key, const std::string& file) {
  std::ifstream in(file);
  if (!in) errors.Fail(key + ": cannot read " + file + ": " + std::strerror(errno));
}

std::string CheckHttpUrl(const YamlErrors& errors, const YAML::Node& node, const std::string& url,
                         std::string_view credentials_advice) {
  std::string_view rest = url;
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.starts_with("https://")) {
    rest.remove_prefix(8);
  } else {
    errors.Fail(node, "url \"" + url + "\" must start with http:// or https://");
  }
  if (rest.empty() || rest.front() == '/' || rest.front() == ':') {
    errors.Fail(node, "url \"" + url + "\" has no host");
  }
  if (rest.find_first_of(" \t\r\n") != std::string_view::npos) {
    errors.Fail(node, "url \"" + url + "\" contains white space");
  }
  if (const std::size_t at = rest.find('@'); at != std::string_view::npos &&
                                             at < rest.find('/')) {
    errors.Fail(node, "url \"" + url + "\": " + std::string(credentials_advice));
  }
  if (const std::size_t query = rest.find_first_of("?#"); query != std::string_view::npos) {
    rest = rest.substr(0, query);
  }
  return std::string(rest);
}

}  // namespace llm_exporter::config
