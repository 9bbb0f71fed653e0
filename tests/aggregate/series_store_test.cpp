#include "aggregate/series_store.h"

#include <doctest/doctest.h>

#include <map>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "aggregate/series_key.h"
#include "fakes/fake_clock.h"

namespace llm_exporter::aggregate {
namespace {

using testing::FakeClock;

LlmCall Call(std::string_view model, std::string_view user = "u", std::string_view team = "t") {
  LlmCall call;
  call.model = model;
  call.endpoint = "/chat";
  call.user_id = user;
  call.team_id = team;
  call.input_tokens = 100;
  call.output_tokens = 10;
  call.latency_seconds = 0.75;
  return call;
}

std::map<std::string, PicoUsdTotal> CostsByUser(const SeriesStore& store) {
  std::map<std::string, PicoUsdTotal> costs;
  store.costs().ForEach([&](std::string_view key, const CostCell& cell) {
    const auto [model, user, team] = DecodeSeriesKey<3>(key);
    costs[std::string(model) + "/" + std::string(user) + "/" + std::string(team)] += cell.cost;
  });
  return costs;
}

// llm_requests_total as "model|endpoint|status" -> count.
std::map<std::string, uint64_t> RequestsByKey(const SeriesStore& store) {
  std::map<std::string, uint64_t> requests;
  store.requests().ForEach([&](std::string_view key, const CountCell& cell) {
    const auto [model, endpoint, status] = DecodeSeriesKey<3>(key);
    requests[std::string(model) + "|" + std::string(endpoint) + "|" + std::string(status)] +=
        cell.count;
  });
  return requests;
}

TEST_CASE("SeriesStore: one call updates requests, duration, tokens, ttft, cache and cost") {
  FakeClock clock;
  SeriesStore store({}, clock);
  LlmCall call = Call("gpt-4o");
  call.ttft_seconds = 0.3;
  call.cache = CacheOutcome::kHit;
  store.RecordCall(call, 1234, /*fallback_priced=*/true);
  call.status = "error";
  call.ttft_seconds.reset();
  call.cache = CacheOutcome::kMiss;
  call.latency_seconds = 40;
  store.RecordCall(call, 1000, false);

  std::map<std::string, uint64_t> requests;
  store.requests().ForEach([&](std::string_view key, const CountCell& cell) {
    requests[std::string(DecodeSeriesKey<3>(key)[2])] = cell.count;
  });
  CHECK(requests == std::map<std::string, uint64_t>{{"error", 1}, {"success", 1}});

  int durations = 0;
  store.durations().ForEach([&](std::string_view, const HistogramSeries& cell) {
    ++durations;
    CHECK(cell.histogram.counts == std::vector<uint64_t>{0, 0, 1, 0, 0, 0, 0, 1});
    CHECK(cell.histogram.sum == 40.75);
  });
  CHECK(durations == 1);

  int models = 0;
  store.models().ForEach([&](std::string_view key, const ModelCell& cell) {
    ++models;
    CHECK(DecodeSeriesKey<1>(key)[0] == "gpt-4o");
    CHECK(cell.input_tokens == 200);
    CHECK(cell.output_tokens == 20);
    CHECK(cell.cache_hits == 1);
    CHECK(cell.cache_misses == 1);
    CHECK(cell.fallback_priced == 1);
    CHECK(cell.ttft.Count() == 1);
    CHECK(cell.ttft.counts[2] == 1);  // 0.3 is in (0.25, 0.5]
  });
  CHECK(models == 1);
  CHECK(CostsByUser(store) == std::map<std::string, PicoUsdTotal>{{"gpt-4o/u/t", 2234}});
}

TEST_CASE("SeriesStore: past the series limit new users go to __overflow__ and sums stay exact") {
  FakeClock clock;
  StoreOptions options;
  options.max_series_per_family = 3;
  SeriesStore store(options, clock);
  for (int i = 0; i < 10; ++i) {
    const std::string user = "user" + std::to_string(i);
    store.RecordCall(Call("gpt-4o", user), 100, false);
  }
  const auto costs = CostsByUser(store);
  CHECK(costs.size() == 4);  // three admitted users and the overflow series
  CHECK(costs.at("gpt-4o/__overflow__/__overflow__") == 700);
  PicoUsdTotal total = 0;
  for (const auto& [k, v] : costs) total += v;
  CHECK(total == 1000);
  CHECK(store.OverflowCount(Family::kCost) == 7);
  CHECK(store.SeriesCount(Family::kCost) == 4);
  CHECK(store.OverflowCount(Family::kModel) == 0);
}

TEST_CASE("SeriesStore: a model the model family has no room for is __overflow__ everywhere") {
  FakeClock clock;
  StoreOptions options;
  options.max_series_per_family = 2;
  SeriesStore store(options, clock);
  for (const char* model : {"a", "b", "c", "d"}) store.RecordCall(Call(model), 1, false);
  CHECK(RequestsByKey(store) == std::map<std::string, uint64_t>{
                                    {"a|/chat|success", 1},
                                    {"b|/chat|success", 1},
                                    {"__overflow__|__overflow__|success", 2}});
  CHECK(store.OverflowCount(Family::kModel) == 2);
}

TEST_CASE("SeriesStore: error calls to models past the limit stay status=\"error\"") {
  FakeClock clock;
  StoreOptions options;
  options.max_series_per_family = 2;
  SeriesStore store(options, clock);
  for (const char* model : {"a", "b", "c", "d"}) {
    LlmCall call = Call(model);
    call.status = "error";
    store.RecordCall(call, 1, false);
  }
  // a and b are admitted; c and d are __overflow__ in the model family, so in requests they
  // would make a third series (__overflow__, /chat, error) and go to the overflow series.
  CHECK(RequestsByKey(store) == std::map<std::string, uint64_t>{
                                    {"a|/chat|error", 1},
                                    {"b|/chat|error", 1},
                                    {"__overflow__|__overflow__|error", 2}});
  CHECK(store.OverflowCount(Family::kModel) == 2);
  CHECK(store.OverflowCount(Family::kRequests) == 2);
  CHECK(store.SeriesCount(Family::kRequests) == 3);
}

TEST_CASE("SeriesStore: overflow series of requests keep the admitted model and the status as "
          "success, error or other") {
  FakeClock clock;
  StoreOptions options;
  options.max_series_per_family = 2;
  SeriesStore store(options, clock);
  const auto call = [&](std::string_view endpoint, std::string_view status) {
    LlmCall c = Call("gpt-4o");
    c.endpoint = endpoint;
    c.status = status;
    store.RecordCall(c, 1, false);
  };
  call("/a", "success");
  call("/b", "error");  // the family is full from here on
  call("/c", "error");
  call("/d", "error");
  call("/e", "success");
  call("/f", "timeout");
  call("/g", "Error");
  call("/a", "error");  // a new status on a known endpoint is a new series too
  call("/a", "success");
  CHECK(RequestsByKey(store) == std::map<std::string, uint64_t>{
                                    {"gpt-4o|/a|success", 2},
                                    {"gpt-4o|/b|error", 1},
                                    {"gpt-4o|__overflow__|error", 3},
                                    {"gpt-4o|__overflow__|success", 1},
                                    {"gpt-4o|__overflow__|other", 2}});
  CHECK(store.OverflowCount(Family::kRequests) == 6);
  CHECK(store.SeriesCount(Family::kRequests) == 5);

  // The error rate of gpt-4o summed over its series is exact: 4 errors in 9 calls.
  uint64_t errors = 0, calls = 0;
  store.requests().ForEach([&](std::string_view key, const CountCell& cell) {
    if (DecodeSeriesKey<3>(key)[2] == "error") errors += cell.count;
    calls += cell.count;
  });
  CHECK(errors == 4);
  CHECK(calls == 9);

  // Durations have no status: their overflow keeps only the model.
  std::map<std::string, uint64_t> durations;
  store.durations().ForEach([&](std::string_view key, const HistogramSeries& cell) {
    const auto [model, endpoint] = DecodeSeriesKey<2>(key);
    durations[std::string(model) + "|" + std::string(endpoint)] = cell.histogram.Count();
  });
  CHECK(durations == std::map<std::string, uint64_t>{
                         {"gpt-4o|/a", 3}, {"gpt-4o|/b", 1}, {"gpt-4o|__overflow__", 5}});
}

TEST_CASE("SeriesStore: however many statuses overflow, a model gets at most three overflow "
          "series of requests") {
  FakeClock clock;
  StoreOptions options;
  options.max_series_per_family = 1;
  SeriesStore store(options, clock);
  for (int i = 0; i < 300; ++i) {
    LlmCall call = Call("m");
    const std::string endpoint = "/e" + std::to_string(i);
    const std::string status = i % 3 == 0 ? "success" : i % 3 == 1 ? "error" : "s" + endpoint;
    call.endpoint = endpoint;
    call.status = status;
    store.RecordCall(call, 1, false);
  }
  CHECK(RequestsByKey(store) == std::map<std::string, uint64_t>{
                                    {"m|/e0|success", 1},
                                    {"m|__overflow__|success", 99},
                                    {"m|__overflow__|error", 100},
                                    {"m|__overflow__|other", 100}});
  CHECK(store.SeriesCount(Family::kRequests) == 4);
  CHECK(store.OverflowCount(Family::kRequests) == 299);
}

TEST_CASE("SeriesStore: OverflowStatus keeps success and error and folds everything else") {
  CHECK(OverflowStatus("success") == "success");
  CHECK(OverflowStatus("error") == "error");
  CHECK(OverflowStatus("other") == "other");
  CHECK(OverflowStatus("timeout") == "other");
  CHECK(OverflowStatus("Error") == "other");
  CHECK(OverflowStatus("errors") == "other");
  CHECK(OverflowStatus("") == "other");
}

TEST_CASE("SeriesStore: overflow series of cost and quality replace their other labels") {
  FakeClock clock;
  StoreOptions options;
  options.max_series_per_family = 1;
  SeriesStore store(options, clock);
  store.RecordCall(Call("gpt-4o", "u1", "t1"), 10, false);
  store.RecordCall(Call("gpt-4o", "u2", "t1"), 20, false);
  store.RecordCall(Call("gpt-4o", "u1", "t2"), 30, false);
  CHECK(CostsByUser(store) == std::map<std::string, PicoUsdTotal>{
                                  {"gpt-4o/u1/t1", 10}, {"gpt-4o/__overflow__/__overflow__", 50}});

  QualityScore score;
  score.model = "gpt-4o";
  score.evaluator = "judge";
  score.score = 4;
  store.RecordQuality(score);
  score.evaluator = "human";
  store.RecordQuality(score);
  std::map<std::string, uint64_t> qualities;
  store.qualities().ForEach([&](std::string_view key, const HistogramSeries& cell) {
    const auto [model, evaluator] = DecodeSeriesKey<2>(key);
    qualities[std::string(model) + "/" + std::string(evaluator)] = cell.histogram.Count();
  });
  CHECK(qualities == std::map<std::string, uint64_t>{{"gpt-4o/judge", 1},
                                                     {"__overflow__/__overflow__", 1}});
}

TEST_CASE("SeriesStore: with a TTL, series not updated for that long are dropped") {
  FakeClock clock;
  StoreOptions options;
  options.ttl = std::chrono::minutes(10);
  SeriesStore store(options, clock);
  store.RecordCall(Call("old"), 5, false);
  clock.Advance(std::chrono::minutes(6));
  store.RecordCall(Call("new"), 7, false);
  CHECK(store.Expire() == 0);
  clock.Advance(std::chrono::minutes(5));  // "old" is 11 minutes old, "new" 5
  CHECK(store.Expire() == 4);              // requests, duration, model and cost of "old"
  CHECK(CostsByUser(store) == std::map<std::string, PicoUsdTotal>{{"new/u/t", 7}});
  CHECK(store.ExpiredCount(Family::kCost) == 1);
  CHECK(store.SeriesCount(Family::kModel) == 1);
  store.RecordCall(Call("old"), 5, false);  // comes back from zero, as a counter reset
  CHECK(CostsByUser(store).at("old/u/t") == 5);
}

TEST_CASE("SeriesStore: without a TTL nothing expires") {
  FakeClock clock;
  SeriesStore store({}, clock);
  store.RecordCall(Call("m"), 1, false);
  clock.Advance(std::chrono::hours(24 * 365));
  CHECK(store.Expire() == 0);
  CHECK(store.SeriesCount(Family::kCost) == 1);
}

TEST_CASE("SeriesStore: quality scores land in the configured buckets") {
  FakeClock clock;
  StoreOptions options;
  options.quality_buckets = {0.5, 1};
  SeriesStore store(options, clock);
  QualityScore score;
  score.model = "gpt-4o";
  score.evaluator = "judge";
  for (double s : {0.2, 0.5, 0.9, 7.0}) {
    score.score = s;
    store.RecordQuality(score);
  }
  store.qualities().ForEach([&](std::string_view key, const HistogramSeries& cell) {
    CHECK(DecodeSeriesKey<2>(key)[1] == "judge");
    CHECK(cell.histogram.counts == std::vector<uint64_t>{2, 1, 1});
    CHECK(cell.histogram.sum == doctest::Approx(8.6));
  });
  CHECK(store.SeriesCount(Family::kQuality) == 1);
}

TEST_CASE("SeriesStore: concurrent writers lose nothing") {
  FakeClock clock;
  SeriesStore store({}, clock);
  constexpr int kThreads = 4, kEach = 10000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&store, t] {
      const std::string user = "user" + std::to_string(t);
      for (int i = 0; i < kEach; ++i) store.RecordCall(Call("m", i % 2 ? user : "shared"), 3, false);
    });
  }
  for (auto& th : threads) th.join();
  PicoUsdTotal total = 0;
  for (const auto& [k, v] : CostsByUser(store)) total += v;
  CHECK(total == PicoUsdTotal{3} * kThreads * kEach);
  uint64_t requests = 0;
  store.requests().ForEach([&](std::string_view, const CountCell& c) { requests += c.count; });
  CHECK(requests == uint64_t{kThreads} * kEach);
}

}  // namespace
}  // namespace llm_exporter::aggregate
