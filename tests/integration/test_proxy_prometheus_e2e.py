"""End to end for the metering proxy: its dashboard panels and rules against a real Prometheus.

tests/integration/test_prometheus_e2e.py proves every other panel and rule with events and spans;
its scenario sends nothing through the proxy, so the panels and recording rules that read the
proxy's families are proved here instead (that test leaves exactly these to this one:
`is_proxy_query`). The agent runs with a proxy config whose two upstreams (OpenAI and Anthropic
kinds) point at the in-process fake upstream (fake_upstream.py); Debian's `prometheus` scrapes it
every second and evaluates both rule files. A batch of calls through the proxy, each ending in a
known way (answered, streamed, refused with 429 and rate-limit headers, an error inside a 200
stream, a client retry, a client hanging up mid-stream, a stream without usage), is sent twice:
a warm-up that creates every series, then, after a few scrapes, the known batch. At one time T:

- every proxy panel target of every dashboard returns data, as an instant and a range query, and
  exactly what the known batch implies (rates times Prometheus' extrapolation factor, computed
  from the raw samples as test_prometheus_e2e.py does; ratios exact);
- both proxy recording rules have data;
- exactly the alerts the batch implies are pending, and the upstream error ratio and client
  retry alerts are not (the batch is under their minimum of 20 calls in 5 minutes).

    LLM_EXPORTER_BIN=build/llm_exporter python3 tests/integration/test_proxy_prometheus_e2e.py
"""
import http.client
import json
import math
import os
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from fake_upstream import FakeUpstream  # noqa: E402
from harness import Agent, free_port, wait_until  # noqa: E402
from test_prometheus_e2e import (PROMETHEUS, REL, RULE_FILES, Prometheus,  # noqa: E402
                                 dashboard_targets, extrapolation_factor, is_proxy_query,
                                 needs_agent, rfc3339_seconds, series, substitute)

PRICES = {"unit": "usd_per_1k_tokens",
          "models": {"gpt-4o": {"input": 0.0025, "output": 0.01},
                     "gpt-4o-mini": {"input": 0.00015, "output": 0.0006},
                     "claude-sonnet-4-20250514": {"input": 0.003, "output": 0.015}},
          "fallback": {"input": 0.01, "output": 0.03}}
# The rate-limit headers fake_upstream.py sends: on normal answers with ratelimit=1
# (RATE_LIMIT_HEADERS) and on a 429 (RATE_LIMITED_HEADERS), as remaining / limit.
HEADROOM = {("openai", "gpt-4o", "requests"): 9999 / 10000,
            ("openai", "gpt-4o", "tokens"): 29999000 / 30000000,
            ("openai", "gpt-4o-mini", "requests"): 0 / 500,
            ("openai", "gpt-4o-mini", "tokens"): 199980 / 200000,
            ("anthropic", "claude-sonnet-4-20250514", "requests"): 3999 / 4000,
            ("anthropic", "claude-sonnet-4-20250514", "tokens"): 479000 / 480000,
            ("anthropic", "claude-sonnet-4-20250514", "input_tokens"): 399500 / 400000,
            ("anthropic", "claude-sonnet-4-20250514", "output_tokens"): 79500 / 80000}
# One batch: (upstream, model, outcome, status in llm_requests_total, a client retry).
BATCH = [("openai", "gpt-4o", "ok", "success", False),            # answered, rate-limit headers
         ("openai", "gpt-4o", "ok", "success", False),            # streamed, with usage
         ("openai", "gpt-4o-mini", "rate_limited", "error", False),  # 429
         ("openai", "gpt-4o", "stream_error", "error", False),    # an error inside a 200 stream
         ("openai", "gpt-4o", "ok", "success", True),             # the SDK's retry
         ("anthropic", "claude-sonnet-4-20250514", "ok", "success", False),
         ("openai", "gpt-4o", "cancelled", "cancelled", False),   # the client hung up
         ("openai", "gpt-4o", "ok", "success", False)]            # streamed, usage not asked for
FAILURES = ("upstream_error", "stream_error", "unreachable", "timeout")


def chat(model, stream=False, include_usage=False):
    body = {"model": model, "messages": [{"role": "user", "content": "Say hello"}]}
    if stream:
        body["stream"] = True
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    return json.dumps(body)


