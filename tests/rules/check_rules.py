#!/usr/bin/env python3
"""Checks the conventions of rules/*.rules.yml that promtool does not: names, labels, annotations,
runbook sections, and that the promtool unit tests cover every rule.

- recording rules are named level:metric:operations; the level names the labels the rule keeps
  besides job and instance (`instance` when none), and the operation matches the expression;
- alerts are named LLM<CamelCase>, carry severity critical|warning|info, summary, description and
  an absolute (http/https) runbook_url, the documented default base of rules/set_runbook_base.py
  plus #<alert>, an anchor docs/runbook.md has; template labels and humanize $value, and wait at
  least 5 minutes (`for:`);
- docs/runbook.md has one section per alert and a threshold table row for each, and the header of
  the alerts file lists each;
- tests/rules/llm-alerts.test.yml makes every alert fire (labels and all annotations checked) and
  stay quiet; tests/rules/llm-recording.test.yml evaluates every recording rule.

Needs python3-yaml (Debian: /usr/bin/python3).
"""
import os
import re
import sys
import unittest
from urllib.parse import urlsplit

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("LLM_EXPORTER_SOURCE_DIR", os.path.abspath(os.path.join(HERE, "..", "..")))
RECORDING = os.path.join(ROOT, "rules", "llm-recording.rules.yml")
ALERTS = os.path.join(ROOT, "rules", "llm-alerts.rules.yml")
RUNBOOK = os.path.join(ROOT, "docs", "runbook.md")
sys.path.insert(0, os.path.join(ROOT, "rules"))
from set_runbook_base import DEFAULT_BASE_URL  # noqa: E402

LEVEL_LABELS = {"team": "team_id"}
SEVERITIES = {"critical", "warning", "info"}
REQUIRED_SEVERITIES = SEVERITIES
ISSUE_ALERTS = {  # what the issue asks for, by the alert that answers it
    "high error rate": "LLMHighErrorRate",
    "p99 latency": "LLMHighLatencyP99",
    "p95 TTFT": "LLMHighTTFTP95",
    "cost burn": "LLMCostBurnRateHigh",
    "team budget": "LLMTeamDailyBudgetExceeded",
    "quality drop": "LLMQualityScoreDrop",
    "cache hit-rate drop": "LLMCacheHitRateDrop",
    "agent down": "LLMExporterDown",
    "agent not scraped": "LLMExporterAbsent",
    "events rejected": "LLMExporterEventsRejected",
    "series overflow": "LLMExporterSeriesOverflow",
    "budgets reload failed": "LLMExporterBudgetsReloadFailed",
    "tool error rate": "LLMToolErrorRateHigh",
    "remote write failing": "LLMExporterRemoteWriteFailing",
    "remote write samples refused": "LLMExporterRemoteWriteSamplesRefused",
    "remote write falling behind": "LLMExporterRemoteWriteBehind",
    "remote write samples dropped": "LLMExporterRemoteWriteSamplesDropped",
    "remote write delivery stopped": "LLMExporterRemoteWriteDeliveryStopped",
    "proxy: rate-limit headroom": "LLMRateLimitHeadroomLow",
    "proxy: upstream error ratio": "LLMUpstreamErrorRatioHigh",
    "proxy: client retries": "LLMClientRetriesHigh",
}


def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def rules_of(path, kind):
    return [r for g in load_yaml(path)["groups"] for r in g["rules"] if kind in r]


def duration_seconds(text):
    total = 0
    for value, unit in re.findall(r"(\d+)(ms|s|m|h|d|w|y)", text):
        total += int(value) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400,
                               "w": 604800, "y": 31536000}[unit]
    return total


def github_anchor(heading):
    slug = heading.strip().lower()
    slug = re.sub(r"[^\w\- ]", "", slug)
    return slug.replace(" ", "-")


class RecordingRulesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rules = rules_of(RECORDING, "record")

    def test_names_are_level_metric_operations(self):
        for r in self.rules:
            with self.subTest(rule=r["record"]):
                self.assertRegex(r["record"], r"^[a-z][a-z_]*:[a-z][a-z0-9_]*:[a-z][a-z0-9_]*$")
                self.assertNotRegex(r["record"].split(":")[1], r"_total$",
                                    "the metric part drops _total")

    def test_level_names_the_labels_kept(self):
        for r in self.rules:
            level = r["record"].split(":")[0]
            expected = {"job", "instance"} if level == "instance" else {"job", "instance"} | {
                LEVEL_LABELS.get(w, w) for w in level.split("_")}
            if r["record"].split(":")[1].endswith("_bucket"):
                expected.add("le")
            m = re.match(r"\s*sum by \(([^)]*)\)", r["expr"])
            with self.subTest(rule=r["record"]):
                if m:
                    kept = {label.strip() for label in m.group(1).split(",")}
                    self.assertEqual(kept, expected)
                else:  # an arithmetic of other rules of the same level
                    for name in re.findall(r"[a-z_]+:[a-z0-9_]+:[a-z0-9_]+", r["expr"]):
                        self.assertEqual(name.split(":")[0], level)

    def test_operation_matches_the_expression(self):
        for r in self.rules:
            op = r["record"].split(":")[2]
            m = re.match(r"^(rate|increase)(\d+[smhd])$", op)
            with self.subTest(rule=r["record"]):
                self.assertIsNotNone(m, f"unknown operation {op}")
                fn, window = m.groups()
                sources = re.findall(r"(rate|increase)\([^\[]*\[(\w+)\]\)", r["expr"])
                derived = re.findall(r"[a-z_]+:[a-z0-9_]+:([a-z0-9_]+)", r["expr"])
                for s_fn, s_window in sources:
                    self.assertEqual((s_fn, s_window), (fn, window))
                for d_op in derived:
                    self.assertEqual(d_op, op)
                self.assertTrue(sources or derived)

    def test_every_recording_rule_is_unit_tested(self):
        tests = load_yaml(os.path.join(HERE, "llm-recording.test.yml"))
        exprs = " ".join(t["expr"] for g in tests["tests"] for t in g.get("promql_expr_test", []))
        for r in self.rules:
            with self.subTest(rule=r["record"]):
                self.assertRegex(exprs, re.escape(r["record"]) + r"\b")


class AlertsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.alerts = rules_of(ALERTS, "alert")
        with open(RUNBOOK, encoding="utf-8") as f:
            cls.runbook = f.read()
        with open(ALERTS, encoding="utf-8") as f:
            cls.alerts_text = f.read()

    def test_names_share_the_prefix_and_are_camel_case(self):
        names = [a["alert"] for a in self.alerts]
        self.assertEqual(len(names), len(set(names)))
        for name in names:
            self.assertRegex(name, r"^LLM([A-Z][a-z0-9]*|[A-Z]+(?=[A-Z][a-z]|$|\d))+$")

    def test_the_alerts_the_issue_asks_for_exist(self):
        names = {a["alert"] for a in self.alerts}
        for what, name in ISSUE_ALERTS.items():
            self.assertIn(name, names, what)

    def test_severity_and_for(self):
        seen = set()
        for a in self.alerts:
            with self.subTest(alert=a["alert"]):
                self.assertIn(a["labels"]["severity"], SEVERITIES)
                seen.add(a["labels"]["severity"])
                self.assertGreaterEqual(duration_seconds(a.get("for", "0s")), 300,
                                        "for: under 5m pages on a blip")
        self.assertEqual(seen, REQUIRED_SEVERITIES)

    def test_annotations(self):
        for a in self.alerts:
            ann = a["annotations"]
            with self.subTest(alert=a["alert"]):
                self.assertLessEqual({"summary", "description", "runbook_url"}, set(ann))
                url = urlsplit(ann["runbook_url"])
                self.assertIn(url.scheme, ("http", "https"), "runbook_url must be absolute")
                self.assertTrue(url.netloc, "runbook_url must name a host")
                self.assertEqual(ann["runbook_url"], f"{DEFAULT_BASE_URL}#{a['alert'].lower()}")
                self.assertIn("{{ $labels.", ann["summary"] + ann["description"])
                for text in (ann["summary"], ann["description"]):
                    for use in re.findall(r"\{\{[^}]*\$value[^}]*\}\}", text):
                        self.assertRegex(use, r"\$value \| (humanize\w*|printf)",
                                         "raw $value in an annotation")

    def test_runbook_has_one_section_and_a_threshold_row_per_alert(self):
        headings = re.findall(r"^## (\S+)\s*$", self.runbook, re.M)
        sections = {h for h in headings if h.startswith("LLM")}
        names = {a["alert"] for a in self.alerts}
        self.assertEqual(sections, names)
        anchors = {github_anchor(h) for h in headings}
        for a in self.alerts:
            with self.subTest(alert=a["alert"]):
                self.assertIn(urlsplit(a["annotations"]["runbook_url"]).fragment, anchors)
                self.assertRegex(self.runbook, rf"(?m)^\| `{a['alert']}` \|")
                self.assertRegex(self.alerts_text, rf"(?m)^#\s+{a['alert']}\s")
                section = self.runbook.split(f"## {a['alert']}\n", 1)[1].split("\n## ", 1)[0]
                for part in ("**Meaning.**", "**Confirm.**", "**Act.**"):
                    self.assertIn(part, section)

    def test_every_alert_is_unit_tested_firing_and_quiet(self):
        tests = load_yaml(os.path.join(HERE, "llm-alerts.test.yml"))
        firing, quiet = {}, set()
        for group in tests["tests"]:
            for case in group.get("alert_rule_test", []):
                if case.get("exp_alerts"):
                    firing.setdefault(case["alertname"], []).extend(case["exp_alerts"])
                else:
                    quiet.add(case["alertname"])
        for a in self.alerts:
            name = a["alert"]
            with self.subTest(alert=name):
                self.assertIn(name, firing, "never tested firing")
                self.assertIn(name, quiet, "never tested quiet")
                for exp in firing[name]:
                    self.assertEqual(exp["exp_labels"]["severity"], a["labels"]["severity"])
                    self.assertEqual(set(exp["exp_annotations"]), set(a["annotations"]))


if __name__ == "__main__":
    unittest.main()
