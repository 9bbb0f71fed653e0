"""End to end: the dashboards and rules against a real Prometheus scraping the real agent.

Starts llm_exporter (with a budgets file) and Debian's `prometheus` on free loopback ports, the
latter with a temp data dir, a 1s scrape of the agent, a 1s rule evaluation and both rule files of
rules/. Posts a known set of events and, at the same moment, of OTLP trace spans (workflows,
agents, tools and an LLM call, on POST /v1/traces as OTLP/JSON) twice: a warm-up batch that
creates every series (a series appears with its first value already counted, so rate() and
increase() cannot see the event that created it), then, after a few scrapes, the same batch again.
Then, at one evaluation time T:

- every target of every dashboard, with the template variables set to match everything and
  $__rate_interval and $__range set to a window that starts after the warm-up and ends after the
  known batch, must parse and return data, as an instant and (for range panels) a range query;
- the headline panels must return what the known batch implies (the LLM panels count the events'
  calls and the spans' calls together), the generation-speed (TPOT, output tokens/s), token-kind
  and calls-without-usage panels included; the batch has cache reads, cache writes and reasoning
  tokens, priced from a price file with cache rates, and calls without token counts over JSON and
  OTLP. Ratios of series scraped at the same timestamps (error rate, cache hit rate, quality
  average, quantiles, cost per request) are exact; rates and increases are exact once multiplied by Prometheus' extrapolation factor,
  which the test computes from the raw sample timestamps with the algorithm of Prometheus 2.42
  (promql/functions.go, extrapolatedRate). Tolerance: 1e-9 relative, for float rounding only;
- every rule of rules/ is loaded, evaluates without error, parses through the query API, every
  recording rule has data, and exactly the alerts the events and spans imply are pending;
- every template variable query returns the values posted;
- every recipe of docs/recipes.md (each ```promql block after its `<!-- recipe: ID -->` marker),
  with $__range, $__interval and $__rate_interval at the same window, returns at T exactly what
  the known batch implies, and parses and returns data as a range query. A recipe without a
  check here, or a check without a recipe, fails the test.

The values every panel and recipe returned are printed (and written to
$LLM_EXPORTER_E2E_REPORT if set).

    LLM_EXPORTER_BIN=build/llm_exporter python3 tests/integration/test_prometheus_e2e.py
"""
import ctypes
import datetime
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402
from harness import Agent, free_port, wait_until  # noqa: E402
from test_otlp_http import post_traces, request, span  # noqa: E402

ROOT = harness.SOURCE_DIR
PROMETHEUS = os.environ.get("PROMETHEUS_BIN") or shutil.which("prometheus") or "/usr/bin/prometheus"
DASHBOARDS = ["llm-overview.json", "llm-cost.json", "llm-exporter.json"]
RULE_FILES = [os.path.join(ROOT, "rules", "llm-recording.rules.yml"),
              os.path.join(ROOT, "rules", "llm-alerts.rules.yml")]
RECIPES = os.path.join(ROOT, "docs", "recipes.md")
JOB = "llm_exporter"
REL = 1e-9

# ------------------------------------------------------------------ the known set of events
# USD per 1K tokens (input, output): the agent's default table, which the price file below
# repeats; other models use the fallback.
PRICES = {"gpt-4o": (0.0025, 0.01), "gpt-4o-mini": (0.00015, 0.0006),
          "claude-sonnet-4-20250514": (0.003, 0.015)}
FALLBACK = (0.01, 0.03)
# The price file adds cache rates: gpt-4o a cached-input rate only (its cache writes cost the
# input rate), Claude both (a 5-minute cache write at 1.25 times the input rate), gpt-4o-mini
# neither (cache reads and writes at the input rate).
CACHE_PRICES = {"gpt-4o": {"cached_input": 0.00125},
                "claude-sonnet-4-20250514": {"cached_input": 0.0003,
                                             "cache_write_input": 0.00375}}
PRICE_FILE = {"unit": "usd_per_1k_tokens",
              "models": {m: {"input": i, "output": o, **CACHE_PRICES.get(m, {})}
                         for m, (i, o) in PRICES.items()},
              "fallback": {"input": FALLBACK[0], "output": FALLBACK[1]}}
LATENCY_BUCKETS = [0.1, 0.5, 1, 2, 5, 10, 30]
TTFT_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 5]
TPOT_BUCKETS = [0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1]
TOKENS_PER_SECOND_BUCKETS = [5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500]
WORKFLOW_BUCKETS = [0.5, 1, 2, 5, 10, 30, 60, 120, 300]
# llm_tokens_by_kind_total's kinds and the event fields they sum.
TOKEN_KINDS = {"cache_read": "cached_input_tokens", "cache_write": "cache_write_input_tokens",
               "reasoning": "reasoning_tokens"}


def call(model, endpoint, status, tin, tout, latency, user, team, ttft=None, cache=None,
         cached=None, cache_write=None, reasoning=None):
    """An event; tin and tout None leave the token counts out (a call without usage)."""
    e = {"model": model, "endpoint": endpoint, "status": status, "input_tokens": tin,
         "output_tokens": tout, "latency": latency, "user_id": user, "team_id": team}
    for key, value in (("ttft", ttft), ("cache", cache), ("cached_input_tokens", cached),
                       ("cache_write_input_tokens", cache_write),
                       ("reasoning_tokens", reasoning), ("input_tokens", tin),
                       ("output_tokens", tout)):
        if value is None:
            e.pop(key, None)
        else:
            e[key] = value
    return e


def usage_known(e):
    """Whether the call gave a token count: neither input nor output means tokens unknown."""
    return "input_tokens" in e or "output_tokens" in e


def tokens_in(e):
    return e.get("input_tokens", 0)


def tokens_out(e):
    return e.get("output_tokens", 0)


def tpot(e):
    """llm_time_per_output_token_seconds' observation of a call, or None: the time per output
    token after the first, for calls with a TTFT, at least 2 output tokens and latency > TTFT."""
    if "ttft" in e and tokens_out(e) >= 2 and e["latency"] > e["ttft"]:
        return (e["latency"] - e["ttft"]) / (tokens_out(e) - 1)
    return None


def tokens_per_second(e):
    """llm_output_tokens_per_second's observation of a call, or None: output tokens over the
    time after the first token (over the latency without a TTFT), for calls with usage and at
    least one output token."""
    if not usage_known(e) or tokens_out(e) < 1:
        return None
    if "ttft" in e:
        return tokens_out(e) / (e["latency"] - e["ttft"]) if e["latency"] > e["ttft"] else None
    return tokens_out(e) / e["latency"] if e["latency"] > 0 else None


