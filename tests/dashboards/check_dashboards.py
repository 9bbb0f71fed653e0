#!/usr/bin/env python3
"""Checks the Grafana dashboards in dashboards/ against Grafana's JSON schemas and our conventions.

Schemas: ../shared/reference/grafana-jsonschema/ beside the repository, or $GRAFANA_JSONSCHEMA_DIR
(Grafana's published draft-07 schemas): the dashboard model, each panel's options and custom field
config by plugin, each Prometheus target. A clone without them still runs every other check; then
the schema check is skipped (exit code 77, which ctest reports as skipped) with one line saying
so, unless $CI is set: CI must run it, so there the missing schemas fail the run.

Conventions (docs/dashboards.md): stable uids, schemaVersion 39, no import-wizard `__inputs`, the
`datasource` variable on every panel and target, job/instance/model/team_id variables from
label_values, every counter inside rate()/increase() over $__rate_interval or $__range, label
filters that exist on the metric and are applied consistently, a unit, a title and a description
naming the metrics on every panel, metrics that docs/metrics.md or the recording rules define.

The schema check needs python3-jsonschema (Debian: /usr/bin/python3). Run from anywhere:
    /usr/bin/python3 tests/dashboards/check_dashboards.py
"""
import io
import json
import os
import re
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("LLM_EXPORTER_SOURCE_DIR", os.path.abspath(os.path.join(HERE, "..", "..")))
DASHBOARD_DIR = os.path.join(ROOT, "dashboards")
SCHEMA_DIR = os.environ.get(
    "GRAFANA_JSONSCHEMA_DIR",
    os.path.abspath(os.path.join(ROOT, "..", "shared", "reference", "grafana-jsonschema")))
# ctest's SKIP_RETURN_CODE (tests/dashboards/CMakeLists.txt).
EXIT_SKIPPED = 77

EXPECTED_UIDS = {
    "llm-overview.json": "llm-overview",
    "llm-cost.json": "llm-cost",
    "llm-exporter.json": "llm-exporter",
}
DS = {"type": "prometheus", "uid": "${datasource}"}
LLM_VARIABLES = {"job", "instance", "model", "team_id"}
FILTER_LABELS = ("model", "team_id")

# Series that Prometheus itself writes for every target, and their labels.
PROMETHEUS_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped",
                     "scrape_samples_post_metric_relabeling", "scrape_series_added", "ALERTS"}
# Self metrics announced for the series-limit work (docs/metrics.md will list them when it lands).
ANNOUNCED = {
    "llm_exporter_series_overflow_total": ("counter", {"family"}),
    "llm_exporter_series_limit": ("gauge", {"family"}),
}
RANGE_FUNCTIONS = {"rate", "increase", "irate"}
AGGREGATIONS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
                "bottomk", "topk", "quantile"}
LABEL_LIST_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
WORD_OPERATORS = {"and", "or", "unless", "bool", "offset", "atan2"}
LEVEL_LABELS = {"team": "team_id"}  # recording-rule level words that are not label names


# --------------------------------------------------------------------------- metric catalogue
def series_of(name, kind, labels):
    """{series name: (type, labels)} of a metric family; a histogram has four."""
    if kind != "histogram":
        return {name: (kind, labels)}
    # The bare name is the native histogram (--metrics.native-histograms).
    return {name: ("counter", labels), name + "_bucket": ("counter", labels | {"le"}),
            name + "_sum": ("counter", labels), name + "_count": ("counter", labels)}


def load_metric_catalogue():
    """{name: (type, labels)} from docs/metrics.md, with histogram series expanded."""
    catalogue = {}
    with open(os.path.join(ROOT, "docs", "metrics.md"), encoding="utf-8") as f:
        for line in f:
            if not line.startswith("| `"):
                continue
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            names = re.findall(r"`([a-z_:][a-z0-9_:]*)`", cells[0])
            kind = cells[1] if len(cells) > 1 else ""
            labels = set(re.findall(r"`([a-z_][a-z0-9_]*)`", cells[2])) if len(cells) > 2 else set()
            for name in names:
                k = kind or ("counter" if name.endswith("_total") else "gauge")
                catalogue.update(series_of(name, k, labels))
    for name, (kind, labels) in ANNOUNCED.items():
        for series, entry in series_of(name, kind, labels).items():
            catalogue.setdefault(series, entry)
    for name in PROMETHEUS_SERIES:
        catalogue[name] = ("gauge", {"alertname", "alertstate", "severity"} if name == "ALERTS"
                           else set())
    return catalogue


