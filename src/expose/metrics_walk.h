// The walk every exposition makes: the template definitions of MetricsRenderer's Write*()
// members, for the writers of expose/ (metrics_renderer.cpp) and for any other writer with the
// same calls (exposition.h), such as the remote write encoder.
#pragma once

#include <array>
#include <span>
#include <type_traits>
#include <vector>

#include "expose/exposition.h"
#include "expose/metrics_renderer.h"
#include "expose/text_writer.h"
#include "llm_exporter/proxy_ingest.h"

namespace llm_exporter::expose {
namespace walk_internal {

// A series' exemplars as a writer takes them: one pointer per slot, nullptr for an empty slot.
// Scratch reused from series to series within one render.
class ExemplarViews {
 public:
  // For a counter: its exemplar, or nullptr.
  const Exemplar* One(const aggregate::SeriesExtras& extras) {
    Fill(extras);
    return pointers_.empty() ? nullptr : pointers_[0];
  }
  // For a histogram: one per bucket, or empty.
  std::span<const Exemplar* const> PerBucket(const aggregate::SeriesExtras& extras) {
    Fill(extras);
    return pointers_;
  }

 private:
  void Fill(const aggregate::SeriesExtras& extras) {
    views_.clear();
    pointers_.clear();
    for (const aggregate::ExemplarSlot& slot : extras.exemplars) {
      views_.push_back(slot.empty() ? Exemplar{}
                                    : Exemplar{slot.trace_id(), slot.span_id(), slot.value(),
                                               slot.timestamp()});
    }
    for (std::size_t i = 0; i < views_.size(); ++i) {
      pointers_.push_back(extras.exemplars[i].empty() ? nullptr : &views_[i]);
    }
  }

  std::vector<Exemplar> views_;
  std::vector<const Exemplar*> pointers_;
};

// A family's labels without those --metrics.drop-labels drops (aggregate/label_control.h):
// bit i of `dropped` is the i-th label of the list, which the walk gives in the family's
// kKeyOrder. Without dropped labels, the list as it is.
class LabelFilter {
 public:
  explicit LabelFilter(aggregate::DroppedLabels dropped) : dropped_(dropped) {}
  LabelList operator()(LabelList labels) {
    if (dropped_ == 0) [[likely]] return labels;
    std::size_t kept = 0;
    std::size_t i = 0;
    for (const Label& label : labels) {
      if (((dropped_ >> i++) & 1) == 0 && kept < kept_.size()) kept_[kept++] = label;
    }
    return std::span<const Label>(kept_.data(), kept);
  }

