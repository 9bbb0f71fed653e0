"""The measures beyond the seed's six, end to end through the real binary: time per output token,
output tokens per second, token kinds, calls without usage, and the label control flags, from
JSON events (HTTP and the unix socket) and from OTLP spans, with exact values.

    LLM_EXPORTER_BIN=build/llm_exporter python3 tests/integration/test_measures.py
"""
import json
import os
import shutil
import socket
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Agent, short_temp_dir, wait_until  # noqa: E402
from test_otlp_http import post_traces, request, span  # noqa: E402

TPOT_BUCKETS = [0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1]
TPS_BUCKETS = [5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500]


def le_text(bound):
    """The `le` label value the agent writes for a bucket bound."""
    return "+Inf" if bound == float("inf") else repr(float(bound))


def cumulative(observations, bounds):
    """{le: cumulative count} as the text exposition has it."""
    return {le_text(b): sum(1 for o in observations if o <= b)
            for b in list(bounds) + [float("inf")]}


def call(model, input_tokens, output_tokens, latency, **extra):
    event = {"model": model, "latency": latency}
    if input_tokens is not None:
        event["input_tokens"] = input_tokens
    if output_tokens is not None:
        event["output_tokens"] = output_tokens
    event.update(extra)
    return event


# (latency, ttft, output tokens) -> TPOT and tokens/s as the agent must observe them. Every
# value is dyadic or well inside its bucket, so the comparisons are exact.
CALLS = [
    # TPOT (2.5 - 0.5) / 80 = 0.025; tokens/s 81 / 2 = 40.5
    call("gpt-4o", 100, 81, 2.5, ttft=0.5, endpoint="/chat"),
    # no TTFT: no TPOT; tokens/s 64 / 1 = 64
    call("gpt-4o", 100, 64, 1.0, endpoint="/chat"),
    # latency == ttft: neither
    call("gpt-4o", 100, 10, 0.25, ttft=0.25, endpoint="/chat"),
    # one output token: no TPOT; tokens/s 1 / (1.5 - 0.5) = 1
    call("gpt-4o", 100, 1, 1.5, ttft=0.5, endpoint="/chat"),
    # TPOT (4.25 - 0.25) / 32 = 0.125; tokens/s 33 / 4 = 8.25
    call("gpt-4o", 100, 33, 4.25, ttft=0.25, endpoint="/summarize"),
    # no output tokens: neither
    call("gpt-4o", 100, 0, 1.0, ttft=0.5, endpoint="/summarize"),
]
TPOT = {"/chat": [0.025], "/summarize": [0.125]}
TPS = {"/chat": [40.5, 64.0, 1.0], "/summarize": [8.25]}

# A price file with a cache-write rate (Anthropic's: 1.25 x input) and a cached rate.
PRICES = {"unit": "usd_per_1m_tokens",
          "models": {"claude-sonnet-4-20250514": {"input": 3, "output": 15, "cached_input": 0.3,
                                                  "cache_write_input": 3.75},
                     "gpt-4o": {"input": 2.5, "output": 10}}}
# 1000 input of which 200 read from the cache and 300 written to it; 500 output of which 100
# reasoning: (500 x 3 + 200 x 0.3 + 300 x 3.75 + 500 x 15) / 1e6 USD.
CLAUDE = call("claude-sonnet-4-20250514", 1000, 500, 2.0, cached_input_tokens=200,
              cache_write_input_tokens=300, reasoning_tokens=100, user_id="u1", team_id="t1")
CLAUDE_COST = (500 * 3 + 200 * 0.3 + 300 * 3.75 + 500 * 15) / 1e6


