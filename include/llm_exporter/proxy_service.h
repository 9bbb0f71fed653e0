// The interface between the HTTP server and the metering proxy (docs/proxy.md): the server hands
// each request under /proxy/ to a ProxyService as a ProxyExchange, the client's side of that one
// request. The server owns the connection (civetweb stays in transport/http/), the proxy owns the
// upstream (curl stays in transport/proxy/).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace llm_exporter {

// One header as received or to be sent. Views: valid while the exchange (or the call) lasts.
struct HeaderField {
  std::string_view name;
  std::string_view value;
};

// How a request body read ended.
enum class ProxyBodyRead : uint8_t {
  kOk,
  kTooLarge,    // over the limit (by Content-Length, or by the bytes that came)
  kIncomplete,  // the client went silent or away, or missed the body deadline, before its end
  kFailed,      // the body could not be read (a malformed chunked encoding, ...)
};

// How the response body is delimited toward the client.
enum class ResponseFraming : uint8_t {
  kContentLength,  // exactly `content_length` bytes follow
  kChunked,        // chunked (close-delimited for an HTTP/1.0 client); each Write() is one chunk
  kNoBody,         // no body (HEAD, 204, 304): the headers given are sent as they are
};

// The client's side of one proxied request. Used by one thread, the one serving the request, and
// only while ProxyService::Serve() runs.
class ProxyExchange {
 public:
  virtual ~ProxyExchange() = default;

  virtual std::string_view method() const = 0;
  // The target after "/proxy/", still percent-encoded as the client sent it, without the query:
  // "openai/v1/chat/completions".
  virtual std::string_view path() const = 0;
  // After '?', as sent; empty when there was none.
  virtual std::string_view query() const = 0;
  // The request headers in the order received.
  virtual std::span<const HeaderField> request_headers() const = 0;
  // When the server began handling the request: the start of the call's latency and TTFT.
  virtual std::chrono::steady_clock::time_point received() const = 0;
  // The client connection's socket, to watch for a hang-up while the upstream is waited on; -1
  // when it is not known. Only for poll(2)/recv(MSG_PEEK): the server owns it.
  virtual int client_fd() = 0;

  // Reads the whole request body into *body (replacing its content), under `limit` bytes and the
  // server's body deadline.
  virtual ProxyBodyRead ReadBody(std::size_t limit, std::string* body) = 0;

  // Sends the status line and `headers` (which must not hold Content-Length, Transfer-Encoding or
  // Connection unless the framing is kNoBody: the exchange adds what its framing and the client's
  // connection need). False when the client could not be written to.
  virtual bool SendHead(int status, std::span<const HeaderField> headers, ResponseFraming framing,
                        uint64_t content_length = 0) = 0;
  // Body bytes, sent at once; an empty write sends nothing. False when the client could not be
  // written to (it hung up, or stopped reading for the server's request timeout).
  virtual bool Write(std::string_view bytes) = 0;
  // Ends the body (the last chunk of a chunked body). False when the client could not be
  // written to.
  virtual bool Finish() = 0;
  // Gives up on the response: the connection is closed as soon as Serve() returns, with no end
  // to a chunked body, so that the client sees a broken answer rather than a complete one.
  virtual void Cut() = 0;

  // The status sent by SendHead(), or 0 before it.
  virtual int status_sent() const = 0;

  // The first request header named `name` (compared ignoring case), or nullopt.
  std::optional<std::string_view> RequestHeader(std::string_view name) const {
    for (const HeaderField& header : request_headers()) {
      if (header.name.size() != name.size()) continue;
      bool same = true;
      for (std::size_t i = 0; i < name.size() && same; ++i) {
        same = ToLower(header.name[i]) == ToLower(name[i]);
      }
      if (same) return header.value;
    }
    return std::nullopt;
  }

  // A complete answer: status, headers, Content-Length and body.
  bool Respond(int status, std::span<const HeaderField> headers, std::string_view body) {
    return SendHead(status, headers, ResponseFraming::kContentLength, body.size()) &&
           Write(body) && Finish();
  }

 private:
  static char ToLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }
};

// The metering proxy, as the HTTP server sees it. Thread-safe: each request is served on its own
// worker thread, any number at once.
class ProxyService {
 public:
  virtual ~ProxyService() = default;
  // Serves one request to its end on the calling thread, answering the client through
  // `exchange`. Never throws. Returns the status the client was answered with, or 0 when the
  // client went away before an answer was sent.
  virtual int Serve(ProxyExchange& exchange) = 0;
};

}  // namespace llm_exporter
