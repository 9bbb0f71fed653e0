// The unix stream socket transport (--ingest.listen-unix): NDJSON, one event a line, from any
// number of concurrent clients, with no reply. One thread reads them all with an epoll loop;
// decoding is shared with a LineDecodePool's workers.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

#include "ingest/event_pipeline.h"
#include "ingest/line_decode_pool.h"
#include "ingest/rate_limited_warning.h"
#include "ingest/socket_event_sink.h"
#include "ingest/socket_file.h"
#include "ingest/unique_fd.h"
#include "llm_exporter/clock.h"
#include "telemetry/listener_metrics.h"

namespace llm_exporter::ingest {

struct UnixStreamListenerOptions {
  std::string path;
  mode_t mode = 0660;
  std::size_t max_line_bytes = 64u << 10;
  std::size_t max_connections = 1024;
  // Threads that decode beside the reading thread; unset: one fewer than the cores, at most 3.
  std::optional<std::size_t> decode_workers;
};

// Owns the listening socket, its file and every connection. Start() and Stop() are called from
// one thread; all socket work runs on the listener's own thread, and decoding also on the
// LineDecodePool's workers, which call only the thread-safe pipeline and metrics.
class UnixStreamListener {
 public:
  UnixStreamListener(UnixStreamListenerOptions options, EventPipeline& pipeline,
                     telemetry::ListenerMetrics& metrics, const Clock& clock);
  ~UnixStreamListener();
  UnixStreamListener(const UnixStreamListener&) = delete;
  UnixStreamListener& operator=(const UnixStreamListener&) = delete;

  // Binds (replacing a stale socket file), applies the mode, listens and starts the thread.
  // Throws std::runtime_error naming the path.
  void Start();
  // Removes the socket file so no new client finds it, reads what connected clients have
  // already sent, then closes everything and joins the thread. Idempotent.
  void Stop();

  const std::string& path() const { return options_.path; }

 private:
  struct Connection;

  void Run();
  void AcceptAll();
  void Refuse(const char* why);
  // Reads from `connection` and frames what arrives. With `until_empty` it reads until the
  // socket has nothing left; otherwise it stops after a short read or a few full ones, so that
  // one busy client cannot starve the others. False when the connection is finished.
  bool Read(Connection& connection, bool until_empty);
  void Close(int fd);
  void SetAccepting(bool accepting);

  const UnixStreamListenerOptions options_;
  telemetry::ListenerMetrics& metrics_;
  SocketEventSink sink_;
  RateLimitedWarning refused_warning_;
  RateLimitedWarning error_warning_;

  UniqueFd listen_fd_;
  UniqueFd epoll_fd_;
  UniqueFd wake_fd_;
  UniqueFd spare_fd_;  // given up to accept-and-close a client when out of file descriptors
  SocketFile socket_file_;
  bool accepting_ = true;
  bool draining_ = false;  // shutting down: read what every queued client sent

  // Reads land in the pool's chunks: room for a partial line, a read, and decoder padding.
  std::unique_ptr<LineDecodePool> pool_;
  std::size_t read_limit_ = 0;  // bytes of a chunk that may hold data

  std::unordered_map<int, std::unique_ptr<Connection>> connections_;
  std::thread thread_;
};

}  // namespace llm_exporter::ingest
