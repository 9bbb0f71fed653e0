"""A local fake of the OpenAI and Anthropic HTTP APIs, for the metering proxy's tests and benchmark.

It answers as the real APIs do on the wire, byte shapes included: OpenAI Chat Completions and
legacy Completions (JSON, or SSE `data: {...}` chunks, the usage-only chunk with `"choices":[]`
and `"usage":null` on the others when the request sets `stream_options.include_usage`, then
`data: [DONE]`), the Responses API (`event: response.created` ... `response.output_text.delta`
... `response.completed` with its usage), Embeddings (float or base64 vectors), `GET /v1/models`,
and Anthropic Messages (`message_start` with the cache counts, `ping`, `content_block_*`, one or
more cumulative `message_delta`, `message_stop`) and `count_tokens`. `/v1/messages...` paths are
Anthropic's, every other path OpenAI's.

Each request says how to answer in an `X-Fake` header, form-encoded (`ttft_ms=50&chunks=4`); the
proxy forwards it like any end-to-end header:

  ttft_ms=N       delay from the request read to the first content (a stream's first text
                  delta, or a whole non-streamed answer); the role chunk, message_start and the
                  like go out at once, as the real APIs send them before the model's first token
  gap_ms=N        delay between content chunks
  chunks=N        content chunks (default 3); the text is expected_text(N)
  model=M         the response's model (default: the request's)
  input, output, cached, cache_write, reasoning
                  the usage on the wire: OpenAI prompt_tokens (cached ones included),
                  completion_tokens, prompt_tokens_details.cached_tokens, reasoning_tokens;
                  Anthropic input_tokens (uncached), output_tokens, cache_read_input_tokens,
                  cache_creation_input_tokens. Defaults: input 11, output = chunks, others 0
  deltas=N        Anthropic: N message_delta events, their output counts cumulative (default 1)
  status=N        answer N with the provider's error body (429: rate-limit headers, retry-after)
  times=N         with status: only the first N requests carrying this same X-Fake value get it;
                  later ones are answered normally (a client's retry then succeeds)
  retry_after_ms=N  on a 429: retry-after-ms (default 10) and retry-after (rounded up, seconds)
  error=KIND      in a stream, after error_after content chunks (default 1): `object` (OpenAI's
                  `data: {"error":{...}}`), `event` (`event: error`), `overloaded` (Anthropic's
                  overloaded_error event), `failed` (Responses' response.failed); the stream ends
  stall_after=N   stop after N content chunks (0: right after the headers) and stay silent until
                  the peer closes; non-streamed: headers, then silence
  gzip=1          gzip the body when the request accepts gzip (streams: flushed event by event)
  ratelimit=1     rate-limit headers on a normal answer (RATE_LIMIT_HEADERS)
  tag=T           ignored; lets a test find its request among the recorded ones

Every request is recorded (method, path, headers, body, times, what was sent back, whether the
peer closed the connection before the answer was complete): in process as `FakeUpstream.requests`,
and at `GET /_fake/requests` (`POST /_fake/reset` clears them) when run on its own:

  python3 fake_upstream.py --port 8999 [--no-record]

Standard library only (asyncio): one event loop serves thousands of concurrent streams.
"""
import argparse
import asyncio
import base64
import json
import math
import struct
import sys
import threading
import time
import urllib.parse
import zlib

CREATED = 1767225600  # a fixed `created` so that answers are byte-for-byte repeatable
MAX_HEADER_BYTES = 65536
STALL_LIMIT_S = 300.0  # a stalled answer gives up after this, if the peer never closes

