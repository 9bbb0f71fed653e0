#include "loadgen/unix_datagram_sender.h"

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

UnixDatagramSender::UnixDatagramSender(const EventMix& mix, UnixDatagramLoadOptions options)
    : mix_(mix), options_(std::move(options)) {
  options_.connections = std::max<std::size_t>(options_.connections, 1);
  options_.batch = std::max<std::size_t>(options_.batch, 1);
}

std::string_view UnixDatagramSender::DatagramOf(uint64_t d, std::string* scratch) const {
  const uint64_t first = d * options_.batch;
  const uint64_t count = std::min<uint64_t>(options_.batch, options_.events - first);
  if (count == 1) return mix_.at(first).json;  // one event: plain JSON, no newline
  const uint64_t j = first % mix_.size();
  if (j + count <= mix_.size()) {
    const std::vector<std::size_t>& offsets = mix_.line_offsets();
    return std::string_view(mix_.ndjson()).substr(offsets[j], offsets[j + count] - offsets[j]);
  }
  *scratch = mix_.Body(first, static_cast<std::size_t>(count), BodyFormat::kNdjson);
  return *scratch;
}

SendReport UnixDatagramSender::Run() {
  const uint64_t datagrams = (options_.events + options_.batch - 1) / options_.batch;
  std::atomic<bool> failed{false};
  std::mutex mu;
  SendReport total;
  const auto socket_thread = [&](std::size_t c) {
    SendReport mine;
    std::string scratch;
    const int fd = ConnectUnixSocket(options_.path, SOCK_DGRAM, &mine.error);
    if (fd >= 0) {
      ++mine.connects;
      for (uint64_t d = c; d < datagrams && !failed.load(std::memory_order_relaxed);
           d += options_.connections) {
        const std::string_view datagram = DatagramOf(d, &scratch);
        ssize_t n;
        do {
          n = ::send(fd, datagram.data(), datagram.size(), MSG_NOSIGNAL);
        } while (n < 0 && errno == EINTR);
        if (n < 0) {
          mine.error = "send to " + options_.path + ": " + std::strerror(errno);
          break;
        }
        ++mine.messages;
        mine.events += std::min<uint64_t>(options_.batch, options_.events - d * options_.batch);
      }
      ::close(fd);
    }
    if (!mine.ok()) failed.store(true, std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(mu);
    total.Add(mine);
  };
  std::vector<std::thread> threads;
  for (std::size_t c = 0; c < options_.connections; ++c) threads.emplace_back(socket_thread, c);
  for (std::thread& t : threads) t.join();
  return total;
}

}  // namespace llm_exporter::bench
