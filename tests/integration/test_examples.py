"""Checks the examples against the real agent: examples/curl/send-events.sh and
examples/python/llm_metrics.py must produce exactly the metric values their events imply, and the
Python reporter must never block or raise when the agent is down, slow or refusing events.

    LLM_EXPORTER_BIN=build/llm_exporter python3 tests/integration/test_examples.py
"""
import glob
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.normpath(os.path.join(HERE, "..", "..", "examples"))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(EXAMPLES, "python"))

import yaml  # noqa: E402  (python3-yaml)

import harness  # noqa: E402
from harness import Agent, free_port, wait_until  # noqa: E402
import llm_metrics  # noqa: E402

# Skipped only when nobody asked for a binary (ctest sets LLM_EXPORTER_BIN) and none is built.
needs_agent = unittest.skipUnless("LLM_EXPORTER_BIN" in os.environ or os.access(harness.BINARY, os.X_OK),
                                  f"no agent binary at {harness.BINARY}")

GPT4O, MINI, SONNET = "gpt-4o", "gpt-4o-mini", "claude-sonnet-4-20250514"
LATENCY_LE = [0.1, 0.5, 1, 2, 5, 10, 30, "+Inf"]
TTFT_LE = [0.1, 0.25, 0.5, 1, 2, 5, "+Inf"]
QUALITY_LE = [1, 2, 3, 4, 5, "+Inf"]
PICO = 1e-12  # the agent accumulates costs in whole pico-dollars


def le_label(bound):
    """A bucket bound as the exposition spells it (prometheus_client style: 1 -> "1.0")."""
    return bound if isinstance(bound, str) else repr(float(bound))


class MetricsAssertions(unittest.TestCase):
    def assertSample(self, metrics, expected, name, **labels):
        self.assertEqual(metrics.value(name, **labels), expected, f"{name}{labels}")

    def assertCost(self, metrics, expected_usd, **labels):
        value = metrics.value("llm_cost_usd_total", **labels)
        self.assertIsNotNone(value, f"no llm_cost_usd_total{labels}")
        self.assertAlmostEqual(value, expected_usd, delta=PICO / 2, msg=f"llm_cost_usd_total{labels}")

    def assertHistogram(self, metrics, name, bounds, cumulative, total, **labels):
        """Checks every bucket, _count and _sum of one histogram series."""
        got = [metrics.value(name + "_bucket", le=le_label(b), **labels) for b in bounds]
        self.assertEqual(got, [float(c) for c in cumulative], f"{name}_bucket{labels}")
        self.assertSample(metrics, float(cumulative[-1]), name + "_count", **labels)
        self.assertAlmostEqual(metrics.value(name + "_sum", **labels), total, places=9,
                               msg=f"{name}_sum{labels}")


