"""A flood of distinct user_ids: memory stays bounded and sums stay exact through the overflow series."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Agent  # noqa: E402

USERS = 300_000
BATCH = 5_000
LIMIT = 10_000
# Resident memory the flood may add, with the default series limit (docs/operations.md).
RSS_BOUND_BYTES = 64 * 1024 * 1024
SANITIZED = bool(os.environ.get("LLM_EXPORTER_SANITIZE"))


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


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


if __name__ == "__main__":
    unittest.main()