# Headers of normal answers when ratelimit=1, as each provider sends them.
RATE_LIMIT_HEADERS = {
    "openai": {
        "x-ratelimit-limit-requests": "10000",
        "x-ratelimit-limit-tokens": "30000000",
        "x-ratelimit-remaining-requests": "9999",
        "x-ratelimit-remaining-tokens": "29999000",
        "x-ratelimit-reset-requests": "6ms",
        "x-ratelimit-reset-tokens": "2ms",
    },
    "anthropic": {
        "anthropic-ratelimit-requests-limit": "4000",
        "anthropic-ratelimit-requests-remaining": "3999",
        "anthropic-ratelimit-requests-reset": "2026-01-01T00:00:01Z",
        "anthropic-ratelimit-tokens-limit": "480000",
        "anthropic-ratelimit-tokens-remaining": "479000",
        "anthropic-ratelimit-tokens-reset": "2026-01-01T00:00:01Z",
        "anthropic-ratelimit-input-tokens-limit": "400000",
        "anthropic-ratelimit-input-tokens-remaining": "399500",
        "anthropic-ratelimit-input-tokens-reset": "2026-01-01T00:00:01Z",
        "anthropic-ratelimit-output-tokens-limit": "80000",
        "anthropic-ratelimit-output-tokens-remaining": "79500",
        "anthropic-ratelimit-output-tokens-reset": "2026-01-01T00:00:01Z",
    },
}
# Headers of a 429 (besides retry-after): the exhausted resource at 0.
RATE_LIMITED_HEADERS = {
    "openai": {
        "x-ratelimit-limit-requests": "500",
        "x-ratelimit-limit-tokens": "200000",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-remaining-tokens": "199980",
        "x-ratelimit-reset-requests": "120ms",
        "x-ratelimit-reset-tokens": "6ms",
    },
    "anthropic": {
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-requests-remaining": "0",
        "anthropic-ratelimit-requests-reset": "2026-01-01T00:00:01Z",
        "anthropic-ratelimit-tokens-limit": "40000",
        "anthropic-ratelimit-tokens-remaining": "38000",
        "anthropic-ratelimit-tokens-reset": "2026-01-01T00:00:01Z",
        "anthropic-ratelimit-input-tokens-limit": "30000",
        "anthropic-ratelimit-input-tokens-remaining": "29000",
        "anthropic-ratelimit-input-tokens-reset": "2026-01-01T00:00:01Z",
        "anthropic-ratelimit-output-tokens-limit": "10000",
        "anthropic-ratelimit-output-tokens-remaining": "9000",
        "anthropic-ratelimit-output-tokens-reset": "2026-01-01T00:00:01Z",
    },
}

_OPENAI_ERRORS = {
    400: ("invalid_request_error", None, "Invalid request"),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided"),
    404: ("invalid_request_error", "model_not_found", "The model does not exist"),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests"),
    500: ("server_error", None, "The server had an error while processing your request."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later"),
}
_ANTHROPIC_ERRORS = {
    400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
    404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error", 500: "api_error",
    529: "overloaded_error",
}
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
            404: "Not Found", 413: "Payload Too Large", 429: "Too Many Requests",
            500: "Internal Server Error", 503: "Service Unavailable", 529: "Overloaded"}


def piece(i):
    """The text of content chunk i (one piece has a two-byte UTF-8 character)."""
    if i == 0:
        return "Hello"
    if i % 7 == 3:
        return " naïve"
    return f" w{i}"


def expected_text(chunks):
    """The whole text of an answer of `chunks` content chunks."""
    return "".join(piece(i) for i in range(chunks))


