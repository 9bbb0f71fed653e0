// What a sender reports after a run: how much it sent and the first error, if any.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace llm_exporter::bench {

struct SendReport {
  uint64_t events = 0;        // events written to the transport
  uint64_t acknowledged = 0;  // events the agent answered as accepted (HTTP only)
  std::size_t messages = 0;   // requests, writes or datagrams
  std::size_t connects = 0;   // connections opened (HTTP keep-alive: ideally one each)
  std::string error;          // empty when every send succeeded

  bool ok() const { return error.empty(); }

  // Adds one connection's report to a run's total; the first error is kept.
  void Add(const SendReport& other) {
    events += other.events;
    acknowledged += other.acknowledged;
    messages += other.messages;
    connects += other.connects;
    if (error.empty()) error = other.error;
  }
};

}  // namespace llm_exporter::bench