 private:
  aggregate::DroppedLabels dropped_;
  std::array<Label, 4> kept_;
};

}  // namespace walk_internal

template <typename Writer>
void MetricsRenderer::WriteAll(Writer& w) const {
  WriteLlmFamilies(store_, w);
  WriteStoreHealth(w);
  WriteAgentMetrics(w);
  w.Finish();
}

template <typename Writer>
void MetricsRenderer::WriteAgentMetrics(Writer& w) const {
  if constexpr (std::is_same_v<Writer, TextWriter>) {
    // As the text format has always had them: prometheus-cpp's own serializer.
    agent_metrics_.AppendText(w.out());
  } else {
    std::vector<Label> labels;
    for (const telemetry::AgentMetrics::OwnFamily& family : agent_metrics_.CollectFamilies()) {
      w.Family(family.name, family.counter ? MetricType::kCounter : MetricType::kGauge,
               family.help);
      for (const telemetry::AgentMetrics::OwnSample& sample : family.samples) {
        labels.clear();
        for (const auto& [name, value] : sample.labels) labels.push_back({name, value});
        w.Sample(family.name, std::span<const Label>(labels), sample.value);
      }
    }
  }
}

template <typename Source, typename Writer>
void MetricsRenderer::WriteLlmFamilies(const Source& source, Writer& w) const {
  using aggregate::DurationValue;
  using aggregate::Family;
  using aggregate::HistogramValue;
  using aggregate::SeriesExtras;
  using walk_internal::LabelFilter;
  constexpr bool kExtras = Writer::kWritesExtras;
  walk_internal::ExemplarViews exemplars;
  const BucketBounds duration_buckets{store_.duration_layout().bounds(), duration_les_};
  const BucketBounds ttft_buckets{store_.ttft_layout().bounds(), ttft_les_};
  const BucketBounds tpot_buckets{store_.tpot_layout().bounds(), tpot_les_};
  const BucketBounds output_tps_buckets{store_.output_tps_layout().bounds(), output_tps_les_};
  // The labels --metrics.drop-labels drops are left out of each family's samples.
  LabelFilter requests_labels(store_.dropped_labels(Family::kRequests));
  LabelFilter duration_labels(store_.dropped_labels(Family::kDuration));
  LabelFilter cost_labels(store_.dropped_labels(Family::kCost));
  LabelFilter quality_labels(store_.dropped_labels(Family::kQuality));
  LabelFilter workflow_labels(store_.dropped_labels(Family::kWorkflow));
  LabelFilter agent_labels(store_.dropped_labels(Family::kAgent));
  LabelFilter tool_labels(store_.dropped_labels(Family::kTool));
  const BucketBounds quality_buckets{store_.quality_layout().bounds(), quality_les_};
  const BucketBounds workflow_buckets{store_.workflow_layout().bounds(), workflow_les_};
  // A histogram series as the writer takes it, with its extras where the format has them.
  const auto histogram = [&](const HistogramValue& v, const SeriesExtras& extras) {
    HistogramSample sample;
    sample.counts = v.counts;
    sample.sum = v.sum;
    if constexpr (kExtras) {
      sample.exemplars = exemplars.PerBucket(extras);
      sample.created = extras.created;
      sample.native = v.native;
    }
    return sample;
  };
  const auto counter = [&](const SeriesExtras& extras) {
    SampleExtras out;
    if constexpr (kExtras) {
      out.exemplar = exemplars.One(extras);
      out.created = extras.created;
    }
    return out;
  };
  // Every family is written from a copy, with no lock held. The families with many series are
  // copied and written one shard at a time, so a scrape holds one shard's copy, which stays in
  // the CPU's cache between copying and writing, rather than another copy of the whole store.

  w.Family("llm_requests_total", MetricType::kCounter, "Total LLM requests");
  source.SnapshotRequestsByShard([&](const aggregate::RequestsSnapshot& shard) {
    shard.ForEach([&](const aggregate::RequestLabels& l, uint64_t count, const SeriesExtras& x) {
      w.Sample("llm_requests_total",
               requests_labels({{"model", l.model}, {"endpoint", l.endpoint}, {"status", l.status}}),
               count, counter(x));
    });
  }, kExtras);

  // One copy of the model family serves its five metrics, so that tokens, ttft, cache hits and
  // misses and fallback pricing all show the same moment.
  const auto& models = source.SnapshotModels(kExtras);
  // The counters of the model and upstream families: created with their series, no exemplars.
  const auto model_counter = [&](const SeriesExtras& x) {
    SampleExtras out;
    if constexpr (kExtras) out.created = x.created;
    return out;
  };

  w.Family("llm_tokens_total", MetricType::kCounter, "Total tokens used", "tokens");
  models.ForEach([&](const aggregate::ModelLabels& l, const aggregate::ModelValue& v,
                     const SeriesExtras& x) {
    w.Sample("llm_tokens_total", {{"model", l.model}, {"direction", "input"}}, v.input_tokens,
             model_counter(x));
    w.Sample("llm_tokens_total", {{"model", l.model}, {"direction", "output"}}, v.output_tokens,
             model_counter(x));
  });

  // Parts of llm_tokens_total (cache reads and writes of the input, reasoning of the output):
  // a family apart, so that summing llm_tokens_total does not count them twice.
  w.Family("llm_tokens_by_kind_total", MetricType::kCounter,
           "Tokens of each kind inside llm_tokens_total: cache_read and cache_write input "
           "tokens, reasoning output tokens");
  models.ForEach([&](const aggregate::ModelLabels& l, const aggregate::ModelValue& v,
                     const SeriesExtras& x) {
    w.Sample("llm_tokens_by_kind_total", {{"model", l.model}, {"kind", "cache_read"}},
             v.cache_read_tokens, model_counter(x));
    w.Sample("llm_tokens_by_kind_total", {{"model", l.model}, {"kind", "cache_write"}},
             v.cache_write_tokens, model_counter(x));
    w.Sample("llm_tokens_by_kind_total", {{"model", l.model}, {"kind", "reasoning"}},
             v.reasoning_tokens, model_counter(x));
  });

  // A (model, transport) series appears once a call without usage came that way.
  w.Family("llm_calls_without_usage_total", MetricType::kCounter,
           "LLM calls that arrived without token counts: their tokens and cost are unknown, "
           "not zero");
  models.ForEach([&](const aggregate::ModelLabels& l, const aggregate::ModelValue& v,
                     const SeriesExtras& x) {
    for (std::size_t i = 0; i < kCallSourceCount; ++i) {
      if (v.calls_without_usage[i] == 0) continue;
      w.Sample("llm_calls_without_usage_total",
               {{"model", l.model}, {"transport", kCallSourceNames[i]}}, v.calls_without_usage[i],
               model_counter(x));
    }
  });

  w.Family("llm_cost_usd_total", MetricType::kCounter, "Total cost in USD", "usd");
  source.SnapshotCostsByShard([&](const aggregate::CostSnapshot& shard) {
    shard.ForEach([&](const aggregate::CostLabels& l, PicoUsdTotal cost, const SeriesExtras& x) {
      w.Sample("llm_cost_usd_total",
               cost_labels({{"model", l.model}, {"user_id", l.user_id}, {"team_id", l.team_id}}),
               PicoToUsd(cost), counter(x));
    });
  }, kExtras);

  w.Family("llm_request_duration_seconds", MetricType::kHistogram, "Request latency", "seconds");
  source.SnapshotDurationsByShard([&](const aggregate::DurationSnapshot& shard) {
    shard.ForEach([&](const aggregate::DurationLabels& l, const DurationValue& v,
                      const SeriesExtras& x) {
      w.Histogram("llm_request_duration_seconds",
                  duration_labels({{"model", l.model}, {"endpoint", l.endpoint}}),
                  duration_buckets, histogram(v, x));
    });
  }, kExtras);

  // The output speed, kept in the duration family's cells: a series appears once it has an
  // observation. Its own walk of the family, as a text family's samples must stay together.
  // No exemplars or native histograms; the creation time is the {model, endpoint} series'.
  const auto speed = [&](const HistogramValue& v, const SeriesExtras& extras) {
    HistogramSample sample;
    sample.counts = v.counts;
    sample.sum = v.sum;
    if constexpr (kExtras) sample.created = extras.created;
    return sample;
  };
  w.Family("llm_time_per_output_token_seconds", MetricType::kHistogram,
           "Time per output token after the first: (latency - ttft) / (output_tokens - 1)",
           "seconds");
  source.SnapshotDurationsByShard([&](const aggregate::DurationSnapshot& shard) {
    shard.ForEach([&](const aggregate::DurationLabels& l, const DurationValue& v,
                      const SeriesExtras& x) {
      if (v.tpot.Count() == 0) return;
      w.Histogram("llm_time_per_output_token_seconds",
                  duration_labels({{"model", l.model}, {"endpoint", l.endpoint}}), tpot_buckets,
                  speed(v.tpot, x));
    });
  }, false);
  w.Family("llm_output_tokens_per_second", MetricType::kHistogram,
           "Output tokens per second of generation: output_tokens / (latency - ttft), or / "
           "latency without a ttft");
  source.SnapshotDurationsByShard([&](const aggregate::DurationSnapshot& shard) {
    shard.ForEach([&](const aggregate::DurationLabels& l, const DurationValue& v,
                      const SeriesExtras& x) {
      if (v.output_tps.Count() == 0) return;
      w.Histogram("llm_output_tokens_per_second",
                  duration_labels({{"model", l.model}, {"endpoint", l.endpoint}}),
                  output_tps_buckets, speed(v.output_tps, x));
    });
  }, false);

  w.Family("llm_ttft_seconds", MetricType::kHistogram, "Time to first token", "seconds");
  models.ForEach([&](const aggregate::ModelLabels& l, const aggregate::ModelValue& v,
                     const SeriesExtras& x) {
    if (v.ttft.Count() == 0) return;  // the app never reported a ttft for this model
    w.Histogram("llm_ttft_seconds", {{"model", l.model}}, ttft_buckets, histogram(v.ttft, x));
  });

  w.Family("llm_quality_score", MetricType::kHistogram, "Quality evaluation score");
  source.SnapshotQualitiesByShard([&](const aggregate::QualitySnapshot& shard) {
    shard.ForEach([&](const aggregate::QualityLabels& l, const HistogramValue& v,
                      const SeriesExtras& x) {
      w.Histogram("llm_quality_score",
                  quality_labels({{"model", l.model}, {"evaluator", l.evaluator}}),
                  quality_buckets, histogram(v, x));
    });
  }, kExtras);

  // Hits and misses appear together once a model has reported either, so that the hit-rate
  // query divides by a real zero instead of finding no series.
  w.Family("llm_cache_hits_total", MetricType::kCounter, "LLM calls answered from a cache");
  models.ForEach([&](const aggregate::ModelLabels& l, const aggregate::ModelValue& v,
                     const SeriesExtras& x) {
    if (v.cache_hits + v.cache_misses == 0) return;
    w.Sample("llm_cache_hits_total", {{"model", l.model}}, v.cache_hits, model_counter(x));
  });
  w.Family("llm_cache_misses_total", MetricType::kCounter, "LLM calls not answered from a cache");
  models.ForEach([&](const aggregate::ModelLabels& l, const aggregate::ModelValue& v,
                     const SeriesExtras& x) {
    if (v.cache_hits + v.cache_misses == 0) return;
    w.Sample("llm_cache_misses_total", {{"model", l.model}}, v.cache_misses, model_counter(x));
  });

  w.Family("llm_exporter_fallback_priced_events_total", MetricType::kCounter,
           "LLM calls priced with the fallback price because the model is not in the price "
           "table.");
  models.ForEach([&](const aggregate::ModelLabels& l, const aggregate::ModelValue& v,
                     const SeriesExtras& x) {
    if (v.fallback_priced == 0) return;
    w.Sample("llm_exporter_fallback_priced_events_total", {{"model", l.model}},
             v.fallback_priced, model_counter(x));
  });

  // The families fed by OTLP trace spans other than LLM calls.
  w.Family("llm_workflow_duration_seconds", MetricType::kHistogram,
           "Duration of workflow spans (OpenLLMetry @workflow/@task, LangGraph graphs) in "
           "seconds.",
           "seconds");
  source.SnapshotWorkflowsByShard([&](const aggregate::WorkflowSnapshot& shard) {
    shard.ForEach([&](const aggregate::WorkflowLabels& l, const HistogramValue& v,
                      const SeriesExtras& x) {
      w.Histogram("llm_workflow_duration_seconds",
                  workflow_labels({{"workflow", l.workflow}, {"status", l.status}}),
                  workflow_buckets,
                  histogram(v, x));
    });
  }, kExtras);

  w.Family("llm_agent_invocations_total", MetricType::kCounter,
           "Agent invocations (OpenLLMetry @agent, gen_ai invoke_agent spans).");
  source.SnapshotAgentsByShard([&](const aggregate::AgentSnapshot& shard) {
    shard.ForEach([&](const aggregate::AgentLabels& l, uint64_t count, const SeriesExtras& x) {
      w.Sample("llm_agent_invocations_total",
               agent_labels({{"agent", l.agent}, {"status", l.status}}), count, counter(x));
    });
  }, kExtras);

  w.Family("llm_tool_calls_total", MetricType::kCounter,
           "Tool calls (OpenLLMetry @tool, gen_ai execute_tool spans).");
  source.SnapshotToolsByShard([&](const aggregate::ToolSnapshot& shard) {
    shard.ForEach([&](const aggregate::ToolLabels& l, uint64_t count, const SeriesExtras& x) {
      w.Sample("llm_tool_calls_total", tool_labels({{"tool", l.tool}, {"status", l.status}}),
               count, counter(x));
    });
  }, kExtras);

  // What the metering proxy saw of its upstreams (docs/proxy.md). One copy of the family serves
  // its four metrics, so that a remaining and its limit are of the same moment. No label of
  // this family can be dropped (label_control.cpp), so no filter. A rate-limit series appears
  // once an answer reported that figure; an outcome series once a call ended so; the retries
  // with the {upstream, model} series, at 0 until a retry.
  const auto& upstreams = source.SnapshotUpstreams(kExtras);
  const auto rate_limit = [&](std::string_view metric, auto figures) {
    upstreams.ForEach([&](const aggregate::UpstreamLabels& l, const aggregate::UpstreamValue& v) {
      const auto& values = figures(v.rate_limits);
      for (std::size_t i = 0; i < kRateLimitResourceCount; ++i) {
        if (values[i] < 0) continue;  // never reported
        w.Sample(metric,
                 {{"upstream", l.upstream}, {"model", l.model},
                  {"resource", kRateLimitResourceNames[i]}},
                 static_cast<double>(values[i]));
      }
    });
  };
  w.Family("llm_ratelimit_remaining", MetricType::kGauge,
           "Requests or tokens an upstream said were left in its current rate-limit window, as "
           "of the last answer through the proxy that reported them");
  rate_limit("llm_ratelimit_remaining",
             [](const RateLimits& r) -> const auto& { return r.remaining; });
  w.Family("llm_ratelimit_limit", MetricType::kGauge,
           "Requests or tokens an upstream allows per rate-limit window, as of the last answer "
           "through the proxy that reported it");
  rate_limit("llm_ratelimit_limit", [](const RateLimits& r) -> const auto& { return r.limit; });

  w.Family("llm_proxy_requests_total", MetricType::kCounter,
           "Requests relayed by the metering proxy, by how they ended: ok, client_error, "
           "rate_limited, upstream_error, stream_error, unreachable, timeout or cancelled");
  upstreams.ForEach([&](const aggregate::UpstreamLabels& l, const aggregate::UpstreamValue& v,
                        const SeriesExtras& x) {
    for (std::size_t i = 0; i < kProxyOutcomeCount; ++i) {
      if (v.outcomes[i] == 0) continue;
      w.Sample("llm_proxy_requests_total",
               {{"upstream", l.upstream}, {"model", l.model}, {"outcome", kProxyOutcomeNames[i]}},
               v.outcomes[i], model_counter(x));
    }
  });
  w.Family("llm_client_retries_total", MetricType::kCounter,
           "Requests through the metering proxy that a client SDK sent as a retry "
           "(x-stainless-retry-count above 0)");
  upstreams.ForEach([&](const aggregate::UpstreamLabels& l, const aggregate::UpstreamValue& v,
                        const SeriesExtras& x) {
    w.Sample("llm_client_retries_total", {{"upstream", l.upstream}, {"model", l.model}},
             v.client_retries, model_counter(x));
  });
}

template <typename Writer>
void MetricsRenderer::WriteStoreHealth(Writer& w) const {
  using aggregate::Family;
  using aggregate::kFamilyCount;
  using aggregate::kFamilyNames;
  const auto each_family = [&](std::string_view metric, auto value) {
    for (std::size_t i = 0; i < kFamilyCount; ++i) {
      w.Sample(metric, {{"family", kFamilyNames[i]}}, value(static_cast<Family>(i)));
    }
  };
  w.Family("llm_exporter_series", MetricType::kGauge, "Series held per LLM metric family.");
  each_family("llm_exporter_series",
              [&](Family f) { return static_cast<uint64_t>(store_.SeriesCount(f)); });
  w.Family("llm_exporter_series_limit", MetricType::kGauge,
           "Most series a family may hold before new label sets go to its overflow series.");
  each_family("llm_exporter_series_limit",
              [&](Family f) { return static_cast<double>(store_.series_limit(f)); });
  w.Family("llm_exporter_series_overflow_total", MetricType::kCounter,
           "Events recorded in an overflow series because their family was full.");
  each_family("llm_exporter_series_overflow_total", [&](Family f) { return store_.OverflowCount(f); });
  w.Family("llm_exporter_series_expired_total", MetricType::kCounter,
           "Series dropped because they were not updated within --metrics.ttl.");
  each_family("llm_exporter_series_expired_total", [&](Family f) { return store_.ExpiredCount(f); });
}

}  // namespace llm_exporter::expose