@needs_agent
@unittest.skipUnless(shutil.which("curl") and shutil.which("bash"), "needs curl and bash")
class CurlScriptTest(MetricsAssertions):
    def test_script_events_produce_exact_metrics(self):
        script = os.path.join(EXAMPLES, "curl", "send-events.sh")
        with Agent() as agent:
            run = subprocess.run(["bash", script], env=dict(os.environ, LLM_EXPORTER_URL=agent.url),
                                 capture_output=True, text=True, timeout=60)
            self.assertEqual(run.returncode, 0, f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}")
            answers = [json.loads(line) for line in run.stdout.splitlines()
                       if line.startswith("{")]
            self.assertEqual([(a["accepted"], a["rejected"]) for a in answers],
                             [(1, 0), (2, 0), (2, 0), (1, 0)], run.stdout)
            m = agent.scrape()

        self.assertSample(m, 2.0, "llm_requests_total", model=GPT4O, endpoint="/chat", status="success")
        self.assertSample(m, 2.0, "llm_requests_total", model=MINI, endpoint="/summarize",
                          status="success")
        self.assertSample(m, 1.0, "llm_requests_total", model=SONNET, endpoint="/chat", status="error")
        self.assertEqual(m.sum("llm_requests_total"), 5.0)

        for model, tokens_in, tokens_out in [(GPT4O, 1200, 600), (MINI, 2100, 420), (SONNET, 100, 0)]:
            self.assertSample(m, float(tokens_in), "llm_tokens_total", model=model, direction="input")
            self.assertSample(m, float(tokens_out), "llm_tokens_total", model=model, direction="output")

        self.assertCost(m, 0.0075, model=GPT4O, user_id="alice", team_id="search")
        self.assertCost(m, 0.5, model=GPT4O, user_id="carol", team_id="search")  # its own cost_usd
        self.assertCost(m, 0.00054 + 0.000027, model=MINI, user_id="bob", team_id="support")
        self.assertCost(m, 0.0003, model=SONNET, user_id="alice", team_id="search")
        self.assertEqual(len(m.series("llm_cost_usd_total")), 4)

        self.assertHistogram(m, "llm_request_duration_seconds", LATENCY_LE,
                             [0, 1, 1, 1, 2, 2, 2, 2], 3.25, model=GPT4O, endpoint="/chat")
        self.assertHistogram(m, "llm_request_duration_seconds", LATENCY_LE,
                             [0, 0, 1, 2, 2, 2, 2, 2], 2.2, model=MINI, endpoint="/summarize")
        self.assertHistogram(m, "llm_request_duration_seconds", LATENCY_LE,
                             [1, 1, 1, 1, 1, 1, 1, 1], 0.05, model=SONNET, endpoint="/chat")

        self.assertHistogram(m, "llm_ttft_seconds", TTFT_LE, [1, 1, 1, 2, 2, 2, 2], 0.68, model=GPT4O)
        self.assertHistogram(m, "llm_ttft_seconds", TTFT_LE, [0, 1, 2, 2, 2, 2, 2], 0.5, model=MINI)
        self.assertIsNone(m.value("llm_ttft_seconds_count", model=SONNET), "no ttft was sent")

        self.assertHistogram(m, "llm_quality_score", QUALITY_LE, [0, 0, 0, 1, 1, 1], 4.0,
                             model=GPT4O, evaluator="llm-judge")

        self.assertSample(m, 1.0, "llm_cache_hits_total", model=MINI)
        self.assertSample(m, 1.0, "llm_cache_misses_total", model=GPT4O)


