// llm_exporter_baseline: the ceiling the agent's HTTP ingest is measured against. A server built
// from the agent's own parts and nothing else: Debian's civetweb with 16 worker threads and
// keep-alive, each POST body read whole and parsed by simdjson's DOM parser (the runtime
// dispatched one the agent uses), its JSON objects counted, nothing validated, priced or stored,
// and the answer written with one call. It answers as the agent does
// ({"accepted":N,"rejected":0,"errors":[]}), so llm_exporter_loadgen checks every answer the same
// way; `llm_exporter_loadgen --baseline=PATH` runs it beside the agent with the same load.
//
//   llm_exporter_baseline [--listen=127.0.0.1:0] [--threads=16]
//
// Prints "listening on HOST:PORT" once it serves (port 0 picks a free one), then serves until
// SIGTERM or SIGINT. Bodies in application/x-ndjson are parsed as NDJSON, others as one JSON
// document (an object counts 1, an array its elements).
#include <civetweb.h>
#include <simdjson.h>

#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

namespace {

// The JSON objects in `body`, or -1 when it is not JSON.
int64_t CountObjects(simdjson::dom::parser& parser, const char* body, std::size_t size,
                     bool ndjson) {
  if (ndjson) {
    simdjson::dom::document_stream stream;
    if (parser.parse_many(body, size, simdjson::dom::DEFAULT_BATCH_SIZE).get(stream)) return -1;
    int64_t count = 0;
    for (auto doc : stream) {
      if (doc.error()) return -1;
      ++count;
    }
    return count;
  }
  simdjson::dom::element root;
  if (parser.parse(body, size, false).get(root)) return -1;
  if (root.is_array()) return static_cast<int64_t>(simdjson::dom::array(root).size());
  return root.is_object() ? 1 : -1;
}

void Answer(mg_connection* conn, int status, std::string_view body) {
  char response[256];
  const int n = std::snprintf(response, sizeof response,
                              "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                              "Content-Length: %zu\r\n\r\n%.*s",
                              status, status == 200 ? "OK" : "Bad Request", body.size(),
                              static_cast<int>(body.size()), body.data());
  mg_write(conn, response, static_cast<std::size_t>(n));
}

int Handle(mg_connection* conn) {
  const mg_request_info* info = mg_get_request_info(conn);
  if (std::strcmp(info->request_method, "POST") != 0) {
    Answer(conn, 200, "{}\n");
    return 200;
  }
  // One buffer and one parser per worker thread, kept warm as the agent keeps its pools.
  thread_local std::string body;
  thread_local simdjson::dom::parser parser;
  const long long length = info->content_length;
  if (length < 0) {
    Answer(conn, 400, "{\"error\":\"Content-Length required\"}\n");
    return 400;
  }
  const auto size = static_cast<std::size_t>(length);
  if (body.size() < size + simdjson::SIMDJSON_PADDING) body.resize(size + simdjson::SIMDJSON_PADDING);
  std::size_t have = 0;
  while (have < size) {
    const int n = mg_read(conn, body.data() + have, size - have);
    if (n <= 0) return 400;
    have += static_cast<std::size_t>(n);
  }
  const char* type = mg_get_header(conn, "Content-Type");
  const bool ndjson = type != nullptr && std::strstr(type, "ndjson") != nullptr;
  const int64_t objects = CountObjects(parser, body.data(), size, ndjson);
  if (objects < 0) {
    Answer(conn, 400, "{\"error\":\"invalid JSON\"}\n");
    return 400;
  }
  char answer[80];
  const int n = std::snprintf(answer, sizeof answer,
                              "{\"accepted\":%lld,\"rejected\":0,\"errors\":[]}\n",
                              static_cast<long long>(objects));
  Answer(conn, 200, std::string_view(answer, static_cast<std::size_t>(n)));
  return 200;
}

int BeginRequest(mg_connection* conn) { return Handle(conn); }

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:0";
  std::string threads = "16";
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.starts_with("--listen=")) {
      listen = arg.substr(9);
    } else if (arg.starts_with("--threads=")) {
      threads = arg.substr(10);
    } else {
      std::fprintf(stderr,
                   "llm_exporter_baseline: unknown argument \"%s\"\n"
                   "usage: llm_exporter_baseline [--listen=HOST:PORT] [--threads=N]\n",
                   argv[i]);
      return 2;
    }
  }
  const char* options[] = {"listening_ports", listen.c_str(), "num_threads",  threads.c_str(),
                           "enable_keep_alive", "yes",        "tcp_nodelay", "1",
                           nullptr};
  // SIGTERM and SIGINT are blocked in every thread (civetweb's inherit the mask) and taken by
  // sigwait() below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  mg_callbacks callbacks{};
  callbacks.begin_request = &BeginRequest;
  mg_init_library(0);
  mg_context* context = mg_start(&callbacks, nullptr, options);
  if (context == nullptr) {
    std::fprintf(stderr, "llm_exporter_baseline: cannot listen on %s\n", listen.c_str());
    return 1;
  }
  mg_server_port port{};
  if (mg_get_server_ports(context, 1, &port) < 1) {
    std::fprintf(stderr, "llm_exporter_baseline: no listening port\n");
    mg_stop(context);
    return 1;
  }
  const std::string host = listen.substr(0, listen.rfind(':'));
  std::printf("listening on %s:%d\n", host.c_str(), port.port);
  std::fflush(stdout);
  int signal = 0;
  sigwait(&stop_signals, &signal);
  mg_stop(context);
  mg_exit_library();
  return 0;
}
