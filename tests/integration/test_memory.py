"""Memory follows series, not request size or worker threads.

Big batches: 10k -> 100k distinct cost series posted in 5,000-event JSON arrays, over one
keep-alive connection and over a new connection per request, each add at most 300 bytes of RSS
a series, everything included (the body, parse and scrape buffers are bounded and returned).
Big scrapes: 7 scrapes of 100k series leave RSS within 10% of what it was before them.
The measures are bench/memory.py's, which prints the figures of bench/README.md.
"""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench"))
from harness import Agent  # noqa: E402
import memory  # noqa: E402

SANITIZED = bool(os.environ.get("LLM_EXPORTER_SANITIZE"))
ARGS = ["--ingest.listen-unix=", "--metrics.max-series-per-family=200000"]
MIB = 2 ** 20


@unittest.skipIf(SANITIZED, "sanitizers' shadow memory would swamp the figures")
class BigBatchMemoryTest(unittest.TestCase):
    def test_keep_alive_connection_and_scrapes(self):
        with Agent(args=ARGS) as agent:
            g = memory.series_growth(agent.port, agent.proc.pid, new_connection=False)
            s = memory.scrape_growth(agent.port, agent.proc.pid)
            m = agent.scrape()
            self.assertEqual(m.value("llm_requests_total", model="gpt-4o", endpoint="/chat",
                                     status="success"), 100_000)
            self.assertEqual(len(m.series("llm_cost_usd_total")), 100_000)
            print(f"\nkeep-alive: RSS {g['at_low'] / MIB:.1f} -> {g['at_high'] / MIB:.1f} MiB "
                  f"from 10k to 100k series, {g['per_series']:.0f} bytes per series; 7 scrapes "
                  f"of {s['bytes'] / MIB:.1f} MiB: RSS {s['before'] / MIB:.1f} -> "
                  f"{s['after'] / MIB:.1f} MiB ({s['growth'] * 100:+.1f}%)", file=sys.stderr)
            self.assertLessEqual(g["per_series"], 300)
            self.assertLessEqual(s["growth"], 0.10)

    def test_new_connection_per_request(self):
        with Agent(args=ARGS) as agent:
            g = memory.series_growth(agent.port, agent.proc.pid, new_connection=True)
            self.assertEqual(agent.scrape().value("llm_requests_total", model="gpt-4o",
                                                  endpoint="/chat", status="success"), 100_000)
            print(f"\nnew connection per request: RSS {g['at_low'] / MIB:.1f} -> "
                  f"{g['at_high'] / MIB:.1f} MiB from 10k to 100k series, "
                  f"{g['per_series']:.0f} bytes per series", file=sys.stderr)
            self.assertLessEqual(g["per_series"], 300)


if __name__ == "__main__":
    unittest.main()