EVENT_CALLS = [
    call("gpt-4o", "/chat", "success", 1000, 500, 0.8, "u1", "search", ttft=0.2, cache="hit"),
    call("gpt-4o", "/chat", "success", 2000, 1000, 1.5, "u2", "search", ttft=0.4, cache="miss"),
    call("gpt-4o", "/chat", "error", 500, 0, 0.3, "u1", "search"),
    call("gpt-4o-mini", "/summarize", "success", 4000, 1000, 0.4, "u3", "support", ttft=0.05,
         cache="hit"),
    call("gpt-4o-mini", "/summarize", "success", 3000, 500, 3.0, "u3", "support", ttft=0.7,
         cache="hit"),
    call("claude-sonnet-4-20250514", "/chat", "success", 1500, 800, 12.0, "u2", "support",
         ttft=1.5, cache="miss"),
    call("claude-sonnet-4-20250514", "/chat", "error", 100, 0, 0.2, "u2", "support"),
    call("llama-3-70b", "/chat", "success", 1000, 1000, 2.5, "u1", "search", ttft=0.3),
]
# Calls with the parts of their tokens (cache reads and writes, reasoning) and streamed calls
# whose time per output token and tokens/s fall in several buckets (none near a bound), and a
# call without token counts. gpt-4o's go to /agent, so that ref_series() moves by 2 as before.
USAGE_CALLS = [
    call("gpt-4o", "/agent", "success", 3000, 120, 2.5, "u1", "search", ttft=0.3, cache="hit",
         cached=2000, cache_write=400, reasoning=40),
    call("gpt-4o", "/agent", "success", 1800, 60, 3.1, "u2", "search", ttft=0.5, cached=1024,
         reasoning=20),
    call("gpt-4o-mini", "/summarize", "success", 5000, 400, 6.3, "u3", "support", ttft=0.4,
         cached=3000, cache_write=1000),
    call("gpt-4o-mini", "/summarize", "success", 900, 2, 0.9, "u3", "support", ttft=0.35),
    call("gpt-4o-mini", "/summarize", "success", 700, 150, 1.6, "u3", "support"),
    call("claude-sonnet-4-20250514", "/chat", "success", 6000, 900, 9.2, "u2", "support",
         ttft=0.8, cached=4000, cache_write=1500, reasoning=300),
    call("claude-sonnet-4-20250514", "/chat", "success", 2500, 1, 1.3, "u2", "support", ttft=0.9),
    # No token count at all: tokens and cost unknown, neither 0-token nor fallback-priced.
    call("claude-sonnet-4-20250514", "/chat", "success", None, None, 0.6, "u2", "support"),
]
# LLM calls posted as OTLP spans (the OpenAI chat span of OpenLLMetry's RAG pipeline, under its
# workflow): the endpoint is the workflow's name; spans carry no cache outcome. Latency and TTFT
# are whole milliseconds, as the span's times are.
SPAN_CALLS = [
    call("gpt-4o", "rag_pipeline", "success", 1200, 300, 1.2, "u4", "search", ttft=0.3),
    # A span without usage attributes.
    call("gpt-4o", "rag_pipeline", "success", None, None, 0.9, "u4", "search"),
]
CALLS = EVENT_CALLS + USAGE_CALLS + SPAN_CALLS
SCORES = [("gpt-4o", "judge", 4), ("gpt-4o", "judge", 5), ("gpt-4o-mini", "judge", 3),
          ("claude-sonnet-4-20250514", "judge", 5)]
QUALITY = [{"type": "quality", "model": m, "evaluator": ev, "score": s} for m, ev, s in SCORES]
INVALID = [{"endpoint": "/chat", "input_tokens": 1}]  # no model: rejected as missing_field
BATCH = EVENT_CALLS + USAGE_CALLS + QUALITY + INVALID
BUDGETS = {"teams": {"search": {"daily_usd": 50, "monthly_usd": 1000},
                     "support": {"daily_usd": 0.015, "monthly_usd": 400}}}
# Workflow, agent and tool spans (docs/otlp.md): (name, status, seconds) per workflow or task run,
# (name, status) per agent invocation and per tool call. web_search fails 5 of its 20 calls:
# over LLMToolErrorRateHigh's 20% with the 20 calls its guard asks for; calculator fails as often
# but with 4 calls stays under the guard.
WORKFLOWS = [("rag_pipeline", "success", 1.4), ("rag_pipeline", "success", 0.7),
             ("rag_pipeline", "success", 3.5), ("rag_pipeline", "error", 45.0),
             ("retrieval", "success", 0.08), ("retrieval", "success", 0.3),
             ("nightly_digest", "success", 130.0)]
AGENTS = [("qa_agent", "success")] * 3 + [("qa_agent", "error"), ("planner", "success"),
                                          ("planner", "success")]
TOOLS = ([("web_search", "success")] * 15 + [("web_search", "error")] * 5
         + [("calculator", "success")] * 3 + [("calculator", "error")] + [("llm_call", "success")])
FAMILIES = {"requests", "duration", "model", "cost", "quality", "workflow", "agent", "tool",
            "upstream"}


def otlp_batch(batch):
    """An OTLP/JSON export request with every span of WORKFLOWS, AGENTS, TOOLS and SPAN_CALLS,
    in the conventions of several libraries (OpenLLMetry's traceloop.* attributes, the GenAI
    conventions' gen_ai.operation.name), errors as span status ERROR or as error.type. `batch`
    keeps the trace ids of the warm-up and the known batch apart."""
    spans, ids = [], iter(range(1, 1 << 16))

    def add(trace, name, start_ms, duration_s, attrs, status, parent=None, events=()):
        span_id = f"{batch:04x}{next(ids):012x}"
        error = {}
        if status == "error":  # both ways of saying so, alternately
            error = {"error.type": "TimeoutError"} if len(spans) % 2 else {}
        spans.append(span(trace, span_id, name, start_ms, start_ms + round(duration_s * 1000),
                          {**attrs, **error}, parent=parent,
                          status=2 if status == "error" and not error else 0, events=events))
        return span_id

    for i, (name, status, seconds) in enumerate(WORKFLOWS):
        trace = f"{batch:04x}{i + 1:028x}"
        if name == "nightly_digest":
            attrs = {"gen_ai.operation.name": "invoke_workflow", "gen_ai.workflow.name": name}
        else:
            kind = "task" if name == "retrieval" else "workflow"
            attrs = {"traceloop.span.kind": kind, "traceloop.entity.name": name,
                     "traceloop.workflow.name": name}
        add(trace, f"{name}.workflow", 0, seconds, attrs, status)
    trace = f"{batch:04x}{0xa:028x}"
    for name, status in AGENTS:
        attrs = ({"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": name}
                 if name == "planner" else
                 {"traceloop.span.kind": "agent", "traceloop.entity.name": name})
        add(trace, f"{name}.agent", 0, 2.0, attrs, status)
    for name, status in TOOLS:
        attrs = ({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name}
                 if name == "calculator" else
                 {"traceloop.span.kind": "tool", "traceloop.entity.name": name})
        add(trace, f"{name}.tool", 0, 0.2, attrs, status)
    for c in SPAN_CALLS:
        attrs = {"llm.request.type": "chat", "gen_ai.system": "openai",
                 "gen_ai.request.model": c["model"],
                 "traceloop.workflow.name": c["endpoint"],
                 "traceloop.association.properties.user_id": c["user_id"],
                 "traceloop.association.properties.team_id": c["team_id"]}
        if usage_known(c):
            attrs["gen_ai.usage.prompt_tokens"] = tokens_in(c)
            attrs["gen_ai.usage.completion_tokens"] = tokens_out(c)
        ttft = [("First Token Stream Event", 100 + round(c["ttft"] * 1000))] if "ttft" in c else []
        add(trace, "openai.chat", 100, c["latency"], attrs, c["status"], events=ttft)
    return request(spans, {"service.name": "rag-service"})


def cost_of(e):
    """The priced cost: uncached input at the input rate, cache reads and writes at their rates
    (the input rate where the model has none), output (reasoning included) at the output rate.
    A call without usage costs nothing it could be priced for."""
    if not usage_known(e):
        return 0.0
    pin, pout = PRICES.get(e["model"], FALLBACK)
    rates = CACHE_PRICES.get(e["model"], {})
    cached = e.get("cached_input_tokens", 0)
    written = e.get("cache_write_input_tokens", 0)
    return ((tokens_in(e) - cached - written) * pin
            + cached * rates.get("cached_input", pin)
            + written * rates.get("cache_write_input", pin)
            + tokens_out(e) * pout) / 1000


