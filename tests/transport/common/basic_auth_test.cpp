#include "transport/common/basic_auth.h"

#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace llm_exporter::transport {
namespace {

// Made with Python's crypt module (libxcrypt): crypt.crypt(password, "$2b$04$" + salt).
constexpr const char* kAliceHash = "$2b$04$abcdefghijklmnopqrstuujZkTwHUiJ9XdZPwKfcfDo7dMp5DjlTu";
constexpr const char* kAlicePassword = "wonderland";
constexpr const char* kBobHash = "$2y$10$ABCDEFGHIJKLMNOPQRSTUu8kfLPn5QBLBObp.I92j1QXYZAkf7PVG";
constexpr const char* kBobPassword = "builder";
constexpr const char* kCarolHash = "$2a$04$0123456789abcdefghijkeN.BqYUu0Toqj21e6XaEc2u00/cCH3RW";
constexpr const char* kCarolPassword = "pass:word";

std::string Base64(const std::string& in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) v |= static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[v & 63] : '=';
  }
  return out;
}

std::string Header(const std::string& user, const std::string& password) {
  return "Basic " + Base64(user + ":" + password);
}

BasicAuth MakeAuth(BasicAuthOptions options = {}) {
  return BasicAuth({{"alice", kAliceHash}, {"bob", kBobHash}, {"carol", kCarolHash}}, options);
}

TEST_CASE("ParseBasicAuthorization: user and password from Basic base64(user:password)") {
  auto c = ParseBasicAuthorization("Basic " + Base64("alice:wonder:land"));
  REQUIRE(c);
  CHECK(c->user == "alice");
  CHECK(c->password == "wonder:land");  // the first ':' splits; the password may hold more
  c = ParseBasicAuthorization("bAsIc   " + Base64("u:") + "  ");
  REQUIRE(c);
  CHECK(c->user == "u");
  CHECK(c->password.empty());
  c = ParseBasicAuthorization("Basic " + Base64(":p"));
  REQUIRE(c);
  CHECK(c->user.empty());
  CHECK(c->password == "p");
}

TEST_CASE("ParseBasicAuthorization: anything else is malformed") {
  CHECK_FALSE(ParseBasicAuthorization(""));
  CHECK_FALSE(ParseBasicAuthorization("Basic"));
  CHECK_FALSE(ParseBasicAuthorization("Basic "));
  CHECK_FALSE(ParseBasicAuthorization("Bearer " + Base64("alice:wonderland")));
  CHECK_FALSE(ParseBasicAuthorization("Basicx " + Base64("alice:wonderland")));
  CHECK_FALSE(ParseBasicAuthorization("Basic " + Base64("no colon")));
  CHECK_FALSE(ParseBasicAuthorization("Basic YWxpY2U6d29uZGVybGFuZA"));    // padding missing
  CHECK_FALSE(ParseBasicAuthorization("Basic YWxpY2U6d29uZGVybGFuZA=x"));  // data after '='
  CHECK_FALSE(ParseBasicAuthorization("Basic YWxp*2U6d29uZGVybGFuZA=="));  // not base64
  CHECK_FALSE(ParseBasicAuthorization("Basic " + Base64(std::string("a:pw\0x", 6))));
  CHECK(ParseBasicAuthorization("Basic YWxpY2U6d29uZGVybGFuZA==")->password == "wonderland");
}

TEST_CASE("BasicAuth: the right password passes for $2b$, $2y$ and $2a$ hashes") {
  BasicAuth auth = MakeAuth();
  CHECK(auth.Check(Header("alice", kAlicePassword)) == AuthResult::kOk);
  CHECK(auth.Check(Header("bob", kBobPassword)) == AuthResult::kOk);
  CHECK(auth.Check(Header("carol", kCarolPassword)) == AuthResult::kOk);
}

TEST_CASE("BasicAuth: wrong password, unknown user, missing and malformed headers") {
  BasicAuth auth = MakeAuth();
  CHECK(auth.Check(Header("alice", "wonderlanD")) == AuthResult::kBadCredentials);
  CHECK(auth.Check(Header("alice", "")) == AuthResult::kBadCredentials);
  CHECK(auth.Check(Header("Alice", kAlicePassword)) == AuthResult::kBadCredentials);
  CHECK(auth.Check(Header("mallory", kAlicePassword)) == AuthResult::kBadCredentials);
  CHECK(auth.Check(std::nullopt) == AuthResult::kMissing);
  CHECK(auth.Check("Bearer abc") == AuthResult::kMalformed);
  CHECK(auth.Check("Basic !!!!") == AuthResult::kMalformed);
}

