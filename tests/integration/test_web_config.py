"""--web.config.file: TLS and basic auth, with real clients.

A CA, server and client certificates are made per test class with the `openssl` CLI; curl speaks
TLS to the agent against that CA (and with client certificates for mTLS); bcrypt hashes come from
Python's crypt module (libxcrypt), at cost 4 for speed plus one `$2y$10$`. At the end, Debian's
Prometheus scrapes the agent over TLS with basic auth and a posted event is read back through
Prometheus' query API.
"""
import ctypes
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BINARY, Agent, Metrics, free_port, wait_until  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # noqa: E402  (deprecated in 3.11, still Debian 12's way to reach libxcrypt)

PROMETHEUS = os.environ.get("PROMETHEUS_BIN") or shutil.which("prometheus") or "/usr/bin/prometheus"
REALM = 'Basic realm="llm_exporter", charset="UTF-8"'
EVENT = {"model": "gpt-4o", "input_tokens": 1000, "output_tokens": 500, "latency": 0.8,
         "endpoint": "/chat", "user_id": "u1", "team_id": "t1"}


def bcrypt(password, cost=4, prefix="$2b$"):
    """A bcrypt hash from libxcrypt; salt from crypt.mksalt, prefix $2b$ or $2y$."""
    salt = crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=2 ** cost)  # "$2b$04$" + 22 characters
    return crypt.crypt(password, prefix + salt[4:])


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


class Pki:
    """A test CA with a server certificate for 127.0.0.1/localhost and a client certificate,
    plus a second, untrusted CA with a client certificate of its own."""

    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="llmx-pki-")
        self.dir = self.tmp.name
        self._ca("ca")
        self._ca("rogue-ca")
        self._leaf("server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                   "extendedKeyUsage=serverAuth\n")
        self._leaf("client", "ca", "extendedKeyUsage=clientAuth\n")
        self._leaf("rogue-client", "rogue-ca", "extendedKeyUsage=clientAuth\n")
        # A second server key, to show a key that does not match its certificate is refused.
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-out", "other.key", cwd=self.dir)

    def path(self, name):
        return os.path.join(self.dir, name)

    def _ca(self, name):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2",
                "-subj", f"/CN=llm_exporter test {name}", cwd=self.dir)

    def _leaf(self, name, ca, extensions):
        with open(self.path(f"{name}.ext"), "w", encoding="utf-8") as f:
            f.write("basicConstraints=CA:FALSE\n" + extensions)
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}",
                cwd=self.dir)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
                "-CAcreateserial", "-days", "2", "-out", f"{name}.crt",
                "-extfile", f"{name}.ext", cwd=self.dir)

    def cleanup(self):
        self.tmp.cleanup()


class CurlResult:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.stderr = proc.stderr.decode("utf-8", "replace")
        self.status = None
        self.headers = {}
        self.body = b""
        out = proc.stdout
        if self.rc == 0 and out:
            head, _, self.body = out.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            self.status = int(lines[0].split()[1])
            for line in lines[1:]:
                name, _, value = line.partition(":")
                self.headers[name.strip().lower()] = value.strip()

    def protocol(self):
        """The TLS version curl negotiated, from its verbose output: "TLSv1.3"."""
        for line in self.stderr.splitlines():
            if "SSL connection using" in line:
                return line.split("SSL connection using")[1].split("/")[0].strip()
        return None

    def __repr__(self):
        return f"CurlResult(rc={self.rc}, status={self.status}, stderr={self.stderr[-300:]!r})"


def curl(url, *args, ca=None, user=None, cert=None, data=None, headers=(), verbose=False):
    cmd = ["curl", "-sS", "--include", "--max-time", "10", "--noproxy", "*"]
    if verbose:
        cmd.append("-v")
    if ca:
        cmd += ["--cacert", ca]
    if cert:
        cmd += ["--cert", cert[0], "--key", cert[1]]
    if user:
        cmd += ["--user", user]
    for h in headers:
        cmd += ["-H", h]
    if data is not None:
        cmd += ["--data-binary", data, "-H", "Content-Type: application/json"]
    cmd += [*args, url]
    return CurlResult(subprocess.run(cmd, capture_output=True, timeout=30))


