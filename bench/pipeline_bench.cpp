// Micro-benchmarks of the per-event path: decode, price, aggregate, each alone and together
// (EventPipeline, as the transports call it). Target: decode + price + aggregate <= 300 ns per
// event. The events are the load generator's deterministic mix.
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "aggregate/series_store.h"
#include "bench_fixtures.h"
#include "decode/event_decoder.h"
#include "llm_exporter/clock.h"
#include "llm_exporter/event_sink.h"
#include "pipeline/event_pipeline.h"
#include "pricing/price_catalog.h"
#include "pricing/price_table.h"
#include "telemetry/agent_metrics.h"

namespace llm_exporter::bench {
namespace {

constexpr std::size_t kBatch = 1000;

// Swallows events, so that only decoding is measured.
class CountingSink final : public EventSink {
 public:
  void OnLlmCall(const LlmCall&) override { ++calls; }
  void OnQualityScore(const QualityScore&) override { ++scores; }
  uint64_t calls = 0;
  uint64_t scores = 0;
};

std::vector<PaddedBody> SingleBodies() {
  std::vector<PaddedBody> bodies;
  const EventMix& mix = DefaultMix();
  for (std::size_t i = 0; i < mix.size(); ++i) bodies.emplace_back(mix.at(i).json);
  return bodies;
}

// The pool as batches of kBatch events, in the given body format.
std::vector<PaddedBody> BatchBodies(BodyFormat format) {
  std::vector<PaddedBody> bodies;
  const EventMix& mix = DefaultMix();
  for (std::size_t first = 0; first < mix.size(); first += kBatch) {
    bodies.emplace_back(mix.Body(first, kBatch, format));
  }
  return bodies;
}

std::vector<LlmCall> Calls() {
  std::vector<LlmCall> calls;
  const EventMix& mix = DefaultMix();
  for (std::size_t i = 0; i < mix.size(); ++i) {
    if (!mix.at(i).quality) calls.push_back(mix.at(i).AsLlmCall());
  }
  return calls;
}

// ---- decode alone ----

void BM_Decode_OneEventPerBody(benchmark::State& state) {
  const std::vector<PaddedBody> bodies = SingleBodies();
  decode::EventDecoder decoder;
  CountingSink sink;
  std::size_t i = 0;
  for (auto _ : state) {
    const PaddedBody& body = bodies[i++ % bodies.size()];
    benchmark::DoNotOptimize(decoder.Decode(body.view(), body.readable(), sink));
  }
  SetTimePerEvent(state, 1);
}
BENCHMARK(BM_Decode_OneEventPerBody);

void BM_Decode_Batch(benchmark::State& state, BodyFormat format) {
  const std::vector<PaddedBody> bodies = BatchBodies(format);
  decode::EventDecoder decoder;
  CountingSink sink;
  std::size_t i = 0;
  for (auto _ : state) {
    const PaddedBody& body = bodies[i++ % bodies.size()];
    benchmark::DoNotOptimize(decoder.Decode(body.view(), body.readable(), sink));
  }
  if (sink.calls + sink.scores != state.iterations() * kBatch) state.SkipWithError("events lost");
  SetTimePerEvent(state, kBatch);
}
BENCHMARK_CAPTURE(BM_Decode_Batch, array_1000, BodyFormat::kArray);
BENCHMARK_CAPTURE(BM_Decode_Batch, ndjson_1000, BodyFormat::kNdjson);

void BM_Decode_Lines(benchmark::State& state) {
  const std::vector<PaddedBody> bodies = BatchBodies(BodyFormat::kNdjson);
  decode::EventDecoder decoder;
  CountingSink sink;
  std::size_t i = 0;
  for (auto _ : state) {
    const PaddedBody& body = bodies[i++ % bodies.size()];
    benchmark::DoNotOptimize(decoder.DecodeLines(body.view(), body.readable(), sink));
  }
  SetTimePerEvent(state, kBatch);
}
BENCHMARK(BM_Decode_Lines);

// ---- price alone ----

void BM_Price(benchmark::State& state) {
  const std::vector<LlmCall> calls = Calls();
  const pricing::PriceTable table = pricing::PriceTable::Default();
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(table.Price(calls[i++ % calls.size()]));
  }
  SetTimePerEvent(state, 1);
}
BENCHMARK(BM_Price);

// ---- aggregate alone ----

void BM_Aggregate(benchmark::State& state) {
  static SystemClock clock;
  static std::unique_ptr<aggregate::SeriesStore> store;
  if (state.thread_index() == 0) {
    store = std::make_unique<aggregate::SeriesStore>(aggregate::StoreOptions{}, clock);
  }
  const std::vector<LlmCall> calls = Calls();
  const pricing::PriceTable table = pricing::PriceTable::Default();
  std::vector<pricing::PricedCall> prices;
  for (const LlmCall& call : calls) prices.push_back(table.Price(call));
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 997;
  for (auto _ : state) {
    const std::size_t k = i++ % calls.size();
    store->RecordCall(calls[k], prices[k].cost, prices[k].fallback);
  }
  SetTimePerEvent(state, 1);
}
BENCHMARK(BM_Aggregate)->Threads(1)->Threads(2)->UseRealTime();

// ---- decode + price + aggregate: the pipeline as transports use it ----

struct Pipeline {
  SystemClock clock;
  telemetry::AgentMetrics agent_metrics;
  pricing::PriceCatalog prices{pricing::PriceTable::Default()};
  aggregate::SeriesStore store{aggregate::StoreOptions{}, clock};
  llm_exporter::pipeline::EventPipeline pipeline{decode::DecodeLimits{}, prices, store,
                                                 agent_metrics, clock};
};

void BM_Pipeline_OneEventPerBody(benchmark::State& state) {
  static std::unique_ptr<Pipeline> p;
  if (state.thread_index() == 0) p = std::make_unique<Pipeline>();
  const std::vector<PaddedBody> bodies = SingleBodies();
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 997;
  for (auto _ : state) {
    const PaddedBody& body = bodies[i++ % bodies.size()];
    benchmark::DoNotOptimize(p->pipeline.Ingest(Transport::kHttp, body.view(), body.readable()));
  }
  SetTimePerEvent(state, 1);
}
BENCHMARK(BM_Pipeline_OneEventPerBody)->Threads(1)->Threads(2)->UseRealTime();

void BM_Pipeline_Batch(benchmark::State& state, BodyFormat format) {
  static std::unique_ptr<Pipeline> p;
  if (state.thread_index() == 0) p = std::make_unique<Pipeline>();
  const std::vector<PaddedBody> bodies = BatchBodies(format);
  std::size_t i = static_cast<std::size_t>(state.thread_index());
  for (auto _ : state) {
    const PaddedBody& body = bodies[i++ % bodies.size()];
    benchmark::DoNotOptimize(p->pipeline.Ingest(Transport::kHttp, body.view(), body.readable()));
  }
  SetTimePerEvent(state, kBatch);
}
BENCHMARK_CAPTURE(BM_Pipeline_Batch, array_1000, BodyFormat::kArray)
    ->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_Pipeline_Batch, ndjson_1000, BodyFormat::kNdjson)
    ->Threads(1)->Threads(2)->UseRealTime();

void BM_Pipeline_Lines(benchmark::State& state) {
  static std::unique_ptr<Pipeline> p;
  if (state.thread_index() == 0) p = std::make_unique<Pipeline>();
  const std::vector<PaddedBody> bodies = BatchBodies(BodyFormat::kNdjson);
  std::size_t i = static_cast<std::size_t>(state.thread_index());
  for (auto _ : state) {
    const PaddedBody& body = bodies[i++ % bodies.size()];
    benchmark::DoNotOptimize(
        p->pipeline.IngestLines(Transport::kUnix, body.view(), body.readable()));
  }
  SetTimePerEvent(state, kBatch);
}
BENCHMARK(BM_Pipeline_Lines)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
}  // namespace llm_exporter::bench
