#include "transport/datagram/datagram_listener.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <utility>

#include "transport/common/listen_address.h"

namespace llm_exporter::transport {
namespace {

// Datagrams taken per recvmmsg call, fewer when they may be large: the slots of one batch take
// at most about kBatchBufferBytes.
constexpr std::size_t kMaxBatch = 64;
constexpr std::size_t kBatchBufferBytes = 8u << 20;
// Batches read at shut-down: what was queued by then, not an endless stream.
constexpr int kBatchesAtStop = 1024;

std::string Where(const DatagramListenerOptions& options) {
  return std::string(TransportName(options.transport)) + " socket " + options.address;
}

std::string AddressText(const sockaddr_storage& address, std::string* host_text) {
  char host[INET6_ADDRSTRLEN] = {};
  uint16_t port = 0;
  if (address.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(address);
    ::inet_ntop(AF_INET6, &in6.sin6_addr, host, sizeof host);
    port = ntohs(in6.sin6_port);
  } else {
    const auto& in = reinterpret_cast<const sockaddr_in&>(address);
    ::inet_ntop(AF_INET, &in.sin_addr, host, sizeof host);
    port = ntohs(in.sin_port);
  }
  *host_text = host;
  return JoinHostPort(host, port);
}

}  // namespace

struct DatagramListener::Slot {
  iovec iov{};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(uint32_t))];
};

DatagramListener::DatagramListener(DatagramListenerOptions options, EventIngest& pipeline,
                                   telemetry::ListenerMetrics& metrics, const Clock& clock)
    : options_(std::move(options)),
      metrics_(metrics),
      sink_({options_.transport, Where(options_), "datagram", "--ingest.max-datagram-bytes",
             options_.max_datagram_bytes},
            pipeline),
      drop_warning_(clock),
      error_warning_(clock),
      thread_(Where(options_), options_.transport, metrics) {}

DatagramListener::~DatagramListener() { Stop(); }

void DatagramListener::Start() {
  if (options_.transport == Transport::kUdp) {
    BindUdp();
  } else {
    BindUnix();
  }
  thread_.Prepare();

  slot_bytes_ = options_.max_datagram_bytes + kIngestPadding;
  batch_ = std::clamp<std::size_t>(kBatchBufferBytes / slot_bytes_, 1, kMaxBatch);
  buffer_size_ = batch_ * slot_bytes_ + kIngestPadding;
  buffer_ = std::make_unique<char[]>(buffer_size_);
  slots_.resize(batch_);
  messages_.resize(batch_);
  for (std::size_t i = 0; i < batch_; ++i) {
    slots_[i].iov.iov_base = buffer_.get() + i * slot_bytes_;
    slots_[i].iov.iov_len = options_.max_datagram_bytes;
    messages_[i] = mmsghdr{};
    messages_[i].msg_hdr.msg_iov = &slots_[i].iov;
    messages_[i].msg_hdr.msg_iovlen = 1;
  }

  thread_.Start(options_.transport == Transport::kUdp ? "llmx-udp" : "llmx-unixgram",
                [this] { Run(); });
}

void DatagramListener::BindUnix() {
  fd_.Reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd_.valid()) throw StartError(Where(options_), "socket", errno);
  socket_file_ = SocketFile::Bind(fd_.get(), options_.address, options_.mode);
  bound_address_ = options_.address;
}

void DatagramListener::BindUdp() {
  const std::string& address = options_.address;
  AddressError parse_error = AddressError::kNone;
  const std::optional<HostPort> parsed = ParseHostPort(address, &parse_error);
  if (!parsed) {
    throw std::runtime_error("cannot listen on udp socket " + address +
                             ": not host:port (e.g. 127.0.0.1:9125, [::1]:9125, :9125 for every "
                             "interface)");
  }
  const std::string& host = parsed->host;
  const std::string port = std::to_string(parsed->port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints,
                                   &found);
      rc != 0) {
    throw std::runtime_error("cannot listen on udp socket " + address + ": " +
                             ::gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> results(found, &::freeaddrinfo);
  int error = 0;
  for (const addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    UniqueFd fd(::socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid() || ::bind(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
      error = errno;
      continue;
    }
    fd_ = std::move(fd);
    break;
  }
  if (!fd_.valid()) throw StartError(Where(options_), "bind", error);

  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&bound), &length);
  bound_address_ = AddressText(bound, &bound_host_);

  // A large receive buffer absorbs bursts; SO_RCVBUFFORCE gets past net.core.rmem_max when the
  // agent runs with CAP_NET_ADMIN, SO_RCVBUF is capped by it.
  const int asked = options_.receive_buffer_bytes;
  if (::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUFFORCE, &asked, sizeof asked) != 0) {
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &asked, sizeof asked);
  }
  socklen_t granted_length = sizeof granted_receive_buffer_;
  ::getsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &granted_receive_buffer_, &granted_length);
  // The kernel reports twice what it was set to (the other half is bookkeeping).
  if (granted_receive_buffer_ / 2 < asked) {
    spdlog::warn("{}: the kernel granted a {} byte receive buffer instead of {}: bursts may be "
                 "dropped (raise net.core.rmem_max, see docs/ingest.md)",
                 Where(options_), granted_receive_buffer_ / 2, asked);
  }
  // Drop counts come with the next datagram received after a drop.
  const int on = 1;
  drops_reported_ = ::setsockopt(fd_.get(), SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof on) == 0;
}