class MeasuresFromJsonTest(unittest.TestCase):
    def test_time_per_output_token_and_tokens_per_second(self):
        with Agent() as agent:
            answer = agent.post_events(CALLS).json()
            self.assertEqual((answer["accepted"], answer["rejected"]), (len(CALLS), 0), answer)
            m = agent.scrape()
            for endpoint, observed in TPOT.items():
                labels = {"model": "gpt-4o", "endpoint": endpoint}
                for le, n in cumulative(observed, TPOT_BUCKETS).items():
                    self.assertEqual(m.value("llm_time_per_output_token_seconds_bucket",
                                             le=le, **labels), n, (endpoint, le))
                self.assertEqual(m.value("llm_time_per_output_token_seconds_count", **labels),
                                 len(observed))
                self.assertEqual(m.value("llm_time_per_output_token_seconds_sum", **labels),
                                 sum(observed))
            for endpoint, observed in TPS.items():
                labels = {"model": "gpt-4o", "endpoint": endpoint}
                for le, n in cumulative(observed, TPS_BUCKETS).items():
                    self.assertEqual(m.value("llm_output_tokens_per_second_bucket",
                                             le=le, **labels), n, (endpoint, le))
                self.assertEqual(m.value("llm_output_tokens_per_second_count", **labels),
                                 len(observed))
                self.assertEqual(m.value("llm_output_tokens_per_second_sum", **labels),
                                 sum(observed))
            # The seed's families are as they were: every call counted and timed.
            self.assertEqual(m.sum("llm_requests_total", model="gpt-4o"), len(CALLS))
            self.assertEqual(m.sum("llm_request_duration_seconds_count", model="gpt-4o"),
                             len(CALLS))

    def test_buckets_from_flags(self):
        with Agent(["--metrics.buckets.time-per-output-token=0.01,0.1",
                    "--metrics.buckets.output-tokens-per-second=10,100"]) as agent:
            agent.post_events(CALLS)
            m = agent.scrape()
            labels = {"model": "gpt-4o", "endpoint": "/chat"}
            self.assertEqual(
                {s["le"]: m.value("llm_time_per_output_token_seconds_bucket", **s)
                 for s in m.series("llm_time_per_output_token_seconds_bucket")
                 if s["endpoint"] == "/chat"},
                cumulative(TPOT["/chat"], [0.01, 0.1]))
            self.assertEqual(
                {s["le"]: m.value("llm_output_tokens_per_second_bucket", **s)
                 for s in m.series("llm_output_tokens_per_second_bucket")
                 if s["endpoint"] == "/chat"},
                cumulative(TPS["/chat"], [10, 100]))
            self.assertEqual(m.value("llm_output_tokens_per_second_count", **labels), 3)

    def test_token_kinds_and_their_prices(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "prices.json")
            with open(path, "w") as f:
                json.dump(PRICES, f)
            with Agent([f"--pricing.file={path}"]) as agent:
                answer = agent.post_events([CLAUDE, CLAUDE]).json()
                self.assertEqual(answer["accepted"], 2, answer)
                m = agent.scrape()
                model = {"model": "claude-sonnet-4-20250514"}
                self.assertEqual(m.value("llm_tokens_by_kind_total", kind="cache_read", **model),
                                 400)
                self.assertEqual(m.value("llm_tokens_by_kind_total", kind="cache_write", **model),
                                 600)
                self.assertEqual(m.value("llm_tokens_by_kind_total", kind="reasoning", **model),
                                 200)
                # The seed's token counter is unchanged: cache and reasoning tokens are parts of
                # input and output, never added again.
                self.assertEqual(m.value("llm_tokens_total", direction="input", **model), 2000)
                self.assertEqual(m.value("llm_tokens_total", direction="output", **model), 1000)
                self.assertAlmostEqual(m.value("llm_cost_usd_total", user_id="u1", team_id="t1",
                                               **model), 2 * CLAUDE_COST, 12)

    def test_parts_above_their_whole_are_refused_beside_good_events(self):
        bad_input = call("gpt-4o", 100, 10, 1.0, cached_input_tokens=60,
                         cache_write_input_tokens=41)
        bad_output = call("gpt-4o", 100, 10, 1.0, reasoning_tokens=11)
        good = call("gpt-4o", 100, 10, 1.0, cached_input_tokens=60, cache_write_input_tokens=40,
                    reasoning_tokens=10)
        with Agent() as agent:
            answer = agent.post_events([bad_input, good, bad_output]).json()
            self.assertEqual((answer["accepted"], answer["rejected"]), (1, 2), answer)
            messages = [e["message"] for e in answer["errors"]]
            self.assertIn("cache_write_input_tokens", messages[0])
            self.assertIn("reasoning_tokens", messages[1])
            m = agent.scrape()
            self.assertEqual(m.value("llm_tokens_by_kind_total", model="gpt-4o",
                                     kind="cache_read"), 60)
            self.assertEqual(m.value("llm_tokens_by_kind_total", model="gpt-4o",
                                     kind="cache_write"), 40)
            self.assertEqual(m.value("llm_tokens_by_kind_total", model="gpt-4o",
                                     kind="reasoning"), 10)
            self.assertEqual(m.value("llm_requests_total", model="gpt-4o", endpoint="",
                                     status="success"), 1)

    def test_calls_without_usage_are_counted_by_transport_and_cost_nothing(self):
        folder = short_temp_dir()
        try:
            path = os.path.join(folder, "events.sock")
            with Agent([f"--ingest.listen-unix={path}"]) as agent:
                no_usage = call("gpt-4o", None, None, 1.5, ttft=0.5, endpoint="/chat",
                                user_id="u1")
                answer = agent.post_events([no_usage, no_usage,
                                            call("gpt-4o", 100, 10, 1.0, user_id="u1")]).json()
                self.assertEqual(answer["accepted"], 3, answer)
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.connect(path)
                    s.sendall((json.dumps(no_usage) + "\n").encode())
                wait_until(lambda: agent.scrape().value(
                    "llm_calls_without_usage_total", model="gpt-4o", transport="unix") == 1,
                    what="the unix socket's call without usage")
                m = agent.scrape()
                self.assertEqual(m.value("llm_calls_without_usage_total", model="gpt-4o",
                                         transport="http"), 2)
                self.assertEqual(m.series("llm_calls_without_usage_total"),
                                 [{"model": "gpt-4o", "transport": "http"},
                                  {"model": "gpt-4o", "transport": "unix"}])
                # Counted as calls, timed, priced at 0: only the call with usage costs.
                self.assertEqual(m.value("llm_requests_total", model="gpt-4o", endpoint="/chat",
                                         status="success"), 3)
                self.assertEqual(m.value("llm_cost_usd_total", model="gpt-4o", user_id="u1",
                                         team_id=""), 0.00035)
                self.assertEqual(m.value("llm_tokens_total", model="gpt-4o", direction="input"),
                                 100)
                # Nor do they feed the per-token measures, whose tokens are unknown.
                self.assertIsNone(m.value("llm_output_tokens_per_second_count", model="gpt-4o",
                                          endpoint="/chat"))
                # Still timed: TTFT and latency do not need usage.
                self.assertEqual(m.value("llm_ttft_seconds_count", model="gpt-4o"), 3)
        finally:
            shutil.rmtree(folder)


