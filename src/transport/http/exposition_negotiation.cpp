#include "transport/http/exposition_negotiation.h"

#include <cctype>
#include <charconv>
#include <optional>

namespace llm_exporter::transport {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// Calls fn(part) for each part of `list` split at `separator`, trimmed.
template <typename Fn>
void Split(std::string_view list, char separator, Fn&& fn) {
  while (true) {
    const std::size_t at = list.find(separator);
    fn(Trim(list.substr(0, at)));
    if (at == std::string_view::npos) return;
    list.remove_prefix(at + 1);
  }
}

// One element of an Accept or Accept-Encoding list: its value and parameters, q apart.
struct Range {
  std::string_view value;
  std::string_view proto, encoding, version;
  double q = 1;
};

Range ParseRange(std::string_view element) {
  Range range;
  bool first = true;
  Split(element, ';', [&](std::string_view part) {
    if (first) {
      range.value = part;
      first = false;
      return;
    }
    const std::size_t eq = part.find('=');
    if (eq == std::string_view::npos) return;
    const std::string_view name = Trim(part.substr(0, eq));
    std::string_view value = Trim(part.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (EqualsIgnoringCase(name, "q")) {
      double q = 0;
      const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), q);
      range.q = ec == std::errc() && ptr == value.data() + value.size() && q >= 0 && q <= 1 ? q : 0;
    } else if (EqualsIgnoringCase(name, "proto")) {
      range.proto = value;
    } else if (EqualsIgnoringCase(name, "encoding")) {
      range.encoding = value;
    } else if (EqualsIgnoringCase(name, "version")) {
      range.version = value;
    }
  });
  return range;
}

std::optional<ExpositionFormat> FormatOf(const Range& r) {
  if (EqualsIgnoringCase(r.value, "application/vnd.google.protobuf")) {
    if (r.proto == "io.prometheus.client.MetricFamily" && r.encoding == "delimited") {
      return ExpositionFormat::kProtobuf;
    }
    return std::nullopt;
  }
  if (EqualsIgnoringCase(r.value, "application/openmetrics-text")) {
    if (r.version.empty() || r.version == "1.0.0" || r.version == "0.0.1") {
      return ExpositionFormat::kOpenMetrics;
    }
    return std::nullopt;
  }
  if (EqualsIgnoringCase(r.value, "text/plain")) {
    if (r.version.empty() || r.version == "0.0.4") return ExpositionFormat::kText;
    return std::nullopt;
  }
  if (r.value == "*/*" || EqualsIgnoringCase(r.value, "text/*")) return ExpositionFormat::kText;
  return std::nullopt;
}

}  // namespace

ExpositionFormat NegotiateExposition(std::string_view accept) {
  ExpositionFormat best = ExpositionFormat::kText;
  double best_q = 0;
  Split(accept, ',', [&](std::string_view element) {
    if (element.empty()) return;
    const Range range = ParseRange(element);
    const std::optional<ExpositionFormat> format = FormatOf(range);
    if (format && range.q > best_q) {
      best = *format;
      best_q = range.q;
    }
  });
  return best;
}

bool AcceptsGzip(std::string_view accept_encoding) {
  // An explicit "gzip;q=0" refuses gzip even beside "*".
  std::optional<double> gzip, any;
  Split(accept_encoding, ',', [&](std::string_view element) {
    if (element.empty()) return;
    const Range range = ParseRange(element);
    if (EqualsIgnoringCase(range.value, "gzip")) gzip = range.q;
    if (range.value == "*") any = range.q;
  });
  return gzip ? *gzip > 0 : any && *any > 0;
}

}  // namespace llm_exporter::transport
