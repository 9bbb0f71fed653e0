"""Start-up: no request is answered before its route exists, and a start-up failure names its
cause on the final line.

Clients connect from the first instant the port accepts: each spins on connect() while the
agent starts, then posts one event. Every answer must be 200 (never a 404 from a route not yet
registered), and every event must be counted, over several starts.
"""
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BINARY, Agent, free_port, wait_until  # noqa: E402

SANITIZED = bool(os.environ.get("LLM_EXPORTER_SANITIZE"))
STARTS = 6
CLIENTS = 40  # per start: 240 posts from the first instant, over six starts
EVENT = (b'{"model":"gpt-4o","endpoint":"/race","input_tokens":1,"output_tokens":1,'
         b'"latency":0.1}')
REQUEST = (b"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           b"Connection: close\r\nContent-Length: " + str(len(EVENT)).encode() + b"\r\n\r\n" +
           EVENT)


def post_as_soon_as_it_accepts(port, give_up_at, statuses, lock):
    """Connects in a tight loop until the port accepts, then posts one event at once."""
    while time.monotonic() < give_up_at:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            s.close()
            continue
        try:
            s.settimeout(30)
            s.sendall(REQUEST)
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else data
        except OSError as e:
            status = f"error: {e}"
        finally:
            s.close()
        with lock:
            statuses.append(status)
        return
    with lock:
        statuses.append("never connected")


class StartUpRaceTest(unittest.TestCase):
    def test_posts_from_the_first_instant_are_all_served_and_counted(self):
        args = ["--ingest.listen-unix="]
        if SANITIZED:
            args.append("--web.threads=64")
        for start in range(STARTS):
            port = free_port()
            statuses, lock = [], threading.Lock()
            give_up_at = time.monotonic() + 30
            clients = [threading.Thread(target=post_as_soon_as_it_accepts,
                                        args=(port, give_up_at, statuses, lock))
                       for _ in range(CLIENTS)]
            for c in clients:
                c.start()
            with Agent(args=args, port=port) as agent:
                for c in clients:
                    c.join()
                self.assertEqual(statuses, [200] * CLIENTS,
                                 f"start {start}: every early post is served")
                metrics = agent.scrape()
                self.assertEqual(
                    metrics.value("llm_requests_total", model="gpt-4o", endpoint="/race",
                                  status="success"), CLIENTS, f"start {start}: events counted")
                self.assertEqual(
                    metrics.value("llm_exporter_http_requests_total", handler="/v1/events",
                                  code="200"), CLIENTS)
                self.assertEqual(metrics.sum("llm_exporter_http_requests_total", code="404"), 0)


class StartUpFailureTest(unittest.TestCase):
    def test_a_port_in_use_is_named_on_the_final_line(self):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            run = subprocess.run([BINARY, f"--web.listen-address=127.0.0.1:{port}",
                                  "--ingest.listen-unix=", "--web.threads=4"],
                                 capture_output=True, text=True, timeout=60)
        self.assertEqual(run.returncode, 2, run.stderr)
        lines = run.stderr.strip().splitlines()
        self.assertEqual(
            lines[-1],
            f"llm_exporter: error: cannot listen on 127.0.0.1:{port}: Address already in use "
            "(another program, or another llm_exporter, listens there; choose another port "
            "with --web.listen-address)")
        # Nothing but the start line comes before it: civetweb's own lines are not repeated.
        self.assertEqual(len(lines), 2, run.stderr)
        self.assertIn('msg="Starting llm_exporter', lines[0])

    def test_a_bad_remote_write_config_stops_the_agent_before_it_listens(self):
        with tempfile.TemporaryDirectory() as tmp:
            config = os.path.join(tmp, "rw.yml")
            with open(config, "w", encoding="utf-8") as f:
                f.write("remote_write:\n  - url: http://127.0.0.1:9/api/v1/write\n"
                        "    send_interval: 15\n")
            port = free_port()
            run = subprocess.run([BINARY, f"--web.listen-address=127.0.0.1:{port}",
                                  "--ingest.listen-unix=", "--web.threads=4",
                                  f"--remote-write.config.file={config}"],
                                 capture_output=True, text=True, timeout=60)
            self.assertEqual(run.returncode, 2, run.stderr)
            self.assertEqual(
                run.stderr.strip().splitlines()[-1],
                f"llm_exporter: error: remote write config {config}: line 3: remote_write[0]: "
                'send_interval: "15" is not a duration like 500ms, 15s, 1m or 2h')
            self.assertNotIn("Listening on", run.stderr)


    def test_a_bad_proxy_config_stops_the_agent_before_it_listens(self):
        with tempfile.TemporaryDirectory() as tmp:
            config = os.path.join(tmp, "proxy.yml")
            with open(config, "w", encoding="utf-8") as f:
                f.write("upstreams:\n  - {name: openai, kind: gemini, url: https://x.example}\n")
            port = free_port()
            run = subprocess.run([BINARY, f"--web.listen-address=127.0.0.1:{port}",
                                  "--ingest.listen-unix=", "--web.threads=4",
                                  f"--proxy.config.file={config}"],
                                 capture_output=True, text=True, timeout=60)
            self.assertEqual(run.returncode, 2, run.stderr)
            self.assertTrue(run.stderr.strip().splitlines()[-1].startswith(
                f"llm_exporter: error: proxy config {config}: line 2: upstreams[0]: kind must be "
                "openai"), run.stderr)
            self.assertNotIn("Listening on", run.stderr)


