// Fuzzes the exposition: (1) TextWriter given arbitrary label values, help text and sample values
// must write lines that parse back to exactly what it was given; (2) the input decoded as a body,
// priced, recorded in a real SeriesStore and rendered by the real MetricsRenderer must give a
// scrape in which every line parses, every label value is valid UTF-8 and correctly escaped, and
// every accepted event is counted exactly once; the same store rendered as OpenMetrics, with the
// events' trace ids as exemplars, is valid UTF-8, ends in # EOF, and no exemplar breaks its line;
// (3) the same store as remote write requests decodes with the schema's generated classes (which
// refuse invalid UTF-8), every series with its labels sorted and unique, and llm_requests_total
// again counts every accepted event exactly once.
#include <snappy.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "aggregate/series_store.h"
#include "decode/event_decoder.h"
#include "expose/metrics_renderer.h"
#include "expose/text_writer.h"
#include "fuzz_support.h"
#include "llm_exporter/clock.h"
#include "llm_exporter/event_sink.h"
#include "expose/metrics_walk.h"
#include "pricing/price_table.h"
#include "prometheus/remote_write.pb.h"
#include "remote_write/request_encoder.h"
#include "telemetry/agent_metrics.h"

namespace {

using llm_exporter::EventSink;
using llm_exporter::LlmCall;
using llm_exporter::PicoToUsd;
using llm_exporter::PicoUsdTotal;
using llm_exporter::QualityScore;
using llm_exporter::SystemClock;
using llm_exporter::aggregate::SeriesStore;
using llm_exporter::aggregate::StoreOptions;
using llm_exporter::decode::EventDecoder;
using llm_exporter::ExpositionFormat;
using llm_exporter::expose::BucketBounds;
using llm_exporter::expose::HistogramSample;
using llm_exporter::expose::Label;
using llm_exporter::expose::MetricType;
using llm_exporter::expose::MetricsRenderer;
using llm_exporter::expose::TextWriter;
using llm_exporter::fuzz::ExpositionLine;
using llm_exporter::fuzz::Fail;
using llm_exporter::fuzz::IsValidUtf8;
using llm_exporter::fuzz::ParseExposition;
using llm_exporter::fuzz::Require;
using llm_exporter::pricing::PriceTable;

double DoubleAt(std::string_view bytes, std::size_t offset) {
  double value = 0;
  if (bytes.size() >= offset + sizeof value)
    std::memcpy(&value, bytes.data() + offset, sizeof value);
  return value;
}

uint64_t Uint64At(std::string_view bytes, std::size_t offset) {
  uint64_t value = 0;
  if (bytes.size() >= offset + sizeof value)
    std::memcpy(&value, bytes.data() + offset, sizeof value);
  return value;
}

// A written double must read back as itself (to_chars writes the shortest round-trip form).
void CheckDouble(const std::string& written, double expected) {
  if (std::isnan(expected)) {
    Require(written == "NaN", "NaN not written as NaN", written);
  } else if (std::isinf(expected)) {
    Require(written == (expected > 0 ? "+Inf" : "-Inf"), "an infinity misspelled", written);
  } else {
    Require(std::strtod(written.c_str(), nullptr) == expected, "a double did not round-trip",
            written);
  }
}

void CheckLabels(const ExpositionLine& line,
                 const std::vector<std::pair<std::string_view, std::string_view>>& expected) {
  Require(line.labels.size() == expected.size(), "wrong number of labels", line.name);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    Require(line.labels[i].first == expected[i].first, "a label name changed", line.name);
    Require(line.labels[i].second == expected[i].second, "a label value did not survive escaping",
            expected[i].second);
  }
}

