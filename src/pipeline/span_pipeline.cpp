#include "pipeline/span_pipeline.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>
#include <utility>

namespace llm_exporter::pipeline {

SpanPipeline::SpanPipeline(SpanPipelineOptions options, const pricing::PriceCatalog& prices,
                           aggregate::SeriesStore& store, telemetry::OtlpMetrics& metrics,
                           const Clock& clock)
    : options_(std::move(options)),
      prices_(prices),
      store_(store),
      metrics_(metrics),
      reader_(options_.reader),
      hold_(options_.hold, clock),
      warning_(clock) {}

SpanPipeline::~SpanPipeline() {
  if (timer_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(timer_mu_);
      stopping_ = true;
    }
    timer_cv_.notify_all();
    timer_.join();
  }
}

void SpanPipeline::Record(const LlmCall& call) {
  // The price table in force when the call leaves the hold.
  const std::shared_ptr<const pricing::PriceTable> prices = prices_.Current();
  const pricing::PricedCall priced = prices->Price(call);
  store_.RecordCall(call, priced.cost, priced.fallback, CallSource::kOtlp);
}

SpanIngestResult SpanPipeline::IngestSpans(SpanTransport transport, SpanEncoding encoding,
                                           std::string_view body) {
  SpanIngestResult result;
  std::unique_ptr<otlp::SpanDecoder> decoder = decoders_.Take();
  const otlp::DecodedSpans& decoded = decoder->Decode(encoding, body);
  if (!decoded.ok()) {
    result.body_error = decoded.body_error;
    decoders_.Return(std::move(decoder));
    CountRefused(transport, SpanRejectReason::kUndecodable, result.body_error);
    return result;
  }

  std::array<uint64_t, kSpanRejectReasonCount> rejected{};
  for (const otlp::SpanError& e : decoded.errors) ++rejected[static_cast<std::size_t>(e.reason)];
  // The decoder lists its first errors and counts them all: the unlisted ones are counted under
  // the reason of the last one listed.
  if (decoded.rejected > decoded.errors.size()) {
    const SpanRejectReason reason =
        decoded.errors.empty() ? SpanRejectReason::kUndecodable : decoded.errors.back().reason;
    rejected[static_cast<std::size_t>(reason)] += decoded.rejected - decoded.errors.size();
  }
  // The decoder's errors and the reader's, sorted into wire order below; the first few are named.
  std::vector<otlp::SpanError> errors(
      decoded.errors.begin(),
      decoded.errors.begin() +
          static_cast<std::ptrdiff_t>(std::min(decoded.errors.size(), options_.max_reported_errors)));
  result.rejected = decoded.rejected;

  std::vector<SpanLink> links;
  links.reserve(decoded.spans.size());
  std::vector<std::pair<std::size_t, HeldCall>> calls;
  std::string trace_hex;
  std::string span_hex;
  for (const otlp::Span& span : decoded.spans) {
    otlp::ReadSpan read = reader_.Read(span);
    if (read.error) {
      ++result.rejected;
      ++rejected[static_cast<std::size_t>(read.error->reason)];
      if (errors.size() < 2 * options_.max_reported_errors) errors.push_back(std::move(*read.error));
      continue;
    }
    const otlp::SpanMeaning& m = read.meaning;
    ++result.accepted;
    ++result.accepted_by_kind[static_cast<std::size_t>(m.kind)];
    links.push_back(SpanLink{span.trace_id, span.span_id, span.parent_span_id,
                             m.kind == SpanKind::kLlmCall});
    switch (m.kind) {
      case SpanKind::kLlmCall: {
        LlmCall call = m.call;
        trace_hex = otlp::TraceIdHex(span.trace_id);
        span_hex = otlp::SpanIdHex(span.span_id);
        call.trace_id = trace_hex;
        call.span_id = span_hex;
        calls.emplace_back(links.size() - 1, HeldCall(call));
        break;
      }
      case SpanKind::kWorkflow:
        store_.RecordWorkflow(m.name, m.status, m.duration_seconds);
        break;
      case SpanKind::kAgent:
        store_.RecordAgentInvocation(m.name, m.status);
        break;
      case SpanKind::kTool:
        store_.RecordToolCall(m.name, m.status);
        break;
      case SpanKind::kIgnored:
        break;
    }
  }
  std::sort(errors.begin(), errors.end(),
            [](const otlp::SpanError& a, const otlp::SpanError& b) { return a.index < b.index; });
  decoders_.Return(std::move(decoder));

  const auto record = [this](const LlmCall& call) { Record(call); };
  hold_.Add(links, std::move(calls), record);
  ReleaseHeld();

  metrics_.CountSpans(transport, result.accepted_by_kind);
  for (std::size_t r = 0; r < kSpanRejectReasonCount; ++r) {
    metrics_.CountRejected(transport, static_cast<SpanRejectReason>(r), rejected[r]);
  }
  if (result.rejected > 0) {
    const std::size_t listed = std::min(errors.size(), options_.max_reported_errors);
    for (std::size_t i = 0; i < listed; ++i) {
      if (i > 0) result.error_message += "; ";
      result.error_message += errors[i].message;
    }
    if (result.rejected > listed) {
      result.error_message += "; and " + std::to_string(result.rejected - listed) +
                              " more span(s) refused";
    }
    Warn(transport, result.rejected, errors.empty() ? std::string_view() : errors.front().message);
  }
  return result;
}

void SpanPipeline::CountRefused(SpanTransport transport, SpanRejectReason reason,
                                std::string_view detail) {
  metrics_.CountRejected(transport, reason, 1);
  Warn(transport, 1, std::string("a whole request: ") + std::string(detail));
}

void SpanPipeline::Warn(SpanTransport transport, uint64_t rejected, std::string_view latest) {
  uint64_t report = 0;
  {
    std::lock_guard<std::mutex> lock(warn_mu_);
    report = warning_.Record(rejected);
  }
  if (report == 0) return;
  spdlog::warn("OTLP ({}): refused {} span(s) or request(s) since the last such line "
               "(llm_exporter_otlp_spans_rejected_total has them by reason); latest: {}",
               SpanTransportName(transport), report, latest);
}

void SpanPipeline::ReleaseHeld() {
  hold_.Release([this](const LlmCall& call) { Record(call); });
  metrics_.SetHold(hold_.held_calls(), hold_.remembered_spans(), hold_.nested_total(),
                   hold_.evicted_traces_total());
}

void SpanPipeline::ReleaseAll() {
  hold_.ReleaseAll([this](const LlmCall& call) { Record(call); });
  metrics_.SetHold(hold_.held_calls(), hold_.remembered_spans(), hold_.nested_total(),
                   hold_.evicted_traces_total());
}

void SpanPipeline::StartReleasing(std::chrono::milliseconds period) {
  timer_ = std::thread([this, period] {
    std::unique_lock<std::mutex> lock(timer_mu_);
    while (!timer_cv_.wait_for(lock, period, [this] { return stopping_; })) {
      lock.unlock();
      ReleaseHeld();
      lock.lock();
    }
  });
}

}  // namespace llm_exporter::pipeline
