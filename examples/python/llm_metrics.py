"""Reports LLM calls to the host's llm_exporter agent, never blocking or failing the calling app.

A drop-in for the seed's prometheus_client collector, with the same track_llm_call and
track_quality_score signatures; the agent prices the calls and serves /metrics for every process
on the host. Standard library only (Python 3.11).

    import llm_metrics
    llm_metrics.track_llm_call("gpt-4o", "/chat", 1200, 350, latency=1.8, ttft=0.4,
                               user_id="u42", team_id="search", trace_id="abc123")
    # A call whose usage never arrived: no token counts, so the agent shows it as unknown.
    llm_metrics.track_llm_call("gpt-4o", "/chat", None, None, latency=0.7, ttft=None,
                               user_id="u42", team_id="search", status="error")

Events wait in a bounded queue; a daemon thread POSTs them as JSON arrays to
$LLM_EXPORTER_URL/v1/events (default http://127.0.0.1:9778). An event that cannot be delivered
(queue full, agent down, slow or refusing it, a value JSON cannot carry) is counted in `dropped`,
and one warning is logged per outage rather than one per event.
"""
import atexit
import json
import logging
import os
import queue
import threading
import urllib.error
import urllib.request

DEFAULT_URL = "http://127.0.0.1:9778"
log = logging.getLogger("llm_metrics")
# The agent runs on this host: never route its traffic through an http_proxy from the environment.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Reporter:
    """Queues events and sends them in batches from one daemon thread. Safe to share between threads.

    `dropped` counts events that never reached the agent's metrics.
    """

    def __init__(self, url=None, timeout=2.0, max_queue=10_000, batch_size=500, interval=0.5):
        base = url or os.environ.get("LLM_EXPORTER_URL") or DEFAULT_URL
        self.url = base.rstrip("/") + "/v1/events"
        self.timeout = timeout
        self.batch_size = batch_size
        self.interval = interval  # how long events may wait for a batch to fill up
        self.dropped = 0
        self._queue = queue.Queue(maxsize=max_queue)
        self._lock = threading.Lock()
        self._handled = threading.Condition(self._lock)
        self._queued = self._done = 0  # events accepted into the queue / sent or dropped since
        self._warned = self._closed = False
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="llm-metrics", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def track_llm_call(self, model: str, endpoint: str, input_tokens: int | None,
                       output_tokens: int | None, latency: float, ttft: float | None,
                       user_id: str, team_id: str, status: str = "success", **extra):
        """Queues one LLM call. A None value leaves its field out: ttft=None for a call whose
        TTFT was not measured; input_tokens=None and output_tokens=None for a call whose usage is
        unknown (a stream cut or closed before its usage chunk, an error without a usage), which
        the agent counts in llm_calls_without_usage_total instead of pricing it at $0.
        `extra` may carry cached_input_tokens (part of input_tokens), cache_write_input_tokens
        (part of input_tokens, written to the prompt cache), reasoning_tokens (part of
        output_tokens), cache ("hit" | "miss"), cost_usd (overrides the agent's pricing),
        trace_id and span_id."""
        event = {"model": model, "endpoint": endpoint, "status": status,
                 "input_tokens": input_tokens, "output_tokens": output_tokens,
                 "latency": latency, "ttft": ttft, "user_id": user_id, "team_id": team_id, **extra}
        self._enqueue({k: v for k, v in event.items() if v is not None})

    def track_quality_score(self, model: str, evaluator: str, score: float,
                            trace_id: str | None = None):
        """Queues one quality evaluation score (the agent's llm_quality_score histogram);
        trace_id, when given, names the trace of the call that was scored."""
        event = {"type": "quality", "model": model, "evaluator": evaluator, "score": score}
        if trace_id is not None:
            event["trace_id"] = trace_id
        self._enqueue(event)

    def flush(self, timeout=5.0):
        """Sends every event queued so far; True when all were sent or dropped within `timeout`."""
        with self._lock:
            target = self._queued
        self._wake.set()
        with self._handled:
            return self._handled.wait_for(lambda: self._done >= target, timeout)

    def close(self, timeout=5.0):
        """Flushes, then stops the sender; later events are dropped. Runs at exit by itself."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        atexit.unregister(self.close)
        self._wake.set()
        self._thread.join(timeout)

    def _enqueue(self, event):
        # Serialise in the caller's thread so that one bad value costs only its own event.
        try:
            line = json.dumps(event, allow_nan=False)
        except Exception as e:  # TypeError, ValueError (NaN), RecursionError ...
            self._drop(1, f"event not representable as JSON: {e}")
            return
        with self._lock:
            queued = not self._closed
            if queued:
                try:
                    self._queue.put_nowait(line)
                    self._queued += 1
                except queue.Full:
                    queued = False
        if not queued:
            self._drop(1, "queue full or reporter closed")
        elif self._queue.qsize() >= self.batch_size:
            self._wake.set()

    def _run(self):
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            closing = self._closed  # read before draining: events queued before close() still go
            while batch := self._take_batch():
                self._send(batch)
            if closing:
                return

    def _take_batch(self):
        batch = []
        while len(batch) < self.batch_size:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _send(self, batch):
        body = ("[" + ",".join(batch) + "]").encode()
        request = urllib.request.Request(self.url, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        lost, why = len(batch), None
        try:
            with _opener.open(request, timeout=self.timeout) as response:
                answer = json.loads(response.read())
            lost = len(batch) - int(answer["accepted"])
            if lost:
                why = (f"agent rejected {lost} of {len(batch)} event(s), "
                       f"first: {_first_error(answer)}")
        except urllib.error.HTTPError as e:
            # 400: the agent refused every event; its answer says why, as for a partial refusal.
            why = f"{self.url} answered HTTP {e.code} {e.reason}"
            why += _refusal(e, len(batch))
        except Exception as e:  # the sender thread must survive anything: OSError, timeout, bad JSON
            why = f"cannot deliver to {self.url}: {e!r}"
        self._drop(lost, why, done=len(batch))

    def _drop(self, lost, why, done=0):
        with self._lock:
            self.dropped += lost
            self._done += done
            self._handled.notify_all()
            first = lost > 0 and not self._warned
            self._warned = lost > 0  # a batch delivered whole re-arms the warning
        if first:
            log.warning("dropped %d LLM metric event(s): %s (further drops are logged at debug "
                        "level until the agent accepts a batch again)", lost, why)
        elif lost:
            log.debug("dropped %d LLM metric event(s): %s", lost, why)


def _first_error(answer):
    """The first refusal of an agent's answer: "message (index i, field f, reason r)"."""
    errors = answer.get("errors") if isinstance(answer, dict) else None
    if not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
        return "no reason given"
    first = errors[0]
    where = ", ".join(f"{key} {first[key]}" for key in ("index", "field", "reason") if key in first)
    message = first.get("message", "")
    return f"{message} ({where})" if where else str(message or first)


