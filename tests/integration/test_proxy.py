"""The metering proxy with real clients: the OpenAI and Anthropic Node.js SDKs (tests/proxy-js),
their base URLs pointed at the agent's /proxy/<upstream>, against the fake upstream of
fake_upstream.py. Every call's tokens, cost, outcome, rate limits and timings must come out
exactly, and what the client gets must be what the upstream sent (or, with stream usage
injection, that minus the injected usage).

Needs Node.js and the npm packages of tests/proxy-js (scripts/setup.sh installs them). Without
them the test skips with a reason, unless CI is set, where it fails. $LLM_EXPORTER_NODE names
another node binary to run the clients with (e.g. Debian's Node.js 18)."""
import base64
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_upstream import (RATE_LIMIT_HEADERS, RATE_LIMITED_HEADERS,  # noqa: E402
                           FakeUpstream, expected_text)
from harness import SOURCE_DIR, Agent, wait_until  # noqa: E402

PROXY_JS = os.path.join(SOURCE_DIR, "tests", "proxy-js")
NODE = os.environ.get("LLM_EXPORTER_NODE") or shutil.which("node")
MISSING = None
if NODE is None:
    MISSING = "node is not installed (scripts/setup.sh installs it)"
elif not (os.path.isdir(os.path.join(PROXY_JS, "node_modules", "openai")) and
          os.path.isdir(os.path.join(PROXY_JS, "node_modules", "@anthropic-ai", "sdk"))):
    MISSING = "tests/proxy-js/node_modules is missing (scripts/setup.sh runs npm ci there)"
if MISSING and os.environ.get("CI"):
    raise SystemExit(f"test_proxy: {MISSING}, and CI is set")

# Under the sanitizers the agent runs 3-10 times slower: timings are checked only for what they
# cannot be below, never against a tolerance.
SANITIZED = bool(os.environ.get("LLM_EXPORTER_SANITIZE"))
WAIT = 60 if SANITIZED else 15
IDLE_TIMEOUT_S = 1.0

UPSTREAMS = ("openai", "openai-inject", "anthropic")

PRICES = {"unit": "usd_per_1m_tokens",
          "models": {"gpt-4o-mini-2024-07-18": {"input": 0.15, "output": 0.6,
                                                "cached_input": 0.075},
                     "gpt-4.1": {"input": 2, "output": 8, "cached_input": 0.5},
                     "gpt-4.1-mini": {"input": 0.4, "output": 1.6},
                     "text-embedding-3-small": {"input": 0.02, "output": 0},
                     "claude-sonnet-4-20250514": {"input": 3, "output": 15, "cached_input": 0.3,
                                                  "cache_write_input": 3.75}},
          "fallback": {"input": 0, "output": 0}}


def cost(model, input=0, output=0, cached=0, cache_write=0):
    """The priced cost of a call in USD: cached and cache-write tokens are parts of `input`."""
    p = PRICES["models"][model]
    return ((input - cached - cache_write) * p["input"] + cached * p.get("cached_input", 0) +
            cache_write * p.get("cache_write_input", 0) + output * p["output"]) / 1e6


def sse_events(body):
    """An SSE body split into its events, each with its blank-line terminator."""
    return [e + b"\n\n" for e in body.split(b"\n\n") if e]


