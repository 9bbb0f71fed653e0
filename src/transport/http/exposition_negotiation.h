// Which exposition format and encoding a scrape gets, from its Accept and Accept-Encoding headers,
// as client_golang and prometheus_client negotiate them.
#pragma once

#include <string_view>

#include "llm_exporter/metrics_source.h"

namespace llm_exporter::transport {

// The media range of highest q (the first of equal ones) that names a format:
// - application/vnd.google.protobuf with proto=io.prometheus.client.MetricFamily and
//   encoding=delimited: protobuf;
// - application/openmetrics-text with version 1.0.0, 0.0.1 or none: OpenMetrics;
// - text/plain (version 0.0.4 or none), */*, text/*: the text format.
// Anything else, an empty header, or ranges all at q=0: the text format.
ExpositionFormat NegotiateExposition(std::string_view accept);

// Whether Accept-Encoding allows gzip: a "gzip" coding whose q is above 0, or failing any
// "gzip", a "*" whose q is above 0.
bool AcceptsGzip(std::string_view accept_encoding);

}  // namespace llm_exporter::transport
