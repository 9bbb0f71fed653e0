#!/usr/bin/env python3
"""What the metering proxy costs an app, and whether 1,000 open streams starve anything else.

Starts tests/integration/fake_upstream.py (its own process) and the agent with a proxy config
pointing at it, then measures, calling the fake directly and through /proxy/openai alike:

1. Non-streamed calls: N sequential POST /v1/chat/completions on one keep-alive connection each
   way, the two ways taking turns, timed from the first byte sent to the last byte read. Prints
   median, p90, p99 and max of each way and the proxy's addition at each of them.
2. Streams: time to the first content chunk as the client reads it (the fake waits --ttft-ms
   before it), the same way; and the agent's own llm_ttft_seconds against the fake's delay.
3. --streams concurrent long streams through the proxy (one connection each, --stream-chunks
   chunks --stream-gap-ms apart), while one client scrapes /metrics and another POSTs one event
   to /v1/events, each on a keep-alive connection every --probe-interval-ms, and a third makes a
   non-streamed proxied call on a new connection as often. The same probes run
   on an idle agent first, and (the control) while the same streams go straight to the fake, so
   that what the machine's load costs them shows apart from what the proxy costs them. Prints
   the latency percentiles of both probes in each phase, the agent's CPU and RSS, and how many
   streams ended complete.

Prints figures and asserts nothing (bench/README.md, "The metering proxy").

  python3 bench/proxy_bench.py [--agent-bin build/llm_exporter] [--calls 2000]
      [--stream-calls 500] [--ttft-ms 10] [--streams 1000] [--stream-chunks 60]
      [--stream-gap-ms 500] [--probe-interval-ms 100]
"""
import argparse
import asyncio
import http.client
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from harness import Agent, parse_metrics, wait_until  # noqa: E402

MODEL = "gpt-4o-mini"


def pct(values, p):
    """The p-th percentile (nearest rank) of `values`."""
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(p / 100 * len(s))) - 1))]


def ms(seconds):
    return f"{seconds * 1000:8.3f} ms"


def summary(values):
    return {"median": statistics.median(values), "p90": pct(values, 90), "p99": pct(values, 99),
            "max": max(values), "n": len(values)}


def print_pair(title, direct, proxied):
    d, p = summary(direct), summary(proxied)
    print(f"\n{title}")
    print(f"  {'':10} {'direct':>12} {'proxied':>12} {'added':>12}")
    for k in ("median", "p90", "p99", "max"):
        print(f"  {k:10} {ms(d[k]):>12} {ms(p[k]):>12} {ms(p[k] - d[k]):>12}")
    diffs = [b - a for a, b in zip(direct, proxied)]
    print(f"  per-pair difference (proxied - direct of neighbouring calls): "
          f"median {ms(statistics.median(diffs)).strip()}")
    return d, p


def start_fake():
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "integration",
                                                          "fake_upstream.py"),
                             "--port", "0", "--no-record"],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if "listening on" not in line:
        proc.kill()
        raise RuntimeError(f"fake upstream did not start: {line!r}")
    port = int(line.rsplit(":", 1)[1])
    return proc, port


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


# --- 1 and 2: sequential calls ---------------------------------------------------------------

def chat_body(stream):
    body = {"model": MODEL, "messages": [{"role": "user", "content": "Say hello."}]}
    if stream:
        body["stream"] = True
    return json.dumps(body).encode()


def headers(fake):
    return {"Content-Type": "application/json", "Authorization": "Bearer sk-bench",
            "X-Fake": fake}


def timed_call(conn, path, body, hdrs):
    t0 = time.perf_counter()
    conn.request("POST", path, body=body, headers=hdrs)
    r = conn.getresponse()
    data = r.read()
    t1 = time.perf_counter()
    if r.status != 200:
        raise RuntimeError(f"{path}: {r.status} {data[:200]!r}")
    return t1 - t0