@needs_agent
class PythonReporterWithAgentTest(MetricsAssertions):
    def test_module_functions_produce_exact_metrics(self):
        with Agent() as agent:
            llm_metrics.configure(url=agent.url)
            try:
                llm_metrics.track_llm_call(GPT4O, "/chat", 1000, 500, 0.25, 0.08, "alice", "search",
                                           reasoning_tokens=200)
                llm_metrics.track_llm_call(GPT4O, "/chat", 10, 0, 1.5, None, "alice", "search",
                                           status="error")
                llm_metrics.track_llm_call(SONNET, "/rag", 2000, 300, latency=6.0, ttft=0.4,
                                           user_id="bob", team_id="research", cache="hit",
                                           cached_input_tokens=1500, cost_usd=0.25, trace_id="t-1")
                # Usage unknown (the stream was cut before its usage chunk): no token counts.
                llm_metrics.track_llm_call(MINI, "/chat", None, None, 0.3, None, "carol", "ops",
                                           status="error")
                llm_metrics.track_quality_score(GPT4O, "human", 5)
                llm_metrics.track_quality_score(GPT4O, "human", 2.5)
                self.assertTrue(llm_metrics.flush(timeout=10))
                self.assertEqual(llm_metrics.reporter().dropped, 0)
                m = agent.scrape()
            finally:
                llm_metrics.close()

        self.assertSample(m, 6.0, "llm_exporter_events_accepted_total", transport="http")
        self.assertSample(m, 1.0, "llm_requests_total", model=GPT4O, endpoint="/chat", status="success")
        self.assertSample(m, 1.0, "llm_requests_total", model=GPT4O, endpoint="/chat", status="error")
        self.assertSample(m, 1.0, "llm_requests_total", model=SONNET, endpoint="/rag", status="success")
        self.assertSample(m, 1010.0, "llm_tokens_total", model=GPT4O, direction="input")
        self.assertSample(m, 500.0, "llm_tokens_total", model=GPT4O, direction="output")
        self.assertSample(m, 2000.0, "llm_tokens_total", model=SONNET, direction="input")
        self.assertSample(m, 300.0, "llm_tokens_total", model=SONNET, direction="output")
        self.assertSample(m, 200.0, "llm_tokens_by_kind_total", model=GPT4O, kind="reasoning")
        self.assertSample(m, 1500.0, "llm_tokens_by_kind_total", model=SONNET, kind="cache_read")
        # The call without usage: counted as a call, apart from the free ones, priced at 0.
        self.assertSample(m, 1.0, "llm_requests_total", model=MINI, endpoint="/chat", status="error")
        self.assertSample(m, 1.0, "llm_calls_without_usage_total", model=MINI, transport="http")
        self.assertIsNone(m.value("llm_calls_without_usage_total", model=GPT4O, transport="http"))
        self.assertSample(m, 0.0, "llm_tokens_total", model=MINI, direction="input")
        self.assertCost(m, 0.0, model=MINI, user_id="carol", team_id="ops")
        # (1000 * 0.0025 + 500 * 0.01) / 1000 + 10 * 0.0025 / 1000
        self.assertCost(m, 0.007525, model=GPT4O, user_id="alice", team_id="search")
        self.assertCost(m, 0.25, model=SONNET, user_id="bob", team_id="research")
        self.assertHistogram(m, "llm_request_duration_seconds", LATENCY_LE,
                             [0, 1, 1, 2, 2, 2, 2, 2], 1.75, model=GPT4O, endpoint="/chat")
        self.assertHistogram(m, "llm_request_duration_seconds", LATENCY_LE,
                             [0, 0, 0, 0, 0, 1, 1, 1], 6.0, model=SONNET, endpoint="/rag")
        # ttft=None is left out, so only the first gpt-4o call is observed.
        self.assertHistogram(m, "llm_ttft_seconds", TTFT_LE, [1, 1, 1, 1, 1, 1, 1], 0.08, model=GPT4O)
        self.assertHistogram(m, "llm_ttft_seconds", TTFT_LE, [0, 0, 1, 1, 1, 1, 1], 0.4, model=SONNET)
        self.assertHistogram(m, "llm_quality_score", QUALITY_LE, [0, 0, 1, 1, 2, 2], 7.5,
                             model=GPT4O, evaluator="human")
        self.assertSample(m, 1.0, "llm_cache_hits_total", model=SONNET)

    def test_bad_values_are_dropped_alone_and_logged_once(self):
        with Agent() as agent:
            reporter = llm_metrics.Reporter(url=agent.url, interval=60)
            try:
                with self.assertLogs("llm_metrics", "WARNING") as logs:
                    reporter.track_llm_call(MINI, "/chat", 10, 20, float("nan"), None, "u", "t")
                    reporter.track_llm_call(MINI, "/chat", 10, 20, object(), None, "u", "t")
                    reporter.track_llm_call(MINI, "/chat", -5, 20, 0.3, None, "u", "t")  # agent says no
                    reporter.track_llm_call(MINI, "/chat", 10, 20, 0.3, None, "u", "t")
                    self.assertTrue(reporter.flush(timeout=10))
                self.assertEqual(reporter.dropped, 3)
                self.assertEqual(len(logs.records), 1, logs.output)
                m = agent.scrape()
            finally:
                reporter.close()
        self.assertSample(m, 1.0, "llm_requests_total", model=MINI, endpoint="/chat", status="success")
        self.assertSample(m, 10.0, "llm_tokens_total", model=MINI, direction="input")
        self.assertSample(m, 1.0, "llm_exporter_events_rejected_total", transport="http",
                          reason="invalid_value")

    def test_a_batch_refused_whole_logs_the_agents_first_error(self):
        with Agent() as agent:
            reporter = llm_metrics.Reporter(url=agent.url, interval=60)
            try:
                with self.assertLogs("llm_metrics", "WARNING") as logs:
                    reporter.track_llm_call(MINI, "/chat", -5, 20, 0.3, None, "u", "t")
                    reporter.track_llm_call(MINI, "/chat", 10, -7, 0.3, None, "u", "t")
                    self.assertTrue(reporter.flush(timeout=10))
                self.assertEqual(reporter.dropped, 2)
                m = agent.scrape()
            finally:
                reporter.close()
        self.assertEqual(logs.output, [
            f"WARNING:llm_metrics:dropped 2 LLM metric event(s): {agent.url}/v1/events answered "
            "HTTP 400 Bad Request: agent rejected 2 of 2 event(s), first: event 0: input_tokens "
            "must be a non-negative integer, got -5 (index 0, field input_tokens, reason "
            "invalid_value) (further drops are logged at debug level until the agent accepts a "
            "batch again)"])
        self.assertSample(m, 2.0, "llm_exporter_events_rejected_total", transport="http",
                          reason="invalid_value")


