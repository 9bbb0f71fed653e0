// A deadline on reading request bodies. civetweb's mg_read() returns only once it has every byte
// asked for, however slowly they trickle in (its own timeout is per silent gap, not per body), so
// a client sending one byte a second would hold a worker thread for as long as it likes. The
// watchdog shuts the read side of such a connection's socket at the deadline, which ends the
// blocked read at once; the handler then answers 408 and the connection closes.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace llm_exporter::transport {

// A TCP connection as the request handler knows it: civetweb does not expose the socket, so the
// watchdog finds it among the process's descriptors by its two ends when it has to act.
struct ConnectionEnds {
  int local_port = 0;
  std::string remote_address;  // numeric, as civetweb prints it ("127.0.0.1", "::1")
  int remote_port = 0;
};

// Thread-safe. One thread sleeps until the earliest deadline; handlers call Watch() from any
// thread. A socket is shut down only while its handler's Watch is alive, so the descriptor is
// still the connection's own (civetweb closes it only after the handler returns).
class BodyDeadline {
 public:
  using Clock = std::chrono::steady_clock;

  BodyDeadline();
  ~BodyDeadline();
  BodyDeadline(const BodyDeadline&) = delete;
  BodyDeadline& operator=(const BodyDeadline&) = delete;

  // Watches one body read; the read is cut off if it is still going at `deadline`. A Watch is
  // its own entry in the owner's list (linked in and out under the owner's lock), so watching a
  // read allocates nothing: one watch per request, and a std::map node each was most of the
  // bookkeeping's cost.
  class Watch {
   public:
    Watch(BodyDeadline& owner, ConnectionEnds ends, Clock::time_point deadline);
    ~Watch();
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;
    // True once the deadline passed while the read was going on.
    bool expired() const { return expired_.load(std::memory_order_acquire); }

   private:
    friend class BodyDeadline;
    BodyDeadline& owner_;
    const ConnectionEnds ends_;
    const Clock::time_point deadline_;
    // Set by the watchdog under the owner's lock, before it shuts the socket; read without it.
    std::atomic<bool> expired_{false};
    Watch* prev_ = nullptr;  // the owner's list, under its lock
    Watch* next_ = nullptr;
  };

  // Reads cut off so far.
  uint64_t expired_count() const;

 private:
  void Add(Watch* watch);
  void Remove(Watch* watch);
  void Run();
  // Shuts the read side of every expired watch's socket; called with mu_ held.
  void ExpireDue(Clock::time_point now);

  mutable std::mutex mu_;
  std::condition_variable wake_;
  Watch* first_ = nullptr;  // the watches alive, oldest first
  Watch* last_ = nullptr;
  uint64_t expired_count_ = 0;
  // When the thread wakes next: Add() wakes it sooner only for an earlier deadline.
  Clock::time_point next_wake_ = Clock::time_point::max();
  bool stop_ = false;
  std::thread thread_;
};

// The descriptor of the TCP socket with each of `wanted`'s ends, or -1 where there is none. Scans
// the process's open descriptors once: meant for the rare expired read, not for every request.
std::vector<int> FindConnectionSockets(const std::vector<ConnectionEnds>& wanted);

// Whether `fd` is the TCP socket with these two ends (two system calls).
bool SocketHasEnds(int fd, const ConnectionEnds& ends);

// Every TCP socket of the process whose local port is `local_port` and that has a peer, with its
// ends, from one scan of the process's open descriptors.
struct ConnectionSocket {
  int fd = -1;
  ConnectionEnds ends;
};
std::vector<ConnectionSocket> ListConnectionSockets(int local_port);

}  // namespace llm_exporter::transport
