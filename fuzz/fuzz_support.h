// Checks shared by the fuzz targets: UTF-8 validity, and a strict line-by-line parser of the
// Prometheus text format 0.0.4 that the exposition must satisfy whatever the input was.
#pragma once

#include <pthread.h>
#include <simdjson.h>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llm_exporter::fuzz {

// Aborts with a message, so that libFuzzer saves the input that broke an invariant.
[[noreturn]] inline void Fail(std::string_view what, std::string_view detail = {}) {
  std::fprintf(stderr, "INVARIANT BROKEN: %.*s\n", static_cast<int>(what.size()), what.data());
  if (!detail.empty()) {
    std::fprintf(stderr, "  in: %.*s\n",
                 static_cast<int>(std::min<std::size_t>(detail.size(), 400)), detail.data());
  }
  std::abort();
}

inline void Require(bool condition, std::string_view what, std::string_view detail = {}) {
  if (!condition) Fail(what, detail);
}

// A thread with a small stack (256 KiB, where the agent's threads have 8 MiB) that runs the fuzz
// target's work one input at a time, so that recursion whose depth follows the input's nesting
// overflows, and ASan reports it, with the few-kilobyte inputs a fuzzer tries, not only with the
// megabyte ones an attacker would send. One thread for the whole run: creating one per input
// costs more than most inputs take to check.
class SmallStackRunner {
 public:
  SmallStackRunner() {
    constexpr std::size_t kStackBytes = 256 << 10;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, kStackBytes);
    pthread_t thread;
    Require(pthread_create(&thread, &attr, &SmallStackRunner::Loop, this) == 0,
            "pthread_create failed");
    pthread_attr_destroy(&attr);
    pthread_detach(thread);
  }

  // Runs task() on the small-stack thread and waits for it to return.
  void Run(const std::function<void()>& task) {
    std::unique_lock<std::mutex> lock(mu_);
    task_ = &task;
    cv_.notify_all();
    cv_.wait(lock, [&] { return task_ == nullptr; });
  }

 private:
  static void* Loop(void* arg) {
    auto* self = static_cast<SmallStackRunner*>(arg);
    std::unique_lock<std::mutex> lock(self->mu_);
    while (true) {
      self->cv_.wait(lock, [&] { return self->task_ != nullptr; });
      lock.unlock();
      (*self->task_)();
      lock.lock();
      self->task_ = nullptr;
      self->cv_.notify_all();
    }
    return nullptr;
  }

  std::mutex mu_;
  std::condition_variable cv_;
  const std::function<void()>* task_ = nullptr;
};

template <typename Fn>
void RunOnSmallStack(Fn&& fn) {
  static SmallStackRunner* const runner = new SmallStackRunner();  // lives as long as the process
  const std::function<void()> task = [&] { fn(); };
  runner->Run(task);
}

// RFC 3629 UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF), as simdjson checks it.
inline bool IsValidUtf8(std::string_view text) {
  return simdjson::validate_utf8(text.data(), text.size());
}

struct ExpositionLine {
  enum class Kind { kHelp, kType, kSample } kind = Kind::kSample;
  std::string name;
  std::string text;  // HELP: the unescaped help; TYPE: the type
  std::vector<std::pair<std::string, std::string>> labels;  // unescaped values
  std::string value;

  // The unescaped value of label `name`, or nullptr.
  const std::string* Label(std::string_view label_name) const {
    for (const auto& [n, v] : labels) {
      if (n == label_name) return &v;
    }
    return nullptr;
  }
};

inline bool IsNameStart(char c, bool colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
}
inline bool IsNameChar(char c, bool colon) {
  return IsNameStart(c, colon) || (c >= '0' && c <= '9');
}

// Reads a metric (colon = true) or label name at line[*i].
inline bool ReadName(std::string_view line, std::size_t* i, bool colon, std::string* out) {
  const std::size_t start = *i;
  if (*i >= line.size() || !IsNameStart(line[*i], colon)) return false;
  while (*i < line.size() && IsNameChar(line[*i], colon)) ++*i;
  out->assign(line.substr(start, *i - start));
  return true;
}

