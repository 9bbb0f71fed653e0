#!/usr/bin/env python3
"""Remote write at scale: the "Remote write" rows of bench/README.md.

  bench/remote_write.py [--build build-bench] [--prometheus prometheus]
                        [--series 10000,100000,1000000] [--fleet 10x1000,50x1000,...]
                        [--only agent|fleet]

1. One agent (per N of --series): a fresh Prometheus started with
   --web.enable-remote-write-receiver, a fresh agent pushing to it (send_interval from
   --interval-for), N distinct cost series posted by `llm_exporter_loadgen --mode=scrape`. Once a
   snapshot taken after the fill is delivered, it measures
   - a window of --cpu-snapshots intervals (--cpu-window seconds at least) with no scrape of
     the agent: the agent's CPU from /proc, llm_exporter_remote_write_samples_sent_total, and
     the receiver's prometheus_tsdb_head_samples_appended_total and CPU;
   - then --timed-snapshots snapshots, reading the agent's /metrics once in each: samples per
     snapshot, llm_exporter_remote_write_snapshot_seconds (taking and encoding it), and the time
     from its timestamp until its last request was answered (last_send_timestamp -
     highest_sent_timestamp); what one agent sustains is samples per snapshot over that time.
2. A fleet (per AxS[:SECONDS] of --fleet): a fresh Prometheus fed by `llm_exporter_loadgen
   --mode=remote-write`, A simulated agents of S series each, as fast as they are answered, for
   SECONDS (--fleet-seconds when not given). The load generator shares the machine with the
   receiver.

Prints each command, the figures, and at the end both tables in Markdown. Standard library only;
every step is bounded in time, everything listens on 127.0.0.1, and every process it started is
stopped on exit.
"""
import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIB = 2 ** 20


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")


def scrape(port, prefixes, timeout=120):
    """Sums of the samples whose names start with one of `prefixes`, by name, from GET /metrics
    (labels summed over), and the seconds the scrape took."""
    start = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/metrics", headers={"Accept": "text/plain"})
        response = conn.getresponse()
        if response.status != 200:
            raise RuntimeError(f"GET /metrics on port {port} answered {response.status}")
        values = {}
        for raw in response:
            if not raw.startswith(prefixes):
                continue
            m = SAMPLE.match(raw.decode())
            if m:
                values[m.group(1)] = values.get(m.group(1), 0.0) + float(m.group(3))
    finally:
        conn.close()
    return values, time.monotonic() - start


