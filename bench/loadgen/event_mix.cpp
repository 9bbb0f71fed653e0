#include "loadgen/event_mix.h"

#include <fmt/format.h>

#include <array>

namespace llm_exporter::bench {
namespace {

// splitmix64: small, fast and the same on every platform, so a seed names one mix everywhere.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [lo, hi].
  uint64_t Between(uint64_t lo, uint64_t hi) { return lo + Next() % (hi - lo + 1); }
  // True with probability percent / 100.
  bool Percent(uint64_t percent) { return Next() % 100 < percent; }

 private:
  uint64_t state_;
};

struct Weighted {
  std::string_view value;
  uint64_t percent;
};

// The models the default price table lists, and one it does not (priced with the fallback).
constexpr std::array<Weighted, 4> kModels = {{{"gpt-4o", 40},
                                              {"gpt-4o-mini", 35},
                                              {"claude-sonnet-4-20250514", 20},
                                              {"llama-3.1-70b-instruct", 5}}};
constexpr std::array<Weighted, 3> kEndpoints = {{{"/chat", 80}, {"/summarize", 15}, {"/embed", 5}}};
constexpr std::array<std::string_view, 2> kEvaluators = {"human", "llm-judge"};

std::string_view Pick(Random& random, const auto& table) {
  uint64_t roll = random.Next() % 100;
  for (const Weighted& w : table) {
    if (roll < w.percent) return w.value;
    roll -= w.percent;
  }
  return table.back().value;
}

// Milliseconds as seconds with three decimals, so the JSON text and the parsed double agree.
double Millis(uint64_t ms) { return static_cast<double>(ms) / 1000.0; }

std::string ToJson(const MixEvent& e) {
  std::string out;
  if (e.quality) {
    fmt::format_to(std::back_inserter(out),
                   R"({{"type":"quality","model":"{}","evaluator":"{}","score":{},"trace_id":"{}"}})",
                   e.model, e.evaluator, e.score, e.trace_id);
    return out;
  }
  fmt::format_to(std::back_inserter(out),
                 R"({{"type":"llm_call","model":"{}","endpoint":"{}","status":"{}","user_id":"{}",)"
                 R"("team_id":"{}","input_tokens":{},"output_tokens":{},"latency":{:.3f})",
                 e.model, e.endpoint, e.status, e.user_id, e.team_id, e.input_tokens,
                 e.output_tokens, e.latency_seconds);
  if (e.cached_input_tokens > 0) {
    fmt::format_to(std::back_inserter(out), R"(,"cached_input_tokens":{})", e.cached_input_tokens);
  }
  if (e.ttft_seconds) fmt::format_to(std::back_inserter(out), R"(,"ttft":{:.3f})", *e.ttft_seconds);
  if (e.cache == CacheOutcome::kHit) out.append(R"(,"cache":"hit")");
  if (e.cache == CacheOutcome::kMiss) out.append(R"(,"cache":"miss")");
  if (e.cost_usd) fmt::format_to(std::back_inserter(out), R"(,"cost_usd":{:.4f})", *e.cost_usd);
  if (!e.trace_id.empty()) fmt::format_to(std::back_inserter(out), R"(,"trace_id":"{}")", e.trace_id);
  out.push_back('}');
  return out;
}

MixEvent MakeEvent(Random& random, std::size_t index, const EventMixOptions& options) {
  MixEvent e;
  e.trace_id = fmt::format("{:016x}{:016x}", random.Next(), random.Next());
  if (options.quality_every > 0 && index % options.quality_every == options.quality_every - 1) {
    e.quality = true;
    e.model = Pick(random, kModels);
    e.evaluator = kEvaluators[random.Next() % kEvaluators.size()];
    e.score = static_cast<double>(random.Between(1, 5));
    return e;
  }
  e.model = Pick(random, kModels);
  e.endpoint = Pick(random, kEndpoints);
  e.status = random.Percent(3) ? "error" : "success";
  const std::size_t user = options.sequential_users ? index % options.users
                                                    : random.Next() % options.users;
  e.user_id = fmt::format("user-{:06}", user);
  e.team_id = fmt::format("team-{:02}", user % options.teams);
  e.input_tokens = random.Between(1, 4000);
  e.output_tokens = random.Between(0, 1000);
  if (random.Percent(20)) e.cached_input_tokens = random.Between(0, e.input_tokens);
  e.latency_seconds = Millis(random.Between(20, 20000));
  if (random.Percent(60)) e.ttft_seconds = Millis(random.Between(10, 2000));
  const uint64_t cache_roll = random.Next() % 10;
  if (cache_roll < 2) e.cache = CacheOutcome::kHit;
  else if (cache_roll < 5) e.cache = CacheOutcome::kMiss;
  if (random.Percent(5)) e.cost_usd = static_cast<double>(random.Between(1, 99999)) / 10000.0;
  return e;
}

}  // namespace

LlmCall MixEvent::AsLlmCall() const {
  LlmCall call;
  call.model = model;
  call.endpoint = endpoint;
  call.status = status;
  call.user_id = user_id;
  call.team_id = team_id;
  call.trace_id = trace_id;
  call.input_tokens = input_tokens;
  call.output_tokens = output_tokens;
  call.cached_input_tokens = cached_input_tokens;
  call.latency_seconds = latency_seconds;
  call.ttft_seconds = ttft_seconds;
  call.cache = cache;
  return call;
}

QualityScore MixEvent::AsQualityScore() const {
  return QualityScore{model, evaluator, trace_id, score};
}

EventMix::EventMix(EventMixOptions options) {
  if (options.pool_size == 0) options.pool_size = 1;
  if (options.users == 0) options.users = 1;
  if (options.teams == 0) options.teams = 1;
  Random random(options.seed);
  events_.reserve(options.pool_size);
  calls_before_.reserve(options.pool_size + 1);
  line_offsets_.reserve(options.pool_size + 1);
  calls_before_.push_back(0);
  line_offsets_.push_back(0);
  for (std::size_t i = 0; i < options.pool_size; ++i) {
    MixEvent e = MakeEvent(random, i, options);
    e.json = ToJson(e);
    ndjson_.append(e.json).push_back('\n');
    line_offsets_.push_back(ndjson_.size());
    calls_before_.push_back(calls_before_.back() + (e.quality ? 0 : 1));
    events_.push_back(std::move(e));
  }
}

std::string EventMix::Body(uint64_t first, std::size_t count, BodyFormat format) const {
  std::string body;
  body.reserve(count * (events_[0].json.size() + 64) + 2);
  if (format == BodyFormat::kArray) body.push_back('[');
  for (std::size_t k = 0; k < count; ++k) {
    if (k > 0 && format == BodyFormat::kArray) body.push_back(',');
    body.append(at(first + k).json);
    if (format == BodyFormat::kNdjson) body.push_back('\n');
  }
  if (format == BodyFormat::kArray) body.push_back(']');
  return body;
}

uint64_t EventMix::CallsIn(uint64_t count) const {
  const uint64_t k = events_.size();
  return (count / k) * calls_before_[k] + calls_before_[count % k];
}

}  // namespace llm_exporter::bench
