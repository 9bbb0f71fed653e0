"""Real OpenTelemetry clients: the OpenTelemetry JS SDK with each of its OTLP trace exporters
(OTLP/HTTP protobuf, OTLP/HTTP JSON, OTLP/gRPC) sends spans shaped the way each instrumentation
library emits them, and the agent's metrics must come out exactly.

Needs Node.js and the npm packages of tests/otel-js (scripts/setup.sh installs them). Without
them the test skips with a reason, unless CI is set, where it fails."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SOURCE_DIR, Agent, free_port, wait_until  # noqa: E402

OTEL_JS = os.path.join(SOURCE_DIR, "tests", "otel-js")
NODE = shutil.which("node")
MISSING = None
if NODE is None:
    MISSING = "node is not installed (scripts/setup.sh installs it)"
elif not os.path.isdir(os.path.join(OTEL_JS, "node_modules", "@opentelemetry")):
    MISSING = "tests/otel-js/node_modules is missing (scripts/setup.sh runs npm ci there)"
if MISSING and os.environ.get("CI"):
    raise SystemExit(f"test_otlp_clients: {MISSING}, and CI is set")

ASSOC = {"traceloop.association.properties.user_id": "user-42",
         "traceloop.association.properties.team_id": "search"}

# Each library's spans, as the scenario files of tests/otel-js/send_spans.mjs describe them.
SCENARIOS = {
    # The seed's OpenLLMetry example: @workflow rag_pipeline -> @task retrieval, @agent qa_agent
    # -> @tool llm_call -> the OpenAI chat span, streamed, with association properties.
    "openllmetry": {
        "resource": {"service.name": "rag-service"},
        "scope": "opentelemetry.instrumentation.openai",
        "spans": [
            {"name": "rag_pipeline.workflow", "startOffsetMs": 0, "endOffsetMs": 2000,
             "attributes": {"traceloop.span.kind": "workflow",
                            "traceloop.entity.name": "rag_pipeline",
                            "traceloop.workflow.name": "rag_pipeline", **ASSOC}},
            {"name": "retrieval.task", "parent": "rag_pipeline.workflow", "startOffsetMs": 5,
             "endOffsetMs": 205,
             "attributes": {"traceloop.span.kind": "task", "traceloop.entity.name": "retrieval",
                            "traceloop.workflow.name": "rag_pipeline", **ASSOC}},
            {"name": "qa_agent.agent", "parent": "rag_pipeline.workflow", "startOffsetMs": 210,
             "endOffsetMs": 1990,
             "attributes": {"traceloop.span.kind": "agent", "traceloop.entity.name": "qa_agent",
                            "traceloop.workflow.name": "rag_pipeline", **ASSOC}},
            {"name": "llm_call.tool", "parent": "qa_agent.agent", "startOffsetMs": 220,
             "endOffsetMs": 1980,
             "attributes": {"traceloop.span.kind": "tool", "traceloop.entity.name": "llm_call",
                            "traceloop.workflow.name": "rag_pipeline", **ASSOC}},
            {"name": "openai.chat", "kind": "client", "parent": "llm_call.tool",
             "startOffsetMs": 230, "endOffsetMs": 1730,
             "attributes": {"llm.request.type": "chat", "gen_ai.system": "openai",
                            "gen_ai.request.model": "gpt-4o",
                            "gen_ai.response.model": "gpt-4o-2024-08-06",
                            "gen_ai.usage.prompt_tokens": 1000,
                            "gen_ai.usage.completion_tokens": 500,
                            "gen_ai.prompt.0.role": "user",
                            "gen_ai.prompt.0.content": "What is retrieval? " * 50,
                            "traceloop.workflow.name": "rag_pipeline", **ASSOC},
             "events": [{"name": "First Token Stream Event", "offsetMs": 250}]},
        ],
    },
    # The Vercel AI SDK: ai.generateText (repeats the usage; no call) over its doGenerate span,
    # a streamed call with milliseconds to first chunk, and a tool call.
    "vercel": {
        "resource": {"service.name": "web"},
        "scope": "ai",
        "spans": [
            {"name": "ai.generateText", "startOffsetMs": 0, "endOffsetMs": 900,
             "attributes": {"ai.operationId": "ai.generateText",
                            "ai.model.id": "claude-3-5-sonnet-20241022",
                            "ai.model.provider": "anthropic.messages",
                            "ai.usage.promptTokens": 300, "ai.usage.completionTokens": 40,
                            "ai.telemetry.functionId": "summarise",
                            "ai.telemetry.metadata.userId": "bob",
                            "ai.telemetry.metadata.teamId": "docs"}},
            {"name": "ai.generateText.doGenerate", "parent": "ai.generateText",
             "startOffsetMs": 10, "endOffsetMs": 810,
             "attributes": {"ai.operationId": "ai.generateText.doGenerate",
                            "ai.model.id": "claude-3-5-sonnet-20241022",
                            "ai.model.provider": "anthropic.messages",
                            "gen_ai.system": "anthropic.messages",
                            "gen_ai.request.model": "claude-3-5-sonnet-20241022",
                            "ai.usage.promptTokens": 300, "ai.usage.completionTokens": 40,
                            "ai.telemetry.functionId": "summarise",
                            "ai.telemetry.metadata.userId": "bob",
                            "ai.telemetry.metadata.teamId": "docs"}},
            {"name": "ai.streamText.doStream", "startOffsetMs": 1000, "endOffsetMs": 1600,
             "attributes": {"ai.operationId": "ai.streamText.doStream",
                            "ai.model.id": "claude-3-5-haiku-20241022",
                            "ai.model.provider": "anthropic.messages",
                            "ai.usage.inputTokens": 50, "ai.usage.outputTokens": 20,
                            "ai.response.msToFirstChunk": 120.0,
                            "ai.telemetry.functionId": "chat"}},
            {"name": "ai.toolCall", "startOffsetMs": 850, "endOffsetMs": 880,
             "attributes": {"ai.operationId": "ai.toolCall", "ai.toolCall.name": "weather"}},
        ],
    },
    # OpenInference (LangChain): an LLM span over a chain over an OpenAI span (OpenLLMetry's).
    # Only the innermost is counted.
    "openinference": {
        "resource": {"service.name": "lc"},
        "scope": "openinference.instrumentation.langchain",
        "spans": [
            {"name": "ChatOpenAI", "startOffsetMs": 0, "endOffsetMs": 700,
             "attributes": {"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o-mini",
                            "llm.provider": "openai", "llm.token_count.prompt": 60,
                            "llm.token_count.completion": 6}},
            {"name": "RunnableSequence", "parent": "ChatOpenAI", "startOffsetMs": 5,
             "endOffsetMs": 695, "attributes": {"openinference.span.kind": "CHAIN"}},
            {"name": "openai.chat", "parent": "RunnableSequence", "startOffsetMs": 10,
             "endOffsetMs": 690,
             "attributes": {"llm.request.type": "chat", "gen_ai.request.model": "gpt-4o-mini",
                            "gen_ai.usage.prompt_tokens": 60,
                            "gen_ai.usage.completion_tokens": 6}},
            {"name": "search_docs", "startOffsetMs": 700, "endOffsetMs": 750,
             "status": {"code": "error", "message": "timeout"},
             "attributes": {"openinference.span.kind": "TOOL"}},
        ],
    },
    # OpenLIT: Anthropic input counts exclude cached tokens; OpenAI ones include them.
    "openlit": {
        "resource": {"service.name": "bot", "telemetry.sdk.name": "openlit"},
        "scope": "openlit.otel.tracing",
        "spans": [
            {"name": "chat claude-3-5-haiku-20241022", "startOffsetMs": 0, "endOffsetMs": 400,
             "attributes": {"gen_ai.operation.name": "chat", "gen_ai.system": "anthropic",
                            "gen_ai.request.model": "claude-3-5-haiku-20241022",
                            "gen_ai.usage.input_tokens": 100,
                            "gen_ai.usage.cache_read_input_tokens": 900,
                            "gen_ai.usage.output_tokens": 10, "gen_ai.usage.cost": 0.0042,
                            "user.id": "carol"}},
        ],
    },
    # Langfuse: a generation whose level is ERROR, cached tokens counted apart.
    "langfuse": {
        "resource": {"service.name": "lf"},
        "scope": "langfuse-sdk",
        "spans": [
            {"name": "generation", "startOffsetMs": 0, "endOffsetMs": 300,
             "attributes": {"langfuse.observation.type": "generation",
                            "langfuse.observation.model.name": "gpt-4o",
                            "langfuse.observation.level": "ERROR",
                            "langfuse.user.id": "dave", "langfuse.trace.name": "support",
                            "gen_ai.usage.input_tokens": 20,
                            "gen_ai.usage.cache_read_input_tokens": 80,
                            "gen_ai.usage.output_tokens": 0}},
        ],
    },
    # GenAI semantic conventions: Pydantic AI's agent run (names its model, sums the usage) over
    # two chat spans; an invoke_agent span and an execute_tool span; an embeddings call.
    "semconv": {
        "resource": {"service.name": "agent-svc"},
        "scope": "pydantic-ai",
        "spans": [
            {"name": "agent run", "startOffsetMs": 0, "endOffsetMs": 3000,
             "attributes": {"gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 300,
                            "gen_ai.usage.output_tokens": 90, "user.id": "erin"}},
            {"name": "chat gpt-4o", "parent": "agent run", "startOffsetMs": 10,
             "endOffsetMs": 1010,
             "attributes": {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
                            "gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 30,
                            "gen_ai.usage.cache_read.input_tokens": 64,
                            "gen_ai.response.time_to_first_chunk": 0.5, "user.id": "erin"}},
            {"name": "execute_tool get_weather", "parent": "agent run", "startOffsetMs": 1020,
             "endOffsetMs": 1100,
             "attributes": {"gen_ai.operation.name": "execute_tool",
                            "gen_ai.tool.name": "get_weather"}},
            {"name": "chat gpt-4o 2", "parent": "agent run", "startOffsetMs": 1110,
             "endOffsetMs": 2990,
             "attributes": {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
                            "gen_ai.usage.input_tokens": 200, "gen_ai.usage.output_tokens": 60,
                            "user.id": "erin"}},
            {"name": "invoke_agent travel_planner", "startOffsetMs": 3100, "endOffsetMs": 3200,
             "attributes": {"gen_ai.operation.name": "invoke_agent",
                            "gen_ai.agent.name": "travel_planner",
                            "gen_ai.request.model": "gpt-4o",
                            "gen_ai.usage.input_tokens": 999}},
            {"name": "embeddings text-embedding-3-small", "startOffsetMs": 3300,
             "endOffsetMs": 3350,
             "attributes": {"gen_ai.operation.name": "embeddings",
                            "gen_ai.request.model": "text-embedding-3-small",
                            "gen_ai.usage.input_tokens": 42}},
        ],
    },
}

# What the scenarios above must add up to, whatever the transport.
REQUESTS = {  # llm_requests_total{model, endpoint, status}
    ("gpt-4o", "rag_pipeline", "success"): 1,                # OpenLLMetry
    ("claude-3-5-sonnet-20241022", "summarise", "success"): 1,  # Vercel doGenerate
    ("claude-3-5-haiku-20241022", "chat", "success"): 2,     # Vercel doStream, OpenLIT
    ("gpt-4o-mini", "chat", "success"): 1,                   # the innermost LangChain call
    ("gpt-4o", "support", "error"): 1,                       # Langfuse
    ("gpt-4o", "chat", "success"): 2,                        # the chats under the agent run
    ("text-embedding-3-small", "embeddings", "success"): 1,
}
TOKENS = {  # llm_tokens_total{model, direction}
    ("gpt-4o", "input"): 1000 + (20 + 80) + 100 + 200,
    ("gpt-4o", "output"): 500 + 0 + 30 + 60,
    ("claude-3-5-sonnet-20241022", "input"): 300,
    ("claude-3-5-sonnet-20241022", "output"): 40,
    ("claude-3-5-haiku-20241022", "input"): 50 + (100 + 900),
    ("claude-3-5-haiku-20241022", "output"): 20 + 10,
    ("gpt-4o-mini", "input"): 60,
    ("gpt-4o-mini", "output"): 6,
    ("text-embedding-3-small", "input"): 42,
}
# llm_exporter_otlp_spans_received_total{kind}: nested calls are received, then not counted.
SPANS = {"llm_call": 1 + 2 + 2 + 1 + 1 + 4, "workflow": 2, "agent": 2, "tool": 4, "ignored": 2}


@unittest.skipIf(MISSING, MISSING or "")
class OtelJsClientsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="llmx-otel-")
        cls.files = {}
        for name, scenario in SCENARIOS.items():
            path = os.path.join(cls.tmp.name, f"{name}.json")
            with open(path, "w") as f:
                json.dump(scenario, f)
            cls.files[name] = path

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def send(self, protocol, endpoint, scenario, *extra):
        out = subprocess.run(
            [NODE, os.path.join(OTEL_JS, "send_spans.mjs"), "--protocol", protocol,
             "--endpoint", endpoint, "--scenario", self.files[scenario], *extra],
            cwd=OTEL_JS, capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, f"{scenario} over {protocol}: {out.stdout}"
                                            f"{out.stderr}")
        report = json.loads(out.stdout.strip().splitlines()[-1])
        self.assertTrue(report["ok"], report)
        self.assertEqual(report["exportedSpans"], len(SCENARIOS[scenario]["spans"]))
        self.assertEqual(report.get("partialSuccess", []), [], report)
        return report

    def check_metrics(self, agent, transport):
        wait_until(lambda: agent.scrape().value("llm_exporter_otlp_held_calls") == 0,
                   timeout=30, what="the hold to empty")
        m = agent.scrape()
        for (model, endpoint, status), n in REQUESTS.items():
            self.assertEqual(m.value("llm_requests_total", model=model, endpoint=endpoint,
                                     status=status), n, (model, endpoint, status))
        self.assertEqual(m.sum("llm_requests_total"), sum(REQUESTS.values()))
        for (model, direction), n in TOKENS.items():
            self.assertEqual(m.value("llm_tokens_total", model=model, direction=direction), n,
                             (model, direction))
        for kind, n in SPANS.items():
            self.assertEqual(m.value("llm_exporter_otlp_spans_received_total",
                                     transport=transport, kind=kind), n, kind)
        self.assertEqual(m.value("llm_exporter_otlp_nested_calls_total"), 2)
        self.assertEqual(m.sum("llm_exporter_otlp_spans_rejected_total"), 0)
        # Costs: the user and team of each, OpenLIT's carried cost in place of the price.
        self.assertAlmostEqual(m.value("llm_cost_usd_total", model="claude-3-5-haiku-20241022",
                                       user_id="carol", team_id=""), 0.0042, 12)
        self.assertEqual(len([s for s in m.series("llm_cost_usd_total")
                              if s["user_id"] == "bob" and s["team_id"] == "docs"]), 1)
        self.assertEqual(len([s for s in m.series("llm_cost_usd_total")
                              if s["user_id"] == "user-42" and s["team_id"] == "search"]), 1)
        # Time to first token: OpenLLMetry's event (0.25 s), Vercel's ms (0.12 s), semconv 0.5 s.
        self.assertAlmostEqual(m.value("llm_ttft_seconds_sum", model="gpt-4o"), 0.75, 6)
        self.assertEqual(m.value("llm_ttft_seconds_count", model="gpt-4o"), 2)
        self.assertAlmostEqual(m.value("llm_ttft_seconds_sum",
                                       model="claude-3-5-haiku-20241022"), 0.12, 6)
        self.assertAlmostEqual(m.value("llm_request_duration_seconds_sum", model="gpt-4o",
                                       endpoint="rag_pipeline"), 1.5, 6)
        # Workflows, agents, tools.
        self.assertEqual(m.value("llm_workflow_duration_seconds_count", workflow="rag_pipeline",
                                 status="success"), 1)
        self.assertAlmostEqual(m.value("llm_workflow_duration_seconds_sum",
                                       workflow="rag_pipeline", status="success"), 2.0, 6)
        self.assertEqual(m.value("llm_workflow_duration_seconds_count", workflow="retrieval",
                                 status="success"), 1)
        self.assertEqual(m.value("llm_agent_invocations_total", agent="qa_agent",
                                 status="success"), 1)
        self.assertEqual(m.value("llm_agent_invocations_total", agent="travel_planner",
                                 status="success"), 1)
        for tool, status in [("llm_call", "success"), ("weather", "success"),
                             ("search_docs", "error"), ("get_weather", "success")]:
            self.assertEqual(m.value("llm_tool_calls_total", tool=tool, status=status), 1, tool)

    def run_all(self, protocol, transport, extra=()):
        grpc_port = free_port()
        # The default hold (5 s): exports of one span each (--processor simple) are sent
        # concurrently and may reach the agent outer span first, the inner one a moment later,
        # and much later under the sanitizers.
        with Agent([f"--otlp.grpc-listen-address=127.0.0.1:{grpc_port}"]) as agent:
            endpoint = (f"http://127.0.0.1:{grpc_port}" if protocol == "grpc"
                        else f"{agent.url}/v1/traces")
            for scenario in SCENARIOS:
                self.send(protocol, endpoint, scenario, *extra)
            self.check_metrics(agent, transport)

    def test_otlp_http_protobuf(self):
        self.run_all("proto", "http")

    def test_otlp_http_json(self):
        self.run_all("json", "http")

    def test_otlp_grpc(self):
        self.run_all("grpc", "grpc", ["--insecure"])

    def test_gzip_and_one_request_per_span(self):
        self.run_all("proto", "http", ["--compression", "gzip", "--processor", "simple"])

    def test_grpc_gzip(self):
        self.run_all("grpc", "grpc", ["--insecure", "--compression", "gzip"])


if __name__ == "__main__":
    unittest.main()
