"""Checks the app-side examples against the real agent, with exact metric values:
examples/python/llm_openai.py and the FastAPI app's httpx client against a fake OpenAI-compatible
server with a known first-token delay, the FastAPI app (examples/fastapi) under uvicorn with a fake
model client, and the evaluation pipeline (examples/evaluation) with a fake judge.

    LLM_EXPORTER_BIN=build/llm_exporter python3 tests/integration/test_app_examples.py

Time is never asserted except against known delays: the fake server waits FIRST_TOKEN_DELAY
before the first content chunk, so a measured TTFT is at least that, and it lands in the bucket
above it, (0.5, 1], with 0.4 s to spare. The FastAPI tests drive the app's clock from the fake
model client, so their latencies and TTFTs are exact.
"""
import asyncio
import hashlib
import http.client
import http.server
import importlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.normpath(os.path.join(HERE, "..", "..", "examples"))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(EXAMPLES, "python"))
sys.path.insert(0, os.path.join(EXAMPLES, "fastapi"))
sys.path.insert(0, os.path.join(EXAMPLES, "evaluation"))

import harness  # noqa: E402
from harness import Agent, free_port, wait_until  # noqa: E402
import llm_metrics  # noqa: E402
import llm_openai  # noqa: E402
from test_examples import (GPT4O, MINI, LATENCY_LE, TTFT_LE, QUALITY_LE,  # noqa: E402
                           MetricsAssertions, le_label)

try:
    import fastapi  # noqa: F401
    import httpx
    import uvicorn
    MISSING = None
except ImportError as e:  # python3-fastapi, python3-uvicorn, python3-httpx
    MISSING = str(e)

# Skipped only on a developer machine without the Debian packages; in CI ($CI set) they must be
# there, and their absence fails the tests instead.
needs_packages = unittest.skipIf(MISSING and not os.environ.get("CI"),
                                 f"needs python3-fastapi, python3-uvicorn, python3-httpx: {MISSING}")


class NeedsPackages:
    """With $CI set, the Debian packages are required: their absence fails, not skips."""

    def setUp(self):
        if MISSING:
            self.fail(f"$CI is set but python3-fastapi, python3-uvicorn or python3-httpx is "
                      f"missing: {MISSING}")
        super().setUp()


needs_agent = unittest.skipUnless("LLM_EXPORTER_BIN" in os.environ or os.access(harness.BINARY, os.X_OK),
                                  f"no agent binary at {harness.BINARY}")

FIRST_TOKEN_DELAY = 0.6  # in TTFT bucket (0.5, 1] and latency bucket (0.5, 1]
PIECES = ["Hel", "lo", ", wor", "ld"]
USAGE = {"prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500,
         "prompt_tokens_details": {"cached_tokens": 1000},
         "completion_tokens_details": {"reasoning_tokens": 120}}
# A price table with a cached-input rate, so that the cost shows the cached tokens were sent.
PRICES = {"models": {GPT4O: {"input": 0.0025, "output": 0.01, "cached_input": 0.00125},
                     MINI: {"input": 0.00015, "output": 0.0006, "cached_input": 0.000075}}}
OPENMETRICS = {"Accept": "application/openmetrics-text; version=1.0.0"}


class FakeOpenAI(http.server.ThreadingHTTPServer):
    """An OpenAI-compatible POST /v1/chat/completions on a free port, chunked like the real one.

    A request for a JSON object (response_format) is answered with a judge's verdict, overall 4.
    The last message's content picks the behaviour: "please fail" answers HTTP 500; "please cut"
    sends one content chunk, then drops the connection; "please hold" waits for `release` after
    the first content chunk; anything else streams PIECES. Streams send the role chunk at once
    and the first content chunk after FIRST_TOKEN_DELAY; a non-streamed answer waits as long.
    """
    daemon_threads = True

    def __init__(self):
        self.requests = []  # (headers, body) of each request
        self.release = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append((dict(self.headers), body))
                query = body["messages"][-1]["content"]
                if self.path != "/v1/chat/completions":
                    return self.answer(404, {"error": {"message": "no such path"}})
                if query == "please fail":
                    return self.answer(500, {"error": {"message": "the model is down"}})
                if not body.get("stream"):
                    time.sleep(FIRST_TOKEN_DELAY)
                    content = "".join(PIECES)
                    if body.get("response_format") == {"type": "json_object"}:  # a judge
                        content = json.dumps({"relevance": 5, "accuracy": 4, "helpfulness": 4,
                                              "overall": 4})
                    return self.answer(200, {
                        "id": "chatcmpl-1", "object": "chat.completion", "model": body["model"],
                        "choices": [{"index": 0, "finish_reason": "stop", "message": {
                            "role": "assistant", "content": content}}],
                        "usage": USAGE})
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.event({"role": "assistant", "content": ""})
                time.sleep(FIRST_TOKEN_DELAY)
                for i, piece in enumerate(PIECES):
                    self.event({"content": piece})
                    if query == "please cut":
                        self.close_connection = True
                        return  # no further chunk, no terminating zero-length chunk
                    if query == "please hold" and i == 0:
                        server.release.wait(30)
                self.event({}, finish_reason="stop")
                if (body.get("stream_options") or {}).get("include_usage"):
                    self.chunk({"id": "chatcmpl-1", "object": "chat.completion.chunk",
                                "model": body["model"], "choices": [], "usage": USAGE})
                self.write_chunk(b"data: [DONE]\n\n")
                self.write_chunk(b"")

            def event(self, delta, finish_reason=None):
                self.chunk({"id": "chatcmpl-1", "object": "chat.completion.chunk",
                            "choices": [{"index": 0, "delta": delta,
                                         "finish_reason": finish_reason}]})

            def chunk(self, payload):
                self.write_chunk(b"data: " + json.dumps(payload).encode() + b"\n\n")

            def write_chunk(self, data):
                try:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    self.wfile.flush()
                except OSError:
                    pass  # the client closed the stream early

            def answer(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}/v1"
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def stop(self):
        self.release.set()
        self.shutdown()
        self.server_close()