def timed_stream(conn, path, body, hdrs, first_text):
    t0 = time.perf_counter()
    conn.request("POST", path, body=body, headers=hdrs)
    r = conn.getresponse()
    if r.status != 200:
        raise RuntimeError(f"{path}: {r.status} {r.read()[:200]!r}")
    seen = b""
    first = None
    while True:
        part = r.read1(65536)
        if not part:
            break
        seen += part
        if first is None and first_text in seen:
            first = time.perf_counter() - t0
    if first is None:
        raise RuntimeError(f"{path}: no content chunk in {seen[:300]!r}")
    return first


def sequential(fake_port, agent, calls, stream_calls, ttft_ms):
    direct = http.client.HTTPConnection("127.0.0.1", fake_port)
    proxied = http.client.HTTPConnection("127.0.0.1", agent.port)
    for c in (direct, proxied):
        c.connect()
        c.sock.setsockopt(6, 1, 1)  # TCP_NODELAY, as the SDKs' clients set it
    body = chat_body(False)
    h = headers("chunks=3")
    for _ in range(100):  # warm up both ways: connections, the proxy's pool
        timed_call(direct, "/v1/chat/completions", body, h)
        timed_call(proxied, "/proxy/openai/v1/chat/completions", body, h)
    d, p = [], []
    for _ in range(calls):
        d.append(timed_call(direct, "/v1/chat/completions", body, h))
        p.append(timed_call(proxied, "/proxy/openai/v1/chat/completions", body, h))
    non_streamed = print_pair(f"1. Non-streamed chat calls, {calls} each way, sequential, "
                              "keep-alive", d, p)

    body = chat_body(True)
    h = headers(f"chunks=3&ttft_ms={ttft_ms}")
    first = b'"content":"Hello"'
    for _ in range(20):
        timed_stream(direct, "/v1/chat/completions", body, h, first)
        timed_stream(proxied, "/proxy/openai/v1/chat/completions", body, h, first)
    before = agent.scrape()
    d, p = [], []
    for _ in range(stream_calls):
        d.append(timed_stream(direct, "/v1/chat/completions", body, h, first))
        p.append(timed_stream(proxied, "/proxy/openai/v1/chat/completions", body, h, first))
    streamed = print_pair(f"2. Streams: time to the first content chunk at the client, "
                          f"{stream_calls} each way, the fake waits {ttft_ms} ms", d, p)
    m = agent.scrape()
    n = (m.value("llm_ttft_seconds_count", model=MODEL) -
         (before.value("llm_ttft_seconds_count", model=MODEL) or 0))
    s = (m.value("llm_ttft_seconds_sum", model=MODEL) -
         (before.value("llm_ttft_seconds_sum", model=MODEL) or 0))
    print(f"  the agent's llm_ttft_seconds over these {int(n)} streams: mean {ms(s / n).strip()} "
          f"(the fake's delay {ttft_ms} ms: +{(s / n - ttft_ms / 1000) * 1000:.3f} ms)")
    direct.close()
    proxied.close()
    return non_streamed, streamed


# --- 3: many streams and the probes ----------------------------------------------------------

class Probe(threading.Thread):
    """Times one kind of request every `interval` s until stopped: a scrape or an event POST on
    a keep-alive connection, or a non-streamed proxied call on a new connection each time."""

    NAMES = {"scrape": "GET /metrics", "event": "POST /v1/events",
             "proxy": "proxied call, new connection"}

    def __init__(self, port, kind, interval):
        super().__init__(daemon=True)
        self.port = port
        self.kind = kind
        self.interval = interval
        self.times = []
        self.errors = 0
        self.stop_event = threading.Event()
        self.in_flight_seen = []

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        event = json.dumps({"model": "bench-events", "input_tokens": 10, "output_tokens": 5,
                            "latency": 0.5}).encode()
        while not self.stop_event.is_set():
            t0 = time.perf_counter()
            try:
                if self.kind == "scrape":
                    conn.request("GET", "/metrics")
                elif self.kind == "proxy":
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                    conn.request("POST", "/proxy/openai/v1/chat/completions",
                                 body=chat_body(False), headers=headers("chunks=3"))
                else:
                    conn.request("POST", "/v1/events", body=event,
                                 headers={"Content-Type": "application/json"})
                r = conn.getresponse()
                data = r.read()
                dt = time.perf_counter() - t0
                if r.status != 200:
                    self.errors += 1
                else:
                    self.times.append(dt)
                    if self.kind == "scrape":
                        for line in data.decode().split("\n"):
                            if line.startswith('llm_exporter_proxy_requests_in_flight{upstream='
                                               '"openai"}'):
                                self.in_flight_seen.append(float(line.split()[-1]))
            except (OSError, http.client.HTTPException):
                self.errors += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.stop_event.wait(max(0.0, self.interval - (time.perf_counter() - t0)))
        conn.close()


