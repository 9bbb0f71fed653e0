#!/usr/bin/env python3
"""Checks the configurations of examples/scale-out (docs/scale-out.md).

- PrometheusConfigTest: each Prometheus configuration passes `promtool check config` with the
  rule files and file_sd targets it names, and so does the commented Kubernetes job in place of
  the static one; the federation matchers take every recording rule's output.
- RemoteWriteSchemaTest: each agent remote-write file uses only the keys of docs/configuration.md
  ("Remote write"), which names every key, and points where its receiver takes remote write.
- AgentCheckConfigTest: the agent accepts each of them, `llm_exporter --check-config
  --remote-write.config.file FILE` exits 0, once the files under /etc/llm_exporter/ they name
  are made in a temporary directory (real PEM files, from the `openssl` CLI); and refuses them
  with exit code 2 when a key is unknown or an action is not keep or drop.
- DocsTest: the configurations docs/scale-out.md shows are those of the examples.
- ReadmeTest: examples/scale-out/README.md lists every file of the folder.

    python3 tests/examples/test_scale_out_examples.py                        # all of them
    LLM_EXPORTER_BIN=build/llm_exporter python3 tests/examples/test_scale_out_examples.py AgentCheckConfigTest

Needs python3-yaml, promtool ($LLM_EXPORTER_PROMTOOL, else on PATH) and openssl.
"""
import os
import re
import shutil
import subprocess
import tempfile
import unittest
from urllib.parse import urlsplit

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("LLM_EXPORTER_SOURCE_DIR", os.path.abspath(os.path.join(HERE, "..", "..")))
EXAMPLES = os.path.join(ROOT, "examples", "scale-out")
RULES = os.path.join(ROOT, "rules")
PROMTOOL = os.environ.get("LLM_EXPORTER_PROMTOOL") or shutil.which("promtool")
BINARY = os.environ.get("LLM_EXPORTER_BIN", os.path.join(ROOT, "build", "llm_exporter"))
SECRETS_DIR = "/etc/llm_exporter/"

PROMETHEUS_FILES = ["prometheus-scrape.yml", "prometheus-federation.yml", "prometheus-receiver.yml"]
REMOTE_WRITE_FILES = ["remote-write-mimir.yml", "remote-write-thanos.yml",
                      "remote-write-victoriametrics.yml", "remote-write-prometheus.yml"]

# The schema of --remote-write.config.file, key by key (docs/configuration.md, "Remote write").
TARGET_KEYS = {"url", "name", "remote_timeout", "send_interval", "external_labels", "headers",
               "basic_auth", "bearer_token", "bearer_token_file", "tls_config",
               "write_relabel_configs", "queue_config", "metadata_config"}
BLOCK_KEYS = {
    "basic_auth": {"username", "password", "password_file"},
    "tls_config": {"ca_file", "cert_file", "key_file", "server_name", "insecure_skip_verify"},
    "queue_config": {"capacity", "max_samples_per_send", "min_backoff", "max_backoff",
                     "max_bytes"},
    "metadata_config": {"send", "send_interval"},
}
RELABEL_KEYS = {"source_labels", "separator", "regex", "action"}
FILE_KEYS = {"password_file", "bearer_token_file", "ca_file", "cert_file", "key_file"}


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def promtool_check(path):
    return subprocess.run([PROMTOOL, "check", "config", path], capture_output=True, text=True,
                          timeout=60)


def targets(config):
    return config["remote_write"]


def file_references(config):
    """(block, key, path) of every file a remote-write config names."""
    refs = []
    for target in targets(config):
        for key in FILE_KEYS & set(target):
            refs.append((None, key, target[key]))
        for block in ("basic_auth", "tls_config"):
            for key in FILE_KEYS & set(target.get(block) or {}):
                refs.append((block, key, target[block][key]))
    return refs


