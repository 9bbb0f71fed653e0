#include "transport/proxy/metering_proxy.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <optional>
#include <utility>

#include "meter/operation.h"
#include "meter/request_facts.h"
#include "transport/proxy/error_body.h"
#include "transport/proxy/header_rules.h"
#include "transport/proxy/response_relay.h"
#include "transport/proxy/upstream_pool.h"

namespace llm_exporter::transport::proxy {
namespace {

using Clock = std::chrono::steady_clock;
using telemetry::UpstreamFailure;

constexpr HeaderField kJsonType{"Content-Type", "application/json"};
// The most of a request's upstream name an error answer repeats.
constexpr std::size_t kMaxEchoedName = 64;

meter::ApiKind ApiKindOf(config::UpstreamKind kind) {
  return kind == config::UpstreamKind::kAnthropic ? meter::ApiKind::kAnthropic
                                                  : meter::ApiKind::kOpenAi;
}

// A "." or ".." segment, also percent-encoded ("%2e"): refused, so that no path reaches the
// upstream above its url's own prefix, whoever resolves the dots.
bool HasDotSegment(std::string_view path) {
  while (true) {
    const std::size_t slash = path.find('/');
    std::string_view segment = path.substr(0, slash);
    std::size_t dots = 0;
    bool only_dots = !segment.empty();
    while (!segment.empty() && only_dots) {
      if (segment.front() == '.') {
        segment.remove_prefix(1);
      } else if (segment.size() >= 3 && segment[0] == '%' && segment[1] == '2' &&
                 (segment[2] == 'e' || segment[2] == 'E')) {
        segment.remove_prefix(3);
      } else {
        only_dots = false;
      }
      ++dots;
    }
    if (only_dots && dots <= 2) return true;
    if (slash == std::string_view::npos) return false;
    path.remove_prefix(slash + 1);
  }
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Whether a call without usage in its answer still has known tokens: none. Providers bill no
// tokens for a refused request (a 4xx, 429 or 5xx answer) or one that never reached them; a
// stream that broke or was cancelled, and an upstream that stalled, may have generated (and
// billed) tokens nobody reported.
bool NoTokensSpent(ProxyOutcome outcome) {
  return outcome == ProxyOutcome::kClientError || outcome == ProxyOutcome::kRateLimited ||
         outcome == ProxyOutcome::kUpstreamError || outcome == ProxyOutcome::kUnreachable;
}

std::string_view StatusOf(ProxyOutcome outcome) {
  if (outcome == ProxyOutcome::kOk) return "success";
  if (outcome == ProxyOutcome::kCancelled) return "cancelled";
  return "error";
}

}  // namespace

MeteringProxy::MeteringProxy(config::ProxyConfig config, ProxyIngest& ingest,
                             telemetry::ProxyMetrics& metrics, MeteringProxyOptions options)
    : config_(std::move(config)), ingest_(ingest), metrics_(metrics), options_(options) {
  for (const config::Upstream& upstream : config_.upstreams) {
    pools_.push_back(std::make_unique<UpstreamPool>(upstream, options_.max_idle_sessions));
    if (!known_upstreams_.empty()) known_upstreams_.append(", ");
    known_upstreams_.append(upstream.name);
  }
}

MeteringProxy::~MeteringProxy() = default;

void MeteringProxy::Shutdown() {
  stopping_.store(true);
  for (auto& pool : pools_) pool->Shutdown();
}

int MeteringProxy::Serve(ProxyExchange& exchange) {
  const std::string_view path = exchange.path();
  const std::size_t slash = path.find('/');
  const std::string_view name = path.substr(0, slash);
  std::size_t index = 0;
  while (index < config_.upstreams.size() && config_.upstreams[index].name != name) ++index;
  if (index == config_.upstreams.size()) {
    metrics_.CountUnknownUpstream();
    const std::string shown(name.substr(0, kMaxEchoedName));
    std::string message;
    if (config_.upstreams.empty()) {
      message = "the metering proxy is off: start the agent with --proxy.config.file naming the "
                "upstreams to proxy (docs/proxy.md)";
    } else if (name.empty()) {
      message = "no upstream named in the path: use /proxy/<upstream>/..., with one of: " +
                known_upstreams_;
    } else {
      message = "no upstream named \"" + shown + "\" in the proxy config; known: " +
                known_upstreams_;
    }
    exchange.Respond(404, {&kJsonType, 1},
                     ErrorBody(config::UpstreamKind::kOpenAi, ProxyError::kUnknownUpstream, message));
    return 404;
  }
  metrics_.RequestStarted(index);
  int status = 0;
  try {
    status = ServeUpstream(exchange, index,
                          slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1),
                          slash != std::string_view::npos);
  } catch (const std::exception& e) {
    // Nothing on this path throws but allocation; the client gets an answer or a cut either way.
    spdlog::error("Proxy: internal error while serving upstream {}: {}", name, e.what());
    if (exchange.status_sent() == 0) {
      exchange.Respond(500, {&kJsonType, 1},
                       ErrorBody(config_.upstreams[index].kind, ProxyError::kUnreachable,
                                 "internal error in the proxy; see the agent's log"));
    } else {
      exchange.Cut();
    }
    status = exchange.status_sent();
  }
  metrics_.RequestFinished(index);
  return status;
}

int MeteringProxy::ServeUpstream(ProxyExchange& exchange, std::size_t index, std::string_view rest,
                                 bool has_rest) {
  const config::Upstream& upstream = config_.upstreams[index];
  const meter::ApiKind kind = ApiKindOf(upstream.kind);
  const std::span<const HeaderField> request_headers = exchange.request_headers();
  const auto answer = [&](int status, ProxyError error, const std::string& message) {
    exchange.Respond(status, {&kJsonType, 1}, ErrorBody(upstream.kind, error, message));
    return exchange.status_sent();
  };
  if (stopping_.load()) {
    return answer(503, ProxyError::kShuttingDown, "the agent is stopping");
  }
  if (HasDotSegment(rest)) {
    return answer(400, ProxyError::kBadPath,
                  "the path after /proxy/" + upstream.name + "/ has a \".\" or \"..\" segment");
  }

  std::string body;
  switch (exchange.ReadBody(config_.max_request_bytes, &body)) {
    case ProxyBodyRead::kOk:
      break;
    case ProxyBodyRead::kTooLarge:
      return answer(413, ProxyError::kBodyTooLarge,
                    "the request body is larger than the proxy's max_request_bytes (" +
                        std::to_string(config_.max_request_bytes) + " bytes)");
    case ProxyBodyRead::kIncomplete:
      return answer(408, ProxyError::kBodyIncomplete,
                    "the request body did not all arrive in time (--web.request-timeout)");
    case ProxyBodyRead::kFailed:
      return answer(400, ProxyError::kBodyIncomplete, "the request body could not be read");
  }

  const std::string_view method = exchange.method();
  const meter::Operation op = meter::ClassifyRequest(kind, method, rest);
  const bool metered = op != meter::Operation::kOther;
  meter::RequestFacts facts;
  if (metered) facts = meter::ReadRequest(body);
  bool inject = upstream.inject_stream_usage &&
                (op == meter::Operation::kChat || op == meter::Operation::kCompletion) &&
                facts.stream && !facts.include_usage;
  if (inject) {
    if (std::optional<std::string> injected = meter::InjectStreamUsage(body)) {
      body = std::move(*injected);
    } else {
      inject = false;
    }
  }

  UpstreamRequest request;
  request.url = upstream.url;
  if (has_rest) request.url.append("/").append(rest);
  if (!exchange.query().empty()) request.url.append("?").append(exchange.query());
  request.method = method;
  request.send_body = !body.empty() || (method != "GET" && method != "HEAD" &&
                                        method != "DELETE" && method != "OPTIONS");
  const std::vector<std::string> headers =
      UpstreamRequestHeaders(request_headers, inject, request.send_body);
  request.headers = headers;
  request.body = body;

  ResponseRelay relay(exchange, kind, op, inject, method == "HEAD");
  const TransferResult result = pools_[index]->Transfer(request, relay, exchange.client_fd());

  ProxyOutcome outcome = ProxyOutcome::kOk;
  std::optional<UpstreamFailure> failure;
  switch (result.end) {
    case TransferEnd::kComplete:
      if (relay.Finish()) {
        outcome = OutcomeOf(relay.status(), relay.metered().error);
      } else {
        outcome = ProxyOutcome::kCancelled;
        exchange.Cut();
      }
      break;
    case TransferEnd::kStopped:
    case TransferEnd::kClientGone:
      outcome = ProxyOutcome::kCancelled;
      exchange.Cut();
      break;
    case TransferEnd::kShutdown:
      outcome = ProxyOutcome::kCancelled;
      if (relay.head_sent()) {
        exchange.Cut();
      } else {
        answer(503, ProxyError::kShuttingDown, "the agent is stopping");
      }
      break;
    case TransferEnd::kConnectFailed:
    case TransferEnd::kTlsFailed:
      failure = result.end == TransferEnd::kTlsFailed ? UpstreamFailure::kTls
                                                      : UpstreamFailure::kConnect;
      outcome = ProxyOutcome::kUnreachable;
      answer(502, ProxyError::kUnreachable,
             "the proxy could not reach upstream \"" + upstream.name + "\": " + result.error);
      break;
    case TransferEnd::kConnectTimeout:
      failure = UpstreamFailure::kTimeout;
      outcome = ProxyOutcome::kTimeout;
      answer(504, ProxyError::kTimeout,
             "upstream \"" + upstream.name + "\" did not accept a connection within its "
             "connect_timeout (" + std::to_string(upstream.connect_timeout.count()) + " ms)");
      break;
    case TransferEnd::kIdleTimeout:
      failure = UpstreamFailure::kTimeout;
      outcome = ProxyOutcome::kTimeout;
      if (relay.head_sent()) {
        exchange.Cut();
      } else {
        answer(504, ProxyError::kTimeout,
               "upstream \"" + upstream.name + "\" sent nothing for its idle_timeout (" +
                   std::to_string(upstream.idle_timeout.count()) + " ms)");
      }
      break;
    case TransferEnd::kBroken:
      failure = UpstreamFailure::kBroken;
      if (relay.head_sent()) {
        // The answer began: the client must see it break, not end.
        exchange.Cut();
        outcome = relay.status() < 300 ? ProxyOutcome::kStreamError
                                       : OutcomeOf(relay.status(), false);
      } else {
        outcome = ProxyOutcome::kUnreachable;
        answer(502, ProxyError::kUnreachable,
               "the connection to upstream \"" + upstream.name +
                   "\" broke before an answer: " + result.error);
      }
      break;
  }
  const Clock::time_point end = relay.head_sent() ? relay.last_write() : Clock::now();
  if (failure) metrics_.CountFailure(index, *failure);

  const meter::Metered metered_answer = relay.metered();
  if (!metered) {
    metrics_.CountUnmetered(index);
  } else if (relay.streamed() && !metered_answer.usage.known &&
             (outcome == ProxyOutcome::kOk || outcome == ProxyOutcome::kStreamError)) {
    metrics_.CountStreamWithoutUsage(index);
  }

  const Attribution attribution = Attribute(request_headers, facts.user);
  const std::size_t max_label = options_.max_label_bytes;
  LlmCall call;
  call.model = CutLabel(metered_answer.model.empty() ? std::string_view(facts.model)
                                                     : std::string_view(metered_answer.model),
                        max_label);
  call.endpoint = CutLabel(attribution.endpoint, max_label);
  call.user_id = CutLabel(attribution.user, max_label);
  call.team_id = CutLabel(attribution.team, max_label);
  call.status = StatusOf(outcome);
  call.trace_id = TraceIdOf(request_headers);
  const meter::Usage& usage = metered_answer.usage;
  call.usage_known = usage.known || NoTokensSpent(outcome);
  call.input_tokens = usage.input;
  call.output_tokens = usage.output;
  call.cached_input_tokens = usage.cached_input;
  call.cache_write_input_tokens = usage.cache_write_input;
  call.reasoning_tokens = usage.reasoning;
  call.latency_seconds = Seconds(end - exchange.received());
  if (relay.streamed() && relay.first_content_written()) {
    call.ttft_seconds = Seconds(*relay.first_content_written() - exchange.received());
  }
  UpstreamObservation observation;
  observation.upstream = upstream.name;
  observation.model = call.model;
  observation.outcome = outcome;
  observation.client_retry = IsClientRetry(request_headers);
  observation.rate_limits = relay.rate_limits();
  ingest_.RecordProxied(call, metered, observation);

  // Names, numbers and the path only: header values and bodies may hold keys and prompts.
  spdlog::debug("Proxy: {} {} to upstream {} ({}): {} {} in {:.3f} s{}", method,
                has_rest ? rest : std::string_view("/"), upstream.name,
                meter::kOperationNames[static_cast<std::size_t>(op)], exchange.status_sent(),
                kProxyOutcomeNames[static_cast<std::size_t>(outcome)], call.latency_seconds,
                result.error.empty() ? std::string() : " (" + result.error + ")");
  return exchange.status_sent();
}

}  // namespace llm_exporter::transport::proxy
