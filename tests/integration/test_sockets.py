"""The socket transports end to end: NDJSON over a unix stream socket, datagrams over a unix
datagram socket and UDP, against the real binary. Many concurrent clients and concurrent scrapes
must give exactly the totals that were sent; over-long input is rejected and counted while its
neighbours count; socket files are created with their mode, replaced when stale, refused when
they are not sockets, and removed on exit.

    LLM_EXPORTER_BIN=build/llm_exporter python3 tests/integration/test_sockets.py
"""
import collections
import json
import os
import random
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BINARY, Agent, free_port, free_udp_port, short_temp_dir,  # noqa: E402
                     wait_for_log, wait_until)

# The built-in price table, in pico-dollars per 1,000 tokens (input, output); the agent rounds
# each call's cost half up to a whole pico-dollar and sums those exactly.
PICO_PER_1K = {"gpt-4o": (2_500_000_000, 10_000_000_000),
               "gpt-4o-mini": (150_000_000, 600_000_000)}

WRITERS = 8
EVENTS_PER_WRITER = 5_000


class Ledger:
    """What a test sent, summed by the label sets under which the agent must expose it."""

    def __init__(self):
        self.events = 0
        self.requests = collections.Counter()  # (model, endpoint, status)
        self.tokens = collections.Counter()    # (model, direction)
        self.cost_pico = collections.Counter()  # (model, user_id, team_id)

    def event(self, k):
        """Event number k (deterministic), recorded as sent; returns its JSON text."""
        model = ("gpt-4o", "gpt-4o-mini")[k % 2]
        endpoint, status = f"/e{k % 3}", ("error" if k % 5 == 0 else "success")
        user, team = f"u{k % 4}", f"t{k % 3}"
        tokens_in, tokens_out = 100 + k % 17, 10 + k % 13
        self.events += 1
        self.requests[(model, endpoint, status)] += 1
        self.tokens[(model, "input")] += tokens_in
        self.tokens[(model, "output")] += tokens_out
        rate_in, rate_out = PICO_PER_1K[model]
        self.cost_pico[(model, user, team)] += (tokens_in * rate_in + tokens_out * rate_out + 500) // 1000
        return json.dumps({"model": model, "endpoint": endpoint, "status": status,
                           "input_tokens": tokens_in, "output_tokens": tokens_out,
                           "latency": 0.25, "user_id": user, "team_id": team},
                          separators=(",", ":"))

    def add(self, other):
        self.events += other.events
        self.requests.update(other.requests)
        self.tokens.update(other.tokens)
        self.cost_pico.update(other.cost_pico)

    def check(self, test, m):
        """Every LLM series and sum of the scrape `m` equals what was sent, exactly."""
        for (model, endpoint, status), n in self.requests.items():
            test.assertEqual(m.value("llm_requests_total", model=model, endpoint=endpoint,
                                     status=status), n, (model, endpoint, status))
        test.assertEqual(m.sum("llm_requests_total"), self.events)
        for (model, direction), n in self.tokens.items():
            test.assertEqual(m.value("llm_tokens_total", model=model, direction=direction), n)
        test.assertEqual(m.sum("llm_tokens_total"), sum(self.tokens.values()))
        for (model, user, team), pico in self.cost_pico.items():
            # Both sides divide the exact integer total once, so the doubles are equal.
            test.assertEqual(m.value("llm_cost_usd_total", model=model, user_id=user, team_id=team),
                             pico / 10**12, (model, user, team))
        test.assertEqual(len(m.series("llm_cost_usd_total")), len(self.cost_pico))
        test.assertEqual(m.sum("llm_request_duration_seconds_count"), self.events)


def accepted(m, transport):
    return m.value("llm_exporter_events_accepted_total", transport=transport)


def rejected(m, transport, reason):
    return m.value("llm_exporter_events_rejected_total", transport=transport, reason=reason)


class ScrapeLoop(threading.Thread):
    """Scrapes /metrics over and over while clients send; every scrape must parse, and no
    transport's accepted count may ever go down."""

    def __init__(self, agent, transport):
        super().__init__(daemon=True)
        self.agent, self.transport = agent, transport
        self.done = threading.Event()
        self.scrapes, self.errors = 0, []

    def run(self):
        last = 0.0
        while not self.done.is_set():
            try:
                value = accepted(self.agent.scrape(), self.transport)
                if value < last:
                    self.errors.append(f"accepted went down from {last} to {value}")
                last = value
                self.scrapes += 1
            except Exception as e:  # noqa: BLE001 - reported by the test
                self.errors.append(repr(e))

    def stop(self):
        self.done.set()
        self.join(timeout=30)


