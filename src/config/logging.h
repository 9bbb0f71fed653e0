// Sets up the process-wide spdlog logger: stderr, in logfmt or JSON, at the chosen level.
#pragma once

#include <string>

namespace llm_exporter::config {

// format: "logfmt" or "json"; level: "debug", "info", "warn" or "error".
void SetUpLogging(const std::string& level, const std::string& format);

}  // namespace llm_exporter::config