class WebAgent(Agent):
    """An agent started with a web config; every request goes through curl with these client
    settings (CA, basic auth user, client certificate)."""

    def __init__(self, web_config_text, config_dir, args=(), ca=None, user=None, cert=None,
                 tls=True):
        self.web_config = os.path.join(config_dir, f"web-{free_port()}.yml")
        with open(self.web_config, "w", encoding="utf-8") as f:
            f.write(web_config_text)
        super().__init__(args=[f"--web.config.file={self.web_config}", "--ingest.listen-unix=",
                               *args])
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.ca, self.user, self.cert = ca, user, cert

    def curl(self, path, *args, **kw):
        kw.setdefault("ca", self.ca)
        kw.setdefault("user", self.user)
        kw.setdefault("cert", self.cert)
        return curl(self.url + path, *args, **kw)

    def _ready(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"agent exited with {self.proc.returncode}: {self.log()}")
        return self.curl("/-/ready").status == 200

    def scrape(self):
        r = self.curl("/metrics")
        if r.status != 200:
            raise RuntimeError(f"/metrics answered {r!r}")
        return Metrics(r.body.decode("utf-8"))


def tls_config(pki, extra=""):
    return (f"tls_server_config:\n  cert_file: {pki.path('server.crt')}\n"
            f"  key_file: {pki.path('server.key')}\n{extra}")


