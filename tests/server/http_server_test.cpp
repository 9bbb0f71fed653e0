#include "server/http_server.h"

#include <doctest/doctest.h>

#include <stdexcept>

namespace llm_exporter::server {
namespace {

TEST_CASE("CivetwebListeningPort: host:port as civetweb wants it") {
  CHECK(CivetwebListeningPort("127.0.0.1:9778") == "127.0.0.1:9778");
  CHECK(CivetwebListeningPort("localhost:0") == "127.0.0.1:0");
  CHECK(CivetwebListeningPort(":9778") == "9778");
  CHECK_THROWS_WITH_AS(CivetwebListeningPort("9778"),
                       "--web.listen-address \"9778\" must be host:port, e.g. 127.0.0.1:9778",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(CivetwebListeningPort("127.0.0.1:99999"),
                       "--web.listen-address \"127.0.0.1:99999\": port must be a number from 0 to 65535",
                       std::invalid_argument);
  CHECK_THROWS_AS(CivetwebListeningPort("127.0.0.1:http"), std::invalid_argument);
}

TEST_CASE("IsLoopbackHost: only 127.0.0.0/8, localhost and ::1") {
  CHECK(IsLoopbackHost("127.0.0.1:1"));
  CHECK(IsLoopbackHost("127.3.2.1:1"));
  CHECK(IsLoopbackHost("localhost:1"));
  CHECK_FALSE(IsLoopbackHost(":1"));
  CHECK_FALSE(IsLoopbackHost("0.0.0.0:1"));
  CHECK_FALSE(IsLoopbackHost("10.0.0.1:1"));
}

}  // namespace
}  // namespace llm_exporter::server