def _refusal(error, sent):
    """What an HTTP error answer says: the agent's counts and first error when it is the agent's
    JSON answer, else the start of the body. Never raises: it runs on the sender thread."""
    try:
        text = error.read(64 * 1024)
    except Exception:  # a connection reset while reading the answer
        return ""
    try:
        answer = json.loads(text)
    except ValueError:
        snippet = text[:100].decode("utf-8", "replace").strip()
        return f" (the answer is not JSON: {snippet!r})" if snippet else ""
    if not isinstance(answer, dict) or not answer.get("errors"):
        return ""
    return (f": agent rejected {answer.get('rejected', sent)} of {sent} event(s), "
            f"first: {_first_error(answer)}")


_default = None
_default_lock = threading.Lock()


def reporter() -> Reporter:
    """The Reporter behind the module-level functions, created on first use from $LLM_EXPORTER_URL."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Reporter()
        return _default


def configure(url=None, timeout=2.0, **options) -> Reporter:
    """Replaces the module-level Reporter (flushing and closing the old one) and returns the new one."""
    global _default
    with _default_lock:
        old, _default = _default, Reporter(url=url, timeout=timeout, **options)
    if old is not None:
        old.close()
    return _default


def track_llm_call(model: str, endpoint: str, input_tokens: int | None,
                   output_tokens: int | None, latency: float, ttft: float | None, user_id: str,
                   team_id: str, status: str = "success", **extra):
    """Records an LLM call (see Reporter.track_llm_call; None token counts mean the usage is
    unknown); returns at once and never raises."""
    reporter().track_llm_call(model, endpoint, input_tokens, output_tokens, latency, ttft,
                              user_id, team_id, status, **extra)


def track_quality_score(model: str, evaluator: str, score: float, trace_id: str | None = None):
    """Records a quality evaluation score (trace_id optional); returns at once, never raises."""
    reporter().track_quality_score(model, evaluator, score, trace_id=trace_id)


def flush(timeout=5.0) -> bool:
    """Sends everything queued so far; True when it was sent or dropped within `timeout` seconds."""
    return reporter().flush(timeout)


def close(timeout=5.0):
    """Flushes and stops the module-level Reporter (also done at interpreter exit)."""
    reporter().close(timeout)
