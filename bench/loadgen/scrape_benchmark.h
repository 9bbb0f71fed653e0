// The end-to-end scrape benchmark: fills a running agent with N distinct llm_cost_usd_total
// series over HTTP, then times GET /metrics and reads the agent's resident memory before and
// after, for the bytes each additional series costs.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace llm_exporter::bench {

struct ScrapeBenchmarkOptions {
  std::string host = "127.0.0.1";
  int port = 9778;
  std::string metrics_path = "/metrics";
  std::size_t series = 100000;
  std::size_t batch = 1000;   // events per POST while filling
  std::size_t repeat = 7;     // timed scrapes
  std::optional<pid_t> agent_pid;  // for RSS; without it no memory figure
  bool quick_ack = false;          // HttpClient's TCP_QUICKACK work-around
};

struct ScrapeBenchmarkResult {
  std::size_t series = 0;
  std::size_t warm_series = 0;  // series present when the "before" RSS was read
  double cost_series_seen = 0;  // llm_exporter_series{family="cost"} after filling
  std::optional<uint64_t> rss_start, rss_warm, rss_filled, rss_after_scrapes;
  std::vector<double> client_seconds;  // GET sent to last byte received, per timed scrape
  std::vector<double> render_seconds;  // the agent's llm_exporter_last_scrape_duration_seconds
  std::size_t bytes = 0;               // response size of the last timed scrape
  std::string error;

  bool ok() const { return error.empty(); }
  // (rss_filled - rss_warm) / (series - warm_series), when both readings exist.
  std::optional<double> BytesPerSeries() const;
};

// Run() once. The agent must start empty and allow at least `series` series per family.
class ScrapeBenchmark {
 public:
  explicit ScrapeBenchmark(ScrapeBenchmarkOptions options) : options_(std::move(options)) {}

  // 1. RSS at start. 2. Post the first tenth of the series and scrape once, so that buffers,
  // pools and the render path are warm; RSS "warm". 3. Post the rest; RSS "filled", read before
  // any scrape sees them. 4. Time `repeat` scrapes; RSS after.
  ScrapeBenchmarkResult Run();

 private:
  ScrapeBenchmarkOptions options_;
};

}  // namespace llm_exporter::bench
