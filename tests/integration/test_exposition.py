"""/metrics in every format: content negotiation, OpenMetrics with exemplars checked by
prometheus_client's OpenMetrics parser, gzip, hostile trace ids, and Debian's Prometheus 2.42
scraping the agent with exemplar storage and native histograms.

    LLM_EXPORTER_BIN=build/llm_exporter python3 tests/integration/test_exposition.py
"""
import gzip
import json
import math
import os
import random
import subprocess
import sys
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from harness import Agent, parse_metrics, wait_until  # noqa: E402
from test_prometheus_e2e import PROMETHEUS, Prometheus, dashboard_targets, substitute  # noqa: E402

try:
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
except ImportError:  # python3-prometheus-client; scripts/setup.sh installs it
    text_string_to_metric_families = None
    if os.environ.get("CI"):
        raise SystemExit("test_exposition: python3-prometheus-client is missing, and CI is set")

OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"
PROTOBUF = ("application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
            "encoding=delimited")
TEXT = "text/plain; version=0.0.4; charset=utf-8"
# What Prometheus 2.42 sends: without and with --enable-feature=native-histograms.
PROMETHEUS_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                     "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
PROMETHEUS_ACCEPT_PROTOBUF = ("application/vnd.google.protobuf;proto=io.prometheus.client."
                              "MetricFamily;encoding=delimited;q=0.8,application/openmetrics-text;"
                              "version=1.0.0;q=0.7")

LATENCY_BUCKETS = [0.1, 0.5, 1, 2, 5, 10, 30]


def trace(i):
    return f"{i:032x}"


def span_of(i):
    return f"{i:016x}"


def call(i, latency, model="gpt-4o", endpoint="chat", **extra):
    e = {"model": model, "endpoint": endpoint, "input_tokens": 100, "output_tokens": 10,
         "latency": latency, "trace_id": trace(i), "span_id": span_of(i)}
    e.update(extra)
    return e


def get(agent, accept=None, encoding=None):
    headers = {}
    if accept is not None:
        headers["Accept"] = accept
    if encoding is not None:
        headers["Accept-Encoding"] = encoding
    req = urllib.request.Request(agent.url + "/metrics", headers=headers)
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, dict(r.headers), r.read()


def without_scrape_stats(text):
    """A render minus the lines that describe the previous scrape itself."""
    return "\n".join(line for line in text.splitlines()
                     if "llm_exporter_last_scrape" not in line and "process_" not in line
                     and "llm_exporter_http_requests_total" not in line
                     and "llm_exporter_scrapes_total" not in line)


def panel_expr(dashboard, title):
    """The expression of the one target of a dashboard's panel."""
    exprs = [t["expr"] for name, p, t in dashboard_targets()
             if name == dashboard and p["title"] == title]
    assert len(exprs) == 1, (dashboard, title, exprs)
    return exprs[0]


def om_families(body):
    """Every family of an OpenMetrics body, as prometheus_client's strict parser reads it."""
    return {f.name: f for f in text_string_to_metric_families(body)}


class NegotiationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = Agent().__enter__()
        # Calls in the 0.5, 1.0 and +Inf buckets; the last of each bucket is its exemplar.
        events = [call(1, 0.3), call(2, 0.4), call(3, 0.8), call(4, 45.0, ttft=0.2),
                  call(5, 0.9, model="gpt-4o-mini")]
        r = cls.agent.post_events(json.dumps(events).encode())
        assert r.status == 200, r.body

    @classmethod
    def tearDownClass(cls):
        cls.agent.__exit__(None, None, None)

    def test_each_accept_header_gets_its_format(self):
        for accept, content_type in [
                (None, TEXT), ("text/plain", TEXT), ("*/*", TEXT), ("application/json", TEXT),
                ("text/plain;version=0.0.4", TEXT),
                ("application/openmetrics-text", OPENMETRICS),
                (PROMETHEUS_ACCEPT, OPENMETRICS),
                ("text/plain;q=0.9, application/openmetrics-text;q=0.5", TEXT),
                ("application/openmetrics-text;version=2.0.0, text/plain", TEXT),
                (PROMETHEUS_ACCEPT_PROTOBUF, PROTOBUF),
                ("application/vnd.google.protobuf", TEXT),  # without proto= and encoding=
        ]:
            with self.subTest(accept=accept):
                status, headers, body = get(self.agent, accept)
                self.assertEqual(status, 200)
                self.assertEqual(headers["Content-Type"], content_type)
                self.assertEqual(headers["Vary"], "Accept, Accept-Encoding")
                self.assertNotIn("Content-Encoding", headers)
                if content_type == OPENMETRICS:
                    self.assertTrue(body.endswith(b"# EOF\n"))

    @unittest.skipIf(text_string_to_metric_families is None,
                     "python3-prometheus-client is not installed")
    def test_openmetrics_parses_strictly_with_exemplars_and_created(self):
        _, _, body = get(self.agent, PROMETHEUS_ACCEPT)
        families = om_families(body.decode())
        durations = families["llm_request_duration_seconds"]
        self.assertEqual(durations.type, "histogram")
        self.assertEqual(durations.unit, "seconds")
        buckets = {(s.labels["model"], s.labels["le"]): s for s in durations.samples
                   if s.name.endswith("_bucket")}
        exemplar = buckets[("gpt-4o", "0.5")].exemplar
        self.assertEqual(exemplar.labels, {"trace_id": trace(2), "span_id": span_of(2)})
        self.assertEqual(exemplar.value, 0.4)
        self.assertEqual(buckets[("gpt-4o", "1.0")].exemplar.labels["trace_id"], trace(3))
        self.assertIsNone(buckets[("gpt-4o", "2.0")].exemplar)
        self.assertEqual(buckets[("gpt-4o", "+Inf")].exemplar.labels["trace_id"], trace(4))
        self.assertEqual(buckets[("gpt-4o", "+Inf")].value, 4)
        created = [s for s in durations.samples if s.name.endswith("_created")]
        self.assertEqual(len(created), 2)
        self.assertLess(abs(created[0].value - time.time()), 3600)

        requests = families["llm_requests"]
        self.assertEqual(requests.type, "counter")
        totals = {s.labels["model"]: s for s in requests.samples if s.name == "llm_requests_total"}
        self.assertEqual(totals["gpt-4o"].value, 4)
        self.assertEqual(totals["gpt-4o"].exemplar.labels["trace_id"], trace(4))
        self.assertEqual(totals["gpt-4o-mini"].exemplar.labels["trace_id"], trace(5))
        cost = families["llm_cost_usd"]
        self.assertEqual(cost.unit, "usd")
        self.assertEqual(
            [s.exemplar.labels["trace_id"] for s in cost.samples
             if s.name == "llm_cost_usd_total" and s.labels["model"] == "gpt-4o"], [trace(4)])
        ttft = families["llm_ttft_seconds"]
        self.assertEqual([s.exemplar.labels["trace_id"] for s in ttft.samples
                          if s.name == "llm_ttft_seconds_bucket" and s.labels["le"] == "0.25"],
                         [trace(4)])
        self.assertIn("llm_exporter_events_received", families)

    def test_every_format_has_the_same_samples(self):
        _, _, text = get(self.agent)
        _, _, om = get(self.agent, PROMETHEUS_ACCEPT)
        text_samples = parse_metrics(text.decode())
        om_lines = [line.split(" # ")[0] for line in om.decode().splitlines()
                    if line and not line.startswith("#") and "_created{" not in line
                    and not line.split("{")[0].split(" ")[0].endswith("_created")]
        om_samples = parse_metrics("\n".join(om_lines) + "\n")
        for key in ("llm_requests_total", "llm_tokens_total", "llm_cost_usd_total",
                    "llm_request_duration_seconds_bucket", "llm_request_duration_seconds_sum",
                    "llm_request_duration_seconds_count", "llm_ttft_seconds_bucket"):
            a = {k: v for k, v in text_samples.items() if k[0] == key}
            b = {k: v for k, v in om_samples.items() if k[0] == key}
            self.assertTrue(a, key)
            self.assertEqual(a, b, key)

    def test_gzip_when_asked(self):
        _, _, plain = get(self.agent, PROMETHEUS_ACCEPT)
        status, headers, body = get(self.agent, PROMETHEUS_ACCEPT, encoding="gzip")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Encoding"], "gzip")
        self.assertEqual(headers["Content-Type"], OPENMETRICS)
        self.assertEqual(int(headers["Content-Length"]), len(body))
        inflated = gzip.decompress(body).decode()
        self.assertEqual(without_scrape_stats(inflated), without_scrape_stats(plain.decode()))
        for encoding in ("identity", "gzip;q=0", "br", "gzip;q=0, *"):
            with self.subTest(encoding=encoding):
                _, headers, _ = get(self.agent, encoding=encoding)
                self.assertNotIn("Content-Encoding", headers)
        _, headers, _ = get(self.agent, encoding="*")
        self.assertEqual(headers["Content-Encoding"], "gzip")

    def test_promtool_checks_the_text_format(self):
        _, _, text = get(self.agent)
        promtool = os.path.join(os.path.dirname(PROMETHEUS), "promtool")
        out = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)


