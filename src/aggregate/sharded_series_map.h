// A hash map from series key to cell, split into shards that each have their own lock, so that
// threads recording different series rarely wait for each other (leveldb's ShardedLRUCache
// pattern: the key is hashed once, the top bits pick the shard).
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace llm_exporter::aggregate {

// A key and its hash, so that the hash is computed once per lookup. XXH3 is several times faster
// than std::hash on the 20-60 byte keys series have, and its top bits pick the shard.
struct HashedKey {
  explicit HashedKey(std::string_view k) : key(k), hash(XXH3_64bits(k.data(), k.size())) {}
  std::string_view key;
  std::size_t hash;
};

enum class UpdateResult { kUpdated, kCreated, kOverLimit };

// Thread-safe: every method may be called from any thread. Update() holds one shard's lock
// while it runs `update`; ForEach() holds each shard's lock in turn while it visits that shard,
// ForEachIn() the lock of the one shard it visits.
//
// Each shard keeps its series in one vector (key position, hash, cell) and their keys in one
// string, indexed by an open-addressing table of positions. Scrapes walk both front to back,
// which the CPU prefetches well; a node-based map made every series of a 100,000-series scrape
// a cache miss.
// A shard's lock: std::mutex, but tried a few dozen times before it sleeps. Every event takes the
// lock of its series in four families, and the small families (a handful of models) put every
// event of every worker in the same few shards. What the lock guards takes tens of nanoseconds,
// so a worker that waits briefly usually gets it without a futex sleep and the wake-up that the
// holder then pays.
class ShardMutex {
 public:
  void lock() {
    for (int i = 0; i < kTries; ++i) {
      if (mu_.try_lock()) return;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
    mu_.lock();
  }
  bool try_lock() { return mu_.try_lock(); }
  void unlock() { mu_.unlock(); }

 private:
  static constexpr int kTries = 64;
  std::mutex mu_;
};

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
    std::lock_guard<ShardMutex> lock(shard.mu);
    if (Cell* cell = shard.Find(key)) {
      update(*cell);
      return UpdateResult::kUpdated;
    }
    if (size_.load(std::memory_order_relaxed) >= limit_) return UpdateResult::kOverLimit;
    size_.fetch_add(1, std::memory_order_relaxed);
    update(shard.Insert(key, make()));
    return UpdateResult::kCreated;
  }

  // Like Update() but with no limit: for the overflow series that must always be writable.
  template <typename Make, typename Fn>
  void UpdateUnlimited(const HashedKey& key, Make&& make, Fn&& update) {
    Shard& shard = shards_[ShardOf(key.hash)];
    std::lock_guard<ShardMutex> lock(shard.mu);
    Cell* cell = shard.Find(key);
    if (cell == nullptr) {
      size_.fetch_add(1, std::memory_order_relaxed);
      cell = &shard.Insert(key, make());
    }
    update(*cell);
  }

  // Calls visit(key, cell) for every series, one shard at a time, under that shard's lock:
  // writers to the shard wait while it runs, so `visit` should copy, not format (readers take
  // a FamilySnapshot and format that).
  template <typename Visit>
  void ForEach(Visit&& visit) const {
    for (std::size_t shard = 0; shard < kShards; ++shard) ForEachIn(shard, visit);
  }

  // The same for the series of one shard (0 to kShards - 1).
  template <typename Visit>
  void ForEachIn(std::size_t shard, Visit&& visit) const {
    const Shard& s = shards_[shard];
    std::lock_guard<ShardMutex> lock(s.mu);
    for (const Entry& entry : s.entries) visit(s.KeyOf(entry), entry.cell);
  }

  // ForEachIn that first calls ahead(cell) with the cell `distance` places further on, so that
  // `ahead` can have fetched what `visit` will read of it by then (__builtin_prefetch).
  template <typename Ahead, typename Visit>
  void ForEachInLookingAhead(std::size_t shard, std::size_t distance, Ahead&& ahead,
                             Visit&& visit) const {
    const Shard& s = shards_[shard];
    std::lock_guard<ShardMutex> lock(s.mu);
    const std::vector<Entry>& entries = s.entries;
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (i + distance < entries.size()) ahead(entries[i + distance].cell);
      visit(s.KeyOf(entries[i]), entries[i].cell);
    }
  }

  // Removes every series for which expired(cell) is true; returns how many went.
  template <typename Predicate>
  std::size_t EraseIf(Predicate&& expired) {
    return EraseIf(expired, [](std::string_view, const Cell&) {});
  }

  // The same, calling erasing(key, cell) for each series just before it goes.
  template <typename Predicate, typename Erasing>
  std::size_t EraseIf(Predicate&& expired, Erasing&& erasing) {
    std::size_t erased = 0;
    for (Shard& shard : shards_) {
      std::lock_guard<ShardMutex> lock(shard.mu);
      const std::size_t n = std::erase_if(shard.entries, [&](const Entry& entry) {
        if (!expired(entry.cell)) return false;
        erasing(shard.KeyOf(entry), entry.cell);
        return true;
      });
      if (n > 0) shard.Compact();
      erased += n;
    }
    size_.fetch_sub(erased, std::memory_order_relaxed);
    return erased;
  }

  std::size_t size() const { return size_.load(std::memory_order_relaxed); }
  std::size_t limit() const { return limit_; }

 private:
  // A series: where its key lies in its shard's `keys`, the key's hash, and its cell.
  struct Entry {
    std::size_t key_offset;
    uint32_t key_size;  // series keys are a few label values of at most 64 KiB each
    std::size_t hash;
    Cell cell;
  };

  // A shard: its series, their keys, and an index from hash to position in `entries`.
  struct Shard {
    std::string_view KeyOf(const Entry& e) const {
      return std::string_view(keys.data() + e.key_offset, e.key_size);
    }
    Cell* Find(const HashedKey& key) {
      if (slots.empty()) return nullptr;
      const std::size_t mask = slots.size() - 1;
      for (std::size_t i = key.hash & mask;; i = (i + 1) & mask) {
        const uint32_t slot = slots[i];
        if (slot == 0) return nullptr;
        Entry& e = entries[slot - 1];
        // Sizes first, then memcmp: string_view's == went through an out-of-line compare().
        if (e.hash == key.hash && e.key_size == key.key.size() &&
            std::memcmp(keys.data() + e.key_offset, key.key.data(), e.key_size) == 0) {
          return &e.cell;
        }
      }
    }
    Cell& Insert(const HashedKey& key, Cell cell) {
      entries.push_back(Entry{keys.size(), static_cast<uint32_t>(key.key.size()), key.hash,
                              std::move(cell)});
      keys.append(key.key);
      if (entries.size() * 2 > slots.size()) {
        Reindex(std::max<std::size_t>(16, slots.size() * 2));
      } else {
        Place(entries.size() - 1);
      }
      return entries.back().cell;
    }
    // After entries were erased: drops their keys and indexes the rest again.
    void Compact() {
      std::size_t bytes = 0;
      for (const Entry& e : entries) bytes += e.key_size;
      std::string kept;
      kept.reserve(bytes);
      for (Entry& e : entries) {
        const std::string_view key = KeyOf(e);
        e.key_offset = kept.size();
        kept.append(key);
      }
      keys.swap(kept);
      Reindex(entries.empty() ? 0 : std::max<std::size_t>(16, std::bit_ceil(entries.size() * 2)));
    }
    // Rebuilds `slots` with `size` slots (a power of two, at least twice the entries, or 0).
    void Reindex(std::size_t size) {
      slots.assign(size, 0);
      for (std::size_t i = 0; i < entries.size(); ++i) Place(i);
    }
    void Place(std::size_t position) {
      const std::size_t mask = slots.size() - 1;
      std::size_t i = entries[position].hash & mask;
      while (slots[i] != 0) i = (i + 1) & mask;
      slots[i] = static_cast<uint32_t>(position + 1);
    }

    mutable ShardMutex mu;
    // Every key of the shard, back to back in the order of `entries`: a scrape's copy reads both
    // front to back instead of missing the cache on a heap block per key, and a new series
    // allocates nothing of its own (heap per series in bench/render_bench.cpp at 100,000 series:
    // 177 bytes, against 202 with a std::string per key).
    std::string keys;
    std::vector<Entry> entries;
    // Open addressing with linear probing over a power-of-two table kept at most half full:
    // each slot holds a position in `entries` plus one, 0 if empty. Erasing rebuilds it
    // (Compact), so it needs no tombstones. A lookup reads one slot and the entry it names;
    // std::unordered_set read a bucket, a node and the entry after a 64-bit division, and took
    // 40 bytes a series against 8-16 here.
    std::vector<uint32_t> slots;
  };

  static std::size_t ShardOf(std::size_t hash) {
    return hash >> (std::numeric_limits<std::size_t>::digits - kShardBits);
  }

  const std::size_t limit_;
  std::atomic<std::size_t> size_{0};
  std::array<Shard, kShards> shards_;
};

}  // namespace llm_exporter::aggregate
