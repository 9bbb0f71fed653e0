#include "transport/http/http_server.h"

#include <doctest/doctest.h>

#include <stdexcept>

namespace llm_exporter::transport {
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

TEST_CASE("HttpExposureWarning: quiet on loopback, or with TLS and client authentication") {
  const std::string kHash = "$2y$10$hash";  // only its presence matters here
  config::WebConfig none;
  config::WebConfig tls_only;
  tls_only.tls = config::TlsServerConfig{};
  config::WebConfig auth_only;
  auth_only.basic_auth_users["u"] = kHash;
  config::WebConfig both = tls_only;
  both.basic_auth_users["u"] = kHash;
  config::WebConfig mtls = tls_only;
  mtls.tls->client_auth = config::ClientAuth::kRequireAndVerifyClientCert;

  CHECK_FALSE(HttpExposureWarning("127.0.0.1:9778", "127.0.0.1:9778", nullptr));
  CHECK_FALSE(HttpExposureWarning("localhost:9778", "127.0.0.1:9778", &tls_only));
  CHECK_FALSE(HttpExposureWarning(":9778", "0.0.0.0:9778", &both));
  CHECK_FALSE(HttpExposureWarning("10.0.0.1:9778", "10.0.0.1:9778", &mtls));

  CHECK(*HttpExposureWarning(":9778", "0.0.0.0:9778", nullptr) ==
        "Listening on a non-loopback address without a web config (TLS, basic auth): anyone "
        "who can reach 0.0.0.0:9778 can post events and read metrics (see --web.config.file)");
  CHECK(*HttpExposureWarning(":9778", "0.0.0.0:9778", &none) ==
        *HttpExposureWarning(":9778", "0.0.0.0:9778", nullptr));
  CHECK(HttpExposureWarning(":9778", "0.0.0.0:9778", &tls_only)->find("without basic_auth_users") !=
        std::string::npos);
  CHECK(HttpExposureWarning(":9778", "0.0.0.0:9778", &auth_only)->find("clear text") !=
        std::string::npos);
}

}  // namespace
}  // namespace llm_exporter::transport
