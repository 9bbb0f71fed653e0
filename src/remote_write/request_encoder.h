// Encodes a snapshot of the agent's series as remote write 1.0 requests: each sample a
// prometheus.TimeSeries with its labels sorted by name ("__name__" among them, external labels
// added) and one Sample, max_samples_per_send samples a WriteRequest, each request snappy-
// compressed (the block format). Encoded by hand straight from the renderer's walk, as the
// protobuf exposition is (expose/wire_writer.h): no message objects for a million series.
// proto/prometheus/remote_write.proto is the schema; the tests decode with it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "expose/exposition.h"
#include "expose/wire_writer.h"
#include "remote_write/write_relabel.h"

namespace llm_exporter::remote_write {

// The bits of Prometheus' staleness marker: a NaN that says "this series ended here".
inline constexpr uint64_t kStaleNanBits = 0x7ff0000000000002ULL;
double StaleNan();
bool IsStaleNan(double value);

// One request, ready to be posted.
struct EncodedRequest {
  std::string body;  // a snappy-compressed prometheus.WriteRequest
  std::size_t samples = 0;
  std::size_t metadata = 0;  // MetricMetadata entries (a metadata request has no samples)
};

struct EncoderOptions {
  // Added to every series that lacks a label of the same name; sorted by name.
  std::vector<std::pair<std::string, std::string>> external_labels;
  std::size_t max_samples_per_send = 2000;
  int64_t timestamp_ms = 0;  // every sample's
  bool stale = false;        // every sample is the staleness marker instead of its value
  bool metadata = false;     // also one request of the families' metadata, put first
};

// A writer with the calls of expose/exposition.h, for MetricsRenderer::WriteAll() and
// WriteLlmFamilies(). Appends its requests to `out` as they fill; Finish() sends off the last.
// Not thread-safe; one per snapshot.
class RequestEncoder {
 public:
  static constexpr bool kWritesExtras = false;  // remote write 1.0: no exemplars or native

  // `relabel` may be nullptr (every series is sent) and must outlive the encoder.
  RequestEncoder(const EncoderOptions& options, WriteRelabel* relabel,
                 std::vector<EncodedRequest>* out);

  void Family(std::string_view name, expose::MetricType type, std::string_view help,
              std::string_view unit = {});
  void Sample(std::string_view name, expose::LabelList labels, uint64_t value,
              const expose::SampleExtras& extras = {});
  void Sample(std::string_view name, expose::LabelList labels, double value,
              const expose::SampleExtras& extras = {});
  // Cumulative `_bucket` series (le="+Inf" last), then `_sum` and `_count`.
  void Histogram(std::string_view name, expose::LabelList labels,
                 const expose::BucketBounds& buckets, const expose::HistogramSample& sample);
  void Finish();

  // Samples encoded so far (relabeling applied).
  std::size_t samples() const { return samples_; }

 private:
  // Puts the series' own labels, "__name__" and the missing external labels into labels_,
  // sorted by name; returns where "__name__" ended up.
  std::size_t SortedLabels(std::string_view name, expose::LabelList labels,
                           std::string_view extra_name = {}, std::string_view extra_value = {});
  bool Keep(std::string_view name);
  // One TimeSeries of labels_ (with "__name__" at name_at set to `name`) and one sample.
  void Series(double value);
  void CloseRequest();

  EncoderOptions options_;
  WriteRelabel* relabel_;
  std::vector<EncodedRequest>* out_;
  const std::size_t first_out_;  // where this encoder's requests start in *out_
  std::string raw_;              // the open request, uncompressed
  std::optional<expose::WireWriter> wire_;
  std::size_t request_samples_ = 0;
  std::size_t samples_ = 0;
  std::string metadata_raw_;
  std::optional<expose::WireWriter> metadata_wire_;
  std::size_t metadata_count_ = 0;
  std::vector<expose::Label> labels_;  // scratch: one series' labels, sorted
  std::string scratch_name_;           // scratch: "<name>_bucket" and the like
};

}  // namespace llm_exporter::remote_write