def total(values):
    return math.fsum(values)


def group(key, value, events=CALLS):
    out = {}
    for e in events:
        out.setdefault(key(e), []).append(value(e))
    return {k: total(v) for k, v in out.items()}


def bucket_quantile(q, observations, bounds):
    """histogram_quantile() of Prometheus 2.42 over the buckets the observations fall in."""
    uppers = list(bounds) + [math.inf]
    counts = [sum(1 for o in observations if o <= u) for u in uppers]
    rank = q * counts[-1]
    b = next((i for i in range(len(uppers) - 1) if counts[i] >= rank), len(uppers) - 1)
    if b == len(uppers) - 1:
        return uppers[-2]
    start, count = 0.0, counts[b]
    if b > 0:
        start, count, rank = uppers[b - 1], counts[b] - counts[b - 1], rank - counts[b - 1]
    return start + (uppers[b] - start) * (rank / count)


def extrapolation_factor(points, t_eval_ms, window_s):
    """increase()/(last - first) for these samples: Prometheus 2.42's extrapolatedRate().

    Times are whole milliseconds, as Prometheus keeps them: seconds parsed into a float lose
    about 1e-7 s at today's epoch, which shows at the 1e-9 relative tolerance used here."""
    (t0, v0), (t1, v1) = points[0], points[-1]
    delta = v1 - v0
    to_start = (t0 - (t_eval_ms - window_s * 1000)) / 1000
    to_end = (t_eval_ms - t1) / 1000
    sampled = (t1 - t0) / 1000
    average = sampled / (len(points) - 1)
    if delta > 0 and v0 >= 0:
        to_start = min(to_start, sampled * (v0 / delta))
    threshold = average * 1.1
    interval = sampled
    interval += to_start if to_start < threshold else average / 2
    interval += to_end if to_end < threshold else average / 2
    return interval / sampled


def rfc3339_seconds(text):
    """Seconds since the epoch of an RFC 3339 time as the Prometheus API writes it, with up to
    nanoseconds and a zone: "2026-11-28T00:40:12.123456789Z" or "...12.1+01:00"."""
    m = re.fullmatch(r"([^.]+?)(\.\d+)?(Z|[+-]\d\d:\d\d)", text)
    whole = datetime.datetime.fromisoformat(m[1] + ("+00:00" if m[3] == "Z" else m[3]))
    return whole.timestamp() + (float(m[2]) if m[2] else 0.0)


def ref_series():
    """A series that the known batch moves by 2: its raw samples give the extrapolation factor."""
    return 'llm_requests_total{model="gpt-4o",endpoint="/chat",status="success"}'


