"""Slow and stalled HTTP clients against --web.request-timeout, --web.keep-alive-timeout and
--web.threads (the most connections served at once).

What civetweb 1.15 does, as these tests show: every connection is accepted and queued; the
--web.threads workers take them in arrival order, and a worker waits at most
--web.request-timeout for a request's headers (a total deadline: trickling bytes does not extend
it). A connection beyond the thread count is therefore not refused but waits its turn, and a
stalled client holds one worker for one request timeout. The agent answers a timed-out request
with 408 and counts it as llm_exporter_http_connections_dropped_total{reason="request_timeout"}.
A body has the same time again after its headers; one trickled in or never sent is cut off then
with 408, reason="body_timeout". With the default 1536 workers, 1,200 stalled connections leave
a scrape and a post on fresh connections answered at once.
"""
import os
import resource
import select
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Agent, rss_bytes  # noqa: E402

THREADS = 2
TIMEOUT_ARGS = [f"--web.threads={THREADS}", "--web.request-timeout=1s", "--ingest.listen-unix="]
TIMEOUT_BODY = (b"408 request timeout: the request's headers did not arrive within 1000 ms "
                b"(--web.request-timeout)\n")


def read_all(sock, timeout=15):
    sock.settimeout(timeout)
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def read_response(sock, timeout=5):
    """One response from a connection that stays open: headers, then Content-Length bytes."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += sock.recv(65536)
    return head, body


def split_response(data):
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0], body


def dropped(metrics, reason):
    return metrics.value("llm_exporter_http_connections_dropped_total", reason=reason)


SANITIZED = bool(os.environ.get("LLM_EXPORTER_SANITIZE"))


class ManyStalledClientsTest(unittest.TestCase):
    """1,000 connections stalled mid-headers and 200 mid-body, at the default --web.threads.

    Under the sanitizers a tenth of the load and of the workers: their per-thread shadow memory
    would swamp the figures, and the memory bound is not asserted there."""

    HEADERS = 100 if SANITIZED else 1000
    BODIES = 20 if SANITIZED else 200
    ARGS = ["--ingest.listen-unix=", "--web.request-timeout=6s"] + (
        ["--web.threads=160"] if SANITIZED else [])

    def setUp(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = self.HEADERS + self.BODIES + 256
        if soft < wanted:
            if hard != resource.RLIM_INFINITY and hard < wanted:
                self.skipTest(f"needs {wanted} open files, the hard limit is {hard}")
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))

    def answer_time(self, agent, request):
        """Seconds from connect to the first byte of the answer, and the status line."""
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", agent.port), timeout=30) as s:
            s.sendall(request)
            data = read_all(s, timeout=30)
        return time.monotonic() - started, data.split(b"\r\n", 1)[0], data

    def test_a_scrape_and_a_post_are_answered_while_stalled_clients_hold_connections(self):
        event = (b'{"model":"gpt-4o","endpoint":"/fresh","input_tokens":3,"output_tokens":2,'
                 b'"latency":0.2}')
        post = (b"POST /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                b"Content-Length: " + str(len(event)).encode() + b"\r\n\r\n" + event)
        scrape = b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        with Agent(args=self.ARGS) as agent:
            rss_before = rss_bytes(agent.proc.pid)
            stalled_headers, silent_bodies, trickled_bodies = [], [], []
            for _ in range(self.HEADERS):
                s = socket.create_connection(("127.0.0.1", agent.port))
                s.sendall(b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Le")
                stalled_headers.append(s)
            for i in range(self.BODIES):
                s = socket.create_connection(("127.0.0.1", agent.port))
                s.sendall(b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"
                          b"\r\n[")
                (silent_bodies if i % 2 else trickled_bodies).append(s)
            stalled_at = time.monotonic()

            # One byte a second on half the bodies while the fresh requests go in.
            def trickle_once():
                for s in trickled_bodies:
                    try:
                        s.send(b" ")
                    except OSError:
                        pass
            trickle_once()
            time.sleep(1)
            trickle_once()
            scrape_took, scrape_status, _ = self.answer_time(agent, scrape)
            post_took, post_status, post_answer = self.answer_time(agent, post)
            rss_stalled = rss_bytes(agent.proc.pid)
            self.assertEqual(scrape_status, b"HTTP/1.1 200 OK")
            self.assertEqual(post_status, b"HTTP/1.1 200 OK", post_answer)
            self.assertLess(scrape_took, 1.0)
            self.assertLess(post_took, 1.0)
            if not SANITIZED:
                self.assertLess(rss_stalled - rss_before, 64 << 20)

            # Keep trickling: each stalled connection is closed at its deadline with a 408.
            while time.monotonic() - stalled_at < 8:
                trickle_once()
                time.sleep(1)
            for s in stalled_headers:
                self.assertEqual(split_response(read_all(s))[0], b"HTTP/1.1 408 Request Timeout")
                s.close()
            for s in silent_bodies + trickled_bodies:
                status, body = split_response(read_all(s))
                s.close()
                self.assertEqual(status, b"HTTP/1.1 408 Request Timeout")
                self.assertIn(b"did not all arrive within 6000 ms of its headers", body)

            m = agent.scrape()
            self.assertEqual(dropped(m, "request_timeout"), self.HEADERS)
            self.assertEqual(dropped(m, "body_timeout"), self.BODIES)
            self.assertEqual(m.value("llm_exporter_http_requests_total", handler="/v1/events",
                                     code="408"), self.BODIES)
            self.assertEqual(m.value("llm_requests_total", model="gpt-4o", endpoint="/fresh",
                                     status="success"), 1)
            self.assertEqual(m.sum("llm_requests_total"), 1)  # no stalled body counted
            print(f"\n{self.HEADERS} connections stalled mid-headers and {self.BODIES} mid-body "
                  f"(half trickling a byte a second): scrape answered in {scrape_took:.3f}s, "
                  f"post in {post_took:.3f}s; RSS {rss_before / 2**20:.1f} -> "
                  f"{rss_stalled / 2**20:.1f} MiB while stalled", file=sys.stderr)


class StalledClientsTest(unittest.TestCase):
    def test_stalled_connections_time_out_and_the_agent_serves_again(self):
        with Agent(args=TIMEOUT_ARGS) as agent:
            # Twice as many stalled clients as workers, each with half a request line.
            stalled = []
            for _ in range(2 * THREADS):
                s = socket.create_connection(("127.0.0.1", agent.port))
                s.sendall(b"GET /-/rea")
                stalled.append(s)
            time.sleep(0.05)  # let them arrive first
            started = time.monotonic()
            r = agent.get("/-/ready", timeout=15)  # queued behind them
            waited = time.monotonic() - started
            self.assertEqual(r.status, 200)
            self.assertEqual(r.body, b"llm_exporter is Ready.\n")
            # It could only be served once a worker was freed by a timeout.
            self.assertGreaterEqual(waited, 0.9)

            # Every stalled client, the ones beyond --web.threads included, was accepted, waited
            # its turn and got a 408: none was refused.
            for s in stalled:
                status, body = split_response(read_all(s))
                s.close()
                self.assertEqual(status, b"HTTP/1.1 408 Request Timeout")
                self.assertEqual(body, TIMEOUT_BODY)

            m = agent.scrape()
            self.assertEqual(dropped(m, "request_timeout"), 2 * THREADS)
            self.assertEqual(m.value("llm_exporter_http_requests_total", handler="other",
                                     code="408"), 2 * THREADS)
            self.assertEqual(dropped(m, "malformed_request"), 0)
            print(f"\n{2 * THREADS} stalled clients on {THREADS} workers with a 1s request "
                  f"timeout: a normal request queued behind them was answered after "
                  f"{waited:.2f}s", file=sys.stderr)

    def test_trickling_headers_do_not_extend_the_deadline(self):
        with Agent(args=TIMEOUT_ARGS) as agent:
            s = socket.create_connection(("127.0.0.1", agent.port))
            s.sendall(b"GET /-/ready HTTP/1.1\r\nX-Slow: ")
            started = time.monotonic()
            trickled = 0
            answer = b""
            # One byte every 0.2s would take 20s for 100 bytes; the agent must cut it short.
            while trickled < 100 and not answer:
                try:
                    s.sendall(b"a")
                except OSError:
                    break
                trickled += 1
                readable, _, _ = select.select([s], [], [], 0.2)
                if readable:
                    answer = read_all(s)
            s.close()
            elapsed = time.monotonic() - started
            self.assertEqual(split_response(answer)[0], b"HTTP/1.1 408 Request Timeout")
            self.assertLess(trickled, 100)
            self.assertEqual(dropped(agent.scrape(), "request_timeout"), 1)
            print(f"\na client trickling a header byte every 0.2s got 408 after {elapsed:.2f}s "
                  f"({trickled} bytes)", file=sys.stderr)

    def test_malformed_and_oversized_requests_are_answered_and_counted(self):
        with Agent(args=TIMEOUT_ARGS) as agent:
            s = socket.create_connection(("127.0.0.1", agent.port))
            s.sendall(b"\x16\x03\x01 not http\r\n\r\n")
            status, _ = split_response(read_all(s))
            s.close()
            self.assertEqual(status, b"HTTP/1.0 400 Bad Request")

            # Headers above civetweb's 16 KiB request buffer: civetweb 1.15 answers 400 too.
            s = socket.create_connection(("127.0.0.1", agent.port))
            s.sendall(b"GET /-/ready HTTP/1.1\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
            status, body = split_response(read_all(s))
            s.close()
            self.assertEqual(status, b"HTTP/1.0 400 Bad Request")
            self.assertEqual(body, b"Error 400: Bad Request\nMalformed message")

            m = agent.scrape()
            self.assertEqual(dropped(m, "malformed_request"), 2)
            self.assertEqual(dropped(m, "request_timeout"), 0)
            self.assertEqual(m.value("llm_exporter_http_requests_total", handler="other",
                                     code="400"), 2)

    def test_an_idle_keep_alive_connection_is_closed_after_the_keep_alive_timeout(self):
        with Agent(args=[*TIMEOUT_ARGS, "--web.keep-alive-timeout=1s"]) as agent:
            s = socket.create_connection(("127.0.0.1", agent.port))
            s.sendall(b"GET /-/ready HTTP/1.1\r\nHost: x\r\n\r\n")
            head, body = read_response(s)
            self.assertTrue(head.startswith(b"HTTP/1.1 200 OK\r\n"), head)
            self.assertIn(b"Connection: keep-alive", head)
            self.assertEqual(body, b"llm_exporter is Ready.\n")
            started = time.monotonic()
            rest = read_all(s, timeout=10)  # the agent closes the idle connection
            idle = time.monotonic() - started
            s.close()
            self.assertEqual(rest, b"")
            self.assertGreaterEqual(idle, 0.9)
            # Closing an idle connection is normal: nothing was dropped.
            self.assertEqual(agent.scrape().sum("llm_exporter_http_connections_dropped_total"), 0)
            print(f"\nidle keep-alive connection closed after {idle:.2f}s "
                  "(--web.keep-alive-timeout=1s)", file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
