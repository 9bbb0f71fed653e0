"""What reporting one LLM call costs the app, for each way of sending it to the agent.

For each path it times the call an app makes per LLM call, in batches of 100 calls, and prints the
median and the 99th percentile of the per-call time over the batches, plus the app's whole CPU
time per event (process time over the run, its flush included, so a background sender thread's
work counts too). The peer is the seed's in-process `prometheus_client` collector (counters and
histograms updated in the app, nothing sent), timed in the same run: the last column is each
path's median over the peer's.

    python3 bench/app_side.py [--agent build/llm_exporter] [--events 20000]

Python paths are measured here; the Node.js ones (examples/node's reporter and an OpenTelemetry
span through the JS SDK's BatchSpanProcessor) by bench/app_side.mjs, which this script runs when
`node` and the npm packages are installed. Nothing asserts a time: it prints what it measured.
"""
import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import http.client

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "tests", "integration"), os.path.join(ROOT, "examples", "python"),
                os.path.join(ROOT, "examples", "fastapi"), os.path.join(ROOT, "examples", "evaluation")]

import harness  # noqa: E402

BATCH = 100
EVENT = {"model": "gpt-4o", "endpoint": "/chat", "input_tokens": 1200, "output_tokens": 350,
         "latency": 1.8, "ttft": 0.4, "user_id": "u42", "team_id": "search"}


def timed(call, events):
    """(median µs, p99 µs, CPU µs per event) of `call(i)` over `events` calls, timed per batch."""
    per_call = []
    cpu0 = time.process_time()
    for start in range(0, events, BATCH):
        t0 = time.perf_counter_ns()
        for i in range(start, start + BATCH):
            call(i)
        per_call.append((time.perf_counter_ns() - t0) / BATCH / 1000)
    return per_call, cpu0


def summarise(name, per_call, cpu0, events, note=""):
    cpu = (time.process_time() - cpu0) / events * 1e6
    q = statistics.quantiles(per_call, n=100)
    return {"path": name, "median_us": statistics.median(per_call), "p99_us": q[98],
            "cpu_us": cpu, "note": note}


def seed_peer(events):
    """The seed's collector: prometheus_client counters and histograms in the app's process."""
    from prometheus_client import CollectorRegistry, Counter, Histogram
    r = CollectorRegistry()
    requests = Counter("llm_requests", "", ["model", "endpoint", "status"], registry=r)
    tokens = Counter("llm_tokens", "", ["model", "direction"], registry=r)
    cost = Counter("llm_cost_usd", "", ["model", "user_id", "team_id"], registry=r)
    latency = Histogram("llm_request_duration_seconds", "", ["model", "endpoint"],
                        buckets=[0.1, 0.5, 1, 2, 5, 10, 30], registry=r)
    ttft = Histogram("llm_ttft_seconds", "", ["model"], buckets=[0.1, 0.25, 0.5, 1, 2, 5],
                     registry=r)
    prices = {"gpt-4o": {"input": 0.0025, "output": 0.01}}

    def track(i):
        requests.labels(model="gpt-4o", endpoint="/chat", status="success").inc()
        tokens.labels(model="gpt-4o", direction="input").inc(1200)
        tokens.labels(model="gpt-4o", direction="output").inc(350)
        p = prices.get("gpt-4o", {"input": 0.01, "output": 0.03})
        cost.labels(model="gpt-4o", user_id="u42", team_id="search").inc(
            (1200 * p["input"] + 350 * p["output"]) / 1000)
        latency.labels(model="gpt-4o", endpoint="/chat").observe(1.8)
        ttft.labels(model="gpt-4o").observe(0.4)

    return summarise("seed: prometheus_client in the app (peer)", *timed(track, events), events,
                     "no agent; every process keeps and serves its own metrics")


def reporter(agent, events):
    import llm_metrics
    r = llm_metrics.Reporter(url=agent.url, max_queue=events + 1)

    def track(i):
        r.track_llm_call("gpt-4o", "/chat", 1200, 350, latency=1.8, ttft=0.4, user_id="u42",
                         team_id="search")

    per_call, cpu0 = timed(track, events)
    r.flush(timeout=60)
    r.close()
    return summarise("examples/python/llm_metrics.py (batched, background thread)", per_call,
                     cpu0, events, f"dropped {r.dropped}")


