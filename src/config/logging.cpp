#include "config/logging.h"

#include <spdlog/formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <memory>

namespace llm_exporter::config {
namespace {

// One line per record: ts=... level=... msg="..." (logfmt) or {"ts":...,"level":...,"msg":...}.
class LineFormatter final : public spdlog::formatter {
 public:
  explicit LineFormatter(bool json) : json_(json) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto time = std::chrono::system_clock::to_time_t(msg.time);
    const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(
                            msg.time.time_since_epoch()).count() % 1000;
    std::tm utc{};
    gmtime_r(&time, &utc);
    char ts[32];
    std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                  utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                  static_cast<int>(millis));
    const auto level = spdlog::level::to_string_view(msg.level);
    const std::string_view level_name =
        msg.level == spdlog::level::warn ? std::string_view("warn")
                                         : std::string_view(level.data(), level.size());
    const std::string_view text(msg.payload.data(), msg.payload.size());
    if (json_) {
      Append(dest, "{\"ts\":\"");
      Append(dest, ts);
      Append(dest, "\",\"level\":\"");
      Append(dest, level_name);
      Append(dest, "\",\"msg\":\"");
      AppendEscaped(dest, text);
      Append(dest, "\"}\n");
    } else {
      Append(dest, "ts=");
      Append(dest, ts);
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
}

}  // namespace llm_exporter::config