class RecordingServer(http.server.ThreadingHTTPServer):
    """A stand-in agent on a free port that records request bodies and answers with `status`,
    and with `answer` (bytes) when given, else the agent's JSON answer accepting everything."""

    def __init__(self, status, answer=None, content_type="application/json"):
        self.status, self.bodies = status, []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(handler):
                body = handler.rfile.read(int(handler.headers["Content-Length"]))
                self.bodies.append((handler.path, handler.headers["Content-Type"], body))
                reply = answer if answer is not None else json.dumps(
                    {"accepted": len(json.loads(body)), "rejected": 0, "errors": []}).encode()
                handler.send_response(self.status)
                handler.send_header("Content-Type", content_type)
                handler.send_header("Content-Length", str(len(reply)))
                handler.end_headers()
                handler.wfile.write(reply)

            def log_message(handler, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def stop(self):
        self.shutdown()
        self.server_close()


class SilentServer:
    """Accepts TCP connections and never answers: an agent that hangs."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        try:
            while True:
                self.connections.append(self.sock.accept()[0])
        except OSError:
            pass  # closed by stop()

    def stop(self):
        self.sock.close()
        for c in self.connections:
            c.close()


class PythonReporterWithoutAgentTest(unittest.TestCase):
    def call(self, reporter, n=1):
        for i in range(n):
            reporter.track_llm_call(MINI, "/chat", 100 + i, 10, 0.4, 0.1, "u", "t")

    def test_events_go_out_as_one_json_array_batch(self):
        server = RecordingServer(200)
        reporter = llm_metrics.Reporter(url=server.url, interval=60)
        try:
            self.call(reporter, 3)
            reporter.track_quality_score(MINI, "judge", 3.5)
            reporter.track_llm_call(MINI, "/chat", None, None, 0.2, None, "u", "t", "cancelled")
            self.assertTrue(reporter.flush(timeout=10))
        finally:
            reporter.close()
            server.stop()
        self.assertEqual(reporter.dropped, 0)
        self.assertEqual(len(server.bodies), 1)
        path, content_type, body = server.bodies[0]
        self.assertEqual((path, content_type), ("/v1/events", "application/json"))
        events = json.loads(body)
        self.assertEqual([e.get("input_tokens") for e in events], [100, 101, 102, None, None])
        self.assertEqual(events[0], {"model": MINI, "endpoint": "/chat", "status": "success",
                                     "input_tokens": 100, "output_tokens": 10, "latency": 0.4,
                                     "ttft": 0.1, "user_id": "u", "team_id": "t"})
        self.assertEqual(events[3], {"type": "quality", "model": MINI, "evaluator": "judge",
                                     "score": 3.5})
        # None token counts are left out: the agent reads the call's usage as unknown.
        self.assertEqual(events[4], {"model": MINI, "endpoint": "/chat", "status": "cancelled",
                                     "latency": 0.2, "user_id": "u", "team_id": "t"})

    def test_agent_down_drops_without_raising_and_warns_once(self):
        reporter = llm_metrics.Reporter(url=f"http://127.0.0.1:{free_port()}", timeout=2)
        try:
            with self.assertLogs("llm_metrics", "WARNING") as logs:
                self.call(reporter, 3)
                self.assertTrue(reporter.flush(timeout=10))
                reporter.track_quality_score(MINI, "judge", 4)
                self.assertTrue(reporter.flush(timeout=10))
            self.assertEqual(reporter.dropped, 4)
            self.assertEqual(len(logs.records), 1, logs.output)
        finally:
            reporter.close()
        reporter.track_llm_call(MINI, "/chat", 1, 1, 0.1, None, "u", "t")  # after close: dropped
        self.assertEqual(reporter.dropped, 5)

    def test_http_error_drops_the_batch(self):
        server = RecordingServer(503)
        reporter = llm_metrics.Reporter(url=server.url, interval=60)
        try:
            with self.assertLogs("llm_metrics", "WARNING"):
                self.call(reporter, 2)
                self.assertTrue(reporter.flush(timeout=10))
            self.assertEqual(reporter.dropped, 2)
        finally:
            reporter.close()
            server.stop()

    def test_a_400_that_is_not_json_is_logged_with_its_start(self):
        # A proxy in front of the agent, say, answering with its own page.
        server = RecordingServer(400, answer=b"<html><body>Bad Request</body></html>\n",
                                 content_type="text/html")
        reporter = llm_metrics.Reporter(url=server.url, interval=60)
        try:
            with self.assertLogs("llm_metrics", "WARNING") as logs:
                self.call(reporter, 2)
                self.assertTrue(reporter.flush(timeout=10))
            self.assertEqual(reporter.dropped, 2)
        finally:
            reporter.close()
            server.stop()
        self.assertEqual(logs.output, [
            f"WARNING:llm_metrics:dropped 2 LLM metric event(s): {server.url}/v1/events answered "
            "HTTP 400 Bad Request (the answer is not JSON: '<html><body>Bad Request</body></html>') "
            "(further drops are logged at debug level until the agent accepts a batch again)"])

    def test_a_json_400_without_errors_is_logged_with_its_status(self):
        server = RecordingServer(400, answer=b'{"accepted": 0, "rejected": 1}')
        reporter = llm_metrics.Reporter(url=server.url, interval=60)
        try:
            with self.assertLogs("llm_metrics", "WARNING") as logs:
                self.call(reporter, 1)
                self.assertTrue(reporter.flush(timeout=10))
        finally:
            reporter.close()
            server.stop()
        self.assertEqual(logs.output, [
            f"WARNING:llm_metrics:dropped 1 LLM metric event(s): {server.url}/v1/events answered "
            "HTTP 400 Bad Request (further drops are logged at debug level until the agent "
            "accepts a batch again)"])

    def test_hanging_agent_never_blocks_the_caller(self):
        server = SilentServer()
        # A queue of 5 and a long interval: the sender only runs when flush() wakes it.
        reporter = llm_metrics.Reporter(url=server.url, timeout=0.5, max_queue=5, interval=60)
        slowest = 0.0

        def timed_calls(n):
            nonlocal slowest
            for i in range(n):
                start = time.monotonic()
                reporter.track_llm_call(MINI, "/chat", i, 10, 0.4, 0.1, "u", "t")
                slowest = max(slowest, time.monotonic() - start)

        try:
            with self.assertLogs("llm_metrics", "WARNING") as logs:
                timed_calls(20)
                self.assertEqual(reporter.dropped, 15)  # the queue holds 5
                # The sender takes those 5 and hangs on the silent agent; flush gives up in time.
                self.assertFalse(reporter.flush(timeout=0.1))
                wait_until(lambda: server.connections, timeout=5, what="the sender to connect")
                timed_calls(20)  # while the sender is stuck on the network
                self.assertEqual(reporter.dropped, 30)
                # Both batches time out after 0.5 s each and are counted as dropped.
                self.assertTrue(reporter.flush(timeout=10))
            self.assertEqual(reporter.dropped, 40)
            self.assertLess(slowest, 0.05, "track_llm_call blocked the caller")
            self.assertEqual(len(logs.records), 1, logs.output)
        finally:
            reporter.close(timeout=2)
            server.stop()


ROOT = os.path.dirname(EXAMPLES)
PROMTOOL = shutil.which("promtool")


class PrometheusExampleTest(unittest.TestCase):
    """examples/prometheus: the scrape job for agents beyond loopback, and the advice around it."""

    def https_job(self):
        with open(os.path.join(EXAMPLES, "prometheus", "prometheus.yml"), encoding="utf-8") as f:
            text = f.read()
        block = re.search(r"(?ms)^  # BEGIN https job\n(.*?)^  # END https job\n", text)
        self.assertIsNotNone(block, "the commented HTTPS job is missing")
        lines = [re.sub(r"^  # ?", "", line) for line in block.group(1).splitlines()]
        return yaml.safe_load("\n".join(lines))[0], yaml.safe_load(text)

    def test_the_https_job_has_tls_and_basic_auth(self):
        job, _ = self.https_job()
        self.assertEqual(job["job_name"], "llm_exporter")
        self.assertEqual(job["scheme"], "https")
        self.assertEqual(job["tls_config"], {"ca_file": "/etc/prometheus/llm-exporter-ca.crt"})
        self.assertEqual(job["basic_auth"], {
            "username": "prometheus", "password_file": "/etc/prometheus/llm-exporter.password"})

    @unittest.skipUnless(PROMTOOL, "needs promtool (Debian package prometheus)")
    def test_the_https_job_in_place_of_the_loopback_one_passes_promtool(self):
        job, config = self.https_job()
        config["scrape_configs"] = [job]
        config["rule_files"] = [os.path.join(ROOT, "rules", os.path.basename(f))
                                for f in config["rule_files"]]
        with tempfile.TemporaryDirectory(prefix="llmx-prom-") as tmp:
            path = os.path.join(tmp, "prometheus.yml")
            with open(path, "w", encoding="utf-8") as f:
                yaml.safe_dump(config, f)
            check = subprocess.run([PROMTOOL, "check", "config", path], capture_output=True,
                                   text=True, timeout=60)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)

    def test_no_advice_binds_beyond_loopback_without_a_web_config(self):
        files = [os.path.join(ROOT, "README.md"), *glob.glob(os.path.join(ROOT, "docs", "*.md")),
                 *glob.glob(os.path.join(EXAMPLES, "**", "*"), recursive=True)]
        seen = 0
        for path in files:
            if not os.path.isfile(path):
                continue
            with open(path, encoding="utf-8", errors="replace") as f:
                for number, line in enumerate(f, 1):
                    for host in re.findall(r"--web\.listen-address[= ]([^\s`'\"]*):\d+", line):
                        if host in ("127.0.0.1", "localhost", "[::1]"):
                            continue
                        seen += 1
                        with self.subTest(file=os.path.relpath(path, ROOT), line=number):
                            self.assertIn("--web.config.file", line)
        self.assertGreaterEqual(seen, 2)  # the example's own advice is found


if __name__ == "__main__":
    unittest.main(verbosity=2)
