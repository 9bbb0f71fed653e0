// A hash map from series key to cell, split into shards that each have their own lock, so that
// threads recording different series rarely wait for each other (leveldb's ShardedLRUCache
// pattern: the key is hashed once, the top bits pick the shard).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <functional>
#include <limits>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace llm_exporter::aggregate {

// A key and its hash, so that the hash is computed once per lookup.
struct HashedKey {
  explicit HashedKey(std::string_view k) : key(k), hash(std::hash<std::string_view>{}(k)) {}
  std::string_view key;
  std::size_t hash;
};

enum class UpdateResult { kUpdated, kCreated, kOverLimit };

// Thread-safe: every method may be called from any thread. Update() holds one shard's lock
// while it runs `update`; ForEach() holds each shard's lock in turn while it visits that shard.
template <typename Cell>
class ShardedSeriesMap {
 public:
  static constexpr int kShardBits = 5;
  static constexpr std::size_t kShards = std::size_t{1} << kShardBits;

  // At most `limit` series; Update() refuses to create more.
  explicit ShardedSeriesMap(std::size_t limit = std::numeric_limits<std::size_t>::max())
      : limit_(limit) {}

  // Runs update(cell) on the key's cell, creating it with make() when absent. When creating
  // would exceed the limit nothing runs and kOverLimit is returned.
  template <typename Make, typename Fn>
  UpdateResult Update(const HashedKey& key, Make&& make, Fn&& update) {
    Shard& shard = shards_[ShardOf(key.hash)];
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.map.find(key);
    if (it != shard.map.end()) {
      update(it->second);
      return UpdateResult::kUpdated;
    }
    if (size_.load(std::memory_order_relaxed) >= limit_) return UpdateResult::kOverLimit;
    size_.fetch_add(1, std::memory_order_relaxed);
    it = shard.map.emplace(StoredKey{std::string(key.key), key.hash}, make()).first;
    update(it->second);
    return UpdateResult::kCreated;
  }

  // Like Update() but with no limit: for the overflow series that must always be writable.
  template <typename Make, typename Fn>
  void UpdateUnlimited(const HashedKey& key, Make&& make, Fn&& update) {
    Shard& shard = shards_[ShardOf(key.hash)];
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.map.find(key);
    if (it == shard.map.end()) {
      size_.fetch_add(1, std::memory_order_relaxed);
      it = shard.map.emplace(StoredKey{std::string(key.key), key.hash}, make()).first;
    }
    update(it->second);
  }

  // Calls visit(key, cell) for every series, one shard at a time.
  template <typename Visit>
  void ForEach(Visit&& visit) const {
    for (const Shard& shard : shards_) {
      std::lock_guard<std::mutex> lock(shard.mu);
      for (const auto& [key, cell] : shard.map) visit(std::string_view(key.bytes), cell);
    }
  }

  // Removes every series for which expired(cell) is true; returns how many went.
  template <typename Predicate>
  std::size_t EraseIf(Predicate&& expired) {
    std::size_t erased = 0;
    for (Shard& shard : shards_) {
      std::lock_guard<std::mutex> lock(shard.mu);
      erased += std::erase_if(shard.map, [&](const auto& entry) { return expired(entry.second); });
    }
    size_.fetch_sub(erased, std::memory_order_relaxed);
    return erased;
  }

  std::size_t size() const { return size_.load(std::memory_order_relaxed); }
  std::size_t limit() const { return limit_; }

 private:
  struct StoredKey {
    std::string bytes;
    std::size_t hash;
  };
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(const StoredKey& k) const { return k.hash; }
    std::size_t operator()(const HashedKey& k) const { return k.hash; }
  };
  struct KeyEqual {
    using is_transparent = void;
    bool operator()(const StoredKey& a, const StoredKey& b) const { return a.bytes == b.bytes; }
    bool operator()(const HashedKey& a, const StoredKey& b) const { return a.key == b.bytes; }
    bool operator()(const StoredKey& a, const HashedKey& b) const { return a.bytes == b.key; }
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<StoredKey, Cell, KeyHash, KeyEqual> map;
  };

  static std::size_t ShardOf(std::size_t hash) {
    return hash >> (std::numeric_limits<std::size_t>::digits - kShardBits);
  }

  const std::size_t limit_;
  std::atomic<std::size_t> size_{0};
  std::array<Shard, kShards> shards_;
};

}  // namespace llm_exporter::aggregate