class CheckConfigTest(unittest.TestCase):
    """--check-config loads every file the flags name and exits, listening nowhere."""

    def test_good_files_exit_0_and_say_what_was_loaded(self):
        with tempfile.TemporaryDirectory() as tmp:
            config = os.path.join(tmp, "rw.yml")
            with open(config, "w", encoding="utf-8") as f:
                f.write("remote_write:\n  - url: http://127.0.0.1:9/api/v1/write\n"
                        "  - url: https://mimir.example/api/v1/push\n"
                        "    headers: {X-Scope-OrgID: team-a}\n")
            run = subprocess.run([BINARY, "--check-config", f"--remote-write.config.file={config}"],
                                 capture_output=True, text=True, timeout=60)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(run.stdout,
                         "llm_exporter: config OK: price table built-in (3 models), budgets none, "
                         f"web config none, remote write {config} (2 targets), proxy none\n")

    def test_a_proxy_config_is_checked_too(self):
        with tempfile.TemporaryDirectory() as tmp:
            config = os.path.join(tmp, "proxy.yml")
            with open(config, "w", encoding="utf-8") as f:
                f.write("upstreams:\n  - {name: openai, kind: openai, url: https://api.openai.com}\n")
            run = subprocess.run([BINARY, "--check-config", f"--proxy.config.file={config}"],
                                 capture_output=True, text=True, timeout=60)
            self.assertEqual(run.returncode, 0, run.stderr)
            self.assertEqual(run.stdout,
                             "llm_exporter: config OK: price table built-in (3 models), budgets "
                             f"none, web config none, remote write none, proxy {config} (1 upstream)\n")
            with open(config, "w", encoding="utf-8") as f:
                f.write("upstreams:\n  - name: openai\n    url: https://api.openai.com\n")
            run = subprocess.run([BINARY, "--check-config", f"--proxy.config.file={config}"],
                                 capture_output=True, text=True, timeout=60)
        self.assertEqual(run.returncode, 2)
        self.assertEqual(run.stderr,
                         f"llm_exporter: error: proxy config {config}: line 2: upstreams[0]: "
                         "kind is required: openai or anthropic\n")
        self.assertEqual(run.stdout, "")

    def test_a_bad_file_exits_2_naming_it(self):
        with tempfile.TemporaryDirectory() as tmp:
            pricing = os.path.join(tmp, "prices.json")
            with open(pricing, "w", encoding="utf-8") as f:
                f.write("{")
            run = subprocess.run([BINARY, "--check-config", f"--pricing.file={pricing}"],
                                 capture_output=True, text=True, timeout=60)
        self.assertEqual(run.returncode, 2, run.stderr)
        self.assertIn(f"llm_exporter: error: pricing file {pricing}", run.stderr)
        self.assertEqual(run.stdout, "")


if __name__ == "__main__":
    unittest.main()
