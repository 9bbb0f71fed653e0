#include "telemetry/process_metrics.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <ctime>
#include <map>
#include <string>

namespace llm_exporter::telemetry {
namespace {

std::map<std::string, double> Values() {
  std::map<std::string, double> values;
  for (const auto& family : ProcessMetrics().Collect()) {
    const auto& metric = family.metric.at(0);
    values[family.name] = family.type == prometheus::MetricType::Counter ? metric.counter.value
                                                                         : metric.gauge.value;
  }
  return values;
}

TEST_CASE("ProcessMetrics: standard names with plausible values") {
  const auto values = Values();
  CHECK(values.size() == 6);
  CHECK(values.at("process_resident_memory_bytes") > 1e5);
  CHECK(values.at("process_virtual_memory_bytes") >= values.at("process_resident_memory_bytes"));
  CHECK(values.at("process_cpu_seconds_total") >= 0);
  CHECK(values.at("process_max_fds") >= values.at("process_open_fds"));
  const double now = static_cast<double>(std::time(nullptr));
  CHECK(values.at("process_start_time_seconds") <= now + 1);
  CHECK(values.at("process_start_time_seconds") > now - 3600);
}

TEST_CASE("ProcessMetrics: open file descriptors follow opens and closes exactly") {
  const double before = Values().at("process_open_fds");
  const int fd = open("/dev/null", O_RDONLY);
  CHECK(Values().at("process_open_fds") == before + 1);
  close(fd);
  CHECK(Values().at("process_open_fds") == before);
}

}  // namespace
}  // namespace llm_exporter::telemetry
