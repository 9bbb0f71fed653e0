"""The agent end to end over HTTP: events in on /v1/events, the seed's metrics out on /metrics."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import unittest
from fractions import Fraction

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BINARY, Agent, wait_until  # noqa: E402

# The seed's price table and formula, in the seed's own (float) arithmetic.
SEED_PRICES = {
    "gpt-4o": {"input": 0.0025, "output": 0.01},
    "gpt-4o-mini": {"input": 0.00015, "output": 0.0006},
    "claude-sonnet-4-20250514": {"input": 0.003, "output": 0.015},
}


def seed_cost(model, input_tokens, output_tokens):
    pricing = SEED_PRICES.get(model, {"input": 0.01, "output": 0.03})
    return (input_tokens * pricing["input"] + output_tokens * pricing["output"]) / 1000


def exact_cost(model, input_tokens, output_tokens):
    """The seed's formula in exact decimal arithmetic, rounded once to a float. The agent sums
    costs exactly, so this is what it reports; the seed's float arithmetic can be one unit in
    the last place away (0.0008999999999999999 instead of 0.0009)."""
    pricing = SEED_PRICES.get(model, {"input": 0.01, "output": 0.03})
    return float((input_tokens * Fraction(str(pricing["input"])) +
                  output_tokens * Fraction(str(pricing["output"]))) / 1000)


def call(model, input_tokens, output_tokens, latency, **extra):
    event = {"model": model, "input_tokens": input_tokens, "output_tokens": output_tokens,
             "latency": latency}
    event.update(extra)
    return event


class BodyFormsTest(unittest.TestCase):
    """The same events sent as one object each, as an array and as NDJSON count the same."""

    EVENTS = [
        call("gpt-4o", 1000, 500, 0.8, endpoint="/chat", ttft=0.2, user_id="alice",
             team_id="search", cache="hit"),
        call("gpt-4o", 1200, 300, 2.5, endpoint="/chat", ttft=0.6, user_id="bob",
             team_id="search", cache="miss"),
        call("gpt-4o", 10, 0, 12.0, endpoint="/chat", status="error", user_id="alice",
             team_id="search"),
        call("gpt-4o-mini", 2000, 1000, 0.05, endpoint="/summarize", ttft=0.05, user_id="carol",
             team_id="ads"),
        call("claude-sonnet-4-20250514", 1234, 567, 31.0, endpoint="/chat", user_id="dave",
             team_id="ads"),
        call("llama-3-70b", 100, 10, 1.0, endpoint="/chat", user_id="erin", team_id="ml"),
        {"type": "quality", "model": "gpt-4o", "evaluator": "judge", "score": 4},
        {"type": "quality", "model": "gpt-4o", "evaluator": "judge", "score": 2.5},
    ]

    def check_metrics(self, agent, copies):
        m = agent.scrape()
        n = copies
        self.assertEqual(m.value("llm_requests_total", model="gpt-4o", endpoint="/chat",
                                 status="success"), 2 * n)
        self.assertEqual(m.value("llm_requests_total", model="gpt-4o", endpoint="/chat",
                                 status="error"), 1 * n)
        self.assertEqual(m.value("llm_requests_total", model="gpt-4o-mini",
                                 endpoint="/summarize", status="success"), n)
        self.assertEqual(m.value("llm_tokens_total", model="gpt-4o", direction="input"), 2210 * n)
        self.assertEqual(m.value("llm_tokens_total", model="gpt-4o", direction="output"), 800 * n)
        self.assertEqual(m.value("llm_tokens_total", model="gpt-4o-mini", direction="input"),
                         2000 * n)
        # Cost per (model, user, team), against the seed's formula.
        for model, user, team, tin, tout in [("gpt-4o-mini", "carol", "ads", 2000, 1000),
                                             ("claude-sonnet-4-20250514", "dave", "ads", 1234, 567),
                                             ("gpt-4o", "bob", "search", 1200, 300),
                                             ("llama-3-70b", "erin", "ml", 100, 10)]:
            self.assertAlmostEqual(
                m.value("llm_cost_usd_total", model=model, user_id=user, team_id=team),
                n * seed_cost(model, tin, tout), places=15)
        # Exactly the formula's value (and so within one ulp of the seed's float result).
        self.assertEqual(m.value("llm_cost_usd_total", model="gpt-4o-mini", user_id="carol",
                                 team_id="ads"), n * exact_cost("gpt-4o-mini", 2000, 1000))
        self.assertEqual(m.value("llm_cost_usd_total", model="llama-3-70b", user_id="erin",
                                 team_id="ml"), n * exact_cost("llama-3-70b", 100, 10))
        self.assertEqual(m.value("llm_cost_usd_total", model="claude-sonnet-4-20250514",
                                 user_id="dave", team_id="ads"),
                         float(n * Fraction(exact_cost("claude-sonnet-4-20250514", 1234, 567))))
        alice = seed_cost("gpt-4o", 1000, 500) + seed_cost("gpt-4o", 10, 0)
        self.assertAlmostEqual(m.value("llm_cost_usd_total", model="gpt-4o", user_id="alice",
                                       team_id="search"), n * alice, places=15)
        # Latency histogram of gpt-4o /chat: 0.8, 2.5, 12.0 per copy.
        buckets = {"0.1": 0, "0.5": 0, "1.0": 1, "2.0": 1, "5.0": 2, "10.0": 2, "30.0": 3,
                   "+Inf": 3}
        for le, count in buckets.items():
            self.assertEqual(m.value("llm_request_duration_seconds_bucket", model="gpt-4o",
                                     endpoint="/chat", le=le), count * n, le)
        self.assertAlmostEqual(m.value("llm_request_duration_seconds_sum", model="gpt-4o",
                                       endpoint="/chat"), 15.3 * n, places=9)
        self.assertEqual(m.value("llm_request_duration_seconds_count", model="gpt-4o",
                                 endpoint="/chat"), 3 * n)
        self.assertEqual(m.value("llm_request_duration_seconds_bucket", model="claude-sonnet-4-20250514",
                                 endpoint="/chat", le="30.0"), 0)
        self.assertEqual(m.value("llm_request_duration_seconds_bucket", model="claude-sonnet-4-20250514",
                                 endpoint="/chat", le="+Inf"), n)
        # TTFT: 0.2 and 0.6 for gpt-4o (the error call has none).
        self.assertEqual(m.value("llm_ttft_seconds_bucket", model="gpt-4o", le="0.25"), n)
        self.assertEqual(m.value("llm_ttft_seconds_bucket", model="gpt-4o", le="0.5"), n)
        self.assertEqual(m.value("llm_ttft_seconds_bucket", model="gpt-4o", le="1.0"), 2 * n)
        self.assertEqual(m.value("llm_ttft_seconds_count", model="gpt-4o"), 2 * n)
        self.assertAlmostEqual(m.value("llm_ttft_seconds_sum", model="gpt-4o"), 0.8 * n, places=9)
        self.assertIsNone(m.value("llm_ttft_seconds_count", model="claude-sonnet-4-20250514"))
        # Quality 4 and 2.5.
        self.assertEqual(m.value("llm_quality_score_bucket", model="gpt-4o", evaluator="judge",
                                 le="2.0"), 0)
        self.assertEqual(m.value("llm_quality_score_bucket", model="gpt-4o", evaluator="judge",
                                 le="3.0"), n)
        self.assertEqual(m.value("llm_quality_score_bucket", model="gpt-4o", evaluator="judge",
                                 le="4.0"), 2 * n)
        self.assertEqual(m.value("llm_quality_score_sum", model="gpt-4o", evaluator="judge"),
                         6.5 * n)
        self.assertEqual(m.value("llm_quality_score_count", model="gpt-4o", evaluator="judge"),
                         2 * n)
        # Cache and fallback pricing.
        self.assertEqual(m.value("llm_cache_hits_total", model="gpt-4o"), n)
        self.assertEqual(m.value("llm_cache_misses_total", model="gpt-4o"), n)
        self.assertIsNone(m.value("llm_cache_hits_total", model="gpt-4o-mini"))
        self.assertEqual(m.value("llm_exporter_fallback_priced_events_total",
                                 model="llama-3-70b"), n)
        self.assertIsNone(m.value("llm_exporter_fallback_priced_events_total", model="gpt-4o"))
        self.assertEqual(m.value("llm_exporter_events_accepted_total", transport="http"), 8 * n)
        self.assertEqual(m.value("llm_exporter_events_received_total", transport="http"), 8 * n)
        return m

    def test_one_object_per_request(self):
        with Agent() as agent:
            for event in self.EVENTS:
                r = agent.post_events(event)
                self.assertEqual(r.status, 200, r.body)
                self.assertEqual(r.json(), {"accepted": 1, "rejected": 0, "errors": []})
            m = self.check_metrics(agent, 1)
            self.assertEqual(m.value("llm_exporter_http_requests_total", handler="/v1/events",
                                     code="200"), 8)

    def test_json_array(self):
        with Agent() as agent:
            r = agent.post_events(self.EVENTS)
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual(r.json(), {"accepted": 8, "rejected": 0, "errors": []})
            self.check_metrics(agent, 1)
            r = agent.post_events(self.EVENTS * 2)
            self.assertEqual(r.json()["accepted"], 16)
            self.check_metrics(agent, 3)

    def test_ndjson(self):
        with Agent() as agent:
            body = "\n".join(json.dumps(e) for e in self.EVENTS) + "\n"
            r = agent.post_events(body, content_type="application/x-ndjson")
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual(r.json(), {"accepted": 8, "rejected": 0, "errors": []})
            self.check_metrics(agent, 1)

    def test_exposition_passes_promtool(self):
        with Agent() as agent:
            agent.post_events(self.EVENTS + [call("m", 1, 1, 1, user_id='quo"te\\back\nline')])
            text = agent.get("/metrics").body
            check = subprocess.run(["promtool", "check", "metrics"], input=text,
                                   capture_output=True)
            self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
            self.assertIn(b'user_id="quo\\"te\\\\back\\nline"', text)
            self.assertEqual(agent.scrape().value("llm_requests_total", model="m", endpoint="",
                                                  status="success"), 1)


class RejectionTest(unittest.TestCase):
    def test_bad_events_are_reported_by_index_and_reason_and_neighbours_count(self):
        good = call("gpt-4o", 100, 10, 0.3, user_id="u")
        batch = [
            good,
            call("gpt-4o", -5, 10, 0.3),
            {"model": "gpt-4o", "input_tokens": 1, "output_tokens": 1},
            good,
            call("gpt-4o", 1, 1, 1, ttft="fast"),
            "not an object",
            call("gpt-4o", 1, 1, 1, user_id="x" * 129),
            {"type": "quality", "model": "gpt-4o", "evaluator": "judge", "score": "high"},
            good,
        ]
        with Agent() as agent:
            r = agent.post_events(batch)
            self.assertEqual(r.status, 200)
            body = r.json()
            self.assertEqual(body["accepted"], 3)
            self.assertEqual(body["rejected"], 6)
            got = [(e["index"], e["field"], e["reason"], e["message"]) for e in body["errors"]]
            self.assertEqual(got, [
                (1, "input_tokens", "invalid_value",
                 "event 1: input_tokens must be a non-negative integer, got -5"),
                (2, "latency", "missing_field", "event 2: latency is required"),
                (4, "ttft", "wrong_type", "event 4: ttft must be a number, got a string"),
                (5, "", "not_an_object", "event 5: must be a JSON object"),
                (6, "user_id", "label_too_long",
                 "event 6: user_id is 129 bytes long, the limit is 128"),
                (7, "score", "wrong_type", "event 7: score must be a number, got a string"),
            ])
            m = agent.scrape()
            self.assertEqual(m.value("llm_requests_total", model="gpt-4o", endpoint="",
                                     status="success"), 3)
            self.assertEqual(m.value("llm_tokens_total", model="gpt-4o", direction="input"), 300)
            self.assertEqual(m.value("llm_cost_usd_total", model="gpt-4o", user_id="u",
                                     team_id=""), 3 * seed_cost("gpt-4o", 100, 10))
            self.assertIsNone(m.value("llm_quality_score_count", model="gpt-4o",
                                      evaluator="judge"))
            self.assertEqual(m.value("llm_exporter_events_received_total", transport="http"), 9)
            self.assertEqual(m.value("llm_exporter_events_accepted_total", transport="http"), 3)
            for reason, count in [("invalid_value", 1), ("missing_field", 1), ("wrong_type", 2),
                                  ("not_an_object", 1), ("label_too_long", 1),
                                  ("invalid_json", 0)]:
                self.assertEqual(m.value("llm_exporter_events_rejected_total", transport="http",
                                         reason=reason), count, reason)

    def test_all_rejected_is_400_with_the_same_report(self):
        with Agent() as agent:
            r = agent.post_events([{"model": "m"}])
            self.assertEqual(r.status, 400)
            self.assertEqual(r.json()["rejected"], 1)
            self.assertEqual(r.json()["errors"][0]["reason"], "missing_field")

    def test_bodies_that_are_not_json_are_400_and_count_nothing(self):
        with Agent() as agent:
            for body in [b"", b"hello", b'{"model": ', b"[1, 2", b"\x00\x01"]:
                r = agent.post_events(body)
                self.assertEqual(r.status, 400, body)
                self.assertIn("error", r.json())
            m = agent.scrape()
            self.assertEqual(m.sum("llm_requests_total"), 0)
            self.assertEqual(m.value("llm_exporter_events_rejected_total", transport="http",
                                     reason="invalid_json"), 5)
            self.assertEqual(m.value("llm_exporter_http_requests_total", handler="/v1/events",
                                     code="400"), 5)

    def test_body_over_the_limit_is_413(self):
        with Agent(args=["--web.max-request-bytes=1000"]) as agent:
            r = agent.post_events([call("m", 1, 1, 1)] * 50)
            self.assertEqual(r.status, 413)
            self.assertIn("--web.max-request-bytes (1000 bytes)", r.json()["error"])
            self.assertEqual(agent.post_events(call("m", 1, 1, 1)).status, 200)
            m = agent.scrape()
            self.assertEqual(m.value("llm_requests_total", model="m", endpoint="",
                                     status="success"), 1)
            self.assertEqual(m.value("llm_exporter_events_rejected_total", transport="http",
                                     reason="too_large"), 1)


class PricingTest(unittest.TestCase):
    def test_price_file_reload_good_and_bad(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "prices.json")
            with open(path, "w") as f:
                json.dump({"models": {"house-model": {"input": 0.5, "output": 1.0}}}, f)
            with Agent(args=[f"--pricing.file={path}"]) as agent:
                agent.post_events(call("house-model", 1000, 1000, 1))
                m = agent.scrape()
                self.assertEqual(m.value("llm_cost_usd_total", model="house-model", user_id="",
                                         team_id=""), 1.5)
                self.assertEqual(m.value("llm_exporter_pricing_models"), 1)
                self.assertIsNone(m.value("llm_exporter_fallback_priced_events_total",
                                          model="house-model"))

                # A good reload by POST /-/reload: the new price applies to new events.
                with open(path, "w") as f:
                    json.dump({"unit": "usd_per_1m_tokens",
                               "models": {"house-model": {"input": 2, "output": 4}},
                               "fallback": {"input": 1, "output": 1}}, f)
                r = agent.reload()
                self.assertEqual(r.status, 200, r.body)
                agent.post_events(call("house-model", 1000, 1000, 1))
                agent.post_events(call("other", 1000, 0, 1))
                m = agent.scrape()
                self.assertAlmostEqual(m.value("llm_cost_usd_total", model="house-model",
                                               user_id="", team_id=""), 1.5 + 0.006, places=15)
                self.assertEqual(m.value("llm_cost_usd_total", model="other", user_id="",
                                         team_id=""), 0.001)
                self.assertEqual(m.value("llm_exporter_pricing_reloads_total",
                                         result="success"), 1)

                # A broken file: 500, old table kept, failure counted and logged.
                with open(path, "w") as f:
                    f.write('{"models": {"house-model": {"input": 1}}}')
                r = agent.reload()
                self.assertEqual(r.status, 500)
                self.assertIn(b'models["house-model"].output is required', r.body)
                agent.post_events(call("house-model", 1000, 1000, 1))
                m = agent.scrape()
                self.assertAlmostEqual(m.value("llm_cost_usd_total", model="house-model",
                                               user_id="", team_id=""), 1.5 + 0.012, places=15)
                self.assertEqual(m.value("llm_exporter_pricing_reloads_total",
                                         result="failure"), 1)
                self.assertEqual(m.value("llm_exporter_pricing_last_reload_successful"), 0)
                self.assertIn("Reload failed, keeping the previous price table", agent.log())

                # SIGHUP reloads too, once the file is fixed.
                with open(path, "w") as f:
                    json.dump({"models": {"house-model": {"input": 0, "output": 0}}}, f)
                agent.proc.send_signal(signal.SIGHUP)
                wait_until(lambda: agent.scrape().value("llm_exporter_pricing_reloads_total",
                                                        result="success") == 2,
                           what="the SIGHUP reload")
                m = agent.scrape()
                self.assertEqual(m.value("llm_exporter_pricing_last_reload_successful"), 1)
                self.assertEqual(m.value("llm_exporter_pricing_models"), 1)

    def test_empty_price_table_is_refused_on_reload(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "prices.json")
            with open(path, "w") as f:
                json.dump({"models": {"house-model": {"input": 0.5, "output": 1.0}}}, f)
            with Agent(args=[f"--pricing.file={path}"]) as agent:
                with open(path, "w") as f:
                    f.write('{"models": {}}')
                problem = (f'pricing file {path}: "models" is empty: list at least one model '
                           '(calls of models not listed are priced with the fallback price)')
                r = agent.reload()
                self.assertEqual(r.status, 500)
                self.assertIn(problem.encode(), r.body)
                agent.post_events(call("house-model", 1000, 1000, 1))
                m = agent.scrape()
                self.assertEqual(m.value("llm_cost_usd_total", model="house-model", user_id="",
                                         team_id=""), 1.5)  # the old table stays
                self.assertEqual(m.value("llm_exporter_pricing_models"), 1)
                self.assertEqual(m.value("llm_exporter_pricing_reloads_total",
                                         result="failure"), 1)
                self.assertEqual(m.value("llm_exporter_pricing_last_reload_successful"), 0)

                # SIGHUP: the same refusal, logged and counted.
                agent.proc.send_signal(signal.SIGHUP)
                wait_until(lambda: agent.scrape().value("llm_exporter_pricing_reloads_total",
                                                        result="failure") == 2,
                           what="the SIGHUP reload")
                self.assertIn(f"Reload failed, keeping the previous price table: {problem}"
                              .replace('"', '\\"'), agent.log())
                m = agent.scrape()
                self.assertEqual(m.value("llm_exporter_pricing_last_reload_successful"), 0)
                self.assertEqual(m.value("llm_exporter_pricing_models"), 1)
                # Without --budgets.file the budgets reload has nothing to fail.
                self.assertEqual(m.value("llm_exporter_budgets_last_reload_successful"), 1)
                self.assertEqual(m.value("llm_exporter_budgets_reloads_total",
                                         result="success"), 2)

    def test_broken_budgets_file_fails_the_budgets_reload_only(self):
        with tempfile.TemporaryDirectory() as tmp:
            prices = os.path.join(tmp, "prices.json")
            budgets = os.path.join(tmp, "budgets.json")
            with open(prices, "w") as f:
                json.dump({"models": {"house-model": {"input": 0.5, "output": 1.0}}}, f)
            with open(budgets, "w") as f:
                json.dump({"teams": {"search": {"daily_usd": 50}}}, f)
            with Agent(args=[f"--pricing.file={prices}", f"--budgets.file={budgets}"]) as agent:
                # A new price table and a broken budgets file, reloaded together.
                with open(prices, "w") as f:
                    json.dump({"models": {"house-model": {"input": 1, "output": 1}}}, f)
                with open(budgets, "w") as f:
                    json.dump({"teams": {"search": {"daily_usd": -1}}}, f)
                r = agent.reload()
                self.assertEqual(r.status, 500)
                self.assertIn(f'budgets file {budgets}: teams["search"].daily_usd must be a '
                              'non-negative number, got -1'.encode(), r.body)
                self.assertNotIn(b"pricing file", r.body)
                agent.post_events(call("house-model", 1000, 1000, 1))
                m = agent.scrape()
                self.assertEqual(m.value("llm_exporter_budgets_last_reload_successful"), 0)
                self.assertEqual(m.value("llm_exporter_budgets_reloads_total",
                                         result="failure"), 1)
                self.assertEqual(m.value("llm_exporter_budgets_reloads_total",
                                         result="success"), 0)
                self.assertEqual(m.value("llm_team_budget_usd", team_id="search",
                                         period="daily"), 50)  # the old budgets stay
                # The price table reloaded fine and is in force.
                self.assertEqual(m.value("llm_exporter_pricing_last_reload_successful"), 1)
                self.assertEqual(m.value("llm_exporter_pricing_reloads_total",
                                         result="success"), 1)
                self.assertEqual(m.value("llm_exporter_pricing_reloads_total",
                                         result="failure"), 0)
                self.assertEqual(m.value("llm_cost_usd_total", model="house-model", user_id="",
                                         team_id=""), 2)
                self.assertIn("Reload failed, keeping the previous budgets: budgets file",
                              agent.log())

                # Fixed, and reloaded by SIGHUP.
                with open(budgets, "w") as f:
                    json.dump({"teams": {"search": {"daily_usd": 75}}}, f)
                agent.proc.send_signal(signal.SIGHUP)
                wait_until(lambda: agent.scrape().value("llm_exporter_budgets_reloads_total",
                                                        result="success") == 1,
                           what="the SIGHUP reload")
                m = agent.scrape()
                self.assertEqual(m.value("llm_exporter_budgets_last_reload_successful"), 1)
                self.assertEqual(m.value("llm_team_budget_usd", team_id="search",
                                         period="daily"), 75)
                self.assertEqual(m.value("llm_exporter_pricing_reloads_total",
                                         result="success"), 2)

    def test_cached_input_price_and_caller_cost(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "prices.json")
            with open(path, "w") as f:
                json.dump({"models": {"m": {"input": 0.004, "output": 0.008,
                                            "cached_input": 0.001}}}, f)
            with Agent(args=[f"--pricing.file={path}"]) as agent:
                agent.post_events([call("m", 1000, 500, 1, cached_input_tokens=600, user_id="a"),
                                   call("m", 1000, 500, 1, cost_usd=0.25, user_id="b")])
                m = agent.scrape()
                # (400 x 0.004 + 600 x 0.001 + 500 x 0.008) / 1000
                self.assertEqual(m.value("llm_cost_usd_total", model="m", user_id="a",
                                         team_id=""), 0.0062)
                self.assertEqual(m.value("llm_cost_usd_total", model="m", user_id="b",
                                         team_id=""), 0.25)


class AgentTest(unittest.TestCase):
    def test_budgets_are_exposed_before_any_traffic(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "budgets.json")
            with open(path, "w") as f:
                json.dump({"teams": {"search": {"daily_usd": 50, "monthly_usd": 1000}}}, f)
            with Agent(args=[f"--budgets.file={path}"]) as agent:
                m = agent.scrape()
                self.assertEqual(m.value("llm_team_budget_usd", team_id="search",
                                         period="daily"), 50)
                self.assertEqual(m.value("llm_team_budget_usd", team_id="search",
                                         period="monthly"), 1000)

    def test_self_metrics_and_endpoints(self):
        with Agent() as agent:
            m = agent.scrape()
            for name in ["process_cpu_seconds_total", "process_resident_memory_bytes",
                         "process_open_fds", "process_start_time_seconds", "process_max_fds"]:
                self.assertIsNotNone(m.value(name), name)
            self.assertEqual(len(m.series("llm_exporter_build_info")), 1)
            self.assertEqual(m.value("llm_exporter_events_received_total", transport="http"), 0)
            self.assertEqual(agent.get("/-/healthy").status, 200)
            self.assertIn(b'href="/metrics"', agent.get("/").body)
            r = agent.get("/nope")
            self.assertEqual(r.status, 404)
            r = agent.get("/v1/events")
            self.assertEqual(r.status, 405)
            self.assertEqual(r.headers.get("Allow"), "POST")
            self.assertEqual(agent.post("/metrics", b"x").status, 405)
            m = agent.scrape()
            self.assertEqual(m.value("llm_exporter_http_requests_total", handler="other",
                                     code="404"), 1)
            self.assertEqual(m.value("llm_exporter_http_requests_total", handler="/v1/events",
                                     code="405"), 1)

    def test_custom_telemetry_path_and_buckets(self):
        with Agent(args=["--web.telemetry-path=/m", "--metrics.buckets.request-duration=1,60"]) as agent:
            agent.post_events(call("m", 1, 1, 45))
            r = agent.get("/m")
            self.assertEqual(r.status, 200)
            self.assertEqual(r.headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8")
            self.assertIn(b'llm_request_duration_seconds_bucket{model="m",endpoint="",le="60.0"} 1',
                          r.body)
            self.assertIn(b'llm_request_duration_seconds_bucket{model="m",endpoint="",le="1.0"} 0',
                          r.body)
            self.assertEqual(agent.get("/metrics").status, 404)

    def test_sigterm_stops_cleanly(self):
        agent = Agent()
        agent.start()
        try:
            self.assertEqual(agent.post_events(call("m", 1, 1, 1)).status, 200)
            self.assertEqual(agent.stop(), 0)
            self.assertIn("Received SIGTERM", agent.log())
            self.assertIn('msg="Stopped"', agent.log())
        finally:
            agent.stop()
            agent.tmp.cleanup()


class CommandLineTest(unittest.TestCase):
    def run_agent(self, *args):
        return subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=10)

    def test_bad_flags_exit_2_with_one_line(self):
        for args, expected in [
            (["--bogus"], "llm_exporter: error: The following argument was not expected: --bogus (see --help)"),
            (["--log.format=xml"], "llm_exporter: error: --log.format: xml not in {logfmt,json} (see --help)"),
            (["--web.listen-address=nope"],
             "llm_exporter: error: --web.listen-address \"nope\" must be host:port, e.g. 127.0.0.1:9778"),
            (["--log.level=", "--pricing.file="],
             "llm_exporter: error: --log.level: must not be empty; give one of debug, info, warn, "
             "error (see --help)"),
            (["--web.listen-address", "", "--log.level=debug"],
             "llm_exporter: error: --web.listen-address: must not be empty; give host:port, e.g. "
             "127.0.0.1:9778 (see --help)"),
        ]:
            r = self.run_agent(*args)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertEqual(r.stderr.strip().splitlines(), [expected])

    def test_an_empty_pricing_file_is_the_built_in_table_and_takes_no_other_flag(self):
        # CLI11 on its own would read "--log.level=debug" as the price file's name.
        with Agent(args=["--pricing.file=", "--log.level=debug"]) as agent:
            log = agent.log()
            self.assertIn("price table built-in (3 models)", log)
            self.assertIn('level=debug msg="Logging at level debug in logfmt format"', log)
            self.assertEqual(agent.post_events(call("gpt-4o", 1000, 500, 0.5, user_id="u",
                                                    team_id="t")).status, 200)
            # The built-in gpt-4o price: 1000 x 0.0025 / 1000 + 500 x 0.01 / 1000.
            self.assertEqual(agent.scrape().value("llm_cost_usd_total", model="gpt-4o",
                                                  user_id="u", team_id="t"), 0.0075)

    def test_bad_pricing_file_exits_2_naming_the_problem(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "prices.json")
            with open(path, "w") as f:
                f.write('{"models": {"gpt-4o": {"input": "cheap", "output": 1}}}')
            r = self.run_agent(f"--pricing.file={path}", "--web.listen-address=127.0.0.1:0")
            self.assertEqual(r.returncode, 2)
            self.assertEqual(r.stderr.strip().splitlines(), [
                f'llm_exporter: error: pricing file {path}: models["gpt-4o"].input must be a '
                'number, got "cheap"'])

    def test_empty_price_table_exits_2_naming_the_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "prices.json")
            with open(path, "w") as f:
                f.write('{"models":{}}')
            r = self.run_agent(f"--pricing.file={path}", "--web.listen-address=127.0.0.1:0")
            self.assertEqual(r.returncode, 2)
            self.assertEqual(r.stderr.strip().splitlines(), [
                f'llm_exporter: error: pricing file {path}: "models" is empty: list at least one '
                'model (calls of models not listed are priced with the fallback price)'])

    def test_port_in_use_is_a_clear_error(self):
        with Agent() as agent:
            r = self.run_agent(f"--web.listen-address=127.0.0.1:{agent.port}")
            self.assertEqual(r.returncode, 2)
            self.assertIn(f"cannot listen on 127.0.0.1:{agent.port}", r.stderr)

    def test_version_and_help(self):
        r = self.run_agent("--version")
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.stdout.startswith("llm_exporter 0.1.0"), r.stdout)
        r = self.run_agent("--help")
        self.assertEqual(r.returncode, 0)
        for flag in ["--web.listen-address", "--web.telemetry-path", "--pricing.file",
                     "--log.level", "--log.format", "--version"]:
            self.assertIn(flag, r.stdout)
        self.assertIn("127.0.0.1:9778", r.stdout)


if __name__ == "__main__":
    unittest.main()
