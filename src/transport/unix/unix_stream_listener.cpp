#include "transport/unix/unix_stream_listener.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <utility>

#include "transport/common/line_framer.h"

namespace llm_exporter::transport {
namespace {

// One read takes up to this much after the partial line: large enough that a busy connection
// costs one read and one decode call per few thousand events.
constexpr std::size_t kReadBytes = 256u << 10;
// Full reads of one connection per wake-up before the loop moves on to the others.
constexpr int kReadsPerWake = 4;
// Reads of one connection at shut-down: what a client had sent by then, not an endless stream.
constexpr int kReadsAtStop = 64;
constexpr int kAcceptsPerWake = 64;
constexpr int kEventsPerWait = 64;

}  // namespace

struct UnixStreamListener::Connection {
  Connection(int fd, std::size_t max_line_bytes) : fd(fd), framer(max_line_bytes) {}
  UniqueFd fd;
  LineFramer framer;
};

UnixStreamListener::UnixStreamListener(UnixStreamListenerOptions options, EventIngest& pipeline,
                                       telemetry::ListenerMetrics& metrics, const Clock& clock)
    : options_(std::move(options)),
      metrics_(metrics),
      sink_({Transport::kUnix, "unix socket " + options_.path, "line", "--ingest.max-line-bytes",
             options_.max_line_bytes},
            pipeline),
      refused_warning_(clock),
      error_warning_(clock),
      thread_("unix socket " + options_.path, Transport::kUnix, metrics) {}

UnixStreamListener::~UnixStreamListener() { Stop(); }

void UnixStreamListener::Start() {
  const std::string& path = options_.path;
  listen_fd_.Reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!listen_fd_.valid()) throw StartError(thread_.where(), "socket", errno);
  socket_file_ = SocketFile::Bind(listen_fd_.get(), path, options_.mode);
  if (::listen(listen_fd_.get(), SOMAXCONN) != 0) {
    throw StartError(thread_.where(), "listen", errno);
  }

  epoll_fd_.Reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_fd_.valid()) throw StartError(thread_.where(), "epoll_create1", errno);
  thread_.Prepare();
  for (const int fd : {listen_fd_.get(), thread_.wake_fd()}) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = fd;
    if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, fd, &event) != 0) {
      throw StartError(thread_.where(), "epoll_ctl", errno);
    }
  }
  spare_fd_.Reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));

  read_limit_ = options_.max_line_bytes + kReadBytes;
  const std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
  const std::size_t workers = options_.decode_workers.value_or(std::min<std::size_t>(cores - 1, 3));
  pool_ = std::make_unique<LineDecodePool>(workers, read_limit_ + kIngestPadding, sink_);

  thread_.Start("llmx-unix", [this] { Run(); });
}

void UnixStreamListener::Stop() {
  socket_file_.Remove();
  if (!thread_.running()) return;
  thread_.Stop();
  pool_.reset();  // every chunk was decoded before the thread ended
  listen_fd_.Reset();
  epoll_fd_.Reset();
  spare_fd_.Reset();
}

void UnixStreamListener::Run() {
  epoll_event events[kEventsPerWait];
  bool stopping = false;
  while (!stopping) {
    const int ready = ::epoll_wait(epoll_fd_.get(), events, kEventsPerWait, -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      spdlog::error("unix socket {}: epoll_wait failed, no longer serving: {}", options_.path,
                    std::strerror(errno));
      break;
    }
    for (int i = 0; i < ready; ++i) {
      const int fd = events[i].data.fd;
      if (fd == thread_.wake_fd()) {
        stopping = true;
      } else if (fd == listen_fd_.get()) {
        AcceptAll();
      } else if (const auto it = connections_.find(fd); it != connections_.end()) {
        if (!Read(*it->second, /*until_empty=*/false)) Close(fd);
      }
    }
  }
  // Shut-down: take the clients that connected before the socket file went (over the limit too:
  // they are served one batch at a time), and what every client had sent by now; a line still
  // unfinished is dropped with its connection.
  draining_ = true;
  std::size_t unfinished = 0;
  for (AcceptAll(); !connections_.empty(); AcceptAll()) {
    while (!connections_.empty()) {
      const auto it = connections_.begin();
      if (Read(*it->second, /*until_empty=*/true)) {
        unfinished += it->second->framer.partial_size();
      }
      Close(it->first);
    }
  }
  pool_->Drain();
  if (unfinished > 0) {
    spdlog::info("unix socket {}: dropped {} bytes of unfinished lines at shut-down",
                 options_.path, unfinished);
  }
}

