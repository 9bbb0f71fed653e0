#include "loadgen/unix_stream_sender.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "loadgen/unix_socket.h"

namespace llm_exporter::bench {

UnixStreamSender::UnixStreamSender(const EventMix& mix, UnixStreamLoadOptions options)
    : mix_(mix), options_(std::move(options)) {
  options_.connections = std::max<std::size_t>(options_.connections, 1);
}

SendReport UnixStreamSender::Run() {
  std::atomic<bool> failed{false};
  std::mutex mu;
  SendReport total;
  const std::string& text = mix_.ndjson();
  const std::vector<std::size_t>& offsets = mix_.line_offsets();
  const uint64_t pool = mix_.size();
  const auto connection = [&](std::size_t c) {
    SendReport mine;
    const uint64_t begin = options_.events * c / options_.connections;
    const uint64_t end = options_.events * (c + 1) / options_.connections;
    const int fd = ConnectUnixSocket(options_.path, SOCK_STREAM, &mine.error);
    if (fd >= 0) {
      ++mine.connects;
      uint64_t i = begin;
      while (i < end && mine.ok() && !failed.load(std::memory_order_relaxed)) {
        // Lines i .. i + take of the run are one contiguous stretch of the pool's text.
        const uint64_t j = i % pool;
        const uint64_t take = std::min<uint64_t>(pool - j, end - i);
        const char* data = text.data() + offsets[j];
        std::size_t left = offsets[j + take] - offsets[j];
        while (left > 0) {
          const ssize_t n = ::send(fd, data, left, MSG_NOSIGNAL);
          if (n < 0) {
            if (errno == EINTR) continue;
            mine.error = "write to " + options_.path + ": " + std::strerror(errno);
            break;
          }
          ++mine.messages;
          data += n;
          left -= static_cast<std::size_t>(n);
        }
        if (mine.ok()) {
          mine.events += take;
          i += take;
        }
      }
      ::close(fd);
    }
    if (!mine.ok()) failed.store(true, std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(mu);
    total.Add(mine);
  };
  std::vector<std::thread> threads;
  for (std::size_t c = 0; c < options_.connections; ++c) threads.emplace_back(connection, c);
  for (std::thread& t : threads) t.join();
  return total;
}

}  // namespace llm_exporter::bench
