"""Soak: HTTP posters, unix-stream writers and datagram senders at once, with continuous scrapes
and price reloads. At the end every total equals what was sent, counters never went down, and
resident memory and open file descriptors are back within a small bound. Bounded in time
(SOAK_SECONDS, default 30)."""
import json
import os
import signal
import socket
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Agent, rss_bytes, wait_until  # noqa: E402

SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "30"))
# Every event costs exactly 0.001 USD: 1000 input tokens at 0.001 USD per 1K.
PRICES_A = {"models": {"soak": {"input": 0.001, "output": 0.0}, "other": {"input": 1, "output": 1}}}
PRICES_B = {"models": {"soak": {"input": 0.001, "output": 0.0}, "other": {"input": 2, "output": 2}}}
RSS_GROWTH_BOUND = 32 * 1024 * 1024
FD_SLACK = 4


def event(source, i):
    return {"model": "soak", "endpoint": f"/{source}", "input_tokens": 1000, "output_tokens": 1,
            "latency": 0.25, "user_id": f"{source}-{i % 64}", "team_id": source}


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


class SoakTest(unittest.TestCase):
    def test_everything_at_once(self):
        tmp_dir = tempfile.TemporaryDirectory(prefix="llmx")
        self.addCleanup(tmp_dir.cleanup)
        tmp = tmp_dir.name
        stream_path = os.path.join(tmp, "s.sock")
        gram_path = os.path.join(tmp, "g.sock")
        prices = os.path.join(tmp, "prices.json")
        with open(prices, "w") as f:
            json.dump(PRICES_A, f)
        args = [f"--ingest.listen-unix={stream_path}", f"--ingest.listen-unixgram={gram_path}",
                f"--pricing.file={prices}", "--web.threads=16"]
        with Agent(args=args) as agent:
            pid = agent.proc.pid
            agent.post_events(event("warmup", 0))
            agent.scrape()
            fds_before, rss_before = fds(pid), rss_bytes(pid)
            stop = threading.Event()
            sent = {"http": 0, "unix": 0, "unixgram": 0}
            lock = threading.Lock()
            failures = []

            def count(source, n):
                with lock:
                    sent[source] += n

            def guarded(fn):
                def run():
                    try:
                        fn()
                    except Exception as e:  # reported by the main thread
                        failures.append(f"{fn.__name__}: {e!r}")
                        stop.set()
                return run

            @guarded
            def http_poster():
                i = 0
                while not stop.is_set():
                    batch = [event("http", i + k) for k in range(100)]
                    r = agent.post_events(batch)
                    if r.status != 200 or r.json()["accepted"] != 100:
                        raise AssertionError(f"HTTP batch: {r.status} {r.body[:200]!r}")
                    count("http", 100)
                    i += 100

            @guarded
            def stream_writer():
                i = 0
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.connect(stream_path)
                    while not stop.is_set():
                        lines = "".join(json.dumps(event("unix", i + k)) + "\n" for k in range(200))
                        s.sendall(lines.encode())
                        count("unix", 200)
                        i += 200

            @guarded
            def datagram_sender():
                i = 0
                with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
                    while not stop.is_set():
                        s.sendto(json.dumps(event("unixgram", i)).encode(), gram_path)
                        count("unixgram", 1)
                        i += 1

            last_total = [0.0]

            @guarded
            def scraper():
                while not stop.is_set():
                    total = agent.scrape().sum("llm_requests_total")
                    if total < last_total[0]:
                        raise AssertionError(f"llm_requests_total went down: {last_total[0]} -> {total}")
                    last_total[0] = total

            reloads = [0]

            @guarded
            def reloader():
                while not stop.is_set():
                    with open(prices + ".new", "w") as f:
                        json.dump(PRICES_B if reloads[0] % 2 else PRICES_A, f)
                    os.replace(prices + ".new", prices)
                    if reloads[0] % 2:
                        agent.proc.send_signal(signal.SIGHUP)
                    else:
                        r = agent.reload()
                        if r.status != 200:
                            raise AssertionError(f"reload: {r.status} {r.body!r}")
                    reloads[0] += 1
                    time.sleep(0.2)

            workers = [http_poster] * 3 + [stream_writer] * 2 + [datagram_sender, scraper, reloader]
            threads = [threading.Thread(target=w) for w in workers]
            for t in threads:
                t.start()
            time.sleep(SOAK_SECONDS)
            stop.set()
            for t in threads:
                t.join(timeout=30)
            self.assertEqual(failures, [])

            expected = sum(sent.values()) + 1  # and the warm-up event
            wait_until(lambda: agent.scrape().sum("llm_requests_total") >= expected, timeout=30,
                       what=f"{expected} events to be visible")
            m = agent.scrape()
            print(f"soak: {SOAK_SECONDS:.0f}s, sent {sent} (+1 warm-up), {reloads[0]} reloads, "
                  f"RSS {rss_before / 2**20:.1f} -> {rss_bytes(pid) / 2**20:.1f} MiB, "
                  f"fds {fds_before} -> {fds(pid)}")
            self.assertEqual(m.sum("llm_requests_total"), expected)
            for source, n in sent.items():
                self.assertEqual(m.value("llm_requests_total", model="soak", endpoint=f"/{source}",
                                         status="success"), n, source)
                self.assertEqual(m.value("llm_exporter_events_accepted_total", transport=source),
                                 n + (1 if source == "http" else 0), source)
            self.assertEqual(m.value("llm_tokens_total", model="soak", direction="input"),
                             1000 * expected)
            self.assertEqual(m.value("llm_tokens_total", model="soak", direction="output"),
                             expected)
            cost = m.sum("llm_cost_usd_total")
            self.assertEqual(round(cost / 0.001), expected)
            self.assertAlmostEqual(cost, expected * 0.001, delta=1e-9)
            self.assertEqual(m.sum("llm_exporter_events_rejected_total"), 0)
            self.assertEqual(m.value("llm_exporter_pricing_reloads_total", result="failure"), 0)
            self.assertGreaterEqual(m.value("llm_exporter_pricing_reloads_total", result="success"),
                                    reloads[0] - 1)

            # The clients are gone: descriptors and memory come back.
            wait_until(lambda: fds(pid) <= fds_before + FD_SLACK, timeout=10,
                       what=f"open fds back near {fds_before} (now {fds(pid)})")
            if not os.environ.get("LLM_EXPORTER_SANITIZE"):  # shadow memory swamps the figure
                self.assertLess(rss_bytes(pid) - rss_before, RSS_GROWTH_BOUND)


if __name__ == "__main__":
    unittest.main()
