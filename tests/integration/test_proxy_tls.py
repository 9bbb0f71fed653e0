"""The metering proxy with TLS on either side, driving the real binary.

An HTTPS upstream (Python's http.server behind ssl, with a certificate of the test CA of
test_web_config.Pki) is reached through the proxy three ways: with the CA in the upstream's
tls.ca_file (verified), without it (a TLS failure: 502, counted as `tls`), and with
insecure_skip_verify. Then the agent serves HTTPS itself (web config) with basic auth, and a TLS
client that authenticates with Proxy-Authorization hangs up mid-stream: the upstream must see its
connection go, and the call count as cancelled. The tests/transport/proxy C++ tests cover the
relay itself over plain sockets.

    LLM_EXPORTER_BIN=build/llm_exporter python3 tests/integration/test_proxy_tls.py
"""
import base64
import http.server
import json
import os
import socket
import ssl
import sys
import tempfile
import threading
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from harness import Agent, Metrics, wait_until  # noqa: E402
from test_web_config import Pki, WebAgent, bcrypt, tls_config  # noqa: E402

ANSWER = json.dumps({
    "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-2024-08-06",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}}).encode()
FIRST_EVENT = (b'data: {"id":"c","object":"chat.completion.chunk","model":"gpt-4o-2024-08-06",'
               b'"choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}\n\n')


class TlsUpstream:
    """An HTTPS OpenAI-like upstream on 127.0.0.1: a whole answer, or for a streamed request one
    event and then silence until the client (the proxy) closes the connection."""

    def __init__(self, pki):
        self.closed = threading.Event()
        upstream = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if body.get("stream"):
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(FIRST_EVENT), FIRST_EVENT))
                    self.wfile.flush()
                    # Silence, as a model thinking: only a hang-up ends this.
                    self.connection.settimeout(10)
                    try:
                        while self.connection.recv(4096):
                            pass
                        upstream.closed.set()
                    except OSError:
                        pass
                    self.close_connection = True
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(ANSWER)))
                self.end_headers()
                self.wfile.write(ANSWER)

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pki.path("server.crt"), pki.path("server.key"))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def proxy_config(directory, upstreams):
    path = os.path.join(directory, "proxy.yml")
    with open(path, "w", encoding="utf-8") as f:
        f.write("upstreams:\n")
        for name, url, tls in upstreams:
            f.write(f"  - name: {name}\n    kind: openai\n    url: {url}\n")
            if tls:
                f.write(f"    tls:\n{tls}")
    return path


def chat(agent, upstream):
    return agent.post(f"/proxy/{upstream}/v1/chat/completions",
                      json.dumps({"model": "gpt-4o", "messages": []}),
                      headers={"Content-Type": "application/json",
                               "Authorization": "Bearer sk-test"})


class UpstreamTlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = Pki()
        cls.upstream = TlsUpstream(cls.pki)

    @classmethod
    def tearDownClass(cls):
        cls.upstream.stop()
        cls.pki.cleanup()

    def test_verified_unverified_and_skipped(self):
        config = proxy_config(self.pki.dir, [
            ("verified", self.upstream.url, f"      ca_file: {self.pki.path('ca.crt')}\n"),
            ("untrusted", self.upstream.url, None),
            ("skipped", self.upstream.url, "      insecure_skip_verify: true\n"),
        ])
        with Agent(["--ingest.listen-unix=", f"--proxy.config.file={config}"]) as agent:
            r = chat(agent, "verified")
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual(r.body, ANSWER)

            # The test CA is not among the system's: the handshake fails, before any answer.
            r = chat(agent, "untrusted")
            self.assertEqual(r.status, 502)
            error = r.json()["error"]
            self.assertEqual(error["type"], "proxy_error")
            self.assertEqual(error["code"], "upstream_unreachable")
            self.assertTrue(error["message"].startswith(
                'the proxy could not reach upstream "untrusted": '), error["message"])

            r = chat(agent, "skipped")
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual(r.body, ANSWER)

            m = wait_until(lambda: (lambda m: m if m.sum("llm_proxy_requests_total") == 3
                                    else None)(agent.scrape()), what="three proxied calls")
            for upstream, model, outcome in [("verified", "gpt-4o-2024-08-06", "ok"),
                                             ("untrusted", "gpt-4o", "unreachable"),
                                             ("skipped", "gpt-4o-2024-08-06", "ok")]:
                self.assertEqual(m.value("llm_proxy_requests_total", upstream=upstream,
                                         model=model, outcome=outcome), 1, upstream)
            for upstream, tls_failures in [("verified", 0), ("untrusted", 1), ("skipped", 0)]:
                self.assertEqual(m.value("llm_exporter_proxy_upstream_failures_total",
                                         upstream=upstream, reason="tls"), tls_failures)
                self.assertEqual(m.value("llm_exporter_proxy_upstream_failures_total",
                                         upstream=upstream, reason="connect"), 0)
            self.assertEqual(m.sum("llm_tokens_total", model="gpt-4o-2024-08-06"), 2 * 17)

    def test_a_tls_client_that_hangs_up_mid_stream_ends_the_upstream_request(self):
        config = proxy_config(self.pki.dir, [
            ("openai", self.upstream.url, f"      ca_file: {self.pki.path('ca.crt')}\n")])
        web = tls_config(self.pki, f"basic_auth_users:\n  app: {bcrypt('secret')}\n")
        self.upstream.closed.clear()
        with WebAgent(web, self.pki.dir, args=[f"--proxy.config.file={config}"],
                      ca=self.pki.path("ca.crt"), user="app:secret") as agent:
            context = ssl.create_default_context(cafile=self.pki.path("ca.crt"))
            raw = socket.create_connection(("127.0.0.1", agent.port), timeout=10)
            client = context.wrap_socket(raw, server_hostname="127.0.0.1")
            body = json.dumps({"model": "gpt-4o", "stream": True, "messages": []}).encode()
            auth = base64.b64encode(b"app:secret").decode()
            client.sendall(b"POST /proxy/openai/v1/chat/completions HTTP/1.1\r\nHost: a\r\n"
                           b"Proxy-Authorization: Basic " + auth.encode() + b"\r\n"
                           b"Content-Type: application/json\r\n"
                           b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            received = b""
            while b'"Hel"' not in received:
                chunk = client.recv(65536)
                self.assertTrue(chunk, received)
                received += chunk
            self.assertTrue(received.startswith(b"HTTP/1.1 200 "), received)
            client.close()
            self.assertTrue(self.upstream.closed.wait(5),
                            "the upstream's connection stayed open after the client hung up")
            m = wait_until(lambda: (lambda m: m if m.sum("llm_proxy_requests_total") == 1
                                    else None)(agent.scrape()), what="the cancelled call")
            self.assertEqual(m.value("llm_proxy_requests_total", upstream="openai",
                                     model="gpt-4o-2024-08-06", outcome="cancelled"), 1)
            self.assertEqual(m.value("llm_exporter_http_requests_total", handler="/proxy/",
                                     code="200"), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