@unittest.skipIf(text_string_to_metric_families is None,
                 "python3-prometheus-client is not installed")
class HostileTraceIdsTest(unittest.TestCase):
    def test_unusable_ids_count_the_call_and_never_break_the_exposition(self):
        with Agent() as agent:
            good = call(1, 0.3)
            hostile = [
                dict(call(2, 0.3), trace_id="t" * 65),              # too long for an exemplar
                dict(call(3, 0.3), trace_id='a"b'),                 # a quote
                dict(call(4, 0.3), trace_id="a\nb"),                # a control character
                dict(call(5, 0.3), trace_id="caf\u00e9"),           # not ASCII
                dict(call(6, 0.3), trace_id="a b"),                 # a space
                dict(call(7, 0.3), trace_id=""),                    # empty
                dict(call(8, 0.3), span_id="s" * 33),               # span id too long: dropped
            ]
            r = agent.post_events(json.dumps([good] + hostile).encode())
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual(r.json()["accepted"], 8)
            # Past the decoder's 128-byte limit the event is refused, and only that one.
            r = agent.post_events(json.dumps([call(9, 0.3), dict(call(10, 0.3),
                                                                  trace_id="x" * 129)]).encode())
            self.assertEqual(r.json()["accepted"], 1)
            self.assertEqual(r.json()["rejected"], 1)
            _, _, body = get(agent, PROMETHEUS_ACCEPT)
            families = om_families(body.decode())  # raises on invalid OpenMetrics
            bucket = [s for s in families["llm_request_duration_seconds"].samples
                      if s.name.endswith("_bucket") and s.labels["le"] == "0.5"][0]
            self.assertEqual(bucket.value, 9)
            # The last usable one: call 9 (trace and span), after call 8 (trace only).
            self.assertEqual(bucket.exemplar.labels, {"trace_id": trace(9), "span_id": span_of(9)})
            # Invalid UTF-8 is refused with its line (invalid JSON), the lines beside it kept.
            lines = [json.dumps(call(11, 0.3)).encode(),
                     json.dumps(call(12, 0.3)).encode().replace(trace(12).encode(), b"\xff\xfe"),
                     json.dumps(call(13, 0.3)).encode()]
            r = agent.post_events(b"\n".join(lines), content_type="application/x-ndjson")
            self.assertEqual((r.json()["accepted"], r.json()["rejected"]), (2, 1), r.body)
            _, _, body = get(agent, PROMETHEUS_ACCEPT)
            bucket = [s for s in om_families(body.decode())["llm_request_duration_seconds"].samples
                      if s.name.endswith("_bucket") and s.labels["le"] == "0.5"][0]
            self.assertEqual(bucket.value, 11)
            self.assertEqual(bucket.exemplar.labels["trace_id"], trace(13))
            r = agent.post_events(json.dumps([call(8, 0.3, span_id="s" * 33)]).encode())
            _, _, body = get(agent, PROMETHEUS_ACCEPT)
            bucket = [s for s in om_families(body.decode())["llm_request_duration_seconds"].samples
                      if s.name.endswith("_bucket") and s.labels["le"] == "0.5"][0]
            self.assertEqual(bucket.exemplar.labels, {"trace_id": trace(8)})


