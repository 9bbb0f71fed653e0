"""OTLP/HTTP end to end: trace export requests in on POST /v1/traces, the LLM metrics out on
/metrics. The bodies are OTLP/JSON built here; tests/integration/test_otlp_clients.py sends
protobuf, JSON and gRPC through the real OpenTelemetry JS SDK."""
import gzip
import json
import os
import sys
import unittest
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Agent, wait_until  # noqa: E402

T0 = 1_750_000_000_000_000_000  # unix nanoseconds
MS = 1_000_000


def attr(key, value):
    if isinstance(value, bool):
        v = {"boolValue": value}
    elif isinstance(value, int):
        v = {"intValue": str(value)}
    elif isinstance(value, float):
        v = {"doubleValue": value}
    else:
        v = {"stringValue": value}
    return {"key": key, "value": v}


def span(trace, span_id, name, start_ms, end_ms, attrs, parent=None, status=0, events=()):
    s = {
        "traceId": trace,
        "spanId": span_id,
        "name": name,
        "kind": 1,
        "startTimeUnixNano": str(T0 + start_ms * MS),
        "endTimeUnixNano": str(T0 + end_ms * MS),
        "attributes": [attr(k, v) for k, v in attrs.items()],
        "status": {"code": status},
    }
    if parent:
        s["parentSpanId"] = parent
    if events:
        s["events"] = [{"name": n, "timeUnixNano": str(T0 + t * MS)} for n, t in events]
    return s


def request(spans, resource=None):
    return {"resourceSpans": [{
        "resource": {"attributes": [attr(k, v) for k, v in (resource or {}).items()]},
        "scopeSpans": [{"scope": {"name": "opentelemetry.instrumentation.openai"},
                        "spans": spans}],
    }]}


TRACE_A = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACE_B = "00f067aa0ba902b7a3ce929d0e0e4736"


def seed_rag_pipeline(trace):
    """The seed's OpenLLMetry example: @workflow rag_pipeline -> @task retrieval and
    @agent qa_agent -> @tool llm_call -> the OpenAI chat span, as Traceloop emits them (child
    spans first, as they end first)."""
    assoc = {"traceloop.association.properties.user_id": "user-42",
             "traceloop.association.properties.team_id": "search"}
    chat = span(trace, "00000000000000a5", "openai.chat", 110, 1310, {
        "llm.request.type": "chat", "gen_ai.system": "openai",
        "gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o-2024-08-06",
        "gen_ai.usage.prompt_tokens": 1000, "gen_ai.usage.completion_tokens": 500,
        "traceloop.workflow.name": "rag_pipeline",
        "gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": "What is RAG? " * 40,
        "gen_ai.completion.0.content": "Retrieval augmented generation. " * 20, **assoc},
        parent="00000000000000a4", events=[("First Token Stream Event", 410)])
    tool = span(trace, "00000000000000a4", "llm_call.tool", 105, 1320, {
        "traceloop.span.kind": "tool", "traceloop.entity.name": "llm_call",
        "traceloop.workflow.name": "rag_pipeline", **assoc}, parent="00000000000000a3")
    agent = span(trace, "00000000000000a3", "qa_agent.agent", 100, 1330, {
        "traceloop.span.kind": "agent", "traceloop.entity.name": "qa_agent",
        "traceloop.workflow.name": "rag_pipeline", **assoc}, parent="00000000000000a1")
    task = span(trace, "00000000000000a2", "retrieval.task", 10, 90, {
        "traceloop.span.kind": "task", "traceloop.entity.name": "retrieval",
        "traceloop.workflow.name": "rag_pipeline", **assoc}, parent="00000000000000a1")
    workflow = span(trace, "00000000000000a1", "rag_pipeline.workflow", 0, 1400, {
        "traceloop.span.kind": "workflow", "traceloop.entity.name": "rag_pipeline",
        "traceloop.workflow.name": "rag_pipeline", **assoc})
    return [chat, tool, agent, task, workflow]


