#include "aggregate/sharded_series_map.h"

#include <doctest/doctest.h>

#include <map>
#include <string>
#include <thread>
#include <vector>

namespace llm_exporter::aggregate {
namespace {

struct Counter {
  uint64_t n = 0;
};

TEST_CASE("ShardedSeriesMap: concurrent updates of shared and distinct keys are all counted") {
  ShardedSeriesMap<Counter> map;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&map, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string key = "k" + std::to_string(i % 100) + (i % 2 ? "" : "-t" + std::to_string(t));
        map.Update(HashedKey(key), [] { return Counter{}; }, [](Counter& c) { ++c.n; });
      }
    });
  }
  for (auto& th : threads) th.join();
  uint64_t total = 0;
  std::map<std::string, uint64_t> seen;
  map.ForEach([&](std::string_view key, const Counter& c) {
    total += c.n;
    seen[std::string(key)] = c.n;
  });
  CHECK(total == uint64_t{kThreads} * kPerThread);
  CHECK(map.size() == seen.size());
  CHECK(map.size() == 50 + 50 * kThreads);  // odd i shared by all threads, even i per thread
  CHECK(seen["k1"] == uint64_t{kThreads} * kPerThread / 100);
}

TEST_CASE("ShardedSeriesMap: the limit refuses new keys but not existing ones") {
  ShardedSeriesMap<Counter> map(2);
  const auto inc = [](Counter& c) { ++c.n; };
  const auto make = [] { return Counter{}; };
  CHECK(map.Update(HashedKey("a"), make, inc) == UpdateResult::kCreated);
  CHECK(map.Update(HashedKey("b"), make, inc) == UpdateResult::kCreated);
  CHECK(map.Update(HashedKey("c"), make, inc) == UpdateResult::kOverLimit);
  CHECK(map.Update(HashedKey("a"), make, inc) == UpdateResult::kUpdated);
  map.UpdateUnlimited(HashedKey("overflow"), make, inc);
  CHECK(map.size() == 3);
  CHECK(map.EraseIf([](const Counter& c) { return c.n == 2; }) == 1);
  CHECK(map.size() == 2);
}

TEST_CASE("ShardedSeriesMap: ForEachIn over every shard visits each series once") {
  ShardedSeriesMap<Counter> map;
  for (int i = 0; i < 500; ++i) {
    std::string key = "k";
    key += std::to_string(i);  // not "k" + ...: a false -Wrestrict from GCC 12 at -O3
    map.Update(HashedKey(key), [] { return Counter{}; },
               [i](Counter& c) { c.n = static_cast<uint64_t>(i); });
  }
  std::map<std::string, uint64_t> seen;
  std::size_t visits = 0, shards_used = 0;
  for (std::size_t shard = 0; shard < ShardedSeriesMap<Counter>::kShards; ++shard) {
    std::size_t here = 0;
    map.ForEachIn(shard, [&](std::string_view key, const Counter& c) {
      seen[std::string(key)] = c.n;
      ++here;
    });
    visits += here;
    if (here > 0) ++shards_used;
  }
  CHECK(visits == 500);
  CHECK(seen.size() == 500);
  CHECK(seen["k123"] == 123);
  CHECK(shards_used == ShardedSeriesMap<Counter>::kShards);  // 500 keys reach all 32 shards
}