void DatagramListener::Stop() {
  if (thread_.running()) {
    stopping_.store(true, std::memory_order_relaxed);
    thread_.Stop();
  }
  // A datagram socket has no connections to finish: remove the name, then close.
  socket_file_.Remove();
  fd_.Reset();
}

void DatagramListener::Run() {
  while (!stopping_.load(std::memory_order_relaxed)) {
    bool full = false;
    // A full batch means more may be queued: receive again before waiting.
    if (ReceiveBatch(&full) && full) continue;
    pollfd fds[2] = {{fd_.get(), POLLIN, 0}, {thread_.wake_fd(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) {
      spdlog::error("{}: poll failed, no longer serving: {}", Where(options_),
                    std::strerror(errno));
      return;
    }
    if (fds[1].revents != 0) break;
  }
  // Shut-down: what was queued before Stop() still counts.
  bool full = true;
  for (int i = 0; i < kBatchesAtStop && full; ++i) {
    if (!ReceiveBatch(&full)) break;
  }
}

bool DatagramListener::ReceiveBatch(bool* full) {
  *full = false;
  for (std::size_t i = 0; i < batch_; ++i) {
    msghdr& header = messages_[i].msg_hdr;
    header.msg_control = drops_reported_ ? slots_[i].control : nullptr;
    header.msg_controllen = drops_reported_ ? sizeof slots_[i].control : 0;
    header.msg_flags = 0;
  }
  const int received =
      ::recvmmsg(fd_.get(), messages_.data(), static_cast<unsigned>(batch_), MSG_DONTWAIT,
                 nullptr);
  if (received <= 0) {
    if (received < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      if (const uint64_t count = error_warning_.Record()) {
        spdlog::warn("{}: receiving failed ({} time(s) since the last such warning): {}",
                     Where(options_), count, std::strerror(errno));
      }
    }
    return false;
  }
  *full = static_cast<std::size_t>(received) == batch_;

  // Compact the batch into one run of lines: datagram i moves down to `out` (never past its own
  // slot, as each slot is longer than its datagram plus the joining '\n'), so the decoder takes
  // the whole batch in one call. A datagram is one event or NDJSON, so joining them with '\n'
  // decodes every one of them exactly as on its own.
  char* const buffer = buffer_.get();
  std::size_t out = 0;
  uint64_t too_large = 0;
  for (int i = 0; i < received; ++i) {
    msghdr& header = messages_[i].msg_hdr;
    if (drops_reported_) CountKernelDrops(header);
    if ((header.msg_flags & MSG_TRUNC) != 0) {  // longer than max_datagram_bytes: never decoded
      ++too_large;
      continue;
    }
    const std::size_t length = messages_[i].msg_len;
    if (length == 0) continue;
    const char* datagram = buffer + static_cast<std::size_t>(i) * slot_bytes_;
    if (datagram != buffer + out) std::memmove(buffer + out, datagram, length);
    out += length;
    buffer[out++] = '\n';
  }
  try {
    if (out > 0) sink_.OnLines(std::string_view(buffer, out), buffer_size_);
    sink_.CountTooLarge(too_large);
  } catch (const std::exception& e) {
    // Last resort: the data path does not throw, but if it ever does (out of memory), lose
    // this batch and keep serving.
    spdlog::error("{}: dropped a batch of {} datagram(s) after an unexpected error: {}",
                  Where(options_), received, e.what());
    thread_.CountError();
  }
  return true;
}

void DatagramListener::CountKernelDrops(msghdr& header) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&header); c != nullptr; c = CMSG_NXTHDR(&header, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SO_RXQ_OVFL) continue;
    uint32_t total = 0;
    std::memcpy(&total, CMSG_DATA(c), sizeof total);
    const uint32_t dropped = total - last_drop_count_;  // the kernel's count wraps at 2^32
    last_drop_count_ = total;
    if (dropped == 0) continue;
    metrics_.DatagramsDropped(dropped);
    if (const uint64_t count = drop_warning_.Record(dropped)) {
      spdlog::warn("{}: the kernel dropped {} datagram(s) since the last such warning: the "
                   "receive buffer was full (see docs/ingest.md)",
                   Where(options_), count);
    }
  }
}

}  // namespace llm_exporter::transport