def http_per_event(agent, events):
    conn = http.client.HTTPConnection("127.0.0.1", agent.port, timeout=10)

    def post(i):
        conn.request("POST", "/v1/events", body=json.dumps(EVENT),
                     headers={"Content-Type": "application/json"})
        conn.getresponse().read()

    result = summarise("JSON over HTTP, one POST per event (keep-alive)", *timed(post, events),
                       events, "the app waits for the agent's answer")
    conn.close()
    return result


def unix_socket(path, events):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)

    def send(i):
        s.sendall(json.dumps(EVENT).encode() + b"\n")

    result = summarise("NDJSON on the unix stream socket, one write per event", *timed(send, events),
                       events, "no answer; refusals only in the agent's self-metrics")
    s.close()
    return result


def stream_chunks(pieces=50):
    """A streamed answer as the wrappers see it: a role chunk, `pieces` deltas, the usage chunk."""
    chunks = [{"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
    chunks += [{"choices": [{"index": 0, "delta": {"content": "tok "}}]}] * pieces
    chunks.append({"choices": [], "usage": {"prompt_tokens": 1200, "completion_tokens": 350}})
    return chunks


def openai_wrapper(agent, events):
    """llm_openai.CallMeter over one streamed answer of 50 deltas: what the TTFT wrapper adds to
    reading the stream (the SSE parsing the app needs anyway is not counted)."""
    import llm_metrics
    import llm_openai
    r = llm_metrics.Reporter(url=agent.url, max_queue=events + 1)
    chunks = stream_chunks()

    def call(i):
        meter = llm_openai.CallMeter("gpt-4o", "/chat", "u42", "search", reporter=r)
        meter.started()
        for chunk in chunks:
            meter.chunk(chunk)
        meter.finish()

    per_call, cpu0 = timed(call, events)
    r.flush(timeout=60)
    r.close()
    return summarise("examples/python/llm_openai.py: CallMeter over a 50-delta stream", per_call,
                     cpu0, events, f"per call, not per delta; dropped {r.dropped}")


def fastapi_app(agent, requests):
    """examples/fastapi: one /chat request through the app in process (httpx's ASGI transport, a
    model that answers at once), minus the same request to a bare FastAPI app with the same
    endpoint and no middleware, meter or reporting: what the example adds to a request."""
    try:
        import httpx
        from fastapi import FastAPI
        import app as example
    except ImportError as e:
        return None, f"FastAPI paths skipped: {e} (Debian: python3-fastapi python3-uvicorn python3-httpx)"
    import llm_metrics
    chunks = stream_chunks()

    class InstantModel:
        async def stream_chat(self, model, messages):
            for chunk in chunks:
                yield chunk

    bare = FastAPI()

    @bare.post("/chat")
    async def chat(body: example.ChatRequest):
        text = []
        async for chunk in InstantModel().stream_chat("gpt-4o", []):
            choices = chunk.get("choices")
            if choices:
                text.append(choices[0]["delta"].get("content") or "")
        return {"response": "".join(text)}

    r = llm_metrics.Reporter(url=agent.url, max_queue=requests + 1)
    instrumented = example.create_app(llm_client=InstantModel(), reporter=r, default_model="gpt-4o")
    headers = {"X-User-ID": "u42", "X-Team-ID": "search",
               "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}

    def per_request(asgi):
        async def run():
            async with httpx.AsyncClient(app=asgi, base_url="http://app") as client:
                for _ in range(200):  # warm up
                    await client.post("/chat", json={"query": "hi"}, headers=headers)
                times = []
                for start in range(0, requests, BATCH):
                    t0 = time.perf_counter_ns()
                    for _ in range(BATCH):
                        await client.post("/chat", json={"query": "hi"}, headers=headers)
                    times.append((time.perf_counter_ns() - t0) / BATCH / 1000)
                return times
        cpu0 = time.process_time()
        times = asyncio.run(run())
        return times, cpu0

    bare_times, bare_cpu0 = per_request(bare)
    bare_row = summarise("FastAPI: a bare /chat, no middleware, no reporting (baseline)",
                         bare_times, bare_cpu0, requests)
    times, cpu0 = per_request(instrumented)
    r.flush(timeout=60)
    row = summarise("examples/fastapi: /chat with the middleware, meter and reporting", times,
                    cpu0, requests)
    r.close()
    added = row["median_us"] - bare_row["median_us"]
    row["note"] = f"adds {added:.1f}µs to the bare app's request; dropped {r.dropped}"
    return [bare_row, row], None


def evaluation_submit(agent, events):
    """examples/evaluation: what EvaluationPipeline.submit() costs the request path (sampling at
    10% and queueing; the judge's calls run later, off the path)."""
    import llm_metrics
    import pipeline

    class InstantJudge:
        async def complete(self, prompt):
            return '{"overall": 4}'

    calls = [pipeline.CompletedCall(f"{i:032x}", "q", "a", "gpt-4o") for i in range(events)]
    r = llm_metrics.Reporter(url=agent.url, max_queue=events + 1)

    async def run():
        evaluation = pipeline.EvaluationPipeline(InstantJudge(), r, sample_rate=0.1,
                                                 max_queue=events + 1)
        evaluation.start()
        per_call, cpu0 = timed(lambda i: evaluation.submit(calls[i]), events)
        await evaluation.close()
        return per_call, cpu0, evaluation.stats

    per_call, cpu0, stats = asyncio.run(run())
    r.flush(timeout=60)
    r.close()
    return summarise("examples/evaluation: EvaluationPipeline.submit(), 10% sampled", per_call,
                     cpu0, events, f"scored {stats.scored} off the path; dropped {r.dropped}")


def node_paths(agent, events):
    """Runs bench/app_side.mjs; its rows, or [] with the reason it was skipped."""
    node = shutil.which("node")
    script = os.path.join(ROOT, "bench", "app_side.mjs")
    if not node:
        return [], "node is not installed"
    out = subprocess.run([node, script, agent.url, str(events)], capture_output=True, text=True,
                         timeout=600)
    if out.returncode != 0:
        return [], f"bench/app_side.mjs failed: {out.stderr.strip()[-300:]}"
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")], None


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--agent", default=harness.BINARY, help="the llm_exporter binary")
    p.add_argument("--events", type=int, default=20_000, help="events per path")
    args = p.parse_args()
    harness.BINARY = args.agent
    tmp = tempfile.mkdtemp(prefix="llmx-app-")
    sock = os.path.join(tmp, "events.sock")
    rows = [seed_peer(args.events)]
    with harness.Agent([f"--ingest.listen-unix={sock}", "--log.level=warn"]) as agent:
        rows.append(reporter(agent, args.events))
        rows.append(unix_socket(sock, args.events))
        rows.append(http_per_event(agent, min(args.events, 5_000)))
        rows.append(openai_wrapper(agent, args.events))
        fastapi_rows, fastapi_skipped = fastapi_app(agent, min(args.events, 5_000))
        rows += fastapi_rows or []
        rows.append(evaluation_submit(agent, args.events))
        node_rows, skipped = node_paths(agent, args.events)
        rows += node_rows
    shutil.rmtree(tmp, ignore_errors=True)
    peer = rows[0]["median_us"]
    print(f"{'path':<64} {'median':>9} {'p99':>9} {'app CPU':>9} {'× peer':>7}")
    for r in rows:
        print(f"{r['path']:<64} {r['median_us']:>7.2f}µs {r['p99_us']:>7.2f}µs "
              f"{r['cpu_us']:>7.2f}µs {r['median_us'] / peer:>7.2f}  {r.get('note', '')}")
    if fastapi_skipped:
        print(fastapi_skipped)
    if skipped:
        print(f"Node.js paths skipped: {skipped}")


if __name__ == "__main__":
    main()
