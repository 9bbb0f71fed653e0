"""Hostile inputs to POST /v1/events: each gets a clear answer, and nothing is lost or corrupted.

One agent receives, in order, every case of CASES: truncated JSON, nesting thousands deep, numbers
beyond int64, uint64 and double range (1e400), numbers beyond the decoder's 2^53 bound, invalid
UTF-8 and lone surrogates, NUL bytes, multi-megabyte strings, duplicate keys, wrong types
everywhere, an empty body, an empty array, arrays of non-objects, NDJSON with blank lines, CRLF
and a BOM. Each case states its exact outcome: the HTTP status, the accepted and rejected counts,
the index, field and reason of every rejection (and a fragment of its message), or the body-level
error. After each case the agent's own counters and the LLM series must have moved by exactly
what the case implies (nothing counted twice, nothing half-counted, the valid neighbours of a bad
event counted); at the end every LLM series must hold exactly the values of the valid events, and
no series may carry a label of a refused one.

A last case sends label values with quotes, backslashes and newlines, and checks that /metrics
escapes them exactly (model="a\\"b\\\\c\\nd") and that `promtool check metrics` accepts the scrape.

    LLM_EXPORTER_BIN=build/llm_exporter python3 tests/integration/test_hostile_inputs.py
"""
import json
import os
import re
import shutil
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402
from harness import Agent  # noqa: E402

needs_agent = unittest.skipUnless("LLM_EXPORTER_BIN" in os.environ or os.access(harness.BINARY, os.X_OK),
                                  f"no agent binary at {harness.BINARY}")
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"

MIB = 1 << 20
REASONS = ["invalid_json", "not_an_object", "unknown_type", "missing_field", "wrong_type",
           "invalid_value", "duplicate_field", "invalid_utf8", "label_too_long", "too_large"]

# The valid event every case mixes in: model "ok", priced with the fallback price (0.01 / 0.03 USD
# per 1K tokens), so each one costs (1 x 0.01 + 2 x 0.03) / 1000 USD = 70,000,000 pico-dollars.
OK = {"model": "ok", "endpoint": "/h", "user_id": "u", "team_id": "t",
      "input_tokens": 1, "output_tokens": 2, "latency": 0.5}
OK_COST_PICO = 70_000_000


def js(value):
    return json.dumps(value, separators=(",", ":"))


def bad(**fields):
    """A refused event: OK with some fields replaced, and a model no series may ever show."""
    event = dict(OK, model="bad")
    event.update(fields)
    return event


def raw_bad(field, raw_value):
    """Like bad(), with `field` set to raw JSON text (for values json.dumps cannot write)."""
    event = dict(OK, model="bad")
    event.pop(field, None)
    text = js(event)
    return text[:-1] + f',"{field}":{raw_value}' + "}"


V = js(OK)
DEEP = 5000  # levels; simdjson's limit is 1024


class Case:
    """One request and its exact outcome.

    errors: [(index, field, reason, message fragment)] for a per-event answer, or None when the
    body is refused as a whole (body_error is then a fragment of its "error" text, and it counts
    as one invalid_json rejection). ok_events: how many OK events it adds to the LLM series.
    extra_series: {model: requests} of other accepted events.
    """

    def __init__(self, name, body, status, accepted=0, errors=(), body_error=None, ok_events=None,
                 extra_series=None):
        self.name = name
        self.body = body.encode("utf-8") if isinstance(body, str) else body
        self.status = status
        self.accepted = accepted
        self.errors = None if body_error is not None else list(errors)
        self.body_error = body_error
        self.ok_events = accepted if ok_events is None else ok_events
        self.extra_series = extra_series or {}

    def rejected_by_reason(self):
        counts = dict.fromkeys(REASONS, 0)
        if self.errors is None:
            counts["invalid_json"] = 1
        else:
            for _, _, reason, _ in self.errors:
                counts[reason] += 1
        return counts