def load_recording_rules():
    """{record name: labels kept} from rules/llm-recording.rules.yml (job and instance implied)."""
    rules = {}
    with open(os.path.join(ROOT, "rules", "llm-recording.rules.yml"), encoding="utf-8") as f:
        for name in re.findall(r"^\s*- record:\s*(\S+)\s*$", f.read(), re.M):
            level = name.split(":")[0]
            labels = set() if level == "instance" else {
                LEVEL_LABELS.get(w, w) for w in level.split("_")}
            if name.split(":")[1].endswith("_bucket"):
                labels.add("le")
            rules[name] = ("gauge", labels)
    return rules


# --------------------------------------------------------------------------- PromQL scanning
_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<var>\$\{?[A-Za-z_][A-Za-z0-9_]*\}?)
  | (?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?:ms|s|m|h|d|w|y)?)
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<op>=~|!~|!=|==|>=|<=|[-+*/%^<>=,(){}\[\]:])
""", re.X)


def tokenize(expr):
    tokens, pos = [], 0
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m:
            raise ValueError(f"cannot scan {expr[pos:pos + 20]!r} in {expr!r}")
        pos = m.end()
        if m.lastgroup != "ws":
            tokens.append((m.lastgroup, m.group()))
    return tokens


class Selector:
    def __init__(self, name, matchers, window, enclosing):
        self.name = name            # metric name
        self.matchers = matchers    # {label: (op, value)}
        self.window = window        # "[...]" content or None
        self.enclosing = enclosing  # innermost function or aggregation, or None

    def __repr__(self):
        return f"{self.name}{self.matchers}[{self.window}] in {self.enclosing}"


def selectors(expr):
    """Every vector selector of expr, with its matchers, range and enclosing function."""
    toks = tokenize(expr)
    out, stack, i = [], [], 0

    def skip_group(j, open_, close):
        depth = 0
        while j < len(toks):
            if toks[j][1] == open_:
                depth += 1
            elif toks[j][1] == close:
                depth -= 1
                if depth == 0:
                    return j + 1
            j += 1
        raise ValueError(f"unbalanced {open_} in {expr!r}")

    while i < len(toks):
        kind, text = toks[i]
        nxt = toks[i + 1][1] if i + 1 < len(toks) else None
        if kind == "ident" and text in LABEL_LIST_KEYWORDS:
            i = skip_group(i + 1, "(", ")") if nxt == "(" else i + 1
            continue
        if kind == "ident" and text in WORD_OPERATORS:
            i += 1
            continue
        if kind == "ident" and text in AGGREGATIONS and nxt in ("by", "without"):
            i = skip_group(i + 2, "(", ")")
            stack.append(text)
            i += 1  # the "(" of the aggregation's argument
            continue
        if kind == "ident" and nxt == "(":
            stack.append(text)
            i += 2
            continue
        if kind == "ident" or text == "{":
            name = text if kind == "ident" else None
            i += 1 if kind == "ident" else 0
            matchers = {}
            if i < len(toks) and toks[i][1] == "{":
                end = skip_group(i, "{", "}")
                inner = toks[i + 1:end - 1]
                for k in range(0, len(inner), 4):
                    label, op, value = inner[k][1], inner[k + 1][1], inner[k + 2][1]
                    matchers[label] = (op, value[1:-1])
                i = end
            if name is None:
                name = matchers.pop("__name__", ("", ""))[1]
            window = None
            if i < len(toks) and toks[i][1] == "[":
                end = skip_group(i, "[", "]")
                window = "".join(t[1] for t in toks[i + 1:end - 1])
                i = end
            out.append(Selector(name, matchers, window, stack[-1] if stack else None))
            continue
        if text == "(":
            stack.append(None)
        elif text == ")":
            stack.pop()
        i += 1
    return out


# --------------------------------------------------------------------------- helpers
def load(name):
    with open(os.path.join(DASHBOARD_DIR, name), encoding="utf-8") as f:
        return json.load(f)


def plugin_schema(plugin, definition):
    path = os.path.join(SCHEMA_DIR, f"{plugin}.jsonschema.json")
    with open(path, encoding="utf-8") as f:
        schema = json.load(f)
    if definition not in schema.get("definitions", {}):
        return None
    return {"$schema": schema.get("$schema"), "$ref": f"#/definitions/{definition}",
            "definitions": schema["definitions"]}


def panels(dashboard):
    for p in dashboard["panels"]:
        if p["type"] != "row":
            yield p
        for inner in p.get("panels", []):
            yield inner


def schema_errors(schema, instance):
    import jsonschema  # python3-jsonschema; only the schema check needs it
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
            for e in jsonschema.Draft7Validator(schema).iter_errors(instance)]


# --------------------------------------------------------------------------- the tests
class DashboardsFixture:
    """The shipped dashboards and the metrics they may use, loaded once per test class."""

    @classmethod
    def setUpClass(cls):
        cls.dashboards = {name: load(name) for name in EXPECTED_UIDS}
        cls.catalogue = load_metric_catalogue()
        cls.recorded = load_recording_rules()
        cls.known = dict(cls.catalogue, **cls.recorded)

    def each_panel(self):
        for name, d in self.dashboards.items():
            for p in panels(d):
                yield name, d, p

    def each_target(self):
        for name, d, p in self.each_panel():
            for t in p.get("targets", []):
                yield name, p, t


class GrafanaSchemaTest(DashboardsFixture, unittest.TestCase):
    """Grafana's own JSON schemas, from outside the repository (see SCHEMA_DIR)."""

    def test_dashboards_match_grafanas_dashboard_schema(self):
        with open(os.path.join(SCHEMA_DIR, "dashboard.jsonschema.json"), encoding="utf-8") as f:
            schema = json.load(f)
        for name, d in self.dashboards.items():
            with self.subTest(dashboard=name):
                self.assertEqual(schema_errors(schema, d), [])

    def test_panel_options_and_field_config_match_their_plugin_schemas(self):
        for name, _, p in self.each_panel():
            with self.subTest(dashboard=name, panel=p["title"]):
                options = plugin_schema(p["type"], "Options")
                self.assertIsNotNone(options, f"no schema for panel type {p['type']}")
                self.assertEqual(schema_errors(options, p["options"]), [])
                custom = p["fieldConfig"]["defaults"].get("custom")
                field = plugin_schema(p["type"], "FieldConfig")
                if custom is not None:
                    self.assertIsNotNone(field, f"{p['type']} takes no custom field config")
                    self.assertEqual(schema_errors(field, custom), [])

    def test_targets_match_the_prometheus_query_schema(self):
        schema = plugin_schema("prometheus", "Dataquery")
        for name, p, t in self.each_target():
            with self.subTest(dashboard=name, panel=p["title"], ref=t.get("refId")):
                self.assertEqual(schema_errors(schema, t), [])