class MeasuresFromOtlpTest(unittest.TestCase):
    def test_cache_write_reasoning_and_speed_from_spans(self):
        trace = "4bf92f3577b34da6a3ce929d0e0e4736"
        # Anthropic through OpenLLMetry: input counts include the cache reads and writes.
        chat = span(trace, "00000000000000b1", "anthropic.chat", 0, 2500, {
            "gen_ai.system": "anthropic", "gen_ai.request.model": "claude-sonnet-4-20250514",
            "llm.request.type": "chat",
            "gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 81,
            "gen_ai.usage.cache_read_input_tokens": 200,
            "gen_ai.usage.cache_creation_input_tokens": 300,
            "gen_ai.usage.reasoning_tokens": 40},
            events=[("First Token Stream Event", 500)])
        # A span with no usage at all: counted, not priced.
        bare = span(trace, "00000000000000b2", "openai.chat", 0, 1000, {
            "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o",
            "llm.request.type": "chat"})
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "prices.json")
            with open(path, "w") as f:
                json.dump(PRICES, f)
            with Agent([f"--pricing.file={path}", "--otlp.span-hold=0"]) as agent:
                r = post_traces(agent, request([chat, bare]))
                self.assertEqual((r.status, r.json()), (200, {}), r.body)
                m = agent.scrape()
                model = {"model": "claude-sonnet-4-20250514"}
                self.assertEqual(m.value("llm_tokens_by_kind_total", kind="cache_read", **model),
                                 200)
                self.assertEqual(m.value("llm_tokens_by_kind_total", kind="cache_write", **model),
                                 300)
                self.assertEqual(m.value("llm_tokens_by_kind_total", kind="reasoning", **model),
                                 40)
                self.assertEqual(m.value("llm_tokens_total", direction="input", **model), 1000)
                cost = (500 * 3 + 200 * 0.3 + 300 * 3.75 + 81 * 15) / 1e6
                self.assertAlmostEqual(m.value("llm_cost_usd_total", user_id="", team_id="",
                                               **model), cost, 12)
                labels = {"endpoint": "chat", **model}
                # TPOT (2.5 - 0.5) / 80 = 0.025 and 81 tokens in 2 s.
                self.assertEqual(m.value("llm_time_per_output_token_seconds_sum", **labels),
                                 0.025)
                self.assertEqual(m.value("llm_time_per_output_token_seconds_bucket", le="0.03",
                                         **labels), 1)
                self.assertEqual(m.value("llm_time_per_output_token_seconds_bucket", le="0.02",
                                         **labels), 0)
                self.assertEqual(m.value("llm_output_tokens_per_second_sum", **labels), 40.5)
                self.assertEqual(m.value("llm_calls_without_usage_total", model="gpt-4o",
                                         transport="otlp"), 1)
                self.assertEqual(m.value("llm_requests_total", model="gpt-4o", endpoint="chat",
                                         status="success"), 1)
                self.assertIsNone(m.value("llm_calls_without_usage_total", transport="otlp",
                                          **model))


