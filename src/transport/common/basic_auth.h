// HTTP basic auth against bcrypt hashes (the web config's basic_auth_users), checked with
// libxcrypt's crypt_rn, with a cache so that a scraper or an application posting events pays for
// bcrypt once rather than on every request.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <semaphore>
#include <string>
#include <string_view>
#include <unordered_set>

namespace llm_exporter::transport {

enum class AuthResult {
  kOk,
  kMissing,         // no Authorization header
  kMalformed,       // not "Basic base64(user:password)"
  kBadCredentials,  // unknown user or wrong password
};

struct BasicCredentials {
  std::string user;
  std::string password;
};

// Parses an Authorization header value "Basic <base64 of user:password>" (the scheme is
// case-insensitive, RFC 7617). nullopt when it is anything else, when the base64 is invalid, when
// there is no ':' or when the password holds a NUL byte (crypt(3) would stop reading there).
std::optional<BasicCredentials> ParseBasicAuthorization(std::string_view header);

struct BasicAuthOptions {
  // Most (user, password) pairs remembered as verified; the oldest is forgotten first.
  std::size_t cache_capacity = 1024;
};

// Thread-safe: Check() may be called from any number of threads at once. Immutable after
// construction except for the cache (under a mutex) and the statistics (atomics).
//
// Timing: an unknown user costs one bcrypt against a dummy hash of the highest cost configured,
// so a wrong password and an unknown user take the same time; the computed hash is compared with
// CRYPTO_memcmp. Only successes are cached, keyed by HMAC-SHA-256 (with a key drawn at start-up)
// of user NUL password, so the cache holds no password and a cache hit needs the right password.
// At most two bcrypt computations run at once, so a flood of bad passwords cannot take every
// core; requests whose credentials are cached never wait for them.
class BasicAuth {
 public:
  // `users`: user -> bcrypt hash, as config::LoadWebConfig checked them.
  explicit BasicAuth(std::map<std::string, std::string> users, BasicAuthOptions options = {});
  ~BasicAuth();
  BasicAuth(const BasicAuth&) = delete;
  BasicAuth& operator=(const BasicAuth&) = delete;

  // `authorization`: the Authorization header's value, nullopt when the request had none.
  AuthResult Check(std::optional<std::string_view> authorization);

  // bcrypt computations so far (for tests and diagnostics), including the dummy ones.
  std::uint64_t hash_computations() const {
    return hash_computations_.load(std::memory_order_relaxed);
  }
  std::size_t cached() const;

 private:
  using CacheKey = std::array<unsigned char, 32>;
  struct CacheKeyHash {
    std::size_t operator()(const CacheKey& key) const;
  };

  CacheKey KeyFor(const BasicCredentials& credentials) const;
  bool IsCached(const CacheKey& key) const;
  void Remember(const CacheKey& key);
  // crypt_rn(password, hash) == hash, compared in constant time.
  bool HashMatches(const std::string& password, const std::string& hash);

  const std::map<std::string, std::string> users_;
  const BasicAuthOptions options_;
  std::string dummy_hash_;  // what unknown users are checked against
  std::array<unsigned char, 32> cache_secret_{};

  mutable std::mutex cache_mu_;
  std::unordered_set<CacheKey, CacheKeyHash> cache_;
  std::deque<CacheKey> cache_order_;  // oldest first

  std::counting_semaphore<2> hash_slots_{2};
  std::atomic<std::uint64_t> hash_computations_{0};
};

}  // namespace llm_exporter::transport
