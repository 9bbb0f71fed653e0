"""Slow and stalled HTTP clients against --web.request-timeout, --web.keep-alive-timeout and
--web.threads (the most connections served at once).

What civetweb 1.15 does, as these tests show: every connection is accepted and queued; the
--web.threads workers take them in arrival order, and a worker waits at most
--web.request-timeout for a request's headers (a total deadline: trickling bytes does not extend
it). A connection beyond the thread count is therefore not refused but waits its turn, and a
stalled client holds one worker for one request timeout. The agent answers a timed-out request
with 408 and counts it as llm_exporter_http_connections_dropped_total{reason="request_timeout"}.
"""
import os
import select
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Agent  # noqa: E402

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
