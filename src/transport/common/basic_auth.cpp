#include "transport/common/basic_auth.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace llm_exporter::transport {
namespace {

// Any salt will do: the dummy check only has to cost what a real one costs.
constexpr std::string_view kDummySaltAndHash =
    "ZbM6Ip2tPsYWEk0gxRJb3eH1ib1f1wsxBsVGhmbCgLqLW4fqeYTFe";

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Standard base64 with padding, as RFC 7617 asks for; nullopt on anything else.
std::optional<std::string> DecodeBase64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int v[4];
    int padding = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = text[i + j];
      if (c == '=' && last && j >= 2) {
        v[j] = 0;
        ++padding;
        continue;
      }
      if (padding > 0) return std::nullopt;  // data after '='
      v[j] = Base64Value(c);
      if (v[j] < 0) return std::nullopt;
    }
    const unsigned triple = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out.push_back(static_cast<char>((triple >> 16) & 0xff));
    if (padding < 2) out.push_back(static_cast<char>((triple >> 8) & 0xff));
    if (padding < 1) out.push_back(static_cast<char>(triple & 0xff));
  }
  return out;
}

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

int CostOf(const std::string& hash) { return (hash[4] - '0') * 10 + (hash[5] - '0'); }

}  // namespace

std::optional<BasicCredentials> ParseBasicAuthorization(std::string_view header) {
  constexpr std::string_view kScheme = "basic";
  if (header.size() <= kScheme.size() || !IsSpace(header[kScheme.size()])) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if ((header[i] | 0x20) != kScheme[i]) return std::nullopt;
  }
  header.remove_prefix(kScheme.size());
  while (!header.empty() && IsSpace(header.front())) header.remove_prefix(1);
  while (!header.empty() && IsSpace(header.back())) header.remove_suffix(1);
  std::optional<std::string> decoded = DecodeBase64(header);
  if (!decoded) return std::nullopt;
  const std::size_t colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  BasicCredentials credentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
  if (credentials.password.find('\0') != std::string::npos) return std::nullopt;
  OPENSSL_cleanse(decoded->data(), decoded->size());
  return credentials;
}

BasicAuth::BasicAuth(std::map<std::string, std::string> users, BasicAuthOptions options)
    : users_(std::move(users)), options_(options) {
  int cost = 10;
  if (!users_.empty()) {
    cost = 4;
    for (const auto& [user, hash] : users_) cost = std::max(cost, CostOf(hash));
  }
  dummy_hash_ = "$2b$" + std::string(cost < 10 ? "0" : "") + std::to_string(cost) + "$" +
                std::string(kDummySaltAndHash);
  if (RAND_bytes(cache_secret_.data(), static_cast<int>(cache_secret_.size())) != 1) {
    throw std::runtime_error("basic auth: the system's random number generator failed");
  }
}

BasicAuth::~BasicAuth() { OPENSSL_cleanse(cache_secret_.data(), cache_secret_.size()); }

std::size_t BasicAuth::CacheKeyHash::operator()(const CacheKey& key) const {
  std::size_t h;
  std::memcpy(&h, key.data(), sizeof(h));  // already uniformly distributed
  return h;
}

BasicAuth::CacheKey BasicAuth::KeyFor(const BasicCredentials& credentials) const {
  std::string message;
  message.reserve(credentials.user.size() + 1 + credentials.password.size());
  message.append(credentials.user).push_back('\0');
  message.append(credentials.password);
  CacheKey key{};
  unsigned length = 0;
  HMAC(EVP_sha256(), cache_secret_.data(), static_cast<int>(cache_secret_.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), key.data(),
       &length);
  OPENSSL_cleanse(message.data(), message.size());
  return key;
}

bool BasicAuth::IsCached(const CacheKey& key) const {
  std::lock_guard<std::mutex> lock(cache_mu_);
  return cache_.contains(key);
}

void BasicAuth::Remember(const CacheKey& key) {
  if (options_.cache_capacity == 0) return;
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (!cache_.insert(key).second) return;
  cache_order_.push_back(key);
  while (cache_order_.size() > options_.cache_capacity) {
    cache_.erase(cache_order_.front());
    cache_order_.pop_front();
  }
}

std::size_t BasicAuth::cached() const {
  std::lock_guard<std::mutex> lock(cache_mu_);
  return cache_.size();
}

bool BasicAuth::HashMatches(const std::string& password, const std::string& hash) {
  // crypt_data is 32 KiB: on the heap, zeroed as crypt_rn requires before first use.
  auto data = std::make_unique<crypt_data>();
  hash_slots_.acquire();
  const char* computed = crypt_rn(password.c_str(), hash.c_str(), data.get(), sizeof(*data));
  hash_slots_.release();
  hash_computations_.fetch_add(1, std::memory_order_relaxed);
  bool match = false;
  if (computed != nullptr && std::strlen(computed) == hash.size()) {
    match = CRYPTO_memcmp(computed, hash.data(), hash.size()) == 0;
  }
  OPENSSL_cleanse(data.get(), sizeof(*data));
  return match;
}

AuthResult BasicAuth::Check(std::optional<std::string_view> authorization) {
  if (!authorization) return AuthResult::kMissing;
  std::optional<BasicCredentials> credentials = ParseBasicAuthorization(*authorization);
  if (!credentials) return AuthResult::kMalformed;
  const CacheKey key = KeyFor(*credentials);
  if (IsCached(key)) return AuthResult::kOk;

  const auto user = users_.find(credentials->user);
  const bool known = user != users_.end();
  const bool match = HashMatches(credentials->password, known ? user->second : dummy_hash_);
  OPENSSL_cleanse(credentials->password.data(), credentials->password.size());
  if (!known || !match) return AuthResult::kBadCredentials;
  Remember(key);
  return AuthResult::kOk;
}

}  // namespace llm_exporter::transport