@unittest.skipUnless(PROMTOOL, "needs promtool (Debian package prometheus)")
class PrometheusConfigTest(unittest.TestCase):
    def check(self, path):
        run = promtool_check(path)
        output = run.stdout + run.stderr
        self.assertEqual(run.returncode, 0, output)
        # A file_sd pattern that matches no file is only a warning to promtool.
        self.assertNotIn("WARNING", output)

    def test_each_configuration_passes_promtool(self):
        for name in PROMETHEUS_FILES:
            with self.subTest(file=name):
                self.check(os.path.join(EXAMPLES, name))

    def test_scrape_and_receiver_load_both_rule_files(self):
        for name in ("prometheus-scrape.yml", "prometheus-receiver.yml"):
            with self.subTest(file=name):
                config = yaml.safe_load(read(os.path.join(EXAMPLES, name)))
                self.assertEqual([os.path.basename(f) for f in config["rule_files"]],
                                 ["llm-recording.rules.yml", "llm-alerts.rules.yml"])
                for f in config["rule_files"]:
                    self.assertTrue(os.path.samefile(os.path.join(EXAMPLES, f),
                                                     os.path.join(RULES, os.path.basename(f))))

    def test_the_receiver_has_only_global_and_rule_files(self):
        config = yaml.safe_load(read(os.path.join(EXAMPLES, "prometheus-receiver.yml")))
        self.assertEqual(set(config), {"global", "rule_files"})

    def test_the_scrape_job_is_the_one_the_alerts_select(self):
        config = yaml.safe_load(read(os.path.join(EXAMPLES, "prometheus-scrape.yml")))
        jobs = config["scrape_configs"]
        self.assertEqual([j["job_name"] for j in jobs], ["llm_exporter"])
        self.assertIn("static_configs", jobs[0])
        self.assertIn("file_sd_configs", jobs[0])
        self.assertEqual(jobs[0]["scheme"], "https")
        self.assertIn("basic_auth", jobs[0])

    def test_the_kubernetes_job_in_place_of_the_static_one_passes_promtool(self):
        text = read(os.path.join(EXAMPLES, "prometheus-scrape.yml"))
        block = re.search(r"(?ms)^  # BEGIN kubernetes job\n(.*?)^  # END kubernetes job\n", text)
        self.assertIsNotNone(block, "the commented Kubernetes job is missing")
        lines = [re.sub(r"^  # ?", "", line) for line in block.group(1).splitlines()]
        job = yaml.safe_load("\n".join(lines))[0]
        self.assertEqual(job["job_name"], "llm_exporter")
        self.assertEqual(job["kubernetes_sd_configs"], [{"role": "pod"}])
        self.assertIn({"source_labels": ["__meta_kubernetes_pod_node_name"],
                       "target_label": "instance"}, job["relabel_configs"])
        if not self.promtool_knows_kubernetes_sd():
            # Debian's Prometheus is built without Kubernetes discovery, and its promtool refuses
            # the key: check everything else of the job (TLS, basic auth, relabelling) with a
            # static target in its place.
            job["static_configs"] = [{"targets": ["10.0.0.1:9778"]}]
            del job["kubernetes_sd_configs"]
        config = yaml.safe_load(text)
        config["scrape_configs"] = [job]
        config["rule_files"] = [os.path.join(RULES, os.path.basename(f))
                                for f in config["rule_files"]]
        with tempfile.TemporaryDirectory(prefix="llmx-scale-out-") as tmp:
            path = os.path.join(tmp, "prometheus.yml")
            with open(path, "w", encoding="utf-8") as f:
                yaml.safe_dump(config, f)
            self.check(path)

    def promtool_knows_kubernetes_sd(self):
        with tempfile.TemporaryDirectory(prefix="llmx-scale-out-") as tmp:
            path = os.path.join(tmp, "prometheus.yml")
            with open(path, "w", encoding="utf-8") as f:
                f.write("scrape_configs:\n  - job_name: probe\n    kubernetes_sd_configs:\n"
                        "      - role: pod\n")
            return promtool_check(path).returncode == 0

    def test_federation_takes_the_llm_series_and_every_recording_rule(self):
        config = yaml.safe_load(read(os.path.join(EXAMPLES, "prometheus-federation.yml")))
        self.assertNotIn("rule_files", config, "the cluster Prometheus servers record the rules")
        [job] = config["scrape_configs"]
        self.assertIs(job["honor_labels"], True)
        self.assertEqual(job["metrics_path"], "/federate")
        matchers = job["params"]["match[]"]
        self.assertIn('{__name__=~"llm_.*"}', matchers)
        # PromQL regexes are fully anchored, as re.fullmatch.
        name_regexes = [m.group(1) for m in
                        (re.fullmatch(r'\{__name__=~"([^"]+)"\}', s) for s in matchers) if m]
        recorded = [r["record"] for g in yaml.safe_load(read(
            os.path.join(RULES, "llm-recording.rules.yml")))["groups"] for r in g["rules"]]
        self.assertTrue(recorded)
        for name in recorded:
            with self.subTest(rule=name):
                self.assertTrue(any(re.fullmatch(r, name) for r in name_regexes))
        for name in ("llm_requests_total", "llm_exporter_build_info",
                     "llm_exporter_remote_write_last_send_timestamp_seconds"):
            with self.subTest(metric=name):
                self.assertTrue(any(re.fullmatch(r, name) for r in name_regexes))


