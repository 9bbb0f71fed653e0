#include "remote_write/http_sender.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <mutex>
#include <stdexcept>

#include "llm_exporter/version.h"

namespace llm_exporter::remote_write {
namespace {

// What is kept of an error answer's body for the log.
constexpr std::size_t kMaxErrorBody = 256;

std::size_t KeepBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto* body = static_cast<std::string*>(user);
  const std::size_t n = size * count;
  if (body->size() < kMaxErrorBody) body->append(data, std::min(n, kMaxErrorBody - body->size()));
  return n;
}

std::size_t ReadHeader(char* data, std::size_t size, std::size_t count, void* user) {
  auto* retry_after = static_cast<std::chrono::milliseconds*>(user);
  const std::size_t n = size * count;
  std::string_view line(data, n);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size()) {
    std::string lower(line.substr(0, kName.size()));
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower == kName) {
      std::string_view value = line.substr(kName.size());
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
      long long seconds = 0;
      const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
      if (ec == std::errc() && seconds >= 0) *retry_after = std::chrono::seconds(seconds);
    }
  }
  return n;
}

}  // namespace

void InitHttpClient() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct HttpSender::Curl {
  CURL* handle = nullptr;
  curl_slist* headers = nullptr;
  curl_slist* connect_to = nullptr;
  std::string body;  // of the last answer, its start
  std::chrono::milliseconds retry_after{-1};
  char error[CURL_ERROR_SIZE] = {};
};

HttpSender::HttpSender(const config::RemoteWriteTarget& target) : target_(target), curl_(new Curl) {
  InitHttpClient();
  CURL* h = curl_easy_init();
  if (h == nullptr) {
    delete curl_;
    throw std::runtime_error("remote write: libcurl could not start a session");
  }
  curl_->handle = h;
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Encoding: snappy");
  headers = curl_slist_append(headers, "Content-Type: application/x-protobuf");
  headers = curl_slist_append(headers, "X-Prometheus-Remote-Write-Version: 0.1.0");
  // libcurl would add "Expect: 100-continue" to a large body and wait for an answer to it.
  headers = curl_slist_append(headers, "Expect:");
  if (!target.bearer_token.empty()) {
    headers = curl_slist_append(headers, ("Authorization: Bearer " + target.bearer_token).c_str());
  }
  for (const auto& [name, value] : target.headers) {
    headers = curl_slist_append(headers, (name + ": " + value).c_str());
  }
  curl_->headers = headers;
  std::string url = target.url;
  if (target.tls && !target.tls->server_name.empty()) {
    // tls_config.server_name: the request goes to the url's host and port, but names
    // server_name (SNI, the certificate check, Host), as if the url had said it.
    const std::size_t host_at = url.find("://") + 3;
    const std::size_t path_at = std::min(url.find('/', host_at), url.size());
    const std::string authority = url.substr(host_at, path_at - host_at);
    const std::size_t colon = authority.rfind(':');
    const bool has_port = colon != std::string::npos && authority.back() != ']';
    const std::string host = has_port ? authority.substr(0, colon) : authority;
    const std::string port =
        has_port ? authority.substr(colon + 1) : (url.starts_with("https") ? "443" : "80");
    url = url.substr(0, host_at) + target.tls->server_name + ":" + port + url.substr(path_at);
    curl_->connect_to = curl_slist_append(
        nullptr, (target.tls->server_name + ":" + port + ":" + host + ":" + port).c_str());
    curl_easy_setopt(h, CURLOPT_CONNECT_TO, curl_->connect_to);
  }
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "llm_exporter/" LLM_EXPORTER_VERSION_STRING);
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(target.remote_timeout.count()));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min<int64_t>(target.remote_timeout.count(), 10000)));
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_->error);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, KeepBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &curl_->body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, ReadHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &curl_->retry_after);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  if (target.basic_auth_username) {
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(h, CURLOPT_USERNAME, target.basic_auth_username->c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, target.basic_auth_password.c_str());
  }
  if (target.tls) {
    const config::RemoteWriteTls& tls = *target.tls;
    if (!tls.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, tls.ca_file.c_str());
    if (!tls.cert_file.empty()) {
      curl_easy_setopt(h, CURLOPT_SSLCERT, tls.cert_file.c_str());
      curl_easy_setopt(h, CURLOPT_SSLKEY, tls.key_file.c_str());
    }
    if (tls.insecure_skip_verify) {
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
  }
  curl_easy_setopt(h, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
}

HttpSender::~HttpSender() {
  curl_easy_cleanup(curl_->handle);
  curl_slist_free_all(curl_->headers);
  curl_slist_free_all(curl_->connect_to);
  delete curl_;
}

PostResult HttpSender::Post(std::string_view body) {
  CURL* h = curl_->handle;
  curl_->body.clear();
  curl_->retry_after = std::chrono::milliseconds(-1);
  curl_->error[0] = '\0';
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  const CURLcode code = curl_easy_perform(h);
  PostResult result;
  if (code != CURLE_OK) {
    result.error = curl_->error[0] != '\0' ? curl_->error : curl_easy_strerror(code);
    return result;
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  result.status = static_cast<int>(status);
  result.retry_after = curl_->retry_after;
  if (!result.ok()) {
    result.error = curl_->body;
    while (!result.error.empty() && (result.error.back() == '\n' || result.error.back() == '\r')) {
      result.error.pop_back();
    }
  }
  return result;
}

}  // namespace llm_exporter::remote_write
