"""Rejected events are logged at warn level, the same way on every transport: the transport, how
many were rejected, and the latest one's index, field, reason and message."""
import json
import os
import shutil
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Agent, free_udp_port, short_temp_dir, wait_for_log  # noqa: E402

GOOD = {"model": "gpt-4o", "input_tokens": 10, "output_tokens": 1, "latency": 0.2}
WRONG_TYPE = {"model": "gpt-4o", "input_tokens": "12", "output_tokens": 1, "latency": 0.2}


def warn_lines(agent):
    return [line for line in agent.log().splitlines() if " level=warn " in line]


class RejectionLogTest(unittest.TestCase):
    def test_a_wrong_type_event_over_http_is_logged_once_at_warn(self):
        with Agent() as agent:
            r = agent.post_events([GOOD, WRONG_TYPE])
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual(r.json()["accepted"], 1)
            # The response is written after the pipeline logged, so the line is there already.
            lines = [line for line in warn_lines(agent) if "rejected" in line]
            self.assertEqual(len(lines), 1, agent.log())
            self.assertRegex(
                lines[0],
                r'^ts=\S+ level=warn msg="http: rejected 1 event\(s\) since the last such warning '
                r'\(at most one every 10s; by reason: wrong_type 1\); latest: event 1 of its '
                r'batch, field input_tokens, reason wrong_type: input_tokens must be a '
                r'non-negative integer, got a string"$')
            m = agent.scrape()
            self.assertEqual(m.value("llm_exporter_events_rejected_total", transport="http",
                                     reason="wrong_type"), 1)

    def test_json_logs_carry_the_same_line(self):
        with Agent(args=["--log.format=json"]) as agent:
            agent.post_events([WRONG_TYPE, {"model": "gpt-4o"}])
            records = [json.loads(line) for line in agent.log().splitlines()
                       if line.startswith("{")]
            rejected = [r["msg"] for r in records if r["level"] == "warn" and
                        r["msg"].startswith("http: rejected")]
            self.assertEqual(rejected, [
                "http: rejected 2 event(s) since the last such warning (at most one every 10s; "
                "by reason: missing_field 1, wrong_type 1); latest: event 1 of its batch, field "
                "latency, reason missing_field: latency is required"])

    def test_socket_transports_log_their_rejections_the_same_way(self):
        directory = short_temp_dir()
        self.addCleanup(shutil.rmtree, directory)
        path = os.path.join(directory, "s.sock")
        port = free_udp_port()
        with Agent(args=[f"--ingest.listen-unix={path}",
                         f"--ingest.listen-udp=127.0.0.1:{port}"]) as agent:
            wait_for_log(agent, f"Listening for NDJSON events on unix socket {path}")
            wait_for_log(agent, f"Listening for events on udp 127.0.0.1:{port}")
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.connect(path)
                s.sendall((json.dumps(WRONG_TYPE) + "\n").encode())
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.sendto(json.dumps({"input_tokens": 1}).encode(), ("127.0.0.1", port))
            wait_for_log(agent, 'msg="unix: rejected')
            unix_line = [line for line in warn_lines(agent) if 'msg="unix: rejected' in line]
            self.assertEqual(len(unix_line), 1)
            self.assertIn('msg="unix: rejected 1 event(s) since the last such warning (at most '
                          'one every 10s; by reason: wrong_type 1); latest: event 0 of its '
                          'batch, field input_tokens, reason wrong_type: input_tokens must be a '
                          'non-negative integer, got a string"', unix_line[0])
            wait_for_log(agent, 'msg="udp: rejected')
            udp_line = [line for line in warn_lines(agent) if 'msg="udp: rejected' in line]
            self.assertEqual(len(udp_line), 1)
            self.assertIn('msg="udp: rejected 1 event(s) since the last such warning (at most '
                          'one every 10s; by reason: missing_field 1); latest: event 0 of its '
                          'batch, field model, reason missing_field: model is required"',
                          udp_line[0])
            m = agent.scrape()
            self.assertEqual(m.value("llm_exporter_events_rejected_total", transport="unix",
                                     reason="wrong_type"), 1)
            self.assertEqual(m.value("llm_exporter_events_rejected_total", transport="udp",
                                     reason="missing_field"), 1)


if __name__ == "__main__":
    unittest.main()
