#include "transport/proxy/upstream_pool.h"

#include <curl/curl.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <stdexcept>
#include <utility>

namespace llm_exporter::transport::proxy {
namespace {

using Clock = std::chrono::steady_clock;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' ||
                        s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// One transfer's state, which the callbacks update.
struct TransferState {
  AnswerSink* sink = nullptr;
  int status = 0;
  bool head_done = false;
  bool stopped = false;  // the sink said stop
  std::vector<std::pair<std::string, std::string>> headers;
  Clock::time_point last_activity;
  curl_off_t uploaded = 0;
};

// One line of the answer's head as libcurl hands it over (status line, header, blank line; with
// HTTP/2 libcurl writes the same lines). The blank line after a final status hands the head over.
size_t ReadHeaderLine(TransferState* t, char* data, size_t n) {
  t->last_activity = Clock::now();
  if (t->head_done) return n;  // trailers: not relayed
  const std::string_view raw(data, n);
  std::string_view line = raw;
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.starts_with("HTTP/")) {
    // "HTTP/1.1 200 OK", "HTTP/2 200 ": a new answer begins (after a 1xx, the final one).
    t->headers.clear();
    t->status = 0;
    const std::size_t space = line.find(' ');
    if (space != std::string_view::npos) {
      const std::string_view code = line.substr(space + 1, 3);
      std::from_chars(code.data(), code.data() + code.size(), t->status);
    }
    return n;
  }
  if (line.empty()) {
    if (t->status < 200) return n;  // the end of an informational answer
    t->head_done = true;
    std::vector<HeaderField> fields;
    fields.reserve(t->headers.size());
    for (const auto& [name, value] : t->headers) fields.push_back({name, value});
    const bool go_on = t->sink->OnHead(t->status, fields);
    t->last_activity = Clock::now();
    if (!go_on) {
      t->stopped = true;
      return CURL_WRITEFUNC_ERROR;
    }
    return n;
  }
  if ((line.front() == ' ' || line.front() == '\t') && !t->headers.empty()) {
    // An obsolete folded line continues the header before it.
    t->headers.back().second.append(" ").append(Trim(line));
    return n;
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return n;
  t->headers.emplace_back(std::string(line.substr(0, colon)),
                          std::string(Trim(line.substr(colon + 1))));
  return n;
}

// No exception may cross libcurl's C frames: one from the sink or the header list (an allocation
// failing) stops the transfer as a failed write to the client would.
size_t OnHeaderLine(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<TransferState*>(user);
  try {
    return ReadHeaderLine(t, data, size * count);
  } catch (...) {
    t->stopped = true;
    return CURL_WRITEFUNC_ERROR;
  }
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<TransferState*>(user);
  const size_t n = size * count;
  bool go_on = false;
  try {
    go_on = t->sink->OnBody(std::string_view(data, n));
  } catch (...) {
  }
  // After the write to the client, which blocks while a slow client catches up: the upstream
  // was not idle meanwhile, only held back.
  t->last_activity = Clock::now();
  if (!go_on) {
    t->stopped = true;
    return CURL_WRITEFUNC_ERROR;
  }
  return n;
}

// Upload progress counts as activity for the idle timeout, as answer bytes do.
int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t ulnow) {
  auto* t = static_cast<TransferState*>(user);
  if (ulnow != t->uploaded) {
    t->uploaded = ulnow;
    t->last_activity = Clock::now();
  }
  return 0;
}

TransferEnd EndOf(CURLcode code) {
  switch (code) {
    case CURLE_OK:
      return TransferEnd::kComplete;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
      return TransferEnd::kConnectFailed;
    case CURLE_OPERATION_TIMEDOUT:
      // The only timeout libcurl is given is the connect timeout; the idle one is the loop's.
      return TransferEnd::kConnectTimeout;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_USE_SSL_FAILED:
      return TransferEnd::kTlsFailed;
    default:
      return TransferEnd::kBroken;
  }
}

// What the client's socket says while the upstream is waited on.
enum class ClientState { kWaiting, kGone, kSending };

ClientState CheckClient(int fd) {
  pollfd p{fd, static_cast<short>(POLLIN | POLLRDHUP), 0};
  if (poll(&p, 1, 0) <= 0) return ClientState::kWaiting;
  // The client shut its side (FIN), reset the connection or the socket failed: an HTTP client
  // waiting for its answer does none of these.
  if ((p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0) return ClientState::kGone;
  char byte;
  const ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return ClientState::kGone;
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? ClientState::kWaiting
                                                            : ClientState::kGone;
  // Bytes from a client still waiting (a pipelined request, a TLS record): they are civetweb's
  // to read, and would keep the socket readable, so the socket is not watched any more; a
  // failed write still tells a hang-up.
  return ClientState::kSending;
}

}  // namespace

void InitCurl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct UpstreamPool::Session {
  CURLM* multi = nullptr;
  CURL* easy = nullptr;
  char error[CURL_ERROR_SIZE] = {};

  Session() : multi(curl_multi_init()), easy(curl_easy_init()) {
    if (multi == nullptr || easy == nullptr) {
      Close();
      throw std::runtime_error("libcurl could not start a session");
    }
  }
  ~Session() { Close(); }
  void Close() {
    // The multi handle holds the connection: cleaning it up closes it.
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (multi != nullptr) curl_multi_cleanup(multi);
    easy = nullptr;
    multi = nullptr;
  }
};

UpstreamPool::UpstreamPool(const config::Upstream& upstream, std::size_t max_idle)
    : upstream_(upstream), max_idle_(max_idle) {
  InitCurl();
}

UpstreamPool::~UpstreamPool() = default;

std::size_t UpstreamPool::idle_sessions() const {
  std::lock_guard<std::mutex> lock(mu_);
  return idle_.size();
}

std::unique_ptr<UpstreamPool::Session> UpstreamPool::Acquire() {
  std::unique_ptr<Session> session;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      session = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  if (!session) session = std::make_unique<Session>();
  std::lock_guard<std::mutex> lock(mu_);
  active_.insert(session.get());
  return session;
}

void UpstreamPool::Release(std::unique_ptr<Session> session, bool reusable) {
  std::unique_ptr<Session> closing;
  {
    std::lock_guard<std::mutex> lock(mu_);
    active_.erase(session.get());
    if (reusable && !shutdown_.load() && idle_.size() < max_idle_) {
      idle_.push_back(std::move(session));
    } else {
      closing = std::move(session);
    }
  }
  // Closed outside the lock: closing a TLS connection writes to it.
}

void UpstreamPool::Shutdown() {
  shutdown_.store(true);
  std::vector<std::unique_ptr<Session>> idle;
  std::lock_guard<std::mutex> lock(mu_);
  // curl_multi_wakeup() is the one libcurl call that may be made from another thread.
  for (Session* session : active_) curl_multi_wakeup(session->multi);
  idle.swap(idle_);
}

TransferResult UpstreamPool::Transfer(const UpstreamRequest& request, AnswerSink& sink,
                                      int client_fd) {
  TransferResult result;
  if (shutdown_.load()) {
    result.end = TransferEnd::kShutdown;
    return result;
  }
  std::unique_ptr<Session> session;
  try {
    session = Acquire();
  } catch (const std::exception& e) {
    result.end = TransferEnd::kBroken;
    result.error = e.what();
    return result;
  }
  CURL* h = session->easy;
  // Options are set afresh for each request; the connection stays in the multi handle.
  curl_easy_reset(h);
  curl_slist* headers = nullptr;
  for (const std::string& line : request.headers) headers = curl_slist_append(headers, line.c_str());

  TransferState t;
  t.sink = &sink;
  t.last_activity = Clock::now();
  session->error[0] = '\0';
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  // Never through another proxy named by the environment (http_proxy, ...).
  curl_easy_setopt(h, CURLOPT_PROXY, "");
  // The client's path as it sent it: libcurl would otherwise resolve "." and ".." segments.
  curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(h, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(upstream_.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, session->error);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeaderLine);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  if (upstream_.tls) {
    if (!upstream_.tls->ca_file.empty()) {
      curl_easy_setopt(h, CURLOPT_CAINFO, upstream_.tls->ca_file.c_str());
    }
    if (upstream_.tls->insecure_skip_verify) {
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
  }
  const std::string method(request.method);
  if (method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (method == "POST" && request.send_body) {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
  } else {
    if (method != "GET") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
    if (!request.send_body) curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  }
  if (request.send_body) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
  }

  // The transfer runs here, on the request's own thread: libcurl's multi interface with one
  // transfer, so that the wait can also watch the client's socket (curl_multi_poll's extra
  // descriptor). The idle timeout is kept here too, rather than by libcurl's low-speed limit,
  // which counts whole seconds of average speed and cannot tell a slow client from a silent
  // upstream.
  CURLM* multi = session->multi;
  curl_multi_add_handle(multi, h);
  const auto idle = upstream_.idle_timeout;
  bool watch = client_fd >= 0;
  bool done = false;
  while (!done) {
    int running = 0;
    if (curl_multi_perform(multi, &running) != CURLM_OK) {
      result.end = TransferEnd::kBroken;
      result.error = "curl_multi_perform failed";
      break;
    }
    if (running == 0) {
      CURLcode code = CURLE_OK;
      int left = 0;
      while (CURLMsg* message = curl_multi_info_read(multi, &left)) {
        if (message->msg == CURLMSG_DONE) code = message->data.result;
      }
      result.end = t.stopped ? TransferEnd::kStopped : EndOf(code);
      if (code != CURLE_OK && !t.stopped) {
        result.error = session->error[0] != '\0' ? session->error : curl_easy_strerror(code);
      }
      break;
    }
    if (t.stopped) {
      result.end = TransferEnd::kStopped;
      break;
    }
    if (shutdown_.load()) {
      result.end = TransferEnd::kShutdown;
      break;
    }
    const auto quiet = Clock::now() - t.last_activity;
    if (quiet >= idle) {
      result.end = TransferEnd::kIdleTimeout;
      break;
    }
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(idle - quiet);
    curl_waitfd client{client_fd, CURL_WAIT_POLLIN, 0};
    curl_multi_poll(multi, watch ? &client : nullptr, watch ? 1 : 0,
                    static_cast<int>(std::min<int64_t>(wait.count(), INT_MAX)), nullptr);
    if (watch) {
      switch (CheckClient(client_fd)) {
        case ClientState::kWaiting:
          break;
        case ClientState::kGone:
          result.end = TransferEnd::kClientGone;
          done = true;
          break;
        case ClientState::kSending:
          watch = false;
          break;
      }
    }
  }
  curl_multi_remove_handle(multi, h);
  curl_slist_free_all(headers);
  // Any end but a complete answer closes the session's connection: with HTTP/1.1 that is the
  // only way to abandon a request, and the upstream stops generating (and billing) at once.
  Release(std::move(session), result.end == TransferEnd::kComplete);
  return result;
}

}  // namespace llm_exporter::transport::proxy