class DashboardTest(DashboardsFixture, unittest.TestCase):
    """Files and conventions: needs nothing outside the repository."""

    # ---- files
    def test_generated_files_are_up_to_date(self):
        r = subprocess.run([sys.executable, os.path.join(DASHBOARD_DIR, "generate.py"),
                            "--check"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_only_the_expected_dashboards_ship(self):
        shipped = {f for f in os.listdir(DASHBOARD_DIR) if f.endswith(".json")}
        self.assertEqual(shipped, set(EXPECTED_UIDS))

    # ---- dashboard-level conventions
    def test_uids_schema_version_and_provisioning(self):
        for name, d in self.dashboards.items():
            with self.subTest(dashboard=name):
                self.assertEqual(d["uid"], EXPECTED_UIDS[name])
                self.assertEqual(d["schemaVersion"], 39)
                self.assertIsNone(d.get("id"))
                self.assertNotIn("__inputs", d)
                self.assertNotIn("__requires", d)
                self.assertNotIn("${DS_", json.dumps(d), "import-wizard data source placeholder")
                self.assertTrue(d["title"])

    def test_template_variables(self):
        for name, d in self.dashboards.items():
            with self.subTest(dashboard=name):
                variables = {v["name"]: v for v in d["templating"]["list"]}
                ds = variables.get("datasource")
                self.assertIsNotNone(ds, "no datasource variable")
                self.assertEqual((ds["type"], ds["query"]), ("datasource", "prometheus"))
                self.assertLessEqual({"job", "instance"}, set(variables))
                used = json.dumps(d["panels"])
                if "trace_url" in variables:
                    # Not a query: a URL the provisioned data source's exemplar link appends
                    # the trace id to. Only dashboards that show exemplars have it.
                    v = variables["trace_url"]
                    self.assertEqual(v["type"], "textbox")
                    self.assertIn('"exemplar": true', used)
                    with open(os.path.join(ROOT, "examples", "grafana", "provisioning",
                                           "datasources", "llm-exporter.yml"),
                              encoding="utf-8") as f:
                        self.assertIn("url: '$${trace_url}$${__value.raw}'", f.read())
                for var in set(variables) - {"datasource", "trace_url"}:
                    v = variables[var]
                    self.assertIn(var, LLM_VARIABLES)
                    self.assertEqual(v["type"], "query")
                    self.assertEqual(v["datasource"], DS)
                    self.assertRegex(v["query"], rf"^label_values\((\w+)(\{{.*\}})?, {var}\)$")
                    metric = re.match(r"label_values\((\w+)", v["query"]).group(1)
                    self.assertIn(var, self.known[metric][1] | {"job", "instance"})
                    self.assertEqual(v["allValue"], ".*")
                    self.assertIn(f"${var}", used, f"variable {var} is used by no panel")

    def test_layout_has_unique_ids_and_no_overlaps(self):
        for name, d in self.dashboards.items():
            with self.subTest(dashboard=name):
                ids = [p["id"] for p in d["panels"]]
                self.assertEqual(len(ids), len(set(ids)))
                taken = set()
                for p in d["panels"]:
                    g = p["gridPos"]
                    self.assertLessEqual(g["x"] + g["w"], 24, p["title"])
                    cells = {(x, y) for x in range(g["x"], g["x"] + g["w"])
                             for y in range(g["y"], g["y"] + g["h"])}
                    self.assertFalse(cells & taken, f"{p['title']} overlaps another panel")
                    taken |= cells
                titles = [p["title"] for p in panels(d)]
                self.assertEqual(len(titles), len(set(titles)), "duplicate panel titles")

    # ---- panel-level conventions
    def test_every_panel_and_target_uses_the_datasource_variable(self):
        for name, _, p in self.each_panel():
            with self.subTest(dashboard=name, panel=p["title"]):
                self.assertEqual(p["datasource"], DS)
                self.assertTrue(p["targets"])
                for t in p["targets"]:
                    self.assertEqual(t["datasource"], DS)

    def test_every_panel_has_a_title_a_unit_and_a_description_naming_its_metrics(self):
        for name, _, p in self.each_panel():
            with self.subTest(dashboard=name, panel=p.get("title")):
                self.assertTrue(p.get("title"))
                self.assertTrue(p["fieldConfig"]["defaults"].get("unit"), "no unit")
                if p["type"] == "heatmap":
                    self.assertTrue(p["options"]["yAxis"].get("unit"), "heatmap y axis unit")
                description = p.get("description", "")
                for t in p["targets"]:
                    for s in selectors(t["expr"]):
                        self.assertIn(s.name, description,
                                      f"description does not name {s.name}")

    def test_metrics_exist(self):
        for name, p, t in self.each_target():
            for s in selectors(t["expr"]):
                with self.subTest(dashboard=name, panel=p["title"], metric=s.name):
                    self.assertIn(s.name, self.known,
                                  "not in docs/metrics.md nor rules/llm-recording.rules.yml")

    def test_counters_only_inside_rate_or_increase_over_grafana_intervals(self):
        for name, p, t in self.each_target():
            for s in selectors(t["expr"]):
                with self.subTest(dashboard=name, panel=p["title"], selector=repr(s)):
                    kind = self.known.get(s.name, ("gauge", set()))[0]
                    if kind == "counter":
                        self.assertIn(s.enclosing, RANGE_FUNCTIONS)
                    else:
                        self.assertNotIn(s.enclosing, RANGE_FUNCTIONS, "rate() of a gauge")
                    if s.window is not None:
                        self.assertIn(s.window, ("$__rate_interval", "$__range"))
                    if s.window == "$__range":
                        self.assertTrue(t["instant"], "$__range totals are instant queries")

    def test_24h_panels_cover_24h(self):
        for name, _, p in self.each_panel():
            if "24h" in p["title"] or "24 hours" in p["description"]:
                with self.subTest(dashboard=name, panel=p["title"]):
                    self.assertEqual(p.get("timeFrom"), "24h")
                    self.assertTrue(all("[$__range]" in t["expr"] for t in p["targets"]))

    def test_label_filters_exist_and_are_consistent(self):
        for name, d, p in self.each_panel():
            variables = {v["name"] for v in d["templating"]["list"]}
            for t in p["targets"]:
                sels = selectors(t["expr"])
                with self.subTest(dashboard=name, panel=p["title"], ref=t["refId"]):
                    for s in sels:
                        labels = self.known[s.name][1] | {"job", "instance"}
                        self.assertEqual(s.matchers.get("job"), ("=~", "$job"), repr(s))
                        self.assertEqual(s.matchers.get("instance"), ("=~", "$instance"),
                                         repr(s))
                        for label in s.matchers:
                            self.assertIn(label, labels, f"{s.name} has no label {label}")
                    for label in FILTER_LABELS:
                        if label not in variables:
                            continue
                        carriers = [label in self.known[s.name][1] for s in sels]
                        filtered = [s.matchers.get(label) == ("=~", f"${label}") for s in sels]
                        if all(carriers):
                            self.assertTrue(all(filtered), f"every selector can filter {label}")
                        else:
                            self.assertFalse(any(filtered),
                                             f"{label} filtered on one side of the panel only")

    def test_recording_rules_used_by_dashboards_exist(self):
        used = set()
        for _, _, t in self.each_target():
            used |= {s.name for s in selectors(t["expr"]) if ":" in s.name}
        self.assertTrue(used, "no dashboard reads a recording rule")
        self.assertLessEqual(used, set(self.recorded))

    def test_the_seed_queries_are_all_there_corrected(self):
        overview = {p["title"]: p for p in panels(self.dashboards["llm-overview.json"])}
        for title in ("Total cost (24h)", "Cost by model (24h)", "Request rate", "Error rate",
                      "p99 latency", "p95 TTFT", "Average quality score", "Tokens per minute",
                      "Cache hit rate", "Latency heatmap", "TTFT heatmap"):
            self.assertIn(title, overview)
        every_expr = " ".join(t["expr"] for _, _, t in self.each_target())
        self.assertNotRegex(every_expr, r"llm_cost_usd[{\[]", "llm_cost_usd has a _total")
        self.assertNotRegex(every_expr, r"avg\(\s*llm_quality_score", "avg() of a histogram")


class DocsTest(unittest.TestCase):
    """The docs name panels and dashboards that exist."""

    @classmethod
    def setUpClass(cls):
        cls.dashboards = {name: load(name) for name in EXPECTED_UIDS}
        cls.titles = {p["title"] for d in cls.dashboards.values() for p in panels(d)}

    def read(self, *parts):
        with open(os.path.join(ROOT, *parts), encoding="utf-8") as f:
            return f.read()

    def test_runbook_quotes_only_real_panel_titles(self):
        text = re.sub(r"`[^`]*`", "", self.read("docs", "runbook.md"))
        quoted = {re.sub(r"\s+", " ", q) for q in re.findall(r'"([^"]+)"', text)}
        self.assertTrue(quoted)
        self.assertEqual(quoted - self.titles, set())
        for title in re.findall(r"\*([^*\n]+)\*:", text):
            self.assertIn(title, {d["title"] for d in self.dashboards.values()})

    def test_dashboards_doc_lists_every_panel(self):
        text = self.read("docs", "dashboards.md")
        for d in self.dashboards.values():
            self.assertIn(d["title"], text)
            self.assertIn(f"`{d['uid']}`", text)
        for title in self.titles:
            self.assertIn(f"| {title} |", text)


class ProvisioningExampleTest(unittest.TestCase):
    """examples/grafana: the files Grafana reads at start-up to provision data source and boards."""

    def load(self, *parts):
        import yaml  # python3-yaml
        with open(os.path.join(ROOT, "examples", "grafana", "provisioning", *parts),
                  encoding="utf-8") as f:
            return yaml.safe_load(f)

    def test_datasource_is_a_default_prometheus(self):
        doc = self.load("datasources", "llm-exporter.yml")
        self.assertEqual(doc["apiVersion"], 1)
        (ds,) = doc["datasources"]
        self.assertEqual((ds["type"], ds["isDefault"]), ("prometheus", True))
        self.assertRegex(ds["url"], r"^https?://")
        self.assertRegex(ds["jsonData"]["timeInterval"], r"^\d+[smh]$")

    def test_dashboard_provider_reads_files(self):
        doc = self.load("dashboards", "llm-exporter.yml")
        self.assertEqual(doc["apiVersion"], 1)
        (provider,) = doc["providers"]
        self.assertEqual(provider["type"], "file")
        self.assertTrue(os.path.isabs(provider["options"]["path"]))


class ScannerTest(unittest.TestCase):
    """The PromQL scanner the checks above rely on."""

    def test_finds_selectors_functions_and_windows(self):
        s = selectors('histogram_quantile(0.99, sum by (le) (rate(x_bucket{job=~"$job"}'
                      '[$__rate_interval]))) / on (a) group_left () y')
        self.assertEqual([(v.name, v.enclosing, v.window) for v in s],
                         [("x_bucket", "rate", "$__rate_interval"), ("y", None, None)])
        self.assertEqual(s[0].matchers, {"job": ("=~", "$job")})

    def test_a_counter_outside_rate_is_seen(self):
        s = selectors("sum(llm_cost_usd_total) or vector(0)")
        self.assertEqual([(v.name, v.enclosing) for v in s], [("llm_cost_usd_total", "sum")])


def main():
    if os.path.isfile(os.path.join(SCHEMA_DIR, "dashboard.jsonschema.json")):
        unittest.main()
    # Without the schemas, every other check still runs and can fail the run; its output is
    # shown only then, so that a skip is the one line below.
    suite = unittest.TestSuite(
        test for test in unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
        if not any(isinstance(t, GrafanaSchemaTest) for t in test))
    output = io.StringIO()
    passed = unittest.TextTestRunner(stream=output).run(suite).wasSuccessful()
    missing = (f"Grafana's JSON schemas are not at {SCHEMA_DIR} (the reference folder beside "
               "the clone, or $GRAFANA_JSONSCHEMA_DIR)")
    if not passed:
        sys.stderr.write(output.getvalue())
        print(f"FAILED: the checks above (the schema check did not run: {missing})")
        return 1
    if os.environ.get("CI"):
        print(f"FAILED: {missing}; CI runs the schema check, so it must have them")
        return 1
    print(f"SKIPPED: {missing}; the schema check runs in CI")
    return EXIT_SKIPPED


if __name__ == "__main__":
    sys.exit(main())