# ------------------------------------------------------------------ Prometheus
def _die_with_parent():
    """In the child: SIGTERM when the test process dies, so no prometheus outlives a killed run."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Prometheus:
    """Debian's prometheus on a free loopback port, temp data dir, scraping one target (none when
    `target` is None, e.g. a remote write receiver). stop() and start() restart it on the same
    port and data dir."""

    def __init__(self, target, flags=(), rule_files=RULE_FILES):
        self.flags = list(flags)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.tmp = tempfile.TemporaryDirectory(prefix="llmx-prom-")
        self.config = os.path.join(self.tmp.name, "prometheus.yml")
        rules = "\n".join(f"  - {json.dumps(path)}" for path in rule_files) or "  []"
        scrape = f"""
  - job_name: {JOB}
    static_configs:
      - targets: ["{target}"]""" if target else " []"
        with open(self.config, "w", encoding="utf-8") as f:
            f.write(f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
{rules}
scrape_configs:{scrape}
""")
        self.log_path = os.path.join(self.tmp.name, "prometheus.log")
        self.proc = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        self.tmp.cleanup()

    def start(self):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={self.config}",
             f"--storage.tsdb.path={os.path.join(self.tmp.name, 'data')}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn", *self.flags],
            stdout=self._log, stderr=subprocess.STDOUT, cwd=self.tmp.name,
            preexec_fn=_die_with_parent)
        try:
            wait_until(self._ready, timeout=30, what=f"prometheus on port {self.port}")
        except BaseException:
            self.__exit__(None, None, None)
            raise

    def stop(self):
        """SIGTERM, and wait for it to exit; the data dir stays."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def log(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def _ready(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"prometheus exited with {self.proc.returncode}: {self.log()}")
        try:
            with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def api(self, path, **params):
        """The decoded JSON answer of /api/v1/<path>, error answers included."""
        query = urllib.parse.urlencode(params, doseq=True)
        try:
            with urllib.request.urlopen(f"{self.url}/api/v1/{path}?{query}", timeout=20) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            return json.loads(e.read())

    def query(self, expr, at):
        return self.api("query", query=expr, time=f"{at:.3f}")


# ------------------------------------------------------------------ dashboards
def dashboard_targets():
    """(dashboard file, panel, target) for every panel target of every dashboard."""
    for name in DASHBOARDS:
        with open(os.path.join(ROOT, "dashboards", name), encoding="utf-8") as f:
            d = json.load(f)
        stack = list(d["panels"])
        while stack:
            p = stack.pop(0)
            stack[:0] = p.get("panels", [])
            for t in p.get("targets", []):
                yield name, p, t


# The proxy's families, and the calls only the proxy counts: this test sends nothing through the
# proxy, so the panels and recording rules that read them are proved by
# test_proxy_prometheus_e2e.py instead.
PROXY_SERIES = re.compile(r'llm_proxy_requests|llm_ratelimit_|llm_client_retries|'
                          r'llm_exporter_proxy_|status="cancelled"')


def is_proxy_query(expr):
    return bool(PROXY_SERIES.search(expr))


def substitute(expr, window, values=None):
    """What Grafana sends: variables at "All" (.*) or at the regex `values` gives them (a
    selection of several is "(a|b)"), and the interval variables at `window`."""
    for var in ("job", "instance", "model", "team_id"):
        value = (values or {}).get(var, ".*")
        expr = expr.replace("${%s}" % var, value).replace("$" + var, value)
    for var in ("__rate_interval", "__range", "__interval"):
        expr = expr.replace("$" + var, window)
    assert "$" not in expr, f"unsubstituted variable in {expr}"
    return expr


def legend(fmt, labels):
    if fmt and fmt != "__auto":
        return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), fmt)
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "__name__") or "value"


def series(answer, fmt):
    """{legend: value} of an instant query answer."""
    out = {}
    for r in answer["data"]["result"]:
        out[legend(fmt, r["metric"])] = float(r["value"][1])
    return out


# ------------------------------------------------------------------ docs/recipes.md
def recipe_queries():
    """([(id, PromQL)] in the order of docs/recipes.md, the number of ```promql blocks in it).

    A recipe is a ```promql block right after its `<!-- recipe: ID -->` line; a block without
    one shows as the difference between the two."""
    with open(RECIPES, encoding="utf-8") as f:
        text = f.read()
    marked = re.findall(r"^<!-- recipe: ([a-z0-9-]+) -->\n```promql\n(.*?)\n```$", text,
                        re.M | re.S)
    return marked, len(re.findall(r"^```promql$", text, re.M))


def with_topk(expr, k):
    """The recipe with the k of its one topk() set to `k`."""
    out, n = re.subn(r"\b(topk(?: by \([\w, ]*\))? ?\()\d+,", rf"\g<1>{k},", expr)
    assert n == 1, f"one topk() in {expr}"
    return out


# ------------------------------------------------------------------ the test
needs_agent = unittest.skipUnless("LLM_EXPORTER_BIN" in os.environ
                                  or os.access(harness.BINARY, os.X_OK),
                                  f"no agent binary at {harness.BINARY}")


@needs_agent
class PrometheusEndToEndTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(PROMETHEUS, os.X_OK):
            raise RuntimeError(f"no prometheus at {PROMETHEUS}: apt-get install prometheus")
        cls.tmp = tempfile.TemporaryDirectory(prefix="llmx-e2e-")
        budgets = os.path.join(cls.tmp.name, "budgets.json")
        with open(budgets, "w", encoding="utf-8") as f:
            json.dump(BUDGETS, f)
        prices = os.path.join(cls.tmp.name, "prices.json")
        with open(prices, "w", encoding="utf-8") as f:
            json.dump(PRICE_FILE, f)
        agent_port = free_port()
        cls.prom = Prometheus(f"127.0.0.1:{agent_port}",
                              flags=["--web.enable-remote-write-receiver"])
        # The agent also remote-writes its remote write metrics to the same Prometheus (and
        # nothing else, so every other series is the scraped one), labelled via="remote_write":
        # the self-monitoring dashboard's remote write panels then have data to read.
        remote_write = os.path.join(cls.tmp.name, "remote-write.yml")
        with open(remote_write, "w", encoding="utf-8") as f:
            f.write(f"""remote_write:
  - url: {cls.prom.url}/api/v1/write
    name: e2e
    send_interval: 1s
    external_labels: {{via: remote_write}}
    queue_config: {{min_backoff: 50ms, max_backoff: 500ms}}
    write_relabel_configs:
      - source_labels: [__name__]
        regex: llm_exporter_remote_write_.*
        action: keep
""")
        # --otlp.span-hold=0: LLM-call spans are counted when their request is read, as events.
        cls.agent = Agent(args=[f"--budgets.file={budgets}", f"--pricing.file={prices}",
                                "--otlp.span-hold=0",
                                f"--remote-write.config.file={remote_write}"], port=agent_port)
        cls.agent.__enter__()
        try:
            cls.prom.__enter__()
            try:
                cls._run_scenario()
            except BaseException:
                cls.prom.__exit__(None, None, None)
                raise
        except BaseException:
            cls.agent.__exit__(None, None, None)
            cls.tmp.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.agent.__exit__(None, None, None)  # first: its last remote write still lands
        finally:
            cls.prom.__exit__(None, None, None)
            cls.tmp.cleanup()

    @classmethod
    def _scraped(cls, calls):
        answer = cls.prom.query("sum(llm_requests_total)", time.time())
        result = answer.get("data", {}).get("result", [])
        return bool(result) and float(result[0]["value"][1]) == calls

    @classmethod
    def _stored_after(cls, expr):
        """True when every series of `timestamp(...)` expr, evaluated now, is stamped after T."""
        result = cls.prom.query(expr, time.time()).get("data", {}).get("result", [])
        return bool(result) and min(float(r["value"][1]) for r in result) > cls.at

    @classmethod
    def _rules_evaluated_after_at(cls):
        """True when every rule group has finished an evaluation stamped after T."""
        groups = cls.prom.api("rules").get("data", {}).get("groups", [])
        return bool(groups) and all(rfc3339_seconds(g["lastEvaluation"]) > cls.at
                                    for g in groups)

    @classmethod
    def _post(cls, batch):
        """The events and the spans of one batch, one right after the other."""
        answer = cls.agent.post_events(BATCH).json()
        assert (answer["accepted"], answer["rejected"]) == (len(BATCH) - 1, 1), answer
        r = post_traces(cls.agent, otlp_batch(batch))
        assert (r.status, r.json()) == (200, {}), (r.status, r.body)

    @classmethod
    def _run_scenario(cls):
        prom = cls.prom
        wait_until(lambda: prom.query("up", time.time())["data"]["result"], timeout=15,
                   what="the first scrape of the agent")
        # Warm-up: creates every series with the batch's values already counted.
        cls._post(1)
        wait_until(lambda: cls._scraped(len(CALLS)), timeout=15, what="the warm-up scraped")
        time.sleep(2.5)               # more scrapes holding the warm-up values
        cls.window_start = time.time()
        time.sleep(3)                 # the window holds a few samples before the known batch
        cls._post(2)
        wait_until(lambda: cls._scraped(2 * len(CALLS)), timeout=15,
                   what="the known batch scraped")
        time.sleep(3)                 # a few scrapes and rule evaluations after it
        cls.at = round(time.time(), 3)
        # A whole number of seconds, starting after window_start: the window holds samples of
        # the warm-up values only at its start and of the known batch only at its end.
        cls.seconds = int(cls.at - cls.window_start)
        cls.window = f"{cls.seconds}s"
        # A scrape stamped just before T may still be in flight (a slow agent, e.g. under a
        # sanitizer): queries run before and after it lands would see different samples. Query
        # only once a scrape and every rule evaluation stamped after T have been stored.
        wait_until(lambda: cls._stored_after(f"timestamp({ref_series()})"), timeout=15,
                   what="a scrape stamped after T")
        wait_until(cls._rules_evaluated_after_at, timeout=15,
                   what="every rule group evaluated after T")
        # The extrapolation factor of increase() over the window, from the raw samples of a
        # series that the known batch moved by 2.
        ref = ref_series()
        raw = prom.query(f"{ref}[{cls.window}]", cls.at)["data"]["result"][0]["values"]
        points = [(round(float(t) * 1000), float(v)) for t, v in raw]
        assert points[-1][1] - points[0][1] == 2, points
        cls.factor = extrapolation_factor(points, round(cls.at * 1000), cls.seconds)
        # Answers of every dashboard target at T.
        cls.answers = {}
        for name, panel, target in dashboard_targets():
            expr = substitute(target["expr"], cls.window)
            cls.answers[(name, panel["title"], target["refId"])] = (
                panel, target, expr, prom.query(expr, cls.at))
        # Answers of every recipe of docs/recipes.md at T, the same way.
        cls.recipes, cls.recipe_blocks = recipe_queries()
        cls.recipe_answers = {}
        for rid, expr in cls.recipes:
            expr = substitute(expr, cls.window)
            cls.recipe_answers[rid] = (expr, prom.query(expr, cls.at))

    # ---- helpers
    def panel(self, dashboard, title, ref="A"):
        return self.answers[(dashboard, title, ref)]

    def values(self, dashboard, title, ref="A"):
        _, target, _, answer = self.panel(dashboard, title, ref)
        self.assertEqual(answer["status"], "success", answer)
        return series(answer, target.get("legendFormat"))

    def assertClose(self, got, want, what=""):
        self.assertTrue(math.isclose(got, want, rel_tol=REL, abs_tol=1e-12),
                        f"{what}: got {got!r}, want {want!r}")

    def assertValues(self, dashboard, title, want, ref="A"):
        got = self.values(dashboard, title, ref)
        self.assertEqual(set(got), set(want), f"{title}: {got}")
        for k, v in want.items():
            self.assertClose(got[k], v, f"{title} / {k}")

    def rate(self, count):
        return count * self.factor / self.seconds

    def increase(self, count):
        return count * self.factor

    # ---- every target
    def test_00_extrapolation_factor_is_sane(self):
        # One sample a second: the window has seconds-1 .. seconds+1 seconds of samples.
        self.assertGreaterEqual(self.seconds, 6)
        self.assertGreater(self.factor, 1.0)
        self.assertLess(self.factor, (self.seconds + 2.2) / (self.seconds - 2.2))

    def test_every_dashboard_target_parses_and_returns_data(self):
        for (name, title, ref), (panel, target, expr, answer) in self.answers.items():
            with self.subTest(dashboard=name, panel=title, ref=ref):
                self.assertEqual(answer["status"], "success", f"{expr}: {answer}")
                if is_proxy_query(expr):
                    continue  # test_proxy_prometheus_e2e.py
                self.assertTrue(answer["data"]["result"], f"data: {expr}")
                if not target.get("instant"):
                    ranged = self.prom.api("query_range", query=expr,
                                           start=f"{self.at - self.seconds:.3f}",
                                           end=f"{self.at:.3f}", step="1")
                    self.assertEqual(ranged["status"], "success", f"{expr}: {ranged}")
                    self.assertTrue(ranged["data"]["result"], f"range data: {expr}")

    def test_annotation_queries_parse(self):
        for name in DASHBOARDS:
            with open(os.path.join(ROOT, "dashboards", name), encoding="utf-8") as f:
                d = json.load(f)
            for a in d["annotations"]["list"]:
                if "expr" in a:
                    with self.subTest(dashboard=name, annotation=a["name"]):
                        answer = self.prom.query(a["expr"], self.at)
                        self.assertEqual(answer["status"], "success", answer)

    def test_template_variables_list_what_was_posted(self):
        want = {"job": [JOB], "instance": [f"127.0.0.1:{self.agent.port}"],
                "model": sorted({e["model"] for e in CALLS}),
                "team_id": sorted({e["team_id"] for e in CALLS})}
        seen = set()
        for name in DASHBOARDS:
            with open(os.path.join(ROOT, "dashboards", name), encoding="utf-8") as f:
                d = json.load(f)
            for v in d["templating"]["list"]:
                if v["type"] != "query":
                    continue
                m = re.fullmatch(r"label_values\((.+), (\w+)\)", v["query"])
                self.assertIsNotNone(m, v["query"])
                selector = substitute(m.group(1), "1m")
                answer = self.prom.api(f"label/{m.group(2)}/values", **{"match[]": selector},
                                       start=f"{self.at - 60:.3f}", end=f"{self.at:.3f}")
                self.assertEqual(answer["status"], "success", answer)
                self.assertEqual(sorted(answer["data"]), want[v["name"]], v["query"])
                seen.add(v["name"])
        self.assertEqual(seen, set(want))

    # ---- llm-overview: the seed's queries, corrected
    def test_overview_headline_values(self):
        d = "llm-overview.json"
        cost = total(cost_of(e) for e in CALLS)
        errors = sum(e["status"] == "error" for e in CALLS)
        tokens = sum(tokens_in(e) + tokens_out(e) for e in CALLS)
        hits = sum(e.get("cache") == "hit" for e in CALLS)
        lookups = sum("cache" in e for e in CALLS)
        self.assertValues(d, "Total cost (24h)", {"cost": self.increase(cost)})
        self.assertValues(d, "Request rate", {"calls/s": self.rate(len(CALLS))})
        self.assertValues(d, "Error rate", {"errors": errors / len(CALLS)})
        self.assertValues(d, "p99 latency", {"p99": bucket_quantile(
            0.99, [e["latency"] for e in CALLS], LATENCY_BUCKETS)})
        self.assertValues(d, "p95 TTFT", {"p95": bucket_quantile(
            0.95, [e["ttft"] for e in CALLS if "ttft" in e], TTFT_BUCKETS)})
        self.assertValues(d, "Average quality score",
                          {"score": total(s for _, _, s in SCORES) / len(SCORES)})
        self.assertValues(d, "Tokens per minute", {"tokens/min": self.rate(tokens) * 60})
        self.assertValues(d, "Cache hit rate", {"hit rate": hits / lookups})
        self.assertValues(d, "Cost by model (24h)", {
            m: self.increase(c) for m, c in group(lambda e: e["model"], cost_of).items()})
        # The seed's numbers, for the record: 8 calls, 2 errors, $0.0825, quality 4.25; and the
        # span's call, $0.006.
        self.assertEqual((len(EVENT_CALLS), sum(e["status"] == "error" for e in EVENT_CALLS)),
                         (8, 2))
        self.assertClose(total(cost_of(e) for e in EVENT_CALLS), 0.0825)
        self.assertClose(total(cost_of(e) for e in SPAN_CALLS), 0.006)

    def test_overview_breakdowns(self):
        d = "llm-overview.json"
        models = sorted({e["model"] for e in CALLS})
        calls_by = lambda key: group(key, lambda e: 1)  # noqa: E731
        errors_by = lambda key: group(key, lambda e: e["status"] == "error")  # noqa: E731
        by_model, err_model = calls_by(lambda e: e["model"]), errors_by(lambda e: e["model"])
        self.assertValues(d, "Error rate by model",
                          {m: err_model[m] / by_model[m] for m in models})
        by_ep, err_ep = calls_by(lambda e: e["endpoint"]), errors_by(lambda e: e["endpoint"])
        self.assertValues(d, "Request rate by endpoint",
                          {k: self.rate(v) for k, v in by_ep.items()})
        self.assertValues(d, "Error rate by endpoint", {k: err_ep[k] / by_ep[k] for k in by_ep})
        self.assertValues(d, "p99 latency by endpoint", {
            ep: bucket_quantile(0.99, [e["latency"] for e in CALLS if e["endpoint"] == ep],
                                LATENCY_BUCKETS) for ep in by_ep})
        self.assertValues(d, "p95 TTFT by model", {
            m: bucket_quantile(0.95, [e["ttft"] for e in CALLS if e["model"] == m and "ttft" in e],
                               TTFT_BUCKETS) for m in models})
        # From model:llm_request_duration_seconds_bucket:rate5m: its own window, same ratios.
        self.assertValues(d, "p99 latency by model", {
            m: bucket_quantile(0.99, [e["latency"] for e in CALLS if e["model"] == m],
                               LATENCY_BUCKETS) for m in models})
        quality = {}
        for m, ev, s in SCORES:
            quality.setdefault(f"{m} ({ev})", []).append(s)
        self.assertValues(d, "Average quality score by model and evaluator",
                          {k: total(v) / len(v) for k, v in quality.items()})
        cached = [e for e in CALLS if "cache" in e]
        self.assertValues(d, "Cache hit rate by model", {
            m: sum(e["cache"] == "hit" for e in cached if e["model"] == m)
            / sum(1 for e in cached if e["model"] == m) for m in {e["model"] for e in cached}})
        self.assertValues(d, "Tokens per minute by model and direction", {
            f"{m} {direction}": self.rate(v) * 60
            for direction, field in (("input", "input_tokens"), ("output", "output_tokens"))
            for m, v in group(lambda e: e["model"], lambda e: e.get(field, 0)).items()})
        self.assertValues(d, "Spend rate by model", {
            m: self.rate(c) * 3600 for m, c in group(lambda e: e["model"], cost_of).items()})
        # model:llm_requests:rate5m has a window of its own: check the shares.
        got = self.values(d, "Request rate by model")
        for m in models:
            self.assertClose(got[m] / sum(got.values()), by_model[m] / len(CALLS), m)

    def test_overview_workflows_agents_and_tools(self):
        d = "llm-overview.json"
        runs = {}
        for name, _, seconds in WORKFLOWS:
            runs.setdefault(name, []).append(seconds)
        self.assertValues(d, "p95 workflow duration by workflow", {
            name: bucket_quantile(0.95, seconds, WORKFLOW_BUCKETS)
            for name, seconds in runs.items()})
        self.assertValues(d, "Workflow runs by status", {
            status: self.rate(n) for status, n in group(
                lambda w: w[1], lambda w: 1, WORKFLOWS).items()})
        self.assertValues(d, "Agent invocations by agent and status", {
            f"{name} {status}": self.rate(n) for (name, status), n in group(
                lambda a: a, lambda a: 1, AGENTS).items()})
        calls = group(lambda t: t[0], lambda t: 1, TOOLS)
        errors = group(lambda t: t[0], lambda t: t[1] == "error", TOOLS)
        self.assertValues(d, "Tool calls by tool", {t: self.rate(n) for t, n in calls.items()})
        self.assertValues(d, "Tool error ratio by tool", {t: errors[t] / calls[t] for t in calls})
        # For the record: a workflow run that failed, and a tool with none.
        self.assertIn(("rag_pipeline", "error", 45.0), WORKFLOWS)
        self.assertEqual(errors["llm_call"], 0)

    # ---- generation speed, token kinds, calls without usage
    def test_the_batch_covers_the_new_families(self):
        # Not a check of the agent: of the batch, so that the checks below cannot pass vacuously.
        for e in CALLS:
            self.assertLessEqual(e.get("cached_input_tokens", 0)
                                 + e.get("cache_write_input_tokens", 0), tokens_in(e), e)
            self.assertLessEqual(e.get("reasoning_tokens", 0), tokens_out(e), e)
        tpots = [tpot(e) for e in CALLS if tpot(e) is not None]
        speeds = [tokens_per_second(e) for e in CALLS if tokens_per_second(e) is not None]
        # Several buckets each, and no observation within 0.1% of a bound, where the agent's
        # float arithmetic and Python's could disagree on the bucket.
        for values, bounds in ((tpots, TPOT_BUCKETS), (speeds, TOKENS_PER_SECOND_BUCKETS)):
            self.assertGreaterEqual(len({sum(v > b for b in bounds) for v in values}), 5)
            for v in values:
                self.assertTrue(all(abs(v - b) > b * 1e-3 for b in bounds), (v, bounds))
        self.assertTrue(any("ttft" not in e and tokens_per_second(e) for e in CALLS))
        self.assertTrue(any("ttft" in e and tokens_out(e) == 1 for e in CALLS))
        for field in TOKEN_KINDS.values():
            self.assertTrue(any(e.get(field) for e in CALLS), field)
        self.assertTrue(any("cache_write_input_tokens" in e and e["model"] in CACHE_PRICES
                            and "cache_write_input" not in CACHE_PRICES[e["model"]]
                            for e in CALLS), "a cache write at the input rate")
        self.assertTrue(any("cache_write_input" in CACHE_PRICES.get(e["model"], {})
                            and e.get("cache_write_input_tokens") for e in CALLS))

    def test_overview_generation_speed(self):
        d = "llm-overview.json"
        for title, observe, bounds in (
                ("TPOT p50 and p95 by model", tpot, TPOT_BUCKETS),
                ("Output tokens/s p50 and p95 by model", tokens_per_second,
                 TOKENS_PER_SECOND_BUCKETS)):
            observed = {}
            for e in CALLS:
                if observe(e) is not None:
                    observed.setdefault(e["model"], []).append(observe(e))
            for ref, q in (("A", 0.5), ("B", 0.95)):
                with self.subTest(panel=title, quantile=q):
                    self.assertValues(d, title, {
                        f"{m} p{round(q * 100)}": bucket_quantile(q, v, bounds)
                        for m, v in observed.items()}, ref=ref)

    def test_cost_token_kinds_and_calls_without_usage(self):
        d = "llm-cost.json"
        models = {e["model"] for e in CALLS}
        # Every model's series has all three kinds, at 0 where the calls had none.
        self.assertValues(d, "Cached, cache-write and reasoning tokens per minute by model", {
            f"{m} {kind}": self.rate(sum(e.get(field, 0) for e in CALLS if e["model"] == m)) * 60
            for m in models for kind, field in TOKEN_KINDS.items()})
        transport = {id(e): "http" for e in EVENT_CALLS + USAGE_CALLS}
        transport.update({id(e): "otlp" for e in SPAN_CALLS})
        self.assertValues(d, "Calls without token counts", {
            f"model={m},transport={t}": self.increase(n) for (m, t), n in group(
                lambda e: (e["model"], transport[id(e)]), lambda e: not usage_known(e)).items()
            if n})

    # ---- llm-cost
    def test_cost_values(self):
        d = "llm-cost.json"
        cost = total(cost_of(e) for e in CALLS)
        tokens = sum(tokens_in(e) + tokens_out(e) for e in CALLS)
        by_model = group(lambda e: e["model"], cost_of)
        calls_model = group(lambda e: e["model"], lambda e: 1)
        tokens_model = group(lambda e: e["model"], lambda e: tokens_in(e) + tokens_out(e))
        by_team = group(lambda e: e["team_id"], cost_of)
        by_user = group(lambda e: (e["user_id"], e["team_id"]), cost_of)
        self.assertValues(d, "Spend in the time range", {"spend": self.increase(cost)})
        self.assertValues(d, "Spend projected over 30 days",
                          {"projected": self.rate(cost) * 86400 * 30})
        self.assertValues(d, "Cost per request", {"per call": cost / len(CALLS)})
        self.assertValues(d, "Cost per 1K tokens", {"per 1K tokens": cost / tokens * 1000})
        self.assertValues(d, "Spend by team", {t: self.increase(c) for t, c in by_team.items()})
        self.assertValues(d, "Top users by cost", {
            f"{u} ({t})": self.increase(c) for (u, t), c in by_user.items()})
        top = self.panel(d, "Top users by cost")[3]["data"]["result"]
        self.assertEqual(len(top), len(by_user))
        budgets = {t: b["daily_usd"] for t, b in BUDGETS["teams"].items()}
        self.assertValues(d, "Daily budget used by team",
                          {t: self.increase(c) / budgets[t] for t, c in by_team.items()})
        self.assertValues(d, "Cost per request by model",
                          {m: by_model[m] / calls_model[m] for m in by_model})
        self.assertValues(d, "Cost per 1K tokens by model",
                          {m: by_model[m] / tokens_model[m] * 1000 for m in by_model})
        self.assertValues(d, "Input/output token split", {
            "input": self.increase(sum(tokens_in(e) for e in CALLS)),
            "output": self.increase(sum(tokens_out(e) for e in CALLS))})
        self.assertValues(d, "Calls priced with the fallback price", {
            "model=llama-3-70b": self.increase(1)})
        got = {(r["metric"]["team_id"], r["metric"]["period"]): float(r["value"][1])
               for r in self.panel(d, "Team budgets")[3]["data"]["result"]}
        self.assertEqual(got, {(t, p): b[f"{p}_usd"] for t, b in BUDGETS["teams"].items()
                               for p in ("daily", "monthly")})
        # Recording rules with windows of their own: check the shares.
        for title, want in (("Spend rate by model (per hour)", by_model),
                            ("Hourly spend by team", by_team)):
            got = self.values(d, title)
            self.assertEqual(set(got), set(want), title)
            for k in want:
                self.assertClose(got[k] / sum(got.values()), want[k] / cost, f"{title} {k}")

    # ---- docs/recipes.md
    def recipe_checks(self):
        """{recipe id: {legend: value}}: what each recipe of docs/recipes.md must return at T,
        from the known batch; the legend is the answer's labels, `label=value,...`."""
        models = group(lambda e: e["model"], lambda e: 1)
        cost_model = group(lambda e: e["model"], cost_of)
        cost_user = group(lambda e: e["user_id"], cost_of)
        cost_team = group(lambda e: e["team_id"], cost_of)
        cost_team_user = group(lambda e: (e["team_id"], e["user_id"]), cost_of)
        latencies = {m: [e["latency"] for e in CALLS if e["model"] == m] for m in models}
        cached = [e for e in CALLS if "cache" in e]
        hits = group(lambda e: e["model"], lambda e: e["cache"] == "hit", cached)
        lookups = group(lambda e: e["model"], lambda e: 1, cached)
        by = lambda label, values: {f"{label}={k}": v for k, v in values.items()}  # noqa: E731
        top = sorted(cost_user.items(), key=lambda kv: -kv[1])[:10]
        top_in_team = {}
        for (t, u), c in sorted(cost_team_user.items(), key=lambda kv: -kv[1]):
            if sum(k[0] == t for k in top_in_team) < 3:
                top_in_team[(t, u)] = c
        checks = {
            "cost-by-user": by("user_id", {u: self.increase(c) for u, c in cost_user.items()}),
            # Counter values at T minus at T - window: no extrapolation.
            "cost-by-user-exact": by("user_id", cost_user),
            "latency-mean-by-model": by("model", {
                m: total(v) / len(v) for m, v in latencies.items()}),
            "cost-total": {"value": self.increase(total(cost_model.values()))},
            "cost-by-model": by("model", {m: self.increase(c) for m, c in cost_model.items()}),
            # $__interval is the window too: one step's bar is the known batch's spend.
            "cost-over-time": by("model", {m: self.increase(c) for m, c in cost_model.items()}),
            "cost-per-request-by-model": by("model", {
                m: cost_model[m] / n for m, n in models.items()}),
            "cache-hit-rate-by-model": by("model", {m: hits[m] / lookups[m] for m in lookups}),
            "cache-hits-by-model": by("model", {m: self.increase(hits[m]) for m in lookups}),
            # hits x cost / (calls - hits): a model whose every call was a hit has no row.
            "cache-savings-estimate": by("model", {
                m: self.increase(hits[m] * cost_model[m] / (models[m] - hits[m]))
                for m in lookups if models[m] > hits[m]}),
            "top-users": by("user_id", {u: self.increase(c) for u, c in top}),
            "top-users-per-team": {f"team_id={t},user_id={u}": self.increase(c)
                                   for (t, u), c in top_in_team.items()},
            "cost-by-team": by("team_id", {t: self.increase(c) for t, c in cost_team.items()}),
            "active-users": {"value": sum(c > 0 for c in cost_user.values())},
        }
        for q in (0.5, 0.95, 0.99):
            checks[f"latency-p{round(q * 100)}-by-model"] = by("model", {
                m: bucket_quantile(q, v, LATENCY_BUCKETS) for m, v in latencies.items()})
        for rid, q, observe, bounds in (
                ("tpot-p95-by-model", 0.95, tpot, TPOT_BUCKETS),
                ("output-tokens-per-second-p50-by-model", 0.5, tokens_per_second,
                 TOKENS_PER_SECOND_BUCKETS)):
            observed = {}
            for e in CALLS:
                if observe(e) is not None:
                    observed.setdefault(e["model"], []).append(observe(e))
            checks[rid] = by("model", {m: bucket_quantile(q, v, bounds)
                                       for m, v in observed.items()})
        checks["tokens-by-kind"] = {
            f"kind={kind},model={m}": self.increase(
                sum(e.get(field, 0) for e in CALLS if e["model"] == m))
            for m in models for kind, field in TOKEN_KINDS.items()}
        transports = dict.fromkeys(map(id, EVENT_CALLS + USAGE_CALLS), "http")
        transports.update(dict.fromkeys(map(id, SPAN_CALLS), "otlp"))
        checks["calls-without-usage"] = {
            f"model={m},transport={t}": self.increase(n) for (m, t), n in group(
                lambda e: (e["model"], transports[id(e)]), lambda e: not usage_known(e)).items()
            if n}
        return checks

    def test_recipes_each_have_a_marker_and_a_check(self):
        ids = [rid for rid, _ in self.recipes]
        self.assertEqual(len(ids), self.recipe_blocks,
                         f"{RECIPES}: a ```promql block without <!-- recipe: ID --> before it")
        self.assertEqual(len(ids), len(set(ids)), f"recipe ids used twice: {ids}")
        self.assertEqual(set(ids), set(self.recipe_checks()),
                         "every recipe has a check below, and every check a recipe")

    def test_recipes_return_what_the_events_imply(self):
        checks = self.recipe_checks()
        for rid, (expr, answer) in self.recipe_answers.items():
            with self.subTest(recipe=rid):
                self.assertIn(rid, checks, f"no check for recipe {rid}")
                self.assertEqual(answer["status"], "success", f"{expr}: {answer}")
                got, want = series(answer, None), checks[rid]
                self.assertEqual(set(got), set(want), f"{rid}: {got}")
                for k, v in want.items():
                    self.assertClose(got[k], v, f"{rid} / {k}")

    def test_recipes_as_range_queries(self):
        # The same window as every step's range: each step is a valid Grafana time series point.
        for rid, (expr, _) in self.recipe_answers.items():
            with self.subTest(recipe=rid):
                ranged = self.prom.api("query_range", query=expr,
                                       start=f"{self.at - self.seconds:.3f}",
                                       end=f"{self.at:.3f}", step="1")
                self.assertEqual(ranged["status"], "success", f"{expr}: {ranged}")
                self.assertTrue(ranged["data"]["result"], f"range data: {expr}")

    def test_recipes_topk_keeps_the_biggest_spenders(self):
        # With 4 users and 2 teams, k = 10 and k = 3 keep everyone: k = 1 shows the ranking.
        cost_user = group(lambda e: e["user_id"], cost_of)
        cost_team_user = group(lambda e: (e["team_id"], e["user_id"]), cost_of)
        queries = dict(self.recipe_answers)
        u = max(cost_user, key=cost_user.get)
        per_team = {t: max((k for k in cost_team_user if k[0] == t), key=cost_team_user.get)
                    for t, _ in cost_team_user}
        for rid, want in (("top-users", {f"user_id={u}": self.increase(cost_user[u])}),
                          ("top-users-per-team", {
                              f"team_id={t},user_id={tu}": self.increase(cost_team_user[(t, tu)])
                              for t, (_, tu) in per_team.items()})):
            with self.subTest(recipe=rid):
                answer = self.prom.query(with_topk(queries[rid][0], 1), self.at)
                got = series(answer, None)
                self.assertEqual(set(got), set(want), f"{rid}: {got}")
                for k, v in want.items():
                    self.assertClose(got[k], v, f"{rid} / {k}")

    # ---- llm-exporter
    def test_exporter_values(self):
        d = "llm-exporter.json"
        self.assertValues(d, "Agents up", {"up": 1})
        self.assertValues(d, "Price table models", {"models": len(PRICES)})
        self.assertValues(d, "Last price reload", {"reload": 1})
        self.assertValues(d, "Last budgets reload", {"reload": 1})
        uptime = self.values(d, "Uptime (youngest agent)")["uptime"]
        self.assertGreater(uptime, self.seconds)
        self.assertLess(uptime, 120)
        self.assertValues(d, "Events in by transport", {
            "http": self.rate(len(BATCH)), "unix": 0, "unixgram": 0, "udp": 0})
        rejected = self.values(d, "Rejected events by reason")
        self.assertClose(rejected.pop("missing_field"), self.rate(1), "missing_field")
        self.assertEqual(set(rejected.values()), {0.0}, rejected)
        self.assertValues(d, "Rejected share", {"rejected": 1 / len(BATCH)})
        families = self.values(d, "Series per family")
        instance = f"127.0.0.1:{self.agent.port}"
        self.assertEqual(families.get(f"{instance} requests"),
                         len({(e["model"], e["endpoint"], e["status"]) for e in CALLS}), families)
        self.assertEqual(families.get(f"{instance} cost"),
                         len({(e["model"], e["user_id"], e["team_id"]) for e in CALLS}), families)
        self.assertEqual(families.get(f"{instance} quality"),
                         len({(m, ev) for m, ev, _ in SCORES}), families)
        for family, spans in (("workflow", WORKFLOWS), ("agent", AGENTS), ("tool", TOOLS)):
            self.assertEqual(families.get(f"{instance} {family}"),
                             len({(s[0], s[1]) for s in spans}), families)
        self.assertEqual({k.split(" ", 1)[1] for k in families}, FAMILIES, families)
        overflow = self.values(d, "Events folded into overflow series")
        self.assertEqual(set(overflow), FAMILIES, overflow)
        self.assertEqual(set(overflow.values()), {0.0}, overflow)
        for title in ("Resident memory", "Scrape size", "Samples per scrape"):
            self.assertTrue(all(v > 0 for v in self.values(d, title).values()), title)

    # ---- rules
    def test_every_rule_is_loaded_healthy_and_parses(self):
        expected = {}
        for path in RULE_FILES:
            with open(path, encoding="utf-8") as f:
                text = f.read()
            expected.update({n: "recording" for n in re.findall(r"- record:\s*(\S+)", text)})
            expected.update({n: "alerting" for n in re.findall(r"- alert:\s*(\S+)", text)})

        def healthy():
            rules = [r for g in self.prom.api("rules")["data"]["groups"] for r in g["rules"]]
            return rules if all(r["health"] == "ok" for r in rules) else None
        rules = wait_until(healthy, timeout=10, what="every rule evaluated without error")
        self.assertEqual({r["name"]: r["type"] for r in rules}, expected)
        for r in rules:
            with self.subTest(rule=r["name"]):
                self.assertEqual(r.get("lastError", ""), "")
                answer = self.prom.query(r["query"], self.at)
                self.assertEqual(answer["status"], "success", answer)
                if r["type"] == "recording" and not is_proxy_query(r["query"]):
                    recorded = self.prom.query(r["name"], self.at)
                    self.assertTrue(recorded["data"]["result"], f"{r['name']}: data")

    def test_recorded_tool_call_rates(self):
        # tool_status:llm_tool_calls:rate5m has a window of its own: check the shares, which are
        # LLMToolErrorRateHigh's ratio.
        answer = self.prom.query("tool_status:llm_tool_calls:rate5m", self.at)
        got = {(r["metric"]["tool"], r["metric"]["status"]): float(r["value"][1])
               for r in answer["data"]["result"]}
        want = group(lambda t: t, lambda t: 1, TOOLS)
        self.assertEqual(set(got), set(want), got)
        for k in want:
            self.assertClose(got[k] / sum(got.values()), want[k] / len(TOOLS), str(k))

    def test_exactly_the_alerts_the_events_imply_are_pending(self):
        errors = {e["model"] for e in CALLS if e["status"] == "error"}
        slow = {m for m in {e["model"] for e in CALLS} if bucket_quantile(
            0.99, [e["latency"] for e in CALLS if e["model"] == m], LATENCY_BUCKETS) > 10}
        want = {("LLMHighErrorRate", m) for m in errors}
        want |= {("LLMHighLatencyP99", m) for m in slow}
        want |= {("LLMExporterEventsRejected", "missing_field"),
                 ("LLMExporterUnpricedModel", "llama-3-70b"),
                 # support's daily budget is $0.015, under the known batch's spend of support
                 # (the 24h increase sees the known batch only, extrapolated a little upwards);
                 # search's $50 is far above its spend.
                 ("LLMTeamDailyBudgetExceeded", "support")}
        spend = group(lambda e: e["team_id"], cost_of)
        self.assertGreater(spend["support"], BUDGETS["teams"]["support"]["daily_usd"])
        self.assertLess(spend["search"] * 2, BUDGETS["teams"]["search"]["daily_usd"])
        # Calls without token counts: one over JSON (http), one over OTLP.
        want |= {("LLMCallsWithoutUsage", e["model"]) for e in CALLS if not usage_known(e)}
        self.assertEqual(len({e["model"] for e in CALLS if not usage_known(e)}), 2)
        # Over 20% of a tool's calls failed, and at least 20 calls in 5 minutes: the known batch's
        # increase over 5m, extrapolated upwards as every increase here, is at least its count.
        tools = {t for t, _ in TOOLS}
        want |= {("LLMToolErrorRateHigh", t) for t in tools
                 if sum(c == (t, "error") for c in TOOLS) / sum(c[0] == t for c in TOOLS) > 0.2
                 and sum(c[0] == t for c in TOOLS) >= 20}
        self.assertIn(("LLMToolErrorRateHigh", "web_search"), want)
        key = {"LLMHighErrorRate": "model", "LLMHighLatencyP99": "model",
               "LLMExporterEventsRejected": "reason", "LLMExporterUnpricedModel": "model",
               "LLMTeamDailyBudgetExceeded": "team_id", "LLMToolErrorRateHigh": "tool",
               "LLMCallsWithoutUsage": "model"}

        def pending():
            alerts = self.prom.api("alerts")["data"]["alerts"]
            got = {(a["labels"]["alertname"], a["labels"].get(key.get(a["labels"]["alertname"]),
                                                              "")) for a in alerts}
            return got if got == want else None
        try:
            wait_until(pending, timeout=10, what="the expected pending alerts")
        except TimeoutError:
            alerts = self.prom.api("alerts")["data"]["alerts"]
            self.fail(f"pending alerts: {[a['labels'] for a in alerts]}, want {sorted(want)}")
        states = {a["state"] for a in self.prom.api("alerts")["data"]["alerts"]}
        self.assertEqual(states, {"pending"}, "every alert waits for its `for:`")

    # ---- the record
    def test_zz_report_every_panel_value(self):
        lines = [f"end-to-end at T={self.at:.3f}, window {self.window}, "
                 f"extrapolation factor {self.factor:.6f}"]
        for (name, title, ref), (panel, target, expr, answer) in self.answers.items():
            values = series(answer, target.get("legendFormat")) if answer["status"] == "success" \
                else {"error": answer.get("error")}
            shown = "; ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}"
                              for k, v in sorted(values.items()))
            lines.append(f"{name} | {title} [{ref}] | {shown}")
        for rid, (expr, answer) in self.recipe_answers.items():
            values = series(answer, None) if answer["status"] == "success" \
                else {"error": answer.get("error")}
            shown = "; ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}"
                              for k, v in sorted(values.items()))
            lines.append(f"recipes.md | {rid} | {shown}")
        text = "\n".join(lines) + "\n"
        sys.stdout.write(text)
        path = os.environ.get("LLM_EXPORTER_E2E_REPORT")
        if path:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)


if __name__ == "__main__":
    unittest.main()
