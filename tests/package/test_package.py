"""The Debian package, end to end: cpack builds it from the build tree; lintian, man and
systemd-analyze check it; then it is installed with dpkg -i (and apt-get install -f for its
dependencies) into a clean Debian 12 root made by debootstrap, with no -dev package. There the
agent is started as the service would start it: the unit's ExecStart, with the variables of its
EnvironmentFile, as the unit's user, with /run/llm_exporter made as systemd's RuntimeDirectory=
makes it. Events go in over the default unix socket and over HTTPS with the shipped web config (and
a throwaway certificate at the paths it names); the scrape must show exactly what they imply,
before and after a reload by the unit's ExecReload.

Needs root (debootstrap, chroot, mount), network access to a Debian mirror
($LLM_EXPORTER_DEBIAN_MIRROR, default deb.debian.org), and lintian, debootstrap, help2man, openssl
(scripts/setup.sh). Without them it prints one SKIPPED line and exits 77, unless $CI is set, where
it fails. Downloaded .debs are kept in <build>/package-test/debs for the next run."""
import http.client
import json
import os
import re
import shlex
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

BUILD_DIR = os.environ.get("LLM_EXPORTER_BUILD_DIR", "")
VERSION = os.environ.get("LLM_EXPORTER_VERSION", "")
CPACK = os.environ.get("LLM_EXPORTER_CPACK") or "cpack"
MIRROR = os.environ.get("LLM_EXPORTER_DEBIAN_MIRROR", "http://deb.debian.org/debian")
PACKAGE = "llm-exporter"
UNIT = "/lib/systemd/system/llm-exporter.service"
CONFFILES = ["/etc/default/llm-exporter", "/etc/llm-exporter/budgets.json",
             "/etc/llm-exporter/prices.json", "/etc/llm-exporter/web-config.yml",
             "/etc/llm-exporter/proxy.yml"]
MAX_EXPOSURE = 2.0
EXIT_SKIPPED = 77