@needs_agent
@unittest.skipUnless(os.access(PROMETHEUS, os.X_OK), f"no prometheus at {PROMETHEUS}")
class ProxyPrometheusEndToEndTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="llmx-proxy-e2e-")
        cls.fake = FakeUpstream().start()
        prices = os.path.join(cls.tmp.name, "prices.json")
        with open(prices, "w", encoding="utf-8") as f:
            json.dump(PRICES, f)
        proxy = os.path.join(cls.tmp.name, "proxy.yml")
        with open(proxy, "w", encoding="utf-8") as f:
            f.write(f"""upstreams:
  - name: openai
    kind: openai
    url: {cls.fake.url}
  - name: anthropic
    kind: anthropic
    url: {cls.fake.url}
""")
        agent_port = free_port()
        cls.prom = Prometheus(f"127.0.0.1:{agent_port}")
        cls.agent = Agent(args=[f"--pricing.file={prices}", f"--proxy.config.file={proxy}"],
                          port=agent_port)
        try:
            cls.agent.__enter__()
            try:
                cls.prom.__enter__()
                cls._run_scenario()
            except BaseException:
                cls.prom.__exit__(None, None, None)
                cls.agent.__exit__(None, None, None)
                raise
        except BaseException:
            cls.fake.stop()
            cls.tmp.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.agent.__exit__(None, None, None)
        finally:
            cls.prom.__exit__(None, None, None)
            cls.fake.stop()
            cls.tmp.cleanup()

    # ---- the calls
    @classmethod
    def _call(cls, path, body, fake, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", cls.agent.port, timeout=20)
        try:
            conn.request("POST", path, body=body,
                         headers={"Content-Type": "application/json", "Authorization": "Bearer k",
                                  "X-Fake": fake, **(headers or {})})
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    @classmethod
    def _hang_up_mid_stream(cls):
        """Streams a long answer, reads its first content chunk, and closes the connection."""
        conn = http.client.HTTPConnection("127.0.0.1", cls.agent.port, timeout=20)
        conn.request("POST", "/proxy/openai/v1/chat/completions", body=chat("gpt-4o", True),
                     headers={"Content-Type": "application/json", "Authorization": "Bearer k",
                              "X-Fake": "chunks=200&gap_ms=50"})
        r = conn.getresponse()
        assert r.status == 200, r.status
        seen = b""
        while b'"content"' not in seen:
            seen += r.read1(4096)
        conn.sock.close()
        conn.close()

    @classmethod
    def _proxied(cls):
        """The calls the agent has counted, from its own /metrics."""
        return cls.agent.scrape().sum("llm_proxy_requests_total")

    @classmethod
    def _send_batch(cls):
        before = cls._proxied()
        openai = "/proxy/openai/v1/chat/completions"
        assert cls._call(openai, chat("gpt-4o"), "ratelimit=1")[0] == 200
        assert cls._call(openai, chat("gpt-4o", True, True), "chunks=3")[0] == 200
        assert cls._call(openai, chat("gpt-4o-mini"), "status=429")[0] == 429
        assert cls._call(openai, chat("gpt-4o", True), "error=object")[0] == 200
        assert cls._call(openai, chat("gpt-4o"), "chunks=2",
                         headers={"x-stainless-retry-count": "1"})[0] == 200
        body = json.dumps({"model": "claude-sonnet-4-20250514", "max_tokens": 64,
                           "messages": [{"role": "user", "content": "Say hello"}]})
        assert cls._call("/proxy/anthropic/v1/messages", body, "ratelimit=1",
                         headers={"anthropic-version": "2023-06-01"})[0] == 200
        cls._hang_up_mid_stream()
        assert cls._call(openai, chat("gpt-4o", True), "chunks=3")[0] == 200
        # The hang-up is recorded when the proxy notices it, after the client has gone.
        wait_until(lambda: cls._proxied() == before + len(BATCH), timeout=15,
                   what="every call of the batch counted")

    # ---- the scenario, as test_prometheus_e2e.py runs its own
    @classmethod
    def _scraped(cls, calls):
        answer = cls.prom.query("sum(llm_proxy_requests_total)", time.time())
        result = answer.get("data", {}).get("result", [])
        return bool(result) and float(result[0]["value"][1]) == calls

    @classmethod
    def _run_scenario(cls):
        prom = cls.prom
        wait_until(lambda: prom.query("up", time.time())["data"]["result"], timeout=15,
                   what="the first scrape of the agent")
        cls._send_batch()
        wait_until(lambda: cls._scraped(len(BATCH)), timeout=15, what="the warm-up scraped")
        time.sleep(2.5)
        cls.window_start = time.time()
        time.sleep(3)
        cls._send_batch()
        wait_until(lambda: cls._scraped(2 * len(BATCH)), timeout=15,
                   what="the known batch scraped")
        time.sleep(3)
        cls.at = round(time.time(), 3)
        cls.seconds = int(cls.at - cls.window_start)
        cls.window = f"{cls.seconds}s"
        ref = 'llm_proxy_requests_total{upstream="anthropic",outcome="ok"}'

        def stored_after():
            result = prom.query(f"timestamp({ref})", time.time())["data"]["result"]
            return bool(result) and float(result[0]["value"][1]) > cls.at

        def rules_after():
            groups = prom.api("rules").get("data", {}).get("groups", [])
            return bool(groups) and all(rfc3339_seconds(g["lastEvaluation"]) > cls.at
                                        for g in groups)
        wait_until(stored_after, timeout=15, what="a scrape stamped after T")
        wait_until(rules_after, timeout=15, what="every rule group evaluated after T")
        raw = prom.query(f"{ref}[{cls.window}]", cls.at)["data"]["result"][0]["values"]
        points = [(round(float(t) * 1000), float(v)) for t, v in raw]
        assert points[-1][1] - points[0][1] == 1, points
        cls.factor = extrapolation_factor(points, round(cls.at * 1000), cls.seconds)
        cls.answers = {}
        for name, panel, target in dashboard_targets():
            if is_proxy_query(target["expr"]):
                expr = substitute(target["expr"], cls.window)
                cls.answers[(name, panel["title"])] = (target, expr, prom.query(expr, cls.at))

    # ---- helpers
    def rate(self, count):
        return count * self.factor / self.seconds

    def values(self, title, dashboard="llm-overview.json"):
        target, expr, answer = self.answers[(dashboard, title)]
        self.assertEqual(answer["status"], "success", answer)
        return series(answer, target.get("legendFormat"))

    def assertValues(self, title, want, dashboard="llm-overview.json"):
        got = self.values(title, dashboard)
        self.assertEqual(set(got), set(want), f"{title}: {got}")
        for k, v in want.items():
            self.assertTrue(math.isclose(got[k], v, rel_tol=REL, abs_tol=1e-12),
                            f"{title} / {k}: got {got[k]!r}, want {v!r}")

    def count(self, **match):
        keys = ("upstream", "model", "outcome", "status", "retry")
        return sum(all(dict(zip(keys, c))[k] == v for k, v in match.items()) for c in BATCH)

    # ---- the panels
    def test_every_proxy_panel_returns_data(self):
        self.assertEqual(len(self.answers), 9, sorted(self.answers))
        for (name, title), (target, expr, answer) in self.answers.items():
            with self.subTest(dashboard=name, panel=title):
                self.assertEqual(answer["status"], "success", f"{expr}: {answer}")
                self.assertTrue(answer["data"]["result"], f"data: {expr}")
                ranged = self.prom.api("query_range", query=expr,
                                       start=f"{self.at - self.seconds:.3f}",
                                       end=f"{self.at:.3f}", step="1")
                self.assertEqual(ranged["status"], "success", f"{expr}: {ranged}")
                self.assertTrue(ranged["data"]["result"], f"range data: {expr}")

    def test_rate_limit_headroom(self):
        title = "Rate-limit headroom by upstream, model and resource"
        _, target, _ = self.answers[("llm-overview.json", title)]
        got = {(r["metric"]["upstream"], r["metric"]["model"], r["metric"]["resource"]):
               float(r["value"][1]) for r in self.answers[("llm-overview.json", title)][2]
               ["data"]["result"]}
        self.assertEqual(set(got), set(HEADROOM))
        for k, v in HEADROOM.items():
            self.assertTrue(math.isclose(got[k], v, rel_tol=REL), f"{k}: {got[k]} != {v}")

    def test_outcomes_errors_retries_and_cancelled_calls(self):
        target = self.answers[("llm-overview.json", "Proxied calls by upstream and outcome")][0]
        outcomes = {}
        for upstream, _, outcome, _, _ in BATCH:
            outcomes[(upstream, outcome)] = outcomes.get((upstream, outcome), 0) + 1
        got = {(r["metric"]["upstream"], r["metric"]["outcome"]): float(r["value"][1])
               for r in self.answers[("llm-overview.json", "Proxied calls by upstream and "
                                      "outcome")][2]["data"]["result"]}
        self.assertEqual(set(got), set(outcomes), target)
        for k, n in outcomes.items():
            self.assertTrue(math.isclose(got[k], self.rate(n), rel_tol=REL), f"{k}")
        # The error ratio: the failures among all of an upstream's calls. A hang-up, a 429 and a
        # 4xx are not the upstream's failures.
        ratio = {u: sum(c[0] == u and c[2] in FAILURES for c in BATCH) / self.count(upstream=u)
                 for u in ("openai", "anthropic")}
        self.assertEqual(ratio["openai"], 1 / 7)
        self.assertValues("Upstream error ratio by upstream", ratio)
        self.assertValues("Client retries by upstream",
                          {u: self.rate(self.count(upstream=u, retry=True))
                           for u in ("openai", "anthropic")})
        self.assertValues("Cancelled calls by model",
                          {"gpt-4o": self.rate(self.count(status="cancelled"))})
        self.assertValues("Proxied requests in flight", {"openai": 0, "anthropic": 0})

    def test_self_monitoring_panels(self):
        answers = {t: self.answers[("llm-exporter.json", t)][2]["data"]["result"]
                   for _, t in self.answers if _ == "llm-exporter.json"}
        self.assertEqual(set(answers), {"Proxied requests in flight by agent",
                                        "Upstream failures by reason",
                                        "Streams without usage by upstream"})
        failures = {(r["metric"]["upstream"], r["metric"]["reason"]): float(r["value"][1])
                    for r in answers["Upstream failures by reason"]}
        self.assertEqual(failures, {(u, r): 0.0 for u in ("openai", "anthropic")
                                    for r in ("connect", "tls", "timeout", "broken")})
        without_usage = {r["metric"]["upstream"]: float(r["value"][1])
                         for r in answers["Streams without usage by upstream"]}
        # Three streams of the batch asked for no usage and the upstream does not inject it: the
        # error stream, the one the client hung up on, and the last one. The hang-up is not
        # counted here: with usage asked for, its tokens would be unknown all the same.
        self.assertEqual(set(without_usage), {"openai", "anthropic"})
        self.assertTrue(math.isclose(without_usage["openai"], self.rate(2), rel_tol=REL),
                        without_usage)
        self.assertEqual(without_usage["anthropic"], 0)

    # ---- the rules
    def test_proxy_recording_rules_have_data(self):
        names = ["upstream_outcome:llm_proxy_requests:rate5m", "upstream:llm_client_retries:rate5m"]
        rules = {r["name"] for g in self.prom.api("rules")["data"]["groups"] for r in g["rules"]}
        self.assertTrue(set(names) <= rules, rules)
        for name in names:
            with self.subTest(rule=name):
                self.assertTrue(self.prom.query(name, self.at)["data"]["result"], name)

    def test_exactly_the_alerts_the_calls_imply_are_pending(self):
        key = {"LLMHighErrorRate": "model", "LLMCallsWithoutUsage": "model",
               "LLMProxyStreamsWithoutUsage": "upstream", "LLMRateLimitHeadroomLow": "model"}
        want = {
            # gpt-4o: 1 error of 6 calls (the hang-up is not an error); gpt-4o-mini: its 429.
            ("LLMHighErrorRate", "gpt-4o"), ("LLMHighErrorRate", "gpt-4o-mini"),
            # streams whose tokens are unknown: without usage asked for, and the hang-up.
            ("LLMCallsWithoutUsage", "gpt-4o"), ("LLMProxyStreamsWithoutUsage", "openai"),
            # gpt-4o-mini's requests are exhausted (0 of 500) while calls go on.
            ("LLMRateLimitHeadroomLow", "gpt-4o-mini")}

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
        headroom = [a for a in self.prom.api("alerts")["data"]["alerts"]
                    if a["labels"]["alertname"] == "LLMRateLimitHeadroomLow"]
        self.assertEqual([(a["labels"]["upstream"], a["labels"]["resource"]) for a in headroom],
                         [("openai", "requests")])


if __name__ == "__main__":
    unittest.main()