def _dumps(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class PeerClosed(Exception):
    """The client closed its connection while the answer was being written."""


class Record:
    """One request the fake received, and what became of its answer."""

    def __init__(self, number, method, target, version, headers, body, t_received):
        self.number = number
        self.method = method
        parsed = urllib.parse.urlsplit(target)
        self.target = target
        self.path = parsed.path
        self.query = parsed.query
        self.version = version
        self.headers = headers  # [(name, value)] in the order and case received
        self.body = body
        self.t_received = t_received  # time.monotonic() when the whole request was read
        self.status = None
        self.response_headers = []
        self.response_body = bytearray()  # the body before content coding and chunked framing
        self.response_raw = bytearray()  # the body as sent: gzip-compressed when it was
        self.t_first_content = None
        self.t_done = None
        self.completed = False  # the whole answer was written
        self.closed_early = False  # the peer closed before the answer was complete
        self.t_closed = None

    def header(self, name):
        """The first value of header `name` (any case), or None."""
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def response_header(self, name):
        """The first value of answer header `name` (lower case), or None."""
        for k, v in self.response_headers:
            if k == name:
                return v
        return None

    def header_names(self):
        return [k.lower() for k, _ in self.headers]

    def json(self):
        return json.loads(self.body)

    def fake(self):
        return dict(urllib.parse.parse_qsl(self.header("x-fake") or ""))

    def to_dict(self):
        def text(b):
            try:
                return {"text": bytes(b).decode("utf-8")}
            except UnicodeDecodeError:
                return {"base64": base64.b64encode(bytes(b)).decode()}
        return {"number": self.number, "method": self.method, "target": self.target,
                "path": self.path, "headers": self.headers, "body": text(self.body),
                "status": self.status, "response_headers": self.response_headers,
                "response_body": text(self.response_body), "t_received": self.t_received,
                "t_first_content": self.t_first_content, "t_done": self.t_done,
                "completed": self.completed, "closed_early": self.closed_early,
                "t_closed": self.t_closed}


class _Connection:
    """One client connection: a byte buffer over the reader, and a watch for the peer closing
    while an answer is written (a read that returns end-of-file, or a reset)."""

    def __init__(self, reader, writer):
        self.reader = reader
        self.writer = writer
        self.buf = bytearray()
        self.eof = False
        self.closed = asyncio.get_running_loop().create_future()
        self.watcher = None

    async def fill(self):
        data = await self.reader.read(65536)
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def start_watch(self):
        self.watcher = asyncio.ensure_future(self._watch())

    async def stop_watch(self):
        if self.watcher is not None:
            self.watcher.cancel()
            try:
                await self.watcher
            except (asyncio.CancelledError, Exception):
                pass
            self.watcher = None

    async def _watch(self):
        try:
            while await self.fill():
                pass  # a pipelined request: kept in buf for the next round
        except (ConnectionError, OSError):
            self.eof = True
        if not self.closed.done():
            self.closed.set_result(time.monotonic())

    async def pause(self, seconds):
        """Sleeps `seconds`, or raises PeerClosed as soon as the peer closes."""
        if self.closed.done():
            raise PeerClosed()
        if seconds <= 0:
            return
        await asyncio.wait({self.closed}, timeout=seconds)
        if self.closed.done():
            raise PeerClosed()

    async def pause_until(self, deadline):
        await self.pause(deadline - time.monotonic())

    async def write(self, data):
        if self.closed.done() or self.writer.is_closing():
            raise PeerClosed()
        try:
            self.writer.write(data)
            await self.writer.drain()
        except (ConnectionError, OSError) as e:
            raise PeerClosed() from e


class _Answer:
    """Writes one answer: status and headers, then a body with Content-Length or chunked,
    optionally gzip-compressed, recording what it sends."""

    def __init__(self, conn, record, keep_alive):
        self.conn = conn
        self.record = record
        self.keep_alive = keep_alive
        self.chunked = False
        self.gzip = None
        self.pending = None  # the status line and headers, when they go out with the body

    async def start(self, status, headers, length=None, gzip=False, flush=True):
        self.record.status = status
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
        headers = list(headers)
        if gzip:
            self.gzip = zlib.compressobj(6, zlib.DEFLATED, 31)
            headers.append(("content-encoding", "gzip"))
        if length is None:
            self.chunked = True
            headers.append(("transfer-encoding", "chunked"))
        else:
            headers.append(("content-length", str(length)))
        if not self.keep_alive:
            headers.append(("connection", "close"))
        self.record.response_headers = headers
        for k, v in headers:
            lines.append(f"{k}: {v}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if flush:
            await self.conn.write(head)
        else:
            self.pending = head

    async def send(self, data, flush_gzip=True):
        """One piece of the body (an SSE event, or the whole JSON)."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.record.response_body += data
        if self.gzip is not None:
            data = self.gzip.compress(data) + (self.gzip.flush(zlib.Z_SYNC_FLUSH)
                                               if flush_gzip else b"")
        self.record.response_raw += data
        if not data:
            return
        if self.chunked:
            data = b"%x\r\n%b\r\n" % (len(data), data)
        if self.pending is not None:
            data = self.pending + data
            self.pending = None
        await self.conn.write(data)

    async def finish(self):
        tail = b""
        if self.gzip is not None:
            rest = self.gzip.flush(zlib.Z_FINISH)
            self.record.response_raw += rest
            if rest:
                tail += b"%x\r\n%b\r\n" % (len(rest), rest) if self.chunked else rest
        if self.chunked:
            tail += b"0\r\n\r\n"
        if tail:
            await self.conn.write(tail)
        self.record.completed = True


class FakeUpstream:
    """The fake server. start() runs it on its own event loop thread (for tests in process);
    serve() runs it in the caller's loop (standalone). Records are appended by the loop thread
    and read by others: a list append is atomic, and a record's fields are set before the
    condition a test waits for."""

    def __init__(self, host="127.0.0.1", port=0, record=True):
        self.host = host
        self.port = port
        self.record = record
        self.requests = []
        self._numbers = 0
        self._times = {}
        self._loop = None
        self._thread = None
        self._server = None
        self._ready = threading.Event()

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    # --- running -------------------------------------------------------------------------------

    async def serve(self):
        self._server = await asyncio.start_server(self._client, self.host, self.port,
                                                  backlog=4096, limit=MAX_HEADER_BYTES)
        self.port = self._server.sockets[0].getsockname()[1]
        self._loop = asyncio.get_running_loop()
        self._ready.set()
        async with self._server:
            await self._server.serve_forever()

    def start(self):
        """Runs the server on a daemon thread; returns once it listens."""
        def run():
            try:
                asyncio.run(self.serve())
            except asyncio.CancelledError:
                pass
        self._thread = threading.Thread(target=run, name="fake-upstream", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fake upstream did not start")
        return self

    def stop(self):
        """Closes the listener and every connection; returns when the loop thread has ended."""
        if self._thread is None:
            return
        try:
            self._loop.call_soon_threadsafe(self._cancel_all)
        except RuntimeError:  # the loop has already ended
            pass
        self._thread.join(10)
        self._thread = None

    def _cancel_all(self):
        self._server.close()
        for task in asyncio.all_tasks(self._loop):
            task.cancel()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- for tests -----------------------------------------------------------------------------

    def reset(self):
        self.requests.clear()
        self._times.clear()

    def find(self, tag):
        """The records whose X-Fake carries tag=`tag`, in arrival order."""
        return [r for r in list(self.requests) if r.fake().get("tag") == tag]

    def wait_for(self, predicate, timeout=10.0, what="a condition on the fake's requests"):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
            time.sleep(0.005)

    # --- the connection ------------------------------------------------------------------------

    async def _client(self, reader, writer):
        sock = writer.get_extra_info("socket")
        if sock is not None:
            import socket as _socket
            sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
        conn = _Connection(reader, writer)
        try:
            while True:
                request = await self._read_request(conn)
                if request is None:
                    break
                keep_alive = await self._handle(conn, *request)
                if not keep_alive:
                    break
        except (PeerClosed, ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            await conn.stop_watch()
            try:
                writer.close()
            except Exception:
                pass

    async def _read_request(self, conn):
        while True:
            end = conn.buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            if len(conn.buf) > MAX_HEADER_BYTES or not await conn.fill():
                return None
        head = bytes(conn.buf[:end]).decode("latin-1")
        del conn.buf[:end + 4]
        lines = head.split("\r\n")
        try:
            method, target, version = lines[0].split(" ", 2)
        except ValueError:
            return None
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
        lower = {k.lower(): v for k, v in headers}
        if lower.get("expect", "").lower() == "100-continue":
            await conn.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if "chunked" in lower.get("transfer-encoding", "").lower():
            body = bytearray()
            while True:
                while b"\r\n" not in conn.buf:
                    if not await conn.fill():
                        return None
                line_end = conn.buf.find(b"\r\n")
                size = int(bytes(conn.buf[:line_end]).split(b";")[0], 16)
                del conn.buf[:line_end + 2]
                while len(conn.buf) < size + 2:
                    if not await conn.fill():
                        return None
                body += conn.buf[:size]
                del conn.buf[:size + 2]
                if size == 0:
                    break
            body = bytes(body)
        else:
            length = int(lower.get("content-length", "0") or 0)
            while len(conn.buf) < length:
                if not await conn.fill():
                    return None
            body = bytes(conn.buf[:length])
            del conn.buf[:length]
        keep_alive = version == "HTTP/1.1" and lower.get("connection", "").lower() != "close"
        return method, target, version, headers, body, keep_alive

    async def _handle(self, conn, method, target, version, headers, body, keep_alive):
        self._numbers += 1
        record = Record(self._numbers, method, target, version, headers, body, time.monotonic())
        if self.record and not record.path.startswith("/_fake/"):
            self.requests.append(record)
        answer = _Answer(conn, record, keep_alive)
        conn.start_watch()
        try:
            await self._route(conn, record, answer)
            record.t_done = time.monotonic()
            await conn.stop_watch()
            return keep_alive and not conn.eof
        except PeerClosed:
            record.closed_early = True
            record.t_closed = (conn.closed.result() if conn.closed.done() else time.monotonic())
            record.t_done = time.monotonic()
            return False
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a bug in the fake: answer 500 so that the test sees it
            print(f"fake_upstream: {e!r}", file=sys.stderr)
            if record.status is None:
                body = _dumps({"error": {"message": f"fake_upstream: {e!r}",
                                         "type": "fake_error"}}).encode()
                await answer.start(500, [("content-type", "application/json")], len(body))
                await answer.send(body)
            return False

    async def _route(self, conn, record, answer):
        path = record.path
        if path == "/_fake/requests" and record.method == "GET":
            return await self._json(answer, 200, [r.to_dict() for r in self.requests], "openai")
        if path == "/_fake/reset" and record.method == "POST":
            self.reset()
            return await self._json(answer, 200, {"ok": True}, "openai")
        kind = "anthropic" if path.startswith("/v1/messages") else "openai"
        opts = record.fake()
        if record.method == "GET" and path.rstrip("/") == "/v1/models":
            return await self._json(answer, 200, {"object": "list", "data": [
                {"id": "gpt-4o", "object": "model", "created": CREATED, "owned_by": "system"}]},
                kind)
        if record.method != "POST":
            return await self._error(answer, kind, 404, opts)
        try:
            request = json.loads(record.body) if record.body else {}
            if not isinstance(request, dict):
                raise ValueError("not an object")
        except ValueError:
            return await self._error(answer, kind, 400, opts)
        status = int(opts.get("status", "200"))
        if status != 200:
            key = (path, record.header("x-fake"))
            times = int(opts.get("times", "0"))
            self._times[key] = self._times.get(key, 0) + 1
            if times == 0 or self._times[key] <= times:
                return await self._error(answer, kind, status, opts, record)
        ctx = _Call(conn, record, answer, kind, request, opts)
        handlers = {
            "/v1/chat/completions": ctx.chat,
            "/v1/completions": ctx.completion,
            "/v1/responses": ctx.responses,
            "/v1/embeddings": ctx.embeddings,
            "/v1/messages": ctx.messages,
            "/v1/messages/count_tokens": ctx.count_tokens,
        }
        handler = handlers.get(path)
        if handler is None:
            return await self._error(answer, kind, 404, opts)
        await ctx.pause_first()
        await handler()

    async def _json(self, answer, status, value, kind, extra=()):
        body = json.dumps(value, indent=2).encode()
        await answer.start(status, [("content-type", "application/json"), *extra], len(body))
        await answer.send(body)
        await answer.finish()

    async def _error(self, answer, kind, status, opts, record=None):
        extra = []
        if kind == "openai":
            etype, code, message = _OPENAI_ERRORS.get(status, ("server_error", None, "Error"))
            value = {"error": {"message": message, "type": etype, "param": None, "code": code}}
            extra.append(("x-request-id", f"req_{record.number if record else 0:08d}"))
        else:
            value = {"type": "error", "error": {"type": _ANTHROPIC_ERRORS.get(status, "api_error"),
                                                "message": _REASONS.get(status, "Error")}}
            extra.append(("request-id", f"req_{record.number if record else 0:08d}"))
        if status == 429:
            extra += list(RATE_LIMITED_HEADERS[kind].items())
            ms = int(opts.get("retry_after_ms", "10"))
            extra += [("retry-after-ms", str(ms)), ("retry-after", str(math.ceil(ms / 1000)))]
        body = (json.dumps(value, indent=2) if kind == "openai" else _dumps(value)).encode()
        await answer.start(status, [("content-type", "application/json"), *extra], len(body))
        await answer.send(body)
        await answer.finish()


class _Call:
    """One API call's answer, from its request and options."""

    def __init__(self, conn, record, answer, kind, request, opts):
        self.conn = conn
        self.record = record
        self.answer = answer
        self.kind = kind
        self.request = request
        self.opts = opts
        self.chunks = int(opts.get("chunks", "3"))
        self.ttft = float(opts.get("ttft_ms", "0")) / 1000
        self.gap = float(opts.get("gap_ms", "0")) / 1000
        self.model = opts.get("model") or str(request.get("model", "unknown-model"))
        self.input = int(opts.get("input", "11"))
        self.output = int(opts.get("output", str(self.chunks)))
        self.cached = int(opts.get("cached", "0"))
        self.cache_write = int(opts.get("cache_write", "0"))
        self.reasoning = int(opts.get("reasoning", "0"))
        self.stream = request.get("stream") is True
        so = request.get("stream_options")
        self.include_usage = isinstance(so, dict) and so.get("include_usage") is True
        self.error = opts.get("error")
        self.error_after = int(opts.get("error_after", "1"))
        self.stall_after = int(opts["stall_after"]) if "stall_after" in opts else None
        accept = (record.header("accept-encoding") or "").lower()
        self.gzip = opts.get("gzip") == "1" and "gzip" in accept
        self.id = f"{record.number:08d}"

    def headers(self, content_type):
        h = [("content-type", content_type)]
        if self.kind == "openai":
            h += [("x-request-id", f"req_{self.id}"), ("openai-version", "2020-10-01"),
                  ("openai-processing-ms", "42")]
        else:
            h += [("request-id", f"req_{self.id}"), ("anthropic-organization-id", "org-fake")]
        if self.opts.get("ratelimit") == "1":
            h += list(RATE_LIMIT_HEADERS[self.kind].items())
        if content_type.startswith("text/event-stream"):
            h.append(("cache-control", "no-cache"))
        return h

    async def pause_first(self):
        """Non-streamed answers wait ttft_ms before anything is sent."""
        if not self.stream:
            await self.conn.pause_until(self.record.t_received + self.ttft)

    async def whole(self, value, pretty=True):
        body = (json.dumps(value, indent=2, ensure_ascii=False) if pretty
                else _dumps(value)).encode()
        plain = body
        if self.gzip:
            body = _gzip(body)
        if self.stall_after is not None:
            await self.answer.start(200, self.headers("application/json")
                                    + ([("content-encoding", "gzip")] if self.gzip else []),
                                    len(body))
            await self.conn.pause(STALL_LIMIT_S)
            return
        self.record.t_first_content = time.monotonic()
        await self.answer.start(200, self.headers("application/json")
                                + ([("content-encoding", "gzip")] if self.gzip else []),
                                len(body), flush=False)
        await self.answer.send(body)
        self.record.response_body[:] = plain
        await self.answer.finish()

    async def open_stream(self):
        # The headers go out with the first event, as a real server's first write carries both.
        await self.answer.start(200, self.headers("text/event-stream; charset=utf-8"), None,
                                gzip=self.gzip, flush=self.stall_after == 0)
        if self.stall_after == 0:
            await self.conn.pause(STALL_LIMIT_S)

    async def content(self, i, event):
        """Sends content chunk i at its time; False when the stream must stop here (a stall or
        an injected error)."""
        if self.stall_after is not None and i == self.stall_after:
            await self.conn.pause(STALL_LIMIT_S)
            return False
        if self.error and i == self.error_after:
            await self.answer.send(self.error_event())
            await self.answer.finish()
            return False
        if i == 0:
            await self.conn.pause_until(self.record.t_received + self.ttft)
        else:
            await self.conn.pause(self.gap)
        if i == 0:
            self.record.t_first_content = time.monotonic()
        await self.answer.send(event)
        return True

    async def all_content(self, make):
        for i in range(self.chunks):
            if not await self.content(i, make(i)):
                return False
        if self.stall_after is not None and self.stall_after >= self.chunks:
            await self.conn.pause(STALL_LIMIT_S)
            return False
        if self.error and self.error_after >= self.chunks:
            await self.answer.send(self.error_event())
            await self.answer.finish()
            return False
        return True

    def error_event(self):
        if self.error == "event":
            return ("event: error\ndata: " + _dumps({"error": {
                "message": "The server had an error while processing your request.",
                "type": "server_error", "param": None, "code": None}}) + "\n\n")
        if self.error == "overloaded":
            return ("event: error\ndata: " + _dumps({"type": "error", "error": {
                "type": "overloaded_error", "message": "Overloaded"}}) + "\n\n")
        if self.error == "failed":
            return ("event: response.failed\ndata: " + _dumps({
                "type": "response.failed", "sequence_number": 99,
                "response": {"id": f"resp_{self.id}", "object": "response",
                             "created_at": CREATED, "status": "failed",
                             "error": {"code": "server_error",
                                       "message": "The model failed to generate a response."},
                             "model": self.model, "output": [], "usage": None}}) + "\n\n")
        return "data: " + _dumps({"error": {
            "message": "The server had an error while processing your request.",
            "type": "server_error", "param": None, "code": None}}) + "\n\n"

    # --- OpenAI ----------------------------------------------------------------------------------

    def chat_usage(self):
        return {"prompt_tokens": self.input, "completion_tokens": self.output,
                "total_tokens": self.input + self.output,
                "prompt_tokens_details": {"cached_tokens": self.cached, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": self.reasoning,
                                              "audio_tokens": 0,
                                              "accepted_prediction_tokens": 0,
                                              "rejected_prediction_tokens": 0}}

    async def chat(self):
        cid = f"chatcmpl-{self.id}"
        if not self.stream:
            return await self.whole({
                "id": cid, "object": "chat.completion", "created": CREATED, "model": self.model,
                "choices": [{"index": 0, "message": {
                    "role": "assistant", "content": expected_text(self.chunks), "refusal": None,
                    "annotations": []}, "logprobs": None, "finish_reason": "stop"}],
                "usage": self.chat_usage(), "service_tier": "default",
                "system_fingerprint": "fp_fake"})

        def chunk(delta, finish=None, choices=True):
            value = {"id": cid, "object": "chat.completion.chunk", "created": CREATED,
                     "model": self.model, "service_tier": "default",
                     "system_fingerprint": "fp_fake",
                     "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                  "finish_reason": finish}] if choices else []}
            if self.include_usage:
                value["usage"] = None
            return "data: " + _dumps(value) + "\n\n"

        await self.open_stream()
        if self.stall_after == 0:
            return
        await self.answer.send(chunk({"role": "assistant", "content": "", "refusal": None}))
        if not await self.all_content(lambda i: chunk({"content": piece(i)})):
            return
        await self.answer.send(chunk({}, "stop"))
        if self.include_usage:
            value = {"id": cid, "object": "chat.completion.chunk", "created": CREATED,
                     "model": self.model, "service_tier": "default",
                     "system_fingerprint": "fp_fake", "choices": [], "usage": self.chat_usage()}
            await self.answer.send("data: " + _dumps(value) + "\n\n")
        await self.answer.send("data: [DONE]\n\n")
        await self.answer.finish()

    async def completion(self):
        cid = f"cmpl-{self.id}"
        usage = {"prompt_tokens": self.input, "completion_tokens": self.output,
                 "total_tokens": self.input + self.output}
        if not self.stream:
            return await self.whole({
                "id": cid, "object": "text_completion", "created": CREATED, "model": self.model,
                "choices": [{"text": expected_text(self.chunks), "index": 0, "logprobs": None,
                             "finish_reason": "stop"}], "usage": usage})

        def chunk(text, finish=None):
            value = {"id": cid, "object": "text_completion", "created": CREATED,
                     "choices": [{"text": text, "index": 0, "logprobs": None,
                                  "finish_reason": finish}], "model": self.model}
            if self.include_usage:
                value["usage"] = None
            return "data: " + _dumps(value) + "\n\n"

        await self.open_stream()
        if self.stall_after == 0:
            return
        if not await self.all_content(lambda i: chunk(piece(i))):
            return
        await self.answer.send(chunk("", "stop"))
        if self.include_usage:
            await self.answer.send("data: " + _dumps({
                "id": cid, "object": "text_completion", "created": CREATED, "choices": [],
                "model": self.model, "usage": usage}) + "\n\n")
        await self.answer.send("data: [DONE]\n\n")
        await self.answer.finish()

    def response_object(self, status, output, usage):
        return {"id": f"resp_{self.id}", "object": "response", "created_at": CREATED,
                "status": status, "error": None, "incomplete_details": None,
                "instructions": None, "max_output_tokens": None, "model": self.model,
                "output": output, "parallel_tool_calls": True, "previous_response_id": None,
                "reasoning": {"effort": None, "summary": None}, "store": True,
                "temperature": 1.0, "text": {"format": {"type": "text"}}, "tool_choice": "auto",
                "tools": [], "top_p": 1.0, "truncation": "disabled", "usage": usage,
                "user": None, "metadata": {}}

    def responses_usage(self):
        return {"input_tokens": self.input,
                "input_tokens_details": {"cached_tokens": self.cached},
                "output_tokens": self.output,
                "output_tokens_details": {"reasoning_tokens": self.reasoning},
                "total_tokens": self.input + self.output}

    async def responses(self):
        mid = f"msg_{self.id}"
        text = expected_text(self.chunks)
        done_item = {"id": mid, "type": "message", "status": "completed", "role": "assistant",
                     "content": [{"type": "output_text", "annotations": [], "text": text}]}
        if not self.stream:
            return await self.whole(self.response_object("completed", [done_item],
                                                          self.responses_usage()))
        seq = iter(range(1 << 30))

        def event(name, value):
            return f"event: {name}\ndata: " + _dumps(
                {"type": name, "sequence_number": next(seq), **value}) + "\n\n"

        await self.open_stream()
        if self.stall_after == 0:
            return
        for name in ("response.created", "response.in_progress"):
            await self.answer.send(event(name, {
                "response": self.response_object("in_progress", [], None)}))
        await self.answer.send(event("response.output_item.added", {
            "output_index": 0, "item": {"id": mid, "type": "message", "status": "in_progress",
                                        "role": "assistant", "content": []}}))
        await self.answer.send(event("response.content_part.added", {
            "item_id": mid, "output_index": 0, "content_index": 0,
            "part": {"type": "output_text", "annotations": [], "text": ""}}))
        if not await self.all_content(lambda i: event("response.output_text.delta", {
                "item_id": mid, "output_index": 0, "content_index": 0, "delta": piece(i)})):
            return
        await self.answer.send(event("response.output_text.done", {
            "item_id": mid, "output_index": 0, "content_index": 0, "text": text}))
        await self.answer.send(event("response.content_part.done", {
            "item_id": mid, "output_index": 0, "content_index": 0,
            "part": {"type": "output_text", "annotations": [], "text": text}}))
        await self.answer.send(event("response.output_item.done",
                                     {"output_index": 0, "item": done_item}))
        await self.answer.send(event("response.completed", {"response": self.response_object(
            "completed", [done_item], self.responses_usage())}))
        await self.answer.finish()

    async def embeddings(self):
        inputs = self.request.get("input")
        count = len(inputs) if isinstance(inputs, list) and inputs and not isinstance(
            inputs[0], int) else 1
        as_base64 = self.request.get("encoding_format") == "base64"
        data = []
        for i in range(count):
            vector = [round(0.125 * (i + 1) * (k + 1), 6) for k in range(4)]
            data.append({"object": "embedding", "index": i,
                         "embedding": base64.b64encode(struct.pack("<4f", *vector)).decode()
                         if as_base64 else vector})
        await self.whole({"object": "list", "data": data, "model": self.model,
                          "usage": {"prompt_tokens": self.input, "total_tokens": self.input}})

    # --- Anthropic -------------------------------------------------------------------------------

    def anthropic_usage(self, output):
        return {"input_tokens": self.input, "cache_creation_input_tokens": self.cache_write,
                "cache_read_input_tokens": self.cached, "output_tokens": output,
                "service_tier": "standard"}

    async def messages(self):
        mid = f"msg_{self.id}"
        if not self.stream:
            return await self.whole({
                "id": mid, "type": "message", "role": "assistant", "model": self.model,
                "content": [{"type": "text", "text": expected_text(self.chunks)}],
                "stop_reason": "end_turn", "stop_sequence": None,
                "usage": self.anthropic_usage(self.output)}, pretty=False)

        def event(name, value):
            return f"event: {name}\ndata: " + _dumps({"type": name, **value}) + "\n\n"

        await self.open_stream()
        if self.stall_after == 0:
            return
        await self.answer.send(event("message_start", {"message": {
            "id": mid, "type": "message", "role": "assistant", "model": self.model,
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": self.anthropic_usage(1)}}))
        await self.answer.send(event("content_block_start", {
            "index": 0, "content_block": {"type": "text", "text": ""}}))
        await self.answer.send("event: ping\ndata: {\"type\": \"ping\"}\n\n")
        if not await self.all_content(lambda i: event("content_block_delta", {
                "index": 0, "delta": {"type": "text_delta", "text": piece(i)}})):
            return
        await self.answer.send(event("content_block_stop", {"index": 0}))
        deltas = max(1, int(self.opts.get("deltas", "1")))
        for d in range(1, deltas + 1):
            usage = {"output_tokens": self.output * d // deltas}
            if d == deltas:  # the last one repeats the input counts, as the API does now
                usage = {"input_tokens": self.input,
                         "cache_creation_input_tokens": self.cache_write,
                         "cache_read_input_tokens": self.cached, "output_tokens": self.output}
            await self.answer.send(event("message_delta", {
                "delta": {"stop_reason": "end_turn" if d == deltas else None,
                          "stop_sequence": None}, "usage": usage}))
        await self.answer.send(event("message_stop", {}))
        await self.answer.finish()

    async def count_tokens(self):
        await self.whole({"input_tokens": self.input}, pretty=False)


def _gzip(data):
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    return c.compress(data) + c.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--no-record", action="store_true",
                        help="keep no record of requests (long benchmarks)")
    args = parser.parse_args()
    fake = FakeUpstream(args.host, args.port, record=not args.no_record)

    async def run():
        task = asyncio.ensure_future(fake.serve())
        while fake._loop is None and not task.done():
            await asyncio.sleep(0.001)
        print(f"fake_upstream listening on {fake.host}:{fake.port}", flush=True)
        await task

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