CASES = [
    # --- truncated JSON
    Case("truncated object", V[:-9], 400, body_error="body is not valid JSON"),
    # An array is all-or-nothing at the JSON level: when its elements cannot even be framed, the
    # valid first element is not counted either.
    Case("truncated array", "[" + V + "," + V[:20], 400, body_error="body is not valid JSON"),
    Case("truncated NDJSON line", V + "\n" + V[:-9] + "\n" + V + "\n", 200, accepted=2,
         errors=[(1, "", "invalid_json", "event 1: not valid JSON")]),

    # --- nesting thousands deep: bounded, and the valid neighbours still count
    Case("array nested 5000 deep", "[" * DEEP + "]" * DEEP, 400,
         errors=[(0, "", "invalid_json", "event 0: nested deeper than 1024 levels")]),
    Case("event nested 5000 deep among valid ones",
         "[" + V + ',{"model":"bad","x":' + "[" * DEEP + "]" * DEEP + "}," + V + "]", 200,
         accepted=2, errors=[(1, "", "invalid_json", "event 1: nested deeper than 1024 levels")]),
    Case("object nested 5000 deep", '{"model":"bad","x":' + "{\"y\":" * DEEP + "1" + "}" * DEEP + "}",
         400, body_error="too deep"),
    Case("unclosed nesting 5000 deep", "[" * DEEP, 400, body_error="body is not valid JSON"),

    # --- numbers beyond double, int64 and uint64 range: refused, naming the field
    Case("latency 1e400 among valid events", "[" + V + "," + raw_bad("latency", "1e400") + "," + V + "]",
         200, accepted=2,
         errors=[(1, "latency", "invalid_value", "event 1: latency is out of range: 1e400")]),
    Case("input_tokens 2^64", raw_bad("input_tokens", "18446744073709551616"), 400,
         errors=[(0, "input_tokens", "invalid_value",
                  "event 0: input_tokens is out of range: 18446744073709551616")]),
    Case("output_tokens -2^63-1 in NDJSON",
         V + "\n" + raw_bad("output_tokens", "-9223372036854775809") + "\n", 200, accepted=1,
         errors=[(1, "output_tokens", "invalid_value",
                  "event 1: output_tokens is out of range: -9223372036854775809")]),
    Case("ttft -1e400 and a 400-digit integer",
         "[" + raw_bad("ttft", "-1e400") + "," + raw_bad("input_tokens", "9" * 400) + "," + V + "]",
         200, accepted=1,
         errors=[(0, "ttft", "invalid_value", "event 0: ttft is out of range: -1e400"),
                 (1, "input_tokens", "invalid_value", "event 1: input_tokens is out of range: "
                  + "9" * 40 + "...")]),
    Case("1e999 nested in an unknown field", raw_bad("meta", '{"n":[1,2,1e999]}'), 400,
         errors=[(0, "meta", "invalid_value",
                  "event 0: meta holds a number that is out of range: 1e999")]),
    Case("-Infinity and a leading zero", "[" + raw_bad("latency", "-Infinity") + ","
         + raw_bad("latency", "01") + "," + V + "]", 200, accepted=1,
         errors=[(0, "latency", "invalid_value", "event 0: latency is not a valid JSON number: -Infinity"),
                 (1, "latency", "invalid_value", "event 1: latency is not a valid JSON number: 01")]),
    # In range for JSON, but beyond 2^53: a uint64 total would wrap after two such events, and a
    # histogram sum of doubles could reach +Inf.
    Case("counts and numbers beyond 2^53",
         js([bad(input_tokens=18446744073709551615), bad(output_tokens=9007199254740993),
             bad(latency=1e300), {"type": "quality", "model": "bad", "evaluator": "e", "score": -1e300},
             dict(OK, input_tokens=9007199254740992, output_tokens=0, model="max")]),
         200, accepted=1, ok_events=0, extra_series={"max": 1},
         errors=[(0, "input_tokens", "invalid_value", "input_tokens must be at most 2^53"),
                 (1, "output_tokens", "invalid_value", "output_tokens must be at most 2^53"),
                 (2, "latency", "invalid_value", "latency must be at most 2^53"),
                 (3, "score", "invalid_value", "score must be in magnitude at most 2^53")]),
    Case("ttft 1e-400 underflows to 0, which is valid", raw_bad("ttft", "1e-400")
         .replace('"model":"bad"', '"model":"ok"'), 200, accepted=1),

    # --- invalid UTF-8 and lone surrogates: the bad label is blamed, the rest counts
    Case("invalid UTF-8 in a label and in an unknown field",
         b"[" + V.encode() + b',{"model":"bad\xc0\xaf","input_tokens":1,"output_tokens":2,"latency":0.5},'
         + V.encode()[:-1] + b',"note":"\xff\xfe"}]', 200, accepted=2,
         errors=[(1, "model", "invalid_utf8", "event 1: model is not valid UTF-8")]),
    Case("UTF-16 surrogates encoded in UTF-8 (CESU)", b'{"model":"bad\xed\xa0\x80","input_tokens":1,'
         b'"output_tokens":2,"latency":0.5}', 400,
         errors=[(0, "model", "invalid_utf8", "event 0: model is not valid UTF-8")]),
    # json.dumps writes a lone surrogate as a \u escape, and U+1F600 as an escaped pair.
    Case("lone surrogates, and a valid pair",
         "[" + js(bad(model="bad\ud800")) + "," + js(bad(endpoint="\udc00x")) + ","
         + raw_bad("team_id", '"\\ud800\\u0041"') + "," + V + ","
         + js(dict(OK, model="\U0001F600")) + "]", 200, accepted=2, ok_events=1,
         extra_series={"\U0001F600": 1},
         errors=[(0, "model", "invalid_utf8", "model is not valid UTF-8 (or holds a lone \\u surrogate)"),
                 (1, "endpoint", "invalid_utf8", "endpoint is not valid UTF-8"),
                 (2, "team_id", "invalid_utf8", "team_id is not valid UTF-8")]),
    Case("lone surrogates in NDJSON", V + "\n" + js(bad(user_id="\udfff")) + "\n", 200, accepted=1,
         errors=[(1, "user_id", "invalid_utf8", "event 1: user_id is not valid UTF-8")]),

    # --- NUL bytes: raw ones are not JSON; an escaped one is an ordinary character
    Case("raw NUL inside a string, among valid events",
         b"[" + V.encode() + b',{"model":"bad\x00","input_tokens":1,"output_tokens":2,"latency":0.5},'
         + V.encode() + b"]", 200, accepted=2,
         errors=[(1, "", "invalid_json", "event 1: not valid JSON")]),
    Case("raw NUL after the body", V.encode() + b"\x00", 400, body_error="body is not valid JSON"),
    Case("raw NUL line in NDJSON", V.encode() + b"\n\x00\n" + V.encode() + b"\n", 200, accepted=2,
         errors=[(1, "", "invalid_json", "event 1: not valid JSON")]),
    Case("escaped NUL in a label", js(dict(OK, model="z\u0000")), 200, accepted=1, ok_events=0,
         extra_series={"z\u0000": 1}),

    # --- multi-megabyte strings: bounded, and only label limits refuse them
    Case("4 MiB model", js(bad(model="m" * (4 * MIB))), 400,
         errors=[(0, "model", "label_too_long", "event 0: model is 4194304 bytes long, the limit is 128")]),
    Case("4 MiB trace_id among valid events", "[" + V + "," + js(bad(trace_id="t" * (4 * MIB))) + "]",
         200, accepted=1,
         errors=[(1, "trace_id", "invalid_value", "trace_id is 4194304 bytes long, the limit is 128")]),
    Case("8 MiB unknown string field, escapes and all", js(dict(OK, note="\\\"\n" * (8 * MIB // 6))),
         200, accepted=1),
    Case("4 MiB of invalid UTF-8 in an unknown field", V.encode()[:-1] + b',"note":"' + b"\xff" * (4 * MIB)
         + b'"}', 200, accepted=1),

    # --- duplicate keys
    Case("duplicate keys",
         "[" + '{"model":"bad","model":"bad2","input_tokens":1,"output_tokens":2,"latency":0.5},'
         + '{"model":"bad","input_tokens":1,"prompt_tokens":1,"output_tokens":2,"latency":0.5},'
         + V[:-1] + ',"x":1,"x":2}' + "," + V + "]", 200, accepted=2,
         errors=[(0, "model", "duplicate_field", "event 0: model appears more than once"),
                 (1, "prompt_tokens", "duplicate_field",
                  "event 1: input_tokens and prompt_tokens name the same field")]),

    # --- wrong types everywhere
    Case("wrong types everywhere",
         js([bad(model=1), bad(endpoint=[]), bad(status={}), bad(user_id=True), bad(team_id=5),
             bad(trace_id=1.5), bad(input_tokens="1"), bad(output_tokens=False),
             bad(cached_input_tokens="0"), bad(latency="0.5"), bad(ttft=[0.1]), bad(cache=1),
             bad(cost_usd="0.1"), bad(type=5),
             {"type": "quality", "model": "bad", "evaluator": "e", "score": "5"},
             {"type": "quality", "model": "bad", "evaluator": ["e"], "score": 5}, OK]),
         200, accepted=1,
         errors=[(0, "model", "wrong_type", "model must be a string, got 1"),
                 (1, "endpoint", "wrong_type", "endpoint must be a string, got an array"),
                 (2, "status", "wrong_type", "status must be a string, got an object"),
                 (3, "user_id", "wrong_type", "user_id must be a string, got true"),
                 (4, "team_id", "wrong_type", "team_id must be a string, got 5"),
                 (5, "trace_id", "wrong_type", "trace_id must be a string, got 1.5"),
                 (6, "input_tokens", "wrong_type", "input_tokens must be a non-negative integer, got a string"),
                 (7, "output_tokens", "wrong_type", "output_tokens must be a non-negative integer, got false"),
                 (8, "cached_input_tokens", "wrong_type", "got a string"),
                 (9, "latency", "wrong_type", "latency must be a number, got a string"),
                 (10, "ttft", "wrong_type", "ttft must be a number, got an array"),
                 (11, "cache", "wrong_type", "cache must be a string, got 1"),
                 (12, "cost_usd", "wrong_type", "cost_usd must be a number, got a string"),
                 (13, "type", "wrong_type", "type must be a string, got 5"),
                 (14, "score", "wrong_type", "score must be a number, got a string"),
                 (15, "evaluator", "wrong_type", "evaluator must be a string, got an array")]),
    Case("the body is a string", '"hello"', 400, body_error="body is not JSON"),
    Case("the body is a number", "1e400", 400, body_error="body is not JSON"),

    # --- empty bodies and arrays
    Case("empty body", "", 400, body_error="empty body"),
    Case("white space and a BOM only", "\ufeff \r\n\t\n", 400, body_error="empty body"),
    Case("empty array", "[]", 200),
    Case("empty object", "{}", 400, errors=[(0, "model", "missing_field", "event 0: model is required")]),
    Case("arrays of non-objects", '[1,"x",null,true,[],[{}],-0,1e400]', 400,
         errors=[(i, "", "not_an_object", f"event {i}: must be a JSON object") for i in range(8)]),
    Case("non-objects beside a valid event", "[[" + V + "]," + V + ",7]", 200, accepted=1,
         errors=[(0, "", "not_an_object", "event 0: must be a JSON object"),
                 (2, "", "not_an_object", "event 2: must be a JSON object")]),
    Case("trailing comma", "[" + V + ",]", 200, accepted=1,
         errors=[(1, "", "invalid_json", "event 1: not valid JSON")]),

    # --- NDJSON with blank lines, CRLF and a BOM
    Case("NDJSON with a BOM, CRLF and blank lines",
         "\ufeff" + V + "\r\n\r\n\n  \t\r\n" + V + "\r\n" + V + "\r\n\r\n", 200, accepted=3),
    # NDJSON is line by line: a line that parses but is not a valid event is a per-event answer;
    # only when no line parses at all is the body refused as a whole.
    Case("NDJSON whose lines are all invalid events", '{"model":"bad"}\n{"model":\n', 400,
         errors=[(0, "latency", "missing_field", "event 0: latency is required"),
                 (1, "", "invalid_json", "event 1: not valid JSON")]),
    Case("NDJSON none of whose lines parse", '{"model":1e400}\n{"model":\n', 400,
         body_error="body is neither JSON nor NDJSON (send a JSON object, a JSON array of objects, "
                    "or NDJSON (one object a line)): event 0: model is out of range: 1e400"),
    Case("NDJSON with a non-object line", V + "\n[1]\n\"x\"\n" + V + "\n", 200, accepted=2,
         errors=[(1, "", "not_an_object", "event 1: must be a JSON object"),
                 (2, "", "not_an_object", "event 2: must be a JSON object")]),
]

# Label values with quotes, backslashes and newlines, and how the exposition must spell them.
ESCAPED_EVENT = {"model": 'a"b\\c\nd', "endpoint": "\\n", "status": '"', "user_id": "\n\\\"",
                 "team_id": "\\\\", "input_tokens": 3, "output_tokens": 0, "latency": 0.05}
ESCAPED_LINES = [
    'llm_requests_total{model="a\\"b\\\\c\\nd",endpoint="\\\\n",status="\\""} 1',
    'llm_tokens_total{model="a\\"b\\\\c\\nd",direction="input"} 3',
    'llm_cost_usd_total{model="a\\"b\\\\c\\nd",user_id="\\n\\\\\\"",team_id="\\\\\\\\"} 3e-05',
    'llm_request_duration_seconds_bucket{model="a\\"b\\\\c\\nd",endpoint="\\\\n",le="0.1"} 1',
]

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$', re.S)
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\[\\"n])*)"(,|$)', re.S)


def parse_exposition(text):
    """{(name, frozenset(labels)): value}, splitting lines on "\\n" only (a raw NUL, CR or U+2028
    inside a label value is legal) and refusing any escape but \\\\, \\" and \\n."""
    samples = {}
    assert text.endswith("\n"), "the exposition must end with a newline"
    for line in text[:-1].split("\n"):
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        m = _SAMPLE.match(line)
        assert m, f"unparsable exposition line: {line!r}"
        labels, rest = {}, m.group(2) or ""
        while rest:
            lm = _LABEL.match(rest)
            assert lm, f"badly escaped labels in: {line!r}"
            value = re.sub(r'\\(.)', lambda e: {"n": "\n"}.get(e.group(1), e.group(1)), lm.group(2))
            labels[lm.group(1)] = value
            rest = rest[lm.end():]
        key = (m.group(1), frozenset(labels.items()))
        assert key not in samples, f"series exposed twice: {line!r}"
        samples[key] = float(m.group(3))
    return samples


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


@needs_agent
class HostileInputTest(unittest.TestCase):
    def scrape(self, agent):
        r = agent.get("/metrics")
        self.assertEqual(r.status, 200)
        return r.body.decode("utf-8"), parse_exposition(r.body.decode("utf-8"))

    def check_answer(self, case, r):
        what = f"{case.name}: {r.status} {r.body[:600]!r}"
        self.assertEqual(r.status, case.status, what)
        answer = r.json()
        if case.errors is None:
            self.assertEqual(set(answer), {"error"}, what)
            self.assertIn(case.body_error, answer["error"], what)
            return
        self.assertEqual((answer["accepted"], answer["rejected"]), (case.accepted, len(case.errors)),
                         what)
        got = [(e["index"], e["field"], e["reason"]) for e in answer["errors"]]
        self.assertEqual(got, [(i, f, reason) for i, f, reason, _ in case.errors], what)
        for e, (_, _, _, fragment) in zip(answer["errors"], case.errors):
            self.assertIn(fragment, e["message"], what)
            self.assertLess(len(e["message"]), 300, f"{case.name}: unbounded message")

    def test_hostile_inputs(self):
        with Agent() as agent:
            _, before = self.scrape(agent)
            self.assertIsNone(value(before, "llm_requests_total", model="ok", endpoint="/h",
                                    status="success"))
            ok_events = 0
            accepted_total = 0
            rejected_total = dict.fromkeys(REASONS, 0)
            extra = {}
            previous = before
            for case in CASES:
                with self.subTest(case=case.name):
                    r = agent.post("/v1/events", case.body,
                                   headers={"Content-Type": "application/json"})
                    self.check_answer(case, r)
                    # The agent's counters moved by exactly this case's outcome.
                    _, now = self.scrape(agent)
                    for reason, n in case.rejected_by_reason().items():
                        delta = (value(now, "llm_exporter_events_rejected_total", transport="http",
                                       reason=reason)
                                 - value(previous, "llm_exporter_events_rejected_total",
                                         transport="http", reason=reason))
                        self.assertEqual(delta, n, f"{case.name}: rejected {reason}")
                    delta = (value(now, "llm_exporter_events_accepted_total", transport="http")
                             - value(previous, "llm_exporter_events_accepted_total", transport="http"))
                    self.assertEqual(delta, case.accepted, f"{case.name}: accepted")
                    ok_before = value(previous, "llm_requests_total", model="ok", endpoint="/h",
                                      status="success") or 0
                    ok_now = value(now, "llm_requests_total", model="ok", endpoint="/h",
                                   status="success") or 0
                    self.assertEqual(ok_now - ok_before, case.ok_events,
                                     f"{case.name}: valid neighbours counted exactly once")
                    previous = now
                ok_events += case.ok_events
                accepted_total += case.accepted
                for reason, n in case.rejected_by_reason().items():
                    rejected_total[reason] += n
                for model, n in case.extra_series.items():
                    extra[model] = extra.get(model, 0) + n

            # The quotes/backslashes/newlines case, then the final state.
            r = agent.post_events(ESCAPED_EVENT)
            self.assertEqual((r.status, r.json()["accepted"]), (200, 1), r.body)
            text, m = self.scrape(agent)
            self.assertEqual(agent.get("/-/ready").status, 200)

        # Every OK event counted exactly once, in every family, and nothing else.
        n = float(ok_events)
        self.assertGreater(n, 20)
        self.assertEqual(value(m, "llm_requests_total", model="ok", endpoint="/h", status="success"), n)
        self.assertEqual(value(m, "llm_tokens_total", model="ok", direction="input"), n)
        self.assertEqual(value(m, "llm_tokens_total", model="ok", direction="output"), 2 * n)
        self.assertEqual(value(m, "llm_request_duration_seconds_count", model="ok", endpoint="/h"), n)
        self.assertEqual(value(m, "llm_request_duration_seconds_sum", model="ok", endpoint="/h"), 0.5 * n)
        self.assertEqual(value(m, "llm_request_duration_seconds_bucket", model="ok", endpoint="/h",
                               le="0.1"), 0.0)
        self.assertEqual(value(m, "llm_request_duration_seconds_bucket", model="ok", endpoint="/h",
                               le="0.5"), n)
        self.assertEqual(value(m, "llm_cost_usd_total", model="ok", user_id="u", team_id="t"),
                         ok_events * OK_COST_PICO / 1e12)
        self.assertEqual(value(m, "llm_exporter_fallback_priced_events_total", model="ok"), n)
        # Only the 1e-400 event reported a ttft for "ok": one observation of 0.
        self.assertEqual(value(m, "llm_ttft_seconds_count", model="ok"), 1.0)
        self.assertEqual(value(m, "llm_ttft_seconds_sum", model="ok"), 0.0)
        self.assertEqual(value(m, "llm_ttft_seconds_bucket", model="ok", le="0.1"), 1.0)
        # The 2^53 event: its tokens exposed exactly, not wrapped or rounded.
        self.assertIn('llm_tokens_total{model="max",direction="input"} 9007199254740992\n', text)

        # Exactly the accepted label sets, and no trace of a refused event in any family.
        expected_requests = {("ok", "/h", "success"): n, ('a"b\\c\nd', "\\n", '"'): 1.0}
        expected_requests.update({(model, "/h", "success"): float(c) for model, c in extra.items()})
        got_requests = {(dict(labels)["model"], dict(labels)["endpoint"], dict(labels)["status"]): v
                        for (name, labels), v in m.items() if name == "llm_requests_total"}
        self.assertEqual(got_requests, expected_requests)
        for (name, labels), _ in m.items():
            if name.startswith("llm_") and not name.startswith("llm_exporter_"):
                self.assertFalse(any(v.startswith("bad") for _, v in labels), f"{name}{dict(labels)}")
            if name == "llm_quality_score_count":
                self.fail(f"no quality event was valid, yet {name}{dict(labels)} exists")

        # The agent's own counters: received = accepted + rejected, by reason.
        self.assertEqual(value(m, "llm_exporter_events_accepted_total", transport="http"),
                         float(accepted_total + 1))
        for reason in REASONS:
            self.assertEqual(value(m, "llm_exporter_events_rejected_total", transport="http",
                                   reason=reason), float(rejected_total[reason]), reason)
        self.assertEqual(value(m, "llm_exporter_events_received_total", transport="http"),
                         float(accepted_total + 1 + sum(rejected_total.values())))

        # Label values with quotes, backslashes and newlines, escaped exactly.
        for line in ESCAPED_LINES:
            self.assertIn("\n" + line + "\n", text)
        self.assertIn('llm_requests_total{model="z\x00",endpoint="/h",status="success"} 1\n', text)
        self.assertIn('llm_requests_total{model="\U0001F600",endpoint="/h",status="success"} 1\n', text)

        # promtool parses the whole scrape (NUL, emoji and escapes included).
        check = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode("utf-8"),
                               capture_output=True, timeout=60)
        self.assertEqual(check.returncode, 0,
                         f"promtool check metrics: {check.stdout!r} {check.stderr!r}")

    @unittest.skipUnless(os.access(PROMTOOL, os.X_OK), "needs promtool")
    def test_promtool_is_strict_enough_to_catch_bad_escaping(self):
        """The promtool check above can fail: a raw newline or an unescaped quote in a label
        value is refused."""
        for bad_line in ['x_total{model="a"b"} 1\n', 'x_total{model="a\nb"} 1\n',
                         'x_total{model="a\\qb"} 1\n']:
            check = subprocess.run([PROMTOOL, "check", "metrics"],
                                   input=("# TYPE x_total counter\n" + bad_line).encode(),
                                   capture_output=True, timeout=60)
            self.assertNotEqual(check.returncode, 0, bad_line)


if __name__ == "__main__":
    unittest.main(verbosity=2)