TEST_CASE("BasicAuth: an unknown user costs one bcrypt too, so timing does not tell users apart") {
  BasicAuth auth = MakeAuth();
  CHECK(auth.Check(Header("mallory", "x")) == AuthResult::kBadCredentials);
  CHECK(auth.hash_computations() == 1);
  CHECK(auth.Check(Header("alice", "x")) == AuthResult::kBadCredentials);
  CHECK(auth.hash_computations() == 2);
  // Missing and malformed headers name no user: nothing to hide, no bcrypt.
  CHECK(auth.Check(std::nullopt) == AuthResult::kMissing);
  CHECK(auth.Check("Basic ???") == AuthResult::kMalformed);
  CHECK(auth.hash_computations() == 2);
}

TEST_CASE("BasicAuth: a verified pair is cached; failures never are") {
  BasicAuth auth = MakeAuth();
  CHECK(auth.Check(Header("bob", kBobPassword)) == AuthResult::kOk);
  CHECK(auth.hash_computations() == 1);
  for (int i = 0; i < 5; ++i) CHECK(auth.Check(Header("bob", kBobPassword)) == AuthResult::kOk);
  CHECK(auth.hash_computations() == 1);
  CHECK(auth.cached() == 1);

  // The same user with another password is not a hit, and a failure costs bcrypt every time.
  CHECK(auth.Check(Header("bob", "builder ")) == AuthResult::kBadCredentials);
  CHECK(auth.Check(Header("bob", "builder ")) == AuthResult::kBadCredentials);
  CHECK(auth.hash_computations() == 3);
  CHECK(auth.cached() == 1);
}

TEST_CASE("BasicAuth: the cache key separates user from password") {
  // "ali" + NUL + "cewonderland" must not collide with "alice" + NUL + "wonderland".
  BasicAuth auth({{"alice", kAliceHash}, {"ali", kAliceHash}});
  CHECK(auth.Check(Header("alice", kAlicePassword)) == AuthResult::kOk);
  CHECK(auth.Check(Header("ali", std::string("ce") + kAlicePassword)) ==
        AuthResult::kBadCredentials);
  CHECK(auth.hash_computations() == 2);
}

TEST_CASE("BasicAuth: the cache holds at most cache_capacity pairs, forgetting the oldest") {
  BasicAuthOptions options;
  options.cache_capacity = 2;
  BasicAuth auth = MakeAuth(options);
  CHECK(auth.Check(Header("alice", kAlicePassword)) == AuthResult::kOk);
  CHECK(auth.Check(Header("carol", kCarolPassword)) == AuthResult::kOk);
  CHECK(auth.Check(Header("bob", kBobPassword)) == AuthResult::kOk);  // alice is forgotten
  CHECK(auth.cached() == 2);
  CHECK(auth.hash_computations() == 3);
  CHECK(auth.Check(Header("carol", kCarolPassword)) == AuthResult::kOk);
  CHECK(auth.hash_computations() == 3);
  CHECK(auth.Check(Header("alice", kAlicePassword)) == AuthResult::kOk);
  CHECK(auth.hash_computations() == 4);

  options.cache_capacity = 0;
  BasicAuth uncached = MakeAuth(options);
  CHECK(uncached.Check(Header("alice", kAlicePassword)) == AuthResult::kOk);
  CHECK(uncached.Check(Header("alice", kAlicePassword)) == AuthResult::kOk);
  CHECK(uncached.hash_computations() == 2);
  CHECK(uncached.cached() == 0);
}

TEST_CASE("BasicAuth: concurrent checks from many threads agree") {
  BasicAuth auth = MakeAuth();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  std::atomic<int> refused{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const bool right = (i + t) % 2 == 0;
        const AuthResult r =
            auth.Check(Header("alice", right ? kAlicePassword : "nope"));
        (r == AuthResult::kOk ? ok : refused).fetch_add(1);
        CHECK(r == (right ? AuthResult::kOk : AuthResult::kBadCredentials));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(ok.load() == 80);
  CHECK(refused.load() == 80);
  CHECK(auth.cached() == 1);
}

}  // namespace
}  // namespace llm_exporter::transport
