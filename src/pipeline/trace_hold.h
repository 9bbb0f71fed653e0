// Holds the LLM-call spans of each trace briefly, so that only the innermost LLM call of a chain
// is counted: agent and framework spans (a Vercel AI SDK root span, Pydantic AI's agent run, a
// LangChain span around an OpenAI span) often repeat the tokens of the LLM calls under them.
// docs/otlp.md explains the delay and its bounds.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "llm_exporter/clock.h"
#include "llm_exporter/event.h"
#include "otlp/span.h"

namespace llm_exporter::pipeline {

struct TraceHoldOptions {
  // How long an LLM call waits for an LLM call under it to arrive; 0 decides when the request
  // that brought it has been read.
  std::chrono::nanoseconds hold = std::chrono::seconds(5);
  // How long the shape of a trace (which span is under which) is remembered after its last
  // span, so that an LLM call arriving after the calls under it (the usual order: a parent span
  // ends, and is exported, after its children) is known to be an outer one. At least `hold`.
  std::chrono::nanoseconds trace_memory = std::chrono::seconds(30);
  // Spans remembered at once across all traces. Past it the oldest traces are released early:
  // their held calls are decided on what is known, and their shape forgotten.
  std::size_t max_spans = 200'000;
};

// One span of a request as the hold sees it: where it sits in its trace.
struct SpanLink {
  otlp::TraceId trace_id{};
  otlp::SpanId span_id{};
  otlp::SpanId parent_span_id{};
  bool llm_call = false;
};

// An LLM call with its strings owned, waiting in the hold.
class HeldCall {
 public:
  HeldCall() = default;
  explicit HeldCall(const LlmCall& call);
  // The call, its views pointing into this HeldCall.
  LlmCall view() const;

 private:
  LlmCall numbers_;  // the call with its views cleared
  std::string strings_;
  std::array<uint32_t, 7> lengths_{};
};

// Thread-safe: Add() and Release() from any number of threads. Traces are spread over shards by
// trace id, each under its own lock; emit() is called with no lock held.
class TraceHold {
 public:
  TraceHold(TraceHoldOptions options, const Clock& clock);

  // One request's spans: `links` has every accepted span; `calls` the LLM calls among them, each
  // with the index of its link. A call without a trace or span id cannot be placed and is handed
  // to `emit` at once.
  void Add(std::span<const SpanLink> links, std::vector<std::pair<std::size_t, HeldCall>> calls,
           const std::function<void(const LlmCall&)>& emit);
  // Hands every call whose hold has passed to `emit`, unless an LLM call is known under it, and
  // forgets traces quiet for longer than trace_memory.
  void Release(const std::function<void(const LlmCall&)>& emit);
  // Releases everything now (at shutdown).
  void ReleaseAll(const std::function<void(const LlmCall&)>& emit);

  std::size_t held_calls() const;
  std::size_t remembered_spans() const;
  // Calls not counted because an LLM call under them was counted.
  uint64_t nested_total() const { return nested_.load(std::memory_order_relaxed); }
  // Traces released early because max_spans was reached.
  uint64_t evicted_traces_total() const { return evicted_.load(std::memory_order_relaxed); }

 private:
  struct Node {
    uint64_t parent = 0;
    bool llm_call = false;
    bool llm_below = false;  // an LLM call is known somewhere under this span
  };
  struct PendingCall {
    uint64_t span = 0;
    int64_t due = 0;
    HeldCall call;
  };
  struct TraceKeyHash {
    std::size_t operator()(const otlp::TraceId& id) const;
  };
  struct Trace {
    std::unordered_map<uint64_t, Node> nodes;
    std::vector<PendingCall> pending;  // in order of `due`
    int64_t last_seen = 0;
    std::list<otlp::TraceId>::iterator lru;
  };
  using TraceMap = std::unordered_map<otlp::TraceId, Trace, TraceKeyHash>;
  // A trace with a call due then (one per held call, in order of `due`).
  struct Due {
    otlp::TraceId trace_id;
    int64_t due = 0;
  };
  struct Shard {
    mutable std::mutex mu;
    TraceMap traces;
    std::list<otlp::TraceId> lru;  // least recently seen first
    std::deque<Due> due;
    std::size_t nodes = 0;
    std::size_t held = 0;
  };
  static constexpr std::size_t kShards = 16;

  int64_t Now() const;
  static std::size_t ShardOf(const otlp::TraceId& id);
  // Places a span in its trace and marks the spans above an LLM call.
  void Link(Shard& shard, Trace& trace, const SpanLink& link);
  // Moves the calls of `shard` that are due by `now` into `out`, decided; forgets quiet traces
  // and, past the shard's share of max_spans, the least recently seen ones.
  void Collect(Shard& shard, int64_t now, bool all, std::vector<HeldCall>* out);
  // Decides the held calls of `trace` due by `until` (all of them when `until` is max).
  void Decide(Shard& shard, Trace& trace, int64_t until, std::vector<HeldCall>* out);
  void Forget(Shard& shard, TraceMap::iterator it, std::vector<HeldCall>* out);

  const TraceHoldOptions options_;
  const Clock& clock_;
  std::array<Shard, kShards> shards_;
  std::atomic<uint64_t> nested_{0};
  std::atomic<uint64_t> evicted_{0};
};

}  // namespace llm_exporter::pipeline
