// A minimal HTTP/1.1 client over one keep-alive TCP connection, for load generation: requests are
// written with one writev (headers and body), responses framed by Content-Length. No TLS, no
// chunked encoding: it talks to llm_exporter on 127.0.0.1 only.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace llm_exporter::bench {

struct HttpResponse {
  int status = 0;
  std::string body;
};

// Not thread-safe: one client per thread. Reconnects once when the server closed an idle
// connection; every other failure is returned as an error text.
class HttpClient {
 public:
  // `quick_ack`: acknowledge every received segment at once (TCP_QUICKACK), instead of letting
  // the kernel delay the ACK by up to 40 ms. This hides a server that writes one response in two
  // small writes with Nagle's algorithm on (see bench/README.md); off by default, as real clients.
  HttpClient(std::string host, int port, bool quick_ack = false);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // True with *response filled, or false with *error set.
  bool Post(std::string_view path, std::string_view content_type, std::string_view body,
            HttpResponse* response, std::string* error);
  bool Get(std::string_view path, HttpResponse* response, std::string* error);

  // Requests made, and connections opened, over this client's life.
  std::size_t requests() const { return requests_; }
  std::size_t connects() const { return connects_; }

 private:
  bool Request(std::string_view method, std::string_view path, std::string_view content_type,
               std::string_view body, HttpResponse* response, std::string* error);
  bool Connect(std::string* error);
  void Close();
  bool SendAll(std::string_view head, std::string_view body, std::string* error);
  // Reads one response; *closed_early is set when the connection ended before any byte came.
  bool ReadResponse(HttpResponse* response, bool* closed_early, std::string* error);

  std::string host_;
  int port_;
  bool quick_ack_;
  int fd_ = -1;
  bool server_closes_ = false;  // the last response said "Connection: close"
  std::string head_;            // request head, reused
  std::string buffer_;          // received bytes: [begin_, end_) not yet consumed
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::size_t requests_ = 0;
  std::size_t connects_ = 0;
};

}  // namespace llm_exporter::bench