// (1) TextWriter alone, with label values and help text taken from the raw input.
void FuzzTextWriter(std::string_view input) {
  std::vector<std::string_view> pieces;
  std::size_t start = 0;
  while (pieces.size() < 3) {
    const std::size_t nl = input.find('\n', start);
    pieces.push_back(input.substr(std::min(start, input.size()), nl == std::string_view::npos
                                                                     ? std::string_view::npos
                                                                     : nl - start));
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  while (pieces.size() < 3) pieces.push_back("");
  const uint64_t count = Uint64At(input, 0);
  const double value = DoubleAt(input, 8);
  const double sum = DoubleAt(input, 16);
  const std::vector<double> bounds = {0.1, 1, 2.5e-300, 1e300};
  const std::vector<std::string> les = TextWriter::FormatBounds(bounds);
  const std::vector<uint64_t> counts = {count % 1000, 1, 0, 7, count % 3};

  std::string out;
  TextWriter w(&out);
  w.Family("fuzz_total", MetricType::kCounter, input);
  w.Sample("fuzz_total", {{"a", input}}, count);
  w.Sample("fuzz_total", {{"a", pieces[0]}, {"b", pieces[1]}, {"c", pieces[2]}}, value);
  w.Sample("fuzz_plain", {}, sum);
  w.Family("fuzz_seconds", MetricType::kHistogram, pieces[1]);
  HistogramSample histogram;
  histogram.counts = counts;
  histogram.sum = sum;
  w.Histogram("fuzz_seconds", {{"a", pieces[0]}}, BucketBounds{bounds, les}, histogram);
  w.Finish();  // the writer appends its lines to `out` in blocks

  const std::vector<ExpositionLine> lines = ParseExposition(out);
  Require(lines.size() == 5 + 2 + les.size() + 2, "a label value or help text broke a line");
  Require(lines[0].kind == ExpositionLine::Kind::kHelp && lines[0].text == input,
          "HELP text did not survive escaping", input);
  Require(lines[1].kind == ExpositionLine::Kind::kType && lines[1].text == "counter", "TYPE");
  CheckLabels(lines[2], {{"a", input}});
  Require(lines[2].value == std::to_string(count), "a count changed", lines[2].value);
  CheckLabels(lines[3], {{"a", pieces[0]}, {"b", pieces[1]}, {"c", pieces[2]}});
  CheckDouble(lines[3].value, value);
  CheckLabels(lines[4], {});
  CheckDouble(lines[4].value, sum);
  Require(lines[5].text == pieces[1], "histogram HELP text did not survive escaping");
  uint64_t cumulative = 0;
  for (std::size_t i = 0; i < les.size(); ++i) {
    const ExpositionLine& bucket = lines[7 + i];
    cumulative += counts[i];
    Require(bucket.name == "fuzz_seconds_bucket", "bucket name");
    CheckLabels(bucket, {{"a", pieces[0]}, {"le", les[i]}});
    Require(bucket.value == std::to_string(cumulative), "buckets not cumulative", bucket.value);
  }
  CheckDouble(lines[7 + les.size()].value, sum);
  Require(lines[8 + les.size()].value == std::to_string(cumulative), "_count differs from +Inf");

  // Bucket bounds as the writer spells them must read back as the bound.
  for (const double bound : {DoubleAt(input, 24), DoubleAt(input, 32)}) {
    if (std::isnan(bound)) continue;
    const std::string le = TextWriter::FormatBound(bound);
    if (std::isinf(bound)) {
      Require(le == (bound > 0 ? "+Inf" : "-Inf"), "an infinite bound misspelled", le);
    } else {
      Require(std::strtod(le.c_str(), nullptr) == bound, "a bound did not round-trip", le);
      Require(le.find_first_of(".e") != std::string::npos, "a bound without . or e", le);
    }
  }
}

// Prices and records each event, and tallies what the scrape must then show.
class TallyingSink final : public EventSink {
 public:
  TallyingSink(const PriceTable& prices, SeriesStore& store) : prices_(prices), store_(store) {}

  void OnLlmCall(const LlmCall& call) override {
    const auto priced = prices_.Price(call);
    store_.RecordCall(call, priced.cost, priced.fallback);
    const std::string model(call.model);
    ++requests[{model, std::string(call.endpoint), std::string(call.status)}];
    input_tokens[model] += call.input_tokens;
    output_tokens[model] += call.output_tokens;
    costs[{model, std::string(call.user_id), std::string(call.team_id)}] += priced.cost;
  }
  void OnQualityScore(const QualityScore& score) override {
    store_.RecordQuality(score);
    ++qualities[{std::string(score.model), std::string(score.evaluator)}];
  }

  using Key3 = std::tuple<std::string, std::string, std::string>;
  std::map<Key3, uint64_t> requests;
  std::map<std::string, uint64_t> input_tokens;
  std::map<std::string, uint64_t> output_tokens;
  std::map<Key3, PicoUsdTotal> costs;
  std::map<std::pair<std::string, std::string>, uint64_t> qualities;

 private:
  const PriceTable& prices_;
  SeriesStore& store_;
};

std::string LabelOr(const ExpositionLine& line, std::string_view name) {
  const std::string* value = line.Label(name);
  if (value == nullptr) Fail("a sample lacks a label", name);
  return *value;
}

// (3) The store rendered as remote write requests.
void CheckRemoteWrite(const MetricsRenderer& renderer,
                      const std::map<TallyingSink::Key3, uint64_t>& expected_requests,
                      std::string_view body) {
  namespace rw = llm_exporter::remote_write;
  rw::EncoderOptions options;
  options.external_labels = {{"instance", "fuzz:9464"}, {"job", "llm_exporter"}};
  options.max_samples_per_send = 50;
  options.metadata = true;
  std::vector<rw::EncodedRequest> requests;
  rw::RequestEncoder encoder(options, nullptr, &requests);
  renderer.WriteAll(encoder);
  std::map<TallyingSink::Key3, uint64_t> counted;
  for (const rw::EncodedRequest& request : requests) {
    std::string raw;
    Require(snappy::Uncompress(request.body.data(), request.body.size(), &raw),
            "a remote write request is not valid snappy");
    prometheus::WriteRequest message;
    Require(message.ParseFromString(raw), "a remote write request does not decode", body);
    for (const prometheus::TimeSeries& series : message.timeseries()) {
      std::map<std::string, std::string> labels;
      for (int i = 0; i < series.labels_size(); ++i) {
        Require(i == 0 || series.labels(i - 1).name() < series.labels(i).name(),
                "remote write labels are not sorted and unique", body);
        labels[series.labels(i).name()] = series.labels(i).value();
      }
      Require(series.samples_size() == 1, "a remote write series without its one sample");
      if (labels["__name__"] != "llm_requests_total") continue;
      Require(counted.emplace(TallyingSink::Key3{labels["model"], labels["endpoint"],
                                                 labels["status"]},
                              static_cast<uint64_t>(series.samples(0).value()))
                  .second,
              "a remote write series appears twice", body);
    }
  }
  Require(counted == expected_requests, "remote write llm_requests_total differs from the "
          "accepted events", body);
}

// (2) The whole path from body to scrape.
void FuzzPipeline(std::string_view body) {
  static SystemClock clock;
  static llm_exporter::telemetry::AgentMetrics agent_metrics;
  static const PriceTable prices = PriceTable::Default();
  static EventDecoder decoder;

  SeriesStore store(StoreOptions{}, clock);
  TallyingSink sink(prices, store);
  decoder.Decode(body, sink);
  MetricsRenderer renderer(store, agent_metrics, clock);
  const std::string scrape = renderer.Render(ExpositionFormat::kText);
  Require(IsValidUtf8(scrape), "the scrape is not valid UTF-8");
  // The same store in OpenMetrics, exemplars and all: valid UTF-8 and closed by # EOF; an
  // exemplar's ids, taken from the body, never carry a quote or a line break.
  const std::string openmetrics = renderer.Render(ExpositionFormat::kOpenMetrics);
  Require(IsValidUtf8(openmetrics), "the OpenMetrics scrape is not valid UTF-8");
  Require(openmetrics.ends_with("\n# EOF\n"), "the OpenMetrics scrape does not end in # EOF");
  for (std::size_t at = openmetrics.find(" # {"); at != std::string::npos;
       at = openmetrics.find(" # {", at + 4)) {
    const std::size_t end = openmetrics.find('}', at);
    const std::size_t eol = openmetrics.find('\n', at);
    Require(end != std::string::npos && end < eol, "an exemplar's labels run past its line");
    std::size_t quotes = 0;
    for (std::size_t i = at; i < end; ++i) quotes += openmetrics[i] == '"';
    Require(quotes == 2 || quotes == 4, "an exemplar's ids broke its labels",
            openmetrics.substr(at, eol - at));
  }

  std::map<TallyingSink::Key3, uint64_t> requests;
  std::map<std::string, uint64_t> input_tokens, output_tokens;
  std::map<TallyingSink::Key3, std::string> costs;
  std::map<std::pair<std::string, std::string>, uint64_t> qualities;
  for (const ExpositionLine& line : ParseExposition(scrape)) {
    if (line.kind != ExpositionLine::Kind::kSample) continue;
    const auto exact = [&](std::map<TallyingSink::Key3, uint64_t>& m, TallyingSink::Key3 key) {
      Require(m.emplace(std::move(key), std::strtoull(line.value.c_str(), nullptr, 10)).second,
              "a series appears twice", line.name);
    };
    if (line.name == "llm_requests_total") {
      exact(requests, {LabelOr(line, "model"), LabelOr(line, "endpoint"), LabelOr(line, "status")});
    } else if (line.name == "llm_tokens_total") {
      auto& m = LabelOr(line, "direction") == "input" ? input_tokens : output_tokens;
      Require(
          m.emplace(LabelOr(line, "model"), std::strtoull(line.value.c_str(), nullptr, 10)).second,
          "a token series appears twice");
    } else if (line.name == "llm_cost_usd_total") {
      costs[{LabelOr(line, "model"), LabelOr(line, "user_id"), LabelOr(line, "team_id")}] =
          line.value;
    } else if (line.name == "llm_quality_score_count") {
      qualities[{LabelOr(line, "model"), LabelOr(line, "evaluator")}] =
          std::strtoull(line.value.c_str(), nullptr, 10);
    }
  }
  Require(requests == sink.requests, "llm_requests_total differs from the accepted events", body);
  CheckRemoteWrite(renderer, sink.requests, body);
  Require(input_tokens == sink.input_tokens, "input tokens differ from the accepted events", body);
  Require(output_tokens == sink.output_tokens, "output tokens differ from the accepted events",
          body);
  Require(qualities == sink.qualities, "quality counts differ from the accepted events", body);
  Require(costs.size() == sink.costs.size(), "cost series differ from the accepted events", body);
  for (const auto& [key, pico] : sink.costs) {
    const auto it = costs.find(key);
    Require(it != costs.end(), "a cost series is missing", std::get<0>(key));
    CheckDouble(it->second, PicoToUsd(pico));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  llm_exporter::fuzz::RunOnSmallStack([&] {
    FuzzTextWriter(input);
    FuzzPipeline(input);
  });
  return 0;
}