class PrometheusTest(unittest.TestCase):
    """Debian's Prometheus 2.42 scraping the agent every second."""

    def wait_for(self, prom, expr, what):
        def ready():
            r = prom.api("query", query=expr)
            return r.get("status") == "success" and r["data"]["result"]
        wait_until(ready, timeout=30, interval=0.5, what=what)
        return prom.api("query", query=expr)["data"]["result"]

    def test_query_exemplars_returns_the_posted_trace_ids(self):
        # OpenMetrics, and protobuf (what Prometheus asks for with native histograms on).
        for features in ("exemplar-storage", "exemplar-storage,native-histograms"):
            with self.subTest(features=features):
                self.check_exemplars(features)

    def check_exemplars(self, features):
        with Agent() as agent:
            events = [call(1, 0.3), call(2, 0.8), call(3, 0.9), call(4, 3.0, model="gpt-4o-mini")]
            self.assertEqual(agent.post_events(json.dumps(events).encode()).status, 200)
            start = time.time() - 5
            with Prometheus(agent.url.split("//")[1], [f"--enable-feature={features}"],
                            rule_files=[]) as prom:
                self.wait_for(prom, 'llm_requests_total{model="gpt-4o-mini"}', "the first scrape")
                r = prom.api("query_exemplars", query="llm_request_duration_seconds_bucket",
                             start=f"{start:.3f}", end=f"{time.time() + 5:.3f}")
                self.assertEqual(r["status"], "success", r)
                got = {}
                for series in r["data"]:
                    key = (series["seriesLabels"]["model"], series["seriesLabels"]["le"])
                    got[key] = sorted({(e["labels"]["trace_id"], e["labels"].get("span_id"),
                                        float(e["value"])) for e in series["exemplars"]})
                self.assertEqual(got, {
                    ("gpt-4o", "0.5"): [(trace(1), span_of(1), 0.3)],
                    ("gpt-4o", "1.0"): [(trace(3), span_of(3), 0.9)],
                    ("gpt-4o-mini", "5.0"): [(trace(4), span_of(4), 3.0)],
                })
                r = prom.api("query_exemplars", query="llm_requests_total",
                             start=f"{start:.3f}", end=f"{time.time() + 5:.3f}")
                got = {s["seriesLabels"]["model"]: [e["labels"]["trace_id"] for e in s["exemplars"]]
                       for s in r["data"]}
                self.assertEqual(got, {"gpt-4o": [trace(3)], "gpt-4o-mini": [trace(4)]})
                format_ = "protobuf" if "native-histograms" in features else "openmetrics"
                self.assertGreater(agent.scrape().value(
                    "llm_exporter_scrapes_total", format=format_, encoding="gzip"), 0)

    def test_classic_buckets_agree_in_openmetrics_and_protobuf(self):
        with Agent() as agent:
            rng = random.Random(7)
            events = [call(i, round(rng.uniform(0.05, 20), 3), endpoint=rng.choice(["a", "b"]))
                      for i in range(1, 200)]
            self.assertEqual(agent.post_events(json.dumps(events).encode()).status, 200)
            target = agent.url.split("//")[1]
            results = []
            # The first scrapes OpenMetrics, the second protobuf (classic buckets only: the agent
            # serves no native histograms without --metrics.native-histograms).
            for flags in ([], ["--enable-feature=native-histograms"]):
                with Prometheus(target, flags, rule_files=[]) as prom:
                    expr = "llm_request_duration_seconds_bucket"
                    self.wait_for(prom, expr, "the first scrape")
                    rows = {}
                    for q in (expr, "llm_request_duration_seconds_sum",
                              "llm_request_duration_seconds_count", "llm_requests_total",
                              "llm_cost_usd_total",
                              'histogram_quantile(0.9, sum by (le) (llm_request_duration_seconds_bucket))'):
                        for s in prom.api("query", query=q)["data"]["result"]:
                            labels = tuple(sorted((k, v) for k, v in s["metric"].items()
                                                  if k not in ("instance", "job")))
                            rows[(q, labels)] = s["value"][1]
                    results.append(rows)
                    # Which format this Prometheus asked for, as the agent counted it.
                    format_ = "protobuf" if flags else "openmetrics"
                    self.assertGreater(agent.scrape().value(
                        "llm_exporter_scrapes_total", format=format_, encoding="gzip"), 0)
            self.assertEqual(results[0], results[1])
            self.assertEqual(len([k for k in results[0] if k[0] == "llm_request_duration_seconds_bucket"]),
                             2 * (len(LATENCY_BUCKETS) + 1))

    def test_native_histograms_give_quantiles_within_the_schema_error(self):
        with Agent(["--metrics.native-histograms"]) as agent:
            rng = random.Random(11)
            latencies = [round(math.exp(rng.uniform(math.log(0.05), math.log(30))), 4)
                         for _ in range(500)]
            events = [call(i + 1, latency, ttft=0.3) for i, latency in enumerate(latencies)]
            self.assertEqual(agent.post_events(json.dumps(events).encode()).status, 200)
            with Prometheus(agent.url.split("//")[1], ["--enable-feature=native-histograms"],
                            rule_files=[]) as prom:
                native = self.wait_for(prom, 'llm_request_duration_seconds{model="gpt-4o"}',
                                       "the native histogram")
                self.assertEqual(len(native), 1)
                histogram = native[0]["histogram"][1]
                self.assertEqual(int(histogram["count"]), len(latencies))
                self.assertAlmostEqual(float(histogram["sum"]), sum(latencies), places=6)
                # Schema 3: each bucket's upper bound is 2^(1/8) times its lower one.
                growth = 2 ** (2 ** -3)
                for _, lower, upper, _ in histogram["buckets"]:
                    self.assertAlmostEqual(float(upper) / float(lower), growth, places=9)
                ordered = sorted(latencies)
                for q in (0.5, 0.9, 0.99):
                    r = prom.api("query", query="histogram_quantile(%s, "
                                 'llm_request_duration_seconds{model="gpt-4o"})' % q)
                    estimate = float(r["data"]["result"][0]["value"][1])
                    true = ordered[math.ceil(q * len(ordered)) - 1]
                    self.assertLessEqual(abs(estimate - true) / true, growth - 1, (q, estimate, true))
                ttft = prom.api("query", query='llm_ttft_seconds{model="gpt-4o"}')["data"]["result"]
                self.assertEqual(int(ttft[0]["histogram"][1]["count"]), len(latencies))
                # The dashboards' p99 latency panel takes the native side of its `or`: post a
                # second batch, and its p99 over a window holding both scrapes is the batch's.
                batch = [round(math.exp(rng.uniform(math.log(0.05), math.log(30))), 4)
                         for _ in range(400)]
                before = time.time()
                events = [call(1000 + i, latency) for i, latency in enumerate(batch)]
                self.assertEqual(agent.post_events(json.dumps(events).encode()).status, 200)
                self.wait_for(prom, 'histogram_count(llm_request_duration_seconds{model="gpt-4o"})'
                              " > 500", "the second batch")
                expr = panel_expr("llm-overview.json", "p99 latency")
                r = prom.api("query", query=substitute(expr, "30s"))
                self.assertEqual(r["status"], "success", r)
                estimate = float(r["data"]["result"][0]["value"][1])
                true = sorted(batch)[math.ceil(0.99 * len(batch)) - 1]
                self.assertLessEqual(abs(estimate - true) / true, growth - 1, (estimate, true))
                self.assertLess(time.time() - before, 30)
                # Prometheus 2.42 stores a histogram that has native buckets only as a native one:
                # the classic series are not stored (docs/dashboards.md, "Native histograms").
                classic = prom.api("query", query="llm_request_duration_seconds_bucket")
                self.assertEqual(classic["data"]["result"], [])


if __name__ == "__main__":
    unittest.main()