// A sample value as Prometheus parses it (Go's strconv.ParseFloat, plus the special spellings).
inline bool IsSampleValue(const std::string& value) {
  if (value == "NaN" || value == "+Inf" || value == "-Inf") return true;
  if (value.empty()) return false;
  for (const char c : value) {
    if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-')) {
      return false;
    }
  }
  char* end = nullptr;
  std::strtod(value.c_str(), &end);
  return end == value.c_str() + value.size();
}

// Parses one line (without its '\n') of the text format, strictly: HELP and TYPE comments, and
// samples whose label values use only the escapes \\, \" and \n. Returns an empty string when the
// line is well formed, else what is wrong with it.
inline std::string ParseExpositionLine(std::string_view line, ExpositionLine* out) {
  *out = ExpositionLine{};
  std::size_t i = 0;
  if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
    const bool help = line[2] == 'H';
    out->kind = help ? ExpositionLine::Kind::kHelp : ExpositionLine::Kind::kType;
    i = 7;
    if (!ReadName(line, &i, true, &out->name)) return "bad metric name in comment";
    if (i == line.size()) return help ? "" : "TYPE without a type";
    if (line[i] != ' ') return "no space after the name in a comment";
    ++i;
    if (!help) {
      out->text.assign(line.substr(i));
      const std::string& t = out->text;
      if (t != "counter" && t != "gauge" && t != "histogram" && t != "summary" && t != "untyped") {
        return "unknown TYPE";
      }
      return "";
    }
    for (; i < line.size(); ++i) {
      if (line[i] != '\\') {
        out->text.push_back(line[i]);
        continue;
      }
      if (i + 1 >= line.size()) return "HELP ends in a lone backslash";
      const char e = line[++i];
      if (e == '\\')
        out->text.push_back('\\');
      else if (e == 'n')
        out->text.push_back('\n');
      else
        return "bad escape in HELP";
    }
    return "";
  }
  if (!line.empty() && line[0] == '#') return "a comment that is neither HELP nor TYPE";
  out->kind = ExpositionLine::Kind::kSample;
  if (!ReadName(line, &i, true, &out->name)) return "bad metric name";
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (true) {
      if (i < line.size() && line[i] == '}') {
        ++i;
        break;
      }
      std::string label_name;
      if (!ReadName(line, &i, false, &label_name)) return "bad label name";
      if (line.substr(i, 2) != "=\"") return "label name not followed by =\"";
      i += 2;
      std::string value;
      bool closed = false;
      for (; i < line.size(); ++i) {
        const char c = line[i];
        if (c == '"') {
          closed = true;
          ++i;
          break;
        }
        if (c != '\\') {
          value.push_back(c);
          continue;
        }
        if (i + 1 >= line.size()) return "label value ends in a lone backslash";
        const char e = line[++i];
        if (e == '\\')
          value.push_back('\\');
        else if (e == '"')
          value.push_back('"');
        else if (e == 'n')
          value.push_back('\n');
        else
          return "bad escape in a label value";
      }
      if (!closed) return "unterminated label value";
      for (const auto& [n, v] : out->labels) {
        if (n == label_name) return "label given twice";
      }
      out->labels.emplace_back(std::move(label_name), std::move(value));
      if (i < line.size() && line[i] == ',') {
        ++i;
        continue;
      }
      if (i < line.size() && line[i] == '}') {
        ++i;
        break;
      }
      return "label not followed by , or }";
    }
  }
  if (i >= line.size() || line[i] != ' ') return "no space before the value";
  out->value.assign(line.substr(i + 1));
  if (!IsSampleValue(out->value)) return "bad sample value";
  return "";
}

// Splits `text` on '\n' only (a raw CR or U+2028 inside a label value is legal and is not a
// line end), checks it ends with a newline, and parses every line; aborts on the first bad one.
inline std::vector<ExpositionLine> ParseExposition(std::string_view text) {
  std::vector<ExpositionLine> lines;
  if (text.empty()) return lines;
  Require(text.back() == '\n', "the exposition does not end with a newline");
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    const std::string_view line = text.substr(start, end - start);
    ExpositionLine parsed;
    const std::string problem = ParseExpositionLine(line, &parsed);
    if (!problem.empty()) Fail(problem, line);
    lines.push_back(std::move(parsed));
    start = end + 1;
  }
  return lines;
}

}  // namespace llm_exporter::fuzz
