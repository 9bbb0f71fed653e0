#include "pipeline/trace_hold.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace llm_exporter::pipeline {
namespace {

uint64_t SpanKey(const otlp::SpanId& id) {
  uint64_t key = 0;
  std::memcpy(&key, id.data(), sizeof key);
  return key;
}

bool IsZero(const otlp::TraceId& id) {
  return std::all_of(id.begin(), id.end(), [](uint8_t b) { return b == 0; });
}

}  // namespace

HeldCall::HeldCall(const LlmCall& call) : numbers_(call) {
  const std::array<std::string_view, 7> views = {call.model,   call.endpoint, call.status,
                                                 call.user_id, call.team_id,  call.trace_id,
                                                 call.span_id};
  std::size_t total = 0;
  for (std::string_view v : views) total += v.size();
  strings_.reserve(total);
  for (std::size_t i = 0; i < views.size(); ++i) {
    strings_.append(views[i]);
    lengths_[i] = static_cast<uint32_t>(views[i].size());
  }
  numbers_.model = numbers_.endpoint = numbers_.status = {};
  numbers_.user_id = numbers_.team_id = numbers_.trace_id = numbers_.span_id = {};
}

LlmCall HeldCall::view() const {
  LlmCall call = numbers_;
  std::array<std::string_view*, 7> fields = {&call.model,   &call.endpoint, &call.status,
                                             &call.user_id, &call.team_id,  &call.trace_id,
                                             &call.span_id};
  std::size_t at = 0;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    *fields[i] = std::string_view(strings_).substr(at, lengths_[i]);
    at += lengths_[i];
  }
  return call;
}

std::size_t TraceHold::TraceKeyHash::operator()(const otlp::TraceId& id) const {
  uint64_t a = 0, b = 0;
  std::memcpy(&a, id.data(), 8);
  std::memcpy(&b, id.data() + 8, 8);
  return static_cast<std::size_t>((a ^ (b * 0x9E3779B97F4A7C15ull)) * 0xBF58476D1CE4E5B9ull);
}

TraceHold::TraceHold(TraceHoldOptions options, const Clock& clock)
    : options_([&] {
        options.trace_memory = std::max(options.trace_memory, options.hold);
        options.max_spans = std::max<std::size_t>(options.max_spans, kShards);
        return options;
      }()),
      clock_(clock) {}

int64_t TraceHold::Now() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             clock_.SteadyNow().time_since_epoch())
      .count();
}

std::size_t TraceHold::ShardOf(const otlp::TraceId& id) {
  return TraceKeyHash{}(id) >> 60;  // the top 4 bits: 16 shards
}
static_assert(sizeof(std::size_t) == 8);

void TraceHold::Link(Shard& shard, Trace& trace, const SpanLink& link) {
  const uint64_t key = SpanKey(link.span_id);
  auto [it, added] = trace.nodes.try_emplace(key);
  if (added) ++shard.nodes;
  Node& node = it->second;
  node.parent = SpanKey(link.parent_span_id);
  node.llm_call = node.llm_call || link.llm_call;
  if (!node.llm_call && !node.llm_below) return;
  // Mark every known span above it. Marks only ever go from false to true, and a walk stops at
  // a span already marked, so a cycle in hostile input ends the walk too.
  uint64_t up = node.parent;
  for (std::size_t steps = 0; up != 0 && up != key && steps <= trace.nodes.size(); ++steps) {
    auto [p, created] = trace.nodes.try_emplace(up);
    if (created) ++shard.nodes;
    if (p->second.llm_below) break;
    p->second.llm_below = true;
    up = p->second.parent;
  }
}

