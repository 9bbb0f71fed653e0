#include "loadgen/parallel_connections.h"

#include <mutex>
#include <thread>
#include <vector>

namespace llm_exporter::bench {

SendReport RunConnections(
    std::size_t connections,
    const std::function<SendReport(std::size_t, const std::atomic<bool>&)>& connection) {
  std::atomic<bool> failed{false};
  std::mutex mu;
  SendReport total;
  std::vector<std::thread> threads;
  for (std::size_t c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      const SendReport mine = connection(c, failed);
      if (!mine.ok()) failed.store(true, std::memory_order_relaxed);
      std::lock_guard<std::mutex> lock(mu);
      total.Add(mine);
    });
  }
  for (std::thread& t : threads) t.join();
  return total;
}

}  // namespace llm_exporter::bench