class LabelControlTest(unittest.TestCase):
    def test_dropped_labels_merge_series_and_keep_sums(self):
        events = [call("gpt-4o", 1000, 100, 0.5, user_id=f"user-{i}", team_id=f"team-{i % 2}",
                       endpoint=f"/e{i % 3}") for i in range(12)]
        with Agent(["--metrics.drop-labels=llm_cost_usd_total:user_id,"
                    "llm_requests_total:endpoint"]) as agent:
            answer = agent.post_events(events).json()
            self.assertEqual(answer["accepted"], 12, answer)
            m = agent.scrape()
            # 12 calls of 1000 x 2.5 + 100 x 10 USD per million tokens, 6 per team.
            self.assertEqual(sorted(m.series("llm_cost_usd_total"), key=lambda s: s["team_id"]),
                             [{"model": "gpt-4o", "team_id": "team-0"},
                              {"model": "gpt-4o", "team_id": "team-1"}])
            self.assertAlmostEqual(m.value("llm_cost_usd_total", model="gpt-4o",
                                           team_id="team-0"), 6 * 0.0035, 12)
            self.assertEqual(m.series("llm_requests_total"),
                             [{"model": "gpt-4o", "status": "success"}])
            self.assertEqual(m.value("llm_requests_total", model="gpt-4o", status="success"), 12)
            # Families not named keep every label.
            self.assertEqual(len(m.series("llm_request_duration_seconds_count")), 3)
            self.assertNotIn('user_id=', m.text.split("# HELP llm_cost_usd_total")[1]
                             .split("# HELP")[0])
            self.assertEqual(m.value("llm_exporter_series", family="cost"), 2)

    def test_per_family_series_caps(self):
        events = [call("gpt-4o", 10, 10, 0.5, user_id=f"user-{i}") for i in range(5)]
        with Agent(["--metrics.max-series=llm_cost_usd_total:3"]) as agent:
            agent.post_events(events)
            m = agent.scrape()
            self.assertEqual(m.value("llm_exporter_series_limit", family="cost"), 3)
            self.assertEqual(m.value("llm_exporter_series_overflow_total", family="cost"), 2)
            self.assertEqual(m.value("llm_cost_usd_total", model="gpt-4o",
                                     user_id="__overflow__", team_id="__overflow__"),
                             2 * 0.000125)
            self.assertEqual(m.value("llm_exporter_series_overflow_total", family="requests"), 0)
            self.assertAlmostEqual(m.sum("llm_cost_usd_total"), 5 * 0.000125, 12)

    def test_bad_label_control_flags_name_the_problem(self):
        for flag, words in [
                ("--metrics.drop-labels=llm_cost_usd_total:model", "model"),
                ("--metrics.drop-labels=llm_nope_total:user_id", "llm_nope_total"),
                ("--metrics.drop-labels=llm_cost_usd_total:endpoint", "endpoint"),
                ("--metrics.max-series=llm_cost_usd_total:many", "many")]:
            with self.subTest(flag=flag):
                agent = Agent([flag])
                with self.assertRaises(RuntimeError) as raised:
                    agent.start()
                self.assertIn(words, str(raised.exception))
                agent._log.close()
                agent.tmp.cleanup()


if __name__ == "__main__":
    unittest.main()
