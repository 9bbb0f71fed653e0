#include "transport/proxy/response_relay.h"

#include <charconv>

#include "meter/response_reader.h"
#include "transport/proxy/header_rules.h"

namespace llm_exporter::transport::proxy {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsEventStream(std::string_view content_type) {
  const std::string_view media = Trim(content_type.substr(0, content_type.find(';')));
  constexpr std::string_view kEventStream = "text/event-stream";
  if (media.size() != kEventStream.size()) return false;
  for (std::size_t i = 0; i < media.size(); ++i) {
    const char c = media[i] >= 'A' && media[i] <= 'Z' ? static_cast<char>(media[i] + 32) : media[i];
    if (c != kEventStream[i]) return false;
  }
  return true;
}

std::optional<uint64_t> ContentLength(std::span<const HeaderField> headers) {
  // A length beside Transfer-Encoding does not count (RFC 9112 6.3); libcurl de-chunks.
  if (!FindHeader(headers, "Transfer-Encoding").empty()) return std::nullopt;
  const std::string_view text = Trim(FindHeader(headers, "Content-Length"));
  if (text.empty()) return std::nullopt;
  uint64_t length = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), length);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return length;
}

}  // namespace

ResponseRelay::ResponseRelay(ProxyExchange& client, meter::ApiKind kind, meter::Operation op,
                             bool strip_injected_usage, bool head_only)
    : client_(client),
      kind_(kind),
      op_(op),
      strip_injected_usage_(strip_injected_usage),
      head_only_(head_only) {}

ResponseRelay::~ResponseRelay() = default;

bool ResponseRelay::OnHead(int status, std::span<const HeaderField> headers) {
  status_ = status;
  rate_limits_ = ReadRateLimits(headers);
  sse_ = IsEventStream(FindHeader(headers, "Content-Type"));
  coding_ = CodingOf(FindHeader(headers, "Content-Encoding"));
  body_allowed_ = !head_only_ && status >= 200 && status != 204 && status != 304;
  const bool metering = op_ != meter::Operation::kOther && body_allowed_;
  relay_events_ = metering && sse_ && coding_ == ContentCoding::kIdentity;
  if (metering) {
    if (coding_ == ContentCoding::kGzip || coding_ == ContentCoding::kDeflate) {
      inflater_ = std::make_unique<BodyInflater>(coding_);
    }
    body_metered_ = coding_ != ContentCoding::kOther;
    if (sse_) {
      // Asked for usage the client did not ask for, but the stream came compressed: it cannot be
      // rewritten, so it goes as it is (the client sees the usage chunk) and is only read.
      const bool strip = strip_injected_usage_ && relay_events_;
      stream_meter_ = std::make_unique<meter::StreamMeter>(kind_, op_, strip);
      framer_ = std::make_unique<meter::SseFramer>();
    }
  }

  std::vector<HeaderField> relayed = ClientResponseHeaders(headers);
  const std::optional<uint64_t> length = ContentLength(headers);
  bool sent;
  if (!body_allowed_) {
    // A HEAD answer's length is the one a GET would have had.
    if (head_only_ && length) {
      relayed.push_back({"Content-Length", FindHeader(headers, "Content-Length")});
    }
    sent = client_.SendHead(status, relayed, ResponseFraming::kNoBody);
  } else {
    // Chunked even when the upstream gave a length: an answer cut short must fail in the
    // client, and node-fetch 2 (under the OpenAI and Anthropic Node SDKs) never settles a body
    // that ends before its Content-Length: measured with node-fetch 2.7.0 on Node 20, the SDK
    // call hangs and the process exits as if done, where a missing last chunk raises "Premature
    // close". Every HTTP/1.1 client reads chunked bodies; the bytes are the upstream's either way.
    sent = client_.SendHead(status, relayed, ResponseFraming::kChunked);
  }
  last_write_ = Clock::now();
  return sent;
}

bool ResponseRelay::Send(std::string_view bytes) {
  const bool ok = client_.Write(bytes);
  last_write_ = Clock::now();
  return ok;
}

bool ResponseRelay::RelayEvents(std::string_view bytes, bool end) {
  // The events one read completes go out together, in one write.
  out_.clear();
  const auto on_event = [this](std::string_view raw, bool oversize) {
    if (oversize) {  // a piece of an event too large to hold: relayed, not read
      out_.append(raw);
      return;
    }
    switch (stream_meter_->OnEvent(raw, &rewritten_)) {
      case meter::StreamMeter::Action::kForward:
        out_.append(raw);
        break;
      case meter::StreamMeter::Action::kRewrite:
        out_.append(rewritten_);
        break;
      case meter::StreamMeter::Action::kDrop:
        break;
    }
    if (stream_meter_->first_content()) first_content_seen_ = true;
  };
  if (end) {
    framer_->Finish(on_event);
  } else {
    framer_->Feed(bytes, on_event);
  }
  if (out_.empty()) return true;
  const bool ok = Send(out_);
  if (first_content_seen_ && !first_content_) first_content_ = last_write_;
  return ok;
}

void ResponseRelay::MeterBytes(std::string_view bytes) {
  if (!body_metered_) return;
  std::string_view plain = bytes;
  if (sse_) {
    if (inflater_) {
      inflated_.clear();
      if (!inflater_->Inflate(bytes, &inflated_, kMaxMeteredBody)) body_metered_ = false;
      plain = inflated_;
    }
    framer_->Feed(plain, [this](std::string_view raw, bool oversize) {
      if (oversize) return;
      stream_meter_->OnEvent(raw, &rewritten_);
      // The event's bytes went out (compressed) before they were inflated here.
      if (stream_meter_->first_content() && !first_content_) first_content_ = last_write_;
    });
    return;
  }
  if (inflater_) {
    if (!inflater_->Inflate(bytes, &body_, kMaxMeteredBody)) body_metered_ = false;
  } else if (body_.size() + bytes.size() <= kMaxMeteredBody) {
    body_.append(bytes);
  } else {
    body_metered_ = false;
  }
  if (!body_metered_) std::string().swap(body_);
}

bool ResponseRelay::OnBody(std::string_view bytes) {
  if (!body_allowed_) return true;
  if (relay_events_) return RelayEvents(bytes, false);
  const bool ok = Send(bytes);
  if (op_ != meter::Operation::kOther) MeterBytes(bytes);
  return ok;
}

bool ResponseRelay::Finish() {
  bool ok = true;
  if (relay_events_) {
    ok = RelayEvents({}, true);
  } else if (framer_) {
    framer_->Finish([this](std::string_view raw, bool oversize) {
      if (!oversize) stream_meter_->OnEvent(raw, &rewritten_);
    });
  }
  if (!sse_ && body_allowed_ && op_ != meter::Operation::kOther && body_metered_) {
    whole_body_ = meter::ReadResponse(kind_, op_, body_);
  }
  ok = client_.Finish() && ok;
  last_write_ = Clock::now();
  return ok;
}

meter::Metered ResponseRelay::metered() const {
  if (stream_meter_) return stream_meter_->result();
  return whole_body_;
}

}  // namespace llm_exporter::transport::proxy