TEST_CASE("ShardedSeriesMap: after EraseIf the kept series keep their keys and cells") {
  ShardedSeriesMap<Counter> map;
  const auto make = [] { return Counter{}; };
  std::vector<std::string> keys;
  for (int i = 0; i < 300; ++i) {
    std::string key = "key-";
    key += std::to_string(i);
    key.append(static_cast<std::size_t>(i % 7), 'x');  // keys of different lengths
    keys.push_back(key);
    map.Update(HashedKey(key), make, [i](Counter& c) { c.n = static_cast<uint64_t>(i); });
  }
  CHECK(map.EraseIf([](const Counter& c) { return c.n % 3 == 0; }) == 100);

  std::map<std::string, uint64_t> seen;
  map.ForEach([&](std::string_view key, const Counter& c) { seen[std::string(key)] = c.n; });
  CHECK(seen.size() == 200);
  for (int i = 0; i < 300; ++i) {
    const auto it = seen.find(keys[static_cast<std::size_t>(i)]);
    if (i % 3 == 0) {
      CHECK(it == seen.end());
    } else {
      REQUIRE(it != seen.end());
      CHECK(it->second == static_cast<uint64_t>(i));
    }
  }
  // Lookups still find the kept series, and an erased key comes back as a new series.
  CHECK(map.Update(HashedKey(keys[1]), make, [](Counter& c) { ++c.n; }) == UpdateResult::kUpdated);
  CHECK(map.Update(HashedKey(keys[0]), make, [](Counter& c) { ++c.n; }) == UpdateResult::kCreated);
  seen.clear();
  map.ForEach([&](std::string_view key, const Counter& c) { seen[std::string(key)] = c.n; });
  CHECK(seen.at(keys[1]) == 2);
  CHECK(seen.at(keys[0]) == 1);
  CHECK(map.size() == 201);
}

TEST_CASE("ShardedSeriesMap: keys of one hash are told apart, as the index grows and after "
          "EraseIf") {
  // Every key gets the same hash, so all land in one shard and one probe run of its index.
  const auto same_hash = [](std::string_view key) {
    HashedKey k(key);
    k.hash = 0x123456789abcdefULL;
    return k;
  };
  ShardedSeriesMap<Counter> map;
  const auto make = [] { return Counter{}; };
  std::vector<std::string> keys;
  for (int i = 0; i < 100; ++i) keys.push_back("k" + std::to_string(i));
  for (int round = 1; round <= 2; ++round) {
    for (int i = 0; i < 100; ++i) {
      const UpdateResult result = map.Update(same_hash(keys[static_cast<std::size_t>(i)]), make,
                                             [i](Counter& c) { c.n += static_cast<uint64_t>(i); });
      CHECK(result == (round == 1 ? UpdateResult::kCreated : UpdateResult::kUpdated));
    }
  }
  CHECK(map.size() == 100);
  CHECK(map.EraseIf([](const Counter& c) { return c.n % 4 == 0; }) == 50);  // even i
  for (int i = 0; i < 100; ++i) {
    const UpdateResult result =
        map.Update(same_hash(keys[static_cast<std::size_t>(i)]), make, [](Counter&) {});
    CHECK(result == (i % 2 == 0 ? UpdateResult::kCreated : UpdateResult::kUpdated));
  }
  std::map<std::string, uint64_t> seen;
  map.ForEach([&](std::string_view key, const Counter& c) { seen[std::string(key)] = c.n; });
  REQUIRE(seen.size() == 100);
  for (int i = 0; i < 100; ++i) {
    CHECK(seen.at(keys[static_cast<std::size_t>(i)]) ==
          (i % 2 == 0 ? 0 : 2 * static_cast<uint64_t>(i)));
  }
}

TEST_CASE("ShardedSeriesMap: a key that is a prefix of another is a different series") {
  ShardedSeriesMap<Counter> map;
  const auto make = [] { return Counter{}; };
  const std::string longer = "gpt-4o/chat/success";
  const std::string_view shorter = std::string_view(longer).substr(0, 11);
  map.Update(HashedKey(longer), make, [](Counter& c) { c.n += 1; });
  map.Update(HashedKey(shorter), make, [](Counter& c) { c.n += 10; });
  map.Update(HashedKey(shorter), make, [](Counter& c) { c.n += 10; });
  std::map<std::string, uint64_t> seen;
  map.ForEach([&](std::string_view key, const Counter& c) { seen[std::string(key)] = c.n; });
  CHECK(seen.size() == 2);
  CHECK(seen.at(longer) == 1);
  CHECK(seen.at(std::string(shorter)) == 20);
}

}  // namespace
}  // namespace llm_exporter::aggregate
