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
  std::map<std::string, uint64_t> requests;
  store.requests().ForEach([&](std::string_view key, const CountCell& cell) {
    const auto [model, endpoint, status] = DecodeSeriesKey<3>(key);
    requests[std::string(model) + "|" + std::string(endpoint)] += cell.count;
  });
  CHECK(requests == std::map<std::string, uint64_t>{
                        {"a|/chat", 1}, {"b|/chat", 1}, {"__overflow__|__overflow__", 2}});
  CHECK(store.OverflowCount(Family::kModel) == 2);
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