class Process:
    """A child process stopped with SIGTERM (then SIGKILL) on exit; its output goes to a file."""

    def __init__(self, argv, log_path, ready_url, ready_timeout=60):
        self.argv = argv
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + ready_timeout
        while True:
            try:
                with urllib.request.urlopen(ready_url, timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                with open(log_path, errors="replace") as f:
                    tail = f.read()[-600:]
                raise RuntimeError(f"{argv[0]} did not start: {tail}")
            time.sleep(0.1)

    @property
    def pid(self):
        return self.proc.pid

    def stop(self, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start_prometheus(binary, tmp, tag):
    """A fresh Prometheus receiving remote write, with no scrape jobs of its own."""
    port = free_port()
    config = os.path.join(tmp, "prometheus.yml")
    with open(config, "w") as f:
        f.write("global:\n  scrape_interval: 1m\n")
    data = os.path.join(tmp, f"tsdb-{tag}")
    argv = [binary, f"--config.file={config}", f"--storage.tsdb.path={data}",
            f"--web.listen-address=127.0.0.1:{port}", "--web.enable-remote-write-receiver",
            "--log.level=warn"]
    print("$ " + " ".join(argv).replace(tmp, "TMP").replace(str(port), "PORT"), flush=True)
    p = Process(argv, os.path.join(tmp, "prometheus.log"), f"http://127.0.0.1:{port}/-/ready")
    p.port = port
    p.data = data
    return p


def prometheus_appended(port):
    values, _ = scrape(port, (b"prometheus_tsdb_head_samples_appended_total",
                              b"prometheus_tsdb_head_series "))
    return (values.get("prometheus_tsdb_head_samples_appended_total", 0.0),
            values.get("prometheus_tsdb_head_series", 0.0))


RW = "llm_exporter_remote_write_"


def agent_state(port):
    values, seconds = scrape(port, (RW.encode(), b"process_"))
    return {k[len(RW):] if k.startswith(RW) else k: v for k, v in values.items()}, seconds


def one_agent(args, tmp, series):
    interval = args.interval_for.get(series, 15)
    with start_prometheus(args.prometheus, tmp, f"agent-{series}") as prom:
        rw_config = os.path.join(tmp, "remote_write.yml")
        with open(rw_config, "w") as f:
            f.write(f"""remote_write:
  - url: http://127.0.0.1:{prom.port}/api/v1/write
    name: prometheus
    send_interval: {interval:g}s
    remote_timeout: 60s
    queue_config:
      capacity: 10
      max_samples_per_send: 2000
""")
        port = free_port()
        argv = [args.agent, f"--web.listen-address=127.0.0.1:{port}", "--ingest.listen-unix=",
                f"--metrics.max-series-per-family={series * 2}",
                f"--remote-write.config.file={rw_config}", "--log.level=warn"]
        print("$ " + " ".join(argv).replace(tmp, "TMP").replace(str(port), "APORT"), flush=True)
        print(f"  (TMP/remote_write.yml: url http://127.0.0.1:PORT/api/v1/write, send_interval "
              f"{interval:g}s, remote_timeout 60s, capacity 10, max_samples_per_send 2000)")
        with Process(argv, os.path.join(tmp, "agent.log"),
                     f"http://127.0.0.1:{port}/-/ready") as agent:
            fill = [args.loadgen, "--mode=scrape", f"--address=127.0.0.1:{port}",
                    f"--series={series}", "--batch=1000", "--repeat=1"]
            print("$ " + " ".join(fill).replace(str(port), "APORT"), flush=True)
            subprocess.run(fill, check=True, timeout=300, stdout=subprocess.DEVNULL)
            filled = time.time()
            print(f"  filled {series} cost series; waiting for a snapshot taken after the fill "
                  f"to be delivered, and for the queue to be empty", flush=True)

            # 1. The first snapshot of every series, in which the receiver creates them; then
            # whatever queued up meanwhile.
            deadline = time.monotonic() + args.settle_timeout
            poll = max(1.0, interval / 5)
            first = None
            while True:
                state, _ = agent_state(port)
                sent_ts = state.get("highest_sent_timestamp_seconds", 0)
                if first is None and sent_ts >= filled:
                    first = {"samples": state["snapshot_samples"],
                             "deliver": state["last_send_timestamp_seconds"] - sent_ts,
                             "queued": state["queue_length"]}
                    print(f"  first full snapshot: {first['samples']:.0f} samples, taken and "
                          f"delivered in {first['deliver']:.2f} s (series new to the receiver); "
                          f"queue {first['queued']:.0f}", flush=True)
                if first is not None and sent_ts >= state["highest_timestamp_seconds"]:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{series} series: no snapshot taken after the fill was "
                                       f"delivered within {args.settle_timeout} s: {state}")
                time.sleep(poll)

            # 2. The CPU window: nothing reads the agent's /metrics meanwhile.
            sent0 = state["samples_sent_total"]
            cpu0, t0 = proc_cpu_seconds(agent.pid), time.monotonic()
            pcpu0 = proc_cpu_seconds(prom.pid)
            appended0, _ = prometheus_appended(prom.port)
            time.sleep(max(args.cpu_snapshots * interval, args.cpu_window))
            cpu1, t1 = proc_cpu_seconds(agent.pid), time.monotonic()
            pcpu1 = proc_cpu_seconds(prom.pid)
            appended1, head_series = prometheus_appended(prom.port)
            state, _ = agent_state(port)
            sent1 = state["samples_sent_total"]
            window = {
                "seconds": t1 - t0,
                "sent": sent1 - sent0,
                "agent_cpu": cpu1 - cpu0,
                "appended": appended1 - appended0,
                "receiver_cpu": pcpu1 - pcpu0,
                "head_series": head_series,
            }
            sent_rate = window["sent"] / window["seconds"]
            print(f"  window of {window['seconds']:.1f} s (no scrapes of the agent): "
                  f"{window['sent']:.0f} samples sent ({sent_rate:.0f}/s), agent CPU "
                  f"{window['agent_cpu']:.2f} s; receiver appended {window['appended']:.0f} "
                  f"({window['appended'] / window['seconds']:.0f}/s), CPU "
                  f"{window['receiver_cpu']:.2f} s, head series {head_series:.0f}", flush=True)

            # 3. Timed snapshots: one read of the agent after each, when it has been delivered.
            timed = []
            last_ts = state["highest_timestamp_seconds"]
            deadline = time.monotonic() + (args.timed_snapshots + 3) * interval + 120
            while len(timed) < args.timed_snapshots and time.monotonic() < deadline:
                # Late in the interval of the snapshot after last_ts, when it has had most of its
                # interval to go out; read a little later again if it has not been taken yet.
                time.sleep(max(interval * 0.1, last_ts + interval * 1.9 - time.time()))
                state, took = agent_state(port)
                if state["highest_timestamp_seconds"] <= last_ts:
                    continue
                last_ts = state["highest_timestamp_seconds"]
                done = state["highest_sent_timestamp_seconds"] >= last_ts
                timed.append({
                    "samples": state["snapshot_samples"],
                    "encode": state["snapshot_seconds"],
                    "deliver": (state["last_send_timestamp_seconds"] - last_ts) if done else None,
                    "lag": last_ts - state["highest_sent_timestamp_seconds"],
                    "queue": state["queue_length"],
                })
                t = timed[-1]
                print(f"  snapshot: {t['samples']:.0f} samples, taken in "
                      f"{t['encode'] * 1e3:.0f} ms, "
                      + (f"taken and delivered in {t['deliver']:.2f} s" if done else
                         f"not yet delivered (delivery lag {t['lag']:.1f} s, queue "
                         f"{t['queue']:.0f})")
                      + f"; reading /metrics took {took:.2f} s", flush=True)
            agent_rss = proc_rss_bytes(agent.pid)
            receiver_rss = proc_rss_bytes(prom.pid)
            print(f"  agent RSS {agent_rss / MIB:.1f} MiB, receiver RSS {receiver_rss / MIB:.1f} "
                  f"MiB", flush=True)
    shutil.rmtree(prom.data, ignore_errors=True)

    delivered = [t for t in timed if t["deliver"] is not None]
    samples = timed[-1]["samples"] if timed else first["samples"]
    encode = sorted(t["encode"] for t in timed)[len(timed) // 2] if timed else float("nan")
    deliver = sorted(t["deliver"] for t in delivered)[len(delivered) // 2] if delivered else None
    cpu_per_sample = window["agent_cpu"] / window["sent"] if window["sent"] else None
    return {
        "series": series, "interval": interval, "samples": samples, "encode": encode,
        "deliver": deliver, "first_deliver": first["deliver"],
        "sustained": samples / deliver if deliver else None,
        "sent_rate": window["sent"] / window["seconds"],
        "appended_rate": window["appended"] / window["seconds"],
        "cpu_per_million": cpu_per_sample * 1e6 if cpu_per_sample else None,
        "cpu_per_snapshot": cpu_per_sample * samples if cpu_per_sample else None,
        "receiver_cpu_per_million": (window["receiver_cpu"] / window["appended"] * 1e6
                                     if window["appended"] else None),
        "lags": [t["lag"] for t in timed],
        "agent_rss": agent_rss, "receiver_rss": receiver_rss,
    }


RESULT = re.compile(r"^RESULT .*")


def fleet(args, tmp, agents, series, seconds):
    with start_prometheus(args.prometheus, tmp, f"fleet-{agents}x{series}") as prom:
        argv = [args.loadgen, "--mode=remote-write",
                f"--address=http://127.0.0.1:{prom.port}/api/v1/write", f"--agents={agents}",
                f"--series={series}", "--interval=0", f"--duration={seconds:g}",
                f"--receiver-pid={prom.pid}", "--timeout=60"]
        print("$ " + " ".join(argv).replace(str(prom.port), "PORT")
              .replace(f"={prom.pid}", "=PID"), flush=True)
        run = subprocess.run(argv, capture_output=True, text=True,
                             timeout=seconds + 180)
        print(run.stdout, end="", flush=True)
        if run.returncode != 0:
            print(f"  (the load generator exited {run.returncode}: {run.stderr.strip()[:300]})")
        _, head_series = prometheus_appended(prom.port)
    shutil.rmtree(prom.data, ignore_errors=True)
    fields = {}
    for line in run.stdout.splitlines():
        if RESULT.match(line):
            fields = dict(kv.split("=", 1) for kv in line.split()[1:])
    steady = re.search(r"from then on (\d+) samples/s", run.stdout)
    cpu = re.search(r"([\d.]+) us CPU per accepted sample(?: \(([\d.]+) once)?", run.stdout)
    all_series = re.search(r"series existed at ([\d.]+) s", run.stdout)
    loadgen_cpu = re.search(r"loadgen:\s+([\d.]+) s CPU", run.stdout)
    return {
        "agents": agents, "series": series, "ok": run.returncode == 0,
        "rate": float(fields.get("samples_per_s", 0)),
        "steady": float(steady.group(1)) if steady else None,
        "all_series_at": float(all_series.group(1)) if all_series else None,
        "requests": float(fields.get("requests_per_s", 0)),
        "failed": int(fields.get("failed_requests", 0)),
        "cores": float(fields.get("receiver_cores", 0)),
        "us_per_sample": float(cpu.group(1)) if cpu else None,
        "us_per_sample_steady": float(cpu.group(2)) if cpu and cpu.group(2) else None,
        "rss": float(fields.get("receiver_rss_mib", 0)),
        "loadgen_cores": float(loadgen_cpu.group(1)) / seconds if loadgen_cpu else None,
        "seconds": seconds,
        "head_series": head_series,
    }


def fmt(value, spec, missing="–"):
    return missing if value is None else format(value, spec)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build-bench"))
    parser.add_argument("--agent", help="default: BUILD/llm_exporter")
    parser.add_argument("--loadgen", help="default: BUILD/llm_exporter_loadgen")
    parser.add_argument("--prometheus", default="prometheus")
    parser.add_argument("--series", default="10000,100000,1000000")
    parser.add_argument("--interval-for", default="10000:2,100000:10,1000000:15",
                        help="send_interval in seconds for each N (N:S,...); 15 otherwise")
    parser.add_argument("--cpu-snapshots", type=int, default=3)
    parser.add_argument("--cpu-window", type=float, default=20,
                        help="seconds of the CPU window at least (/proc counts in 10 ms ticks)")
    parser.add_argument("--timed-snapshots", type=int, default=3)
    parser.add_argument("--settle-timeout", type=float, default=240)
    parser.add_argument("--fleet",
                        default="10x1000,50x1000,100x1000,10x10000,50x10000:40,100x10000:60",
                        help="AGENTSxSERIES[:SECONDS],...: the rows of the fleet table")
    parser.add_argument("--fleet-seconds", type=float, default=20,
                        help="seconds of a fleet row that names none")
    parser.add_argument("--only", choices=["agent", "fleet"])
    args = parser.parse_args()
    args.agent = args.agent or os.path.join(args.build, "llm_exporter")
    args.loadgen = args.loadgen or os.path.join(args.build, "llm_exporter_loadgen")
    args.interval_for = {int(n): float(s) for n, s in
                         (pair.split(":") for pair in args.interval_for.split(","))}
    version = subprocess.run([args.prometheus, "--version"], capture_output=True, text=True)
    revision = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short=12", "HEAD"],
                              capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "diff", "--quiet"]).returncode != 0
    print(f"remote write at scale: {os.cpu_count()} cores, "
          f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}, load average "
          f"{' '.join(open('/proc/loadavg').read().split()[:3])}")
    print(f"revision {revision}{' (+ uncommitted changes)' if dirty else ''}; receiver: "
          f"{(version.stdout or version.stderr).splitlines()[0]}", flush=True)

    agent_rows, fleet_rows = [], []
    tmp = tempfile.mkdtemp(prefix="llmx-rw.")
    try:
        if args.only in (None, "agent"):
            for n in (int(x) for x in args.series.split(",")):
                print(f"==== one agent, {n} cost series", flush=True)
                agent_rows.append(one_agent(args, tmp, n))
        if args.only in (None, "fleet"):
            for spec in args.fleet.split(","):
                shape, _, seconds = spec.partition(":")
                agents, series = (int(x) for x in shape.split("x"))
                seconds = float(seconds) if seconds else args.fleet_seconds
                print(f"==== fleet: {agents} agents x {series} series, as fast as answered, "
                      f"{seconds:g} s", flush=True)
                fleet_rows.append(fleet(args, tmp, agents, series, seconds))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    if agent_rows:
        print("\n| cost series | send_interval | samples/snapshot | taken (encode) | taken and "
              "delivered | sustains (samples/s) | needed at send_interval (samples/s) | first "
              "snapshot (new series) | agent CPU per 1M samples | agent CPU per snapshot | "
              "agent RSS | receiver RSS | receiver CPU per 1M samples | sent / appended in the "
              "window (samples/s) |")
        print("|" + "---|" * 14)
        for r in agent_rows:
            print(f"| {r['series']:,} | {r['interval']:g} s | {r['samples']:,.0f} | "
                  f"{r['encode'] * 1e3:,.0f} ms | {fmt(r['deliver'], '.2f')} s | "
                  f"{fmt(r['sustained'], ',.0f')} | {r['samples'] / r['interval']:,.0f} | "
                  f"{r['first_deliver']:.2f} s | {fmt(r['cpu_per_million'], '.2f')} s | "
                  f"{fmt(r['cpu_per_snapshot'], '.2f')} s | {r['agent_rss'] / MIB:,.0f} MiB | "
                  f"{r['receiver_rss'] / MIB:,.0f} MiB | "
                  f"{fmt(r['receiver_cpu_per_million'], '.2f')} s | "
                  f"{r['sent_rate']:,.0f} / {r['appended_rate']:,.0f} |")
    if fleet_rows:
        print("\n| agents × series | samples/s accepted | once every series existed | series all "
              "created at | requests/s | failed requests | receiver cores | receiver µs CPU "
              "per sample (steady) | receiver RSS max | load generator cores |")
        print("|" + "---|" * 10)
        for r in fleet_rows:
            print(f"| {r['agents']} × {r['series']:,} ({r['seconds']:g} s) | {r['rate']:,.0f} | "
                  f"{fmt(r['steady'], ',.0f')} | {fmt(r['all_series_at'], '.1f')} s | "
                  f"{r['requests']:,.0f} | {r['failed']} | {r['cores']:.2f} | "
                  f"{fmt(r['us_per_sample'], '.2f')} ({fmt(r['us_per_sample_steady'], '.2f')}) | "
                  f"{r['rss']:,.0f} MiB | {fmt(r['loadgen_cores'], '.2f')} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
