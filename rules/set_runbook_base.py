#!/usr/bin/env python3
"""Writes the alert rules with the runbook links pointing at your copy of docs/runbook.md.

Every alert of llm-alerts.rules.yml carries an absolute `runbook_url`, by default

    https://github.com/llm-exporter/llm_exporter/blob/main/docs/runbook.md#<alert, lower case>

Where the runbook lives elsewhere (a wiki page, an internal Git host), this script writes the rule
files with another base URL; each link keeps its `#<alert>` anchor:

    python3 rules/set_runbook_base.py --base-url https://wiki.example.com/llm/runbook --out DIR

DIR receives llm-alerts.rules.yml with the new links and an unchanged copy of
llm-recording.rules.yml, so that it holds both files Prometheus loads. Without --out the rules
next to this script are rewritten in place. Only the runbook_url lines change; comments and
layout stay as they are. Needs python3 and python3-yaml (to check the result).
"""
import argparse
import os
import re
import shutil
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_BASE_URL = "https://github.com/llm-exporter/llm_exporter/blob/main/docs/runbook.md"
ALERTS = "llm-alerts.rules.yml"
RECORDING = "llm-recording.rules.yml"
# `runbook_url: <base>#<anchor>` as the rules file writes it: one plain scalar on one line.
RUNBOOK_LINE = re.compile(
    r"^(?P<lead>[ \t]*runbook_url:[ \t]*)(?P<base>[^#\s]+)#(?P<anchor>[\w-]+)[ \t]*$", re.M)


class UsageError(Exception):
    pass


def check_base_url(url):
    """The base must be an absolute http(s) URL that YAML keeps as written on one line."""
    if not re.match(r"^https?://[^/\s]+", url):
        raise UsageError(f"--base-url must be an absolute http:// or https:// URL, got {url!r}")
    if "#" in url:
        raise UsageError(f"--base-url must not contain '#': each alert adds its own #anchor, "
                         f"got {url!r}")
    bad = sorted({c for c in url if c.isspace() or c in "\"'\\{}"})
    if bad:
        raise UsageError(f"--base-url must not contain {' '.join(repr(c) for c in bad)}, "
                         f"got {url!r}")
    return url


def rebase(text, base_url):
    """The rules text with every runbook_url's base replaced; raises if a rule has none."""
    new_text, count = RUNBOOK_LINE.subn(
        lambda m: f"{m.group('lead')}{base_url}#{m.group('anchor')}", text)
    alerts = [r for g in yaml.safe_load(new_text)["groups"] for r in g["rules"] if "alert" in r]
    if count != len(alerts):
        raise UsageError(f"{ALERTS}: found {count} runbook_url lines for {len(alerts)} alerts")
    for rule in alerts:
        url = rule.get("annotations", {}).get("runbook_url", "")
        if not url.startswith(base_url + "#"):
            raise UsageError(f"{ALERTS}: alert {rule['alert']} has runbook_url {url!r}")
    return new_text


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Write the llm_exporter alert rules with runbook links into your runbook.")
    parser.add_argument("--base-url", required=True,
                        help="URL of your copy of docs/runbook.md, without #anchor "
                             f"(default in the committed rules: {DEFAULT_BASE_URL})")
    parser.add_argument("--out", default=HERE,
                        help="directory to write the rule files to "
                             "(default: in place, %(default)s)")
    args = parser.parse_args(argv)
    try:
        base_url = check_base_url(args.base_url)
        with open(os.path.join(HERE, ALERTS), encoding="utf-8") as f:
            text = rebase(f.read(), base_url)
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, ALERTS), "w", encoding="utf-8") as f:
            f.write(text)
        recording = os.path.join(HERE, RECORDING)
        if not os.path.exists(os.path.join(args.out, RECORDING)) or not os.path.samefile(
                recording, os.path.join(args.out, RECORDING)):
            shutil.copyfile(recording, os.path.join(args.out, RECORDING))
    except (UsageError, OSError) as e:
        print(f"set_runbook_base.py: error: {e}", file=sys.stderr)
        return 2
    print(f"Wrote {os.path.join(args.out, ALERTS)} and {RECORDING} with runbook links to "
          f"{base_url}#<alert>")
    return 0


if __name__ == "__main__":
    sys.exit(main())
