"""Drives the real llm_exporter binary for the integration tests.

The binary is found through $LLM_EXPORTER_BIN (set by ctest), else build/llm_exporter. Each Agent
listens on a free loopback port, logs to a file in its own temp dir, and is stopped with SIGTERM.
"""
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

SOURCE_DIR = os.environ.get(
    "LLM_EXPORTER_SOURCE_DIR",
    os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BINARY = os.environ.get("LLM_EXPORTER_BIN", os.path.join(SOURCE_DIR, "build", "llm_exporter"))


def free_port():
    """A loopback TCP port that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_bytes(pid):
    """Resident memory of process `pid`, from /proc."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def wait_until(predicate, timeout=10.0, interval=0.02, what="condition"):
    """Polls predicate until it returns a truthy value; raises TimeoutError naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def _unescape(value):
    out, i = [], 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            out.append({"n": "\n", "\\": "\\", '"': '"'}.get(nxt, "\\" + nxt))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def parse_metrics(text):
    """Parses Prometheus text format into {(name, frozenset(labels.items())): value}."""
    samples = {}
    for line in text.split("\n"):  # not splitlines(): a label value may hold CR or U+2028
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise ValueError(f"unparsable exposition line: {line!r}")
        labels = {k: _unescape(v) for k, v in _LABEL.findall(m.group(3) or "")}
        samples[(m.group(1), frozenset(labels.items()))] = float(m.group(4))
    return samples


class Metrics:
    """One parsed scrape; value() looks up a sample by name and exact label set."""

    def __init__(self, text):
        self.text = text
        self.samples = parse_metrics(text)

    def value(self, name, **labels):
        """The sample's value, or None when no sample has exactly these labels."""
        return self.samples.get((name, frozenset(labels.items())))

    def sum(self, name, **match):
        """Sum over every sample of `name` whose labels include `match`."""
        total = 0.0
        for (n, labels), v in self.samples.items():
            if n == name and set(match.items()) <= labels:
                total += v
        return total

    def series(self, name):
        """The label dicts of every sample named `name`."""
        return [dict(labels) for (n, labels) in self.samples if n == name]


class Response:
    def __init__(self, status, body, headers):
        self.status = status
        self.body = body
        self.headers = headers

    def json(self):
        return json.loads(self.body)


class Agent:
    """A running llm_exporter. Use as a context manager; args are extra command-line flags."""

    def __init__(self, args=(), port=None, env=None):
        self.port = port or free_port()
        self.tmp = tempfile.TemporaryDirectory(prefix="llmx-")
        self.log_path = os.path.join(self.tmp.name, "agent.log")
        self.args = [BINARY, f"--web.listen-address=127.0.0.1:{self.port}", *args]
        # Under the sanitizers each thread carries shadow state: the default 1536 HTTP workers
        # would make every start slow and heavy. Tests that need many workers say so.
        if os.environ.get("LLM_EXPORTER_SANITIZE") and not any(
                a.startswith("--web.threads") for a in args):
            self.args.append("--web.threads=64")
        self.env = dict(os.environ, **(env or {}))
        self.proc = None
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type, *exc):
        code = self.stop()
        log = self.log()
        self.tmp.cleanup()
        # A clean SIGTERM exits 0; anything else (a sanitizer report, a crash) fails the test.
        if code != 0 and exc_type is None:
            raise AssertionError(f"agent exited with {code}; log:\n{log[-4000:]}")

    def start(self):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args, stdout=self._log, stderr=subprocess.STDOUT,
                                     env=self.env)
        wait_until(self._ready, timeout=10, what=f"agent on port {self.port} to be ready "
                   f"(log: {self.log()!r})")

    def _ready(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"agent exited with {self.proc.returncode}: {self.log()}")
        try:
            return self.get("/-/ready").status == 200
        except OSError:
            return False

    def stop(self, timeout=10):
        """SIGTERM, then wait; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        self._log.close()
        code = self.proc.returncode
        return code

    def log(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def request(self, method, path, body=None, headers=None, timeout=10):
        data = body.encode() if isinstance(body, str) else body
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return Response(r.status, r.read(), dict(r.headers))
        except urllib.error.HTTPError as e:
            return Response(e.code, e.read(), dict(e.headers))

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=b"", **kw):
        return self.request("POST", path, body=body, **kw)

    def post_events(self, body, content_type="application/json"):
        """POSTs to /v1/events; body may be bytes/str or any JSON-serialisable value."""
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        return self.post("/v1/events", body, headers={"Content-Type": content_type})

    def scrape(self):
        r = self.get("/metrics")
        if r.status != 200:
            raise RuntimeError(f"/metrics answered {r.status}: {r.body!r}")
        return Metrics(r.body.decode("utf-8"))

    def reload(self):
        return self.post("/-/reload")


def short_temp_dir():
    """A new directory under /tmp with a short name, for unix socket paths (at most 107 bytes).
    The caller removes it (shutil.rmtree)."""
    return tempfile.mkdtemp(prefix="llmx", dir="/tmp")


def free_udp_port():
    """A loopback UDP port that nothing is bound to right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_log(agent, text, timeout=10.0):
    """Waits until the agent's log contains `text` (e.g. a listener's "Listening ..." line)."""
    return wait_until(lambda: text in agent.log(), timeout=timeout,
                      what=f"{text!r} in the agent's log")
