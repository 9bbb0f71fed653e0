// Micro-benchmarks of the OTLP span decoders: one export request of 512 spans as OpenLLMetry
// (Traceloop) sends them for chat completions, about 25 attributes each with about 1 KB of prompt
// and completion text (the load generator's spans, loadgen/traceloop_chat_span.h), in protobuf
// and in OTLP/JSON. Reported as spans per second.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <cstdint>
#include <string>

#include "loadgen/event_mix.h"
#include "loadgen/span_batch.h"
#include "loadgen/traceloop_chat_span.h"
#include "otlp/span_decoder.h"

namespace llm_exporter::bench {
namespace {

constexpr int kSpans = 512;
constexpr uint64_t kStart = 1'700'000'000'000'000'000ULL;

// The load generator's mix, LLM calls only: the spans are its first kSpans events.
const EventMix& Mix() {
  static const EventMix mix([] {
    EventMixOptions options;
    options.pool_size = kSpans;
    options.quality_every = 0;
    return options;
  }());
  return mix;
}

std::string Hex(uint64_t value, int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(digits, '0');
  for (int d = digits - 1; d >= 0; --d, value >>= 4) out[d] = kHex[value & 0xF];
  return out;
}

std::string ProtobufBody() {
  SpanBatchOptions options;
  options.start_unix_nanos = kStart;
  return std::string(SpanBatch(Mix(), 0, kSpans, options).bytes());
}

// The same spans as OTLP/JSON, as the JavaScript and Python HTTP/JSON exporters write them.
std::string JsonBody() {
  std::string body = R"({"resourceSpans":[{"resource":{"attributes":[)";
  for (std::size_t r = 0; r < kTraceloopResource.size(); ++r) {
    if (r > 0) body += ',';
    body += fmt::format(R"({{"key":"{}","value":{{"stringValue":"{}"}}}})",
                        kTraceloopResource[r].first, kTraceloopResource[r].second);
  }
  body += fmt::format(R"(]}},"scopeSpans":[{{"scope":{{"name":"{}"}},"spans":[)", kTraceloopScope);
  for (int i = 0; i < kSpans; ++i) {
    const TraceloopChatSpan span = TraceloopChatSpanOf(Mix().at(i), i);
    const uint64_t start = kStart + i * 1'000'000ULL;
    if (i > 0) body += ',';
    body += R"({"traceId":")" + Hex(0x5b8efff798038103ULL + i, 16) + "d269b633813fc60c" +
            R"(","spanId":")" + Hex(0xeee19b7ec3c1b174ULL + i, 16) + R"(","parentSpanId":")" +
            Hex(0xeee19b7ec3c1b173ULL + i, 16) + R"(","name":")" + span.name + R"(","kind":3,)" +
            R"("startTimeUnixNano":")" + std::to_string(start) + R"(","endTimeUnixNano":")" +
            std::to_string(start + span.duration_nanos) + R"(","attributes":[)";
    bool first = true;
    for (const SpanAttribute& a : span.attributes) {
      if (!first) body += ',';
      first = false;
      body += R"({"key":")" + a.key + R"(","value":{)";
      switch (a.kind) {
        case SpanAttribute::Kind::kString: body += R"("stringValue":")" + a.text + '"'; break;
        case SpanAttribute::Kind::kInt:
          body += R"("intValue":")" + std::to_string(a.integer) + '"';
          break;
        case SpanAttribute::Kind::kDouble:
          body += fmt::format(R"("doubleValue":{})", a.number);
          break;
        case SpanAttribute::Kind::kBool:
          body += a.boolean ? R"("boolValue":true)" : R"("boolValue":false)";
          break;
      }
      body += "}}";
    }
    body += span.error ? R"(],"status":{"code":2}})" : R"(],"status":{"code":1}})";
  }
  return body + "]}]}]}";
}

void Decode(benchmark::State& state, SpanEncoding encoding, const std::string& body) {
  otlp::SpanDecoder decoder;
  for (auto _ : state) {
    const otlp::DecodedSpans& d = decoder.Decode(encoding, body);
    if (d.spans.size() != kSpans) {
      state.SkipWithError("the request did not decode to all its spans");
      break;
    }
    benchmark::DoNotOptimize(d.spans.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * kSpans);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
  state.counters["body_bytes"] = static_cast<double>(body.size());
  state.counters["retained_bytes"] = static_cast<double>(decoder.retained_bytes());
}

void BM_DecodeOtlpProtobuf(benchmark::State& state) {
  static const std::string body = ProtobufBody();
  Decode(state, SpanEncoding::kProtobuf, body);
}
BENCHMARK(BM_DecodeOtlpProtobuf);

void BM_DecodeOtlpJson(benchmark::State& state) {
  static const std::string body = JsonBody();
  Decode(state, SpanEncoding::kJson, body);
}
BENCHMARK(BM_DecodeOtlpJson);

}  // namespace
}  // namespace llm_exporter::bench
