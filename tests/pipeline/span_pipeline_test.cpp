#include "pipeline/span_pipeline.h"

#include <doctest/doctest.h>

#include <string>

#include "aggregate/series_store.h"
#include "fakes/fake_clock.h"
#include "fakes/log_capture.h"
#include "telemetry/agent_metrics.h"
#include "telemetry/otlp_metrics.h"

namespace llm_exporter::pipeline {
namespace {

using namespace std::chrono_literals;

struct SpanFixture {
  testing::FakeClock clock;
  telemetry::AgentMetrics agent_metrics;
  telemetry::OtlpMetrics otlp_metrics{agent_metrics};
  pricing::PriceCatalog prices{pricing::PriceTable::Default()};
  aggregate::SeriesStore store{aggregate::StoreOptions{}, clock};
  std::unique_ptr<SpanPipeline> pipeline;

  explicit SpanFixture(std::chrono::nanoseconds hold = 0s) {
    SpanPipelineOptions options;
    options.hold.hold = hold;
    pipeline = std::make_unique<SpanPipeline>(options, prices, store, otlp_metrics, clock);
  }
  SpanIngestResult Post(const std::string& json) {
    return pipeline->IngestSpans(SpanTransport::kHttp, SpanEncoding::kJson, json);
  }
  uint64_t Requests(std::string_view model) const {
    uint64_t total = 0;
    store.SnapshotRequests().ForEach([&](const aggregate::RequestLabels& l, uint64_t count) {
      if (l.model == model) total += count;
    });
    return total;
  }
  uint64_t InputTokens(std::string_view model) const {
    uint64_t total = 0;
    store.SnapshotModels().ForEach(
        [&](const aggregate::ModelLabels& l, const aggregate::ModelValue& v) {
          if (l.model == model) total += v.input_tokens;
        });
    return total;
  }
};

// One OTLP/JSON span; `extra` is more JSON members of the span (with a leading comma).
std::string SpanJson(const std::string& span_id, const std::string& parent,
                     const std::string& attributes, const std::string& extra = "") {
  return R"({"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":")" + span_id +
         R"(","parentSpanId":")" + parent +
         R"(","name":"chat","startTimeUnixNano":"1000000000","endTimeUnixNano":"2500000000",)" +
         R"("attributes":[)" + attributes + "]" + extra + "}";
}
std::string Attr(const std::string& key, const std::string& value) {
  return R"({"key":")" + key + R"(","value":{"stringValue":")" + value + R"("}})";
}
std::string IntAttr(const std::string& key, int64_t value) {
  return R"({"key":")" + key + R"(","value":{"intValue":")" + std::to_string(value) + R"("}})";
}
std::string Body(const std::string& spans) {
  return R"({"resourceSpans":[{"resource":{"attributes":[]},"scopeSpans":[{"spans":[)" + spans +
         "]}]}]}";
}
std::string Chat(const std::string& span_id, const std::string& parent, const std::string& model,
                 int64_t input) {
  return SpanJson(span_id, parent,
                  Attr("gen_ai.operation.name", "chat") + "," +
                      Attr("gen_ai.request.model", model) + "," +
                      IntAttr("gen_ai.usage.input_tokens", input));
}

