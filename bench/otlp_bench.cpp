// Micro-benchmarks of the OTLP span decoders: one export request of 512 spans as OpenLLMetry
// (Traceloop) sends them for chat completions, about 25 attributes each with about 1 KB of prompt
// and completion text, in protobuf and in OTLP/JSON. Reported as spans per second.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "otlp/span_decoder.h"

namespace llm_exporter::bench {
namespace {

namespace pb_common = opentelemetry::proto::common::v1;
namespace pb_trace = opentelemetry::proto::trace::v1;
using opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;

constexpr int kSpans = 512;

// One attribute of the typical span; `kind` says which AnyValue field it uses.
struct BenchAttribute {
  enum Kind { kString, kInt, kDouble, kBool } kind;
  std::string key;
  std::string text;
  int64_t integer = 0;
  double number = 0;
};

std::string Text(std::string_view seed, std::size_t bytes) {
  std::string out;
  while (out.size() < bytes) out.append(seed);
  out.resize(bytes);
  return out;
}

// The attributes of span `i` (token counts and ids vary from span to span).
std::vector<BenchAttribute> TraceloopAttributes(int i) {
  using A = BenchAttribute;
  return {
      {A::kString, "llm.request.type", "chat"},
      {A::kString, "gen_ai.system", "OpenAI"},
      {A::kString, "gen_ai.request.model", "gpt-4o-2024-08-06"},
      {A::kInt, "gen_ai.request.max_tokens", "", 1024},
      {A::kDouble, "gen_ai.request.temperature", "", 0, 0.7},
      {A::kDouble, "gen_ai.request.top_p", "", 0, 1.0},
      {A::kString, "llm.headers", "None"},
      {A::kBool, "llm.is_streaming", "", 0},
      {A::kString, "gen_ai.openai.api_base", "https://api.openai.com/v1/"},
      {A::kString, "gen_ai.prompt.0.role", "system"},
      {A::kString, "gen_ai.prompt.0.content",
       Text("You are a helpful support assistant for a bicycle shop. ", 300)},
      {A::kString, "gen_ai.prompt.1.role", "user"},
      {A::kString, "gen_ai.prompt.1.content",
       Text("My rear derailleur skips gears when I pedal hard uphill; what should I check? ", 250)},
      {A::kString, "gen_ai.response.model", "gpt-4o-2024-08-06"},
      {A::kString, "gen_ai.response.id", "chatcmpl-AbC" + std::to_string(1'000'000 + i)},
      {A::kString, "gen_ai.openai.system_fingerprint", "fp_5f20662549"},
      {A::kInt, "llm.usage.total_tokens", "", 1300 + i % 97},
      {A::kInt, "gen_ai.usage.prompt_tokens", "", 1000 + i % 61},
      {A::kInt, "gen_ai.usage.completion_tokens", "", 300 + i % 37},
      {A::kInt, "gen_ai.usage.cache_read_input_tokens", "", 0},
      {A::kString, "gen_ai.completion.0.finish_reason", "stop"},
      {A::kString, "gen_ai.completion.0.role", "assistant"},
      {A::kString, "gen_ai.completion.0.content",
       Text("Check the cable tension first, then the hanger alignment and chain wear. ", 500)},
      {A::kString, "traceloop.workflow.name", "support_chat"},
      {A::kString, "traceloop.entity.path", "answer_question"},
      {A::kString, "traceloop.association.properties.user_id", "user-" + std::to_string(i % 100)},
  };
}

std::string Hex(uint64_t value, int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(digits, '0');
  for (int d = digits - 1; d >= 0; --d, value >>= 4) out[d] = kHex[value & 0xF];
  return out;
}

std::string Bytes(uint64_t value, int bytes) {
  std::string out(bytes, '\0');
  for (int b = bytes - 1; b >= 0; --b, value >>= 8) out[b] = static_cast<char>(value & 0xFF);
  return out;
}

constexpr uint64_t kStart = 1'700'000'000'000'000'000ULL;

std::string ProtobufBody() {
  ExportTraceServiceRequest request;
  pb_trace::ResourceSpans* resource_spans = request.add_resource_spans();
  auto* resource = resource_spans->mutable_resource()->mutable_attributes();
  for (const auto& [k, v] : {std::pair{"service.name", "support-bot"},
                             std::pair{"telemetry.sdk.language", "python"},
                             std::pair{"telemetry.sdk.name", "opentelemetry"},
                             std::pair{"telemetry.sdk.version", "1.27.0"}}) {
    pb_common::KeyValue* kv = resource->Add();
    kv->set_key(k);
    kv->mutable_value()->set_string_value(v);
  }
  pb_trace::ScopeSpans* scope = resource_spans->add_scope_spans();
  scope->mutable_scope()->set_name("opentelemetry.instrumentation.openai.v1");
  for (int i = 0; i < kSpans; ++i) {
    pb_trace::Span* span = scope->add_spans();
    span->set_trace_id(Bytes(0x5b8efff798038103ULL + i, 8) + Bytes(0xd269b633813fc60cULL, 8));
    span->set_span_id(Bytes(0xeee19b7ec3c1b174ULL + i, 8));
    span->set_parent_span_id(Bytes(0xeee19b7ec3c1b173ULL + i, 8));
    span->set_name("openai.chat");
    span->set_kind(pb_trace::Span::SPAN_KIND_CLIENT);
    span->set_start_time_unix_nano(kStart + i * 1'000'000ULL);
    span->set_end_time_unix_nano(kStart + i * 1'000'000ULL + 850'000'000ULL);
    for (const BenchAttribute& a : TraceloopAttributes(i)) {
      pb_common::KeyValue* kv = span->add_attributes();
      kv->set_key(a.key);
      switch (a.kind) {
        case BenchAttribute::kString: kv->mutable_value()->set_string_value(a.text); break;
        case BenchAttribute::kInt: kv->mutable_value()->set_int_value(a.integer); break;
        case BenchAttribute::kDouble: kv->mutable_value()->set_double_value(a.number); break;
        case BenchAttribute::kBool: kv->mutable_value()->set_bool_value(false); break;
      }
    }
    span->mutable_status()->set_code(pb_trace::Status::STATUS_CODE_OK);
  }
  return request.SerializeAsString();
}

// The same request as OTLP/JSON, as the JavaScript and Python HTTP/JSON exporters write it.
std::string JsonBody() {
  std::string body =
      R"({"resourceSpans":[{"resource":{"attributes":[)"
      R"({"key":"service.name","value":{"stringValue":"support-bot"}},)"
      R"({"key":"telemetry.sdk.language","value":{"stringValue":"python"}},)"
      R"({"key":"telemetry.sdk.name","value":{"stringValue":"opentelemetry"}},)"
      R"({"key":"telemetry.sdk.version","value":{"stringValue":"1.27.0"}}]},)"
      R"("scopeSpans":[{"scope":{"name":"opentelemetry.instrumentation.openai.v1"},"spans":[)";
  for (int i = 0; i < kSpans; ++i) {
    if (i > 0) body += ',';
    body += R"({"traceId":")" + Hex(0x5b8efff798038103ULL + i, 16) + "d269b633813fc60c" +
            R"(","spanId":")" + Hex(0xeee19b7ec3c1b174ULL + i, 16) + R"(","parentSpanId":")" +
            Hex(0xeee19b7ec3c1b173ULL + i, 16) + R"(","name":"openai.chat","kind":3,)" +
            R"("startTimeUnixNano":")" + std::to_string(kStart + i * 1'000'000ULL) +
            R"(","endTimeUnixNano":")" +
            std::to_string(kStart + i * 1'000'000ULL + 850'000'000ULL) + R"(","attributes":[)";
    bool first = true;
    for (const BenchAttribute& a : TraceloopAttributes(i)) {
      if (!first) body += ',';
      first = false;
      body += R"({"key":")" + a.key + R"(","value":{)";
      switch (a.kind) {
        case BenchAttribute::kString: body += R"("stringValue":")" + a.text + '"'; break;
        case BenchAttribute::kInt: body += R"("intValue":")" + std::to_string(a.integer) + '"'; break;
        case BenchAttribute::kDouble: body += R"("doubleValue":)" + std::to_string(a.number); break;
        case BenchAttribute::kBool: body += R"("boolValue":false)"; break;
      }
      body += "}}";
    }
    body += R"(],"status":{"code":1}})";
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
