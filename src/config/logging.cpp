#include "config/logging.h"

#include <spdlog/formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <iterator>
#include <memory>

namespace llm_exporter::config {
namespace {

// One line per record: ts=... level=... msg="..." (logfmt) or {"ts":...,"level":...,"msg":...}.
class LineFormatter final : public spdlog::formatter {
 public:
  explicit LineFormatter(bool json) : json_(json) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto level = spdlog::level::to_string_view(msg.level);
    const std::string_view level_name =
        msg.level == spdlog::level::warn ? std::string_view("warn")
                                         : std::string_view(level.data(), level.size());
    const std::string_view text(msg.payload.data(), msg.payload.size());
    if (json_) {
      Append(dest, "{\"ts\":\"");
      AppendTimestamp(dest, msg.time);
      Append(dest, "\",\"level\":\"");
      Append(dest, level_name);
      Append(dest, "\",\"msg\":\"");
      AppendEscaped(dest, text);
      Append(dest, "\"}\n");
    } else {
      Append(dest, "ts=");
      AppendTimestamp(dest, msg.time);
      Append(dest, " level=");
      Append(dest, level_name);
      Append(dest, " msg=\"");
      AppendEscaped(dest, text);
      Append(dest, "\"\n");
    }
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<LineFormatter>(json_);
  }

 private:
  static void Append(spdlog::memory_buf_t& dest, std::string_view text) {
    dest.append(text.data(), text.data() + text.size());
  }
  // RFC 3339 in UTC with milliseconds (2026-11-26T19:21:32.005Z), formatted straight into the
  // record: no fixed-size buffer that a five-digit year could overflow.
  static void AppendTimestamp(spdlog::memory_buf_t& dest, spdlog::log_clock::time_point time) {
    const auto seconds = std::chrono::floor<std::chrono::seconds>(time);
    const auto millis =
        std::chrono::duration_cast<std::chrono::milliseconds>(time - seconds).count();
    const std::time_t whole = spdlog::log_clock::to_time_t(seconds);
    std::tm utc{};
    gmtime_r(&whole, &utc);
    fmt::format_to(std::back_inserter(dest), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                   utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                   utc.tm_sec, millis);
  }
  // Escapes quotes, backslashes and control characters; valid for both logfmt and JSON.
  static void AppendEscaped(spdlog::memory_buf_t& dest, std::string_view text) {
    for (const char c : text) {
      switch (c) {
        case '"': Append(dest, "\\\""); break;
        case '\\': Append(dest, "\\\\"); break;
        case '\n': Append(dest, "\\n"); break;
        case '\r': Append(dest, "\\r"); break;
        case '\t': Append(dest, "\\t"); break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
            Append(dest, escaped);
          } else {
            dest.push_back(c);
          }
      }
    }
  }

  bool json_;
};

}  // namespace

void SetUpLogging(const std::string& level, const std::string& format) {
  auto logger = std::make_shared<spdlog::logger>(
      "llm_exporter", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_formatter(std::make_unique<LineFormatter>(format == "json"));
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  // Shown at debug level only: confirms the level and format the flags asked for.
  spdlog::debug("Logging at level {} in {} format", level, format);
}

}  // namespace llm_exporter::config
