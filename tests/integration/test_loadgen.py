"""Correctness smoke test of the load generator (bench/loadgen), not a speed test: runs the real
llm_exporter_loadgen with small counts against the real agent, once per transport the agent has
(OTLP/HTTP and OTLP/gRPC spans among them), and checks that its "all N events visible" verdict is
true: every total on /metrics must equal what the events it sent (written out with
--dump-events) imply under the default price table. In remote-write mode it feeds Debian's
Prometheus instead, which must hold every sample the load generator counts as accepted.

    LLM_EXPORTER_BIN=build/llm_exporter python3 tests/integration/test_loadgen.py

The load generator is found through $LLM_EXPORTER_LOADGEN, else next to the agent binary.
"""
import collections
import json
import math
import os
import re
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402
from harness import Agent  # noqa: E402
from test_prometheus_e2e import PROMETHEUS, Prometheus  # noqa: E402

LOADGEN = os.environ.get("LLM_EXPORTER_LOADGEN",
                         os.path.join(os.path.dirname(harness.BINARY), "llm_exporter_loadgen"))
BASELINE = os.path.join(os.path.dirname(LOADGEN), "llm_exporter_baseline")

# The load generator is built with LLM_EXPORTER_BUILD_BENCH=ON only (not in the sanitizer builds).
needs_loadgen = unittest.skipUnless(
    os.access(harness.BINARY, os.X_OK) and os.access(LOADGEN, os.X_OK),
    f"needs {harness.BINARY} and {LOADGEN} (configure with -DLLM_EXPORTER_BUILD_BENCH=ON)")


def agent_flags():
    """The flags the agent binary knows, from its --help."""
    if not os.access(harness.BINARY, os.X_OK):
        return ""
    return subprocess.run([harness.BINARY, "--help"], capture_output=True, text=True,
                          timeout=10).stdout


HELP = agent_flags()
HAS_UNIX = re.search(r"--ingest\.listen-unix(?![a-z-])", HELP) is not None
HAS_UNIXGRAM = re.search(r"--ingest\.listen-unixgram(?![a-z-])", HELP) is not None
needs_unix = unittest.skipUnless(HAS_UNIX, "the agent has no --ingest.listen-unix yet")
needs_unixgram = unittest.skipUnless(HAS_UNIXGRAM, "the agent has no --ingest.listen-unixgram yet")
HAS_OTLP_GRPC = "--otlp.grpc-listen-address" in HELP
needs_otlp = unittest.skipUnless(HAS_OTLP_GRPC, "the agent has no OTLP transports yet")

PICO = 10**12
# The default price table, in pico-dollars per 1,000 tokens: (input, output).
PRICES = {
    "gpt-4o": (2_500_000_000, 10_000_000_000),
    "gpt-4o-mini": (150_000_000, 600_000_000),
    "claude-sonnet-4-20250514": (3_000_000_000, 15_000_000_000),
}
FALLBACK = (10_000_000_000, 30_000_000_000)


def llround(x):
    """C's llround for the non-negative values used here: halves away from zero."""
    return int(math.floor(x + 0.5))


class Expected:
    """The totals a list of events implies, keyed like harness.Metrics samples."""

    def __init__(self, events):
        self.events = len(events)
        self.requests = collections.Counter()
        self.tokens = collections.Counter()
        self.cost_pico = collections.Counter()
        self.durations = collections.Counter()
        self.ttfts = collections.Counter()
        self.quality = collections.Counter()
        self.hits = collections.Counter()
        self.misses = collections.Counter()
        self.cache_models = set()
        self.fallback = collections.Counter()
        for e in events:
            model = e["model"]
            if e.get("type") == "quality":
                self.quality[(model, e["evaluator"])] += 1
                continue
            self.requests[(model, e["endpoint"], e["status"])] += 1
            self.tokens[(model, "input")] += e["input_tokens"]
            self.tokens[(model, "output")] += e["output_tokens"]
            self.durations[(model, e["endpoint"])] += 1
            if "ttft" in e:
                self.ttfts[model] += 1
            if e.get("cache") in ("hit", "miss"):
                self.cache_models.add(model)
                (self.hits if e["cache"] == "hit" else self.misses)[model] += 1
            if "cost_usd" in e:  # a caller-given cost wins, and is not a fallback pricing
                cost = llround(e["cost_usd"] * 1e12)
            else:
                rate_in, rate_out = PRICES.get(model, FALLBACK)
                if model not in PRICES:
                    self.fallback[model] += 1
                # Cached tokens cost the input rate: the default table lists no cached rates.
                cost = (e["input_tokens"] * rate_in + e["output_tokens"] * rate_out + 500) // 1000
            self.cost_pico[(model, e["user_id"], e["team_id"])] += cost


