"""Calls an OpenAI-compatible chat-completions API and reports every call through llm_metrics,
with the time to first token measured on streamed calls. Standard library only (Python 3.11).

    import llm_openai
    client = llm_openai.ChatClient(endpoint="/chat")   # $OPENAI_BASE_URL, $OPENAI_API_KEY

    # Streamed: content deltas as they arrive; latency, TTFT and usage are reported at the end.
    with client.stream("gpt-4o-mini", [{"role": "user", "content": "Hi"}],
                       user_id="u42", team_id="search", trace_id=trace_id) as stream:
        for delta in stream:
            print(delta, end="", flush=True)
    print(stream.usage)

    # Not streamed: the response JSON as a dict; latency and usage are reported, no TTFT.
    answer = client.create("gpt-4o-mini", messages, user_id="u42", team_id="search")
    print(answer["choices"][0]["message"]["content"])

What one call reports (llm_metrics.track_llm_call, or any object with that method):
- `model`: the model requested; `endpoint`, `user_id`, `team_id`, `trace_id`: as given;
- `input_tokens`, `output_tokens`, `cached_input_tokens`, `reasoning_tokens`: read from the
  response's `usage` (`prompt_tokens`, `completion_tokens`, `prompt_tokens_details.cached_tokens`,
  `completion_tokens_details.reasoning_tokens`; the last two only when above 0 and not above the
  count they are part of). Streams ask for it with `stream_options: {"include_usage": true}` and
  read it from the last chunk. A call whose usage never arrived (an HTTP or network error, a
  stream cut or closed before its usage chunk, a server that sends none) reports no token field
  at all: the agent counts it in llm_calls_without_usage_total, its tokens and cost unknown
  rather than 0;
- `latency`: seconds from sending the request to the end of the response, of the stream
  (`data: [DONE]`), to the failure, or to the consumer closing the stream;
- `ttft`: streamed calls only, seconds from sending the request to the first chunk carrying output
  (non-empty `choices[0].delta.content` or a `tool_calls` delta). A non-streamed call has no TTFT
  to measure, so it reports none and llm_ttft_seconds counts only calls where it was measured;
- `status`: "success", or "error" for an HTTP error, a network error or a stream cut before
  `data: [DONE]`. An error is reported with the usage when it had arrived (none otherwise, see
  above) and the TTFT when the first token had arrived, then re-raised unchanged
  (urllib.error.HTTPError, OSError, http.client.IncompleteRead...; a stream that ends without
  `[DONE]` raises IncompleteStreamError).

A stream that the consumer closes early (`stream.close()`, leaving the `with` block, or dropping
the iterator after `break`) is reported once, as status "cancelled" with the latency until the
close, the TTFT when measured, and the tokens of the usage chunk only if it had arrived (usually
not: the provider bills the tokens it generated, but the client never learns how many, so the call
is reported without usage rather than as 0 tokens costing $0). It is not
an "error": a user pressing "stop" is not a failing model, and the error-rate alert counts only
status="error". The Node.js wrapper (examples/node/openai.js) reports such a stream the same way. Reporting never
raises and never blocks: llm_metrics queues the event for its sender thread.

From the command line, a streamed question (reported with endpoint "/cli"):

    python3 examples/python/llm_openai.py --model gpt-4o-mini "What is a histogram?"

CallMeter and sse_payload() hold the measuring and parsing apart from the transport, so an async
client (examples/fastapi/llm_client.py, on httpx) reports exactly as this one does.
"""
import argparse
import json
import logging
import os
import sys
import time
import urllib.error
import urllib.request
from typing import NamedTuple

import llm_metrics

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DONE = object()  # sse_payload()'s answer for `data: [DONE]`
log = logging.getLogger("llm_openai")


class IncompleteStreamError(ConnectionError):
    """The server ended a streamed response before `data: [DONE]`."""


def chat_request_body(model, messages, stream, **params):
    """The JSON body of a chat-completions request; streams ask for the usage chunk."""
    body = {"model": model, "messages": messages, **params}
    if stream:
        body["stream"] = True
        options = dict(body.get("stream_options") or {})
        options.setdefault("include_usage", True)
        body["stream_options"] = options
    return body


def sse_payload(line):
    """The JSON object of one server-sent-events line, DONE for `data: [DONE]`, or None for
    anything else (blank lines, comments, `event:` and `id:` fields). Raises ValueError when a
    `data:` line does not hold JSON."""
    if isinstance(line, bytes):
        line = line.decode("utf-8")
    line = line.rstrip("\r\n")
    if not line.startswith("data:"):
        return None
    data = line[5:].strip()
    if data == "[DONE]":
        return DONE
    return json.loads(data)


