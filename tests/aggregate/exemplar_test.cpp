#include "aggregate/exemplar.h"

#include <doctest/doctest.h>

#include <string>

namespace llm_exporter::aggregate {
namespace {

TEST_CASE("Exemplar ids: printable ASCII without space, quote or backslash, within the limit") {
  CHECK(UsableExemplarId("4bf92f3577b34da6a3ce929d0e0e4736", kMaxExemplarTraceId));
  CHECK(UsableExemplarId("550e8400-e29b-41d4-a716-446655440000", kMaxExemplarTraceId));
  CHECK(UsableExemplarId(std::string(64, 'a'), kMaxExemplarTraceId));
  CHECK_FALSE(UsableExemplarId(std::string(65, 'a'), kMaxExemplarTraceId));
  CHECK_FALSE(UsableExemplarId("", kMaxExemplarTraceId));
  CHECK_FALSE(UsableExemplarId("a b", kMaxExemplarTraceId));
  CHECK_FALSE(UsableExemplarId("a\"b", kMaxExemplarTraceId));
  CHECK_FALSE(UsableExemplarId("a\\b", kMaxExemplarTraceId));
  CHECK_FALSE(UsableExemplarId("a\nb", kMaxExemplarTraceId));
  CHECK_FALSE(UsableExemplarId("caf\xc3\xa9", kMaxExemplarTraceId));  // UTF-8, not ASCII
  CHECK_FALSE(UsableExemplarId("\xff\xfe", kMaxExemplarTraceId));     // not UTF-8 at all
  // With the label names, the longest ids stay within OpenMetrics' 128 characters.
  CHECK(std::string("trace_id").size() + kMaxExemplarTraceId + std::string("span_id").size() +
            kMaxExemplarSpanId <=
        128);
}

TEST_CASE("ExemplarSlot: replaced in place; an unusable span id is left out") {
  ExemplarSlot slot;
  CHECK(slot.empty());
  slot.Set("trace-1", "span-1", 0.5, 100);
  CHECK(slot.trace_id() == "trace-1");
  CHECK(slot.span_id() == "span-1");
  CHECK(slot.value() == 0.5);
  CHECK(slot.timestamp() == 100);
  slot.Set(std::string(64, 't'), std::string(32, 's'), 2, 101);
  CHECK(slot.trace_id() == std::string(64, 't'));
  CHECK(slot.span_id() == std::string(32, 's'));
  slot.Set("t", "", 3, 102);
  CHECK(slot.trace_id() == "t");
  CHECK(slot.span_id().empty());
}

TEST_CASE("ExemplarIds: checked once per call; an unusable span id is left out") {
  const ExemplarIds both("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
  CHECK(both.usable());
  CHECK(both.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(both.span_id == "00f067aa0ba902b7");
  const ExemplarIds long_span("t", std::string(33, 's'));
  CHECK(long_span.usable());
  CHECK(long_span.span_id.empty());
  const ExemplarIds bad_trace("a b", "s");
  CHECK_FALSE(bad_trace.usable());
  CHECK(bad_trace.span_id.empty());
  CHECK_FALSE(ExemplarIds("", "s").usable());
}

std::vector<ExemplarSlot> Expanded(const Exemplars& exemplars) {
  std::vector<ExemplarSlot> out;
  exemplars.AppendTo(&out);
  return out;
}

TEST_CASE("Exemplars: allocated at the first one, one slot per bucket, copies are deep") {
  Exemplars exemplars;
  CHECK(exemplars.size() == 0);
  CHECK(exemplars.MemoryBytes() == 0);
  CHECK(Expanded(exemplars).empty());
  exemplars.Set(8, 3, "t", "s", 0.7, 5);
  REQUIRE(exemplars.size() == 8);
  std::vector<ExemplarSlot> slots = Expanded(exemplars);
  REQUIRE(slots.size() == 8);
  CHECK(slots[3].trace_id() == "t");
  CHECK(slots[3].span_id() == "s");
  CHECK(slots[3].value() == 0.7);
  CHECK(slots[3].timestamp() == 5);
  CHECK(slots[0].empty());
  Exemplars copy = exemplars;
  exemplars.Set(8, 3, "u", "", 0.8, 6);
  CHECK(Expanded(copy)[3].trace_id() == "t");
  CHECK(Expanded(exemplars)[3].trace_id() == "u");
  CHECK(Expanded(exemplars)[3].span_id().empty());
}

TEST_CASE("Exemplars: sized for the ids seen, grown for longer ones without losing any") {
  Exemplars exemplars;
  const std::string trace(32, 'a'), span(16, 'b');
  exemplars.Set(1, 0, trace, span, 1, 10);
  CHECK(exemplars.MemoryBytes() == 72);  // 18 bytes of value, time and sizes, 48 of ids, 6 spare
  Exemplars histogram;
  histogram.Set(8, 2, trace, span, 0.3, 11);
  CHECK(histogram.MemoryBytes() == 8 * 72);
  const std::string longest(64, 'c'), long_span(32, 'd');
  histogram.Set(8, 5, longest, long_span, 4, 12);
  CHECK(histogram.MemoryBytes() == 8 * 120);  // 18 + 96, rounded up to 8
  const std::vector<ExemplarSlot> slots = Expanded(histogram);
  CHECK(slots[2].trace_id() == trace);
  CHECK(slots[2].span_id() == span);
  CHECK(slots[2].value() == 0.3);
  CHECK(slots[5].trace_id() == longest);
  CHECK(slots[5].span_id() == long_span);
  CHECK(slots[5].timestamp() == 12);
  histogram.Set(8, 2, "short", "", 0.2, 13);  // shorter ids reuse the room
  CHECK(histogram.MemoryBytes() == 8 * 120);
  CHECK(Expanded(histogram)[2].trace_id() == "short");
}

}  // namespace
}  // namespace llm_exporter::aggregate
static_assert(sizeof(llm_exporter::aggregate::ExemplarSlot) == 120, "the snapshot's slot");