@needs_loadgen
class LoadgenTest(unittest.TestCase):
    maxDiff = None

    def run_loadgen(self, agent, *args, expect_ok=True):
        """Runs the load generator against `agent`; returns (stdout, dumped events)."""
        dump = os.path.join(agent.tmp.name, "events.ndjson")
        cmd = [LOADGEN, f"--address=127.0.0.1:{agent.port}", f"--agent-pid={agent.proc.pid}",
               "--timeout=30", f"--dump-events={dump}", *args]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if expect_ok:
            self.assertEqual(done.returncode, 0,
                             f"{' '.join(cmd)}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}")
        with open(dump, encoding="utf-8") as f:
            events = [json.loads(line) for line in f]
        return done, events

    def assertTotals(self, metrics, expected, transport):
        """Every LLM family's exact totals, and the agent's own event counters."""
        self.assertLlmTotals(metrics, expected)
        self.assertEqual(metrics.value("llm_exporter_events_accepted_total", transport=transport),
                         float(expected.events))
        self.assertEqual(metrics.sum("llm_exporter_events_rejected_total"), 0.0)

    def assertLlmTotals(self, metrics, expected):
        """Every LLM family's exact totals."""
        def by(name, *label_names):
            out = {}
            for labels in metrics.series(name):
                key = tuple(labels[n] for n in label_names)
                out[key if len(key) > 1 else key[0]] = metrics.value(name, **labels)
            return out

        self.assertEqual(by("llm_requests_total", "model", "endpoint", "status"),
                         {k: float(v) for k, v in expected.requests.items()})
        self.assertEqual(by("llm_tokens_total", "model", "direction"),
                         {k: float(v) for k, v in expected.tokens.items()})
        self.assertEqual(by("llm_cost_usd_total", "model", "user_id", "team_id"),
                         {k: float(v) / PICO for k, v in expected.cost_pico.items()})
        self.assertEqual(by("llm_request_duration_seconds_count", "model", "endpoint"),
                         {k: float(v) for k, v in expected.durations.items()})
        self.assertEqual(by("llm_ttft_seconds_count", "model"),
                         {k: float(v) for k, v in expected.ttfts.items()})
        self.assertEqual(by("llm_quality_score_count", "model", "evaluator"),
                         {k: float(v) for k, v in expected.quality.items()})
        self.assertEqual(by("llm_cache_hits_total", "model"),
                         {m: float(expected.hits[m]) for m in expected.cache_models})
        self.assertEqual(by("llm_cache_misses_total", "model"),
                         {m: float(expected.misses[m]) for m in expected.cache_models})
        self.assertEqual(by("llm_exporter_fallback_priced_events_total", "model"),
                         {k: float(v) for k, v in expected.fallback.items()})

    def run_mode(self, transport, events, loadgen_args, agent_args=(), socket_flag=None):
        """One fresh agent, one loadgen run of `events` events, every total checked."""
        agent = Agent(agent_args)
        socket_path = None
        if socket_flag:
            socket_path = os.path.join(agent.tmp.name, "in.sock")
            agent.args.append(f"--{socket_flag}={socket_path}")
        with agent:
            extra = [f"--{transport}={socket_path}"] if socket_path else []
            done, sent = self.run_loadgen(agent, f"--events={events}", *loadgen_args, *extra)
            self.assertEqual(len(sent), events)
            self.assertIn(f"all {events} events visible in /metrics", done.stdout)
            self.assertTotals(agent.scrape(), Expected(sent),
                              "http" if transport == "http" else transport)

    # A small pool and few users make the runs wrap around the pool and repeat series.
    COMMON = ("--pool=64", "--users=7")

    def test_http_json_array_batches(self):
        self.run_mode("http", 2000, ["--mode=http", "--batch=100", "--connections=2", *self.COMMON])

    def test_http_ndjson_batches_with_a_partial_last_batch(self):
        self.run_mode("http", 1030, ["--mode=http", "--batch=50", "--format=ndjson", *self.COMMON])

    def test_http_one_event_per_post_keep_alive(self):
        self.run_mode("http", 300, ["--mode=http", "--batch=1", "--connections=4",
                                    "--tcp-quickack", *self.COMMON])

    def test_http_beside_the_baseline_server(self):
        """--baseline sends the same load to the bare civetweb + simdjson server after the agent:
        the agent's totals are still exact, every baseline answer accepted every event, and the
        share printed is the agent's rate over the baseline's."""
        agent = Agent()
        with agent:
            done, sent = self.run_loadgen(agent, "--events=3000", "--mode=http", "--batch=100",
                                          "--format=ndjson", "--connections=2",
                                          f"--baseline={BASELINE}", *self.COMMON)
            self.assertTotals(agent.scrape(), Expected(sent), "http")
        self.assertRegex(done.stdout, r"baseline: 3000 events in [0-9.]+ s: [0-9]+ events/s")
        result = re.search(r"^RESULT .* events_per_s=(\d+) baseline_per_s=(\d+) share=([0-9.]+)$",
                           done.stdout, re.M)
        self.assertIsNotNone(result, done.stdout)
        rate, baseline, share = int(result[1]), int(result[2]), float(result[3])
        self.assertGreater(baseline, 0)
        self.assertAlmostEqual(share, rate / baseline, delta=0.0006)
        # Nothing is left running: the baseline server was stopped and reaped.
        self.assertNotIn(BASELINE, subprocess.run(["ps", "-eo", "args"], capture_output=True,
                                                  text=True).stdout)

    def test_baseline_needs_http_mode(self):
        done = subprocess.run([LOADGEN, "--mode=unix", "--unix=/nonexistent",
                               f"--baseline={BASELINE}"], capture_output=True, text=True,
                              timeout=30)
        self.assertEqual(done.returncode, 2)
        self.assertIn("--baseline needs --mode=http", done.stderr)

    @needs_unix
    def test_unix_stream_ndjson(self):
        self.run_mode("unix", 5000, ["--mode=unix", "--connections=2", *self.COMMON],
                      socket_flag="ingest.listen-unix")

    @needs_unixgram
    def test_unixgram_one_event_per_datagram(self):
        self.run_mode("unixgram", 1000, ["--mode=unixgram", "--batch=1", "--connections=2",
                                         *self.COMMON], socket_flag="ingest.listen-unixgram")

    @needs_unixgram
    def test_unixgram_ndjson_batch_per_datagram(self):
        self.run_mode("unixgram", 1000, ["--mode=unixgram", "--batch=20", *self.COMMON],
                      socket_flag="ingest.listen-unixgram")

    def run_otlp_mode(self, mode, spans, loadgen_args, agent_args=()):
        """One fresh agent counting spans at once (--otlp.span-hold=0), one loadgen run of
        `spans` spans; every LLM total and span counter checked."""
        agent_args = ["--otlp.span-hold=0", *agent_args]
        extra = []
        if mode == "otlp-grpc":
            grpc_port = harness.free_port()
            agent_args.append(f"--otlp.grpc-listen-address=127.0.0.1:{grpc_port}")
            extra.append(f"--grpc-address=127.0.0.1:{grpc_port}")
        with Agent(agent_args) as agent:
            done, sent = self.run_loadgen(agent, f"--mode={mode}", f"--events={spans}",
                                          *loadgen_args, *extra)
            self.assertEqual(len(sent), spans)
            self.assertIn(f"all {spans} spans visible in /metrics", done.stdout)
            metrics = agent.scrape()
            transport = "grpc" if mode == "otlp-grpc" else "http"
            self.assertEqual(metrics.value("llm_exporter_otlp_spans_received_total",
                                           transport=transport, kind="llm_call"), float(spans))
            self.assertEqual(metrics.sum("llm_exporter_otlp_spans_received_total"), float(spans))
            self.assertEqual(metrics.sum("llm_exporter_otlp_spans_rejected_total"), 0.0)
            self.assertEqual(metrics.sum("llm_exporter_otlp_nested_calls_total"), 0.0)
            self.assertEqual(metrics.sum("llm_exporter_events_rejected_total"), 0.0)
            # Spans carry every field of a call but its cache outcome, and no quality scores.
            self.assertFalse([e for e in sent if e.get("type") == "quality"])
            for e in sent:
                e.pop("cache", None)
            self.assertLlmTotals(metrics, Expected(sent))

    @needs_otlp
    def test_otlp_http_protobuf_with_a_partial_last_batch(self):
        self.run_otlp_mode("otlp-http", 2100, ["--connections=2", *self.COMMON])

    @needs_otlp
    def test_otlp_grpc(self):
        self.run_otlp_mode("otlp-grpc", 2048, ["--batch=256", "--connections=2", *self.COMMON])

    @needs_otlp
    def test_reports_failure_when_the_agent_refuses_spans(self):
        # Labels longer than 5 bytes are refused span by span: the export answer's partial_success
        # says so, and the load generator must stop and fail.
        with Agent(["--otlp.span-hold=0", "--ingest.max-label-bytes=5"]) as agent:
            done, _ = self.run_loadgen(agent, "--mode=otlp-http", "--events=1024", *self.COMMON,
                                       expect_ok=False)
            self.assertNotEqual(done.returncode, 0, done.stdout)
            self.assertNotIn("spans visible in /metrics", done.stdout)
            self.assertIn("POST /v1/traces answered 200 with partial_success: 512 spans rejected",
                          done.stderr)

    def test_reports_failure_when_the_agent_refuses_events_over_http(self):
        # Labels longer than 5 bytes are refused: the HTTP answer says so, and the load
        # generator must stop and fail instead of claiming the events are visible.
        with Agent(["--ingest.max-label-bytes=5"]) as agent:
            done, _ = self.run_loadgen(agent, "--mode=http", "--events=200", "--batch=100",
                                       *self.COMMON, expect_ok=False)
            self.assertNotEqual(done.returncode, 0, done.stdout)
            self.assertNotIn("events visible in /metrics", done.stdout)
            self.assertIn("POST /v1/events answered 400", done.stderr)

    @needs_unix
    def test_reports_failure_when_the_agent_refuses_events_over_unix(self):
        # A stream has no answers: the refusal shows only on /metrics, as rejected events.
        agent = Agent(["--ingest.max-label-bytes=5"])
        socket_path = os.path.join(agent.tmp.name, "in.sock")
        agent.args.append(f"--ingest.listen-unix={socket_path}")
        with agent:
            done, _ = self.run_loadgen(agent, "--mode=unix", f"--unix={socket_path}",
                                       "--events=200", *self.COMMON, expect_ok=False)
            self.assertNotEqual(done.returncode, 0, done.stdout)
            self.assertIn("NOT all 200 events visible", done.stdout)

    def test_scrape_benchmark_fills_distinct_cost_series(self):
        with Agent(["--metrics.max-series-per-family=5000"]) as agent:
            cmd = [LOADGEN, "--mode=scrape", f"--address=127.0.0.1:{agent.port}",
                   f"--agent-pid={agent.proc.pid}", "--series=2000", "--batch=500", "--repeat=2"]
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
            self.assertIn("series=2000 (agent reports 2000 cost series)", done.stdout)
            self.assertIn("bytes of RSS per additional cost series", done.stdout)
            metrics = agent.scrape()
            self.assertEqual(len(metrics.series("llm_cost_usd_total")), 2000)
            self.assertEqual(metrics.sum("llm_requests_total"), 2000.0)

    @unittest.skipUnless(os.access(PROMETHEUS, os.X_OK), "needs prometheus (Debian package)")
    def test_remote_write_fleet_every_accepted_sample_is_stored(self):
        # Prometheus scrapes a port where nothing listens: its own `up` series have another
        # instance than the simulated agents'.
        with Prometheus("127.0.0.1:1", flags=["--web.enable-remote-write-receiver"],
                        rule_files=[]) as prom:
            cmd = [LOADGEN, "--mode=remote-write", f"--address={prom.url}/api/v1/write",
                   "--agents=3", "--series=500", "--interval=0.5", "--duration=2", "--batch=200",
                   f"--receiver-pid={prom.proc.pid}", "--timeout=30"]
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
            self.assertIn("3 agents x 500 series (50 llm_requests_total, 10 "
                          "llm_request_duration_seconds histograms = 100 samples, 350 "
                          "llm_cost_usd_total)", done.stdout)
            self.assertIn("failed:   none", done.stdout)
            self.assertIn("receiver: ", done.stdout)
            accepted = int(re.search(r"accepted: (\d+) samples", done.stdout).group(1))
            self.assertGreaterEqual(accepted, 3 * 500 * 2, done.stdout)  # a few rounds each

            def instant(expr):
                answer = prom.query(expr, time.time())
                self.assertEqual(answer["status"], "success", answer)
                return {tuple(sorted(r["metric"].items())): float(r["value"][1])
                        for r in answer["data"]["result"]}

            agents = 'instance=~"agent-.*"'
            self.assertEqual(instant(f'count by (instance, job) ({{{agents}}})'), {
                (("instance", f"agent-{i}:9464"), ("job", "llm_exporter")): 500.0
                for i in range(3)})
            # Family by family: count_over_time drops the name, which makes the families' series
            # collide.
            names = ["llm_requests_total", "llm_cost_usd_total",
                     "llm_request_duration_seconds_bucket", "llm_request_duration_seconds_sum",
                     "llm_request_duration_seconds_count"]
            stored = " + ".join(f"sum(count_over_time({n}{{{agents}}}[10m]))" for n in names)
            self.assertEqual(instant(stored), {(): float(accepted)})
            self.assertEqual(instant(f'count by (__name__) ({{instance="agent-0:9464"}})'), {
                (("__name__", "llm_requests_total"),): 50.0,
                (("__name__", "llm_cost_usd_total"),): 350.0,
                (("__name__", "llm_request_duration_seconds_bucket"),): 80.0,
                (("__name__", "llm_request_duration_seconds_sum"),): 10.0,
                (("__name__", "llm_request_duration_seconds_count"),): 10.0})
            # Cumulative buckets: +Inf equals _count in every histogram of every agent.
            self.assertEqual(instant(
                f'count(llm_request_duration_seconds_bucket{{le="+Inf", {agents}}} == '
                f'ignoring(le) llm_request_duration_seconds_count{{{agents}}})'), {(): 30.0})


if __name__ == "__main__":
    unittest.main(verbosity=2)
