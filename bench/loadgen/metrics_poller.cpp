#include "loadgen/metrics_poller.h"

#include <cstdlib>
#include <thread>

namespace llm_exporter::bench {
namespace {

// The sample value at the end of a line ("name{labels} value" or "name value").
double ValueOf(std::string_view line) {
  const std::size_t space = line.rfind(' ');
  if (space == std::string_view::npos) return 0;
  const std::string value(line.substr(space + 1));
  return std::strtod(value.c_str(), nullptr);
}

// True when `line` is a sample of metric `name` (followed by '{' or ' ').
bool IsSample(std::string_view line, std::string_view name) {
  return line.size() > name.size() && line.starts_with(name) &&
         (line[name.size()] == '{' || line[name.size()] == ' ');
}

}  // namespace

MetricsSnapshot SummarizeExposition(std::string_view text) {
  MetricsSnapshot s;
  s.bytes = text.size();
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line[0] == '#') continue;
    // Most lines of a large scrape are cost series: skip them on the first bytes.
    if (line.starts_with("llm_cost")) continue;
    if (IsSample(line, "llm_requests_total")) {
      s.requests += ValueOf(line);
    } else if (IsSample(line, "llm_quality_score_count")) {
      s.quality_scores += ValueOf(line);
    } else if (IsSample(line, "llm_exporter_events_accepted_total")) {
      s.accepted += ValueOf(line);
    } else if (IsSample(line, "llm_exporter_events_rejected_total")) {
      s.rejected += ValueOf(line);
    } else if (IsSample(line, "llm_exporter_otlp_spans_received_total")) {
      if (line.find("kind=\"llm_call\"") != std::string_view::npos) s.llm_spans += ValueOf(line);
    } else if (IsSample(line, "llm_exporter_otlp_spans_rejected_total")) {
      s.rejected_spans += ValueOf(line);
    } else if (line.starts_with("llm_exporter_series{family=\"cost\"}")) {
      s.cost_series = ValueOf(line);
    } else if (IsSample(line, "llm_exporter_last_scrape_duration_seconds")) {
      s.last_scrape_seconds = ValueOf(line);
    }
  }
  return s;
}

MetricsPoller::MetricsPoller(std::string host, int port, std::string path, bool quick_ack)
    : client_(std::move(host), port, quick_ack), path_(std::move(path)) {}

bool MetricsPoller::Scrape(MetricsSnapshot* snapshot, std::string* error) {
  const auto start = std::chrono::steady_clock::now();
  if (!client_.Get(path_, &response_, error)) return false;
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  ++scrapes_;
  if (response_.status != 200) {
    *error = path_ + " answered " + std::to_string(response_.status);
    return false;
  }
  *snapshot = SummarizeExposition(response_.body);
  snapshot->seconds = took.count();
  return true;
}

bool MetricsPoller::PollUntil(const std::function<bool(const MetricsSnapshot&)>& done,
                              std::chrono::milliseconds interval,
                              std::chrono::milliseconds timeout, MetricsSnapshot* last,
                              std::string* error) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (!Scrape(last, error)) return false;
    if (done(*last)) return true;
    if (std::chrono::steady_clock::now() >= deadline) {
      *error = "timed out";
      return false;
    }
    std::this_thread::sleep_for(interval);
  }
}

}  // namespace llm_exporter::bench
