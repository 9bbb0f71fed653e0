// simdjson's two front ends on the agent's own bodies: is the DOM parser the decoder uses within
// 10% of the On-Demand one? Both read every event of the load generator's mix the way the
// decoder's first step does (event_object.cpp): each key of each object looked up among the
// event fields, each known field's value read by its JSON type. Nothing is validated or stored.
//
// The DOM parser lives in Debian's libsimdjson, which picks its kernel for the CPU at run time
// (haswell on an AVX2 machine). On-Demand is compiled into the caller for the CPU the compiler
// targets: built with the default x86-64 flags it is simdjson's scalar fallback. This file is
// therefore built twice (bench/CMakeLists.txt): llm_exporter_json_frontends_v2 with
// -march=x86-64-v2 -mpclmul (On-Demand as westmere, SSE4.2) and llm_exporter_json_frontends_v3
// with -march=x86-64-v3 -mpclmul (haswell, AVX2). Each is a program of its own, so that no inline simdjson code
// built for one CPU level is shared with code built for another.
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "loadgen/event_mix.h"

namespace llm_exporter::bench {
namespace {

constexpr std::size_t kBatch = 1000;

const std::vector<simdjson::padded_string>& Bodies() {
  static const std::vector<simdjson::padded_string> bodies = [] {
    EventMixOptions options;
    options.pool_size = 4000;
    const EventMix mix(options);
    std::vector<simdjson::padded_string> out;
    for (std::size_t first = 0; first < mix.size(); first += kBatch) {
      out.emplace_back(mix.Body(first, kBatch, BodyFormat::kArray));
    }
    return out;
  }();
  return bodies;
}

// The event fields, by the length-first dispatch the decoder uses: 0 for a key it ignores.
int FieldOf(std::string_view key) {
  switch (key.size()) {
    case 4: return key == "type" ? 1 : key == "ttft" ? 2 : 0;
    case 5: return key == "model" ? 3 : key == "cache" ? 4 : key == "score" ? 5 : 0;
    case 6: return key == "status" ? 6 : 0;
    case 7:
      return key == "latency" ? 7 : key == "user_id" ? 8 : key == "span_id" ? 9
                                                     : key == "team_id" ? 10 : 0;
    case 8: return key == "endpoint" ? 11 : key == "trace_id" ? 12 : key == "cost_usd" ? 13 : 0;
    case 9: return key == "evaluator" ? 14 : 0;
    case 12: return key == "input_tokens" ? 15 : 0;
    case 13: return key == "output_tokens" ? 16 : key == "prompt_tokens" ? 15 : 0;
    case 17: return key == "completion_tokens" ? 16 : 0;
    case 19: return key == "cached_input_tokens" ? 17 : 0;
    default: return 0;
  }
}

void SetPerEvent(benchmark::State& state, uint64_t seen) {
  state.counters["per_event"] = benchmark::Counter(
      static_cast<double>(kBatch),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  if (seen != state.iterations() * kBatch) state.SkipWithError("events lost");
}

void BM_FrontEnd_Dom(benchmark::State& state) {
  simdjson::dom::parser parser;
  uint64_t seen = 0;
  double checksum = 0;
  std::size_t i = 0;
  for (auto _ : state) {
    const simdjson::padded_string& body = Bodies()[i++ % Bodies().size()];
    simdjson::dom::array events = parser.parse(body).get_array().value();
    for (simdjson::dom::element event : events) {
      ++seen;
      for (auto [key, value] : simdjson::dom::object(event)) {
        const int field = FieldOf(key);
        if (field == 0) continue;
        switch (value.type()) {
          case simdjson::dom::element_type::STRING:
            checksum += std::string_view(value).size() + field;
            break;
          case simdjson::dom::element_type::INT64:
          case simdjson::dom::element_type::UINT64:
          case simdjson::dom::element_type::DOUBLE:
            checksum += double(value);
            break;
          default: break;
        }
      }
    }
  }
  benchmark::DoNotOptimize(checksum);
  SetPerEvent(state, seen);
}
BENCHMARK(BM_FrontEnd_Dom);

void BM_FrontEnd_OnDemand(benchmark::State& state) {
  simdjson::ondemand::parser parser;
  uint64_t seen = 0;
  double checksum = 0;
  std::size_t i = 0;
  for (auto _ : state) {
    const simdjson::padded_string& body = Bodies()[i++ % Bodies().size()];
    simdjson::ondemand::document doc = parser.iterate(body);
    for (simdjson::ondemand::object event : doc.get_array()) {
      ++seen;
      for (simdjson::ondemand::field entry : event) {
        std::string_view key = entry.unescaped_key().value();
        const int field = FieldOf(key);
        if (field == 0) continue;
        simdjson::ondemand::value value = entry.value();
        switch (value.type().value()) {
          case simdjson::ondemand::json_type::string:
            checksum += value.get_string().value().size() + field;
            break;
          case simdjson::ondemand::json_type::number:
            checksum += value.get_double().value();
            break;
          default: break;
        }
      }
    }
  }
  benchmark::DoNotOptimize(checksum);
  SetPerEvent(state, seen);
}
BENCHMARK(BM_FrontEnd_OnDemand);

}  // namespace
}  // namespace llm_exporter::bench

int main(int argc, char** argv) {
  // SIMDJSON_BUILTIN_IMPLEMENTATION is what this file was compiled with (builtin_implementation()
  // would ask the shared library, built for the default x86-64 level).
  std::printf("DOM: %s (runtime dispatch); On-Demand: %s (compiled in)\n",
              simdjson::get_active_implementation()->name().c_str(),
              SIMDJSON_STRINGIFY(SIMDJSON_BUILTIN_IMPLEMENTATION));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
