#include "pipeline/proxy_pipeline.h"

#include <doctest/doctest.h>

#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "aggregate/series_store.h"
#include "fakes/fake_clock.h"
#include "pricing/price_catalog.h"

namespace llm_exporter::pipeline {
namespace {

struct ProxyFixture {
  testing::FakeClock clock;
  pricing::PriceCatalog prices{pricing::PriceTable::Default()};
  aggregate::SeriesStore store{aggregate::StoreOptions{}, clock};
  ProxyPipeline pipeline{prices, store};

  // llm_cost_usd_total as "model/user/team" -> pico-dollars.
  std::map<std::string, PicoUsdTotal> Costs() const {
    std::map<std::string, PicoUsdTotal> out;
    store.SnapshotCosts().ForEach([&](const aggregate::CostLabels& l, PicoUsdTotal cost) {
      out[std::string(l.model) + "/" + std::string(l.user_id) + "/" + std::string(l.team_id)] +=
          cost;
    });
    return out;
  }
  // llm_requests_total as "model|endpoint|status" -> count.
  std::map<std::string, uint64_t> Requests() const {
    std::map<std::string, uint64_t> out;
    store.SnapshotRequests().ForEach([&](const aggregate::RequestLabels& l, uint64_t count) {
      out[std::string(l.model) + "|" + std::string(l.endpoint) + "|" + std::string(l.status)] +=
          count;
    });
    return out;
  }
  std::map<std::string, aggregate::UpstreamValue> Upstreams() const {
    std::map<std::string, aggregate::UpstreamValue> out;
    store.SnapshotUpstreams().ForEach(
        [&](const aggregate::UpstreamLabels& l, const aggregate::UpstreamValue& v) {
          out[std::string(l.upstream) + "|" + std::string(l.model)] = v;
        });
    return out;
  }
  // The model family's values by model; their ttft histograms are not kept (they are views into
  // the snapshot).
  std::map<std::string, aggregate::ModelValue> Models() const {
    std::map<std::string, aggregate::ModelValue> out;
    store.SnapshotModels().ForEach(
        [&](const aggregate::ModelLabels& l, const aggregate::ModelValue& v) {
          out[std::string(l.model)] = v;
          out[std::string(l.model)].ttft = {};
        });
    return out;
  }
};

LlmCall Chat(std::string_view model) {
  LlmCall call;
  call.model = model;
  call.endpoint = "/support";
  call.user_id = "alice";
  call.team_id = "search";
  call.input_tokens = 1000;
  call.output_tokens = 500;
  call.latency_seconds = 1.25;
  call.ttft_seconds = 0.25;
  return call;
}

UpstreamObservation Seen(std::string_view upstream, std::string_view model,
                         ProxyOutcome outcome = ProxyOutcome::kOk) {
  UpstreamObservation o;
  o.upstream = upstream;
  o.model = model;
  o.outcome = outcome;
  return o;
}

constexpr std::size_t kProxy = static_cast<std::size_t>(CallSource::kProxy);
constexpr std::size_t kOk = static_cast<std::size_t>(ProxyOutcome::kOk);

TEST_CASE("ProxyPipeline: a metered call is priced and recorded, and its upstream observed") {
  ProxyFixture f;
  UpstreamObservation seen = Seen("openai", "gpt-4o");
  seen.rate_limits.remaining[static_cast<std::size_t>(RateLimitResource::kTokens)] = 29'000;
  f.pipeline.RecordProxied(Chat("gpt-4o"), true, seen);

  // gpt-4o in the default table: 1000 x 0.0025 / 1K + 500 x 0.01 / 1K = 0.0075 USD.
  CHECK(f.Costs() == std::map<std::string, PicoUsdTotal>{{"gpt-4o/alice/search", 7'500'000'000}});
  CHECK(f.Requests() == std::map<std::string, uint64_t>{{"gpt-4o|/support|success", 1}});
  const aggregate::ModelValue model = f.Models().at("gpt-4o");
  CHECK(model.input_tokens == 1000);
  CHECK(model.output_tokens == 500);
  CHECK(model.fallback_priced == 0);
  f.store.SnapshotModels().ForEach(
      [](const aggregate::ModelLabels&, const aggregate::ModelValue& v) {
        CHECK(v.ttft.Count() == 1);
        CHECK(v.ttft.sum == 0.25);
      });
  const auto upstreams = f.Upstreams();
  REQUIRE(upstreams.size() == 1);
  CHECK(upstreams.at("openai|gpt-4o").outcomes[kOk] == 1);
  CHECK(upstreams.at("openai|gpt-4o").rate_limits.remaining ==
        std::array<int64_t, 4>{-1, 29'000, -1, -1});
}

TEST_CASE("ProxyPipeline: cache reads and writes are priced at their rates") {
  ProxyFixture f;
  f.prices.Replace(pricing::PriceTable(
      {{"claude-sonnet-4-20250514",
        {.input_per_1k = 3'000'000'000,
         .output_per_1k = 15'000'000'000,
         .cached_input_per_1k = 300'000'000,
         .cache_write_input_per_1k = 3'750'000'000}}},
      {}));
  LlmCall call = Chat("claude-sonnet-4-20250514");
  call.input_tokens = 1000;  // 700 plain, 200 read from the cache, 100 written to it
  call.cached_input_tokens = 200;
  call.cache_write_input_tokens = 100;
  call.output_tokens = 100;
  f.pipeline.RecordProxied(call, true, Seen("anthropic", "claude-sonnet-4-20250514"));
  // 700 x 3,000,000 + 200 x 300,000 + 100 x 3,750,000 + 100 x 15,000,000 pico-dollars.
  CHECK(f.Costs().at("claude-sonnet-4-20250514/alice/search") ==
        PicoUsdTotal{2'100'000'000} + 60'000'000 + 375'000'000 + 1'500'000'000);
}

TEST_CASE("ProxyPipeline: a model not in the table is priced at the fallback and counted") {
  ProxyFixture f;
  f.pipeline.RecordProxied(Chat("my-finetune"), true, Seen("openai", "my-finetune"));
  // Fallback 0.01 / 0.03 per 1K: 0.01 + 0.015 USD.
  CHECK(f.Costs().at("my-finetune/alice/search") == 25'000'000'000);
  CHECK(f.Models().at("my-finetune").fallback_priced == 1);
}

TEST_CASE("ProxyPipeline: an unmetered request is no call, only an upstream observation") {
  ProxyFixture f;
  UpstreamObservation seen = Seen("openai", "", ProxyOutcome::kClientError);
  seen.client_retry = true;
  f.pipeline.RecordProxied(Chat("gpt-4o"), false, seen);  // GET /v1/models, say
  CHECK(f.store.SeriesCount(aggregate::Family::kRequests) == 0);
  CHECK(f.store.SeriesCount(aggregate::Family::kDuration) == 0);
  CHECK(f.store.SeriesCount(aggregate::Family::kModel) == 0);
  CHECK(f.store.SeriesCount(aggregate::Family::kCost) == 0);
  const auto upstreams = f.Upstreams();
  REQUIRE(upstreams.size() == 1);
  const aggregate::UpstreamValue& v = upstreams.at("openai|");
  CHECK(v.outcomes[static_cast<std::size_t>(ProxyOutcome::kClientError)] == 1);
  CHECK(v.client_retries == 1);
}

TEST_CASE("ProxyPipeline: a stream without usage costs 0 and counts under transport proxy") {
  ProxyFixture f;
  LlmCall call = Chat("gpt-4o");
  call.usage_known = false;
  call.input_tokens = call.output_tokens = 0;
  f.pipeline.RecordProxied(call, true, Seen("openai", "gpt-4o"));
  f.pipeline.RecordProxied(call, true, Seen("openai", "gpt-4o"));
  const aggregate::ModelValue model = f.Models().at("gpt-4o");
  CHECK(model.calls_without_usage[kProxy] == 2);
  for (std::size_t i = 0; i < kCallSourceCount; ++i) {
    if (i != kProxy) CHECK(model.calls_without_usage[i] == 0);
  }
  CHECK(model.input_tokens == 0);
  CHECK(model.fallback_priced == 0);
  CHECK(f.Costs().at("gpt-4o/alice/search") == 0);
  CHECK(f.Requests().at("gpt-4o|/support|success") == 2);
}

TEST_CASE("ProxyPipeline: a price reload prices the calls that follow it") {
  ProxyFixture f;
  f.pipeline.RecordProxied(Chat("gpt-4o"), true, Seen("openai", "gpt-4o"));
  f.prices.Replace(pricing::PriceTable({{"gpt-4o",
                                         {.input_per_1k = 1,
                                          .output_per_1k = 2,
                                          .cached_input_per_1k = std::nullopt,
                                          .cache_write_input_per_1k = std::nullopt}}},
                                       {}));
  f.pipeline.RecordProxied(Chat("gpt-4o"), true, Seen("openai", "gpt-4o"));
  // 7.5e9 under the old table; 1000 x 1/1000 + 500 x 2/1000 = 2 under the new one.
  CHECK(f.Costs().at("gpt-4o/alice/search") == 7'500'000'002);
  CHECK(f.Upstreams().at("openai|gpt-4o").outcomes[kOk] == 2);
}

TEST_CASE("ProxyPipeline: calls recorded from many threads at once are all counted") {
  ProxyFixture f;
  constexpr int kThreads = 4;
  constexpr int kEach = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&f, t] {
      for (int i = 0; i < kEach; ++i) {
        const bool metered = i % 4 != 0;
        f.pipeline.RecordProxied(Chat(t % 2 ? "gpt-4o" : "gpt-4o-mini"), metered,
                                 Seen("openai", t % 2 ? "gpt-4o" : "gpt-4o-mini"));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const auto requests = f.Requests();
  CHECK(requests.at("gpt-4o|/support|success") == 2 * kEach * 3 / 4);
  CHECK(requests.at("gpt-4o-mini|/support|success") == 2 * kEach * 3 / 4);
  // 3000 calls each: gpt-4o at 7.5e9 pico-dollars a call, gpt-4o-mini at 0.00015 + 0.0003 USD.
  CHECK(f.Costs().at("gpt-4o/alice/search") == PicoUsdTotal{3000} * 7'500'000'000);
  CHECK(f.Costs().at("gpt-4o-mini/alice/search") == PicoUsdTotal{3000} * 450'000'000);
  const auto upstreams = f.Upstreams();
  CHECK(upstreams.at("openai|gpt-4o").outcomes[kOk] == 2 * kEach);
  CHECK(upstreams.at("openai|gpt-4o-mini").outcomes[kOk] == 2 * kEach);
}

}  // namespace
}  // namespace llm_exporter::pipeline
