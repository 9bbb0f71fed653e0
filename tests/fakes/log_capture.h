// Captures what the code under test logs through spdlog's default logger, so a test can assert
// the exact warn lines instead of reading stderr.
#pragma once

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace llm_exporter::testing {

struct LogLine {
  spdlog::level::level_enum level;
  std::string text;
};

// Thread-safe (spdlog's base_sink locks around sink_it_).
class CapturingLogSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::vector<LogLine> lines() {
    std::lock_guard<std::mutex> lock(mutex_);
    return lines_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    lines_.push_back({msg.level, std::string(msg.payload.data(), msg.payload.size())});
  }
  void flush_() override {}

 private:
  std::vector<LogLine> lines_;
};

// Makes a capturing logger spdlog's default for the life of the object, then puts the previous
// default back. Not thread-safe: create it before the threads that log.
class ScopedLogCapture {
 public:
  ScopedLogCapture()
      : previous_(spdlog::default_logger()), sink_(std::make_shared<CapturingLogSink>()) {
    auto logger = std::make_shared<spdlog::logger>("capture", sink_);
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);
  }
  ~ScopedLogCapture() { spdlog::set_default_logger(previous_); }
  ScopedLogCapture(const ScopedLogCapture&) = delete;
  ScopedLogCapture& operator=(const ScopedLogCapture&) = delete;

  std::vector<LogLine> lines() { return sink_->lines(); }
  // The text of every line logged at `level`.
  std::vector<std::string> At(spdlog::level::level_enum level) {
    std::vector<std::string> texts;
    for (const LogLine& line : sink_->lines()) {
      if (line.level == level) texts.push_back(line.text);
    }
    return texts;
  }
  // The same, one line after another, each ending in a newline: compares with a readable diff.
  std::string Text(spdlog::level::level_enum level) {
    std::string text;
    for (const std::string& line : At(level)) text += line + "\n";
    return text;
  }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::shared_ptr<CapturingLogSink> sink_;
};

}  // namespace llm_exporter::testing