void TraceHold::Add(std::span<const SpanLink> links,
                    std::vector<std::pair<std::size_t, HeldCall>> calls,
                    const std::function<void(const LlmCall&)>& emit) {
  if (calls.empty() && links.empty()) return;
  const int64_t now = Now();
  const int64_t due = now + options_.hold.count();
  // Which links' traces hold a call of this request. A trace new to the hold is remembered
  // from a span of this request if the trace has a call here, or if the span has a parent: a
  // span between two calls (a LangChain chain between its LLM span and the OpenAI span) may
  // arrive before either when exports race. Only a root span that is no call needs no shape.
  std::vector<bool> is_call(links.size(), false);
  for (const auto& [index, call] : calls) {
    if (index < links.size()) is_call[index] = true;
  }
  std::vector<HeldCall> ready;  // calls that cannot be placed, or released by eviction
  std::array<std::vector<std::size_t>, kShards> by_shard;
  for (std::size_t i = 0; i < links.size(); ++i) {
    if (IsZero(links[i].trace_id)) continue;
    by_shard[ShardOf(links[i].trace_id)].push_back(i);
  }
  std::array<std::vector<std::pair<std::size_t, HeldCall>*>, kShards> calls_by_shard;
  for (auto& entry : calls) {
    const std::size_t index = entry.first;
    if (index >= links.size() || IsZero(links[index].trace_id) ||
        SpanKey(links[index].span_id) == 0) {
      ready.push_back(std::move(entry.second));
      continue;
    }
    calls_by_shard[ShardOf(links[index].trace_id)].push_back(&entry);
  }
  const std::size_t share = options_.max_spans / kShards;
  for (std::size_t s = 0; s < kShards; ++s) {
    if (by_shard[s].empty()) continue;
    Shard& shard = shards_[s];
    std::lock_guard<std::mutex> lock(shard.mu);
    // Traces to remember: those with a call in this request, or already remembered.
    std::vector<otlp::TraceId> with_call;
    for (const auto* entry : calls_by_shard[s]) with_call.push_back(links[entry->first].trace_id);
    std::sort(with_call.begin(), with_call.end());
    for (const std::size_t i : by_shard[s]) {
      const SpanLink& link = links[i];
      auto it = shard.traces.find(link.trace_id);
      if (it == shard.traces.end()) {
        if (!is_call[i] && SpanKey(link.parent_span_id) == 0 &&
            !std::binary_search(with_call.begin(), with_call.end(), link.trace_id)) {
          continue;  // a root span that is no call, of a trace with no call here
        }
        it = shard.traces.try_emplace(link.trace_id).first;
        shard.lru.push_back(link.trace_id);
        it->second.lru = std::prev(shard.lru.end());
      }
      Trace& trace = it->second;
      if (trace.last_seen != now) {
        trace.last_seen = now;
        shard.lru.splice(shard.lru.end(), shard.lru, trace.lru);
      }
      Link(shard, trace, link);
    }
    for (auto* entry : calls_by_shard[s]) {
      const SpanLink& link = links[entry->first];
      Trace& trace = shard.traces.find(link.trace_id)->second;
      trace.pending.push_back(PendingCall{SpanKey(link.span_id), due, std::move(entry->second)});
      ++shard.held;
      shard.due.push_back(Due{link.trace_id, due});
    }
    // Over its share of max_spans: forget the least recently seen traces.
    while (shard.nodes > share && !shard.lru.empty()) {
      auto oldest = shard.traces.find(shard.lru.front());
      evicted_.fetch_add(1, std::memory_order_relaxed);
      Forget(shard, oldest, &ready);
    }
  }
  for (const HeldCall& call : ready) emit(call.view());
}

void TraceHold::Decide(Shard& shard, Trace& trace, int64_t until, std::vector<HeldCall>* out) {
  std::size_t decided = 0;
  for (PendingCall& p : trace.pending) {
    if (p.due > until) break;
    ++decided;
    const auto node = trace.nodes.find(p.span);
    if (node != trace.nodes.end() && node->second.llm_below) {
      nested_.fetch_add(1, std::memory_order_relaxed);
    } else {
      out->push_back(std::move(p.call));
    }
  }
  trace.pending.erase(trace.pending.begin(),
                      trace.pending.begin() + static_cast<std::ptrdiff_t>(decided));
  shard.held -= decided;
}

void TraceHold::Forget(Shard& shard, TraceMap::iterator it, std::vector<HeldCall>* out) {
  Decide(shard, it->second, std::numeric_limits<int64_t>::max(), out);
  shard.nodes -= it->second.nodes.size();
  shard.lru.erase(it->second.lru);
  shard.traces.erase(it);
}

void TraceHold::Collect(Shard& shard, int64_t now, bool all, std::vector<HeldCall>* out) {
  // The due list has one entry per call held; entries of traces already forgotten are skipped.
  // It is kept to twice the shard's share of max_spans by deciding its oldest entries early.
  const std::size_t max_due = 2 * (options_.max_spans / kShards);
  while (!shard.due.empty() &&
         (all || shard.due.front().due <= now || shard.due.size() > max_due)) {
    const Due d = shard.due.front();
    shard.due.pop_front();
    auto it = shard.traces.find(d.trace_id);
    if (it != shard.traces.end()) Decide(shard, it->second, all ? now : d.due, out);
  }
  const int64_t quiet_since = now - options_.trace_memory.count();
  while (!shard.lru.empty()) {
    auto it = shard.traces.find(shard.lru.front());
    if (!all && it->second.last_seen > quiet_since) break;
    Forget(shard, it, out);
  }
}

void TraceHold::Release(const std::function<void(const LlmCall&)>& emit) {
  const int64_t now = Now();
  std::vector<HeldCall> out;
  for (Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mu);
    Collect(shard, now, false, &out);
  }
  for (const HeldCall& call : out) emit(call.view());
}

void TraceHold::ReleaseAll(const std::function<void(const LlmCall&)>& emit) {
  std::vector<HeldCall> out;
  for (Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mu);
    Collect(shard, std::numeric_limits<int64_t>::max(), true, &out);
  }
  for (const HeldCall& call : out) emit(call.view());
}

std::size_t TraceHold::held_calls() const {
  std::size_t n = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mu);
    n += shard.held;
  }
  return n;
}

std::size_t TraceHold::remembered_spans() const {
  std::size_t n = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mu);
    n += shard.nodes;
  }
  return n;
}

}  // namespace llm_exporter::pipeline
