// The datagram transports: a unix datagram socket (--ingest.listen-unixgram) and UDP
// (--ingest.listen-udp). Each datagram holds one event or an NDJSON batch; there is no reply.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ingest/event_pipeline.h"
#include "ingest/rate_limited_warning.h"
#include "ingest/socket_event_sink.h"
#include "ingest/socket_file.h"
#include "ingest/unique_fd.h"
#include "llm_exporter/clock.h"
#include "llm_exporter/transport.h"
#include "telemetry/listener_metrics.h"

namespace llm_exporter::ingest {

struct DatagramListenerOptions {
  Transport transport = Transport::kUnixgram;  // kUnixgram or kUdp
  std::string address;                          // unixgram: a path; UDP: host:port
  mode_t mode = 0660;                           // unixgram: the socket file's mode
  std::size_t max_datagram_bytes = 64u << 10;
  // UDP: the receive buffer asked for (SO_RCVBUF), which absorbs bursts while the thread is
  // busy. The kernel caps it at net.core.rmem_max unless the agent may override that.
  int receive_buffer_bytes = 8 << 20;
};

// Owns the socket (and for unixgram its file). Start() and Stop() are called from one thread;
// the listener's own thread receives in batches (recvmmsg) and calls only the thread-safe
// pipeline and metrics.
class DatagramListener {
 public:
  DatagramListener(DatagramListenerOptions options, EventPipeline& pipeline,
                   telemetry::ListenerMetrics& metrics, const Clock& clock);
  ~DatagramListener();
  DatagramListener(const DatagramListener&) = delete;
  DatagramListener& operator=(const DatagramListener&) = delete;

  // Binds and starts the thread. Throws std::runtime_error naming the address.
  void Start();
  // Reads the datagrams already queued, then closes the socket, removes a socket file and
  // joins the thread. Idempotent.
  void Stop();

  // The path, or host:port with the port the OS chose for port 0.
  const std::string& bound_address() const { return bound_address_; }
  // UDP: the receive buffer the kernel granted, in bytes as SO_RCVBUF reports it.
  int receive_buffer_bytes() const { return granted_receive_buffer_; }
  // UDP: whether the bound address is loopback only.
  bool loopback_only() const { return loopback_only_; }

 private:
  struct Slot;

  void BindUnix();
  void BindUdp();
  void Run();
  // Receives one batch without waiting; false when nothing was queued.
  bool ReceiveBatch(bool* full);
  void CountKernelDrops(msghdr& header);

  const DatagramListenerOptions options_;
  telemetry::ListenerMetrics& metrics_;
  SocketEventSink sink_;
  RateLimitedWarning drop_warning_;
  RateLimitedWarning error_warning_;

  UniqueFd fd_;
  UniqueFd wake_fd_;
  SocketFile socket_file_;
  std::string bound_address_;
  int granted_receive_buffer_ = 0;
  bool loopback_only_ = true;
  bool drops_reported_ = false;  // SO_RXQ_OVFL is on
  uint32_t last_drop_count_ = 0;

  // Datagram i lands at buffer_ + i * slot_bytes_; slots leave room for decoder padding, and
  // for the '\n' that joins datagrams when a batch is compacted into one run of lines.
  std::size_t batch_ = 0;
  std::size_t slot_bytes_ = 0;
  std::size_t buffer_size_ = 0;
  std::unique_ptr<char[]> buffer_;
  std::vector<Slot> slots_;
  std::vector<mmsghdr> messages_;

  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace llm_exporter::ingest
