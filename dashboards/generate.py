#!/usr/bin/env python3
"""Writes the Grafana dashboards of this folder: llm-overview, llm-cost and llm-exporter (.json).

The JSON files are generated, and committed so that Grafana can import or provision them as they
are. Edit the panels here, then run `python3 dashboards/generate.py`; `--check` exits non-zero when
a committed file differs from what this script writes (tests/dashboards runs it).

Conventions every panel follows (tests/dashboards/check_dashboards.py enforces them):
- the data source is the `datasource` template variable, on the panel and on each target;
- every selector filters `job` and `instance`, and `model` / `team_id` when every metric of the
  panel carries that label (a filter applied to only one side of a ratio would skew it);
- counters appear only inside rate()/increase(), over `$__rate_interval`, or over `$__range` for
  totals of the panel's time range (24h panels set that range with a relative time override);
- a unit, a title and a description that names the metrics read.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DS = {"type": "prometheus", "uid": "${datasource}"}
SCHEMA_VERSION = 39
TAGS = ["llm", "llm-exporter"]


# --------------------------------------------------------------------------- PromQL helpers
def sel(metric, *filters, extra=None):
    """metric{job=~"$job", instance=~"$instance", <filter>=~"$<filter>"..., extra}."""
    matchers = ['job=~"$job"', 'instance=~"$instance"']
    matchers += [f'{f}=~"${f}"' for f in filters]
    if extra:
        matchers.append(extra)
    return f"{metric}{{{', '.join(matchers)}}}"


def rate(metric, *filters, extra=None, window="$__rate_interval", fn="rate"):
    return f"{fn}({sel(metric, *filters, extra=extra)}[{window}])"


def increase(metric, *filters, extra=None, window="$__range"):
    return rate(metric, *filters, extra=extra, window=window, fn="increase")


# --------------------------------------------------------------------------- panel builders
def target(expr, legend="__auto", instant=False, fmt=None, ref="A", exemplar=False):
    t = {
        "datasource": DS,
        "editorMode": "code",
        "expr": expr,
        "instant": instant,
        "legendFormat": legend,
        "range": not instant,
        "refId": ref,
    }
    if fmt:
        t["format"] = fmt
    if exemplar:
        # Grafana asks Prometheus for the exemplars of the series the query reads (the calls'
        # trace ids: docs/metrics.md "Exemplars") and links each to its trace.
        t["exemplar"] = True
    return t


def quantile(q, by, metric, *filters):
    """The q-quantile of a latency histogram by `by`: from its native histogram where
    Prometheus has one (--metrics.native-histograms, scraped as protobuf), else from the classic
    buckets; `or` keeps each label set from the first side that has it."""
    native_by = f" by ({by})" if by else ""
    classic_by = f"{by}, le" if by else "le"
    return (f"histogram_quantile({q}, sum{native_by} ({rate(metric, *filters)}))\n"
            f"or\nhistogram_quantile({q}, sum by ({classic_by}) "
            f"({rate(metric + '_bucket', *filters)}))")


def bucket_quantile(q, by, metric, *filters):
    """The q-quantile of a histogram the agent keeps with classic buckets only."""
    return (f"histogram_quantile({q}, sum by ({by}, le) "
            f"({rate(metric + '_bucket', *filters)}))")


def thresholds(*steps, base="green"):
    """steps: (value, color) pairs above the base color (green unless lower is worse)."""
    return {"mode": "absolute",
            "steps": [{"color": base, "value": None}]
            + [{"color": c, "value": v} for v, c in steps]}


def _panel(kind, title, description, targets, unit, w, h, options, custom=None, decimals=None,
           steps=(), time_from=None, min_=None, max_=None, mappings=None, transformations=None,
           base_color="green"):
    defaults = {"color": {"mode": "thresholds" if kind in ("stat",) else "palette-classic"},
                "mappings": mappings or [],
                "thresholds": thresholds(*steps, base=base_color),
                "unit": unit}
    if custom is not None:
        defaults["custom"] = custom
    if decimals is not None:
        defaults["decimals"] = decimals
    if min_ is not None:
        defaults["min"] = min_
    if max_ is not None:
        defaults["max"] = max_
    p = {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DS,
        "targets": [dict(t, refId=chr(ord("A") + i)) for i, t in enumerate(targets)],
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": options,
        "_size": (w, h),
    }
    if time_from:
        p["timeFrom"] = time_from
    if transformations:
        p["transformations"] = transformations
    return p


def reduce_options(calcs="lastNotNull", values=False):
    return {"calcs": [calcs], "fields": "", "values": values}


def stat(title, description, targets, unit, w=4, h=4, graph=True, **kw):
    options = {
        "colorMode": "value",
        "graphMode": "area" if graph else "none",
        "justifyMode": "auto",
        "orientation": "auto",
        "percentChangeColorMode": "standard",
        "reduceOptions": reduce_options(),
        "showPercentChange": False,
        "textMode": "auto",
        "wideLayout": True,
    }
    return _panel("stat", title, description, targets, unit, w, h, options, **kw)


def timeseries(title, description, targets, unit, w=12, h=8, stack=False, **kw):
    options = {
        "legend": {"calcs": ["mean", "lastNotNull"], "displayMode": "table",
                   "placement": "bottom", "showLegend": True},
        "tooltip": {"mode": "multi", "sort": "desc"},
    }
    custom = {
        "drawStyle": "line",
        "fillOpacity": 10,
        "lineWidth": 1,
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"group": "A", "mode": "normal" if stack else "none"},
    }
    return _panel("timeseries", title, description, targets, unit, w, h, options, custom=custom,
                  **kw)


def bargauge(title, description, targets, unit, w=8, h=8, **kw):
    options = {
        "displayMode": "gradient",
        "legend": {"calcs": [], "displayMode": "list", "placement": "bottom",
                   "showLegend": False},
        "maxVizHeight": 300,
        "minVizHeight": 16,
        "minVizWidth": 8,
        "namePlacement": "auto",
        "orientation": "horizontal",
        "reduceOptions": reduce_options(),
        "showUnfilled": True,
        "sizing": "auto",
        "valueMode": "color",
    }
    return _panel("bargauge", title, description, targets, unit, w, h, options, **kw)


def table(title, description, targets, unit, w=12, h=8, rename=None, **kw):
    options = {"cellHeight": "sm", "frameIndex": 0, "showHeader": True,
               "footer": {"countRows": False, "reducer": ["sum"], "show": False}}
    custom = {"align": "auto", "inspect": False}
    transformations = [{"id": "organize",
                        "options": {"excludeByName": {"Time": True},
                                    "renameByName": rename or {}}}]
    return _panel("table", title, description, targets, unit, w, h, options, custom=custom,
                  transformations=transformations, **kw)


def heatmap(title, description, targets, y_unit, cell_unit, w=12, h=8):
    options = {
        "calculate": False,
        "cellGap": 1,
        "cellValues": {"unit": cell_unit},
        "color": {"exponent": 0.5, "fill": "dark-orange", "mode": "scheme", "reverse": False,
                  "scale": "exponential", "scheme": "Oranges", "steps": 64},
        "exemplars": {"color": "rgba(255,0,255,0.7)"},
        "filterValues": {"le": 1e-09},
        "legend": {"show": True},
        "rowsFrame": {"layout": "auto"},
        "showValue": "never",
        "tooltip": {"mode": "single", "showColorScale": False, "yHistogram": True},
        "yAxis": {"axisPlacement": "left", "reverse": False, "unit": y_unit},
    }
    custom = {"hideFrom": {"legend": False, "tooltip": False, "viz": False},
              "scaleDistribution": {"type": "linear"}}
    return _panel("heatmap", title, description, targets, cell_unit, w, h, options, custom=custom)


def row(title):
    return {"type": "row", "title": title, "collapsed": False, "panels": []}


# --------------------------------------------------------------------------- dashboard shell
def layout(items):
    """Flows panels left to right in rows of 24 columns; rows start a new line."""
    out, x, y, line_h, next_id = [], 0, 0, 0, 1
    for item in items:
        if item["type"] == "row":
            y += line_h
            x, line_h = 0, 0
            item = dict(item, id=next_id, gridPos={"h": 1, "w": 24, "x": 0, "y": y})
            y += 1
        else:
            w, h = item.pop("_size")
            if x + w > 24:
                y += line_h
                x, line_h = 0, 0
            item = dict(item, id=next_id, gridPos={"h": h, "w": w, "x": x, "y": y})
            x += w
            line_h = max(line_h, h)
        next_id += 1
        out.append(item)
    return out


def datasource_variable():
    return {"type": "datasource", "name": "datasource", "label": "Data source",
            "description": "The Prometheus that scrapes llm_exporter and loads its rules.",
            "query": "prometheus", "regex": "", "hide": 0, "includeAll": False, "multi": False,
            "options": [], "refresh": 1, "skipUrlSync": False}


def query_variable(name, label, query, description):
    return {"type": "query", "name": name, "label": label, "description": description,
            "datasource": DS, "definition": query, "query": query,
            "refresh": 2, "sort": 1, "regex": "", "hide": 0,
            "includeAll": True, "multi": True, "allValue": ".*",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "options": [], "skipUrlSync": False}


VAR_JOB = query_variable("job", "Job", "label_values(llm_exporter_build_info, job)",
                         "Scrape job(s) of the agents (llm_exporter_build_info).")
VAR_INSTANCE = query_variable(
    "instance", "Instance", 'label_values(llm_exporter_build_info{job=~"$job"}, instance)',
    "Agent(s), one per host (llm_exporter_build_info).")
VAR_MODEL = query_variable(
    "model", "Model", 'label_values(llm_requests_total{job=~"$job", instance=~"$instance"}, model)',
    "Model(s) called (llm_requests_total).")
VAR_TEAM = query_variable(
    "team_id", "Team",
    'label_values(llm_cost_usd_total{job=~"$job", instance=~"$instance"}, team_id)',
    "Team(s) paying (llm_cost_usd_total). Applies to panels of metrics that carry team_id.")


# Where an exemplar's trace opens. Grafana links exemplars through the data source's
# exemplarTraceIdDestinations; the provisioned data source
# (examples/grafana/provisioning/datasources/) builds that link from this variable.
TRACE_URL_DEFAULT = "http://localhost:16686/trace/"
VAR_TRACE_URL = {
    "type": "textbox", "name": "trace_url", "label": "Trace view URL",
    "description": "Where an exemplar's trace opens, the trace id appended: a Jaeger UI "
                   "(http://jaeger:16686/trace/), Langfuse (https://cloud.langfuse.com/trace/) "
                   "or any trace view that takes the id at the end. Used by the exemplar link "
                   "of the provisioned data source (docs/dashboards.md, Exemplars).",
    "query": TRACE_URL_DEFAULT, "hide": 0, "skipUrlSync": False,
    "current": {"selected": False, "text": TRACE_URL_DEFAULT, "value": TRACE_URL_DEFAULT},
    "options": [{"selected": True, "text": TRACE_URL_DEFAULT, "value": TRACE_URL_DEFAULT}],
}


def dashboard(uid, title, description, time_from, variables, items):
    return {
        "id": None,
        "uid": uid,
        "title": title,
        "description": description,
        "tags": TAGS,
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "refresh": "1m",
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "weekStart": "",
        "time": {"from": time_from, "to": "now"},
        "timepicker": {},
        "links": [{"asDropdown": False, "icon": "external link", "includeVars": True,
                   "keepTime": True, "tags": ["llm-exporter"], "targetBlank": False,
                   "title": "LLM dashboards", "tooltip": "", "type": "dashboards", "url": ""}],
        "annotations": {"list": [
            {"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
             "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
             "name": "Annotations & Alerts", "type": "dashboard"},
            {"datasource": DS, "enable": True, "hide": False, "iconColor": "red",
             "name": "Firing LLM alerts",
             "expr": 'ALERTS{alertname=~"LLM.*", alertstate="firing"}',
             "step": "60s", "titleFormat": "{{alertname}}", "tagKeys": "severity",
             "textFormat": "{{job}} {{instance}} {{model}} {{team_id}}",
             "useValueForTime": False},
        ]},
        "templating": {"list": [datasource_variable()] + variables},
        "panels": layout(items),
    }


# --------------------------------------------------------------------------- llm-overview
# The proxy outcomes that are the upstream's failures (LLMUpstreamErrorRatioHigh).
UPSTREAM_FAILURES = "upstream_error|stream_error|unreachable|timeout"


def ratio_by(by, num, den):
    """num/den per `by`, 0 where num has no series but den has, nothing where den is 0."""
    return (f"(sum by ({by}) ({num}) or 0 * sum by ({by}) ({den}))\n"
            f"/\n(sum by ({by}) ({den}) > 0)")


def overview():
    M = ("model",)
    MT = ("model", "team_id")
    req = rate("llm_requests_total", *M)
    err = rate("llm_requests_total", *M, extra='status="error"')
    hits = rate("llm_cache_hits_total", *M)
    misses = rate("llm_cache_misses_total", *M)
    tool_calls = rate("llm_tool_calls_total")
    tool_errors = rate("llm_tool_calls_total", extra='status="error"')
    proxied = rate("llm_proxy_requests_total", *M)
    upstream_failed = rate("llm_proxy_requests_total", *M, extra=f'outcome=~"{UPSTREAM_FAILURES}"')
    cancelled = rate("llm_requests_total", *M, extra='status="cancelled"')
    items = [
        row("At a glance"),
        stat("Total cost (24h)",
             "Spend over the last 24 hours: increase of llm_cost_usd_total over the panel's "
             "range (24h).",
             [target(f"sum({increase('llm_cost_usd_total', *MT)})", "cost", instant=True)],
             "currencyUSD", graph=False, time_from="24h", decimals=2),
        stat("Request rate",
             "LLM calls per second, all models and statuses: rate of llm_requests_total.",
             [target(f"sum({req})", "calls/s")], "reqps"),
        stat("Error rate",
             'Share of calls with status="error": rate of llm_requests_total{status="error"} '
             "over the rate of all llm_requests_total. Red from 5%, the LLMHighErrorRate "
             "threshold.",
             [target(f"(sum({err}) or vector(0))\n/\nsum({req})", "errors")],
             "percentunit", steps=[(0.05, "red")], decimals=2),
        stat("p99 latency",
             "99th percentile of call latency from the llm_request_duration_seconds histogram: "
             "its native histogram where Prometheus stores one, else its classic buckets "
             "(llm_request_duration_seconds_bucket). Red from 10s, the LLMHighLatencyP99 "
             "threshold.",
             [target(quantile(0.99, "", "llm_request_duration_seconds", *M), "p99")],
             "s", steps=[(10, "red")]),
        stat("p95 TTFT",
             "95th percentile of time to first token from the llm_ttft_seconds histogram: its "
             "native histogram where Prometheus stores one, else its classic buckets "
             "(llm_ttft_seconds_bucket). Red from 2s, the LLMHighTTFTP95 threshold.",
             [target(quantile(0.95, "", "llm_ttft_seconds", *M), "p95")],
             "s", steps=[(2, "red")]),
        stat("Average quality score",
             "Mean evaluator score: rate of llm_quality_score_sum over the rate of "
             "llm_quality_score_count (llm_quality_score is a histogram, so avg() of it would "
             "be meaningless).",
             [target(f"sum({rate('llm_quality_score_sum', *M)})\n/\n"
                     f"sum({rate('llm_quality_score_count', *M)})", "score")],
             "none", decimals=2),
        stat("Tokens per minute",
             "Input and output tokens per minute: rate of llm_tokens_total times 60.",
             [target(f"sum({rate('llm_tokens_total', *M)}) * 60", "tokens/min")], "cpm"),
        stat("Cache hit rate",
             "Share of cache lookups that hit: rate of llm_cache_hits_total over the rate of "
             "llm_cache_hits_total plus llm_cache_misses_total (a missing series counts as 0).",
             [target(f"(sum({hits}) or vector(0))\n/\n"
                     f"((sum({hits}) or vector(0)) + (sum({misses}) or vector(0)) > 0)",
                     "hit rate")],
             "percentunit", decimals=1),
        bargauge("Cost by model (24h)",
                 "Spend per model over the last 24 hours: increase of llm_cost_usd_total over "
                 "the panel's range (24h), by model.",
                 [target(f"sum by (model) ({increase('llm_cost_usd_total', *MT)})", "{{model}}",
                         instant=True)],
                 "currencyUSD", w=16, h=4, time_from="24h", decimals=2),

        row("By model"),
        timeseries("Request rate by model",
                   "Calls per second by model, from the recording rule model:llm_requests:rate5m "
                   "(rate of llm_requests_total over 5m).",
                   [target(f"sum by (model) ({sel('model:llm_requests:rate5m', *M)})",
                           "{{model}}")], "reqps"),
        timeseries("Error rate by model",
                   'Share of each model\'s calls with status="error": llm_requests_total.',
                   [target(ratio_by("model", err, req), "{{model}}")], "percentunit"),
        timeseries("p99 latency by model",
                   "99th percentile of call latency by model, from the recording rule "
                   "model:llm_request_duration_seconds_bucket:rate5m "
                   "(llm_request_duration_seconds_bucket over 5m, endpoints summed).",
                   [target("histogram_quantile(0.99, sum by (model, le) ("
                           f"{sel('model:llm_request_duration_seconds_bucket:rate5m', *M)}))",
                           "{{model}}")], "s"),
        timeseries("p95 TTFT by model",
                   "95th percentile of time to first token by model: llm_ttft_seconds (native "
                   "where stored, else llm_ttft_seconds_bucket). The dots are exemplars: click "
                   "one for the trace of a call.",
                   [target(quantile(0.95, "model", "llm_ttft_seconds", *M), "{{model}}",
                           exemplar=True)], "s"),
        timeseries("Tokens per minute by model and direction",
                   "Input and output tokens per minute by model: rate of llm_tokens_total "
                   "times 60.",
                   [target(f"sum by (model, direction) ({rate('llm_tokens_total', *M)}) * 60",
                           "{{model}} {{direction}}")], "cpm"),
        timeseries("Average quality score by model and evaluator",
                   "Mean score by model and evaluator: rate of llm_quality_score_sum over rate "
                   "of llm_quality_score_count.",
                   [target("sum by (model, evaluator) ("
                           f"{rate('llm_quality_score_sum', *M)})\n/\n"
                           "sum by (model, evaluator) ("
                           f"{rate('llm_quality_score_count', *M)})",
                           "{{model}} ({{evaluator}})")], "none"),
        timeseries("Cache hit rate by model",
                   "Share of each model's cache lookups that hit: llm_cache_hits_total over "
                   "llm_cache_hits_total plus llm_cache_misses_total (a missing series counts "
                   "as 0).",
                   [target("(sum by (model) (" + hits + ") or 0 * sum by (model) ("
                           + misses + "))\n/\n(("
                           "sum by (model) (" + hits + ") + sum by (model) (" + misses + ")\n"
                           " or sum by (model) (" + hits + ")\n"
                           " or sum by (model) (" + misses + ")\n) > 0)",
                           "{{model}}")], "percentunit"),
        timeseries("Spend rate by model",
                   "USD per hour by model: rate of llm_cost_usd_total times 3600.",
                   [target(f"sum by (model) ({rate('llm_cost_usd_total', *MT)}) * 3600",
                           "{{model}}")], "currencyUSD"),

        row("By endpoint"),
        timeseries("Request rate by endpoint",
                   "Calls per second by endpoint: rate of llm_requests_total.",
                   [target(f"sum by (endpoint) ({req})", "{{endpoint}}")], "reqps", w=8),
        timeseries("Error rate by endpoint",
                   'Share of each endpoint\'s calls with status="error": llm_requests_total.',
                   [target(ratio_by("endpoint", err, req), "{{endpoint}}")], "percentunit",
                   w=8),
        timeseries("p99 latency by endpoint",
                   "99th percentile of call latency by endpoint: llm_request_duration_seconds "
                   "(native where stored, else llm_request_duration_seconds_bucket). The dots "
                   "are exemplars: click one for the trace of a call.",
                   [target(quantile(0.99, "endpoint", "llm_request_duration_seconds", *M),
                           "{{endpoint}}", exemplar=True)], "s", w=8),

        row("Distributions"),
        heatmap("Latency heatmap",
                "Calls per second in each latency bucket (0.1s to 30s) over time: rate of "
                "llm_request_duration_seconds_bucket.",
                [target("sum by (le) ("
                        f"{rate('llm_request_duration_seconds_bucket', *M)})",
                        "{{le}}", fmt="heatmap", exemplar=True)], "s", "reqps"),
        heatmap("TTFT heatmap",
                "First tokens per second in each time-to-first-token bucket (0.1s to 5s) over "
                "time: rate of llm_ttft_seconds_bucket.",
                [target("sum by (le) ("
                        f"{rate('llm_ttft_seconds_bucket', *M)})",
                        "{{le}}", fmt="heatmap", exemplar=True)], "s", "reqps"),

        # From OTLP trace spans. These metrics carry neither model nor team_id, so the panels
        # take only the job and instance filters.
        row("Workflows, agents and tools"),
        timeseries("p95 workflow duration by workflow",
                   "95th percentile of the duration of workflow spans (OpenLLMetry "
                   "@workflow/@task, LangGraph graphs) by workflow, successful or not: "
                   "llm_workflow_duration_seconds_bucket.",
                   [target("histogram_quantile(0.95, sum by (workflow, le) ("
                           f"{rate('llm_workflow_duration_seconds_bucket')}))",
                           "{{workflow}}")], "s", w=8),
        timeseries("Workflow runs by status",
                   "Workflow runs finished per second, by status (success, error): rate of "
                   "llm_workflow_duration_seconds_count.",
                   [target("sum by (status) ("
                           f"{rate('llm_workflow_duration_seconds_count')})", "{{status}}")],
                   "ops", w=8, stack=True),
        timeseries("Agent invocations by agent and status",
                   "Agent invocations per second (OpenLLMetry @agent, gen_ai invoke_agent "
                   "spans) by agent and status: rate of llm_agent_invocations_total.",
                   [target("sum by (agent, status) ("
                           f"{rate('llm_agent_invocations_total')})",
                           "{{agent}} {{status}}")], "ops", w=8),
        timeseries("Tool calls by tool",
                   "Tool calls per second (OpenLLMetry @tool, gen_ai execute_tool spans) by "
                   "tool, successful or not: rate of llm_tool_calls_total.",
                   [target(f"sum by (tool) ({tool_calls})", "{{tool}}")], "ops"),
        timeseries("Tool error ratio by tool",
                   'Share of each tool\'s calls with status="error": llm_tool_calls_total (0 '
                   "for tools without errors). Red from 20%, the LLMToolErrorRateHigh "
                   "threshold.",
                   [target(ratio_by("tool", tool_errors, tool_calls), "{{tool}}")],
                   "percentunit", steps=[(0.2, "red")]),

        # Appended after the rows above, so that the panel ids (and links to them) stay.
        row("Generation speed"),
        timeseries("TPOT p50 and p95 by model",
                   "Time per output token after the first, by model: the 50th and 95th "
                   "percentiles of llm_time_per_output_token_seconds_bucket, (latency - TTFT) / "
                   "(output tokens - 1) of each streamed call with a TTFT and at least 2 output "
                   "tokens.",
                   [target(bucket_quantile(0.5, "model", "llm_time_per_output_token_seconds", *M),
                           "{{model}} p50"),
                    target(bucket_quantile(0.95, "model", "llm_time_per_output_token_seconds",
                                           *M),
                           "{{model}} p95")], "s"),
        timeseries("Output tokens/s p50 and p95 by model",
                   "Generation speed by model: the 50th and 95th percentiles of "
                   "llm_output_tokens_per_second_bucket, output tokens over the time after the "
                   "first token (over the whole latency for calls without a TTFT). Calls without "
                   "token counts are left out.",
                   [target(bucket_quantile(0.5, "model", "llm_output_tokens_per_second", *M),
                           "{{model}} p50"),
                    target(bucket_quantile(0.95, "model", "llm_output_tokens_per_second", *M),
                           "{{model}} p95")], "cps"),

        # The metering proxy (docs/proxy.md): what the upstreams answered to the calls relayed
        # through /proxy/<upstream>. Appended, like the row above, so that panel ids stay.
        row("Proxy"),
        timeseries("Rate-limit headroom by upstream, model and resource",
                   "Share of each upstream's rate limit left, by model and resource (requests, "
                   "tokens, input_tokens, output_tokens), as the upstream's last answer reported "
                   "it: llm_ratelimit_remaining over llm_ratelimit_limit, the smallest over the "
                   "agents. The values stay at the last answer's while no call goes through. "
                   "Red under 10%, the LLMRateLimitHeadroomLow threshold.",
                   [target("min by (upstream, model, resource) (\n"
                           f"{sel('llm_ratelimit_remaining', *M)}\n/\n"
                           f"({sel('llm_ratelimit_limit', *M)} > 0))",
                           "{{upstream}} {{model}} {{resource}}")],
                   "percentunit", w=8, steps=[(0.1, "green")], base_color="red", min_=0,
                   max_=1),
        timeseries("Proxied calls by upstream and outcome",
                   "Calls relayed per second by upstream and outcome (ok, client_error, "
                   "rate_limited, upstream_error, stream_error, unreachable, timeout, "
                   "cancelled), stacked: rate of llm_proxy_requests_total.",
                   [target(f"sum by (upstream, outcome) ({proxied})",
                           "{{upstream}} {{outcome}}")], "reqps", w=8, stack=True),
        timeseries("Upstream error ratio by upstream",
                   "Share of each upstream's relayed calls that failed on the upstream's side "
                   f"(outcome {UPSTREAM_FAILURES.replace('|', ', ')}; not client_error, "
                   "rate_limited or cancelled): llm_proxy_requests_total. Red from 5%, the "
                   "LLMUpstreamErrorRatioHigh threshold.",
                   [target(ratio_by("upstream", upstream_failed, proxied), "{{upstream}}")],
                   "percentunit", w=8, steps=[(0.05, "red")]),
        timeseries("Client retries by upstream",
                   "Calls per second that the client's SDK sent again (x-stainless-retry-count "
                   "above 0), by upstream: rate of llm_client_retries_total. Each is a call paid "
                   "for again (LLMClientRetriesHigh past 10% of the upstream's calls).",
                   [target(f"sum by (upstream) ({rate('llm_client_retries_total', *M)})",
                           "{{upstream}}")], "reqps", w=8),
        timeseries("Cancelled calls by model",
                   "Calls per second the client gave up on before the answer was complete, by "
                   'model: rate of llm_requests_total{status="cancelled"}, which the proxy '
                   "records when the client hangs up.",
                   [target(f"sum by (model) ({cancelled})", "{{model}}")], "reqps", w=8),
        timeseries("Proxied requests in flight",
                   "Requests each agent's proxy is relaying now, by upstream (open streams "
                   "included): llm_exporter_proxy_requests_in_flight.",
                   [target("sum by (upstream) ("
                           f"{sel('llm_exporter_proxy_requests_in_flight')})", "{{upstream}}")],
                   "short", w=8),
    ]
    return dashboard(
        "llm-overview", "LLM overview",
        "Traffic, errors, latency, quality, tokens, cache and cost of the LLM calls that "
        "llm_exporter agents measure, and the workflows, agents and tools around them.",
        "now-6h", [VAR_JOB, VAR_INSTANCE, VAR_MODEL, VAR_TEAM, VAR_TRACE_URL], items)


# --------------------------------------------------------------------------- llm-cost
def cost():
    M = ("model",)
    MT = ("model", "team_id")
    T = ("team_id",)
    daily_budget = sel("llm_team_budget_usd", *T, extra='period="daily"')
    items = [
        row("Spend"),
        stat("Spend in the time range",
             "Total spend over the dashboard's time range: increase of llm_cost_usd_total.",
             [target(f"sum({increase('llm_cost_usd_total', *MT)})", "spend", instant=True)],
             "currencyUSD", w=6, graph=False, decimals=2),
        stat("Spend projected over 30 days",
             "The average spend rate over the dashboard's time range (rate of "
             "llm_cost_usd_total) times 30 days. Choose a range of a day or more for a "
             "meaningful projection.",
             [target(f"sum({rate('llm_cost_usd_total', *MT, window='$__range')}) * 86400 * 30",
                     "projected", instant=True)],
             "currencyUSD", w=6, graph=False, decimals=2),
        stat("Cost per request",
             "Spend per call over the time range: increase of llm_cost_usd_total over the "
             "increase of llm_requests_total (all teams: calls carry no team_id).",
             [target(f"sum({increase('llm_cost_usd_total', *M)})\n/\n"
                     f"sum({increase('llm_requests_total', *M)})", "per call", instant=True)],
             "currencyUSD", w=6, graph=False, decimals=4),
        stat("Cost per 1K tokens",
             "Spend per 1000 tokens (input and output) over the time range: increase of "
             "llm_cost_usd_total over the increase of llm_tokens_total, times 1000 (all teams: "
             "tokens carry no team_id).",
             [target(f"sum({increase('llm_cost_usd_total', *M)})\n/\n"
                     f"sum({increase('llm_tokens_total', *M)}) * 1000", "per 1K tokens",
                     instant=True)],
             "currencyUSD", w=6, graph=False, decimals=4),
        timeseries("Spend rate by model (per hour)",
                   "USD per hour by model, from the recording rule model:llm_cost_usd:rate5m "
                   "(rate of llm_cost_usd_total over 5m, users and teams summed) times 3600.",
                   [target(f"sum by (model) ({sel('model:llm_cost_usd:rate5m', *M)}) * 3600",
                           "{{model}}")], "currencyUSD", stack=True),
        timeseries("Hourly spend by team",
                   "Spend of each team over the preceding hour, from the recording rule "
                   "team:llm_cost_usd:increase1h (increase of llm_cost_usd_total over 1h).",
                   [target(f"sum by (team_id) ({sel('team:llm_cost_usd:increase1h', *T)})",
                           "{{team_id}}")], "currencyUSD", stack=True),

        row("Teams and users"),
        bargauge("Spend by team",
                 "Spend per team over the time range: increase of llm_cost_usd_total by "
                 "team_id.",
                 [target(f"sum by (team_id) ({increase('llm_cost_usd_total', *MT)})",
                         "{{team_id}}", instant=True)], "currencyUSD", decimals=2),
        bargauge("Top users by cost",
                 "The 10 users who spent most over the time range: topk of the increase of "
                 "llm_cost_usd_total by user_id.",
                 [target("topk(10, sum by (user_id, team_id) ("
                         f"{increase('llm_cost_usd_total', *MT)}))",
                         "{{user_id}} ({{team_id}})", instant=True)], "currencyUSD",
                 decimals=2),
        bargauge("Daily budget used by team",
                 "Spend of each team over the last 24 hours (increase of llm_cost_usd_total "
                 "over the panel's range, 24h) over its daily budget llm_team_budget_usd"
                 '{period="daily"} from the agents\' --budgets.file. Past 100% '
                 "LLMTeamDailyBudgetExceeded fires.",
                 [target(f"sum by (team_id) ({increase('llm_cost_usd_total', *T)})\n/\n"
                         f"max by (team_id) ({daily_budget})",
                         "{{team_id}}", instant=True)],
                 "percentunit", time_from="24h", steps=[(0.8, "orange"), (1, "red")], min_=0,
                 max_=1),
        table("Team budgets",
              "The budgets the agents were given (--budgets.file): llm_team_budget_usd by "
              "team_id and period (daily, or monthly = rolling 30 days).",
              [target(f"max by (team_id, period) ({sel('llm_team_budget_usd', *T)})", "",
                      instant=True, fmt="table")],
              "currencyUSD", w=8, rename={"Value": "budget", "team_id": "team",
                                          "period": "period"}),

        row("Models"),
        bargauge("Cost per request by model",
                 "Spend per call by model over the time range: increase of llm_cost_usd_total "
                 "over the increase of llm_requests_total.",
                 [target(f"sum by (model) ({increase('llm_cost_usd_total', *M)})\n/\n"
                         f"sum by (model) ({increase('llm_requests_total', *M)})", "{{model}}",
                         instant=True)], "currencyUSD", decimals=4),
        bargauge("Cost per 1K tokens by model",
                 "Spend per 1000 tokens by model over the time range: increase of "
                 "llm_cost_usd_total over the increase of llm_tokens_total, times 1000.",
                 [target(f"sum by (model) ({increase('llm_cost_usd_total', *M)})\n/\n"
                         f"sum by (model) ({increase('llm_tokens_total', *M)}) * 1000",
                         "{{model}}", instant=True)], "currencyUSD", decimals=4),
        bargauge("Input/output token split",
                 "Tokens by direction (input, output) over the time range: increase of "
                 "llm_tokens_total.",
                 [target(f"sum by (direction) ({increase('llm_tokens_total', *M)})",
                         "{{direction}}", instant=True)], "short"),
        table("Calls priced with the fallback price",
              "Models missing from the agents' price table, with the number of calls priced "
              "with the fallback price over the time range: increase of "
              "llm_exporter_fallback_priced_events_total. Any row means the price table is "
              "not up to date and those costs are guesses (LLMExporterUnpricedModel).",
              [target("sum by (model) ("
                      f"{increase('llm_exporter_fallback_priced_events_total', *M)}) > 0", "",
                      instant=True, fmt="table")],
              "short", w=24, decimals=0, rename={"Value": "calls priced with the fallback"}),
        timeseries("Cached, cache-write and reasoning tokens per minute by model",
                   "Parts of the input and output tokens per minute, by model and kind: "
                   "cache_read (input tokens read from the provider's prompt cache, at the "
                   "cached-input price), cache_write (input tokens written to it, at the "
                   "cache-write price) and reasoning (output tokens spent thinking, at the "
                   "output price). Rate of llm_tokens_by_kind_total times 60; these tokens are "
                   "already counted in llm_tokens_total, not on top of it.",
                   [target(f"sum by (model, kind) ({rate('llm_tokens_by_kind_total', *M)}) * 60",
                           "{{model}} {{kind}}")], "cpm"),
        table("Calls without token counts",
              "Calls that arrived without any token count, by model and transport, over the "
              "time range: increase of llm_calls_without_usage_total. Their tokens and cost are "
              "unknown, not zero: the spend and token panels leave them out "
              "(LLMCallsWithoutUsage).",
              [target("sum by (model, transport) ("
                      f"{increase('llm_calls_without_usage_total', *M)}) > 0", "",
                      instant=True, fmt="table")],
              "short", decimals=0, rename={"Value": "calls without token counts"}),
    ]
    return dashboard(
        "llm-cost", "LLM cost",
        "LLM spend for the people who pay: by team, user and model, per request and per 1K "
        "tokens, against the teams' budgets, and the calls priced with the fallback price.",
        "now-7d", [VAR_JOB, VAR_INSTANCE, VAR_MODEL, VAR_TEAM], items)


# --------------------------------------------------------------------------- llm-exporter
# A last_reload_successful gauge shown as words.
OK_FAILED = [{"type": "value", "options": {
    "0": {"text": "failed", "color": "red", "index": 0},
    "1": {"text": "ok", "color": "green", "index": 1}}}]


def exporter():
    items = [
        row("Agents"),
        stat("Agents up",
             "Agents Prometheus scrapes successfully: sum of up for the selected jobs and "
             "instances.",
             [target(f"sum({sel('up')})", "up", instant=True)], "none", w=3, graph=False),
        stat("Uptime (youngest agent)",
             "Time since the most recently started agent started: time() minus "
             "process_start_time_seconds.",
             [target(f"time() - max({sel('process_start_time_seconds')})", "uptime",
                     instant=True)], "s", w=3, graph=False),
        stat("Price table models",
             "Models in the price table in force (llm_exporter_pricing_models), smallest over "
             "the agents.",
             [target(f"min({sel('llm_exporter_pricing_models')})", "models", instant=True)],
             "none", w=3, graph=False),
        stat("Last price reload",
             "Whether the last price table reload succeeded on every agent "
             "(llm_exporter_pricing_last_reload_successful, smallest over the agents).",
             [target(f"min({sel('llm_exporter_pricing_last_reload_successful')})", "reload",
                     instant=True)], "none", w=3, graph=False, steps=[],
             mappings=OK_FAILED),
        stat("Last budgets reload",
             "Whether the last reload of the team budgets (--budgets.file) succeeded on every "
             "agent (llm_exporter_budgets_last_reload_successful, smallest over the agents). "
             "An agent without a budgets file reads ok.",
             [target(f"min({sel('llm_exporter_budgets_last_reload_successful')})", "reload",
                     instant=True)], "none", w=3, graph=False, steps=[],
             mappings=OK_FAILED),
        table("Agent versions",
              "Agents per version and revision: count of llm_exporter_build_info.",
              [target(f"count by (version, revision) ({sel('llm_exporter_build_info')})", "",
                      instant=True, fmt="table")],
              "none", w=9, h=4, rename={"Value": "agents"}),

        row("Events"),
        timeseries("Events in by transport",
                   "Events received per second by transport (http, unix, unixgram, udp), "
                   "accepted or not: rate of llm_exporter_events_received_total.",
                   [target("sum by (transport) ("
                           f"{rate('llm_exporter_events_received_total')})", "{{transport}}")],
                   "cps", w=8),
        timeseries("Rejected events by reason",
                   "Events refused per second, by reason: rate of "
                   "llm_exporter_events_rejected_total (docs/metrics.md lists the reasons).",
                   [target("sum by (reason) ("
                           f"{rate('llm_exporter_events_rejected_total')})", "{{reason}}")],
                   "cps", w=8),
        timeseries("Rejected share",
                   "Share of the events received that were rejected: rate of "
                   "llm_exporter_events_rejected_total over rate of "
                   "llm_exporter_events_received_total. LLMExporterEventsRejected fires past "
                   "1% for one reason.",
                   [target(f"sum({rate('llm_exporter_events_rejected_total')})\n/\n"
                           f"(sum({rate('llm_exporter_events_received_total')}) > 0)",
                           "rejected")], "percentunit", w=8),
        timeseries("HTTP requests by handler and code",
                   "HTTP requests served per second by handler and status code: rate of "
                   "llm_exporter_http_requests_total.",
                   [target("sum by (handler, code) ("
                           f"{rate('llm_exporter_http_requests_total')})",
                           "{{handler}} {{code}}")], "reqps", w=8),
        timeseries("Price table reloads by result",
                   "Price table reloads by result per interval: increase of "
                   "llm_exporter_pricing_reloads_total.",
                   [target("sum by (result) ("
                           + increase("llm_exporter_pricing_reloads_total",
                                      window="$__rate_interval") + ")",
                           "{{result}}")], "short", w=8),
        timeseries("Budget reloads by result",
                   "Team budget reloads by result per interval: increase of "
                   "llm_exporter_budgets_reloads_total.",
                   [target("sum by (result) ("
                           + increase("llm_exporter_budgets_reloads_total",
                                      window="$__rate_interval") + ")",
                           "{{result}}")], "short", w=8),

        row("Series"),
        timeseries("Series per family",
                   "Series each LLM metric family holds, per agent: llm_exporter_series.",
                   [target(f"max by (instance, family) ({sel('llm_exporter_series')})",
                           "{{instance}} {{family}}")], "short", w=8),
        timeseries("Series limit used",
                   "Share of each family's series limit in use, worst agent: "
                   "llm_exporter_series over llm_exporter_series_limit (families without a "
                   "limit are left out). LLMExporterSeriesNearLimit fires past 80%.",
                   [target(f"max by (family) ({sel('llm_exporter_series')}\n/\n"
                           f"({sel('llm_exporter_series_limit')} > 0))", "{{family}}")],
                   "percentunit", w=8, steps=[(0.8, "orange"), (1, "red")]),
        timeseries("Events folded into overflow series",
                   "Events per second folded into a family's overflow series because the "
                   "family is at its series limit: rate of llm_exporter_series_overflow_total.",
                   [target("sum by (family) ("
                           f"{rate('llm_exporter_series_overflow_total')})", "{{family}}")],
                   "cps", w=8),

        row("Remote write"),
        timeseries("Samples sent, refused and dropped",
                   "Samples per second each agent delivered to its remote_write targets "
                   "(llm_exporter_remote_write_samples_sent_total), lost to a refusal "
                   "(llm_exporter_remote_write_samples_failed_total) and dropped before sending "
                   "(llm_exporter_remote_write_samples_dropped_total, queue_full or shutdown). "
                   "docs/scale-out.md.",
                   [target("sum by (instance, remote) ("
                           f"{rate('llm_exporter_remote_write_samples_sent_total')})",
                           "{{instance}} {{remote}} sent"),
                    target("sum by (instance, remote) ("
                           f"{rate('llm_exporter_remote_write_samples_failed_total')})",
                           "{{instance}} {{remote}} refused"),
                    target("sum by (instance, remote, reason) ("
                           f"{rate('llm_exporter_remote_write_samples_dropped_total')})",
                           "{{instance}} {{remote}} dropped {{reason}}")], "cps", w=8),
        timeseries("Requests by status code",
                   "Remote write requests per second by the target's answer "
                   "(llm_exporter_remote_write_requests_total); code=\"error\" is no answer at "
                   "all. 5xx, 429 and errors are retried; other 4xx are not.",
                   [target("sum by (remote, code) ("
                           f"{rate('llm_exporter_remote_write_requests_total')})",
                           "{{remote}} {{code}}")], "reqps", w=8),
        timeseries("Delivery lag and queue",
                   "How far behind its newest snapshot each target's delivery is "
                   "(llm_exporter_remote_write_highest_timestamp_seconds minus "
                   "llm_exporter_remote_write_highest_sent_timestamp_seconds), and the snapshots "
                   "waiting in its queue (llm_exporter_remote_write_queue_length).",
                   [target(f"max by (instance, remote) ("
                           f"{sel('llm_exporter_remote_write_highest_timestamp_seconds')}\n-\n"
                           f"{sel('llm_exporter_remote_write_highest_sent_timestamp_seconds')})",
                           "{{instance}} {{remote}} lag (s)"),
                    target(f"max by (instance, remote) "
                           f"({sel('llm_exporter_remote_write_queue_length')})",
                           "{{instance}} {{remote}} queued snapshots")], "short", w=8),

        row("Scrapes and resources"),
        timeseries("Scrape duration",
                   "Time the agent took to render /metrics (llm_exporter_last_scrape_duration_"
                   "seconds, as of the previous scrape) and the whole scrape as Prometheus saw "
                   "it (scrape_duration_seconds).",
                   [target(sel("llm_exporter_last_scrape_duration_seconds"),
                           "{{instance}} render"),
                    target(sel("scrape_duration_seconds"), "{{instance}} scrape")], "s"),
        timeseries("Scrape size",
                   "Size of the /metrics response (llm_exporter_last_scrape_size_bytes, as of "
                   "the previous scrape).",
                   [target(sel("llm_exporter_last_scrape_size_bytes"), "{{instance}}")],
                   "bytes", w=6),
        timeseries("Samples per scrape",
                   "Samples Prometheus took from each scrape (scrape_samples_scraped).",
                   [target(sel("scrape_samples_scraped"), "{{instance}}")], "short", w=6),
        timeseries("CPU",
                   "CPU used by each agent, 100% = one core: rate of "
                   "process_cpu_seconds_total.",
                   [target(rate("process_cpu_seconds_total"), "{{instance}}")],
                   "percentunit", w=8),
        timeseries("Resident memory",
                   "Resident memory of each agent: process_resident_memory_bytes.",
                   [target(sel("process_resident_memory_bytes"), "{{instance}}")], "bytes",
                   w=8),
        timeseries("File descriptors used",
                   "Open file descriptors of each agent over its limit: process_open_fds over "
                   "process_max_fds.",
                   [target(f"{sel('process_open_fds')}\n/\n{sel('process_max_fds')}",
                           "{{instance}}")], "percentunit", w=8),

        # The metering proxy (docs/proxy.md); every configured upstream's series exist from
        # start-up. Appended, so that panel ids stay.
        row("Proxy"),
        timeseries("Proxied requests in flight by agent",
                   "Requests each agent's proxy is relaying now, by agent and upstream (open "
                   "streams included): llm_exporter_proxy_requests_in_flight.",
                   [target("sum by (instance, upstream) ("
                           f"{sel('llm_exporter_proxy_requests_in_flight')})",
                           "{{instance}} {{upstream}}")], "short", w=8),
        timeseries("Upstream failures by reason",
                   "Relayed requests per second that failed on the way to the upstream, by "
                   "upstream and reason (connect, tls, timeout, broken: the connection broke "
                   "mid-answer): rate of llm_exporter_proxy_upstream_failures_total.",
                   [target("sum by (upstream, reason) ("
                           f"{rate('llm_exporter_proxy_upstream_failures_total')})",
                           "{{upstream}} {{reason}}")], "reqps", w=8),
        timeseries("Streams without usage by upstream",
                   "Streamed calls per second relayed without token counts (the client did not "
                   "ask for usage and the upstream's inject_stream_usage is off), by agent and "
                   "upstream: rate of llm_exporter_proxy_streams_without_usage_total "
                   "(LLMProxyStreamsWithoutUsage).",
                   [target("sum by (instance, upstream) ("
                           f"{rate('llm_exporter_proxy_streams_without_usage_total')})",
                           "{{instance}} {{upstream}}")], "cps", w=8),
    ]
    return dashboard(
        "llm-exporter", "llm_exporter self-monitoring",
        "The agents' own health: events in and rejected, series per family and overflow, "
        "remote write delivery, scrape cost, CPU and memory.",
        "now-1h", [VAR_JOB, VAR_INSTANCE], items)


DASHBOARDS = {
    "llm-overview.json": overview,
    "llm-cost.json": cost,
    "llm-exporter.json": exporter,
}


def render(build):
    return json.dumps(build(), indent=2, sort_keys=False) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if a committed dashboard differs from the generated one")
    parser.add_argument("--out", default=HERE, help="folder to write to (default: this one)")
    args = parser.parse_args()
    stale = []
    for name, build in DASHBOARDS.items():
        text = render(build)
        path = os.path.join(args.out, name)
        if args.check:
            try:
                with open(path, encoding="utf-8") as f:
                    if f.read() != text:
                        stale.append(name)
            except FileNotFoundError:
                stale.append(name)
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
    if stale:
        print("out of date (run python3 dashboards/generate.py): " + ", ".join(stale),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
