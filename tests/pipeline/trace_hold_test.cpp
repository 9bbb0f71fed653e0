#include "pipeline/trace_hold.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <tuple>

#include <string>
#include <vector>

#include "fakes/fake_clock.h"

namespace llm_exporter::pipeline {
namespace {

using namespace std::chrono_literals;

otlp::TraceId Trace(uint8_t n) {
  otlp::TraceId id{};
  id[0] = n;
  id[15] = 0x5a;
  return id;
}
otlp::SpanId Span(uint8_t n) {
  otlp::SpanId id{};
  if (n != 0) {
    id[0] = n;
    id[7] = 0x11;
  }
  return id;
}

// Records what the hold lets through, by model.
struct Emitted {
  std::vector<std::string> models;
  std::function<void(const LlmCall&)> fn() {
    return [this](const LlmCall& c) { models.emplace_back(c.model); };
  }
};

HeldCall Call(std::string_view model) {
  LlmCall c;
  c.model = model;
  c.endpoint = "chat";
  c.user_id = "u1";
  c.trace_id = "0102";
  c.input_tokens = 7;
  return HeldCall(c);
}

struct HoldFixture {
  testing::FakeClock clock;
  TraceHoldOptions options;
  Emitted emitted;
  std::unique_ptr<TraceHold> hold;
  explicit HoldFixture(std::chrono::nanoseconds hold_for = 5s, std::size_t max_spans = 200'000) {
    options.hold = hold_for;
    options.trace_memory = 30s;
    options.max_spans = max_spans;
    hold = std::make_unique<TraceHold>(options, clock);
  }
  // One request: spans as (span, parent, model-or-empty) of trace `t`.
  void Add(uint8_t t, std::vector<std::tuple<uint8_t, uint8_t, std::string_view>> spans) {
    std::vector<SpanLink> links;
    std::vector<std::pair<std::size_t, HeldCall>> calls;
    for (const auto& [span, parent, model] : spans) {
      links.push_back(SpanLink{Trace(t), Span(span), Span(parent), !model.empty()});
      if (!model.empty()) calls.emplace_back(links.size() - 1, Call(model));
    }
    hold->Add(links, std::move(calls), emitted.fn());
  }
  void Release() { hold->Release(emitted.fn()); }
};

TEST_CASE("TraceHold: HeldCall keeps every string and number of the call") {
  LlmCall c;
  c.model = "gpt-4o";
  c.endpoint = "chat";
  c.status = "error";
  c.user_id = "alice";
  c.team_id = "search";
  c.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  c.span_id = "00f067aa0ba902b7";
  c.input_tokens = 11;
  c.output_tokens = 22;
  c.cached_input_tokens = 3;
  c.latency_seconds = 1.5;
  c.ttft_seconds = 0.25;
  c.caller_cost_pico = 42;
  const HeldCall held(c);
  const LlmCall v = held.view();
  CHECK(v.model == "gpt-4o");
  CHECK(v.endpoint == "chat");
  CHECK(v.status == "error");
  CHECK(v.user_id == "alice");
  CHECK(v.team_id == "search");
  CHECK(v.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(v.span_id == "00f067aa0ba902b7");
  CHECK(v.input_tokens == 11);
  CHECK(v.output_tokens == 22);
  CHECK(v.cached_input_tokens == 3);
  CHECK(v.latency_seconds == 1.5);
  CHECK(v.ttft_seconds == 0.25);
  CHECK(v.caller_cost_pico == 42);
}

TEST_CASE("TraceHold: a call is held for the hold, then counted") {
  HoldFixture f;
  f.Add(1, {{1, 0, "gpt-4o"}});
  f.Release();
  CHECK(f.emitted.models.empty());
  CHECK(f.hold->held_calls() == 1);
  f.clock.Advance(4999ms);
  f.Release();
  CHECK(f.emitted.models.empty());
  f.clock.Advance(1ms);
  f.Release();
  CHECK(f.emitted.models == std::vector<std::string>{"gpt-4o"});
  CHECK(f.hold->held_calls() == 0);
  CHECK(f.hold->nested_total() == 0);
}

TEST_CASE("TraceHold: with no hold a call is counted at the next release") {
  HoldFixture f(0s);
  f.Add(1, {{1, 0, "gpt-4o"}});
  f.Release();
  CHECK(f.emitted.models == std::vector<std::string>{"gpt-4o"});
}

TEST_CASE("TraceHold: an outer call arriving after the call under it is not counted") {
  // The usual order: the inner span ends first and is exported first.
  HoldFixture f;
  f.Add(1, {{2, 1, "gpt-4o-inner"}});
  f.clock.Advance(6s);
  f.Release();
  CHECK(f.emitted.models == std::vector<std::string>{"gpt-4o-inner"});
  f.Add(1, {{1, 0, "agent-outer"}});  // long after the inner call was counted
  f.clock.Advance(6s);
  f.Release();
  CHECK(f.emitted.models == std::vector<std::string>{"gpt-4o-inner"});
  CHECK(f.hold->nested_total() == 1);
}

TEST_CASE("TraceHold: an outer call arriving first waits for the call under it") {
  HoldFixture f;
  f.Add(1, {{1, 0, "agent-outer"}});
  f.clock.Advance(3s);
  f.Add(1, {{2, 1, "gpt-4o-inner"}});
  f.clock.Advance(2s);  // the outer call's hold is over
  f.Release();
  CHECK(f.emitted.models.empty());
  CHECK(f.hold->nested_total() == 1);
  f.clock.Advance(3s);
  f.Release();
  CHECK(f.emitted.models == std::vector<std::string>{"gpt-4o-inner"});
}

TEST_CASE("TraceHold: spans that are no calls link a call to the call above it") {
  // chat (LLM) under chain (not a call) under agent (an LLM-call-shaped span), in one request
  // and in wire order child-first, as a LangChain span around an OpenAI span.
  HoldFixture f(0s);
  f.Add(1, {{3, 2, "gpt-4o"}, {2, 1, ""}, {1, 0, "langchain-llm"}});
  f.Release();
  CHECK(f.emitted.models == std::vector<std::string>{"gpt-4o"});
  CHECK(f.hold->nested_total() == 1);

  // And across requests, the link arriving last.
  HoldFixture g;
  g.Add(1, {{3, 2, "gpt-4o"}});
  g.Add(1, {{1, 0, "outer"}});
  g.Add(1, {{2, 1, ""}});
  g.clock.Advance(5s);
  g.Release();
  CHECK(g.emitted.models == std::vector<std::string>{"gpt-4o"});

  // The span between them arriving first of all, in a request of its own, as one-span exports
  // sent concurrently may: it is remembered though its trace has no call yet.
  HoldFixture h;
  h.Add(1, {{2, 1, ""}});
  h.Add(1, {{3, 2, "gpt-4o"}});
  h.Add(1, {{1, 0, "outer"}});
  h.clock.Advance(5s);
  h.Release();
  CHECK(h.emitted.models == std::vector<std::string>{"gpt-4o"});
  CHECK(h.hold->nested_total() == 1);
}

TEST_CASE("TraceHold: sibling calls and calls of other traces are all counted") {
  HoldFixture f(0s);
  f.Add(1, {{2, 1, "a"}, {3, 1, "b"}, {1, 0, ""}});
  f.Add(2, {{2, 1, "c"}});
  f.Add(3, {{1, 0, "d"}});
  f.Release();
  std::sort(f.emitted.models.begin(), f.emitted.models.end());
  CHECK(f.emitted.models == std::vector<std::string>{"a", "b", "c", "d"});
  CHECK(f.hold->nested_total() == 0);
}

TEST_CASE("TraceHold: a call without a trace or span id is counted at once") {
  HoldFixture f;
  std::vector<SpanLink> links = {SpanLink{otlp::TraceId{}, Span(1), Span(0), true},
                                 SpanLink{Trace(1), Span(0), Span(0), true}};
  std::vector<std::pair<std::size_t, HeldCall>> calls;
  calls.emplace_back(0, Call("no-trace"));
  calls.emplace_back(1, Call("no-span"));
  f.hold->Add(links, std::move(calls), f.emitted.fn());
  CHECK(f.emitted.models == std::vector<std::string>{"no-trace", "no-span"});
  CHECK(f.hold->held_calls() == 0);
}

TEST_CASE("TraceHold: root spans of traces without calls are not remembered; quiet traces are "
          "forgotten") {
  HoldFixture f(1s);
  f.Add(1, {{1, 0, ""}});
  CHECK(f.hold->remembered_spans() == 0);
  f.Add(2, {{2, 1, "gpt-4o"}, {1, 0, ""}});
  CHECK(f.hold->remembered_spans() == 2);
  f.Add(3, {{5, 4, ""}});  // a span with a parent may link two calls: remembered
  CHECK(f.hold->remembered_spans() == 3);
  f.clock.Advance(29s);
  f.Release();
  CHECK(f.hold->remembered_spans() == 3);
  f.clock.Advance(1s);
  f.Release();
  CHECK(f.hold->remembered_spans() == 0);
  CHECK(f.emitted.models == std::vector<std::string>{"gpt-4o"});
}

TEST_CASE("TraceHold: past max_spans the oldest traces are released early, nothing is lost") {
  HoldFixture f(5s, 32);  // 2 spans per shard
  for (int t = 1; t <= 200; ++t) f.Add(static_cast<uint8_t>(t), {{1, 0, "m"}, {2, 1, ""}});
  CHECK(f.hold->remembered_spans() <= 32);
  CHECK(f.hold->evicted_traces_total() > 0);
  const std::size_t early = f.emitted.models.size();
  CHECK(early == f.hold->evicted_traces_total());
  f.clock.Advance(5s);
  f.Release();
  CHECK(f.emitted.models.size() == 200);
  CHECK(f.hold->held_calls() == 0);
}

TEST_CASE("TraceHold: a cycle of parents in hostile input ends") {
  HoldFixture f(0s);
  f.Add(1, {{1, 2, "a"}, {2, 1, "b"}, {3, 3, "self"}});
  f.Release();
  CHECK(f.hold->held_calls() == 0);
  // Each of a and b is under the other: neither is innermost. A span that is its own parent
  // is not under itself.
  CHECK(f.emitted.models == std::vector<std::string>{"self"});
}

TEST_CASE("TraceHold: ReleaseAll decides every held call now") {
  HoldFixture f;
  f.Add(1, {{2, 1, "inner"}, {1, 0, "outer"}});
  f.Add(2, {{1, 0, "solo"}});
  f.hold->ReleaseAll(f.emitted.fn());
  std::sort(f.emitted.models.begin(), f.emitted.models.end());
  CHECK(f.emitted.models == std::vector<std::string>{"inner", "solo"});
  CHECK(f.hold->remembered_spans() == 0);
}

}  // namespace
}  // namespace llm_exporter::pipeline
