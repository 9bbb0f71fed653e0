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

TEST_CASE("Exemplars: allocated at the first one, one slot per bucket, copies are deep") {
  Exemplars exemplars;
  CHECK(exemplars.slots().empty());
  exemplars.Set(8, 3, "t", "s", 0.7, 5);
  REQUIRE(exemplars.slots().size() == 8);
  CHECK(exemplars.slots()[3].trace_id() == "t");
  CHECK(exemplars.slots()[0].empty());
  Exemplars copy = exemplars;
  exemplars.Set(8, 3, "u", "", 0.8, 6);
  CHECK(copy.slots()[3].trace_id() == "t");
  CHECK(exemplars.slots()[3].trace_id() == "u");
}

}  // namespace
}  // namespace llm_exporter::aggregate
static_assert(sizeof(llm_exporter::aggregate::ExemplarSlot) == 120, "docs/metrics.md gives this size");
