// What the HTTP transport serves at /metrics: a source of exposition in the format the scraper
// asked for. The expose stage implements it; the transport knows nothing of the store behind it.
#pragma once

#include <string>
#include <string_view>

namespace llm_exporter {

// The exposition formats /metrics negotiates by the scraper's Accept header.
enum class ExpositionFormat : unsigned char {
  kText,         // the Prometheus text format 0.0.4
  kOpenMetrics,  // OpenMetrics 1.0 text: exemplars, _created samples, # UNIT, # EOF
  kProtobuf,     // delimited io.prometheus.client.MetricFamily messages: native histograms too
};

// The Content-Type a response in `format` carries.
inline std::string_view ContentTypeOf(ExpositionFormat format) {
  switch (format) {
    case ExpositionFormat::kOpenMetrics:
      return "application/openmetrics-text; version=1.0.0; charset=utf-8";
    case ExpositionFormat::kProtobuf:
      return "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
             "encoding=delimited";
    case ExpositionFormat::kText: break;
  }
  return "text/plain; version=0.0.4; charset=utf-8";
}

// Implementations are thread-safe: concurrent scrapes may call Render() at once.
class MetricsSource {
 public:
  virtual ~MetricsSource() = default;
  // Everything /metrics holds, in `format`. Reading changes nothing.
  virtual std::string Render(ExpositionFormat format) = 0;
};

}  // namespace llm_exporter