class Tokens(NamedTuple):
    """The token counts of one call's usage. input and output are None when unknown (no usage
    arrived, or it held no valid count); cached and reasoning, the parts of input and output the
    provider reported, are 0 when it reported none."""
    input: int | None
    output: int | None
    cached: int = 0
    reasoning: int = 0

    @property
    def known(self):
        """True when the usage gave a count: the call's tokens and cost are known."""
        return self.input is not None or self.output is not None


class CallMeter:
    """Measures one chat-completions call and reports it exactly once. Not thread-safe: one call,
    one meter, fed by the code that reads that call's response.

    Call started() when the request is sent, chunk() with each parsed stream chunk (it returns the
    chunk's content delta), response() with a non-streamed response, then finish() or fail().
    """

    def __init__(self, model, endpoint="", user_id="", team_id="", trace_id=None, reporter=None,
                 clock=time.monotonic, **extra):
        self.model, self.endpoint = model, endpoint
        self.user_id, self.team_id, self.trace_id = user_id, team_id, trace_id
        self.reporter = reporter if reporter is not None else llm_metrics
        self.clock = clock
        self.extra = extra  # further event fields, e.g. span_id
        self.start = None
        self.ttft = None
        self.latency = None
        self.usage = None
        self.finish_reason = None
        self.reported = False

    def started(self):
        self.start = self.clock()

    def chunk(self, chunk):
        """Records one `chat.completion.chunk`; returns its content delta ("" when none)."""
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        choices = chunk.get("choices") or []
        if not choices or not isinstance(choices[0], dict):
            return ""
        choice = choices[0]
        if choice.get("finish_reason"):
            self.finish_reason = choice["finish_reason"]
        delta = choice.get("delta") or {}
        content = delta.get("content") or ""
        if self.ttft is None and (content or delta.get("tool_calls")):
            self.ttft = self.clock() - self.start
        return content

    def response(self, body):
        """Records a non-streamed `chat.completion` response."""
        if isinstance(body.get("usage"), dict):
            self.usage = body["usage"]
        choices = body.get("choices") or []
        if choices and isinstance(choices[0], dict):
            self.finish_reason = choices[0].get("finish_reason")

    def tokens(self):
        """The Tokens of the usage seen so far; input and output None without one.

        A part (cached, reasoning) is kept only when it fits in the count it is part of: cached
        is capped at input, as a gateway may count them apart; reasoning above output is a
        malformed usage, left out rather than refused by the agent with the whole call."""
        usage = self.usage if isinstance(self.usage, dict) else {}
        input_tokens = _count(usage.get("prompt_tokens"))
        output_tokens = _count(usage.get("completion_tokens"))
        prompt_details = usage.get("prompt_tokens_details")
        cached = _count(prompt_details.get("cached_tokens")) \
            if isinstance(prompt_details, dict) else None
        completion_details = usage.get("completion_tokens_details")
        reasoning = _count(completion_details.get("reasoning_tokens")) \
            if isinstance(completion_details, dict) else None
        cached = min(cached or 0, input_tokens or 0)
        if not reasoning or output_tokens is None or reasoning > output_tokens:
            reasoning = 0
        return Tokens(input_tokens, output_tokens, cached, reasoning)

    def finish(self, status="success"):
        """Reports the call once (later calls do nothing); returns the latency in seconds."""
        if self.reported:
            return self.latency
        self.reported = True
        self.latency = self.clock() - self.start
        tokens = self.tokens()
        extra = dict(self.extra)
        if tokens.cached:
            extra["cached_input_tokens"] = tokens.cached
        if tokens.reasoning:
            extra["reasoning_tokens"] = tokens.reasoning
        if self.trace_id:
            extra["trace_id"] = self.trace_id
        try:
            self.reporter.track_llm_call(self.model, self.endpoint, tokens.input, tokens.output,
                                         self.latency, self.ttft, self.user_id, self.team_id,
                                         status, **extra)
        except Exception:  # a reporter must never break the app's call
            log.exception("reporting an LLM call failed")
        return self.latency

    def fail(self):
        """Reports the call as status "error" (usage and TTFT known so far)."""
        return self.finish("error")