def run_probes(port, interval, seconds):
    probes = [Probe(port, kind, interval) for kind in ("scrape", "event", "proxy")]
    for p in probes:
        p.start()
    time.sleep(seconds)
    for p in probes:
        p.stop_event.set()
    for p in probes:
        p.join()
    return probes


async def one_stream(port, path, body, expected, results):
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Content-Type: application/json\r\nAuthorization: Bearer sk-bench\r\n"
                f"X-Fake: {body[1]}\r\nContent-Length: {len(body[0])}\r\n\r\n").encode()
        writer.write(head + body[0])
        data = bytearray()
        while not data.endswith(b"0\r\n\r\n") or b"[DONE]" not in data:
            part = await reader.read(65536)
            if not part:
                break
            data += part
        writer.close()
        results["complete" if b"data: [DONE]" in data and data.count(b'"content":"') >= expected
                else "incomplete"] += 1
    except OSError as e:
        results["errors"] += 1
        results.setdefault("first_error", repr(e))


async def many_streams(port, count, chunks, gap_ms, ramp_s,
                       path="/proxy/openai/v1/chat/completions"):
    results = {"complete": 0, "incomplete": 0, "errors": 0}
    body = (chat_body(True), f"chunks={chunks}&gap_ms={gap_ms}")
    tasks = []
    for i in range(count):
        tasks.append(asyncio.ensure_future(one_stream(port, path, body, chunks, results)))
        await asyncio.sleep(ramp_s / count)
    await asyncio.gather(*tasks)
    return results


def streams_phase(agent, port, path, streams, chunks, gap_ms, interval, gauge):
    """Opens `streams` streams to `port` (the agent's proxy or the fake itself) and probes the
    agent while all of them are open. Returns (outcome, probes, agent CPU s, elapsed s, RSS)."""
    duration = chunks * gap_ms / 1000
    ramp = min(5.0, duration / 4)
    cpu0, t0 = cpu_seconds(agent.proc.pid), time.monotonic()
    outcome = {}

    def client():
        outcome.update(asyncio.run(many_streams(port, streams, chunks, gap_ms, ramp, path)))

    thread = threading.Thread(target=client, daemon=True)
    thread.start()
    if gauge:
        # Probe once every stream is open, until shortly before the first ends.
        wait_until(lambda: parse_metrics(agent.get("/metrics").body.decode()).get(
            ("llm_exporter_proxy_requests_in_flight", frozenset({("upstream", "openai")})), 0)
            >= streams * 0.99, timeout=ramp + 30, interval=0.1, what=f"{streams} streams open")
    else:
        time.sleep(ramp + 0.5)
    rss = rss_mib(agent.proc.pid)
    probes = run_probes(agent.port, interval, max(1.0, duration - ramp - 3))
    thread.join()
    return outcome, probes, cpu_seconds(agent.proc.pid) - cpu0, time.monotonic() - t0, rss


def print_probes(rows):
    print(f"  {'':56} {'median':>10} {'p90':>10} {'p99':>10} {'max':>10} {'n':>5} {'err':>4}")
    for name, probes in rows:
        for p in probes:
            what = Probe.NAMES[p.kind] + ", " + name
            if not p.times:
                print(f"  {what:56} no successful request; errors {p.errors}")
                continue
            s = summary(p.times)
            print(f"  {what:56} {ms(s['median']):>10} {ms(s['p90']):>10} {ms(s['p99']):>10} "
                  f"{ms(s['max']):>10} {s['n']:>5} {p.errors:>4}")