def run_concurrently(target, count):
    """Runs target(i) for i in range(count) on as many threads; re-raises the first failure."""
    failures = []

    def wrapped(i):
        try:
            target(i)
        except BaseException as e:  # noqa: BLE001
            failures.append(e)

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise failures[0]


def send_datagram(sock, payload, address=None):
    """sendto() that waits out a full unix datagram queue (the agent reads it soon)."""
    while True:
        try:
            return sock.sendto(payload, address) if address else sock.send(payload)
        except BlockingIOError:
            time.sleep(0.0005)


class SocketTestCase(unittest.TestCase):
    def setUp(self):
        self.dir = short_temp_dir()
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def run_agent_expecting_failure(self, *args):
        """Runs the binary with `args`; returns (exit code, stderr) once it exits."""
        run = subprocess.run([BINARY, f"--web.listen-address=127.0.0.1:{free_port()}", *args],
                             capture_output=True, text=True, timeout=30)
        return run.returncode, run.stderr

    def send_while_scraping(self, agent, transport, send, senders, total, ledgers, what,
                            require_scrapes=True):
        """Runs `send` on `senders` threads while another thread scrapes; waits until `total`
        events are accepted over `transport`, checks the totals against the ledgers, and
        returns the last scrape."""
        scraper = ScrapeLoop(agent, transport)
        scraper.start()
        run_concurrently(send, senders)
        wait_until(lambda: accepted(agent.scrape(), transport) == total, timeout=30,
                   what=f"{total} events accepted over {what}")
        scraper.stop()
        self.assertEqual(scraper.errors, [])
        if require_scrapes:
            self.assertGreater(scraper.scrapes, 0)
        m = agent.scrape()
        sent = Ledger()
        for ledger in ledgers:
            sent.add(ledger)
        sent.check(self, m)
        self.assertEqual(m.value("llm_exporter_events_received_total", transport=transport), total)
        return m


class UnixStreamTest(SocketTestCase):
    def test_concurrent_clients_and_scrapes_count_exactly(self):
        path = self.path("s.sock")
        with Agent(args=[f"--ingest.listen-unix={path}"]) as agent:
            wait_for_log(agent, f"Listening for NDJSON events on unix socket {path}")
            ledgers = [Ledger() for _ in range(WRITERS)]

            def writer(i):
                ledger = ledgers[i]
                text = "".join(ledger.event(i * EVENTS_PER_WRITER + k) + ("\r\n" if k % 2 else "\n")
                               for k in range(EVENTS_PER_WRITER)).encode()
                rng = random.Random(i)
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.connect(path)
                    pos = 0
                    while pos < len(text):  # pieces that split lines anywhere
                        n = rng.randint(1, 4096)
                        s.sendall(text[pos:pos + n])
                        pos += n

            total = WRITERS * EVENTS_PER_WRITER
            m = self.send_while_scraping(agent, "unix", writer, WRITERS, total, ledgers,
                                         "the unix socket")
            self.assertEqual(m.sum("llm_exporter_events_rejected_total", transport="unix"), 0)
            self.assertEqual(accepted(m, "http"), 0)
            wait_until(lambda: agent.scrape().value("llm_exporter_ingest_connections",
                                                    transport="unix") == 0,
                       what="every connection closed")

    def test_over_long_line_is_rejected_and_counted_while_its_neighbours_count(self):
        path = self.path("s.sock")
        with Agent(args=[f"--ingest.listen-unix={path}", "--ingest.max-line-bytes=1024"]) as agent:
            wait_for_log(agent, "Listening for NDJSON events on unix socket")
            sent = Ledger()
            long_line = '{"model":"' + "m" * 5000 + '","input_tokens":1}'
            exactly_max = sent.event(1)
            exactly_max = exactly_max[:-1] + " " * (1024 - len(exactly_max)) + "}"
            self.assertEqual(len(exactly_max), 1024)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.connect(path)
                s.sendall((sent.event(0) + "\n" + long_line + "\n" + exactly_max + "\n").encode())
                # An over-long line whose end comes in later writes, then one more good line.
                s.sendall(b'{"model":"' + b"x" * 3000)
                s.sendall(b"y" * 3000 + b'"}\n' + sent.event(2).encode() + b"\n")
            wait_until(lambda: accepted(agent.scrape(), "unix") == 3, what="3 events accepted")
            m = agent.scrape()
            sent.check(self, m)
            self.assertEqual(rejected(m, "unix", "too_large"), 2)
            self.assertEqual(m.value("llm_exporter_events_received_total", transport="unix"), 5)
            self.assertIn("unix: rejected 1 event(s) since the last such warning (at most one "
                          "every 10s; by reason: too_large 1); latest: reason too_large: a line "
                          "longer than 1024 bytes (--ingest.max-line-bytes) on unix socket " + path,
                          agent.log())

    def test_connections_over_the_limit_are_closed_and_counted(self):
        path = self.path("s.sock")
        with Agent(args=[f"--ingest.listen-unix={path}", "--ingest.max-connections=2"]) as agent:
            wait_for_log(agent, "Listening for NDJSON events on unix socket")
            clients = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(3)]
            try:
                for c in clients:
                    c.connect(path)
                clients[2].settimeout(10)
                self.assertEqual(clients[2].recv(1), b"")  # closed by the agent at once
                m = agent.scrape()
                self.assertEqual(m.value("llm_exporter_ingest_connections_refused_total",
                                         transport="unix"), 1)
                self.assertEqual(m.value("llm_exporter_ingest_connections", transport="unix"), 2)
                sent = Ledger()
                clients[0].sendall((sent.event(0) + "\n").encode())
                clients[1].sendall((sent.event(1) + "\n").encode())
                wait_until(lambda: accepted(agent.scrape(), "unix") == 2, what="2 events accepted")
            finally:
                for c in clients:
                    c.close()
            self.assertIn("over --ingest.max-connections", agent.log())


