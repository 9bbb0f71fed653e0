#include "transport/http/body_deadline.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#include <array>
#include <charconv>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

namespace llm_exporter::transport {
namespace {

// Port and numeric address of a socket's end, or port -1 when it is not an IP socket.
std::pair<int, std::string> EndOf(int fd, bool peer) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  const int rc = peer ? getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length)
                      : getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  if (rc != 0) return {-1, {}};
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (address.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&address);
    inet_ntop(AF_INET, &in->sin_addr, text.data(), text.size());
    return {ntohs(in->sin_port), text.data()};
  }
  if (address.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&address);
    inet_ntop(AF_INET6, &in6->sin6_addr, text.data(), text.size());
    return {ntohs(in6->sin6_port), text.data()};
  }
  return {-1, {}};
}

}  // namespace

std::vector<int> FindConnectionSockets(const std::vector<ConnectionEnds>& wanted) {
  std::vector<int> found(wanted.size(), -1);
  std::size_t missing = wanted.size();
  DIR* dir = missing > 0 ? opendir("/proc/self/fd") : nullptr;
  if (dir == nullptr) return found;
  while (missing > 0) {
    const dirent* entry = readdir(dir);
    if (entry == nullptr) break;
    const std::string_view name = entry->d_name;
    int fd = -1;
    const auto [ptr, ec] = std::from_chars(name.data(), name.data() + name.size(), fd);
    if (ec != std::errc() || ptr != name.data() + name.size() || fd == dirfd(dir)) continue;
    const int local_port = EndOf(fd, false).first;
    if (local_port < 0) continue;
    std::optional<std::pair<int, std::string>> peer;
    for (std::size_t i = 0; i < wanted.size(); ++i) {
      if (found[i] >= 0 || wanted[i].local_port != local_port) continue;
      if (!peer) peer = EndOf(fd, true);
      if (peer->first == wanted[i].remote_port && peer->second == wanted[i].remote_address) {
        found[i] = fd;
        --missing;
        break;
      }
    }
  }
  closedir(dir);
  return found;
}

std::vector<ConnectionSocket> ListConnectionSockets(int local_port) {
  std::vector<ConnectionSocket> sockets;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return sockets;
  while (const dirent* entry = readdir(dir)) {
    const std::string_view name = entry->d_name;
    int fd = -1;
    const auto [ptr, ec] = std::from_chars(name.data(), name.data() + name.size(), fd);
    if (ec != std::errc() || ptr != name.data() + name.size() || fd == dirfd(dir)) continue;
    if (EndOf(fd, false).first != local_port) continue;
    std::pair<int, std::string> peer = EndOf(fd, true);
    if (peer.first < 0) continue;  // the listening socket
    sockets.push_back({fd, ConnectionEnds{local_port, std::move(peer.second), peer.first}});
  }
  closedir(dir);
  return sockets;
}

bool SocketHasEnds(int fd, const ConnectionEnds& ends) {
  if (EndOf(fd, false).first != ends.local_port) return false;
  const std::pair<int, std::string> peer = EndOf(fd, true);
  return peer.first == ends.remote_port && peer.second == ends.remote_address;
}

BodyDeadline::BodyDeadline() : thread_([this] { Run(); }) {
  pthread_setname_np(thread_.native_handle(), "llmx-deadline");
}

BodyDeadline::~BodyDeadline() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

BodyDeadline::Watch::Watch(BodyDeadline& owner, ConnectionEnds ends, Clock::time_point deadline)
    : owner_(owner), ends_(std::move(ends)), deadline_(deadline) {
  owner_.Add(this);
}

BodyDeadline::Watch::~Watch() { owner_.Remove(this); }

uint64_t BodyDeadline::expired_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return expired_count_;
}

void BodyDeadline::Add(Watch* watch) {
  bool sooner = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    watch->prev_ = last_;
    (last_ != nullptr ? last_->next_ : first_) = watch;
    last_ = watch;
    // Deadlines come in the order requests do, so the thread is woken only when it sleeps with
    // nothing to watch: about once per request timeout, not once per request (a wake-up per
    // request cost a fifth of the one-event-per-POST throughput).
    if (watch->deadline_ < next_wake_) {
      next_wake_ = watch->deadline_;
      sooner = true;
    }
  }
  if (sooner) wake_.notify_all();
}

void BodyDeadline::Remove(Watch* watch) {
  std::lock_guard<std::mutex> lock(mu_);
  (watch->prev_ != nullptr ? watch->prev_->next_ : first_) = watch->next_;
  (watch->next_ != nullptr ? watch->next_->prev_ : last_) = watch->prev_;
}

void BodyDeadline::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    next_wake_ = Clock::time_point::max();
    for (const Watch* watch = first_; watch != nullptr; watch = watch->next_) {
      if (!watch->expired_.load(std::memory_order_relaxed) && watch->deadline_ < next_wake_) {
        next_wake_ = watch->deadline_;
      }
    }
    const Clock::time_point until = next_wake_;  // Add() may move next_wake_ while we wait
    if (until == Clock::time_point::max()) {
      wake_.wait(lock);
    } else {
      wake_.wait_until(lock, until);
    }
    if (!stop_) ExpireDue(Clock::now());
  }
}

void BodyDeadline::ExpireDue(Clock::time_point now) {
  std::vector<Watch*> due;
  std::vector<ConnectionEnds> ends;
  for (Watch* watch = first_; watch != nullptr; watch = watch->next_) {
    if (watch->expired_.load(std::memory_order_relaxed) || watch->deadline_ > now) continue;
    watch->expired_.store(true, std::memory_order_release);
    due.push_back(watch);
    ends.push_back(watch->ends_);
  }
  if (due.empty()) return;
  expired_count_ += due.size();
  // The handlers are still inside their Watch's lifetime (Remove() waits for mu_), so each
  // descriptor found is its connection's own. SHUT_RD ends the read; the 408 can still be written.
  const std::vector<int> fds = FindConnectionSockets(ends);
  for (std::size_t i = 0; i < due.size(); ++i) {
    if (fds[i] >= 0) {
      shutdown(fds[i], SHUT_RD);
    } else {
      spdlog::debug("Body deadline passed for {}:{}, but its socket was not found",
                    due[i]->ends_.remote_address, due[i]->ends_.remote_port);
    }
  }
}

}  // namespace llm_exporter::transport