def drops(m, reason):
    return m.value("llm_exporter_http_connections_dropped_total", reason=reason)


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = Pki()

    @classmethod
    def tearDownClass(cls):
        cls.pki.cleanup()

    def test_https_against_the_test_ca(self):
        with WebAgent(tls_config(self.pki), self.pki.dir, ca=self.pki.path("ca.crt")) as agent:
            r = agent.curl("/metrics", verbose=True)
            self.assertEqual(r.status, 200, r)
            self.assertIn(b"llm_exporter_build_info{", r.body)
            self.assertEqual(r.protocol(), "TLSv1.3")  # the default max_version
            self.assertIn("Listening on https://127.0.0.1:", agent.log())
            # Without the test CA the certificate is not trusted (curl exit 60).
            self.assertEqual(curl(agent.url + "/metrics").rc, 60)
            # Events over TLS count as usual.
            r = agent.curl("/v1/events", data=json.dumps(EVENT))
            self.assertEqual(r.status, 200, r)
            self.assertEqual(json.loads(r.body), {"accepted": 1, "rejected": 0, "errors": []})
            m = agent.scrape()
            self.assertEqual(m.value("llm_requests_total", model="gpt-4o", endpoint="/chat",
                                     status="success"), 1)

    def test_plain_http_on_the_tls_port_is_dropped_and_counted_without_a_warning(self):
        with WebAgent(tls_config(self.pki), self.pki.dir, ca=self.pki.path("ca.crt")) as agent:
            self.assertEqual(drops(agent.scrape(), "tls_handshake"), 0)
            r = curl(f"http://127.0.0.1:{agent.port}/metrics")
            self.assertNotEqual(r.rc, 0, r)
            self.assertIsNone(r.status)
            self.assertEqual(drops(agent.scrape(), "tls_handshake"), 1)
            self.assertNotIn("level=warn", agent.log())

    def test_min_version_tls13_refuses_a_tls12_client(self):
        config = tls_config(self.pki, "  min_version: TLS13\n")
        with WebAgent(config, self.pki.dir, ca=self.pki.path("ca.crt")) as agent:
            r = agent.curl("/-/healthy", "--tls-max", "1.2")
            self.assertEqual(r.rc, 35, r)  # CURLE_SSL_CONNECT_ERROR: no common protocol
            self.assertIn("alert protocol version", r.stderr)
            r = agent.curl("/-/healthy", "--tlsv1.3", verbose=True)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.protocol(), "TLSv1.3")
            self.assertEqual(drops(agent.scrape(), "tls_handshake"), 1)

    def test_max_version_tls12_negotiates_tls12(self):
        config = tls_config(self.pki, "  max_version: TLS12\n")
        with WebAgent(config, self.pki.dir, ca=self.pki.path("ca.crt")) as agent:
            r = agent.curl("/-/healthy", verbose=True)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.protocol(), "TLSv1.2")
            self.assertEqual(agent.curl("/-/healthy", "--tlsv1.3").rc, 35)

    def test_a_client_that_never_starts_the_handshake_is_dropped_after_the_request_timeout(self):
        with WebAgent(tls_config(self.pki), self.pki.dir, ca=self.pki.path("ca.crt"),
                      args=["--web.threads=1", "--web.request-timeout=1s"]) as agent:
            idle = socket.create_connection(("127.0.0.1", agent.port))
            started = time.monotonic()
            idle.settimeout(10)
            self.assertEqual(idle.recv(100), b"")  # closed by the agent, nothing sent
            waited = time.monotonic() - started
            idle.close()
            # The only worker was free again: a real client is served.
            self.assertEqual(agent.curl("/-/ready").status, 200)
            # civetweb closes a connection that never sent a byte without a word (as on plain
            # HTTP): there was no request, so nothing is counted.
            m = agent.scrape()
            self.assertEqual(m.sum("llm_exporter_http_connections_dropped_total"), 0)
            self.assertGreaterEqual(waited, 0.9)
            print(f"\nidle TLS connection closed after {waited:.2f}s "
                  "(--web.request-timeout=1s)", file=sys.stderr)

    def test_start_up_errors_exit_2_with_one_line(self):
        cases = [
            ("tls_server_config:\n  cert_file: x\n  key_file: y\n  cipher_suites: []\n",
             "line 4: tls_server_config.cipher_suites is an exporter-toolkit option "
             "llm_exporter does not support"),
            ("tls_srever_config: {}\n", "line 1: unknown key tls_srever_config"),
            ("basic_auth_users:\n  alice: hunter2\n",
             "line 2: basic_auth_users.alice: not a bcrypt hash ($2a$, $2b$ or $2y$, cost 04 to "
             "31, 60 characters); see docs/configuration.md to make one"),
        ]
        for text, message in cases:
            path = os.path.join(self.pki.dir, "bad.yml")
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            p = subprocess.run([BINARY, f"--web.config.file={path}", "--ingest.listen-unix=",
                                f"--web.listen-address=127.0.0.1:{free_port()}"],
                               capture_output=True, timeout=10)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertEqual(p.stderr.decode().splitlines()[-1],
                             f"llm_exporter: error: web config {path}: {message}")
        # A key that does not match its certificate: refused when civetweb sets TLS up.
        path = os.path.join(self.pki.dir, "mismatch.yml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(f"tls_server_config:\n  cert_file: server.crt\n  key_file: other.key\n")
        port = free_port()
        p = subprocess.run([BINARY, f"--web.config.file={path}", "--ingest.listen-unix=",
                            f"--web.listen-address=127.0.0.1:{port}"],
                           capture_output=True, timeout=10)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertEqual(
            p.stderr.decode().splitlines()[-1],
            f"llm_exporter: error: cannot serve TLS on 127.0.0.1:{port}: web config "
            f"tls_server_config.key_file {self.pki.path('other.key')}: "
            "error:05800074:x509 certificate routines::key values mismatch")


class ClientCertificateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = Pki()
        cls.good = (cls.pki.path("client.crt"), cls.pki.path("client.key"))
        cls.rogue = (cls.pki.path("rogue-client.crt"), cls.pki.path("rogue-client.key"))

    @classmethod
    def tearDownClass(cls):
        cls.pki.cleanup()

    def agent(self, client_auth, ca_file=True):
        extra = f"  client_auth_type: {client_auth}\n"
        if ca_file:
            extra += "  client_ca_file: ca.crt\n"  # relative: resolved against the file's dir
        return WebAgent(tls_config(self.pki, extra), self.pki.dir, ca=self.pki.path("ca.crt"),
                        cert=self.good)

    def test_require_and_verify_client_cert(self):
        with self.agent("RequireAndVerifyClientCert") as agent:
            self.assertEqual(agent.curl("/metrics").status, 200)
            # Refused in the handshake (curl's own error text races the server's alert and
            # close, so the agent's count is the evidence).
            no_cert = agent.curl("/metrics", cert=None)
            self.assertIsNone(no_cert.status, no_cert)
            self.assertNotEqual(no_cert.rc, 0)
            rogue = agent.curl("/metrics", cert=self.rogue)
            self.assertIsNone(rogue.status, rogue)
            self.assertNotEqual(rogue.rc, 0)
            m = agent.scrape()
            self.assertEqual(drops(m, "tls_handshake"), 2)
            self.assertEqual(m.value("llm_exporter_http_requests_total", handler="/metrics",
                                     code="200"), 1)

    def test_verify_client_cert_if_given(self):
        with self.agent("VerifyClientCertIfGiven") as agent:
            self.assertEqual(agent.curl("/metrics").status, 200)
            self.assertEqual(agent.curl("/metrics", cert=None).status, 200)
            rogue = agent.curl("/metrics", cert=self.rogue)
            self.assertIsNone(rogue.status, rogue)
            self.assertNotEqual(rogue.rc, 0)
            self.assertEqual(drops(agent.scrape(), "tls_handshake"), 1)

    def test_require_any_client_cert_takes_an_unverified_one(self):
        with self.agent("RequireAnyClientCert", ca_file=False) as agent:
            self.assertEqual(agent.curl("/metrics", cert=self.rogue).status, 200)
            no_cert = agent.curl("/metrics", cert=None)
            self.assertIsNone(no_cert.status, no_cert)
            self.assertNotEqual(no_cert.rc, 0)
            self.assertEqual(drops(agent.scrape(), "tls_handshake"), 1)


class BasicAuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = Pki()
        cls.users = {"alice": ("wonderland", bcrypt("wonderland")),
                     "bob": ("builder", bcrypt("builder", cost=10, prefix="$2y$"))}
        assert cls.users["bob"][1].startswith("$2y$10$"), cls.users["bob"][1]
        assert cls.users["alice"][1].startswith("$2b$04$"), cls.users["alice"][1]

    @classmethod
    def tearDownClass(cls):
        cls.pki.cleanup()

    def users_yaml(self):
        return "basic_auth_users:\n" + "".join(f"  {u}: {h}\n" for u, (_, h) in self.users.items())

    def test_tls_with_basic_auth_on_every_endpoint(self):
        with WebAgent(tls_config(self.pki) + self.users_yaml(), self.pki.dir,
                      ca=self.pki.path("ca.crt"), user="alice:wonderland") as agent:
            self.assertIn("Listening on https://127.0.0.1:", agent.log())
            self.assertIn("(basic auth required)", agent.log())
            # The right password, for a $2b$04$ and a $2y$10$ user, on every endpoint.
            for user in ("alice:wonderland", "bob:builder"):
                for path in ("/metrics", "/-/ready", "/-/healthy", "/", "/nope"):
                    r = agent.curl(path, user=user)
                    self.assertEqual(r.status, 404 if path == "/nope" else 200, (user, path, r))
            r = agent.curl("/v1/events", data=json.dumps(EVENT))
            self.assertEqual(r.status, 200, r)

            # Refusals: a 401 with the challenge, and no body read.
            refusals = [
                ("/metrics", dict(user="alice:wonderlanD"), "wrong user name or password"),
                ("/metrics", dict(user="bob:wonderland"), "wrong user name or password"),
                ("/metrics", dict(user="mallory:wonderland"), "wrong user name or password"),
                ("/-/ready", dict(user=None), "needs HTTP basic auth"),
                ("/metrics", dict(user=None, headers=["Authorization: Bearer abc"]),
                 "not Basic base64(user:password)"),
                ("/v1/events", dict(user=None, data=json.dumps(EVENT)), "needs HTTP basic auth"),
                ("/v1/events", dict(user="alice:x", data=json.dumps(EVENT)),
                 "wrong user name or password"),
                ("/-/reload", dict(user=None, data=""), "needs HTTP basic auth"),
            ]
            for path, kw, message in refusals:
                r = agent.curl(path, **kw)
                self.assertEqual(r.status, 401, (path, kw, r))
                self.assertEqual(r.headers.get("www-authenticate"), REALM)
                self.assertIn(message, r.body.decode())
                if "data" in kw:
                    # The body was not read: the connection closes after the answer.
                    self.assertEqual(r.headers.get("connection"), "close", r.headers)

            m = agent.scrape()
            failures = lambda reason: m.value("llm_exporter_http_auth_failures_total",
                                              reason=reason)
            self.assertEqual(failures("bad_credentials"), 4)
            self.assertEqual(failures("missing"), 3)
            self.assertEqual(failures("malformed"), 1)
            requests = lambda handler, code: m.value("llm_exporter_http_requests_total",
                                                     handler=handler, code=code)
            self.assertEqual(requests("/metrics", "401"), 4)
            self.assertEqual(requests("/v1/events", "401"), 2)
            self.assertEqual(requests("/-/ready", "401"), 1)
            self.assertEqual(requests("/-/reload", "401"), 1)
            self.assertEqual(requests("/v1/events", "200"), 1)
            # Only the authenticated event counted; the refused ones were never read.
            self.assertEqual(m.value("llm_exporter_events_received_total", transport="http"), 1)
            self.assertEqual(m.value("llm_requests_total", model="gpt-4o", endpoint="/chat",
                                     status="success"), 1)

    def test_basic_auth_without_tls(self):
        with WebAgent(self.users_yaml(), self.pki.dir, user="bob:builder", tls=False) as agent:
            self.assertEqual(agent.curl("/metrics").status, 200)
            self.assertEqual(agent.curl("/metrics", user="bob:x").status, 401)
            self.assertIn("Listening on http://127.0.0.1:", agent.log())
            self.assertNotIn("level=warn", agent.log())  # loopback: nothing to warn about

    def test_a_refused_post_closes_its_connection_so_its_body_is_never_parsed(self):
        """A refused POST's body is never read; the agent closes that connection, so the body
        (here a smuggled request) cannot be taken for the next request."""
        with WebAgent(tls_config(self.pki) + self.users_yaml(), self.pki.dir,
                      ca=self.pki.path("ca.crt"), user="alice:wonderland") as agent:
            context = ssl.create_default_context(cafile=self.pki.path("ca.crt"))
            smuggled = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
            with socket.create_connection(("127.0.0.1", agent.port), timeout=10) as raw:
                with context.wrap_socket(raw, server_hostname="localhost") as s:
                    s.sendall(b"POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Basic "
                              b"YWxpY2U6bm9wZQ==\r\nContent-Length: %d\r\n\r\n" % len(smuggled)
                              + smuggled)
                    data = b""
                    while True:
                        chunk = s.recv(65536)
                        if not chunk:
                            break
                        data += chunk
            self.assertTrue(data.startswith(b"HTTP/1.1 401 Unauthorized\r\n"), data)
            self.assertEqual(data.count(b"HTTP/1.1 "), 1, data)  # one answer, then closed
            m = agent.scrape()
            self.assertEqual(m.value("llm_exporter_http_requests_total", handler="/v1/events",
                                     code="401"), 1)
            self.assertIsNone(m.value("llm_exporter_http_requests_total", handler="/metrics",
                                      code="401"))


def _die_with_parent():
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class PrometheusScrapeTest(unittest.TestCase):
    """Debian's prometheus scrapes the agent over TLS (the test CA) with basic auth."""

    def test_prometheus_scrapes_through_tls_and_basic_auth(self):
        if not os.path.exists(PROMETHEUS):
            self.fail(f"{PROMETHEUS} is missing: scripts/setup.sh installs Debian's prometheus")
        pki = Pki()
        self.addCleanup(pki.cleanup)
        web = tls_config(pki) + f"basic_auth_users:\n  prometheus: {bcrypt('scrape-secret')}\n"
        with WebAgent(web, pki.dir, ca=pki.path("ca.crt"), user="prometheus:scrape-secret") as agent:
            port = free_port()
            config = os.path.join(pki.dir, "prometheus.yml")
            with open(config, "w", encoding="utf-8") as f:
                f.write(f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: llm_exporter
    scheme: https
    tls_config:
      ca_file: {pki.path('ca.crt')}
    basic_auth:
      username: prometheus
      password: scrape-secret
    static_configs:
      - targets: ["127.0.0.1:{agent.port}"]
""")
            log = open(os.path.join(pki.dir, "prometheus.log"), "wb")
            prom = subprocess.Popen(
                [PROMETHEUS, f"--config.file={config}",
                 f"--storage.tsdb.path={os.path.join(pki.dir, 'data')}",
                 f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                stdout=log, stderr=subprocess.STDOUT, cwd=pki.dir, preexec_fn=_die_with_parent)

            def stop_prometheus():
                if prom.poll() is None:
                    prom.send_signal(signal.SIGTERM)
                    try:
                        prom.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        prom.kill()
                        prom.wait()
                log.close()
            self.addCleanup(stop_prometheus)

            def query(expr):
                url = (f"http://127.0.0.1:{port}/api/v1/query?" +
                       urllib.parse.urlencode({"query": expr}))
                try:
                    with urllib.request.urlopen(url, timeout=5) as r:
                        result = json.load(r)["data"]["result"]
                except OSError:
                    return None
                return float(result[0]["value"][1]) if result else None

            wait_until(lambda: query('up{job="llm_exporter"}') == 1, timeout=60,
                       what="prometheus to scrape the agent over TLS with basic auth")
            r = agent.curl("/v1/events", data=json.dumps(EVENT))
            self.assertEqual(r.status, 200, r)
            value = wait_until(
                lambda: query('llm_requests_total{job="llm_exporter",model="gpt-4o",'
                              'endpoint="/chat",status="success"}'),
                timeout=30, what="the posted event in prometheus")
            self.assertEqual(value, 1)
            self.assertEqual(query('up{job="llm_exporter"}'), 1)
            # Every scrape authenticated: no refusal and no failed handshake on the agent.
            m = agent.scrape()
            self.assertEqual(m.sum("llm_exporter_http_auth_failures_total"), 0)
            self.assertEqual(drops(m, "tls_handshake"), 0)
            self.assertGreaterEqual(m.value("llm_exporter_http_requests_total",
                                            handler="/metrics", code="200"), 2)
            stop_prometheus()
            self.assertIsNotNone(prom.returncode)


if __name__ == "__main__":
    unittest.main()
