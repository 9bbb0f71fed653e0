// Runs one sender loop per connection, each on a thread of its own, and adds up their reports.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>

#include "loadgen/send_report.h"

namespace llm_exporter::bench {

// Calls connection(c, failed) for c in [0, connections) on as many threads and joins them. Once
// a connection's report has an error, `failed` turns true, and the other loops should stop.
// The total keeps the first error.
SendReport RunConnections(
    std::size_t connections,
    const std::function<SendReport(std::size_t, const std::atomic<bool>&)>& connection);

}  // namespace llm_exporter::bench
