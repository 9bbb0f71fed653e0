#include "transport/common/listen_address.h"

#include <doctest/doctest.h>

namespace llm_exporter::transport {
namespace {

HostPort Parsed(std::string_view address) {
  AddressError error = AddressError::kNone;
  const std::optional<HostPort> parsed = ParseHostPort(address, &error);
  REQUIRE(parsed.has_value());
  CHECK(error == AddressError::kNone);
  return *parsed;
}

AddressError Refused(std::string_view address) {
  AddressError error = AddressError::kNone;
  CHECK_FALSE(ParseHostPort(address, &error).has_value());
  return error;
}

TEST_CASE("ParseHostPort: IPv4, bracketed IPv6, names and every interface") {
  const HostPort v4 = Parsed("127.0.0.1:9778");
  CHECK(v4.host == "127.0.0.1");
  CHECK(v4.port == 9778);
  CHECK_FALSE(v4.bracketed);
  const HostPort v6 = Parsed("[::1]:9125");
  CHECK(v6.host == "::1");
  CHECK(v6.port == 9125);
  CHECK(v6.bracketed);
  CHECK(Parsed("localhost:0").host == "localhost");
  CHECK(Parsed("localhost:0").port == 0);
  const HostPort any = Parsed(":65535");
  CHECK(any.host.empty());
  CHECK(any.port == 65535);
  CHECK(Parsed("[]:1").host.empty());
}

TEST_CASE("ParseHostPort: what is refused, and why") {
  CHECK(Refused("9778") == AddressError::kNotHostPort);
  CHECK(Refused("") == AddressError::kNotHostPort);
  CHECK(Refused("::1:9125") == AddressError::kNotHostPort);  // IPv6 needs brackets
  CHECK(Refused("[::1:9125") == AddressError::kNotHostPort);
  CHECK(Refused("::1]:9125") == AddressError::kNotHostPort);
  CHECK(Refused("127.0.0.1:") == AddressError::kBadPort);
  CHECK(Refused("127.0.0.1:65536") == AddressError::kBadPort);
  CHECK(Refused("127.0.0.1:99999") == AddressError::kBadPort);
  CHECK(Refused("127.0.0.1:http") == AddressError::kBadPort);
  CHECK(Refused("127.0.0.1:-1") == AddressError::kBadPort);
  CHECK(Refused("127.0.0.1:80x") == AddressError::kBadPort);
}

TEST_CASE("JoinHostPort: brackets for IPv6, 0.0.0.0 for every interface") {
  CHECK(JoinHostPort("127.0.0.1", 9778) == "127.0.0.1:9778");
  CHECK(JoinHostPort("::1", 9125) == "[::1]:9125");
  CHECK(JoinHostPort("", 80) == "0.0.0.0:80");
  CHECK(JoinHostPort("localhost", 0) == "localhost:0");
}

TEST_CASE("IsLoopbackHost: only 127.0.0.0/8, localhost and ::1") {
  CHECK(IsLoopbackHost("127.0.0.1"));
  CHECK(IsLoopbackHost("127.3.2.1"));
  CHECK(IsLoopbackHost("localhost"));
  CHECK(IsLoopbackHost("::1"));
  CHECK(IsLoopbackHost("::ffff:127.0.0.1"));
  CHECK_FALSE(IsLoopbackHost(""));
  CHECK_FALSE(IsLoopbackHost("0.0.0.0"));
  CHECK_FALSE(IsLoopbackHost("10.0.0.1"));
  CHECK_FALSE(IsLoopbackHost("::"));
  CHECK_FALSE(IsLoopbackHost("::ffff:10.0.0.1"));
  CHECK_FALSE(IsLoopbackHost("127.example.com"));
}

TEST_CASE("ExposureWarning: loopback is quiet; datagrams have no safeguards to count on") {
  CHECK_FALSE(ExposureWarning(Transport::kUdp, "127.0.0.1", "127.0.0.1:9125", {}));
  CHECK_FALSE(ExposureWarning(Transport::kUdp, "::1", "[::1]:9125", {}));
  CHECK(*ExposureWarning(Transport::kUdp, "0.0.0.0", "0.0.0.0:9125", {}) ==
        "Listening for UDP on a non-loopback address: anyone who can reach 0.0.0.0:9125 can "
        "send events");
  CHECK(ExposureWarning(Transport::kUdp, "10.0.0.1", "10.0.0.1:9125", {true, true}).has_value());
  CHECK_FALSE(ExposureWarning(Transport::kHttp, "", "0.0.0.0:9778", {true, true}));
  CHECK(ExposureWarning(Transport::kHttp, "", "0.0.0.0:9778", {true, false})
            ->find("without basic_auth_users") != std::string::npos);
}

}  // namespace
}  // namespace llm_exporter::transport