class UnixgramTest(SocketTestCase):
    def test_concurrent_senders_and_scrapes_count_exactly(self):
        path = self.path("g.sock")
        with Agent(args=[f"--ingest.listen-unixgram={path}"]) as agent:
            wait_for_log(agent, f"Listening for events on unixgram socket {path}")
            ledgers = [Ledger() for _ in range(WRITERS)]
            datagrams = [0] * WRITERS

            def sender(i):
                ledger, base = ledgers[i], i * EVENTS_PER_WRITER
                with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
                    s.connect(path)
                    k = 0
                    while k < EVENTS_PER_WRITER:
                        if k % 2000 < 1000:  # one event a datagram
                            payload = ledger.event(base + k)
                            k += 1
                        else:  # an NDJSON batch of 10, CRLF line ends
                            payload = "\r\n".join(ledger.event(base + k + j) for j in range(10)) + "\r\n"
                            k += 10
                        s.send(payload.encode())  # blocks while the agent's queue is full
                        datagrams[i] += 1

            total = WRITERS * EVENTS_PER_WRITER
            m = self.send_while_scraping(agent, "unixgram", sender, WRITERS, total, ledgers,
                                         "the unixgram socket")
            self.assertEqual(m.sum("llm_exporter_events_rejected_total", transport="unixgram"), 0)
            self.assertGreater(sum(datagrams), total // 2)

    def test_over_long_datagram_is_rejected_and_counted_while_its_neighbours_count(self):
        path = self.path("g.sock")
        with Agent(args=[f"--ingest.listen-unixgram={path}",
                         "--ingest.max-datagram-bytes=1024"]) as agent:
            wait_for_log(agent, "Listening for events on unixgram socket")
            sent, never = Ledger(), Ledger()
            at_limit = sent.event(1)
            at_limit += " " * (1024 - len(at_limit))
            # Valid NDJSON, but one byte over the limit: never decoded, not even its first lines.
            over = ((never.event(100) + "\n") * 20).encode()[:1025]
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
                s.connect(path)
                s.send(sent.event(0).encode())
                s.send(over)
                s.send(at_limit.encode())
                s.send(b"{" * 50_000)
                s.send(sent.event(2).encode())
            wait_until(lambda: accepted(agent.scrape(), "unixgram") == 3, what="3 events accepted")
            m = agent.scrape()
            sent.check(self, m)  # exactly events 0, 1 and 2: nothing of event 100
            self.assertEqual(rejected(m, "unixgram", "too_large"), 2)
            self.assertEqual(m.value("llm_exporter_events_received_total", transport="unixgram"), 5)
            # One warning line for both (they may arrive in the same batch, then it says 2).
            self.assertRegex(agent.log(), r"unixgram: rejected [12] event\(s\) since the last "
                                          r"such warning \(at most one every 10s; by reason: "
                                          r"too_large [12]\); latest: reason too_large: a "
                                          r"datagram longer than 1024 bytes "
                                          r"\(--ingest.max-datagram-bytes\)")


class UdpTest(SocketTestCase):
    def test_paced_concurrent_senders_and_scrapes_count_exactly(self):
        port = free_udp_port()
        with Agent(args=[f"--ingest.listen-udp=127.0.0.1:{port}"]) as agent:
            wait_for_log(agent, f"Listening for events on udp 127.0.0.1:{port}")
            senders, per_sender = 4, 2_000
            ledgers = [Ledger() for _ in range(senders)]

            def sender(i):
                ledger, base = ledgers[i], i * per_sender
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.connect(("127.0.0.1", port))
                    for n, k in enumerate(range(0, per_sender, 5)):
                        if n % 2:
                            payload = "\n".join(ledger.event(base + k + j) for j in range(5))
                            s.send(payload.encode())
                        else:
                            for j in range(5):
                                s.send(ledger.event(base + k + j).encode())
                        if n % 20 == 19:
                            time.sleep(0.002)  # a bounded rate: UDP may drop what overflows

            total = senders * per_sender
            m = self.send_while_scraping(agent, "udp", sender, senders, total, ledgers,
                                         "UDP", require_scrapes=False)
            self.assertEqual(m.value("llm_exporter_ingest_datagrams_dropped_total",
                                     transport="udp"), 0)

    def test_kernel_drops_are_counted_so_received_plus_dropped_equals_sent(self):
        port = free_udp_port()
        with Agent(args=[f"--ingest.listen-udp=127.0.0.1:{port}"]) as agent:
            wait_for_log(agent, f"Listening for events on udp 127.0.0.1:{port}")
            sent = Ledger()
            payloads = [sent.event(k).encode() for k in range(60_000)]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.connect(("127.0.0.1", port))
                # A stopped agent reads nothing: its receive buffer fills, the kernel drops the
                # rest and counts the drops, which the agent learns with the next datagram.
                agent.proc.send_signal(signal.SIGSTOP)
                try:
                    for p in payloads:
                        s.send(p)
                finally:
                    agent.proc.send_signal(signal.SIGCONT)
                sent_count = len(payloads)

                # The agent learns of drops with the first datagram queued after them, so send
                # one more whenever the counts do not add up yet: once the agent has caught up,
                # one of them gets through and brings the count of all drops before it.
                def settled():
                    nonlocal sent_count
                    m = agent.scrape()
                    dropped = m.value("llm_exporter_ingest_datagrams_dropped_total", transport="udp")
                    if accepted(m, "udp") + dropped == sent_count:
                        return True
                    s.send(payloads[0])
                    sent_count += 1
                    return False

                wait_until(settled, timeout=30, what="received + dropped == sent")
            m = agent.scrape()
            dropped = m.value("llm_exporter_ingest_datagrams_dropped_total", transport="udp")
            self.assertGreater(dropped, 0, "the flood did not overflow the receive buffer")
            self.assertEqual(accepted(m, "udp") + dropped, sent_count)
            self.assertEqual(m.value("llm_exporter_events_received_total", transport="udp"),
                             accepted(m, "udp"))
            self.assertIn("the kernel dropped", agent.log())

    def test_over_long_datagram_is_rejected_and_counted_while_its_neighbours_count(self):
        port = free_udp_port()
        with Agent(args=[f"--ingest.listen-udp=127.0.0.1:{port}",
                         "--ingest.max-datagram-bytes=1024"]) as agent:
            wait_for_log(agent, "Listening for events on udp")
            sent, never = Ledger(), Ledger()
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.connect(("127.0.0.1", port))
                s.send(sent.event(0).encode())
                s.send(((never.event(5) + "\n") * 30).encode())  # valid NDJSON, too long
                s.send(sent.event(1).encode())
            wait_until(lambda: rejected(agent.scrape(), "udp", "too_large") == 1,
                       what="one datagram rejected as too_large")
            wait_until(lambda: accepted(agent.scrape(), "udp") == 2, what="2 events accepted")
            m = agent.scrape()
            sent.check(self, m)
            self.assertEqual(m.value("llm_exporter_events_received_total", transport="udp"), 3)

    def test_udp_is_off_by_default(self):
        with Agent() as agent:
            self.assertNotIn("udp", agent.log())


class SocketFileTest(SocketTestCase):
    def test_mode_is_applied_and_files_are_removed_on_sigterm(self):
        stream, dgram = self.path("s.sock"), self.path("g.sock")
        agent = Agent(args=[f"--ingest.listen-unix={stream}", f"--ingest.listen-unixgram={dgram}"])
        with agent:
            wait_for_log(agent, "Listening for events on unixgram socket")
            for p in (stream, dgram):
                info = os.stat(p)
                self.assertTrue(stat.S_ISSOCK(info.st_mode), p)
                self.assertEqual(stat.S_IMODE(info.st_mode), 0o660, p)
            self.assertIn(f"unix socket {stream} (mode 0660)", agent.log())
            self.assertEqual(agent.stop(), 0)
            self.assertFalse(os.path.exists(stream))
            self.assertFalse(os.path.exists(dgram))

        with Agent(args=[f"--ingest.listen-unix={stream}", "--ingest.unixsocket-mode=0600"]) as agent:
            wait_for_log(agent, "Listening for NDJSON events on unix socket")
            self.assertEqual(stat.S_IMODE(os.stat(stream).st_mode), 0o600)
        self.assertFalse(os.path.exists(stream))

    def test_stale_socket_file_is_replaced(self):
        stream, dgram = self.path("s.sock"), self.path("g.sock")
        for p, kind in ((stream, socket.SOCK_STREAM), (dgram, socket.SOCK_DGRAM)):
            crashed = socket.socket(socket.AF_UNIX, kind)
            crashed.bind(p)
            crashed.close()  # the file stays, as after a crash
            self.assertTrue(stat.S_ISSOCK(os.stat(p).st_mode))
        with Agent(args=[f"--ingest.listen-unix={stream}", f"--ingest.listen-unixgram={dgram}"]) as agent:
            wait_for_log(agent, "Listening for events on unixgram socket")
            sent = Ledger()
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.connect(stream)
                s.sendall((sent.event(0) + "\n").encode())
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
                s.sendto(sent.event(1).encode(), dgram)
            wait_until(lambda: accepted(agent.scrape(), "unix") == 1, what="the stream event")
            wait_until(lambda: accepted(agent.scrape(), "unixgram") == 1, what="the datagram")
            sent.check(self, agent.scrape())

    def test_a_path_that_is_not_a_socket_is_refused_with_exit_code_2(self):
        regular = self.path("events.sock")
        with open(regular, "w") as f:
            f.write("not a socket")
        for flag in ("--ingest.listen-unix", "--ingest.listen-unixgram"):
            code, stderr = self.run_agent_expecting_failure(f"{flag}={regular}")
            self.assertEqual(code, 2, stderr)
            self.assertIn(f"llm_exporter: error: cannot listen on unix socket {regular}: the path "
                          "exists and is not a socket; refusing to replace it", stderr)
            with open(regular) as f:
                self.assertEqual(f.read(), "not a socket")

    def test_a_socket_in_use_is_refused_not_stolen(self):
        path = self.path("s.sock")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as other:
            other.bind(path)
            other.listen(1)
            code, stderr = self.run_agent_expecting_failure(f"--ingest.listen-unix={path}")
            self.assertEqual(code, 2, stderr)
            self.assertIn(f"cannot listen on unix socket {path}: another process is listening on it",
                          stderr)
            self.assertTrue(stat.S_ISSOCK(os.stat(path).st_mode))

    def test_bad_flags_exit_with_code_2(self):
        code, stderr = self.run_agent_expecting_failure("--ingest.unixsocket-mode=0999")
        self.assertEqual(code, 2)
        self.assertIn("is not an octal file mode", stderr)
        code, stderr = self.run_agent_expecting_failure(f"--ingest.listen-unix={self.path('x' * 120)}")
        self.assertEqual(code, 2)
        self.assertIn("bytes long; at most 107 fit", stderr)
        code, stderr = self.run_agent_expecting_failure("--ingest.listen-udp=localhost")
        self.assertEqual(code, 2)
        self.assertIn("cannot listen on udp socket localhost: not host:port", stderr)

    @unittest.skipIf(os.path.exists("/run/llm_exporter"), "/run/llm_exporter exists on this host")
    def test_the_default_unix_socket_is_skipped_when_its_directory_is_missing(self):
        with Agent() as agent:
            self.assertIn("Not listening on the default unix socket /run/llm_exporter/events.sock: "
                          "its directory does not exist", agent.log())
            self.assertEqual(agent.post_events({"model": "gpt-4o", "input_tokens": 1,
                                                "output_tokens": 1, "latency": 0.1}).status, 200)

    def test_an_empty_flag_turns_the_unix_socket_off(self):
        with Agent(args=["--ingest.listen-unix=", "--log.level=debug"]) as agent:
            self.assertNotIn("unix socket", agent.log())


if __name__ == "__main__":
    unittest.main()