class RemoteWriteSchemaTest(unittest.TestCase):
    def load(self, name):
        return yaml.safe_load(read(os.path.join(EXAMPLES, name)))

    def test_only_keys_of_the_schema(self):
        for name in REMOTE_WRITE_FILES:
            config = self.load(name)
            with self.subTest(file=name):
                self.assertEqual(set(config), {"remote_write"})
                self.assertTrue(targets(config))
            for i, target in enumerate(targets(config)):
                with self.subTest(file=name, target=i):
                    self.assertLessEqual(set(target), TARGET_KEYS)
                    self.assertIn(urlsplit(target["url"]).scheme, ("http", "https"))
                    for block, keys in BLOCK_KEYS.items():
                        self.assertLessEqual(set(target.get(block) or {}), keys, block)
                    auth = {"basic_auth", "bearer_token", "bearer_token_file"} & set(target)
                    self.assertLessEqual(len(auth), 1, "at most one kind of authentication")
                    for rule in target.get("write_relabel_configs", []):
                        self.assertLessEqual(set(rule), RELABEL_KEYS)
                        self.assertIn("source_labels", rule)
                        self.assertIn(rule.get("action"), ("keep", "drop"))

    def test_each_points_where_its_receiver_takes_remote_write(self):
        expected = {  # file: (port or None, path, header that must be there)
            "remote-write-mimir.yml": (None, "/api/v1/push", "X-Scope-OrgID"),
            "remote-write-thanos.yml": (19291, "/api/v1/receive", None),
            "remote-write-victoriametrics.yml": (8428, "/api/v1/write", None),
        }
        for name, (port, path, header) in expected.items():
            [target] = targets(self.load(name))
            url = urlsplit(target["url"])
            with self.subTest(file=name):
                self.assertEqual(url.path, path)
                if port:
                    self.assertEqual(url.port, port)
                if header:
                    self.assertIn(header, target.get("headers", {}))
        [target] = targets(self.load("remote-write-prometheus.yml"))
        self.assertEqual(target["url"], "http://127.0.0.1:9090/api/v1/write")

    def test_secrets_are_read_from_files_under_etc_llm_exporter(self):
        for name in REMOTE_WRITE_FILES:
            config = self.load(name)
            for target in targets(config):
                with self.subTest(file=name):
                    self.assertNotIn("bearer_token", target, "a token in the file: use bearer_token_file")
                    self.assertNotIn("password", target.get("basic_auth") or {},
                                     "a password in the file: use password_file")
            for block, key, path in file_references(config):
                with self.subTest(file=name, key=key):
                    self.assertTrue(path.startswith(SECRETS_DIR), path)

    def test_the_configuration_reference_names_every_key(self):
        text = read(os.path.join(ROOT, "docs", "configuration.md"))
        section = text.split("\n## Remote write\n", 1)
        self.assertEqual(len(section), 2, "docs/configuration.md has no section \"Remote write\"")
        section = section[1].split("\n## ", 1)[0]
        keys = TARGET_KEYS | RELABEL_KEYS | {"remote_write"}
        for block_keys in BLOCK_KEYS.values():
            keys |= block_keys
        for key in sorted(keys):
            with self.subTest(key=key):
                self.assertIn(f"`{key}`", section)