@unittest.skipIf(MISSING, MISSING or "")
class ProxyWithRealClientsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="llmx-proxy-")
        cls.fake = FakeUpstream().start()
        config = os.path.join(cls.tmp.name, "proxy.yaml")
        with open(config, "w") as f:
            f.write(f"""upstreams:
  - name: openai
    kind: openai
    url: {cls.fake.url}
    idle_timeout: 1s
  - name: openai-inject
    kind: openai
    url: {cls.fake.url}
    idle_timeout: 1s
    inject_stream_usage: true
  - name: anthropic
    kind: anthropic
    url: {cls.fake.url}
    idle_timeout: 1s
""")
        prices = os.path.join(cls.tmp.name, "prices.json")
        with open(prices, "w") as f:
            json.dump(PRICES, f)
        cls.agent = Agent([f"--proxy.config.file={config}", f"--pricing.file={prices}"])
        cls.agent.start()
        cls.first_scrape = cls.agent.scrape()
        # One Node.js process makes the calls of every test: its start and the SDKs' loading
        # take about a second each time.
        cls.node = subprocess.Popen([NODE, os.path.join(PROXY_JS, "call.mjs"), "--serve"],
                                    cwd=PROXY_JS, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    text=True, bufsize=1)

    @classmethod
    def tearDownClass(cls):
        cls.node.stdin.close()
        try:
            cls.node.wait(10)
        except subprocess.TimeoutExpired:
            cls.node.kill()
            cls.node.wait()
        try:
            log = cls.agent.log()
            code = cls.agent.stop()
        finally:
            cls.fake.stop()
            cls.agent.tmp.cleanup()
            cls.tmp.cleanup()
        # Header values never reach the log: the API keys the clients sent are secrets.
        for secret in ("sk-test-key", "sk-ant-test-key"):
            assert secret not in log, f"{secret} in the agent's log:\n{log[-4000:]}"
        assert code == 0, f"agent exited with {code}; log:\n{log[-4000:]}"

    def tearDown(self):
        # Nothing stays in flight once the clients are done, whatever way each call ended.
        wait_until(lambda: all(self.agent.scrape().value(
            "llm_exporter_proxy_requests_in_flight", upstream=u) == 0 for u in UPSTREAMS),
            timeout=WAIT, what="no proxied request in flight")

    # --- helpers -------------------------------------------------------------------------------

    def base(self, upstream):
        """The base URL an app gives its SDK: /v1 for the OpenAI SDK, none for Anthropic's."""
        url = f"{self.agent.url}/proxy/{upstream}"
        return url if upstream == "anthropic" else url + "/v1"

    def spec(self, scenario, upstream, model, fake="", tag=None, **extra):
        tag = tag or f"{self._testMethodName}-{len(self.fake.requests)}-{time.monotonic_ns()}"
        fake = f"{fake}&tag={tag}" if fake else f"tag={tag}"
        return {"scenario": scenario, "baseURL": self.base(upstream), "model": model,
                "fake": fake, "tag": tag, **extra}

    def run_node(self, specs, timeout=60, one_shot=False):
        """Makes the calls of `specs` (a spec, a list, or {"parallel": [...]}) with
        tests/proxy-js/call.mjs; returns its result or list of results. The calls go to the
        class's long-running call.mjs --serve unless `one_shot`: a Node.js process of their own,
        which notices a call its HTTP client leaves hanging (it ends as "Unsettled")."""
        if one_shot:
            out = subprocess.run([NODE, os.path.join(PROXY_JS, "call.mjs"), json.dumps(specs)],
                                 cwd=PROXY_JS, capture_output=True, text=True, timeout=timeout)
            self.assertEqual(out.returncode, 0, f"call.mjs: {out.stdout}{out.stderr}")
            result = json.loads(out.stdout.strip().splitlines()[-1])
        else:
            node = self.node
            node.stdin.write(json.dumps(specs) + "\n")
            node.stdin.flush()
            ready, _, _ = select.select([node.stdout], [], [], timeout)
            line = node.stdout.readline() if ready else ""
            self.assertTrue(line, f"call.mjs --serve gave no answer in {timeout} s "
                            f"(exit status {node.poll()})")
            result = json.loads(line)
            self.assertNotIn("fatal", result)
        return result if isinstance(specs, dict) and "parallel" not in specs else result["results"]

    def call(self, *args, **kw):
        return self.run_node(self.spec(*args, **kw))

    def record(self, tag, index=0, count=None):
        """The fake's record of the request tagged `tag` (the index-th of them, once the fake has
        got `count` of them, or index + 1)."""
        count = count or index + 1
        records = self.fake.wait_for(lambda: len(self.fake.find(tag)) >= count and
                                     self.fake.find(tag), timeout=WAIT,
                                     what=f"{count} request(s) tagged {tag}")
        return records[index]

    def settle(self, model, upstream, calls):
        """Waits until the proxy has recorded `calls` calls of `model` in both the call families
        and the upstream family; returns that scrape."""
        def done():
            m = self.agent.scrape()
            if (m.sum("llm_requests_total", model=model) == calls and
                    m.sum("llm_proxy_requests_total", model=model, upstream=upstream) == calls):
                return m
            return None
        return wait_until(done, timeout=WAIT, what=f"{calls} proxied call(s) of {model}")

    def assertTokens(self, m, model, input, output, cache_read=0, cache_write=0, reasoning=0):
        self.assertEqual(m.value("llm_tokens_total", model=model, direction="input"), input)
        self.assertEqual(m.value("llm_tokens_total", model=model, direction="output"), output)
        for kind, n in (("cache_read", cache_read), ("cache_write", cache_write),
                        ("reasoning", reasoning)):
            self.assertEqual(m.value("llm_tokens_by_kind_total", model=model, kind=kind), n, kind)

    def assertOutcomes(self, m, upstream, model, **outcomes):
        got = {s["outcome"]: m.value("llm_proxy_requests_total", **s)
               for s in m.series("llm_proxy_requests_total")
               if s["upstream"] == upstream and s["model"] == model}
        self.assertEqual(got, outcomes, (upstream, model))

    def raw(self, method, path, body=b"", headers=None, timeout=30):
        """One request to the agent with urllib; (status, headers, body)."""
        r = self.agent.request(method, path, body=body, headers=headers or {}, timeout=timeout)
        return r.status, {k.lower(): v for k, v in r.headers.items()}, r.body

    # --- start-up ------------------------------------------------------------------------------

    def test_every_upstreams_series_exists_from_start(self):
        m = self.first_scrape
        for u in UPSTREAMS:
            self.assertEqual(m.value("llm_exporter_proxy_requests_in_flight", upstream=u), 0, u)
            self.assertEqual(m.value("llm_exporter_proxy_streams_without_usage_total",
                                     upstream=u), 0, u)
            self.assertEqual(m.value("llm_exporter_proxy_unmetered_requests_total",
                                     upstream=u), 0, u)
            for reason in ("connect", "tls", "timeout", "broken"):
                self.assertEqual(m.value("llm_exporter_proxy_upstream_failures_total",
                                         upstream=u, reason=reason), 0, (u, reason))
        self.assertEqual(m.value("llm_exporter_proxy_unknown_upstream_requests_total"), 0)

    # --- OpenAI --------------------------------------------------------------------------------

    def test_openai_chat_streamed_and_not(self):
        model = "gpt-4o-mini-2024-07-18"  # the response's model, not the request's gpt-4o-mini
        plain, streamed = self.run_node([
            self.spec("openai-chat", "openai", "gpt-4o-mini",
                      f"model={model}&input=1200&output=300&cached=1000&reasoning=100&chunks=3"),
            self.spec("openai-chat-stream-usage", "openai", "gpt-4o-mini",
                      f"model={model}&input=40&output=5&chunks=5&gap_ms=2")])
        for r, chunks in ((plain, 3), (streamed, 5)):
            self.assertTrue(r["ok"], r)
            self.assertEqual(r["text"], expected_text(chunks))
            self.assertEqual(r["model"], model)
        self.assertEqual(plain["usage"]["prompt_tokens_details"]["cached_tokens"], 1000)
        self.assertEqual(streamed["usage"]["completion_tokens"], 5)
        self.assertTrue(streamed["sawUsageOnlyChunk"])  # the client asked for it: it gets it
        self.assertEqual(streamed["contentChunks"], 5)
        # What reached the upstream: the client's request, its credentials included.
        rec = self.record(plain["tag"])
        self.assertEqual((rec.method, rec.path), ("POST", "/v1/chat/completions"))
        self.assertEqual(rec.header("authorization"), "Bearer sk-test-key")
        self.assertEqual(rec.json()["model"], "gpt-4o-mini")
        m = self.settle(model, "openai", 2)
        self.assertEqual(m.value("llm_requests_total", model=model, endpoint="",
                                 status="success"), 2)
        self.assertTokens(m, model, input=1240, output=305, cache_read=1000, reasoning=100)
        self.assertAlmostEqual(m.value("llm_cost_usd_total", model=model, user_id="", team_id=""),
                               cost(model, 1240, 305, cached=1000), 12)
        self.assertOutcomes(m, "openai", model, ok=2)
        self.assertEqual(m.value("llm_client_retries_total", upstream="openai", model=model), 0)
        self.assertEqual(m.value("llm_ttft_seconds_count", model=model), 1)  # the stream's
        self.assertEqual(m.value("llm_request_duration_seconds_count", model=model, endpoint=""),
                         2)
        self.assertIn(m.value("llm_calls_without_usage_total", model=model, transport="proxy"),
                      (None, 0))
        self.assertIsNone(m.value("llm_requests_total", model="gpt-4o-mini", endpoint="",
                                  status="success"))

    def test_responses_stream_and_embeddings(self):
        responses, embeddings = self.run_node([
            self.spec("openai-responses-stream", "openai", "gpt-4.1",
                      "input=500&output=70&cached=100&reasoning=30&chunks=4"),
            self.spec("openai-embeddings", "openai", "text-embedding-3-small", "input=9")])
        self.assertTrue(responses["ok"], responses)
        self.assertEqual(responses["text"], expected_text(4))
        self.assertEqual(responses["finishReason"], "completed")
        self.assertTrue(embeddings["ok"], embeddings)
        self.assertEqual(len(embeddings["embeddings"]), 2)  # decoded from base64 by the SDK
        self.assertEqual(embeddings["embeddings"][1], [0.25, 0.5, 0.75, 1.0])
        m = self.settle("gpt-4.1", "openai", 1)
        m = self.settle("text-embedding-3-small", "openai", 1)
        self.assertTokens(m, "gpt-4.1", input=500, output=70, cache_read=100, reasoning=30)
        self.assertAlmostEqual(m.value("llm_cost_usd_total", model="gpt-4.1", user_id="",
                                       team_id=""), cost("gpt-4.1", 500, 70, cached=100), 12)
        self.assertEqual(m.value("llm_ttft_seconds_count", model="gpt-4.1"), 1)
        self.assertTokens(m, "text-embedding-3-small", input=9, output=0)
        self.assertAlmostEqual(m.value("llm_cost_usd_total", model="text-embedding-3-small",
                                       user_id="", team_id=""),
                               cost("text-embedding-3-small", 9), 12)
        self.assertOutcomes(m, "openai", "gpt-4.1", ok=1)
        self.assertOutcomes(m, "openai", "text-embedding-3-small", ok=1)

    # --- Anthropic -----------------------------------------------------------------------------

    def test_anthropic_messages_streamed_and_not(self):
        model = "claude-sonnet-4-20250514"
        plain, streamed = self.run_node([
            self.spec("anthropic-messages", "anthropic", model,
                      "input=100&cached=200&cache_write=300&output=40&chunks=2"),
            # Three message_delta events: only the last one's counts hold (they are cumulative).
            self.spec("anthropic-messages-stream", "anthropic", model,
                      "input=10&output=6&chunks=3&deltas=3&gap_ms=2")])
        for r, chunks in ((plain, 2), (streamed, 3)):
            self.assertTrue(r["ok"], r)
            self.assertEqual(r["text"], expected_text(chunks))
            self.assertEqual(r["finishReason"], "end_turn")
        self.assertEqual(plain["usage"]["cache_creation_input_tokens"], 300)
        self.assertEqual(streamed["usage"]["output_tokens"], 6)
        rec = self.record(streamed["tag"])
        self.assertEqual(rec.path, "/v1/messages")
        self.assertEqual(rec.header("x-api-key"), "sk-ant-test-key")
        self.assertEqual(rec.header("anthropic-version"), "2023-06-01")
        m = self.settle(model, "anthropic", 2)
        self.assertEqual(m.value("llm_requests_total", model=model, endpoint="",
                                 status="success"), 2)
        # Input is input + cache creation + cache read.
        self.assertTokens(m, model, input=100 + 200 + 300 + 10, output=46, cache_read=200,
                          cache_write=300)
        self.assertAlmostEqual(
            m.value("llm_cost_usd_total", model=model, user_id="", team_id=""),
            cost(model, 610, 46, cached=200, cache_write=300), 12)
        self.assertOutcomes(m, "anthropic", model, ok=2)
        self.assertEqual(m.value("llm_ttft_seconds_count", model=model), 1)

    # --- stream usage injection ----------------------------------------------------------------

    def test_injection_off_the_stream_is_byte_identical_and_its_tokens_unknown(self):
        model = "gpt-4o-noinject"
        before = self.agent.scrape().value("llm_exporter_proxy_streams_without_usage_total",
                                           upstream="openai")
        body = ('{"model":"%s","messages":[{"role":"user","content":"Say hello."}],'
                '"stream":true}' % model)
        # The other streams pass through as they are too: Responses events, Anthropic's (ping
        # included).
        responses_body = '{"model":"gpt-4o-raw-responses","input":"Hi","stream":true}'
        claude_body = ('{"model":"claude-raw","max_tokens":64,"stream":true,'
                       '"messages":[{"role":"user","content":"Hi"}]}')
        raw, sdk, raw_responses, raw_claude = self.run_node([
            self.spec("raw", "openai", model, "chunks=6&gap_ms=2",
                      url=f"{self.base('openai')}/chat/completions", body=body,
                      headers={"Authorization": "Bearer sk-test-key"}),
            self.spec("openai-chat-stream", "openai", model, "chunks=4"),
            self.spec("raw", "openai", "gpt-4o-raw-responses", "chunks=3&input=8&output=3",
                      url=f"{self.base('openai')}/responses", body=responses_body),
            self.spec("raw", "anthropic", "claude-raw", "chunks=3&input=9&output=3&deltas=2",
                      url=f"{self.base('anthropic')}/v1/messages", body=claude_body,
                      headers={"x-api-key": "sk-ant-test-key",
                               "anthropic-version": "2023-06-01"})])
        for r, sent in ((raw, body), (raw_responses, responses_body),
                        (raw_claude, claude_body)):
            self.assertEqual(r["status"], 200, r)
            rec = self.record(r["tag"])
            # Both ways byte for byte: the request body the fake got, the stream the client got.
            self.assertEqual(rec.body, sent.encode())
            self.assertEqual(base64.b64decode(r["bodyBase64"]), bytes(rec.response_body))
            self.assertEqual(r["headers"]["content-type"], "text/event-stream; charset=utf-8")
        self.assertEqual(raw["headers"]["x-request-id"],
                         self.record(raw["tag"]).response_header("x-request-id"))
        self.assertIn(b"event: ping\n", base64.b64decode(raw_claude["bodyBase64"]))
        self.assertTrue(sdk["ok"], sdk)
        self.assertEqual(sdk["text"], expected_text(4))
        self.assertFalse(sdk["sawUsageOnlyChunk"])
        m = self.settle(model, "openai", 2)
        self.assertEqual(m.value("llm_requests_total", model=model, endpoint="",
                                 status="success"), 2)
        self.assertEqual(m.value("llm_calls_without_usage_total", model=model,
                                 transport="proxy"), 2)
        self.assertEqual(m.value("llm_exporter_proxy_streams_without_usage_total",
                                 upstream="openai"), before + 2)
        self.assertIn(m.value("llm_tokens_total", model=model, direction="input"), (None, 0))
        self.assertEqual(m.value("llm_ttft_seconds_count", model=model), 2)
        self.assertOutcomes(m, "openai", model, ok=2)
        m = self.settle("gpt-4o-raw-responses", "openai", 1)
        m = self.settle("claude-raw", "anthropic", 1)
        self.assertTokens(m, "gpt-4o-raw-responses", input=8, output=3)
        self.assertTokens(m, "claude-raw", input=9, output=3)

    def test_injection_on_the_client_sees_no_usage_and_tokens_are_counted(self):
        model = "gpt-4o-inject"
        before = self.agent.scrape().value("llm_exporter_proxy_streams_without_usage_total",
                                           upstream="openai-inject")
        body = ('{"model":"%s","messages":[{"role":"user","content":"Say hello."}],'
                '"stream":true}' % model)
        sdk, raw, asked = self.run_node([
            self.spec("openai-chat-stream", "openai-inject", model,
                      "input=21&output=4&chunks=4&gap_ms=2"),
            self.spec("raw", "openai-inject", model, "input=30&output=3&chunks=3",
                      url=f"{self.base('openai-inject')}/chat/completions", body=body,
                      headers={"Authorization": "Bearer sk-test-key",
                               "Accept-Encoding": "gzip, deflate, br"}),
            # A client that asks for usage itself gets it, untouched.
            self.spec("openai-chat-stream-usage", "openai-inject", model,
                      "input=5&output=2&chunks=2")])
        self.assertTrue(sdk["ok"], sdk)
        self.assertEqual(sdk["text"], expected_text(4))
        self.assertEqual(sdk["finishReason"], "stop")
        self.assertFalse(sdk["sawUsageOnlyChunk"])
        self.assertFalse(sdk["sawUsageNull"])
        self.assertIsNone(sdk["usage"])
        sdk_rec, raw_rec, asked_rec = (self.record(r["tag"]) for r in (sdk, raw, asked))
        # Upstream, the request asked for usage, and for no compression the meter could not
        # rewrite on the fly.
        self.assertEqual(sdk_rec.json()["stream_options"], {"include_usage": True})
        self.assertEqual(raw_rec.json()["stream_options"], {"include_usage": True})
        self.assertEqual(raw_rec.header("accept-encoding"), "identity")
        # The client's stream is the upstream's minus the usage-only chunk and "usage":null.
        expected = b"".join(e.replace(b',"usage":null', b"") for e in
                            sse_events(bytes(raw_rec.response_body))
                            if b'"choices":[]' not in e)
        self.assertNotIn(b'"usage"', expected)
        self.assertEqual(base64.b64decode(raw["bodyBase64"]), expected)
        self.assertTrue(asked["ok"], asked)
        self.assertTrue(asked["sawUsageOnlyChunk"])
        self.assertTrue(asked["sawUsageNull"])
        self.assertEqual(asked["usage"]["prompt_tokens"], 5)
        self.assertEqual(asked_rec.json()["stream_options"], {"include_usage": True})
        m = self.settle(model, "openai-inject", 3)
        self.assertTokens(m, model, input=21 + 30 + 5, output=4 + 3 + 2)
        self.assertEqual(m.value("llm_requests_total", model=model, endpoint="",
                                 status="success"), 3)
        self.assertIn(m.value("llm_calls_without_usage_total", model=model, transport="proxy"),
                      (None, 0))
        self.assertEqual(m.value("llm_exporter_proxy_streams_without_usage_total",
                                 upstream="openai-inject"), before)
        self.assertOutcomes(m, "openai-inject", model, ok=3)

    # --- a client that hangs up, an upstream that stalls ---------------------------------------

    def test_client_hangs_up_mid_stream(self):
        openai_model, claude_model = "gpt-4o-hangup", "claude-hangup"
        # 200 chunks 20 ms apart: 4 s of stream, of which the clients read 2 or 3 chunks.
        chat, claude = self.run_node([
            self.spec("openai-chat-stream", "openai", openai_model, "chunks=200&gap_ms=20",
                      abortAfter=2),
            self.spec("anthropic-messages-stream", "anthropic", claude_model,
                      "chunks=200&gap_ms=20", abortAfter=3)])
        for r, n in ((chat, 2), (claude, 3)):
            self.assertTrue(r["aborted"], r)
            self.assertEqual(r["text"], expected_text(n))
        for r, tag_model in ((chat, openai_model), (claude, claude_model)):
            rec = self.record(r["tag"])
            # The proxy closed its upstream connection once the client left, well before the
            # stream's end.
            self.fake.wait_for(lambda: rec.closed_early, timeout=WAIT,
                               what=f"the fake to see {tag_model}'s connection closed")
            self.assertFalse(rec.completed)
            if not SANITIZED:
                self.assertLess(rec.t_closed - rec.t_first_content, 1.0, tag_model)
        for model, upstream in ((openai_model, "openai"), (claude_model, "anthropic")):
            m = self.settle(model, upstream, 1)
            self.assertEqual(m.value("llm_requests_total", model=model, endpoint="",
                                     status="cancelled"), 1, model)
            self.assertOutcomes(m, upstream, model, cancelled=1)

    def test_upstream_stalls(self):
        before = self.agent.scrape()
        mid, headers_only, silent = self.run_node({"parallel": [
            # Two chunks, then silence: the client's stream breaks, never ends cleanly.
            self.spec("openai-chat-stream", "openai", "gpt-4o-stall-mid",
                      "chunks=5&stall_after=2", timeoutMs=30000),
            # Headers and no body byte: the client is left short of the Content-Length (the
            # Anthropic SDK's node-fetch then neither finishes nor fails: "Unsettled").
            self.spec("anthropic-messages", "anthropic", "claude-stall-headers",
                      "stall_after=0", timeoutMs=30000),
            # Nothing at all for 3 s: no answer byte, so the proxy answers 504 itself.
            self.spec("openai-chat", "openai", "gpt-4o-stall-silent", "ttft_ms=3000",
                      timeoutMs=30000)]}, one_shot=True)
        self.assertFalse(mid["ok"], mid)
        self.assertEqual(mid["text"], expected_text(2))
        self.assertIsNone(mid["finishReason"])
        self.assertFalse(headers_only["ok"], headers_only)
        self.assertFalse(silent["ok"], silent)
        self.assertEqual(silent["status"], 504, silent)
        self.assertEqual(silent["error"]["type"], "proxy_error", silent)
        if not SANITIZED:
            for r in (mid, headers_only, silent):  # cut by the idle timeout (1 s), not the fake
                self.assertLess(r["totalMs"], 2900, r)
        for r, model in ((mid, "gpt-4o-stall-mid"), (headers_only, "claude-stall-headers")):
            rec = self.record(r["tag"])
            self.fake.wait_for(lambda: rec.closed_early, timeout=WAIT,
                               what=f"the proxy to close {model}'s upstream connection")
            self.assertGreaterEqual(rec.t_closed - rec.t_received, IDLE_TIMEOUT_S * 0.9, model)
        for model, upstream in (("gpt-4o-stall-mid", "openai"),
                                ("claude-stall-headers", "anthropic"),
                                ("gpt-4o-stall-silent", "openai")):
            m = self.settle(model, upstream, 1)
            self.assertEqual(m.value("llm_requests_total", model=model, endpoint="",
                                     status="error"), 1, model)
            self.assertOutcomes(m, upstream, model, timeout=1)
        for upstream, n in (("openai", 2), ("anthropic", 1)):
            labels = {"upstream": upstream, "reason": "timeout"}
            self.assertEqual(m.value("llm_exporter_proxy_upstream_failures_total", **labels),
                             before.value("llm_exporter_proxy_upstream_failures_total",
                                          **labels) + n, upstream)

    # --- routing -------------------------------------------------------------------------------

    def test_unknown_upstream_is_404_and_nothing_is_forwarded(self):
        before = self.agent.scrape().value("llm_exporter_proxy_unknown_upstream_requests_total")
        requests = len(self.fake.requests)
        status, headers, body = self.raw("POST", "/proxy/nope/v1/chat/completions",
                                         b'{"model":"gpt-4o"}',
                                         {"Content-Type": "application/json"})
        self.assertEqual(status, 404)
        for name in UPSTREAMS:
            self.assertIn(name, body.decode())
        sdk = self.run_node(self.spec("openai-chat", "nope", "gpt-4o-unknown-upstream"))
        self.assertEqual(sdk["status"], 404, sdk)
        self.assertEqual(len(self.fake.requests), requests)
        wait_until(lambda: self.agent.scrape().value(
            "llm_exporter_proxy_unknown_upstream_requests_total") == before + 2,
            timeout=WAIT, what="two unknown-upstream requests counted")
        m = self.agent.scrape()
        self.assertEqual(m.sum("llm_requests_total", model="gpt-4o-unknown-upstream"), 0)

    def test_requests_that_are_not_llm_calls_pass_unmetered(self):
        before = self.agent.scrape()
        status, _, body = self.raw("GET", "/proxy/openai/v1/models",
                                   headers={"Authorization": "Bearer sk-test-key"})
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["data"][0]["id"], "gpt-4o")
        status, _, body = self.raw("POST", "/proxy/anthropic/v1/messages/count_tokens",
                                   b'{"model":"claude-count","messages":[]}',
                                   {"Content-Type": "application/json",
                                    "X-Fake": "input=77", "x-api-key": "sk-ant-test-key"})
        self.assertEqual((status, json.loads(body)), (200, {"input_tokens": 77}))
        for upstream in ("openai", "anthropic"):
            labels = {"upstream": upstream}
            wait_until(lambda: self.agent.scrape().value(
                "llm_exporter_proxy_unmetered_requests_total", **labels) ==
                before.value("llm_exporter_proxy_unmetered_requests_total", **labels) + 1,
                timeout=WAIT, what=f"an unmetered request to {upstream}")
        m = self.agent.scrape()
        self.assertEqual(m.sum("llm_requests_total", model="claude-count"), 0)
        self.assertEqual(m.sum("llm_requests_total"), before.sum("llm_requests_total"))

    # --- errors --------------------------------------------------------------------------------

    def test_errors_inside_a_200_stream(self):
        cases = [("openai-chat-stream", "openai", "gpt-4o-err-object", "error=object"),
                 ("openai-chat-stream", "openai", "gpt-4o-err-event", "error=event"),
                 ("openai-responses-stream", "openai", "gpt-4o-err-failed", "error=failed"),
                 ("anthropic-messages-stream", "anthropic", "claude-overloaded",
                  "error=overloaded")]
        results = self.run_node([self.spec(s, u, model, f"chunks=4&error_after=2&{f}")
                                 for s, u, model, f in cases])
        for (scenario, upstream, model, _), r in zip(cases, results):
            self.assertEqual(r["status"], 200, r)
            self.assertEqual(r["text"], expected_text(2), model)
            if model != "gpt-4o-err-failed":  # the SDK hands response.failed over as an event
                self.assertFalse(r["ok"], r)
            m = self.settle(model, upstream, 1)
            self.assertEqual(m.value("llm_requests_total", model=model, endpoint="",
                                     status="error"), 1, model)
            self.assertOutcomes(m, upstream, model, stream_error=1)

    def test_error_statuses_reach_the_client_unchanged(self):
        bad, broken, overloaded = self.run_node([
            self.spec("openai-chat", "openai", "gpt-4o-400", "status=400"),
            self.spec("openai-chat", "openai", "gpt-4o-500", "status=500"),
            self.spec("anthropic-messages", "anthropic", "claude-529", "status=529")])
        self.assertEqual((bad["status"], bad["error"]["type"]), (400, "invalid_request_error"))
        self.assertEqual((broken["status"], broken["error"]["type"]), (500, "server_error"))
        self.assertEqual(overloaded["status"], 529, overloaded)
        self.assertIn("overloaded_error", overloaded["error"]["message"])
        for model, upstream, outcome in (("gpt-4o-400", "openai", "client_error"),
                                         ("gpt-4o-500", "openai", "upstream_error"),
                                         ("claude-529", "anthropic", "upstream_error")):
            m = self.settle(model, upstream, 1)
            self.assertEqual(m.value("llm_requests_total", model=model, endpoint="",
                                     status="error"), 1, model)
            self.assertOutcomes(m, upstream, model, **{outcome: 1})

    # --- rate limits and retries ---------------------------------------------------------------

    def test_rate_limited_and_rate_limit_headroom(self):
        openai_model, claude_model = "gpt-4o-429", "claude-429"
        limited, claude_limited = self.run_node([
            self.spec("openai-chat", "openai", openai_model, "status=429"),
            self.spec("anthropic-messages", "anthropic", claude_model, "status=429")])
        self.assertEqual(limited["status"], 429, limited)
        self.assertEqual(claude_limited["status"], 429, claude_limited)
        resources = {"requests": "requests", "tokens": "tokens", "input-tokens": "input_tokens",
                     "output-tokens": "output_tokens"}

        def expected(kind, headers):
            out = {}
            for name, value in headers.items():
                for which in ("remaining", "limit"):
                    if kind == "openai" and name.startswith(f"x-ratelimit-{which}-"):
                        out[(which, name[len(f"x-ratelimit-{which}-"):])] = float(value)
                    elif kind == "anthropic" and name.endswith(f"-{which}"):
                        key = name[len("anthropic-ratelimit-"):-len(which) - 1]
                        out[(which, resources[key])] = float(value)
            return out

        def seen(m, upstream, model):
            out = {}
            for which in ("remaining", "limit"):
                for s in m.series(f"llm_ratelimit_{which}"):
                    if s["upstream"] == upstream and s["model"] == model:
                        out[(which, s["resource"])] = m.value(f"llm_ratelimit_{which}", **s)
            return out

        m = self.settle(openai_model, "openai", 1)
        m = self.settle(claude_model, "anthropic", 1)
        # The request's model names the series: a 429 names none of its own.
        self.assertEqual(seen(m, "openai", openai_model),
                         expected("openai", RATE_LIMITED_HEADERS["openai"]))
        self.assertEqual(seen(m, "anthropic", claude_model),
                         expected("anthropic", RATE_LIMITED_HEADERS["anthropic"]))
        self.assertEqual(seen(m, "openai", openai_model)[("remaining", "requests")], 0)
        for model, upstream in ((openai_model, "openai"), (claude_model, "anthropic")):
            self.assertEqual(m.value("llm_requests_total", model=model, endpoint="",
                                     status="error"), 1)
            self.assertOutcomes(m, upstream, model, rate_limited=1)
        # A later answer's headers replace the 429's: the gauges hold the last values seen.
        ok, claude_ok = self.run_node([
            self.spec("openai-chat-stream-usage", "openai", openai_model, "ratelimit=1"),
            self.spec("anthropic-messages-stream", "anthropic", claude_model, "ratelimit=1")])
        self.assertTrue(ok["ok"] and claude_ok["ok"], (ok, claude_ok))
        m = self.settle(openai_model, "openai", 2)
        m = self.settle(claude_model, "anthropic", 2)
        self.assertEqual(seen(m, "openai", openai_model),
                         expected("openai", RATE_LIMIT_HEADERS["openai"]))
        self.assertEqual(seen(m, "anthropic", claude_model),
                         expected("anthropic", RATE_LIMIT_HEADERS["anthropic"]))

    def test_client_retry_after_a_429(self):
        model = "gpt-4o-retry"
        r = self.call("openai-chat", "openai", model, "status=429&times=1&retry_after_ms=5",
                      maxRetries=2)
        self.assertTrue(r["ok"], r)
        self.assertEqual(r["text"], expected_text(3))
        first, retry = (self.record(r["tag"], i, 2) for i in (0, 1))
        self.assertEqual(first.header("x-stainless-retry-count"), "0")
        self.assertEqual(retry.header("x-stainless-retry-count"), "1")
        self.assertEqual(first.status, 429)
        self.assertEqual(retry.status, 200)
        m = self.settle(model, "openai", 2)
        self.assertEqual(m.value("llm_client_retries_total", upstream="openai", model=model), 1)
        self.assertOutcomes(m, "openai", model, rate_limited=1, ok=1)
        self.assertEqual(m.value("llm_requests_total", model=model, endpoint="",
                                 status="success"), 1)
        self.assertEqual(m.value("llm_requests_total", model=model, endpoint="",
                                 status="error"), 1)

    # --- gzip ----------------------------------------------------------------------------------

    def test_gzip_bodies_are_relayed_compressed_and_metered(self):
        model = "gpt-4o-gzip"
        body = '{"model":"%s","messages":[{"role":"user","content":"Say hello."}]}' % model
        sdk, raw, stream = self.run_node([
            self.spec("openai-chat", "openai", model, "gzip=1&input=13&output=3&chunks=3"),
            self.spec("raw", "openai", model, "gzip=1&input=17&output=4&chunks=4",
                      url=f"{self.base('openai')}/chat/completions", body=body,
                      headers={"Accept-Encoding": "gzip, br, zstd"}),
            self.spec("openai-chat-stream-usage", "openai", model,
                      "gzip=1&input=19&output=5&chunks=5&gap_ms=2")])
        self.assertTrue(sdk["ok"], sdk)
        self.assertEqual(sdk["text"], expected_text(3))
        self.assertTrue(stream["ok"], stream)
        self.assertEqual(stream["text"], expected_text(5))
        recs = [self.record(r["tag"]) for r in (sdk, raw, stream)]
        for rec in recs:
            self.assertIn(("content-encoding", "gzip"), rec.response_headers)
        # The compressed bytes reach the client as the upstream sent them.
        self.assertEqual(raw["headers"]["content-encoding"], "gzip")
        self.assertEqual(base64.b64decode(raw["bodyBase64"]), bytes(recs[1].response_raw))
        # The client's codings, narrowed to those the meter reads.
        self.assertEqual(recs[1].header("accept-encoding").replace(" ", ""), "gzip")
        m = self.settle(model, "openai", 3)
        self.assertTokens(m, model, input=13 + 17 + 19, output=3 + 4 + 5)
        self.assertOutcomes(m, "openai", model, ok=3)

    # --- attribution ---------------------------------------------------------------------------

    def test_attribution_headers_label_the_call_and_are_not_forwarded(self):
        model = "gpt-4.1-mini"
        own = {"X-LLM-User-Id": "alice", "X-LLM-Team-Id": "research",
               "X-LLM-Endpoint": "/summarize"}
        helicone = {"Helicone-User-Id": "carol", "Helicone-Property-Team": "support",
                    "Helicone-Property-Feature": "/triage"}
        usage = "input=100&output=10&chunks=2"
        results = self.run_node([
            # The agent's own headers win over everything, the body's user included.
            self.spec("openai-chat", "openai", model, usage, headers=own, user="bob"),
            self.spec("openai-chat-stream-usage", "openai", model, usage,
                      headers={**own, **helicone}),
            self.spec("openai-chat", "openai", model, usage, headers=helicone, user="bob"),
            self.spec("openai-chat", "openai", model, usage,
                      headers={"x-litellm-end-user-id": "dave"}, user="bob"),
            self.spec("openai-chat", "openai", model, usage, user="erin"),
            self.spec("anthropic-messages", "anthropic", "claude-sonnet-4-20250514",
                      usage, user="frank")])
        for r in results:
            self.assertTrue(r["ok"], r)
        recs = [self.record(r["tag"]) for r in results]
        for rec in recs:
            names = rec.header_names()
            for header in own:
                self.assertNotIn(header.lower(), names)
            self.assertNotIn("proxy-authorization", names)
            self.assertEqual(rec.header("host"), f"127.0.0.1:{self.fake.port}")
        # Helicone's headers are the app's business with its upstream: forwarded.
        self.assertEqual(recs[2].header("helicone-user-id"), "carol")
        self.assertEqual(recs[0].json()["user"], "bob")
        one = cost(model, 100, 10)
        wait_until(lambda: self.agent.scrape().value(
            "llm_cost_usd_total", model=model, user_id="erin", team_id="") is not None and
            self.agent.scrape().value("llm_cost_usd_total", model="claude-sonnet-4-20250514",
                                      user_id="frank", team_id="") is not None,
            timeout=WAIT, what="the last calls recorded")
        m = self.agent.scrape()
        for user, team, n in (("alice", "research", 2), ("carol", "support", 1),
                              ("dave", "", 1), ("erin", "", 1)):
            self.assertAlmostEqual(m.value("llm_cost_usd_total", model=model, user_id=user,
                                           team_id=team), n * one, 12, (user, team))
        self.assertIsNone(m.value("llm_cost_usd_total", model=model, user_id="bob", team_id=""))
        self.assertEqual(m.value("llm_requests_total", model=model, endpoint="/summarize",
                                 status="success"), 2)
        self.assertEqual(m.value("llm_requests_total", model=model, endpoint="/triage",
                                 status="success"), 1)
        self.assertAlmostEqual(m.value("llm_cost_usd_total", model="claude-sonnet-4-20250514",
                                       user_id="frank", team_id=""),
                               cost("claude-sonnet-4-20250514", 100, 10), 12)

    # --- timing --------------------------------------------------------------------------------

    def test_ttft_is_the_wire_time_of_the_first_content(self):
        delay, gap = 0.15, 0.020
        cases = (("openai-chat-stream", "openai", "gpt-4o-ttft"),
                 ("anthropic-messages-stream", "anthropic", "claude-ttft"),
                 ("openai-responses-stream", "openai", "gpt-4o-ttft-responses"))
        # Each call's TTFT must lie within 10 ms of the fake's delay. A busy machine can hold a
        # thread of the agent or the fake back for longer now and then, so in plain builds a
        # case gets up to five calls (each a model of its own) to show it once; a proxy that
        # timed the wrong event would miss by the role chunk (< the delay) or by a chunk gap
        # (20 ms) every time.
        close = {}
        for attempt in range(1 if SANITIZED else 5):
            todo = [c for c in cases if c[2] not in close]
            if not todo:
                break
            results = self.run_node([
                self.spec(s, u, f"{model}-{attempt}",
                          f"ttft_ms={int(delay * 1000)}&chunks=3&gap_ms={int(gap * 1000)}")
                for s, u, model in todo])
            for (_, upstream, case), r in zip(todo, results):
                model = f"{case}-{attempt}"
                self.assertTrue(r["ok"], r)
                self.assertGreaterEqual(r["firstContentMs"], delay * 1000, model)
                m = self.settle(model, upstream, 1)
                self.assertEqual(m.value("llm_ttft_seconds_count", model=model), 1)
                ttft = m.value("llm_ttft_seconds_sum", model=model)
                # The role chunk, message_start and response.created come at once; the first
                # content only after the delay. The proxy's clock starts before the fake's and
                # stops after it: its TTFT holds the fake's delay as it happened (the fake's
                # timer runs late on a busy machine) and the proxy's forwarding and relaying.
                rec = self.record(r["tag"])
                actual = rec.t_first_content - rec.t_received
                self.assertGreaterEqual(actual, delay, model)
                self.assertGreaterEqual(ttft, actual, model)
                latency = m.value("llm_request_duration_seconds_sum", model=model, endpoint="")
                # The last chunk leaves the fake two gaps after the first.
                self.assertGreaterEqual(latency, actual + 2 * gap, model)
                if ttft - actual < 0.010:
                    close[case] = ttft - actual
        if not SANITIZED:
            self.assertEqual(set(close), {c[2] for c in cases},
                             "TTFT more than 10 ms past the fake's delay in five calls")

    def test_concurrent_streams_are_each_metered(self):
        model = "gpt-4o-concurrent"
        n = 8 if SANITIZED else 24
        results = self.run_node({"parallel": [
            self.spec("openai-chat-stream-usage" if i % 2 else "openai-chat-stream",
                      "openai-inject", model, f"input={i + 1}&output={i + 2}&chunks=5&gap_ms=5")
            for i in range(n)]})
        for r in results:
            self.assertTrue(r["ok"], r)
            self.assertEqual(r["text"], expected_text(5))
        m = self.settle(model, "openai-inject", n)
        self.assertTokens(m, model, input=sum(i + 1 for i in range(n)),
                          output=sum(i + 2 for i in range(n)))
        self.assertOutcomes(m, "openai-inject", model, ok=n)


class ProxyOffTest(unittest.TestCase):
    def test_proxy_paths_answer_404_when_the_proxy_is_off(self):
        with Agent() as agent:
            r = agent.post("/proxy/openai/v1/chat/completions", b'{"model":"gpt-4o"}',
                           headers={"Content-Type": "application/json"})
            self.assertEqual(r.status, 404)
            self.assertIn("--proxy.config.file", r.body.decode())


if __name__ == "__main__":
    unittest.main()
