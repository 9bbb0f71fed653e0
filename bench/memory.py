#!/usr/bin/env python3
"""The agent's resident memory under big batches and big scrapes: the memory rows of
bench/README.md. tests/integration/test_memory.py asserts the targets with the same measures.

  bench/memory.py [--agent build/llm_exporter] [--agent-arg=--web.threads=16 ...]

Prints, for a fresh agent each:
- RSS per added series: 10k -> 100k distinct user_id cost series, posted in 5,000-event JSON
  arrays, once over one keep-alive connection and once over a new connection per request
  (target: at most 300 bytes a series, everything included);
- RSS after 7 scrapes of those 100k series against RSS before them (target: within 10%);
- RSS of the idle agent (--web.threads workers, no series).
Standard library only; every load is bounded, and the agent is stopped on exit.
"""
import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def batch(first, count):
    """`count` calls, each with its own user_id: `count` new cost series."""
    return json.dumps([{"model": "gpt-4o", "endpoint": "/chat", "input_tokens": 100,
                        "output_tokens": 50, "latency": 0.5, "ttft": 0.1,
                        "user_id": f"user-{i:07d}", "team_id": "team"}
                       for i in range(first, first + count)]).encode()


class Poster:
    """Posts bodies over one keep-alive connection, or a new connection each."""

    def __init__(self, port, new_connection):
        self.port, self.new_connection, self.conn = port, new_connection, None

    def post(self, body):
        if self.conn is None or self.new_connection:
            if self.conn is not None:
                self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        self.conn.request("POST", "/v1/events", body, {"Content-Type": "application/json"})
        response = self.conn.getresponse()
        answer = response.read()
        if response.status != 200:
            raise RuntimeError(f"POST answered {response.status}: {answer[:300]!r}")

    def close(self):
        if self.conn is not None:
            self.conn.close()


def settled_rss(pid):
    time.sleep(0.3)  # the last answer is written before its buffers are returned
    return rss_bytes(pid)


def series_growth(port, pid, new_connection, low=10_000, high=100_000, per_batch=5_000):
    """Bytes of RSS per series added from `low` to `high` series."""
    poster = Poster(port, new_connection)
    try:
        posted = 0
        while posted < low:
            poster.post(batch(posted, per_batch))
            posted += per_batch
        at_low = settled_rss(pid)
        while posted < high:
            poster.post(batch(posted, per_batch))
            posted += per_batch
        at_high = settled_rss(pid)
    finally:
        poster.close()
    return {"at_low": at_low, "at_high": at_high,
            "per_series": (at_high - at_low) / (high - low)}


def scrape_growth(port, pid, scrapes=7):
    """RSS before and after `scrapes` scrapes, and the size of the last one."""
    before = settled_rss(pid)
    size = 0
    for _ in range(scrapes):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("GET", "/metrics")
        response = conn.getresponse()
        size = len(response.read())
        conn.close()
        if response.status != 200:
            raise RuntimeError(f"scrape answered {response.status}")
    after = settled_rss(pid)
    return {"before": before, "after": after, "bytes": size,
            "growth": (after - before) / before}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Agent:
    """A fresh agent on a free loopback port, stopped with SIGTERM on exit."""

    def __init__(self, binary, args=()):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [binary, f"--web.listen-address=127.0.0.1:{self.port}", "--ingest.listen-unix=",
             "--metrics.max-series-per-family=200000", *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/-/ready")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError("the agent did not start")
                time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agent", default=os.path.join(ROOT, "build", "llm_exporter"))
    parser.add_argument("--agent-arg", action="append", default=[],
                        help="a flag for the agent (repeat for more)")
    options = parser.parse_args()
    args = options.agent_arg
    mib = 2 ** 20
    with Agent(options.agent, args) as agent:
        idle = settled_rss(agent.proc.pid)
    print(f"idle agent ({' '.join(args) or 'default flags'}): RSS {idle / mib:.1f} MiB")
    for new_connection in (False, True):
        with Agent(options.agent, args) as agent:
            g = series_growth(agent.port, agent.proc.pid, new_connection)
            how = "a new connection per request" if new_connection else "one keep-alive connection"
            print(f"10k -> 100k series in 5,000-event arrays over {how}: RSS "
                  f"{g['at_low'] / mib:.1f} -> {g['at_high'] / mib:.1f} MiB, "
                  f"{g['per_series']:.0f} bytes per added series (target <= 300)")
            if not new_connection:
                s = scrape_growth(agent.port, agent.proc.pid)
                print(f"7 scrapes of 100k series ({s['bytes'] / mib:.1f} MiB each): RSS "
                      f"{s['before'] / mib:.1f} -> {s['after'] / mib:.1f} MiB "
                      f"({s['growth'] * 100:+.1f}%, target within 10%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