def post_traces(agent, body, content_type="application/json", encoding=None):
    data = json.dumps(body).encode() if not isinstance(body, (bytes, str)) else body
    headers = {"Content-Type": content_type}
    if encoding:
        headers["Content-Encoding"] = encoding
    return agent.post("/v1/traces", data, headers=headers)


class OtlpJsonTest(unittest.TestCase):
    def test_seed_rag_pipeline_becomes_every_metric(self):
        with Agent(["--otlp.span-hold=0"]) as agent:
            r = post_traces(agent, request(seed_rag_pipeline(TRACE_A),
                                           {"service.name": "rag-service"}))
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual(r.headers["Content-Type"], "application/json")
            self.assertEqual(r.json(), {})
            m = agent.scrape()
            self.assertEqual(m.value("llm_requests_total", model="gpt-4o",
                                     endpoint="rag_pipeline", status="success"), 1)
            self.assertEqual(m.value("llm_tokens_total", model="gpt-4o", direction="input"), 1000)
            self.assertEqual(m.value("llm_tokens_total", model="gpt-4o", direction="output"), 500)
            # gpt-4o at the built-in price: 1000 * 2.5 + 500 * 10 USD per million tokens.
            self.assertAlmostEqual(m.value("llm_cost_usd_total", model="gpt-4o",
                                           user_id="user-42", team_id="search"), 0.0075, 12)
            self.assertEqual(m.value("llm_request_duration_seconds_count", model="gpt-4o",
                                     endpoint="rag_pipeline"), 1)
            self.assertAlmostEqual(m.value("llm_request_duration_seconds_sum", model="gpt-4o",
                                           endpoint="rag_pipeline"), 1.2, 9)
            self.assertAlmostEqual(m.value("llm_ttft_seconds_sum", model="gpt-4o"), 0.3, 9)
            self.assertEqual(m.value("llm_workflow_duration_seconds_count",
                                     workflow="rag_pipeline", status="success"), 1)
            self.assertAlmostEqual(m.value("llm_workflow_duration_seconds_sum",
                                           workflow="rag_pipeline", status="success"), 1.4, 9)
            self.assertEqual(m.value("llm_workflow_duration_seconds_count",
                                     workflow="retrieval", status="success"), 1)
            self.assertEqual(m.value("llm_agent_invocations_total", agent="qa_agent",
                                     status="success"), 1)
            self.assertEqual(m.value("llm_tool_calls_total", tool="llm_call",
                                     status="success"), 1)
            for kind, n in {"llm_call": 1, "workflow": 2, "agent": 1, "tool": 1,
                            "ignored": 0}.items():
                self.assertEqual(m.value("llm_exporter_otlp_spans_received_total",
                                         transport="http", kind=kind), n, kind)
            self.assertEqual(m.value("llm_exporter_http_requests_total",
                                     handler="/v1/traces", code="200"), 1)

    def test_only_the_innermost_llm_call_counts(self):
        # Pydantic AI's agent run (a span naming its model, with the summed usage) over the
        # chat span it made; and a LangChain LLM span around an OpenAI span, through a chain.
        outer = span(TRACE_A, "0000000000000001", "agent run", 0, 3000, {
            "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 300,
            "gen_ai.usage.output_tokens": 90})
        inner1 = span(TRACE_A, "0000000000000002", "chat gpt-4o", 10, 1000, {
            "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 30},
            parent="0000000000000001")
        inner2 = span(TRACE_A, "0000000000000003", "chat gpt-4o", 1100, 2900, {
            "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.input_tokens": 200, "gen_ai.usage.output_tokens": 60},
            parent="0000000000000001")
        langchain = span(TRACE_B, "0000000000000011", "ChatOpenAI", 0, 900, {
            "openinference.span.kind": "LLM", "llm.model_name": "gpt-4o-mini",
            "llm.token_count.prompt": 40, "llm.token_count.completion": 4})
        chain = span(TRACE_B, "0000000000000012", "RunnableSequence", 5, 895, {
            "openinference.span.kind": "CHAIN"}, parent="0000000000000011")
        openai = span(TRACE_B, "0000000000000013", "openai.chat", 10, 890, {
            "llm.request.type": "chat", "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.prompt_tokens": 40, "gen_ai.usage.completion_tokens": 4},
            parent="0000000000000012")
        with Agent(["--otlp.span-hold=1s"]) as agent:
            # The outer spans first, in a request of their own: the hold keeps them until the
            # calls under them arrive.
            self.assertEqual(post_traces(agent, request([outer, langchain])).status, 200)
            self.assertEqual(post_traces(agent, request([inner1, inner2, chain, openai])).status,
                             200)
            wait_until(lambda: agent.scrape().value("llm_exporter_otlp_held_calls") == 0,
                       what="the hold to empty")
            m = agent.scrape()
            self.assertEqual(m.value("llm_requests_total", model="gpt-4o", endpoint="chat",
                                     status="success"), 2)
            self.assertEqual(m.value("llm_tokens_total", model="gpt-4o", direction="input"), 300)
            self.assertEqual(m.value("llm_tokens_total", model="gpt-4o", direction="output"), 90)
            self.assertEqual(m.value("llm_tokens_total", model="gpt-4o-mini",
                                     direction="input"), 40)
            self.assertEqual(m.sum("llm_requests_total", model="gpt-4o-mini"), 1)
            self.assertEqual(m.value("llm_exporter_otlp_nested_calls_total"), 2)
            self.assertEqual(m.value("llm_exporter_otlp_spans_received_total", transport="http",
                                     kind="llm_call"), 5)

    def test_the_hold_delays_span_metrics(self):
        chat = span(TRACE_A, "0000000000000002", "chat", 0, 100, {
            "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.input_tokens": 10})
        with Agent(["--otlp.span-hold=2s"]) as agent:
            self.assertEqual(post_traces(agent, request([chat])).status, 200)
            m = agent.scrape()
            self.assertEqual(m.value("llm_exporter_otlp_held_calls"), 1)
            self.assertIsNone(m.value("llm_requests_total", model="gpt-4o", endpoint="chat",
                                      status="success"))
            wait_until(lambda: agent.scrape().value("llm_requests_total", model="gpt-4o",
                                                    endpoint="chat", status="success") == 1,
                       timeout=5, what="the held call to be counted")

    def test_partial_success_names_the_refused_spans_and_counts_the_rest(self):
        good = span(TRACE_A, "0000000000000001", "chat", 0, 500, {
            "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 2})
        backwards = span(TRACE_A, "0000000000000002", "chat", 500, 100, {
            "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini"})
        bad_id = span("abc", "0000000000000003", "chat", 0, 10, {
            "gen_ai.operation.name": "chat"})
        negative = span(TRACE_A, "0000000000000004", "chat", 0, 10, {
            "gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": -5})
        with Agent(["--otlp.span-hold=0"]) as agent:
            r = post_traces(agent, request([good, backwards, bad_id, negative]))
            self.assertEqual(r.status, 200, r.body)
            body = r.json()
            self.assertEqual(body["partialSuccess"]["rejectedSpans"], "3")
            message = body["partialSuccess"]["errorMessage"]
            self.assertIn("span 1 (chat): end time", message)
            self.assertIn("span 2", message)
            self.assertIn("span 3 (chat): gen_ai.usage.input_tokens must be a non-negative whole "
                          "number of tokens, got -5", message)
            m = agent.scrape()
            self.assertEqual(m.value("llm_requests_total", model="gpt-4o-mini", endpoint="chat",
                                     status="success"), 1)
            self.assertEqual(m.value("llm_tokens_total", model="gpt-4o-mini", direction="input"),
                             10)
            for reason in ("end_before_start", "invalid_id", "invalid_value"):
                self.assertEqual(m.value("llm_exporter_otlp_spans_rejected_total",
                                         transport="http", reason=reason), 1, reason)

    def test_gzip_bodies_and_bombs(self):
        chat = span(TRACE_A, "0000000000000001", "chat", 0, 500, {
            "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.input_tokens": 7})
        with Agent(["--otlp.span-hold=0", "--web.max-request-bytes=1048576"]) as agent:
            r = post_traces(agent, gzip.compress(json.dumps(request([chat])).encode()),
                            encoding="gzip")
            self.assertEqual(r.status, 200, r.body)
            # 64 MiB of spaces inflating from about 64 KiB: refused at 1 MiB, nothing counted.
            bomb = zlib.compressobj(9, zlib.DEFLATED, 31)
            data = bomb.compress(b"{" + b" " * (64 << 20)) + bomb.flush()
            self.assertLess(len(data), 1 << 20)
            r = post_traces(agent, data, encoding="gzip")
            self.assertEqual(r.status, 413, r.body)
            self.assertIn("inflates past --web.max-request-bytes", r.json()["message"])
            r = post_traces(agent, b"\x1f\x8b\x08\x00garbage", encoding="gzip")
            self.assertEqual(r.status, 400, r.body)
            r = post_traces(agent, json.dumps(request([chat])), encoding="br")
            self.assertEqual(r.status, 415, r.body)
            m = agent.scrape()
            self.assertEqual(m.value("llm_tokens_total", model="gpt-4o", direction="input"), 7)
            for reason, n in {"too_large": 1, "bad_encoding": 2}.items():
                self.assertEqual(m.value("llm_exporter_otlp_spans_rejected_total",
                                         transport="http", reason=reason), n, reason)

    def test_undecodable_bodies_count_nothing(self):
        chat = span(TRACE_A, "0000000000000001", "chat", 0, 500, {
            "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"})
        good = json.dumps(request([chat]))
        with Agent(["--otlp.span-hold=0"]) as agent:
            cases = [
                (good[: len(good) // 2], "application/json"),                  # truncated JSON
                ('{"resourceSpans": {}}', "application/json"),                 # wrong type
                (b'{"resourceSpans": [], "x": "\xff"}', "application/json"),   # bad UTF-8
                (b"\x0a\xff\xff\xff\xff\x0f", "application/x-protobuf"),       # bad length
            ]
            for body, content_type in cases:
                r = post_traces(agent, body, content_type)
                self.assertEqual(r.status, 400, (body, r.body))
                if content_type == "application/json":
                    status = r.json()
                    self.assertEqual(status["code"], 3)
                    self.assertIn("no span of it was counted", status["message"])
            r = post_traces(agent, good, "text/plain")
            self.assertEqual(r.status, 415)
            self.assertIn(b"application/x-protobuf or application/json", r.body)
            r = agent.get("/v1/traces")
            self.assertEqual(r.status, 405)
            m = agent.scrape()
            self.assertEqual(m.sum("llm_requests_total"), 0)
            self.assertEqual(m.value("llm_exporter_otlp_spans_rejected_total", transport="http",
                                     reason="undecodable"), 4)
            self.assertEqual(m.value("llm_exporter_otlp_spans_rejected_total", transport="http",
                                     reason="unsupported_media_type"), 1)
            self.assertEqual(m.value("llm_exporter_http_requests_total", handler="/v1/traces",
                                     code="400"), 4)

    def test_attribute_lists_from_flags(self):
        chat = span(TRACE_A, "0000000000000001", "chat", 0, 500, {
            "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
            "enduser.id": "dana", "http.route": "/answer"})
        with Agent(["--otlp.span-hold=0", "--otlp.user-attributes=enduser.id",
                    "--otlp.team-attributes=tenant.id",
                    "--otlp.endpoint-attributes=http.route"]) as agent:
            self.assertEqual(post_traces(agent, request([chat], {"tenant.id": "acme"})).status,
                             200)
            m = agent.scrape()
            self.assertEqual(m.value("llm_requests_total", model="gpt-4o", endpoint="/answer",
                                     status="success"), 1)
            self.assertEqual(len([s for s in m.series("llm_cost_usd_total")
                                  if s == {"model": "gpt-4o", "user_id": "dana",
                                           "team_id": "acme"}]), 1)


if __name__ == "__main__":
    unittest.main()