def missing_prerequisite():
    """The reason the test cannot run here, or None."""
    if os.geteuid() != 0:
        return "not root (debootstrap, chroot and mount need it)"
    if not BUILD_DIR or not os.path.isfile(os.path.join(BUILD_DIR, "CPackConfig.cmake")):
        return "no CPackConfig.cmake in the build tree ($LLM_EXPORTER_BUILD_DIR)"
    for tool in ("lintian", "debootstrap", "help2man", "openssl", "systemd-analyze", "man",
                 "setpriv", "dpkg-deb"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (scripts/setup.sh installs it)"
    host = urllib.parse.urlparse(MIRROR)
    try:
        socket.create_connection((host.hostname, host.port or 80), timeout=10).close()
    except OSError as error:
        return f"no network access to {MIRROR} ({error})"
    return None


def run(*argv, timeout=600, check=True, env=None):
    """Runs argv under nice, returns its CompletedProcess (text); fails with its output."""
    proc = subprocess.run(["nice", "-n", "19", *argv], capture_output=True, text=True,
                          timeout=timeout, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"{shlex.join(argv)} exited with {proc.returncode}:\n"
                             f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def unit_settings(path):
    """The [Service] settings of a unit file: name -> list of values, in order."""
    settings, section = {}, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                section = line
            elif section == "[Service]":
                key, _, value = line.partition("=")
                settings.setdefault(key, []).append(value)
    return settings


def environment_file(path):
    """The variables of a simple EnvironmentFile (KEY=VALUE lines, values optionally quoted)."""
    variables = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, _, value = line.partition("=")
            words = shlex.split(value)
            variables[key] = words[0] if words else ""
    return variables


def expand_command(command, variables):
    """A unit's command line as systemd runs it: $VAR splits on whitespace, ${VAR} does not."""
    argv = []
    for word in shlex.split(command):
        match = re.fullmatch(r"\$(\w+)", word)
        if match:
            argv.extend(variables.get(match.group(1), "").split())
        else:
            argv.append(re.sub(r"\$\{(\w+)\}", lambda m: variables.get(m.group(1), ""), word))
    return argv


def metric_lines(text):
    """sample name with labels -> value, from the text exposition format."""
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = value
    return samples


class PackageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.started = time.monotonic()
        cls.tmp = tempfile.mkdtemp(prefix="llmx-pkg-")
        os.chmod(cls.tmp, 0o755)
        cls.root = os.path.join(cls.tmp, "root")
        cls.proc_mounted = False
        try:
            cls.build_package()
            cls.make_root()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def build_package(cls):
        out = os.path.join(cls.tmp, "pkg")
        run(CPACK, "-G", "DEB", "--config", os.path.join(BUILD_DIR, "CPackConfig.cmake"),
            "-B", out)
        cls.deb = os.path.join(out, f"{PACKAGE}_{VERSION}_amd64.deb")
        assert os.path.isfile(cls.deb), f"cpack made no {os.path.basename(cls.deb)}: " \
                                        f"{os.listdir(out)}"
        cls.contents = os.path.join(cls.tmp, "contents")
        run("dpkg-deb", "-x", cls.deb, cls.contents)
        print(f"package: {os.path.basename(cls.deb)}, {os.path.getsize(cls.deb)} bytes",
              file=sys.stderr)

    @classmethod
    def make_root(cls):
        cache = os.path.join(BUILD_DIR, "package-test", "debs")
        os.makedirs(cache, exist_ok=True)
        run("debootstrap", "--variant=minbase", f"--cache-dir={cache}", "bookworm", cls.root,
            MIRROR)
        shutil.copy("/etc/resolv.conf", os.path.join(cls.root, "etc", "resolv.conf"))
        shutil.copy(cls.deb, os.path.join(cls.root, "tmp", "package.deb"))
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive",
               "LC_ALL": "C"}
        # dpkg -i stops at the missing dependencies; apt-get install -f fetches them and
        # configures the package (its postinst makes the user).
        cls.dpkg_i = run("chroot", cls.root, "dpkg", "-i", "/tmp/package.deb", check=False,
                         env=env)
        run("chroot", cls.root, "apt-get", "update", "-qq", env=env)
        run("chroot", cls.root, "apt-get", "install", "-f", "-y", "-qq",
            "--no-install-recommends", env=env)
        # Only for `systemd-analyze verify --root`, which resolves the unit's default
        # dependencies (sysinit.target ...) from the root's own systemd units.
        run("chroot", cls.root, "apt-get", "install", "-y", "-qq", "--no-install-recommends",
            "systemd", env=env)
        run("mount", "-t", "proc", "proc", os.path.join(cls.root, "proc"))
        cls.proc_mounted = True

    @classmethod
    def tearDownClass(cls):
        agent = getattr(cls, "agent", None)
        if agent is not None and agent.poll() is None:
            agent.kill()
            agent.wait()
        if cls.proc_mounted:
            subprocess.run(["umount", "-l", os.path.join(cls.root, "proc")], check=False)
        if not os.environ.get("LLM_EXPORTER_KEEP_PACKAGE_ROOT"):
            shutil.rmtree(cls.tmp, ignore_errors=True)
        print(f"package test: {time.monotonic() - cls.started:.0f} s", file=sys.stderr)

    def chroot(self, *argv, check=True):
        return run("chroot", self.root, *argv, check=check,
                   env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"})

    # -- the package itself ------------------------------------------------------------------

    def test_contents(self):
        listing = run("dpkg-deb", "-c", self.deb).stdout
        for path in ["./usr/bin/llm_exporter", "./usr/lib/llm-exporter/libssl.so",
                     "./usr/lib/llm-exporter/libcrypto.so", "." + UNIT,
                     "./usr/share/man/man1/llm_exporter.1.gz",
                     "./usr/share/doc/llm-exporter/copyright",
                     "./usr/share/doc/llm-exporter/changelog.gz",
                     "./usr/share/llm-exporter/dashboards/llm-overview.json",
                     "./usr/share/llm-exporter/rules/llm-alerts.rules.yml"] + \
                ["." + c for c in CONFFILES]:
            self.assertRegex(listing, rf" {re.escape(path)}\n", path)
        control = run("dpkg-deb", "-f", self.deb, "Package", "Version", "Architecture",
                      "Depends").stdout
        self.assertIn(f"Version: {VERSION}\n", control)
        self.assertIn("Architecture: amd64\n", control)
        # dpkg-shlibdeps wrote the library dependencies: OpenSSL's runtime package, never -dev.
        self.assertRegex(control, r"Depends: .*\blibssl3\b")
        self.assertRegex(control, r"Depends: .*\blibcivetweb1\b")
        self.assertNotIn("-dev", control)
        conffiles = run("dpkg-deb", "-I", self.deb, "conffiles").stdout.split()
        self.assertEqual(conffiles, CONFFILES)

    def test_lintian(self):
        proc = run("lintian", "--pedantic", "--display-info", self.deb, check=False)
        # Errors and warnings fail; what stays at info level is overridden, with the reason, in
        # packaging/debian/lintian-overrides. One override may go unused: the spelling hit "onthe"
        # comes from two strings the linker happens to store end to end, which not every build
        # does.
        report = [line for line in proc.stdout.splitlines() if re.match(r"[EWIP]: ", line)
                  and not re.match(r"I: llm-exporter: unused-override spelling-error-in-binary "
                                   r"onthe on the ", line)]
        self.assertEqual(report, [], proc.stdout + proc.stderr)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)

    def test_man_page(self):
        page = os.path.join(self.contents, "usr/share/man/man1/llm_exporter.1.gz")
        proc = run("man", "--warnings", "-l", page, env={**os.environ, "MANWIDTH": "80"})
        self.assertEqual(proc.stderr, "")
        for flag in ("--web.config.file", "--pricing.file", "--ingest.listen-unix"):
            self.assertIn(flag, proc.stdout)
        self.assertIn("/etc/default/llm-exporter", proc.stdout)

    def test_unit_security(self):
        proc = run("systemd-analyze", "security", "--offline=yes", "--no-pager",
                   os.path.join(self.contents, UNIT.lstrip("/")), check=False)
        match = re.search(r"Overall exposure level for llm-exporter\.service: ([0-9.]+)",
                          proc.stdout)
        self.assertIsNotNone(match, proc.stdout + proc.stderr)
        print(f"systemd-analyze security: exposure {match.group(1)}", file=sys.stderr)
        self.assertLessEqual(float(match.group(1)), MAX_EXPOSURE, proc.stdout)

    # -- installed in a clean Debian 12 ------------------------------------------------------

    def test_installed_with_runtime_libraries_only(self):
        # The plain dpkg -i could only have failed on dependencies, not on the package itself.
        if self.dpkg_i.returncode != 0:
            self.assertIn("dependency problems", self.dpkg_i.stderr)
        status = self.chroot("dpkg-query", "-W", "-f", "${Status} ${Version}", PACKAGE).stdout
        self.assertEqual(status, f"install ok installed {VERSION}")
        installed = self.chroot("dpkg-query", "-W", "-f", "${Package}\n").stdout.split()
        self.assertEqual([p for p in installed if p.endswith("-dev")], [])
        for directory in ("usr/lib/x86_64-linux-gnu", "lib/x86_64-linux-gnu"):
            for name in ("libssl.so", "libcrypto.so"):
                self.assertFalse(os.path.lexists(os.path.join(self.root, directory, name)))
        self.chroot("/usr/bin/llm_exporter", "--check-config",
                    "--pricing.file=/etc/llm-exporter/prices.json",
                    "--budgets.file=/etc/llm-exporter/budgets.json")
        passwd = self.chroot("getent", "passwd", "llm-exporter").stdout.strip().split(":")
        self.assertEqual(passwd[5:], ["/nonexistent", "/usr/sbin/nologin"])
        self.assertLess(int(passwd[2]), 1000)

    def test_unit_verify(self):
        # --man=no: Documentation= names the man page, which the root's man cannot look up
        # without man-db; test_man_page checks the page itself.
        proc = run("systemd-analyze", "verify", "--man=no", f"--root={self.root}", UNIT,
                   check=False)
        self.assertEqual((proc.returncode, proc.stdout + proc.stderr), (0, ""))

    def test_service_runs(self):
        unit = unit_settings(os.path.join(self.root, UNIT.lstrip("/")))
        user, group = unit["User"][0], unit["Group"][0]
        uid = int(self.chroot("id", "-u", user).stdout)
        gid = int(self.chroot("getent", "group", group).stdout.split(":")[2])

        # What an operator does: turn HTTPS on in /etc/default/llm-exporter, with a certificate
        # at the paths the shipped web config names. The test also moves the port off 9778, since
        # the chroot shares the machine's network.
        env_path = unit["EnvironmentFile"][0].lstrip("-")
        with open(os.path.join(self.root, env_path.lstrip("/"))) as f:
            text = f.read()
        port = free_port()
        text, edits = re.subn(r'^ARGS="(.*)"$', lambda m: f'ARGS="{m.group(1)} '
                              '--web.config.file=/etc/llm-exporter/web-config.yml '
                              f'--web.listen-address=127.0.0.1:{port}"', text, flags=re.M)
        self.assertEqual(edits, 1, text)
        with open(os.path.join(self.root, env_path.lstrip("/")), "w") as f:
            f.write(text)
        with open(os.path.join(self.root, "etc/llm-exporter/web-config.yml")) as f:
            web_config = f.read()
        cert = re.search(r"^\s*cert_file:\s*(\S+)", web_config, re.M).group(1)
        key = re.search(r"^\s*key_file:\s*(\S+)", web_config, re.M).group(1)
        host_cert = os.path.join(self.root, cert.lstrip("/"))
        host_key = os.path.join(self.root, key.lstrip("/"))
        os.makedirs(os.path.dirname(host_cert), exist_ok=True)
        os.makedirs(os.path.dirname(host_key), exist_ok=True)
        run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-days", "1", "-subj", "/CN=localhost", "-addext",
            "subjectAltName=IP:127.0.0.1", "-keyout", host_key, "-out", host_cert)
        os.chown(host_key, uid, gid)
        os.chmod(host_key, 0o600)

        # RuntimeDirectory=, as systemd makes it.
        run_dir = os.path.join(self.root, "run", unit["RuntimeDirectory"][0])
        os.makedirs(run_dir, exist_ok=True)
        os.chown(run_dir, uid, gid)
        os.chmod(run_dir, int(unit.get("RuntimeDirectoryMode", ["0755"])[0], 8))

        variables = environment_file(os.path.join(self.root, env_path.lstrip("/")))
        argv = expand_command(unit["ExecStart"][0], variables)
        log_path = os.path.join(self.tmp, "agent.log")
        with open(log_path, "w") as log:
            type(self).agent = subprocess.Popen(
                ["nice", "-n", "19", "chroot", self.root, "setpriv", f"--reuid={user}", f"--regid={group}",
                 "--init-groups", "--", *argv],
                stdout=log, stderr=subprocess.STDOUT,
                env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"})
        agent = self.agent

        def log():
            with open(log_path) as f:
                return f.read()

        context = ssl.create_default_context(cafile=host_cert)

        def https(method, path, body=None):
            conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
            try:
                conn.request(method, path, body=body)
                response = conn.getresponse()
                return response.status, response.read().decode()
            finally:
                conn.close()

        def ready():
            try:
                return https("GET", "/-/ready")[0] == 200
            except OSError:
                return False

        wait_for(lambda: ready() or agent.poll() is not None, 30, "the agent to serve HTTPS")
        self.assertIsNone(agent.poll(), log())

        # It runs as the unit's user, with our libssl.so and libcrypto.so in place of the -dev
        # package's.
        with open(f"/proc/{agent.pid}/status") as f:
            ids = re.search(r"^Uid:\s+(\d+)", f.read(), re.M).group(1)
        self.assertEqual(int(ids), uid)
        with open(f"/proc/{agent.pid}/maps") as f:
            maps = f.read()
        for name in ("libssl.so", "libcrypto.so"):
            self.assertRegex(maps, rf"/usr/lib/llm-exporter/{name}\n")

        # The default socket: writable by a member of the service's group, by nobody else.
        sock = os.path.join(run_dir, "events.sock")
        wait_for(lambda: os.path.exists(sock), 10, "the unix socket")
        line = json.dumps({"model": "gpt-4o", "endpoint": "/unix", "input_tokens": 1000,
                           "output_tokens": 500, "latency": 0.8, "user_id": "alice",
                           "team_id": "search"}) + "\n"
        sender = ("import socket, sys\n"
                  "s = socket.socket(socket.AF_UNIX)\n"
                  "s.connect(sys.argv[1])\n"
                  "s.sendall(sys.argv[2].encode())\n")
        refused = run("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--",
                      sys.executable, "-c", sender, sock, line, check=False)
        self.assertIn("PermissionError", refused.stderr)
        run("setpriv", "--reuid=65534", f"--regid={gid}", "--clear-groups", "--",
            sys.executable, "-c", sender, sock, line)

        status, body = https("POST", "/v1/events", json.dumps(
            {"model": "gpt-4o", "endpoint": "/https", "input_tokens": 1000, "output_tokens": 500,
             "latency": 0.8, "user_id": "alice", "team_id": "search"}))
        self.assertEqual((status, json.loads(body)),
                         (200, {"accepted": 1, "errors": [], "rejected": 0}))

        def scrape():
            status, text = https("GET", "/metrics")
            self.assertEqual(status, 200)
            return metric_lines(text)

        unix_series = 'llm_requests_total{model="gpt-4o",endpoint="/unix",status="success"}'
        wait_for(lambda: unix_series in scrape(), 10, "the socket's event in the scrape")
        samples = scrape()
        # Priced by the shipped /etc/llm-exporter/prices.json: 1000 x 2.5 + 500 x 10 per 1M.
        self.assertEqual(samples[unix_series], "1")
        self.assertEqual(
            samples['llm_requests_total{model="gpt-4o",endpoint="/https",status="success"}'], "1")
        self.assertEqual(samples['llm_tokens_total{model="gpt-4o",direction="input"}'], "2000")
        self.assertEqual(samples['llm_tokens_total{model="gpt-4o",direction="output"}'], "1000")
        self.assertEqual(
            samples['llm_cost_usd_total{model="gpt-4o",user_id="alice",team_id="search"}'],
            "0.015")

        # systemctl reload: the unit's ExecReload, with $MAINPID. The new input price applies to
        # the next event: 1000 x 5 + 500 x 10 per 1M = 0.01 more.
        prices_path = os.path.join(self.root, "etc/llm-exporter/prices.json")
        with open(prices_path) as f:
            prices = json.load(f)
        prices["models"]["gpt-4o"]["input"] = 5
        with open(prices_path, "w") as f:
            json.dump(prices, f)
        self.chroot(*expand_command(unit["ExecReload"][0], {"MAINPID": str(agent.pid)}))
        reloads = 'llm_exporter_pricing_reloads_total{result="success"}'
        wait_for(lambda: scrape().get(reloads) == "1", 10, "the reload")
        self.assertEqual(https("POST", "/v1/events", json.dumps(
            {"model": "gpt-4o", "endpoint": "/https", "input_tokens": 1000, "output_tokens": 500,
             "latency": 0.8, "user_id": "alice", "team_id": "search"}))[0], 200)
        self.assertEqual(
            scrape()['llm_cost_usd_total{model="gpt-4o",user_id="alice",team_id="search"}'],
            "0.025")

        agent.send_signal(signal.SIGTERM)
        self.assertEqual(agent.wait(timeout=30), 0, log())
        self.assertNotIn("level=error", log())


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


if __name__ == "__main__":
    reason = missing_prerequisite()
    if reason:
        if os.environ.get("CI"):
            raise SystemExit(f"package.deb: {reason}, and CI is set")
        print(f"SKIPPED: package.deb: {reason}")
        sys.exit(EXIT_SKIPPED)
    unittest.main(verbosity=2)
