// Posts remote write requests to one target with libcurl: the spec's headers, the target's own
// headers, basic auth or a bearer token, TLS with its CA and client certificate, a time-out per
// request. One connection, kept alive from request to request.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "config/remote_write_config.h"

namespace llm_exporter::remote_write {

struct PostResult {
  int status = 0;     // the HTTP status; 0 when no answer came
  std::string error;  // why no answer came, or the start of the body of a non-2xx answer
  std::chrono::milliseconds retry_after{-1};  // a Retry-After header in seconds; -1: none

  bool ok() const { return status >= 200 && status < 300; }
  // 5xx, 429 and no answer are worth another try; any other 4xx is not.
  bool retryable() const { return status == 0 || status == 429 || status >= 500; }
};

// Not thread-safe: one per sending thread.
class HttpSender {
 public:
  explicit HttpSender(const config::RemoteWriteTarget& target);
  ~HttpSender();
  HttpSender(const HttpSender&) = delete;
  HttpSender& operator=(const HttpSender&) = delete;

  PostResult Post(std::string_view body);

 private:
  struct Curl;
  const config::RemoteWriteTarget& target_;
  Curl* curl_;
};

// libcurl's one-time set-up; call before any thread posts (main does).
void InitHttpClient();

}  // namespace llm_exporter::remote_write
