#include "aggregate/series_store.h"

#include <doctest/doctest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <map>
#include <span>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

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

// "u" followed by i. (Appending, not "u" + std::to_string(i): GCC 12 at -O3 warns about that
// with a false -Wrestrict.)
std::string User(int i) {
  std::string user = "u";
  user += std::to_string(i);
  return user;
}

std::vector<uint64_t> Vector(std::span<const uint64_t> counts) {
  return {counts.begin(), counts.end()};
}

std::map<std::string, PicoUsdTotal> CostsByUser(const SeriesStore& store) {
  std::map<std::string, PicoUsdTotal> costs;
  store.SnapshotCosts().ForEach([&](const CostLabels& l, PicoUsdTotal cost) {
    costs[std::string(l.model) + "/" + std::string(l.user_id) + "/" + std::string(l.team_id)] +=
        cost;
  });
  return costs;
}

// llm_requests_total as "model|endpoint|status" -> count.
std::map<std::string, uint64_t> RequestsByKey(const SeriesStore& store) {
  std::map<std::string, uint64_t> requests;
  store.SnapshotRequests().ForEach([&](const RequestLabels& l, uint64_t count) {
    requests[std::string(l.model) + "|" + std::string(l.endpoint) + "|" + std::string(l.status)] +=
        count;
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
  store.SnapshotRequests().ForEach([&](const RequestLabels& l, uint64_t count) {
    requests[std::string(l.status)] = count;
  });
  CHECK(requests == std::map<std::string, uint64_t>{{"error", 1}, {"success", 1}});

  int durations = 0;
  store.SnapshotDurations().ForEach([&](const DurationLabels&, const HistogramValue& v) {
    ++durations;
    CHECK(Vector(v.counts) == std::vector<uint64_t>{0, 0, 1, 0, 0, 0, 0, 1});
    CHECK(v.sum == 40.75);
  });
  CHECK(durations == 1);

  int models = 0;
  store.SnapshotModels().ForEach([&](const ModelLabels& l, const ModelValue& v) {
    ++models;
    CHECK(l.model == "gpt-4o");
    CHECK(v.input_tokens == 200);
    CHECK(v.output_tokens == 20);
    CHECK(v.cache_hits == 1);
    CHECK(v.cache_misses == 1);
    CHECK(v.fallback_priced == 1);
    CHECK(v.ttft.Count() == 1);
    CHECK(Vector(v.ttft.counts) == std::vector<uint64_t>{0, 0, 1, 0, 0, 0, 0});  // (0.25, 0.5]
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
  store.SnapshotRequests().ForEach([&](const RequestLabels& l, uint64_t count) {
    if (l.status == "error") errors += count;
    calls += count;
  });
  CHECK(errors == 4);
  CHECK(calls == 9);

  // Durations have no status: their overflow keeps only the model.
  std::map<std::string, uint64_t> durations;
  store.SnapshotDurations().ForEach([&](const DurationLabels& l, const HistogramValue& v) {
    durations[std::string(l.model) + "|" + std::string(l.endpoint)] = v.Count();
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
  store.SnapshotQualities().ForEach([&](const QualityLabels& l, const HistogramValue& v) {
    qualities[std::string(l.model) + "/" + std::string(l.evaluator)] = v.Count();
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
  store.SnapshotQualities().ForEach([&](const QualityLabels& l, const HistogramValue& v) {
    CHECK(l.evaluator == "judge");
    CHECK(Vector(v.counts) == std::vector<uint64_t>{2, 1, 1});
    CHECK(v.sum == doctest::Approx(8.6));
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
  store.SnapshotRequests().ForEach([&](const RequestLabels&, uint64_t count) { requests += count; });
  CHECK(requests == uint64_t{kThreads} * kEach);
}

TEST_CASE("SeriesStore: each family's snapshot names its labels and copies its values") {
  FakeClock clock;
  StoreOptions options;
  options.duration_buckets = {1, 2};
  options.ttft_buckets = {0.5};
  options.quality_buckets = {3};
  SeriesStore store(options, clock);
  LlmCall call = Call("gpt-4o", "alice", "search");
  call.status = "error";
  call.latency_seconds = 1.5;
  call.ttft_seconds = 0.25;
  call.cache = CacheOutcome::kHit;
  store.RecordCall(call, 7, /*fallback_priced=*/true);
  QualityScore score;
  score.model = "claude";
  score.evaluator = "judge";
  score.score = 4;
  store.RecordQuality(score);

  const RequestsSnapshot requests = store.SnapshotRequests();
  CHECK(requests.size() == 1);
  requests.ForEach([](const RequestLabels& l, uint64_t count) {
    CHECK(l.model == "gpt-4o");
    CHECK(l.endpoint == "/chat");
    CHECK(l.status == "error");
    CHECK(count == 1);
  });

  const DurationSnapshot durations = store.SnapshotDurations();
  CHECK(durations.size() == 1);
  durations.ForEach([](const DurationLabels& l, const HistogramValue& v) {
    CHECK(l.model == "gpt-4o");
    CHECK(l.endpoint == "/chat");
    CHECK(Vector(v.counts) == std::vector<uint64_t>{0, 1, 0});
    CHECK(v.sum == 1.5);
  });

  const ModelSnapshot models = store.SnapshotModels();
  CHECK(models.size() == 1);
  models.ForEach([](const ModelLabels& l, const ModelValue& v) {
    CHECK(l.model == "gpt-4o");
    CHECK(v.input_tokens == 100);
    CHECK(v.output_tokens == 10);
    CHECK(v.cache_hits == 1);
    CHECK(v.cache_misses == 0);
    CHECK(v.fallback_priced == 1);
    CHECK(Vector(v.ttft.counts) == std::vector<uint64_t>{1, 0});
    CHECK(v.ttft.sum == 0.25);
  });

  const CostSnapshot costs = store.SnapshotCosts();
  CHECK(costs.size() == 1);
  costs.ForEach([](const CostLabels& l, PicoUsdTotal cost) {
    CHECK(l.model == "gpt-4o");
    CHECK(l.user_id == "alice");
    CHECK(l.team_id == "search");
    CHECK(cost == 7);
  });

  const QualitySnapshot qualities = store.SnapshotQualities();
  CHECK(qualities.size() == 1);
  qualities.ForEach([](const QualityLabels& l, const HistogramValue& v) {
    CHECK(l.model == "claude");
    CHECK(l.evaluator == "judge");
    CHECK(Vector(v.counts) == std::vector<uint64_t>{0, 1});
    CHECK(v.sum == 4);
  });
}

TEST_CASE("SeriesStore: a snapshot is a copy that later events do not change") {
  FakeClock clock;
  SeriesStore store({}, clock);
  store.RecordCall(Call("m", "first"), 5, false);
  const CostSnapshot before = store.SnapshotCosts();
  const ModelSnapshot models_before = store.SnapshotModels();
  for (int i = 0; i < 100; ++i) store.RecordCall(Call("m", User(i)), 5, true);

  CHECK(before.size() == 1);
  before.ForEach([](const CostLabels& l, PicoUsdTotal cost) {
    CHECK(l.user_id == "first");
    CHECK(cost == 5);
  });
  models_before.ForEach([](const ModelLabels&, const ModelValue& v) {
    CHECK(v.input_tokens == 100);
    CHECK(v.fallback_priced == 0);
  });
  CHECK(CostsByUser(store).size() == 101);
}

TEST_CASE("SeriesStore: shard by shard, a snapshot holds the same series as the whole one") {
  FakeClock clock;
  SeriesStore store({}, clock);
  for (int i = 0; i < 1000; ++i) store.RecordCall(Call("m", User(i)), i, false);

  std::map<std::string, PicoUsdTotal> by_shard;
  std::size_t shards = 0, series = 0;
  store.SnapshotCostsByShard([&](const CostSnapshot& shard) {
    ++shards;
    series += shard.size();
    shard.ForEach([&](const CostLabels& l, PicoUsdTotal cost) {
      by_shard[std::string(l.model) + "/" + std::string(l.user_id) + "/" +
               std::string(l.team_id)] = cost;
    });
  });
  CHECK(shards == 32);
  CHECK(series == 1000);
  CHECK(by_shard == CostsByUser(store));
  CHECK(by_shard.at("m/u999/t") == 999);

  uint64_t requests = 0;
  store.SnapshotRequestsByShard([&](const RequestsSnapshot& shard) {
    shard.ForEach([&](const RequestLabels&, uint64_t count) { requests += count; });
  });
  CHECK(requests == 1000);
  uint64_t durations = 0;
  store.SnapshotDurationsByShard([&](const DurationSnapshot& shard) {
    shard.ForEach([&](const DurationLabels&, const HistogramValue& v) { durations += v.Count(); });
  });
  CHECK(durations == 1000);

  QualityScore score;
  score.model = "m";
  for (int i = 0; i < 50; ++i) {
    const std::string evaluator = User(i);  // outlives the call: QualityScore holds views
    score.evaluator = evaluator;
    score.score = 2;
    store.RecordQuality(score);
  }
  std::map<std::string, uint64_t> qualities;
  store.SnapshotQualitiesByShard([&](const QualitySnapshot& shard) {
    shard.ForEach([&](const QualityLabels& l, const HistogramValue& v) {
      qualities[std::string(l.evaluator)] += v.Count();
    });
  });
  CHECK(qualities.size() == 50);
  CHECK(qualities.at("u49") == 1);
  CHECK(store.SnapshotQualities().size() == 50);
}

// The workflow, agent and tool families as "name|status" -> count (for workflows: observations).
std::map<std::string, uint64_t> WorkflowsByKey(const SeriesStore& store) {
  std::map<std::string, uint64_t> out;
  store.SnapshotWorkflows().ForEach([&](const WorkflowLabels& l, const HistogramValue& v) {
    out[std::string(l.workflow) + "|" + std::string(l.status)] += v.Count();
  });
  return out;
}
std::map<std::string, uint64_t> AgentsByKey(const SeriesStore& store) {
  std::map<std::string, uint64_t> out;
  store.SnapshotAgents().ForEach([&](const AgentLabels& l, uint64_t count) {
    out[std::string(l.agent) + "|" + std::string(l.status)] += count;
  });
  return out;
}
std::map<std::string, uint64_t> ToolsByKey(const SeriesStore& store) {
  std::map<std::string, uint64_t> out;
  store.SnapshotTools().ForEach([&](const ToolLabels& l, uint64_t count) {
    out[std::string(l.tool) + "|" + std::string(l.status)] += count;
  });
  return out;
}

TEST_CASE("SeriesStore: the workflow, agent and tool families are named in the self-metrics") {
  CHECK(kFamilyNames[static_cast<std::size_t>(Family::kWorkflow)] == "workflow");
  CHECK(kFamilyNames[static_cast<std::size_t>(Family::kAgent)] == "agent");
  CHECK(kFamilyNames[static_cast<std::size_t>(Family::kTool)] == "tool");
  CHECK(kFamilyNames[static_cast<std::size_t>(Family::kQuality)] == "quality");
  CHECK(kFamilyNames[static_cast<std::size_t>(Family::kUpstream)] == "upstream");
  CHECK(static_cast<std::size_t>(Family::kUpstream) + 1 == kFamilyCount);
}

TEST_CASE("SeriesStore: workflow spans land in the workflow buckets by workflow and status") {
  FakeClock clock;
  SeriesStore store({}, clock);  // buckets 0.5, 1, 2, 5, 10, 30, 60, 120, 300
  CHECK(store.workflow_layout().bounds() ==
        std::vector<double>{0.5, 1, 2, 5, 10, 30, 60, 120, 300});
  for (double seconds : {0.25, 0.5, 3.0, 45.0, 300.0, 301.0}) {
    store.RecordWorkflow("plan_trip", "success", seconds);
  }
  store.RecordWorkflow("plan_trip", "error", 12.5);
  store.RecordWorkflow("summarize", "success", 1.0);

  std::map<std::string, std::pair<std::vector<uint64_t>, double>> got;
  const WorkflowSnapshot snapshot = store.SnapshotWorkflows();
  CHECK(snapshot.size() == 3);
  snapshot.ForEach([&](const WorkflowLabels& l, const HistogramValue& v) {
    got[std::string(l.workflow) + "|" + std::string(l.status)] = {Vector(v.counts), v.sum};
  });
  using Value = std::pair<std::vector<uint64_t>, double>;
  CHECK(got == std::map<std::string, Value>{
                   {"plan_trip|success", {{2, 0, 0, 1, 0, 0, 1, 0, 1, 1}, 649.75}},
                   {"plan_trip|error", {{0, 0, 0, 0, 0, 1, 0, 0, 0, 0}, 12.5}},
                   {"summarize|success", {{0, 1, 0, 0, 0, 0, 0, 0, 0, 0}, 1.0}}});
  CHECK(store.SeriesCount(Family::kWorkflow) == 3);
  CHECK(store.OverflowCount(Family::kWorkflow) == 0);
  // Spans touch their own families only.
  CHECK(store.SeriesCount(Family::kRequests) == 0);
  CHECK(store.SeriesCount(Family::kDuration) == 0);
}

TEST_CASE("SeriesStore: agent invocations and tool calls are counted by name and status") {
  FakeClock clock;
  SeriesStore store({}, clock);
  store.RecordAgentInvocation("researcher", "success");
  store.RecordAgentInvocation("researcher", "success");
  store.RecordAgentInvocation("researcher", "error");
  store.RecordAgentInvocation("writer", "success");
  store.RecordToolCall("web_search", "success");
  store.RecordToolCall("web_search", "error");
  store.RecordToolCall("web_search", "error");
  store.RecordToolCall("calculator", "success");

  CHECK(AgentsByKey(store) == std::map<std::string, uint64_t>{{"researcher|success", 2},
                                                              {"researcher|error", 1},
                                                              {"writer|success", 1}});
  CHECK(ToolsByKey(store) == std::map<std::string, uint64_t>{{"web_search|success", 1},
                                                             {"web_search|error", 2},
                                                             {"calculator|success", 1}});
  CHECK(store.SeriesCount(Family::kAgent) == 3);
  CHECK(store.SeriesCount(Family::kTool) == 3);
  CHECK(store.SeriesCount(Family::kWorkflow) == 0);
  CHECK(store.SeriesCount(Family::kRequests) == 0);
}

TEST_CASE("SeriesStore: past the series limit workflows, agents and tools go to __overflow__ "
          "with the status as success, error or other") {
  FakeClock clock;
  StoreOptions options;
  options.max_series_per_family = 2;
  SeriesStore store(options, clock);
  // The same sequence for each family: a and b fill it, then c (error), d (timeout), a known
  // name with a new status (a new series too), and the known series again.
  const std::vector<std::pair<std::string_view, std::string_view>> spans = {
      {"a", "success"}, {"b", "success"}, {"c", "error"},  {"d", "timeout"},
      {"a", "error"},   {"a", "success"}, {"e", "Error"},  {"f", "success"}};
  for (const auto& [name, status] : spans) {
    store.RecordWorkflow(name, status, 4);
    store.RecordAgentInvocation(name, status);
    store.RecordToolCall(name, status);
  }
  const std::map<std::string, uint64_t> want = {{"a|success", 2},
                                                {"b|success", 1},
                                                {"__overflow__|error", 2},
                                                {"__overflow__|other", 2},
                                                {"__overflow__|success", 1}};
  CHECK(WorkflowsByKey(store) == want);
  CHECK(AgentsByKey(store) == want);
  CHECK(ToolsByKey(store) == want);
  for (const Family family : {Family::kWorkflow, Family::kAgent, Family::kTool}) {
    CAPTURE(kFamilyNames[static_cast<std::size_t>(family)]);
    CHECK(store.OverflowCount(family) == 5);
    CHECK(store.SeriesCount(family) == 5);  // two admitted and three overflow series
  }
  // The sum over the family stays exact: 8 spans, 4 seconds each.
  double sum = 0;
  store.SnapshotWorkflows().ForEach([&](const WorkflowLabels&, const HistogramValue& v) {
    sum += v.sum;
  });
  CHECK(sum == 32);
  CHECK(store.OverflowCount(Family::kRequests) == 0);
}

TEST_CASE("SeriesStore: however many tools and statuses overflow, the tool family gets at most "
          "three overflow series") {
  FakeClock clock;
  StoreOptions options;
  options.max_series_per_family = 1;
  SeriesStore store(options, clock);
  for (int i = 0; i < 300; ++i) {
    const std::string tool = User(i);
    const std::string status = i % 3 == 0 ? "success" : i % 3 == 1 ? "error" : "s" + tool;
    store.RecordToolCall(tool, status);
  }
  CHECK(ToolsByKey(store) == std::map<std::string, uint64_t>{{"u0|success", 1},
                                                             {"__overflow__|success", 99},
                                                             {"__overflow__|error", 100},
                                                             {"__overflow__|other", 100}});
  CHECK(store.SeriesCount(Family::kTool) == 4);
  CHECK(store.OverflowCount(Family::kTool) == 299);
}

TEST_CASE("SeriesStore: with a TTL, idle workflow, agent and tool series are dropped") {
  FakeClock clock;
  StoreOptions options;
  options.ttl = std::chrono::minutes(10);
  SeriesStore store(options, clock);
  store.RecordWorkflow("old", "success", 1);
  store.RecordAgentInvocation("old", "success");
  store.RecordToolCall("old", "error");
  clock.Advance(std::chrono::minutes(6));
  store.RecordWorkflow("new", "success", 2);
  store.RecordAgentInvocation("new", "success");
  store.RecordToolCall("new", "error");
  CHECK(store.Expire() == 0);
  clock.Advance(std::chrono::minutes(5));  // "old" is 11 minutes old, "new" 5
  CHECK(store.Expire() == 3);              // the workflow, agent and tool series of "old"
  CHECK(WorkflowsByKey(store) == std::map<std::string, uint64_t>{{"new|success", 1}});
  CHECK(AgentsByKey(store) == std::map<std::string, uint64_t>{{"new|success", 1}});
  CHECK(ToolsByKey(store) == std::map<std::string, uint64_t>{{"new|error", 1}});
  for (const Family family : {Family::kWorkflow, Family::kAgent, Family::kTool}) {
    CAPTURE(kFamilyNames[static_cast<std::size_t>(family)]);
    CHECK(store.ExpiredCount(family) == 1);
    CHECK(store.SeriesCount(family) == 1);
  }
  CHECK(store.ExpiredCount(Family::kRequests) == 0);
  store.RecordToolCall("old", "error");  // comes back from zero, as a counter reset
  CHECK(ToolsByKey(store).at("old|error") == 1);
}

TEST_CASE("SeriesStore: shard by shard, workflow, agent and tool snapshots hold every series") {
  FakeClock clock;
  SeriesStore store({}, clock);
  for (int i = 0; i < 500; ++i) {
    const std::string name = User(i);  // outlives the calls: the store copies it into its key
    store.RecordWorkflow(name, "success", 1);
    store.RecordAgentInvocation(name, "error");
    store.RecordToolCall(name, "success");
  }
  std::map<std::string, uint64_t> workflows, agents, tools;
  std::size_t shards = 0;
  store.SnapshotWorkflowsByShard([&](const WorkflowSnapshot& shard) {
    ++shards;
    shard.ForEach([&](const WorkflowLabels& l, const HistogramValue& v) {
      workflows[std::string(l.workflow) + "|" + std::string(l.status)] += v.Count();
    });
  });
  store.SnapshotAgentsByShard([&](const AgentSnapshot& shard) {
    shard.ForEach([&](const AgentLabels& l, uint64_t count) {
      agents[std::string(l.agent) + "|" + std::string(l.status)] += count;
    });
  });
  store.SnapshotToolsByShard([&](const ToolSnapshot& shard) {
    shard.ForEach([&](const ToolLabels& l, uint64_t count) {
      tools[std::string(l.tool) + "|" + std::string(l.status)] += count;
    });
  });
  CHECK(shards == 32);
  CHECK(workflows.size() == 500);
  CHECK(workflows == WorkflowsByKey(store));
  CHECK(agents == AgentsByKey(store));
  CHECK(tools == ToolsByKey(store));
  CHECK(agents.at("u499|error") == 1);
}

TEST_CASE("SeriesStore: a model snapshot shows tokens, cache, fallback and ttft of one moment") {
  // Every call adds 1 input token, 2 output tokens, a cache hit, a fallback-priced event and a
  // ttft observation to model "m"; snapshots taken while the calls are recorded must agree.
  FakeClock clock;
  SeriesStore store({}, clock);
  constexpr uint64_t kCalls = 200000;
  std::atomic<uint64_t> recorded{0};
  std::thread writer([&] {
    LlmCall call = Call("m");
    call.input_tokens = 1;
    call.output_tokens = 2;
    call.cache = CacheOutcome::kHit;
    call.ttft_seconds = 0.2;
    for (uint64_t i = 0; i < kCalls; ++i) {
      store.RecordCall(call, 1, /*fallback_priced=*/true);
      recorded.store(i + 1, std::memory_order_release);
    }
  });
  while (recorded.load(std::memory_order_acquire) == 0) std::this_thread::yield();
  int snapshots = 0, disagreements = 0;
  while (recorded.load(std::memory_order_acquire) < kCalls) {
    ++snapshots;
    store.SnapshotModels().ForEach([&](const ModelLabels&, const ModelValue& v) {
      if (v.output_tokens != 2 * v.input_tokens || v.cache_hits != v.input_tokens ||
          v.fallback_priced != v.input_tokens || v.ttft.Count() != v.input_tokens) {
        ++disagreements;
      }
    });
  }
  writer.join();
  CHECK(snapshots > 0);
  CHECK(disagreements == 0);
  uint64_t hits = 0;
  store.SnapshotModels().ForEach([&](const ModelLabels&, const ModelValue& v) {
    hits = v.cache_hits;
  });
  CHECK(hits == kCalls);
}

}  // namespace
}  // namespace llm_exporter::aggregate

namespace llm_exporter::aggregate {
namespace {

TEST_CASE("SeriesStore: native histograms of latency and TTFT only when asked for") {
  FakeClock clock;
  SeriesStore plain({}, clock);
  LlmCall call = Call("gpt-4o");
  call.ttft_seconds = 0.5;
  plain.RecordCall(call, 0, false);
  plain.SnapshotDurations().ForEach([](const DurationLabels&, const HistogramValue& v) {
    CHECK(v.native == nullptr);
  });

  StoreOptions options;
  options.native = NativeHistogramOptions{};
  SeriesStore store(options, clock);
  for (double latency : {0.75, 0.75, 1.0, 4.0}) {
    call.latency_seconds = latency;
    store.RecordCall(call, 0, false);
  }
  int seen = 0;
  store.SnapshotDurations().ForEach([&](const DurationLabels&, const HistogramValue& v) {
    ++seen;
    REQUIRE(v.native != nullptr);
    CHECK(v.native->schema == 3);
    CHECK(v.native->zero_count == 0);
    // 0.75 is in bucket -3 at schema 3 ((2^(-4/8), 2^(-3/8)]), 1.0 in bucket 0, 4.0 in 16.
    REQUIRE(v.native->positive_spans.size() == 2);
    CHECK(v.native->positive_spans[0].offset == -3);
    CHECK(v.native->positive_spans[0].length == 4);  // -3..0, the gap of 2 bridged
    CHECK(v.native->positive_spans[1].offset == 15);
    CHECK(v.native->positive_spans[1].length == 1);
    CHECK(v.native->positive_deltas == std::vector<int64_t>{2, -2, 0, 1, 0});
  });
  CHECK(seen == 1);
  store.SnapshotModels().ForEach([&](const ModelLabels&, const ModelValue& v) {
    REQUIRE(v.ttft.native != nullptr);
    CHECK(v.ttft.native->positive_spans.size() == 1);
    CHECK(v.ttft.native->positive_deltas == std::vector<int64_t>{4});
  });
}


// ---- output speed, token kinds, calls without usage ----

TEST_CASE("SeriesStore: TPOT and output tokens/s are observed only where usage and timings "
          "allow") {
  FakeClock clock;
  SeriesStore store({}, clock);
  LlmCall call = Call("gpt-4o");
  // With a TTFT: 1.0 s generating 41 tokens: TPOT 1.0 / 40, 41 tokens/s.
  call.latency_seconds = 1.5;
  call.ttft_seconds = 0.5;
  call.output_tokens = 41;
  store.RecordCall(call, 0, false);
  // Without one: 100 tokens in 2 s, 50 tokens/s; no TPOT.
  call.ttft_seconds.reset();
  call.latency_seconds = 2;
  call.output_tokens = 100;
  store.RecordCall(call, 0, false);
  // One output token: 1 / 0.5 s = 2 tokens/s, no TPOT (it needs two).
  call.ttft_seconds = 0.25;
  call.latency_seconds = 0.75;
  call.output_tokens = 1;
  store.RecordCall(call, 0, false);
  // Neither: latency not above TTFT; no output tokens; no usage; latency 0 without a TTFT.
  call.latency_seconds = 0.25;
  call.output_tokens = 20;
  store.RecordCall(call, 0, false);
  call.latency_seconds = 1;
  call.output_tokens = 0;
  store.RecordCall(call, 0, false);
  call.usage_known = false;
  store.RecordCall(call, 0, false);
  call.usage_known = true;
  call.ttft_seconds.reset();
  call.latency_seconds = 0;
  call.output_tokens = 7;
  store.RecordCall(call, 0, false);

  const DurationSnapshot durations = store.SnapshotDurations();
  CHECK(durations.size() == 1);
  durations.ForEach([](const DurationLabels& l, const DurationValue& v) {
    CHECK(l.model == "gpt-4o");
    CHECK(l.endpoint == "/chat");
    CHECK(v.Count() == 7);  // every call's latency
    // {0.005,0.01,0.02,0.03,0.05,0.075,0.1,0.25,0.5,1}: 0.025 in (0.02, 0.03].
    CHECK(Vector(v.tpot.counts) == std::vector<uint64_t>{0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0});
    CHECK(v.tpot.sum == 1.0 / 40);
    // {5,10,20,30,50,75,100,150,200,300,500}: 2, 41 and 50.
    CHECK(Vector(v.output_tps.counts) ==
          std::vector<uint64_t>{1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0});
    CHECK(v.output_tps.sum == 93);
  });
}

TEST_CASE("SeriesStore: the output speed buckets are configurable") {
  FakeClock clock;
  StoreOptions options;
  options.tpot_buckets = {0.1};
  options.output_tps_buckets = {10, 100};
  SeriesStore store(options, clock);
  LlmCall call = Call("m");
  call.latency_seconds = 3;
  call.ttft_seconds = 1;
  call.output_tokens = 5;  // 2 s for 4 tokens after the first: 0.5; 2.5 tokens/s
  store.RecordCall(call, 0, false);
  store.SnapshotDurations().ForEach([](const DurationLabels&, const DurationValue& v) {
    CHECK(Vector(v.tpot.counts) == std::vector<uint64_t>{0, 1});
    CHECK(v.tpot.sum == 0.5);
    CHECK(Vector(v.output_tps.counts) == std::vector<uint64_t>{1, 0, 0});
    CHECK(v.output_tps.sum == 2.5);
  });
}

TEST_CASE("SeriesStore: token kinds are summed per model, calls without usage per way in") {
  FakeClock clock;
  SeriesStore store({}, clock);
  LlmCall call = Call("claude");
  call.input_tokens = 1000;
  call.cached_input_tokens = 600;
  call.cache_write_input_tokens = 300;
  call.output_tokens = 500;
  call.reasoning_tokens = 200;
  store.RecordCall(call, 0, false);
  call.cached_input_tokens = 50;
  call.cache_write_input_tokens = 0;
  call.reasoning_tokens = 7;
  store.RecordCall(call, 0, false, CallSource::kOtlp);
  LlmCall unknown = Call("claude");
  unknown.usage_known = false;
  unknown.input_tokens = 0;
  unknown.output_tokens = 0;
  store.RecordCall(unknown, 0, false);  // HTTP, the default
  store.RecordCall(unknown, 0, false, CallSource::kUdp);
  store.RecordCall(unknown, 0, false, CallSource::kUdp);
  store.RecordCall(unknown, 0, false, CallSource::kOtlp);
  LlmCall other = Call("gpt-4o");
  store.RecordCall(other, 0, false, CallSource::kUnix);

  std::map<std::string, ModelValue> by_model;
  store.SnapshotModels().ForEach(
      [&](const ModelLabels& l, const ModelValue& v) { by_model[std::string(l.model)] = v; });
  REQUIRE(by_model.size() == 2);
  const ModelValue& claude = by_model.at("claude");
  CHECK(claude.input_tokens == 2000);
  CHECK(claude.output_tokens == 1000);
  CHECK(claude.cache_read_tokens == 650);
  CHECK(claude.cache_write_tokens == 300);
  CHECK(claude.reasoning_tokens == 207);
  CHECK(claude.calls_without_usage == std::array<uint64_t, kCallSourceCount>{1, 0, 0, 2, 1, 0});
  const ModelValue& gpt = by_model.at("gpt-4o");
  CHECK(gpt.cache_read_tokens == 0);
  CHECK(gpt.cache_write_tokens == 0);
  CHECK(gpt.reasoning_tokens == 0);
  CHECK(gpt.calls_without_usage == std::array<uint64_t, kCallSourceCount>{});
}

TEST_CASE("SeriesStore: a call without usage adds no tokens even if some came with it") {
  FakeClock clock;
  SeriesStore store({}, clock);
  LlmCall call = Call("m");
  call.usage_known = false;
  call.cached_input_tokens = 5;
  store.RecordCall(call, 0, false, CallSource::kUnixgram);
  store.SnapshotModels().ForEach([](const ModelLabels&, const ModelValue& v) {
    CHECK(v.input_tokens == 0);
    CHECK(v.output_tokens == 0);
    CHECK(v.cache_read_tokens == 0);
    CHECK(v.calls_without_usage[static_cast<std::size_t>(CallSource::kUnixgram)] == 1);
  });
}

TEST_CASE("SeriesStore: expired duration and model series keep their new values") {
  FakeClock clock;
  StoreOptions options;
  options.ttl = std::chrono::minutes(5);
  SeriesStore store(options, clock);
  LlmCall call = Call("m");
  call.ttft_seconds = 0.5;
  call.latency_seconds = 1.5;
  call.output_tokens = 11;  // 0.1 s a token, 11 tokens/s
  call.reasoning_tokens = 4;
  store.RecordCall(call, 0, false);
  LlmCall unknown = Call("m");
  unknown.usage_known = false;
  store.RecordCall(unknown, 0, false, CallSource::kOtlp);
  clock.Advance(std::chrono::minutes(6));
  ExpiredSeries expired;
  CHECK(store.Expire(&expired) == 4);
  REQUIRE(expired.durations.size() == 1);
  expired.durations.ForEach([](const DurationLabels&, const DurationValue& v) {
    CHECK(v.tpot.Count() == 1);
    CHECK(v.tpot.sum == 0.1);
    CHECK(v.output_tps.sum == 11);
  });
  REQUIRE(expired.models.size() == 1);
  expired.models.ForEach([](const ModelLabels&, const ModelValue& v) {
    CHECK(v.reasoning_tokens == 4);
    CHECK(v.calls_without_usage[static_cast<std::size_t>(CallSource::kOtlp)] == 1);
  });
}

// ---- label control ----

TEST_CASE("SeriesStore: a dropped label is recorded empty, its series merge and sums stay exact") {
  FakeClock clock;
  StoreOptions options;
  ParseDropLabels("llm_requests_total:endpoint,llm_cost_usd_total:user_id", &options.labels);
  SeriesStore store(options, clock);
  for (int i = 0; i < 6; ++i) {
    LlmCall call = Call("gpt-4o", User(i), i % 2 == 0 ? "a" : "b");
    call.endpoint = i < 3 ? "/chat" : "/embed";
    call.status = i == 5 ? "error" : "success";
    store.RecordCall(call, 100 + i, false);
  }
  CHECK(RequestsByKey(store) ==
        std::map<std::string, uint64_t>{{"gpt-4o||success", 5}, {"gpt-4o||error", 1}});
  CHECK(store.SeriesCount(Family::kRequests) == 2);
  CHECK(CostsByUser(store) ==
        std::map<std::string, PicoUsdTotal>{{"gpt-4o//a", 100 + 102 + 104},
                                            {"gpt-4o//b", 101 + 103 + 105}});
  CHECK(store.SeriesCount(Family::kCost) == 2);
  // The duration family keeps its endpoint: its key is encoded apart from the request key.
  std::map<std::string, uint64_t> durations;
  store.SnapshotDurations().ForEach([&](const DurationLabels& l, const DurationValue& v) {
    durations[std::string(l.model) + "|" + std::string(l.endpoint)] = v.Count();
  });
  CHECK(durations == std::map<std::string, uint64_t>{{"gpt-4o|/chat", 3}, {"gpt-4o|/embed", 3}});
  CHECK(store.dropped_labels(Family::kRequests) == 0b010);
  CHECK(store.dropped_labels(Family::kCost) == 0b010);
  CHECK(store.dropped_labels(Family::kDuration) == 0);
}

TEST_CASE("SeriesStore: the duration family may drop endpoint while requests keep it") {
  FakeClock clock;
  StoreOptions options;
  ParseDropLabels("llm_output_tokens_per_second:endpoint", &options.labels);
  SeriesStore store(options, clock);
  for (const char* endpoint : {"/a", "/b", "/c"}) {
    LlmCall call = Call("m");
    call.endpoint = endpoint;
    call.ttft_seconds = 0.25;
    call.latency_seconds = 0.75;
    call.output_tokens = 11;
    store.RecordCall(call, 1, false);
  }
  CHECK(RequestsByKey(store) == std::map<std::string, uint64_t>{
                                    {"m|/a|success", 1}, {"m|/b|success", 1}, {"m|/c|success", 1}});
  CHECK(store.SeriesCount(Family::kDuration) == 1);
  store.SnapshotDurations().ForEach([](const DurationLabels& l, const DurationValue& v) {
    CHECK(l.endpoint == "");
    CHECK(v.Count() == 3);
    CHECK(v.tpot.Count() == 3);
    CHECK(v.output_tps.sum == 66);
  });
}

TEST_CASE("SeriesStore: requests and duration both dropping endpoint share the key prefix") {
  FakeClock clock;
  StoreOptions options;
  ParseDropLabels("llm_requests_total:endpoint,llm_request_duration_seconds:endpoint,"
                  "llm_requests_total:status",
                  &options.labels);
  SeriesStore store(options, clock);
  for (const char* endpoint : {"/a", "/b"}) {
    LlmCall call = Call("m");
    call.endpoint = endpoint;
    call.status = endpoint[1] == 'a' ? "error" : "success";
    store.RecordCall(call, 1, false);
  }
  CHECK(RequestsByKey(store) == std::map<std::string, uint64_t>{{"m||", 2}});
  CHECK(store.SeriesCount(Family::kDuration) == 1);
  CHECK(store.SeriesCount(Family::kModel) == 1);
}

TEST_CASE("SeriesStore: overflow series of a family with a dropped label leave it empty") {
  FakeClock clock;
  StoreOptions options;
  options.max_series_per_family = 2;
  ParseDropLabels("llm_cost_usd_total:team_id,llm_tool_calls_total:status", &options.labels);
  SeriesStore store(options, clock);
  for (int i = 0; i < 5; ++i) store.RecordCall(Call("m", User(i), User(i)), 10, false);
  CHECK(CostsByUser(store) == std::map<std::string, PicoUsdTotal>{
                                  {"m/u0/", 10}, {"m/u1/", 10}, {"m/__overflow__/", 30}});
  for (int i = 0; i < 5; ++i) store.RecordToolCall(User(i), i == 4 ? "error" : "success");
  std::map<std::string, uint64_t> tools;
  store.SnapshotTools().ForEach([&](const ToolLabels& l, uint64_t count) {
    tools[std::string(l.tool) + "|" + std::string(l.status)] = count;
  });
  CHECK(tools == std::map<std::string, uint64_t>{{"u0|", 1}, {"u1|", 1}, {"__overflow__|", 3}});
}

TEST_CASE("SeriesStore: quality, workflow and agent labels can be dropped") {
  FakeClock clock;
  StoreOptions options;
  ParseDropLabels("llm_quality_score:evaluator,llm_workflow_duration_seconds:workflow,"
                  "llm_workflow_duration_seconds:status,llm_agent_invocations_total:agent",
                  &options.labels);
  SeriesStore store(options, clock);
  QualityScore score;
  score.model = "m";
  for (const char* evaluator : {"judge", "human"}) {
    score.evaluator = evaluator;
    score.score = 3;
    store.RecordQuality(score);
  }
  store.RecordWorkflow("plan", "success", 1);
  store.RecordWorkflow("answer", "error", 2);
  store.RecordAgentInvocation("a", "success");
  store.RecordAgentInvocation("b", "success");
  store.RecordAgentInvocation("b", "error");
  CHECK(store.SeriesCount(Family::kQuality) == 1);
  store.SnapshotQualities().ForEach([](const QualityLabels& l, const HistogramValue& v) {
    CHECK(l.model == "m");
    CHECK(l.evaluator == "");
    CHECK(v.sum == 6);
  });
  CHECK(store.SeriesCount(Family::kWorkflow) == 1);
  store.SnapshotWorkflows().ForEach([](const WorkflowLabels&, const HistogramValue& v) {
    CHECK(v.Count() == 2);
    CHECK(v.sum == 3);
  });
  std::map<std::string, uint64_t> agents;
  store.SnapshotAgents().ForEach([&](const AgentLabels& l, uint64_t count) {
    agents[std::string(l.agent) + "|" + std::string(l.status)] = count;
  });
  CHECK(agents == std::map<std::string, uint64_t>{{"|success", 2}, {"|error", 1}});
}

TEST_CASE("SeriesStore: a family's own series limit overrides the general one") {
  FakeClock clock;
  StoreOptions options;
  options.max_series_per_family = 100;
  ParseMaxSeries("llm_cost_usd_total:3,llm_ttft_seconds:50", &options.labels);
  SeriesStore store(options, clock);
  for (int i = 0; i < 10; ++i) store.RecordCall(Call("gpt-4o", User(i)), 1, false);
  CHECK(store.SeriesCount(Family::kCost) == 4);  // three users and the overflow series
  CHECK(store.OverflowCount(Family::kCost) == 7);
  CHECK(CostsByUser(store).at("gpt-4o/__overflow__/__overflow__") == 7);
  CHECK(store.series_limit(Family::kCost) == 3);
  CHECK(store.series_limit(Family::kModel) == 50);
  CHECK(store.series_limit(Family::kRequests) == 100);
  for (int i = 0; i < 60; ++i) store.RecordCall(Call(User(i)), 1, false);
  CHECK(store.OverflowCount(Family::kModel) == 60 - 49);  // gpt-4o took one place
  CHECK(store.OverflowCount(Family::kRequests) == 0);
}

// ---- the metering proxy's upstream family ----

UpstreamObservation Observed(std::string_view upstream, std::string_view model,
                             ProxyOutcome outcome = ProxyOutcome::kOk) {
  UpstreamObservation observation;
  observation.upstream = upstream;
  observation.model = model;
  observation.outcome = outcome;
  return observation;
}

constexpr std::size_t At(RateLimitResource resource) { return static_cast<std::size_t>(resource); }
constexpr std::size_t At(ProxyOutcome outcome) { return static_cast<std::size_t>(outcome); }

// The upstream family as "upstream|model" -> value.
std::map<std::string, UpstreamValue> UpstreamsByKey(const UpstreamSnapshot& snapshot) {
  std::map<std::string, UpstreamValue> out;
  snapshot.ForEach([&](const UpstreamLabels& l, const UpstreamValue& v) {
    out[std::string(l.upstream) + "|" + std::string(l.model)] = v;
  });
  return out;
}

TEST_CASE("SeriesStore: the upstream family keeps the last rate limits, retries and outcomes") {
  FakeClock clock;
  SeriesStore store({}, clock);
  UpstreamObservation first = Observed("openai", "gpt-4o");
  first.rate_limits.remaining[At(RateLimitResource::kRequests)] = 499;
  first.rate_limits.limit[At(RateLimitResource::kRequests)] = 500;
  first.rate_limits.remaining[At(RateLimitResource::kTokens)] = 29'000;
  first.rate_limits.limit[At(RateLimitResource::kTokens)] = 30'000;
  store.RecordUpstream(first);

  // A later answer reports only the request figures: the token figures stay as they were.
  UpstreamObservation second = Observed("openai", "gpt-4o", ProxyOutcome::kRateLimited);
  second.client_retry = true;
  second.rate_limits.remaining[At(RateLimitResource::kRequests)] = 0;
  second.rate_limits.limit[At(RateLimitResource::kRequests)] = 500;
  store.RecordUpstream(second);
  UpstreamObservation third = Observed("openai", "gpt-4o");
  third.client_retry = true;
  store.RecordUpstream(third);
  // Another model of the same upstream, and the same model through another upstream.
  store.RecordUpstream(Observed("openai", "gpt-4o-mini", ProxyOutcome::kCancelled));
  UpstreamObservation anthropic = Observed("anthropic", "gpt-4o", ProxyOutcome::kUpstreamError);
  anthropic.rate_limits.remaining[At(RateLimitResource::kInputTokens)] = 0;
  store.RecordUpstream(anthropic);

  CHECK(store.SeriesCount(Family::kUpstream) == 3);
  const auto upstreams = UpstreamsByKey(store.SnapshotUpstreams());
  REQUIRE(upstreams.size() == 3);
  const UpstreamValue& gpt = upstreams.at("openai|gpt-4o");
  CHECK(gpt.rate_limits.remaining == std::array<int64_t, 4>{0, 29'000, -1, -1});
  CHECK(gpt.rate_limits.limit == std::array<int64_t, 4>{500, 30'000, -1, -1});
  CHECK(gpt.client_retries == 2);
  CHECK(gpt.outcomes == std::array<uint64_t, kProxyOutcomeCount>{2, 0, 1, 0, 0, 0, 0, 0});
  const UpstreamValue& mini = upstreams.at("openai|gpt-4o-mini");
  CHECK(mini.rate_limits.remaining == std::array<int64_t, 4>{-1, -1, -1, -1});
  CHECK(mini.rate_limits.limit == std::array<int64_t, 4>{-1, -1, -1, -1});
  CHECK(mini.client_retries == 0);
  CHECK(mini.outcomes[At(ProxyOutcome::kCancelled)] == 1);
  const UpstreamValue& other = upstreams.at("anthropic|gpt-4o");
  CHECK(other.rate_limits.remaining == std::array<int64_t, 4>{-1, -1, 0, -1});
  CHECK(other.rate_limits.limit == std::array<int64_t, 4>{-1, -1, -1, -1});
  CHECK(other.outcomes[At(ProxyOutcome::kUpstreamError)] == 1);
  // Nothing of a call: the upstream family is a family of its own.
  CHECK(store.SeriesCount(Family::kRequests) == 0);
  CHECK(store.SeriesCount(Family::kModel) == 0);
}

TEST_CASE("SeriesStore: a snapshot of the upstream family carries its creation time") {
  FakeClock clock;
  SeriesStore store({}, clock);
  store.RecordUpstream(Observed("openai", "gpt-4o"));
  clock.Advance(std::chrono::seconds(30));
  store.RecordUpstream(Observed("openai", "gpt-4o"));
  int seen = 0;
  store.SnapshotUpstreams().ForEach(
      [&](const UpstreamLabels&, const UpstreamValue& v, const SeriesExtras& x) {
        ++seen;
        CHECK(v.outcomes[At(ProxyOutcome::kOk)] == 2);
        CHECK(x.created == 1'800'000'000.0);
        CHECK(x.exemplars.empty());
      });
  CHECK(seen == 1);
}

TEST_CASE("SeriesStore: past the upstream family's own limit new models go to __overflow__ "
          "under their upstream") {
  FakeClock clock;
  StoreOptions options;
  options.max_series_per_family = 100;
  ParseMaxSeries("llm_proxy_requests_total:2", &options.labels);
  SeriesStore store(options, clock);
  CHECK(store.series_limit(Family::kUpstream) == 2);
  CHECK(store.series_limit(Family::kModel) == 100);
  UpstreamObservation limited = Observed("openai", "m1");
  limited.rate_limits.remaining[At(RateLimitResource::kTokens)] = 100;
  store.RecordUpstream(limited);
  store.RecordUpstream(Observed("openai", "m2"));
  UpstreamObservation m3 = Observed("openai", "m3", ProxyOutcome::kTimeout);
  m3.client_retry = true;
  m3.rate_limits.remaining[At(RateLimitResource::kTokens)] = 7;
  store.RecordUpstream(m3);
  store.RecordUpstream(Observed("openai", "m4", ProxyOutcome::kTimeout));
  store.RecordUpstream(Observed("azure", "m1", ProxyOutcome::kUnreachable));
  store.RecordUpstream(Observed("openai", "m1"));  // admitted before: its own series

  CHECK(store.SeriesCount(Family::kUpstream) == 4);  // m1, m2 and two overflow series
  CHECK(store.OverflowCount(Family::kUpstream) == 3);
  const auto upstreams = UpstreamsByKey(store.SnapshotUpstreams());
  CHECK(upstreams.at("openai|m1").outcomes[At(ProxyOutcome::kOk)] == 2);
  CHECK(upstreams.at("openai|m1").rate_limits.remaining[At(RateLimitResource::kTokens)] == 100);
  const UpstreamValue& over = upstreams.at("openai|__overflow__");
  CHECK(over.outcomes[At(ProxyOutcome::kTimeout)] == 2);
  CHECK(over.client_retries == 1);
  CHECK(over.rate_limits.remaining[At(RateLimitResource::kTokens)] == 7);
  CHECK(upstreams.at("azure|__overflow__").outcomes[At(ProxyOutcome::kUnreachable)] == 1);
  // Calls are not limited by it.
  for (int i = 0; i < 5; ++i) store.RecordCall(Call(User(i)), 1, false);
  CHECK(store.OverflowCount(Family::kModel) == 0);
}

TEST_CASE("SeriesStore: any of the four upstream metrics sets the family's limit") {
  for (const char* name : {"llm_ratelimit_remaining", "llm_ratelimit_limit",
                           "llm_proxy_requests_total", "llm_client_retries_total"}) {
    CAPTURE(name);
    StoreOptions options;
    ParseMaxSeries(std::string(name) + ":1", &options.labels);
    FakeClock clock;
    SeriesStore store(options, clock);
    store.RecordUpstream(Observed("openai", "a"));
    store.RecordUpstream(Observed("openai", "b"));
    CHECK(store.SeriesCount(Family::kUpstream) == 2);
    CHECK(store.OverflowCount(Family::kUpstream) == 1);
  }
}

TEST_CASE("SeriesStore: with a TTL, idle upstream series are dropped and handed over as they "
          "were") {
  FakeClock clock;
  StoreOptions options;
  options.ttl = std::chrono::minutes(10);
  SeriesStore store(options, clock);
  UpstreamObservation old = Observed("openai", "old", ProxyOutcome::kClientError);
  old.client_retry = true;
  old.rate_limits.limit[At(RateLimitResource::kOutputTokens)] = 80'000;
  store.RecordUpstream(old);
  clock.Advance(std::chrono::minutes(6));
  store.RecordUpstream(Observed("openai", "new"));
  ExpiredSeries none;
  CHECK(store.Expire(&none) == 0);
  CHECK(none.size() == 0);
  clock.Advance(std::chrono::minutes(5));  // "old" is 11 minutes old, "new" 5

  ExpiredSeries expired;
  CHECK(store.Expire(&expired) == 1);
  CHECK(expired.size() == 1);
  CHECK(store.ExpiredCount(Family::kUpstream) == 1);
  CHECK(store.SeriesCount(Family::kUpstream) == 1);
  const auto gone = UpstreamsByKey(expired.SnapshotUpstreams(false));
  REQUIRE(gone.size() == 1);
  const UpstreamValue& v = gone.at("openai|old");
  CHECK(v.client_retries == 1);
  CHECK(v.outcomes[At(ProxyOutcome::kClientError)] == 1);
  CHECK(v.rate_limits.limit == std::array<int64_t, 4>{-1, -1, -1, 80'000});
  CHECK(UpstreamsByKey(store.SnapshotUpstreams()).count("openai|new") == 1);

  // Back from zero, as a counter reset: the old rate limits are gone with the series.
  store.RecordUpstream(Observed("openai", "old"));
  const UpstreamValue back = UpstreamsByKey(store.SnapshotUpstreams()).at("openai|old");
  CHECK(back.rate_limits.limit == std::array<int64_t, 4>{-1, -1, -1, -1});
  CHECK(back.client_retries == 0);
}

TEST_CASE("SeriesStore: concurrent upstream observations lose nothing") {
  FakeClock clock;
  SeriesStore store({}, clock);
  constexpr int kThreads = 4;
  constexpr int kEach = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&store, t] {
      for (int i = 0; i < kEach; ++i) {
        UpstreamObservation o = Observed("openai", i % 2 ? "a" : "b",
                                         i % 3 ? ProxyOutcome::kOk : ProxyOutcome::kRateLimited);
        o.client_retry = t == 0;
        o.rate_limits.remaining[0] = i;
        store.RecordUpstream(o);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  uint64_t calls = 0;
  uint64_t retries = 0;
  store.SnapshotUpstreams().ForEach([&](const UpstreamLabels&, const UpstreamValue& v) {
    for (const uint64_t n : v.outcomes) calls += n;
    retries += v.client_retries;
    CHECK(v.rate_limits.remaining[0] >= kEach - 2);  // every thread's last is one of the last two
  });
  CHECK(calls == kThreads * kEach);
  CHECK(retries == kEach);
}

}  // namespace
}  // namespace llm_exporter::aggregate
