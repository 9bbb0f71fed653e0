#!/usr/bin/env python3
"""Tests rules/set_runbook_base.py: the rules it writes pass `promtool check rules` and the promtool
unit tests, every runbook_url points at the new base with its alert's anchor, nothing else
changes, and a bad --base-url is refused with a clear error.

Needs python3-yaml and promtool ($LLM_EXPORTER_PROMTOOL, else promtool on PATH).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("LLM_EXPORTER_SOURCE_DIR", os.path.abspath(os.path.join(HERE, "..", "..")))
RULES = os.path.join(ROOT, "rules")
SCRIPT = os.path.join(RULES, "set_runbook_base.py")
PROMTOOL = os.environ.get("LLM_EXPORTER_PROMTOOL", "promtool")
BASE = "https://wiki.example.com/ops/llm-runbook"

sys.path.insert(0, RULES)
from set_runbook_base import DEFAULT_BASE_URL  # noqa: E402


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def alerts_of(path):
    return [r for g in yaml.safe_load(read(path))["groups"] for r in g["rules"] if "alert" in r]


def run(*args, cwd=None):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=60,
                          cwd=cwd)


class SetRunbookBaseTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="llmx-runbook-")
        self.out = os.path.join(self.tmp.name, "rules")

    def tearDown(self):
        self.tmp.cleanup()

    def test_writes_rules_with_the_new_base(self):
        r = run(SCRIPT, "--base-url", BASE, "--out", self.out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), f"Wrote {self.out}/llm-alerts.rules.yml and "
                         f"llm-recording.rules.yml with runbook links to {BASE}#<alert>")
        written = os.path.join(self.out, "llm-alerts.rules.yml")
        alerts = alerts_of(written)
        self.assertGreaterEqual(len(alerts), 16)
        for a in alerts:
            self.assertEqual(a["annotations"]["runbook_url"], f"{BASE}#{a['alert'].lower()}")
        # Only the runbook_url lines differ; the recording rules are copied as they are.
        committed = read(os.path.join(RULES, "llm-alerts.rules.yml")).splitlines()
        new = read(written).splitlines()
        self.assertEqual(len(new), len(committed))
        changed = [(a, b) for a, b in zip(committed, new) if a != b]
        self.assertEqual(len(changed), len(alerts))
        for old_line, new_line in changed:
            self.assertEqual(new_line, old_line.replace(DEFAULT_BASE_URL, BASE))
        self.assertEqual(read(os.path.join(self.out, "llm-recording.rules.yml")),
                         read(os.path.join(RULES, "llm-recording.rules.yml")))

        check = subprocess.run([PROMTOOL, "check", "rules", written,
                                os.path.join(self.out, "llm-recording.rules.yml")],
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)

        # The alert unit tests, expecting the new links, pass on the rewritten rules.
        tests = read(os.path.join(HERE, "llm-alerts.test.yml"))
        self.assertIn(f"runbook_url: {DEFAULT_BASE_URL}#", tests)
        tests = tests.replace(f"runbook_url: {DEFAULT_BASE_URL}#", f"runbook_url: {BASE}#")
        tests = tests.replace("../../rules/", "rules/")
        with open(os.path.join(self.tmp.name, "alerts.test.yml"), "w", encoding="utf-8") as f:
            f.write(tests)
        unit = subprocess.run([PROMTOOL, "test", "rules", "alerts.test.yml"], cwd=self.tmp.name,
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(unit.returncode, 0, unit.stdout + unit.stderr)

    def test_without_out_rewrites_in_place(self):
        shutil.copytree(RULES, self.out, ignore=shutil.ignore_patterns("__pycache__"))
        r = run(os.path.join(self.out, "set_runbook_base.py"), "--base-url", BASE + "/")
        self.assertEqual(r.returncode, 0, r.stderr)
        for a in alerts_of(os.path.join(self.out, "llm-alerts.rules.yml")):
            self.assertEqual(a["annotations"]["runbook_url"], f"{BASE}/#{a['alert'].lower()}")
        # Run again: the links it wrote are rewritten too.
        r = run(os.path.join(self.out, "set_runbook_base.py"), "--base-url", DEFAULT_BASE_URL)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(read(os.path.join(self.out, "llm-alerts.rules.yml")),
                         read(os.path.join(RULES, "llm-alerts.rules.yml")))

    def test_a_bad_base_url_is_refused(self):
        for url, error in [
            ("wiki.example.com/runbook",
             "--base-url must be an absolute http:// or https:// URL, "
             "got 'wiki.example.com/runbook'"),
            ("ftp://example.com/runbook",
             "--base-url must be an absolute http:// or https:// URL, "
             "got 'ftp://example.com/runbook'"),
            ("https://example.com/runbook#top",
             "--base-url must not contain '#': each alert adds its own #anchor, "
             "got 'https://example.com/runbook#top'"),
            ("https://example.com/run book",
             "--base-url must not contain ' ', got 'https://example.com/run book'"),
            ("https://example.com/{{ $labels.job }}",
             "--base-url must not contain ' ' '{' '}', "
             "got 'https://example.com/{{ $labels.job }}'"),
        ]:
            with self.subTest(url=url):
                r = run(SCRIPT, "--base-url", url, "--out", self.out)
                self.assertEqual(r.returncode, 2)
                self.assertEqual(r.stderr.strip(), f"set_runbook_base.py: error: {error}")
                self.assertFalse(os.path.exists(self.out))

    def test_committed_rules_use_the_documented_default(self):
        for a in alerts_of(os.path.join(RULES, "llm-alerts.rules.yml")):
            self.assertEqual(a["annotations"]["runbook_url"],
                             f"{DEFAULT_BASE_URL}#{a['alert'].lower()}")
        for doc in ("README.md", os.path.join("docs", "runbook.md")):
            with self.subTest(doc=doc):
                self.assertIn(DEFAULT_BASE_URL, read(os.path.join(ROOT, doc)))
                self.assertRegex(read(os.path.join(ROOT, doc)),
                                 re.escape("rules/set_runbook_base.py --base-url"))


if __name__ == "__main__":
    unittest.main()