def exemplar(metrics_text, series):
    """The exemplar labels of the sample line starting with `series` (name and labels)."""
    for line in metrics_text.split("\n"):
        if line.startswith(series + " "):
            match = re.search(r" # \{(.*)\} ", line)
            return dict(re.findall(r'(\w+)="([^"]*)"', match.group(1))) if match else {}
    raise AssertionError(f"no sample {series} in the scrape")


def agent_with_prices(test):
    """An Agent priced by PRICES; the file is removed after the test."""
    tmp = tempfile.mkdtemp(prefix="llmx-prices-")
    test.addCleanup(shutil.rmtree, tmp)
    path = os.path.join(tmp, "prices.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(PRICES, f)
    return Agent(args=[f"--pricing.file={path}"])


class TtftAssertions(MetricsAssertions):
    def assertMeasuredTtft(self, metrics, count, **labels):
        """`count` TTFTs, each at least FIRST_TOKEN_DELAY: none in a bucket up to 0.5 s, all by
        2 s. The (0.5, 1] bucket is not required: on a loaded machine the client may read the
        first chunk more than 0.4 s after the server sent it."""
        got = [metrics.value("llm_ttft_seconds_bucket", le=le_label(b), **labels) for b in TTFT_LE]
        self.assertEqual(got[:3], [0.0] * 3, f"llm_ttft_seconds_bucket{labels}")
        self.assertEqual(got[4:], [float(count)] * (len(TTFT_LE) - 4),
                         f"llm_ttft_seconds_bucket{labels}")
        self.assertSample(metrics, float(count), "llm_ttft_seconds_count", **labels)
        self.assertGreaterEqual(metrics.value("llm_ttft_seconds_sum", **labels),
                                count * FIRST_TOKEN_DELAY)


@needs_agent
class OpenAIWrapperTest(TtftAssertions):
    """examples/python/llm_openai.py against the fake server and the real agent."""

    def setUp(self):
        self.server = FakeOpenAI()
        self.addCleanup(self.server.stop)

    def test_streamed_and_plain_calls_and_their_failures(self):
        with agent_with_prices(self) as agent:
            reporter = llm_metrics.Reporter(url=agent.url, interval=0.05)
            self.addCleanup(reporter.close)
            client = llm_openai.ChatClient(self.server.url, "sk-test", endpoint="/ask",
                                           reporter=reporter)
            hello = [{"role": "user", "content": "hello"}]

            answer = client.create(GPT4O, hello, user_id="alice", team_id="search",
                                   trace_id="4bf92f3577b34da6a3ce929d0e0e4736")
            self.assertEqual(answer["choices"][0]["message"]["content"], "Hello, world")

            with client.stream(GPT4O, hello, user_id="alice", team_id="search") as stream:
                deltas = list(stream)
            self.assertEqual(deltas, PIECES)
            self.assertEqual((stream.text, stream.usage, stream.finish_reason),
                             ("Hello, world", USAGE, "stop"))
            self.assertGreaterEqual(stream.ttft, FIRST_TOKEN_DELAY)
            self.assertGreaterEqual(stream.latency, stream.ttft)

            for call in (client.create, client.stream):  # HTTP 500: reported, then re-raised
                with self.assertRaises(urllib.error.HTTPError) as raised:
                    call(MINI, [{"role": "user", "content": "please fail"}], user_id="bob",
                         team_id="support")
                self.assertEqual(raised.exception.code, 500)

            cut = client.stream(MINI, [{"role": "user", "content": "please cut"}],
                                user_id="bob", team_id="support")
            received = []
            with self.assertRaises((http.client.IncompleteRead, llm_openai.IncompleteStreamError)):
                for delta in cut:
                    received.append(delta)
            self.assertEqual(received, PIECES[:1])

            # The consumer stops after the first delta, while the server holds the rest back:
            # the delta arrived before the stream ended, and closing reports the call.
            held = client.stream(MINI, [{"role": "user", "content": "please hold"}],
                                 user_id="carol", team_id="support")
            self.assertEqual(next(held), PIECES[0])
            held.close()
            self.server.release.set()
            self.assertIsNone(held.usage)

            wait_until(lambda: agent.scrape().sum("llm_requests_total") == 6, timeout=30,
                       what="the six calls in the agent")
            m = agent.scrape()
            om = agent.get("/metrics", headers=OPENMETRICS).body.decode()
        self.assertEqual(reporter.dropped, 0)

        self.assertSample(m, 2.0, "llm_requests_total", model=GPT4O, endpoint="/ask", status="success")
        self.assertSample(m, 3.0, "llm_requests_total", model=MINI, endpoint="/ask", status="error")
        self.assertSample(m, 1.0, "llm_requests_total", model=MINI, endpoint="/ask", status="cancelled")
        self.assertIsNone(m.value("llm_requests_total", model=MINI, endpoint="/ask", status="success"))
        self.assertSample(m, 2400.0, "llm_tokens_total", model=GPT4O, direction="input")
        self.assertSample(m, 600.0, "llm_tokens_total", model=GPT4O, direction="output")
        # The reasoning tokens of completion_tokens_details, part of the 300 output tokens.
        self.assertSample(m, 240.0, "llm_tokens_by_kind_total", model=GPT4O, kind="reasoning")
        self.assertSample(m, 2000.0, "llm_tokens_by_kind_total", model=GPT4O, kind="cache_read")
        self.assertIsNone(m.value("llm_calls_without_usage_total", model=GPT4O, transport="http"))
        # No usage ever arrived for the two HTTP 500s, the cut stream and the closed one: they
        # are reported without token counts, so the agent shows four calls of unknown cost
        # rather than four free ones.
        self.assertSample(m, 4.0, "llm_calls_without_usage_total", model=MINI, transport="http")
        self.assertSample(m, 0.0, "llm_tokens_total", model=MINI, direction="input")
        self.assertSample(m, 0.0, "llm_tokens_total", model=MINI, direction="output")
        self.assertSample(m, 0.0, "llm_tokens_by_kind_total", model=MINI, kind="reasoning")
        # 2 x (200 x 0.0025 + 1000 cached x 0.00125 + 300 x 0.01) / 1000
        self.assertCost(m, 0.0095, model=GPT4O, user_id="alice", team_id="search")
        self.assertCost(m, 0.0, model=MINI, user_id="bob", team_id="support")
        self.assertCost(m, 0.0, model=MINI, user_id="carol", team_id="support")
        # Only the streamed call measured a TTFT; the plain one waited as long for its answer.
        self.assertMeasuredTtft(m, 1, model=GPT4O)
        self.assertHistogram(m, "llm_request_duration_seconds", LATENCY_LE, [0, 0, 2, 2, 2, 2, 2, 2],
                             m.value("llm_request_duration_seconds_sum", model=GPT4O, endpoint="/ask"),
                             model=GPT4O, endpoint="/ask")
        # The cut stream and the closed one had their first token; the two HTTP 500s had none.
        self.assertMeasuredTtft(m, 2, model=MINI)
        self.assertEqual(m.value("llm_request_duration_seconds_count", model=MINI, endpoint="/ask"), 4.0)
        self.assertEqual(exemplar(om, f'llm_requests_total{{model="{GPT4O}",endpoint="/ask",'
                                      f'status="success"}}'),
                         {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"})

        sent = [body for _, body in self.server.requests]
        self.assertEqual([b.get("stream_options") for b in sent],
                         [None, {"include_usage": True}, None, {"include_usage": True},
                          {"include_usage": True}, {"include_usage": True}])
        self.assertEqual({h["Authorization"] for h, _ in self.server.requests}, {"Bearer sk-test"})

    def test_a_stream_dropped_after_break_is_reported_at_once(self):
        reporter = RecordingReporter()
        client = llm_openai.ChatClient(self.server.url, reporter=reporter)
        for delta in client.stream(MINI, [{"role": "user", "content": "please hold"}]):
            break
        self.server.release.set()
        self.assertEqual(delta, PIECES[0])
        self.assertEqual(len(reporter.calls), 1)  # freed, and reported, by the end of the loop
        (model, endpoint, tokens_in, tokens_out, latency, ttft, *_, status), extra = \
            reporter.calls[0]
        # Closed before the usage chunk: no token counts (unknown usage), not 0 and 0.
        self.assertEqual((model, tokens_in, tokens_out, status, extra),
                         (MINI, None, None, "cancelled", {}))
        self.assertGreaterEqual(ttft, FIRST_TOKEN_DELAY)
        self.assertGreaterEqual(latency, ttft)

    def test_the_api_key_comes_from_the_environment_and_reporting_failures_stay_inside(self):
        class BrokenReporter:
            def track_llm_call(self, *args, **kwargs):
                raise RuntimeError("reporter down")

        old = os.environ.get("OPENAI_API_KEY")
        os.environ["OPENAI_API_KEY"] = "sk-from-env"
        try:
            client = llm_openai.ChatClient(self.server.url, reporter=BrokenReporter())
        finally:
            if old is None:
                del os.environ["OPENAI_API_KEY"]
            else:
                os.environ["OPENAI_API_KEY"] = old
        with self.assertLogs("llm_openai", "ERROR"):
            answer = client.create(MINI, [{"role": "user", "content": "hello"}])
        self.assertEqual(answer["usage"], USAGE)
        self.assertEqual(self.server.requests[0][0]["Authorization"], "Bearer sk-from-env")


@needs_agent
class CommandLineTest(TtftAssertions):
    """The command lines of examples/python/README.md and examples/evaluation/README.md, run as a
    user runs them: the scripts as processes, the agent at $LLM_EXPORTER_URL, the model at
    $OPENAI_BASE_URL (the fake server)."""

    def setUp(self):
        self.server = FakeOpenAI()
        self.addCleanup(self.server.stop)

    def run_example(self, agent, *args, cwd=EXAMPLES):
        env = dict(os.environ, LLM_EXPORTER_URL=agent.url, OPENAI_BASE_URL=self.server.url,
                   OPENAI_API_KEY="sk-test")
        done = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        return done.stdout

    def test_example_app(self):
        with Agent() as agent:
            out = self.run_example(agent, "example_app.py", cwd=os.path.join(EXAMPLES, "python"))
            m = agent.scrape()
        self.assertIn("flush finished in time: True; events dropped: 0", out)
        self.assertSample(m, 3.0, "llm_requests_total", model=MINI, endpoint="/chat", status="success")
        self.assertSample(m, 1.0, "llm_requests_total", model=GPT4O, endpoint="/chat", status="success")
        self.assertSample(m, 1.0, "llm_requests_total", model=GPT4O, endpoint="/chat", status="error")
        # (800 x 0.0025 + 120 x 0.01) / 1000 and 800 x 0.0025 / 1000, built-in prices
        self.assertCost(m, 0.0032, model=GPT4O, user_id="alice", team_id="support")
        self.assertCost(m, 0.002, model=GPT4O, user_id="bob", team_id="support")
        self.assertSample(m, 1.0, "llm_cache_hits_total", model=GPT4O)
        self.assertSample(m, 1.0, "llm_quality_score_count", model=MINI, evaluator="llm-judge")
        self.assertSample(m, 4.0, "llm_quality_score_sum", model=MINI, evaluator="llm-judge")

    def test_llm_openai_command_line(self):
        with agent_with_prices(self) as agent:
            out = self.run_example(agent, "python/llm_openai.py", "--model", MINI, "--user-id",
                                   "alice", "--team-id", "search", "What is a histogram?")
            m = agent.scrape()
        self.assertTrue(out.startswith("".join(PIECES) + "\n[ttft "), out)
        self.assertSample(m, 1.0, "llm_requests_total", model=MINI, endpoint="/cli", status="success")
        self.assertSample(m, 1200.0, "llm_tokens_total", model=MINI, direction="input")
        self.assertSample(m, 300.0, "llm_tokens_total", model=MINI, direction="output")
        self.assertSample(m, 120.0, "llm_tokens_by_kind_total", model=MINI, kind="reasoning")
        # (200 x 0.00015 + 1000 cached x 0.000075 + 300 x 0.0006) / 1000
        self.assertCost(m, 0.000285, model=MINI, user_id="alice", team_id="search")
        self.assertMeasuredTtft(m, 1, model=MINI)

    def test_evaluation_command_line(self):
        calls = [{"trace_id": "0af7651916cd43dd8448eb211c80319c", "query": "What is a histogram?",
                  "response": "A histogram counts observations in buckets.", "model": GPT4O},
                 {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
                  "query": "What is our refund policy?", "response": "I do not know.",
                  "model": MINI}]
        tmp = tempfile.mkdtemp(prefix="llmx-calls-")
        self.addCleanup(shutil.rmtree, tmp)
        path = os.path.join(tmp, "calls.ndjson")
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(call) + "\n" for call in calls)
        with Agent() as agent:
            out = self.run_example(agent, "evaluation/pipeline.py", path, "--sample-rate", "1",
                                   "--concurrency", "4")
            m = agent.scrape()
        self.assertIn("PipelineStats(sampled=2, skipped=0, queue_full=0, scored=2, retried=0, "
                      "failed=0); sent to the agent: True; events dropped by the reporter: 0", out)
        for model in (GPT4O, MINI):  # the fake judge answers overall 4
            self.assertSample(m, 1.0, "llm_quality_score_count", model=model, evaluator="llm_judge")
            self.assertSample(m, 4.0, "llm_quality_score_sum", model=model, evaluator="llm_judge")
        # The judge's own calls, on the cheaper model.
        self.assertSample(m, 2.0, "llm_requests_total", model=MINI, endpoint="/evaluation",
                          status="success")
        self.assertEqual([body.get("response_format") for _, body in self.server.requests],
                         [{"type": "json_object"}] * 2)


class RecordingReporter:
    def __init__(self):
        self.calls = []

    def track_llm_call(self, *args, **extra):
        self.calls.append((args, extra))


class CallMeterTest(unittest.TestCase):
    """llm_openai.CallMeter on its own: what counts as the first token, what is reported."""

    def meter(self, reporter):
        clock = FakeClock()
        meter = llm_openai.CallMeter(GPT4O, "/chat", "u", "t", "trace-1", reporter, clock)
        meter.started()
        return meter, clock

    def test_a_tool_call_delta_is_the_first_token_and_a_role_chunk_is_not(self):
        reporter = RecordingReporter()
        meter, clock = self.meter(reporter)
        clock.now = 0.25
        self.assertEqual(meter.chunk({"choices": [{"delta": {"role": "assistant", "content": ""}}]}), "")
        self.assertIsNone(meter.ttft)
        clock.now = 0.5
        meter.chunk({"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"name": "f"}}]}}]})
        clock.now = 0.75
        self.assertEqual(meter.chunk({"choices": [{"delta": {"content": "x"}}]}), "x")
        meter.chunk({"choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 4,
                                              "prompt_tokens_details": {"cached_tokens": 8}}})
        clock.now = 1.0
        meter.finish()
        meter.fail()  # reported once only
        self.assertEqual(reporter.calls, [((GPT4O, "/chat", 10, 4, 1.0, 0.5, "u", "t", "success"),
                                           {"cached_input_tokens": 8, "trace_id": "trace-1"})])

    def test_a_failure_reports_what_is_known_and_a_plain_response_no_ttft(self):
        reporter = RecordingReporter()
        meter, clock = self.meter(reporter)
        clock.now = 2.0
        meter.fail()
        plain, clock = self.meter(reporter)
        plain.response({"choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}})
        clock.now = 0.5
        plain.finish()
        # The failure came before any usage: no token counts, which the agent counts as a call
        # without usage instead of pricing it at 0.
        self.assertEqual(reporter.calls, [
            ((GPT4O, "/chat", None, None, 2.0, None, "u", "t", "error"), {"trace_id": "trace-1"}),
            ((GPT4O, "/chat", 3, 1, 0.5, None, "u", "t", "success"), {"trace_id": "trace-1"})])

    def test_reasoning_tokens_are_reported_when_they_fit_in_the_output(self):
        reporter = RecordingReporter()
        usages = [
            {"prompt_tokens": 10, "completion_tokens": 40,
             "completion_tokens_details": {"reasoning_tokens": 32}},
            {"prompt_tokens": 10, "completion_tokens": 40,
             "completion_tokens_details": {"reasoning_tokens": 0}},
            {"prompt_tokens": 10, "completion_tokens": 40,  # more than the output: malformed
             "completion_tokens_details": {"reasoning_tokens": 41}},
            {"prompt_tokens": 10, "completion_tokens": 40,
             "completion_tokens_details": {"reasoning_tokens": True}},
            {"prompt_tokens": 10, "completion_tokens_details": {"reasoning_tokens": 5},
             "prompt_tokens_details": {"cached_tokens": 4}},  # output unknown: no reasoning part
            {"completion_tokens": 7},  # one count alone: the other is left to the agent (0)
            {"prompt_tokens": -1, "completion_tokens": "7"},  # no valid count: usage unknown
        ]
        for usage in usages:
            meter, clock = self.meter(reporter)
            meter.response({"choices": [], "usage": usage})
            clock.now = 1.0
            meter.finish()
        self.assertEqual([(args[2], args[3], extra) for args, extra in reporter.calls], [
            (10, 40, {"reasoning_tokens": 32, "trace_id": "trace-1"}),
            (10, 40, {"trace_id": "trace-1"}),
            (10, 40, {"trace_id": "trace-1"}),
            (10, 40, {"trace_id": "trace-1"}),
            (10, None, {"cached_input_tokens": 4, "trace_id": "trace-1"}),
            (None, 7, {"trace_id": "trace-1"}),
            (None, None, {"trace_id": "trace-1"})])
        self.assertEqual(meter.tokens(), (None, None, 0, 0))
        self.assertFalse(meter.tokens().known)


class FakeClock:
    """The app's clock, advanced by the fake model client: exact latencies and TTFTs."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class FakeModel:
    """A model client for the app: scripted chunks, advancing the clock by dyadic seconds.

    query "long": TTFT 0.375 s, latency 1.5 s, usage 1000 in (600 cached) / 200 out (150
    reasoning);
    "boom": TTFT 0.125 s, then fails at 0.375 s; "down": fails at once, after 0.0625 s;
    anything else: TTFT 0.125 s, latency 0.625 s, usage 100 in / 20 out.
    """

    def __init__(self, clock):
        self.clock = clock
        self.calls = []

    async def stream_chat(self, model, messages):
        query = messages[-1]["content"]
        self.calls.append((model, query))
        if query == "down":
            self.clock.now += 0.0625
            raise ConnectionError("model unreachable")
        ttft, latency, usage = (0.375, 1.5, (1000, 200, 600, 150)) if query == "long" else \
            (0.125, 0.625, (100, 20, 0, 0))
        yield {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}
        self.clock.now += ttft
        yield {"choices": [{"index": 0, "delta": {"content": "Hi "}}]}
        if query == "boom":
            self.clock.now += 0.25
            raise ConnectionError("stream cut")
        yield {"choices": [{"index": 0, "delta": {"content": query}}]}
        self.clock.now += latency - ttft
        yield {"choices": [], "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1],
                                        "prompt_tokens_details": {"cached_tokens": usage[2]},
                                        "completion_tokens_details": {"reasoning_tokens": usage[3]}}}


class UvicornThread:
    """An ASGI app served by uvicorn on a free port, from a thread of this process."""

    def __init__(self, app):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        wait_until(lambda: self.server.started, timeout=30, what="uvicorn to start")
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(30)


@needs_packages
@needs_agent
class FastAPIAppTest(NeedsPackages, MetricsAssertions):
    """examples/fastapi/app.py under uvicorn, with a fake model client and the real agent."""

    def test_requests_are_reported_per_user_and_team_with_their_trace_ids(self):
        app_module = importlib.import_module("app")
        clock = FakeClock()
        model = FakeModel(clock)
        trace = "0af7651916cd43dd8448eb211c80319c"
        with Agent() as agent:
            # interval=60: the reporter sends only when flushed, which the app's shutdown does.
            reporter = llm_metrics.Reporter(url=agent.url, interval=60)
            self.addCleanup(reporter.close)
            app = app_module.create_app(llm_client=model, reporter=reporter,
                                        default_model=MINI, clock=clock)
            with UvicornThread(app) as server, httpx.Client(base_url=server.url, trust_env=False,
                                                            timeout=30) as http, \
                    self.assertLogs("llm_app", "WARNING") as logs:
                def chat(body, **headers):
                    return http.post("/chat", json=body, headers=headers)

                alice = {"X-User-ID": "alice", "X-Team-ID": "search", "X-Session-ID": "s-1"}
                long = chat({"query": "long", "model": GPT4O}, **alice)
                hello = chat({"query": "hello", "model": GPT4O},
                             traceparent=f"00-{trace}-b7ad6b7169203331-01", **alice)
                streamed = chat({"query": "hello", "model": MINI, "stream": True},
                                traceparent=f"00-{'0' * 32}-b7ad6b7169203331-01",
                                **{"X-User-ID": "bob", "X-Team-ID": "support"})
                boom = chat({"query": "boom", "model": GPT4O},
                            **{"X-User-ID": "bob", "X-Team-ID": "support"})
                down = chat({"query": "down", "model": MINI})
                anonymous = chat({"query": "hello"}, traceparent="00-not-a-trace-01")
                # Nothing sent yet: the reporter waits for its flush at shutdown.
                self.assertEqual(agent.scrape().sum("llm_requests_total"), 0.0)
            wait_until(lambda: agent.scrape().sum("llm_requests_total") == 6, timeout=30,
                       what="the six calls in the agent after the app's shutdown flush")
            m = agent.scrape()
            om = agent.get("/metrics", headers=OPENMETRICS).body.decode()
        self.assertEqual(reporter.dropped, 0)
        self.assertEqual(logs.output, [
            f"WARNING:llm_app:the model call of trace {boom.headers['X-Trace-ID']} failed: "
            "ConnectionError('stream cut')",
            f"WARNING:llm_app:the model call of trace {down.headers['X-Trace-ID']} failed: "
            "ConnectionError('model unreachable')"])

        self.assertEqual([r.status_code for r in (long, hello, streamed, boom, down, anonymous)],
                         [200, 200, 200, 502, 502, 200])
        self.assertEqual(hello.json()["response"], "Hi hello")
        self.assertEqual(hello.json()["usage"],
                         {"input_tokens": 100, "output_tokens": 20, "cached_input_tokens": 0,
                          "reasoning_tokens": 0})
        self.assertEqual(long.json()["usage"],
                         {"input_tokens": 1000, "output_tokens": 200, "cached_input_tokens": 600,
                          "reasoning_tokens": 150})
        self.assertEqual(streamed.text, "Hi hello")
        self.assertEqual(boom.json(), {"error": "the model call failed",
                                       "trace_id": boom.headers["X-Trace-ID"]})
        self.assertEqual(model.calls, [(GPT4O, "long"), (GPT4O, "hello"), (MINI, "hello"),
                                       (GPT4O, "boom"), (MINI, "down"), (MINI, "hello")])
        # The incoming trace id is kept; none or an invalid one gets a fresh id each.
        self.assertEqual(hello.headers["X-Trace-ID"], trace)
        span = re.fullmatch(f"00-{trace}-([0-9a-f]{{16}})-01", hello.headers["traceresponse"])
        self.assertIsNotNone(span, hello.headers["traceresponse"])
        fresh = [r.headers["X-Trace-ID"] for r in (long, streamed, boom, down, anonymous)]
        for trace_id in fresh:
            self.assertRegex(trace_id, r"^[0-9a-f]{32}$")
        self.assertEqual(len(set(fresh + [trace])), 6)

        self.assertSample(m, 2.0, "llm_requests_total", model=GPT4O, endpoint="/chat", status="success")
        self.assertSample(m, 1.0, "llm_requests_total", model=GPT4O, endpoint="/chat", status="error")
        self.assertSample(m, 2.0, "llm_requests_total", model=MINI, endpoint="/chat", status="success")
        self.assertSample(m, 1.0, "llm_requests_total", model=MINI, endpoint="/chat", status="error")
        self.assertEqual(m.sum("llm_requests_total"), 6.0)
        self.assertSample(m, 1100.0, "llm_tokens_total", model=GPT4O, direction="input")
        self.assertSample(m, 220.0, "llm_tokens_total", model=GPT4O, direction="output")
        self.assertSample(m, 200.0, "llm_tokens_total", model=MINI, direction="input")
        self.assertSample(m, 40.0, "llm_tokens_total", model=MINI, direction="output")
        self.assertSample(m, 150.0, "llm_tokens_by_kind_total", model=GPT4O, kind="reasoning")
        self.assertSample(m, 0.0, "llm_tokens_by_kind_total", model=MINI, kind="reasoning")
        # "boom" and "down" failed before their usage chunk: calls without usage, not free ones.
        self.assertSample(m, 1.0, "llm_calls_without_usage_total", model=GPT4O, transport="http")
        self.assertSample(m, 1.0, "llm_calls_without_usage_total", model=MINI, transport="http")
        # Built-in prices (no cached rate): (1100 x 0.0025 + 220 x 0.01) / 1000
        self.assertCost(m, 0.00495, model=GPT4O, user_id="alice", team_id="search")
        self.assertCost(m, 0.0, model=GPT4O, user_id="bob", team_id="support")
        self.assertCost(m, 0.000027, model=MINI, user_id="bob", team_id="support")
        # No X-User-ID / X-Team-ID: user "anonymous", team "".
        self.assertCost(m, 0.000027, model=MINI, user_id="anonymous", team_id="")
        self.assertEqual(len(m.series("llm_cost_usd_total")), 4)
        # gpt-4o: 1.5 (long), 0.625 (hello), 0.375 (boom); mini: 0.625, 0.0625 (down), 0.625
        self.assertHistogram(m, "llm_request_duration_seconds", LATENCY_LE,
                             [0, 1, 2, 3, 3, 3, 3, 3], 2.5, model=GPT4O, endpoint="/chat")
        self.assertHistogram(m, "llm_request_duration_seconds", LATENCY_LE,
                             [1, 1, 3, 3, 3, 3, 3, 3], 1.3125, model=MINI, endpoint="/chat")
        # TTFT: gpt-4o 0.375, 0.125, 0.125 (boom had its first token); mini 0.125 twice ("down" none)
        self.assertHistogram(m, "llm_ttft_seconds", TTFT_LE, [0, 2, 3, 3, 3, 3, 3], 0.625, model=GPT4O)
        self.assertHistogram(m, "llm_ttft_seconds", TTFT_LE, [0, 2, 2, 2, 2, 2, 2], 0.25, model=MINI)

        # The traceparent's trace id (and the request's span) is the exemplar of its series.
        linked = {"trace_id": trace, "span_id": span.group(1)}
        self.assertEqual(exemplar(om, f'llm_requests_total{{model="{GPT4O}",endpoint="/chat",'
                                      f'status="success"}}'), linked)
        self.assertEqual(exemplar(om, f'llm_cost_usd_total{{model="{GPT4O}",user_id="alice",'
                                      f'team_id="search"}}'), linked)
        self.assertEqual(exemplar(om, f'llm_request_duration_seconds_bucket{{model="{GPT4O}",'
                                      f'endpoint="/chat",le="1.0"}}'), linked)
        self.assertEqual(exemplar(om, f'llm_requests_total{{model="{GPT4O}",endpoint="/chat",'
                                      f'status="error"}}')["trace_id"], boom.headers["X-Trace-ID"])
        self.assertEqual(exemplar(om, f'llm_requests_total{{model="{MINI}",endpoint="/chat",'
                                      f'status="success"}}')["trace_id"],
                         anonymous.headers["X-Trace-ID"])

    def test_a_caller_going_away_mid_stream_is_reported_as_cancelled(self):
        app_module = importlib.import_module("app")
        clock = FakeClock()
        held = asyncio.Event()  # never set: the model holds the rest of its answer back

        class HoldingModel:
            async def stream_chat(self, model, messages):
                yield {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}
                clock.now += 0.25
                yield {"choices": [{"index": 0, "delta": {"content": "Hi "}}]}
                await held.wait()

        reporter = RecordingReporter()
        app = app_module.create_app(llm_client=HoldingModel(), reporter=reporter,
                                    default_model=MINI, clock=clock)
        with UvicornThread(app) as server:
            with httpx.Client(base_url=server.url, trust_env=False, timeout=30) as http:
                with http.stream("POST", "/chat", json={"query": "hold", "stream": True},
                                 headers={"X-User-ID": "José".encode(), "X-Team-ID": "search"}) as answer:
                    deltas = answer.iter_text()  # held: dropping it would close the response
                    self.assertEqual(next(deltas), "Hi ")
                    clock.now += 0.25
            # The connection is closed: the server notices and stops the answer.
            wait_until(lambda: reporter.calls, timeout=30, what="the cancelled call reported")
        (args, extra), = reporter.calls
        # A header in UTF-8 is read as such. The usage chunk never came: no token counts.
        self.assertEqual(args, (MINI, "/chat", None, None, 0.5, 0.25, "José", "search", "cancelled"))
        self.assertEqual(set(extra), {"trace_id", "span_id"})

    def test_traceparent_validation(self):
        app_module = importlib.import_module("app")
        valid = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        self.assertEqual(app_module.parse_traceparent(valid),
                         ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", "01"))
        self.assertEqual(app_module.parse_traceparent(f" {valid} ")[0],
                         "0af7651916cd43dd8448eb211c80319c")
        for invalid in [None, "", valid.upper(), "01" + valid[2:], "ff" + valid[2:],
                        f"00-{'0' * 32}-b7ad6b7169203331-01", f"00-{'a' * 32}-{'0' * 16}-01",
                        valid[:-1], valid + "-extra", valid.replace("-", "_")]:
            self.assertIsNone(app_module.parse_traceparent(invalid), invalid)
        self.assertEqual(app_module.label("", "anonymous"), "anonymous")
        self.assertEqual(app_module.label("é" * 100, ""), "é" * 64)  # cut to 128 bytes


@needs_packages
@needs_agent
class FastAPIDefaultClientTest(NeedsPackages, TtftAssertions):
    """`python3 -m uvicorn app:app` as the README runs it: the httpx client, the fake server."""

    def test_the_default_client_streams_measures_ttft_and_reports(self):
        server = FakeOpenAI()
        self.addCleanup(server.stop)
        with Agent() as agent:
            port = free_port()
            env = dict(os.environ, OPENAI_BASE_URL=server.url, OPENAI_API_KEY="sk-app",
                       LLM_EXPORTER_URL=agent.url, LLM_MODEL=GPT4O)
            proc = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "app:app", "--app-dir",
                 os.path.join(EXAMPLES, "fastapi"), "--host", "127.0.0.1", "--port", str(port)],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            self.addCleanup(proc.kill)
            url = f"http://127.0.0.1:{port}"
            alice = {"X-User-ID": "alice", "X-Team-ID": "search"}
            with httpx.Client(base_url=url, trust_env=False, timeout=30) as http:
                wait_until(lambda: self.answers(http), timeout=60, what="the app to start")
                plain = http.post("/chat", json={"query": "hello"}, headers=alice)
                streamed = http.post("/chat", json={"query": "hello", "stream": True},
                                     headers=alice)
                failed = http.post("/chat", json={"query": "please fail"}, headers=alice)
                with self.assertRaises(httpx.RemoteProtocolError):  # the app passes the cut on
                    http.post("/chat", json={"query": "please cut", "stream": True},
                              headers=alice)
            proc.send_signal(signal.SIGINT)
            output = proc.communicate(timeout=30)[0].decode(errors="replace")
            self.assertEqual(proc.returncode, 0, output)
            wait_until(lambda: agent.scrape().sum("llm_requests_total") == 4, timeout=30,
                       what=f"the four calls in the agent; app output:\n{output}")
            m = agent.scrape()
            om = agent.get("/metrics", headers=OPENMETRICS).body.decode()

        self.assertEqual((plain.status_code, streamed.status_code, failed.status_code),
                         (200, 200, 502))
        self.assertEqual(plain.json()["response"], "Hello, world")
        self.assertEqual(streamed.text, "Hello, world")
        self.assertSample(m, 2.0, "llm_requests_total", model=GPT4O, endpoint="/chat", status="success")
        self.assertSample(m, 2.0, "llm_requests_total", model=GPT4O, endpoint="/chat", status="error")
        self.assertSample(m, 2400.0, "llm_tokens_total", model=GPT4O, direction="input")
        self.assertSample(m, 600.0, "llm_tokens_total", model=GPT4O, direction="output")
        self.assertSample(m, 240.0, "llm_tokens_by_kind_total", model=GPT4O, kind="reasoning")
        # The HTTP 500 and the cut stream ended before any usage: two calls without usage.
        self.assertSample(m, 2.0, "llm_calls_without_usage_total", model=GPT4O, transport="http")
        self.assertCost(m, 0.012, model=GPT4O, user_id="alice", team_id="search")  # built-in prices
        # Both successes and the cut stream had their first token after the delay.
        self.assertMeasuredTtft(m, 3, model=GPT4O)
        self.assertEqual(m.value("llm_request_duration_seconds_bucket", model=GPT4O,
                                 endpoint="/chat", le="1.0"), 4.0)
        self.assertEqual(exemplar(om, f'llm_requests_total{{model="{GPT4O}",endpoint="/chat",'
                                      f'status="success"}}')["trace_id"],
                         streamed.headers["X-Trace-ID"])
        sent = [(h["Authorization"], b["model"], b["stream"], b["stream_options"])
                for h, b in server.requests]
        self.assertEqual(sent, [("Bearer sk-app", GPT4O, True, {"include_usage": True})] * 4)

    @staticmethod
    def answers(http):
        try:
            return http.post("/chat", json={}).status_code == 422  # no query: refused, no call
        except httpx.TransportError:
            return False


class QualityRecorder:
    """A reporter that keeps the quality scores it is given."""

    def __init__(self):
        self.scores = []

    def track_quality_score(self, model, evaluator, score, trace_id=None):
        self.scores.append((model, evaluator, score, trace_id))


class FakeJudge:
    """Scores by query: "flaky" fails once then scores 4; "slow" outlasts the timeout once;
    "garbage" answers no JSON and "seven" an out-of-range score, always; others score per
    SCORES. Tracks how many calls run at once; while `gate` is clear, calls wait for it."""

    SCORES = {"q0": 5, "q1": 3, "q2": 1, "q3": 4.5, "q7": 2}

    def __init__(self):
        self.attempts = {}
        self.running = self.max_running = 0
        self.gate = asyncio.Event()
        self.gate.set()

    async def complete(self, prompt):
        query = re.search(r"Query: (.*)\n", prompt).group(1)
        self.attempts[query] = self.attempts.get(query, 0) + 1
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            await self.gate.wait()
            await asyncio.sleep(0.01)  # let the other workers start theirs
            if query == "flaky" and self.attempts[query] == 1:
                raise ConnectionError("judge unavailable")
            if query == "slow" and self.attempts[query] == 1:
                await asyncio.sleep(30)
            if query == "garbage":
                return "I think it is a 4."
            overall = 7 if query == "seven" else self.SCORES.get(query, 4)
            return json.dumps({"relevance": 4, "accuracy": 4, "helpfulness": 4,
                               "overall": overall})
        finally:
            self.running -= 1


@needs_agent
class EvaluationPipelineTest(MetricsAssertions):
    """examples/evaluation/pipeline.py with a fake judge and the real agent."""

    def setUp(self):
        self.pipeline = importlib.import_module("pipeline")

    def calls(self, queries, model=GPT4O):
        return [self.pipeline.CompletedCall(f"trace-{q}", q, f"answer to {q}", model)
                for q in queries]

    def test_sampled_calls_are_scored_retried_dropped_and_reported(self):
        calls = self.calls(["q0", "q1", "q2", "q3", "q4", "q5", "q6", "q7", "flaky", "slow",
                            "garbage", "seven"])
        # sample_rate 0.5 picks the calls whose SHA-256(trace id) starts below 0x80: fixed here,
        # so that a change in the sampling shows.
        picked = [c.query for c in calls
                  if hashlib.sha256(c.trace_id.encode()).digest()[0] < 0x80]
        self.assertEqual(picked, ["q0", "q1", "q2", "q3", "q7", "flaky", "slow", "garbage",
                                  "seven"])
        judge = FakeJudge()
        with Agent() as agent:
            reporter = llm_metrics.Reporter(url=agent.url, interval=0.05)
            self.addCleanup(reporter.close)

            async def run():
                evaluation = self.pipeline.EvaluationPipeline(
                    judge, reporter, sample_rate=0.5, concurrency=3, max_retries=2, backoff=0.01,
                    judge_timeout=1.0)
                with self.assertLogs("llm_evaluation", "WARNING") as logs:
                    async with evaluation:
                        queued = [evaluation.submit(c) for c in calls]
                self.assertIn("dropped the evaluation of trace trace-", logs.output[0])
                evaluation.submit(calls[1])  # after close: dropped
                return evaluation, queued

            evaluation, queued = asyncio.run(run())
            self.assertEqual([c.query for c, q in zip(calls, queued) if q], picked)
            wait_until(lambda: agent.scrape().value("llm_quality_score_count", model=GPT4O,
                                                    evaluator="llm_judge") == 7.0,
                       timeout=30, what="seven quality scores in the agent")
            m = agent.scrape()

        stats = evaluation.stats
        self.assertEqual((stats.sampled, stats.skipped, stats.queue_full, stats.scored,
                          stats.retried, stats.failed, stats.dropped),
                         (9, 3, 1, 7, 1 + 1 + 2 + 2, 2, 3))
        self.assertEqual(judge.attempts, {"q0": 1, "q1": 1, "q2": 1, "q3": 1, "q7": 1, "flaky": 2,
                                          "slow": 2, "garbage": 3, "seven": 3})
        self.assertLessEqual(judge.max_running, 3)
        # Scores 5, 3, 1, 4.5, 2, 4 (flaky), 4 (slow): the judge's overall, unrounded.
        self.assertHistogram(m, "llm_quality_score", QUALITY_LE, [1, 2, 3, 5, 7, 7], 23.5,
                             model=GPT4O, evaluator="llm_judge")
        self.assertEqual(m.sum("llm_exporter_events_rejected_total"), 0.0)  # trace_id accepted
        self.assertEqual(reporter.dropped, 0)

    def test_concurrency_is_bounded_and_a_full_queue_drops(self):
        judge = FakeJudge()
        recorder = QualityRecorder()
        reported = recorder.scores

        async def run():
            evaluation = self.pipeline.EvaluationPipeline(judge, recorder, concurrency=2,
                                                          max_queue=3)
            judge.gate.clear()
            evaluation.start()
            queued = [evaluation.submit(c) for c in self.calls(["q0", "q1", "q2", "q3", "q5"])]
            # Two workers take a call each and wait at the gate; one call stays queued.
            for _ in range(200):
                if judge.running == 2:
                    break
                await asyncio.sleep(0.01)
            running = judge.running
            more = [evaluation.submit(c) for c in self.calls(["q6", "q7", "q4"])]
            judge.gate.set()
            await evaluation.close()
            return evaluation, queued, running, more

        evaluation, queued, running, more = asyncio.run(run())
        self.assertEqual(queued, [True, True, True, False, False])
        self.assertEqual(running, 2)
        self.assertEqual(more, [True, True, False])  # two places freed by the workers
        self.assertEqual(judge.max_running, 2)
        stats = evaluation.stats
        self.assertEqual((stats.sampled, stats.queue_full, stats.scored, stats.failed),
                         (5, 3, 5, 0))
        self.assertEqual(sorted(reported, key=lambda r: r[3]),
                         [(GPT4O, "llm_judge", score, f"trace-{q}")
                          for q, score in [("q0", 5), ("q1", 3), ("q2", 1), ("q6", 4), ("q7", 2)]])

    def test_put_waits_for_room_instead_of_dropping(self):
        judge = FakeJudge()
        recorder = QualityRecorder()

        async def run():
            evaluation = self.pipeline.EvaluationPipeline(judge, recorder, concurrency=1,
                                                          max_queue=1)
            async with evaluation:
                queued = [await evaluation.put(c) for c in self.calls(["q0", "q1", "q2", "q3"])]
            return evaluation, queued

        evaluation, queued = asyncio.run(run())
        self.assertEqual(queued, [True] * 4)
        self.assertEqual((evaluation.stats.sampled, evaluation.stats.queue_full,
                          evaluation.stats.scored), (4, 0, 4))
        self.assertEqual([s[2] for s in recorder.scores], [5, 3, 1, 4.5])

    def test_the_openai_judge_asks_for_json_and_its_own_calls_are_reported(self):
        server = FakeOpenAI()
        self.addCleanup(server.stop)
        judge_calls = RecordingReporter()
        client = llm_openai.ChatClient(server.url, "sk-judge", endpoint="/evaluation",
                                       reporter=judge_calls)
        recorder = QualityRecorder()
        call = self.calls(["What is a histogram?"])[0]

        async def run():
            async with self.pipeline.EvaluationPipeline(self.pipeline.OpenAIJudge(client),
                                                        recorder) as evaluation:
                evaluation.submit(call)
            return evaluation

        evaluation = asyncio.run(run())
        self.assertEqual(recorder.scores, [(GPT4O, "llm_judge", 4, "trace-What is a histogram?")])
        headers, body = server.requests[0]
        self.assertEqual((body["model"], body["response_format"], body["messages"]),
                         ("gpt-4o-mini", {"type": "json_object"}, [{"role": "user", "content":
                          self.pipeline.EVALUATION_PROMPT.format(query=call.query,
                                                                 response=call.response)}]))
        self.assertEqual(headers["Authorization"], "Bearer sk-judge")
        self.assertEqual([c[0][:4] + c[0][5:] for c in judge_calls.calls],
                         [("gpt-4o-mini", "/evaluation", 1200, 300, None, "", "", "success")])
        self.assertEqual(evaluation.stats.scored, 1)

    def test_verdicts_outside_one_to_five_are_refused(self):
        parse = self.pipeline.parse_verdict
        self.assertEqual(parse('{"overall": 1}'), {"overall": 1})
        for bad in ['{"overall": 0.5}', '{"overall": 6}', '{"overall": true}', '{"overall": "4"}',
                    '{"overall": NaN}', '[4]', '{}', 'four']:
            with self.assertRaises(ValueError, msg=bad):
                parse(bad)


if __name__ == "__main__":
    unittest.main(verbosity=2)
