// A fleet of simulated agents pushing Prometheus remote write to one receiver: each agent has N
// series (a mix of llm_requests_total, llm_request_duration_seconds and llm_cost_usd_total, as
// an agent's snapshot has), labelled instance="agent-<i>:9464", job="llm_exporter", encoded
// round after round by the agent's own RequestEncoder and posted by its HttpSender. Measures
// what the receiver accepts (docs/scale-out.md sizes a receiver with it).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace llm_exporter::bench {

struct RemoteWriteLoadOptions {
  std::string url = "http://127.0.0.1:9090/api/v1/write";
  std::size_t agents = 10;
  std::size_t series = 10000;  // per agent: samples in each of its rounds
  std::size_t threads = 0;     // each with one connection, sharing the agents; 0: one per agent
  // Between the starts of one agent's rounds; 0: as fast as possible. Agents start spread over
  // one interval, as agents started at different times are.
  std::chrono::milliseconds interval{0};
  std::chrono::milliseconds duration{20000};
  std::size_t max_samples_per_send = 2000;
  std::chrono::milliseconds request_timeout{30000};
  std::optional<pid_t> receiver_pid;  // adds the receiver's CPU time and RSS
};

// What the series of one agent are made of (the same for every agent).
struct SeriesMix {
  std::size_t requests = 0;       // llm_requests_total series
  std::size_t histograms = 0;     // llm_request_duration_seconds series
  std::size_t histogram_samples = 0;  // _bucket (le="+Inf" included), _sum and _count of them
  std::size_t costs = 0;          // llm_cost_usd_total series
  std::size_t samples() const { return requests + histogram_samples + costs; }
};

struct RequestFailures {
  uint64_t requests = 0;
  uint64_t samples = 0;
  std::string first_error;  // the receiver's answer (its start), or why there was none
};

struct RemoteWriteLoadResult {
  SeriesMix mix;
  double seconds = 0;           // from the first post until the last answer
  uint64_t samples_accepted = 0;  // in requests answered 2xx
  uint64_t requests_accepted = 0;
  std::map<int, RequestFailures> failures;  // by HTTP status; 0: no answer
  uint64_t rounds = 0;       // complete rounds (one agent's series, all answered 2xx)
  uint64_t late_rounds = 0;  // rounds started a whole interval or more after they were due
  // When every agent had had one round answered: from then on the receiver appends to series
  // it holds; before, it creates them. Unset when the duration ended first.
  std::optional<double> all_series_seconds;
  uint64_t samples_after_all_series = 0;  // accepted from all_series_seconds on
  std::optional<double> receiver_cpu_seconds;
  std::optional<double> receiver_cpu_seconds_after_all_series;
  std::optional<uint64_t> receiver_rss_max;  // sampled every 200 ms
  std::optional<uint64_t> receiver_rss_end;

  uint64_t failed_requests() const;
};

// Run() once; it blocks for the duration (and the requests then in flight).
class RemoteWriteLoad {
 public:
  explicit RemoteWriteLoad(RemoteWriteLoadOptions options) : options_(std::move(options)) {}

  // The mix for `series` samples an agent: a tenth llm_requests_total, a fifth in histograms of
  // the agent's default latency buckets (10 samples each), the rest llm_cost_usd_total.
  static SeriesMix MixFor(std::size_t series);

  RemoteWriteLoadResult Run();

 private:
  RemoteWriteLoadOptions options_;
};

}  // namespace llm_exporter::bench