class Pki:
    """A CA and a client certificate and key signed by it, made with the openssl CLI."""

    def __init__(self, directory):
        def openssl(*args):
            subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
                "-subj", "/CN=llm_exporter test ca")
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=llm-exporter")
        openssl("x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "2", "-out", "client.crt")
        self.files = {key: os.path.join(directory, name) for key, name in
                      (("ca_file", "ca.crt"), ("cert_file", "client.crt"),
                       ("key_file", "client.key"))}


# Skipped only when nobody asked for a binary (ctest sets LLM_EXPORTER_BIN) and none is built.
@unittest.skipUnless("LLM_EXPORTER_BIN" in os.environ or os.access(BINARY, os.X_OK),
                     f"no agent binary at {BINARY}")
@unittest.skipUnless(shutil.which("openssl"), "needs the openssl CLI")
class AgentCheckConfigTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="llmx-rw-examples-")
        pki_dir = os.path.join(cls.tmp.name, "pki")
        os.mkdir(pki_dir)
        cls.pki = Pki(pki_dir)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def materialize(self, name, edit=None):
        """The example in a directory of its own, its /etc/llm_exporter/ paths moved there and
        every file they name made: PEM files for tls_config, a secret for the others."""
        directory = tempfile.mkdtemp(prefix=name.split(".")[0] + "-", dir=self.tmp.name)
        text = read(os.path.join(EXAMPLES, name)).replace(SECRETS_DIR, directory + "/")
        if edit:
            text = edit(text)
        for block, key, path in file_references(yaml.safe_load(text)):
            self.assertTrue(path.startswith(directory + "/"), path)
            if key in self.pki.files:
                shutil.copyfile(self.pki.files[key], path)
            else:
                with open(path, "w", encoding="utf-8") as f:
                    f.write("s3cret-for-the-test\n")
            os.chmod(path, 0o600)
        path = os.path.join(directory, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def check_config(self, path):
        return subprocess.run([BINARY, "--check-config", "--remote-write.config.file", path],
                              capture_output=True, text=True, timeout=60)

    def test_every_example_passes_check_config(self):
        for name in REMOTE_WRITE_FILES:
            with self.subTest(file=name):
                run = self.check_config(self.materialize(name))
                self.assertEqual(run.returncode, 0, f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}")
                self.assertTrue(run.stdout.strip(), "--check-config says nothing on success")

    def test_an_unknown_key_is_refused(self):
        path = self.materialize(
            "remote-write-mimir.yml",
            lambda text: text.replace("    name: mimir", "    remote_timout: 10s\n    name: mimir", 1))
        run = self.check_config(path)
        self.assertEqual(run.returncode, 2, f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}")
        self.assertIn("remote_timout", run.stderr)

    def test_a_relabel_action_other_than_keep_or_drop_is_refused(self):
        path = self.materialize("remote-write-victoriametrics.yml",
                                lambda text: text.replace("action: drop", "action: replace", 1))
        run = self.check_config(path)
        self.assertEqual(run.returncode, 2, f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}")
        self.assertTrue(run.stderr.strip())


class DocsTest(unittest.TestCase):
    """docs/scale-out.md shows the examples' configurations: a YAML block that opens with
    `# examples/scale-out/FILE` holds the same data as FILE, comments aside; every other YAML
    block of the page parses."""

    def test_the_configurations_shown_are_the_examples(self):
        text = read(os.path.join(ROOT, "docs", "scale-out.md"))
        blocks = re.findall(r"(?ms)^```yaml\n(.*?)^```$", text)
        shown = set()
        for block in blocks:
            data = yaml.safe_load(block)
            self.assertIsNotNone(data, block)
            m = re.match(r"# (examples/scale-out/\S+)\n", block)
            if not m:
                continue
            with self.subTest(file=m.group(1)):
                self.assertEqual(data, yaml.safe_load(read(os.path.join(ROOT, m.group(1)))))
                shown.add(os.path.relpath(os.path.join(ROOT, m.group(1)), EXAMPLES))
        self.assertLessEqual(set(PROMETHEUS_FILES + REMOTE_WRITE_FILES), shown)


class ReadmeTest(unittest.TestCase):
    def test_the_readme_lists_every_file(self):
        readme = read(os.path.join(EXAMPLES, "README.md"))
        for directory, _, files in os.walk(EXAMPLES):
            for name in files:
                rel = os.path.relpath(os.path.join(directory, name), EXAMPLES)
                if rel == "README.md":
                    continue
                with self.subTest(file=rel):
                    self.assertIn(f"`{rel}`", readme)
        for name in PROMETHEUS_FILES + REMOTE_WRITE_FILES:
            self.assertTrue(os.path.isfile(os.path.join(EXAMPLES, name)), name)


if __name__ == "__main__":
    unittest.main(verbosity=2)
