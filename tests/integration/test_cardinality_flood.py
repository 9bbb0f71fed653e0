"""Past the series limit: memory stays bounded, sums stay exact and `status` stays exact through
the overflow series."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Agent, rss_bytes  # noqa: E402

USERS = 300_000
BATCH = 5_000
LIMIT = 10_000
# Resident memory the flood may add, with the default series limit (docs/operations.md).
RSS_BOUND_BYTES = 64 * 1024 * 1024
SANITIZED = bool(os.environ.get("LLM_EXPORTER_SANITIZE"))


class CardinalityFloodTest(unittest.TestCase):
    def test_distinct_users_overflow_with_exact_sums_and_bounded_memory(self):
        with Agent(args=[f"--metrics.max-series-per-family={LIMIT}"]) as agent:
            agent.post_events({"model": "gpt-4o", "input_tokens": 1, "output_tokens": 0,
                               "latency": 0.1, "user_id": "warm-up"})
            agent.scrape()
            before = rss_bytes(agent.proc.pid)
            for start in range(0, USERS, BATCH):
                body = "\n".join(json.dumps({
                    "model": "gpt-4o", "input_tokens": 1000, "output_tokens": 0, "latency": 0.5,
                    "user_id": f"user-{i}", "team_id": f"team-{i % 1000}",
                    "endpoint": f"/e{i % 50}"}) for i in range(start, start + BATCH))
                r = agent.post_events(body)
                self.assertEqual(r.status, 200, r.body[:300])
                self.assertEqual(r.json()["accepted"], BATCH)
            m = agent.scrape()
            after = rss_bytes(agent.proc.pid)
            grown = after - before
            print(f"flood: {USERS} distinct user_ids, RSS {before / 2**20:.1f} MiB -> "
                  f"{after / 2**20:.1f} MiB (+{grown / 2**20:.1f} MiB), "
                  f"cost series {len(m.series('llm_cost_usd_total'))}")
            if not SANITIZED:  # sanitizers' shadow memory would swamp the figure
                self.assertLess(grown, RSS_BOUND_BYTES)

            # Exactly LIMIT cost series plus the one overflow series for gpt-4o.
            costs = m.series("llm_cost_usd_total")
            self.assertEqual(len(costs), LIMIT + 1)
            overflow = m.value("llm_cost_usd_total", model="gpt-4o", user_id="__overflow__",
                               team_id="__overflow__")
            admitted = LIMIT - 1  # the warm-up user holds one slot
            self.assertEqual(m.value("llm_exporter_series_overflow_total", family="cost"),
                             USERS - admitted)
            self.assertAlmostEqual(overflow, (USERS - admitted) * 0.0025, delta=1e-9)
            total = m.sum("llm_cost_usd_total") - 0.0000025  # without the warm-up event
            self.assertEqual(round(total / 0.0025), USERS)
            self.assertAlmostEqual(total, USERS * 0.0025, delta=1e-9)
            # Counts are integers: exact.
            self.assertEqual(m.sum("llm_requests_total"), USERS + 1)
            self.assertEqual(m.value("llm_tokens_total", model="gpt-4o", direction="input"),
                             USERS * 1000 + 1)
            self.assertEqual(m.value("llm_exporter_series", family="cost"), LIMIT + 1)
            # 50 endpoints fit in the requests family: nothing overflows there.
            self.assertEqual(m.value("llm_exporter_series_overflow_total", family="requests"), 0)


class OverflowKeepsStatusTest(unittest.TestCase):
    """Past the series limit, overflow series keep `status`, so error rates stay exact."""

    def test_error_calls_to_new_models_past_the_limit_stay_errors(self):
        with Agent(args=["--metrics.max-series-per-family=2"]) as agent:
            for model in ("m1", "m2", "m3", "m4"):
                r = agent.post_events({"model": model, "endpoint": "/chat", "status": "error",
                                       "input_tokens": 10, "output_tokens": 1, "latency": 0.2,
                                       "user_id": "u", "team_id": "t"})
                self.assertEqual(r.status, 200, r.body)
            m = agent.scrape()
            # m1 and m2 fill the model family; m3 and m4 are __overflow__ in every family. In
            # llm_requests_total (__overflow__, /chat, error) would be a third series: it goes to
            # the overflow series, which keeps status="error".
            requests = sorted((s["model"], s["endpoint"], s["status"], m.value(
                "llm_requests_total", **s)) for s in m.series("llm_requests_total"))
            self.assertEqual(requests, [("__overflow__", "__overflow__", "error", 2),
                                        ("m1", "/chat", "error", 1),
                                        ("m2", "/chat", "error", 1)])
            self.assertIn('llm_requests_total{model="__overflow__",endpoint="__overflow__",'
                          'status="error"} 2\n', m.text)
            self.assertEqual(m.sum("llm_requests_total", status="error"), 4)
            self.assertEqual(m.value("llm_tokens_total", model="__overflow__", direction="input"),
                             20)
            self.assertEqual(m.value("llm_request_duration_seconds_count", model="__overflow__",
                                     endpoint="__overflow__"), 2)
            self.assertEqual(m.value("llm_exporter_series", family="requests"), 3)
            for family in ("model", "requests", "duration", "cost"):
                self.assertEqual(m.value("llm_exporter_series_overflow_total", family=family), 2,
                                 family)

    def test_an_admitted_model_keeps_its_error_rate_when_its_endpoints_overflow(self):
        with Agent(args=["--metrics.max-series-per-family=2"]) as agent:
            statuses = ["success", "error", "success", "timeout", "error", "success", "error",
                        "rate_limited", "success", "success"]
            body = "\n".join(json.dumps({"model": "gpt-4o", "endpoint": f"/e{i}",
                                         "status": status, "input_tokens": 1,
                                         "output_tokens": 1, "latency": 0.1})
                             for i, status in enumerate(statuses))
            r = agent.post_events(body)
            self.assertEqual(r.json()["accepted"], len(statuses), r.body)
            m = agent.scrape()
            # /e0 and /e1 fill the family; the 8 calls after them keep gpt-4o and fold their
            # status into success, error or other.
            requests = sorted((s["model"], s["endpoint"], s["status"], m.value(
                "llm_requests_total", **s)) for s in m.series("llm_requests_total"))
            self.assertEqual(requests, [("gpt-4o", "/e0", "success", 1),
                                        ("gpt-4o", "/e1", "error", 1),
                                        ("gpt-4o", "__overflow__", "error", 2),
                                        ("gpt-4o", "__overflow__", "other", 2),
                                        ("gpt-4o", "__overflow__", "success", 4)])
            # The error rate an alert computes by (model, status) is exact: 3 of 10.
            self.assertEqual(m.sum("llm_requests_total", model="gpt-4o", status="error"), 3)
            self.assertEqual(m.sum("llm_requests_total", model="gpt-4o"), 10)
            self.assertEqual(m.value("llm_exporter_series_overflow_total", family="requests"), 8)


if __name__ == "__main__":
    unittest.main()
