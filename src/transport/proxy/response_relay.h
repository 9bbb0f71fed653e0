// Relaying one upstream answer to the client as it arrives, and metering it on the way: the body
// goes chunked (so that a cut is seen as one); a server-sent event stream goes event by event, as
// each completes; a compressed body goes as it is and is inflated on the side for the meter.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "llm_exporter/proxy_ingest.h"
#include "llm_exporter/proxy_service.h"
#include "meter/metered.h"
#include "meter/operation.h"
#include "meter/sse_framer.h"
#include "meter/stream_meter.h"
#include "transport/proxy/body_inflater.h"
#include "transport/proxy/upstream_pool.h"

namespace llm_exporter::transport::proxy {

// Used by the one thread serving the request.
class ResponseRelay final : public AnswerSink {
 public:
  using Clock = std::chrono::steady_clock;

  // A whole answer body larger than this (inflated) is relayed but not metered.
  static constexpr std::size_t kMaxMeteredBody = std::size_t{64} << 20;

  // `op`: kOther relays without metering. `strip_injected_usage`: the proxy asked this stream
  // for its usage (meter::StreamMeter). `head_only`: the request was HEAD.
  ResponseRelay(ProxyExchange& client, meter::ApiKind kind, meter::Operation op,
                bool strip_injected_usage, bool head_only);
  ~ResponseRelay() override;

  bool OnHead(int status, std::span<const HeaderField> headers) override;
  bool OnBody(std::string_view bytes) override;
  // After a complete transfer: sends what is left and ends the body. False when the client could
  // not be written to.
  bool Finish();

  bool head_sent() const { return status_ != 0; }
  int status() const { return status_; }
  // The answer was a server-sent event stream.
  bool streamed() const { return sse_; }
  const RateLimits& rate_limits() const { return rate_limits_; }
  // What the meter read of the answer; complete after Finish().
  meter::Metered metered() const;
  // When the event with the first content delta was written (streams only).
  std::optional<Clock::time_point> first_content_written() const { return first_content_; }
  // When the last byte was written to the client (or the head, if no body followed).
  Clock::time_point last_write() const { return last_write_; }

 private:
  // Meters inflated (or identity) answer bytes of a body relayed as it is.
  void MeterBytes(std::string_view bytes);
  // Feeds an identity SSE stream through the framer and the meter, sending what the meter says.
  bool RelayEvents(std::string_view bytes, bool end);
  bool Send(std::string_view bytes);

  ProxyExchange& client_;
  const meter::ApiKind kind_;
  const meter::Operation op_;
  const bool strip_injected_usage_;
  const bool head_only_;

  int status_ = 0;
  bool sse_ = false;
  bool relay_events_ = false;  // an identity SSE stream, metered: sent event by event
  bool body_allowed_ = true;
  ContentCoding coding_ = ContentCoding::kIdentity;
  RateLimits rate_limits_;
  std::unique_ptr<BodyInflater> inflater_;
  std::string inflated_;  // scratch for a compressed stream's inflated bytes
  std::string body_;      // a whole answer, for ReadResponse
  bool body_metered_ = true;
  meter::Metered whole_body_;  // ReadResponse's, after Finish()
  std::unique_ptr<meter::SseFramer> framer_;
  std::unique_ptr<meter::StreamMeter> stream_meter_;
  std::string out_;        // the events of one read, sent in one write
  std::string rewritten_;  // scratch for StreamMeter::OnEvent
  bool first_content_seen_ = false;  // the meter reported it; written with the next Send()
  std::optional<Clock::time_point> first_content_;
  Clock::time_point last_write_{};
};

}  // namespace llm_exporter::transport::proxy
