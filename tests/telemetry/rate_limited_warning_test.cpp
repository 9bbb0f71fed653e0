#include "telemetry/rate_limited_warning.h"

#include <doctest/doctest.h>

#include "fakes/fake_clock.h"

namespace llm_exporter::telemetry {
namespace {

using std::chrono::seconds;

TEST_CASE("RateLimitedWarning: the first occurrence logs, then at most one line per interval "
          "reporting everything held back") {
  llm_exporter::testing::FakeClock clock;
  RateLimitedWarning warning(clock, seconds(10));
  CHECK(warning.Record() == 1);
  CHECK(warning.Record() == 0);
  CHECK(warning.Record(5) == 0);
  clock.Advance(seconds(9));
  CHECK(warning.Record() == 0);
  clock.Advance(seconds(1));
  CHECK(warning.Record(2) == 9);  // 1 + 5 + 1 held back, and these 2
  CHECK(warning.Record() == 0);
  clock.Advance(seconds(60));
  CHECK(warning.Record() == 2);
}

}  // namespace
}  // namespace llm_exporter::telemetry