def concurrent(agent, fake_port, streams, chunks, gap_ms, interval, control):
    duration = chunks * gap_ms / 1000
    idle = run_probes(agent.port, interval, min(10.0, duration / 2))
    rows = [("agent idle", idle)]
    if control:
        # The same streams straight to the fake: the machine as busy (client and fake), the
        # agent idle. What the probes lose here is the machine's, not the proxy's.
        outcome, probes, cpu, elapsed, _ = streams_phase(
            agent, fake_port, "/v1/chat/completions", streams, chunks, gap_ms, interval, False)
        rows.append((f"{streams} streams to the fake directly", probes))
        print(f"\n3a. Control: {streams} streams straight to the fake: complete "
              f"{outcome['complete']}, incomplete {outcome['incomplete']}, errors "
              f"{outcome['errors']}; agent CPU {cpu:.2f} s")
    outcome, probes, cpu, elapsed, rss = streams_phase(
        agent, agent.port, "/proxy/openai/v1/chat/completions", streams, chunks, gap_ms,
        interval, True)
    rows.append((f"{streams} streams through the proxy", probes))
    print(f"\n3. {streams} concurrent streams through the proxy, {chunks} chunks {gap_ms} ms "
          f"apart ({duration:.0f} s each, opened over {min(5.0, duration / 4):.1f} s)")
    print(f"  streams complete {outcome['complete']}, incomplete {outcome['incomplete']}, "
          f"errors {outcome['errors']} {outcome.get('first_error', '')}")
    print(f"  agent CPU {cpu:.2f} s over {elapsed:.1f} s ({100 * cpu / elapsed:.0f}% of a core); "
          f"RSS {rss:.1f} MiB with the streams open")
    in_flight = probes[0].in_flight_seen
    if in_flight:
        print(f"  llm_exporter_proxy_requests_in_flight seen by the scrapes: "
              f"{min(in_flight):.0f} to {max(in_flight):.0f}")
    print_probes(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agent-bin", default=os.environ.get(
        "LLM_EXPORTER_BIN", os.path.join(ROOT, "build", "llm_exporter")))
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--stream-calls", type=int, default=500)
    parser.add_argument("--ttft-ms", type=int, default=10)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--stream-chunks", type=int, default=60)
    parser.add_argument("--stream-gap-ms", type=int, default=500)
    parser.add_argument("--probe-interval-ms", type=int, default=100)
    parser.add_argument("--no-control", action="store_true",
                        help="skip the control run of the streams straight to the fake")
    parser.add_argument("--skip", default="",
                        help="parts to skip, comma-separated: sequential (1 and 2), streams (3)")
    args = parser.parse_args()

    # Each stream holds a socket in the client, two in the agent and one in the fake.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, 4 * args.streams + 1024))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    os.environ["LLM_EXPORTER_BIN"] = args.agent_bin
    import harness
    harness.BINARY = args.agent_bin
    fake, fake_port = start_fake()
    tmp = tempfile.TemporaryDirectory(prefix="llmx-proxy-bench-")
    try:
        config = os.path.join(tmp.name, "proxy.yaml")
        with open(config, "w") as f:
            f.write(f"upstreams:\n  - name: openai\n    kind: openai\n"
                    f"    url: http://127.0.0.1:{fake_port}\n")
        commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True).stdout.strip()
        print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; commit {commit}; "
              f"agent {args.agent_bin}; fake upstream on port {fake_port}; "
              f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}")
        with Agent([f"--proxy.config.file={config}"]) as agent:
            skip = set(args.skip.split(","))
            if "sequential" not in skip:
                sequential(fake_port, agent, args.calls, args.stream_calls, args.ttft_ms)
            if "streams" not in skip:
                concurrent(agent, fake_port, args.streams, args.stream_chunks,
                           args.stream_gap_ms, args.probe_interval_ms / 1000,
                           not args.no_control)
    finally:
        fake.terminate()
        fake.wait()
        tmp.cleanup()


if __name__ == "__main__":
    main()
