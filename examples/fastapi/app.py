"""The seed's FastAPI middleware, reporting every LLM call to the host's llm_exporter agent.

    cd examples/fastapi
    OPENAI_BASE_URL=... OPENAI_API_KEY=... LLM_EXPORTER_URL=http://127.0.0.1:9778 \\
      python3 -m uvicorn app:app --port 8000

The middleware gives each request a user, a team and a trace id (request.state.user_id, .team_id,
.session_id, .trace_id, .span_id) and returns the trace id in `X-Trace-ID` and a W3C
`traceresponse` header. POST /chat {"query": ..., "model"?: ..., "stream"?: false} calls the model
through an injectable async client and reports the call through examples/python/llm_metrics.py
with endpoint "/chat", the caller's user and team and the trace id, which the agent keeps as the
exemplar of the series and buckets the call lands in. The tokens are those of the model's usage
chunk; a call that ends without one (the model failed, or the caller went away, before it came) is
reported with no token counts, which the agent counts as a call without usage rather than as $0.

Tests and other apps build their own instance: create_app(llm_client=..., reporter=...).
"""
import asyncio
import contextlib
import logging
import os
import re
import secrets
import sys
import time

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import llm_metrics  # noqa: E402
from llm_openai import CallMeter  # noqa: E402

from llm_client import OpenAIChatStreamer  # noqa: E402

ENDPOINT = "/chat"
DEFAULT_MODEL = "gpt-4o-mini"
# A request without X-User-ID is charged to "anonymous"; one without X-Team-ID to no team (""),
# the agent's own default, so that cost by team shows unattributed spend as team_id="".
DEFAULT_USER_ID = "anonymous"
DEFAULT_TEAM_ID = ""
# The agent refuses a whole event whose label is over 128 bytes; a longer header is cut to fit.
MAX_LABEL_BYTES = 128
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
log = logging.getLogger("llm_app")


class ChatRequest(BaseModel):
    query: str
    model: str | None = None
    stream: bool = False


def parse_traceparent(header):
    """(trace_id, parent_id, flags) of a valid W3C traceparent (version 00, ids not all zeros),
    else None."""
    match = _TRACEPARENT.match((header or "").strip())
    if not match or match[1] == "0" * 32 or match[2] == "0" * 16:
        return None
    return match[1], match[2], match[3]


def label(value, default):
    """A header as a label value: the default when absent or empty, else at most 128 bytes."""
    if not value:
        return default
    return value.encode("utf-8")[:MAX_LABEL_BYTES].decode("utf-8", "ignore")


class ObservabilityMiddleware:
    """The seed's observability middleware: gives every request a trace id, a user and a team
    (request.state), and returns the trace id to the caller in `X-Trace-ID` and `traceresponse`.

    A plain ASGI middleware rather than the seed's `@app.middleware("http")`: that decorator runs
    each request through Starlette's BaseHTTPMiddleware, which costs about 0.3 ms a request
    (bench/README.md, "The app's side") and does the same job."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = _headers(scope)
        parent = parse_traceparent(headers.get("traceparent"))
        trace_id, flags = (parent[0], parent[2]) if parent else (secrets.token_hex(16), "01")
        span_id = secrets.token_hex(8)  # this request's own span in the trace
        state = scope.setdefault("state", {})  # what request.state reads
        state.update(trace_id=trace_id, span_id=span_id,
                     user_id=label(headers.get("x-user-id"), DEFAULT_USER_ID),
                     team_id=label(headers.get("x-team-id"), DEFAULT_TEAM_ID),
                     session_id=headers.get("x-session-id"))
        trace_headers = [(b"x-trace-id", trace_id.encode()),
                         (b"traceresponse", f"00-{trace_id}-{span_id}-{flags}".encode())]

        async def send_with_trace(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *trace_headers]}
            await send(message)

        await self.app(scope, receive, send_with_trace)


def _headers(scope):
    """The request's headers by lower-case name (the last of a repeated one). Values are read as
    UTF-8, which clients send for names such as "José", else as latin-1, HTTP/1.1's own."""
    return {name.decode("latin-1"): _text(value) for name, value in scope["headers"]}