void UnixStreamListener::AcceptAll() {
  for (int i = 0; i < kAcceptsPerWake; ++i) {
    const int fd = ::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EMFILE || errno == ENFILE) {
        // Give up the spare descriptor to take the client off the queue and close it, rather
        // than leave it waiting (and epoll reporting it) until some descriptor frees up.
        if (spare_fd_.valid()) {
          spare_fd_.Reset();
          const int refused = ::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
          Refuse("the agent is out of file descriptors");
          if (refused >= 0) ::close(refused);
          spare_fd_.Reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
          continue;
        }
        SetAccepting(false);  // again once a connection closes
        Refuse("the agent is out of file descriptors");
        return;
      }
      if (const uint64_t count = error_warning_.Record()) {
        spdlog::warn("unix socket {}: accept failed ({} time(s) since the last such warning): {}",
                     options_.path, count, std::strerror(errno));
      }
      return;
    }
    if (!draining_ && connections_.size() >= options_.max_connections) {
      Refuse("over --ingest.max-connections");  // counted before the client sees the close
      ::close(fd);
      continue;
    }
    auto connection = std::make_unique<Connection>(fd, options_.max_line_bytes);
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = fd;
    if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, fd, &event) != 0) {
      Refuse("epoll_ctl failed");
      continue;  // the connection's destructor closes it
    }
    connections_.emplace(fd, std::move(connection));
    metrics_.ConnectionOpened();
  }
}

void UnixStreamListener::Refuse(const char* why) {
  metrics_.ConnectionRefused();
  if (const uint64_t count = refused_warning_.Record()) {
    spdlog::warn("unix socket {}: closed {} new connection(s) at once since the last such "
                 "warning: {} ({} open, limit {})",
                 options_.path, count, why, connections_.size(), options_.max_connections);
  }
}

bool UnixStreamListener::Read(Connection& connection, bool until_empty) {
  // Frames into the chunk: runs of lines are decoded once the chunk is submitted.
  class ChunkRuns final : public LineSink {
   public:
    ChunkRuns(LineChunk& chunk, LineSink& sink) : chunk_(chunk), sink_(sink) {}
    void OnLines(std::string_view lines, std::size_t) override {
      chunk_.runs.emplace_back(static_cast<std::size_t>(lines.data() - chunk_.data.get()),
                               lines.size());
    }
    void OnLineTooLong() override { sink_.OnLineTooLong(); }

   private:
    LineChunk& chunk_;
    LineSink& sink_;
  };

  const int max_reads = until_empty ? kReadsAtStop : kReadsPerWake;
  LineChunk* chunk = nullptr;
  try {
    for (int reads = 0; reads < max_reads;) {
      chunk = pool_->Acquire();
      char* const buffer = chunk->data.get();
      const std::size_t kept = connection.framer.Restore(buffer);
      const std::size_t room = read_limit_ - kept;
      const ssize_t got = ::read(connection.fd.get(), buffer + kept, room);
      if (got > 0) {
        ++reads;
        ChunkRuns runs(*chunk, sink_);
        connection.framer.Frame(buffer, kept + static_cast<std::size_t>(got), chunk->size, runs);
        if (chunk->runs.empty()) {
          pool_->Release(std::exchange(chunk, nullptr));
        } else {
          pool_->Submit(std::exchange(chunk, nullptr));
        }
        // A short read has most likely emptied the socket; if not, epoll says so again.
        if (!until_empty && static_cast<std::size_t>(got) < room) return true;
        continue;
      }
      pool_->Release(std::exchange(chunk, nullptr));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
      // End of stream (or a reset): the last line counts even without its '\n'.
      connection.framer.Finish(sink_);
      return false;
    }
    return true;
  } catch (const std::exception& e) {
    // Last resort: the data path does not throw, but if it ever does (out of memory), drop this
    // connection and keep serving the others.
    if (chunk != nullptr) pool_->Release(chunk);
    spdlog::error("unix socket {}: closing a connection after an unexpected error: {}",
                  options_.path, e.what());
    thread_.CountError();
    return false;
  }
}

void UnixStreamListener::Close(int fd) {
  ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, fd, nullptr);
  connections_.erase(fd);
  metrics_.ConnectionClosed();
  if (!accepting_) SetAccepting(true);
}

void UnixStreamListener::SetAccepting(bool accepting) {
  epoll_event event{};
  event.events = accepting ? static_cast<uint32_t>(EPOLLIN) : 0u;
  event.data.fd = listen_fd_.get();
  if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_MOD, listen_fd_.get(), &event) == 0) {
    accepting_ = accepting;
  }
}

}  // namespace llm_exporter::transport