def _count(value):
    """A token count as the agent takes it (a whole number, 0 to 2^53), else None."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 2 ** 53:
        return value
    return None


class ChatStream:
    """The content deltas of one streamed call, as they arrive. Iterate it once, in one thread.

    After the stream ends: `text` (all content), `usage`, `finish_reason`, `ttft` and `latency`.
    close() (or leaving a `with` block) stops reading, closes the connection and reports the call
    if it was not yet reported.
    """

    def __init__(self, response, meter):
        self._response = response
        self._meter = meter
        self._parts = []
        # A plain function, not a method: the generator must not hold self, so that dropping
        # the stream after a `break` frees it, and so reports the call, at once.
        self._deltas = _read_deltas(response, meter, self._parts)

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._deltas)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if hasattr(self, "_deltas"):
            self.close()

    def close(self):
        """Stops reading; reports the call as closed early unless it has ended already."""
        self._deltas.close()  # runs _read_deltas' finally when the iteration had started
        if not self._meter.reported:  # never iterated: the generator's finally never ran
            _close_quietly(self._response)
            self._meter.finish()

    @property
    def text(self):
        return "".join(self._parts)

    @property
    def usage(self):
        return self._meter.usage

    @property
    def finish_reason(self):
        return self._meter.finish_reason

    @property
    def ttft(self):
        return self._meter.ttft

    @property
    def latency(self):
        return self._meter.latency



def _read_deltas(response, meter, parts):
    """The content deltas of an SSE response; reports the call through `meter` when it ends."""
    try:
        while True:
            line = response.readline()
            if not line:
                raise IncompleteStreamError("the stream ended before data: [DONE]")
            payload = sse_payload(line)
            if payload is DONE:
                break
            if payload is None:
                continue
            content = meter.chunk(payload)
            if content:
                parts.append(content)
                yield content
    except GeneratorExit:
        _close_quietly(response)
        meter.finish("cancelled")  # the consumer closed the stream early
        raise
    except BaseException:
        meter.fail()
        raise
    finally:
        _close_quietly(response)
        meter.finish()  # after [DONE]


def _close_quietly(response):
    try:
        response.close()
    except Exception:  # closing a connection that has already failed
        pass


class ChatClient:
    """A blocking OpenAI-compatible chat-completions client that reports each call.

    base_url: $OPENAI_BASE_URL, else https://api.openai.com/v1; api_key: $OPENAI_API_KEY (no
    Authorization header without one, for local servers). endpoint/user_id/team_id are defaults
    that each call may override. reporter: anything with llm_metrics' track_llm_call (default:
    the llm_metrics module). opener: a urllib OpenerDirector (default: urllib's, which honours
    the proxy environment). Safe to share between threads: each call has its own connection.
    """

    def __init__(self, base_url=None, api_key=None, *, endpoint="", user_id="", team_id="",
                 reporter=None, timeout=60.0, opener=None, headers=None, clock=time.monotonic):
        base = base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        self.url = base.rstrip("/") + "/chat/completions"
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.endpoint, self.user_id, self.team_id = endpoint, user_id, team_id
        self.reporter = reporter
        self.timeout = timeout
        self.opener = opener or urllib.request.build_opener()
        self.headers = dict(headers or {})
        self.clock = clock

    def create(self, model, messages, *, endpoint=None, user_id=None, team_id=None,
               trace_id=None, **params):
        """One non-streamed call; returns the response JSON (a dict). `params` go into the body
        (temperature, response_format, ...). Errors are reported, then re-raised unchanged."""
        meter = self._meter(model, endpoint, user_id, team_id, trace_id)
        request = self._request(chat_request_body(model, messages, False, **params))
        meter.started()
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                body = json.loads(response.read())
            meter.response(body)
        except BaseException:
            meter.fail()
            raise
        meter.finish()
        return body

    def stream(self, model, messages, *, endpoint=None, user_id=None, team_id=None,
               trace_id=None, **params):
        """One streamed call; returns a ChatStream of content deltas. The request is sent here,
        so an HTTP error is reported and raised by this call; later errors by the iteration."""
        meter = self._meter(model, endpoint, user_id, team_id, trace_id)
        request = self._request(chat_request_body(model, messages, True, **params))
        meter.started()
        try:
            response = self.opener.open(request, timeout=self.timeout)
        except BaseException:
            meter.fail()
            raise
        return ChatStream(response, meter)

    def _meter(self, model, endpoint, user_id, team_id, trace_id):
        return CallMeter(model, self.endpoint if endpoint is None else endpoint,
                         self.user_id if user_id is None else user_id,
                         self.team_id if team_id is None else team_id,
                         trace_id, self.reporter, self.clock)

    def _request(self, body):
        headers = {"Content-Type": "application/json", **self.headers}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return urllib.request.Request(self.url, data=json.dumps(body).encode(), method="POST",
                                      headers=headers)


def main():
    parser = argparse.ArgumentParser(description="Asks an OpenAI-compatible API ($OPENAI_BASE_URL, "
                                     "$OPENAI_API_KEY) a question, streamed, and reports the call "
                                     "to the llm_exporter agent ($LLM_EXPORTER_URL).")
    parser.add_argument("question")
    parser.add_argument("--model", default="gpt-4o-mini")
    parser.add_argument("--user-id", default="")
    parser.add_argument("--team-id", default="")
    args = parser.parse_args()
    client = ChatClient(endpoint="/cli", user_id=args.user_id, team_id=args.team_id)
    with client.stream(args.model, [{"role": "user", "content": args.question}]) as stream:
        for delta in stream:
            print(delta, end="", flush=True)
    print(f"\n[ttft {stream.ttft:.3f} s, latency {stream.latency:.3f} s, usage {stream.usage}]"
          if stream.ttft is not None else f"\n[latency {stream.latency:.3f} s]")
    llm_metrics.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