def _text(value):
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def create_app(llm_client=None, reporter=None, *, default_model=None, clock=time.monotonic):
    """The app. llm_client: an object with `stream_chat(model, messages)`, an async iterator of
    chat.completion.chunk dicts (default: OpenAIChatStreamer from $OPENAI_BASE_URL and
    $OPENAI_API_KEY, closed at shutdown). reporter: llm_metrics.Reporter or anything with its
    track_llm_call (default: the llm_metrics module, which sends to $LLM_EXPORTER_URL); flushed at
    shutdown. default_model: for requests naming none ($LLM_MODEL, else gpt-4o-mini)."""
    owns_client = llm_client is None
    llm_client = llm_client or OpenAIChatStreamer()
    reporter = reporter if reporter is not None else llm_metrics
    default_model = default_model or os.environ.get("LLM_MODEL") or DEFAULT_MODEL

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        if owns_client:
            await llm_client.aclose()
        flush = getattr(reporter, "flush", None)
        if flush is not None:  # as the seed flushes Langfuse; in a thread: it waits on the network
            await asyncio.to_thread(flush, 5.0)

    app = FastAPI(title="LLM app reporting to llm_exporter")
    # FastAPI 0.92 (Debian 12) has no lifespan= argument; its Starlette router has.
    app.router.lifespan_context = lifespan

    app.add_middleware(ObservabilityMiddleware)

    @app.post(ENDPOINT)
    async def chat(request: Request, body: ChatRequest):
        """Answers the query with the model; the call is reported whether it succeeds or not."""
        state = request.state
        model = body.model or default_model
        meter = CallMeter(model, ENDPOINT, state.user_id, state.team_id, state.trace_id,
                          reporter, clock, span_id=state.span_id)
        messages = [{"role": "user", "content": body.query}]
        meter.started()
        chunks = aiter(llm_client.stream_chat(model, messages))
        handed_over = False  # to a streamed response, which then reports the call
        try:
            # Wait for the first chunk here, so that a call failing at once is answered 502.
            first = await anext(chunks, None)
            if body.stream:
                handed_over = True
                return StreamingResponse(_deltas(meter, first, chunks),
                                         media_type="text/plain")  # Starlette adds the charset
            text = [meter.chunk(chunk) async for chunk in _rest(first, chunks)]
        except Exception as error:
            meter.fail()
            return _failed(state.trace_id, error)
        except asyncio.CancelledError:
            meter.finish("cancelled")  # the caller went away: as a stream closed early
            raise
        finally:
            if not handed_over:
                meter.finish()
                await _aclose(chunks)
        tokens = meter.tokens()
        # null when the model sent no usage: its tokens are unknown, not 0.
        usage = {"input_tokens": tokens.input, "output_tokens": tokens.output,
                 "cached_input_tokens": tokens.cached,
                 "reasoning_tokens": tokens.reasoning} if tokens.known else None
        return {"response": "".join(text), "model": model, "trace_id": state.trace_id,
                "usage": usage}

    return app


async def _rest(first, chunks):
    if first is not None:
        yield first
        async for chunk in chunks:
            yield chunk


async def _deltas(meter, first, chunks):
    """The response body of a streamed /chat: content deltas as they arrive. A failure midway
    is reported, then raised, so the server cuts the response and the caller sees it fail."""
    try:
        async for chunk in _rest(first, chunks):
            content = meter.chunk(chunk)
            if content:
                yield content
    except Exception:
        meter.fail()
        raise
    except (asyncio.CancelledError, GeneratorExit):
        meter.finish("cancelled")  # the caller stopped reading: as a stream closed early
        raise
    finally:
        meter.finish()
        await _aclose(chunks)


async def _aclose(chunks):
    """Closes the model's stream (and so its connection) when the app stops reading early."""
    with contextlib.suppress(Exception):
        await chunks.aclose()


def _failed(trace_id, error):
    log.warning("the model call of trace %s failed: %r", trace_id, error)
    return JSONResponse({"error": "the model call failed", "trace_id": trace_id}, status_code=502)


app = create_app()