TEST_CASE("SpanPipeline: LLM calls are priced and recorded, spans counted by kind") {
  SpanFixture f;
  const std::string tool = SpanJson("00000000000000b1", "",
                                    Attr("traceloop.span.kind", "tool") + "," +
                                        Attr("traceloop.entity.name", "search"));
  const std::string other = SpanJson("00000000000000b2", "", Attr("http.method", "GET"));
  const SpanIngestResult r =
      f.Post(Body(Chat("00000000000000a1", "", "gpt-4o", 1000) + "," + tool + "," + other));
  REQUIRE(r.ok());
  CHECK(r.accepted == 3);
  CHECK(r.rejected == 0);
  CHECK(r.error_message.empty());
  CHECK(f.Requests("gpt-4o") == 1);
  CHECK(f.InputTokens("gpt-4o") == 1000);
  CHECK(f.otlp_metrics.spans(SpanTransport::kHttp, SpanKind::kLlmCall) == 1);
  CHECK(f.otlp_metrics.spans(SpanTransport::kHttp, SpanKind::kTool) == 1);
  CHECK(f.otlp_metrics.spans(SpanTransport::kHttp, SpanKind::kIgnored) == 1);
  uint64_t tools = 0;
  f.store.SnapshotTools().ForEach([&](const aggregate::ToolLabels& l, uint64_t n) {
    CHECK(l.tool == "search");
    CHECK(l.status == "success");
    tools += n;
  });
  CHECK(tools == 1);
}

TEST_CASE("SpanPipeline: refused spans are named in wire order; the others are counted") {
  SpanFixture f;
  const std::string backwards =
      R"({"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00000000000000a2","name":"chat",)"
      R"("startTimeUnixNano":"5","endTimeUnixNano":"4","attributes":[]})";
  const std::string bad_id = SpanJson("zz", "", Attr("gen_ai.operation.name", "chat"));
  const SpanIngestResult r = f.Post(
      Body(backwards + "," + bad_id + "," + Chat("00000000000000a1", "", "gpt-4o-mini", 5)));
  REQUIRE(r.ok());
  CHECK(r.accepted == 1);
  CHECK(r.rejected == 2);
  CHECK(r.error_message.starts_with(
      "span 0 (chat): end time 4 is before start time 5 (unix nanoseconds); span 1"));
  CHECK(f.otlp_metrics.rejected(SpanTransport::kHttp, SpanRejectReason::kEndBeforeStart) == 1);
  CHECK(f.otlp_metrics.rejected(SpanTransport::kHttp, SpanRejectReason::kInvalidId) == 1);
  CHECK(f.Requests("gpt-4o-mini") == 1);
}

TEST_CASE("SpanPipeline: an undecodable body counts nothing and is counted as one") {
  SpanFixture f;
  const SpanIngestResult r = f.Post("{\"resourceSpans\":[");
  CHECK_FALSE(r.ok());
  CHECK(r.accepted == 0);
  CHECK(f.otlp_metrics.rejected(SpanTransport::kHttp, SpanRejectReason::kUndecodable) == 1);
  CHECK(f.Requests("gpt-4o") == 0);
}

TEST_CASE("SpanPipeline: the outer of two nested calls is held, then left uncounted") {
  SpanFixture f(5s);
  f.Post(Body(Chat("0000000000000001", "", "outer-model", 300)));
  f.Post(Body(Chat("0000000000000002", "0000000000000001", "inner-model", 100)));
  f.pipeline->ReleaseHeld();
  CHECK(f.Requests("inner-model") == 0);
  f.clock.Advance(5s);
  f.pipeline->ReleaseHeld();
  CHECK(f.Requests("inner-model") == 1);
  CHECK(f.Requests("outer-model") == 0);
  CHECK(f.InputTokens("inner-model") == 100);
}

TEST_CASE("SpanPipeline: many refused spans are summed up after the first few") {
  SpanFixture f;
  std::string spans;
  for (int i = 0; i < 25; ++i) {
    if (i > 0) spans += ",";
    spans += SpanJson("00000000000000a1", "", IntAttr("gen_ai.usage.input_tokens", -1) + "," +
                                                  Attr("gen_ai.operation.name", "chat"));
  }
  const SpanIngestResult r = f.Post(Body(spans));
  CHECK(r.rejected == 25);
  CHECK(r.error_message.ends_with("; and 15 more span(s) refused"));
  CHECK(f.otlp_metrics.rejected(SpanTransport::kHttp, SpanRejectReason::kInvalidValue) == 25);
}

}  // namespace
}  // namespace llm_exporter::pipeline
