// A SpanIngest for the OTLP transport tests: records every body and refusal it is handed and
// answers with a result the test chose, so a test sees exactly what the transport delivered.
#pragma once

#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "llm_exporter/span_ingest.h"

namespace llm_exporter::testing {

struct ReceivedBody {
  SpanTransport transport;
  SpanEncoding encoding;
  std::string body;
};

struct RefusedRequest {
  SpanTransport transport;
  SpanRejectReason reason;
  std::string detail;
};

// Thread-safe: every member is read and written under one mutex.
class RecordingSpanIngest final : public SpanIngest {
 public:
  SpanIngestResult IngestSpans(SpanTransport transport, SpanEncoding encoding,
                               std::string_view body) override {
    std::lock_guard<std::mutex> lock(mu_);
    bodies_.push_back({transport, encoding, std::string(body)});
    if (throw_next_) {
      throw_next_ = false;
      throw std::runtime_error("the ingest failed unexpectedly");
    }
    return result_;
  }

  void CountRefused(SpanTransport transport, SpanRejectReason reason,
                    std::string_view detail) override {
    std::lock_guard<std::mutex> lock(mu_);
    refused_.push_back({transport, reason, std::string(detail)});
  }

  // What IngestSpans returns from now on.
  void Answer(SpanIngestResult result) {
    std::lock_guard<std::mutex> lock(mu_);
    result_ = std::move(result);
  }
  // The next IngestSpans call throws std::runtime_error (after recording its body).
  void ThrowNext() {
    std::lock_guard<std::mutex> lock(mu_);
    throw_next_ = true;
  }
  std::vector<ReceivedBody> bodies() const {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_;
  }
  std::vector<RefusedRequest> refused() const {
    std::lock_guard<std::mutex> lock(mu_);
    return refused_;
  }

 private:
  mutable std::mutex mu_;
  SpanIngestResult result_;
  bool throw_next_ = false;
  std::vector<ReceivedBody> bodies_;
  std::vector<RefusedRequest> refused_;
};

}  // namespace llm_exporter::testing
