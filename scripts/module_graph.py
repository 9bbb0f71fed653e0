#!/usr/bin/env python3
"""Prints the module dependency graph from the CMake targets, as docs/architecture.md shows it.

CMake configures the source tree in a scratch directory with --graphviz; the graph of the
llm_exporter_* libraries (and the executable) is read back from the dot file, so it is the graph
the build really uses. With --check, compares it with the block in docs/architecture.md between
the module-graph markers and exits 1 when they differ.

    python3 scripts/module_graph.py            # print the table
    python3 scripts/module_graph.py --check    # does docs/architecture.md match?
    python3 scripts/module_graph.py --write    # put the table into docs/architecture.md
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(SOURCE_DIR, "docs", "architecture.md")
BEGIN, END = "<!-- module-graph:begin -->", "<!-- module-graph:end -->"
# Targets that are plumbing, not modules: the shared headers, the generated version header, the
# generated OTLP protobuf headers and the exposition protobuf classes the expose tests parse with.
PLUMBING = {"llm_exporter_headers", "llm_exporter_version", "llm_exporter_otlp_proto",
            "llm_exporter_expose_proto"}
EDGE = re.compile(r'^\s*"\w+" -> "\w+"\s*(?:\[ style = (\w+) \])?\s*// (\S+) -> (\S+)$')


def module_name(target):
    """llm_exporter_transport_http -> transport_http; the executable stays llm_exporter."""
    if target == "llm_exporter":
        return target
    if target.startswith("llm_exporter::"):
        return target[len("llm_exporter::"):]
    if target.startswith("llm_exporter_") and target not in PLUMBING:
        return target[len("llm_exporter_"):]
    return None


def read_graph():
    """{module: {dependency: "public" | "private"}} for every module and the executable; a
    library from outside the project is "other:" and its CMake name (prometheus-cpp::core)."""
    with tempfile.TemporaryDirectory() as scratch:
        dot = os.path.join(scratch, "graph.dot")
        subprocess.run(
            ["cmake", "-S", SOURCE_DIR, "-B", os.path.join(scratch, "build"),
             "-DLLM_EXPORTER_BUILD_TESTS=OFF", "-DLLM_EXPORTER_BUILD_BENCH=OFF",
             "--graphviz=" + dot],
            check=True, stdout=subprocess.DEVNULL)
        with open(dot, encoding="utf-8") as f:
            lines = f.read().splitlines()
    graph = {}
    for line in lines:
        match = EDGE.match(line)
        if not match:
            continue
        style, source, target = match.groups()
        source_module = module_name(source)
        if source_module is None or target in PLUMBING:
            continue
        target_module = module_name(target)
        if target_module is None:  # a library from outside the project: "other:" marks it
            target_module = "other:" + target
        if target_module == source_module:
            continue
        # no style: PUBLIC (the dependant's users see it too); dotted: PRIVATE.
        kind = "private" if style == "dotted" else "public"
        deps = graph.setdefault(source_module, {})
        if deps.get(target_module) != "public":
            deps[target_module] = kind
    return graph


def render(graph):
    """One row per module: the modules it links, publicly (its users see them too) or
    privately, and the libraries from outside the project."""
    rows = ["| module | modules, public | modules, private | other libraries |",
            "|---|---|---|---|"]
    modules = sorted(graph, key=lambda m: (m == "llm_exporter", m))
    for module in modules:
        deps = graph[module]
        public = ", ".join(sorted(d for d, k in deps.items()
                                  if k == "public" and not d.startswith("other:"))) or "-"
        private = ", ".join(sorted(d for d, k in deps.items()
                                   if k == "private" and not d.startswith("other:"))) or "-"
        other = ", ".join(sorted(d[len("other:"):] + (" (private)" if k == "private" else "")
                                 for d, k in deps.items() if d.startswith("other:"))) or "-"
        name = "`llm_exporter` (src/main.cpp)" if module == "llm_exporter" else f"`{module}`"
        rows.append(f"| {name} | {public} | {private} | {other} |")
    return "\n".join(rows) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare with docs/architecture.md instead of printing")
    parser.add_argument("--write", action="store_true",
                        help="replace the table in docs/architecture.md")
    args = parser.parse_args()
    table = render(read_graph())
    if not args.check and not args.write:
        sys.stdout.write(table)
        return 0
    with open(DOC, encoding="utf-8") as f:
        doc = f.read()
    if BEGIN not in doc or END not in doc:
        print(f"{DOC} has no {BEGIN} ... {END} block")
        return 1
    before, rest = doc.split(BEGIN, 1)
    documented, after = rest.split(END, 1)
    if args.write:
        with open(DOC, "w", encoding="utf-8") as f:
            f.write(before + BEGIN + "\n" + table + END + after)
        return 0
    documented = documented.strip() + "\n"
    if documented != table:
        print("docs/architecture.md's module graph differs from the CMake targets; "
              "replace its block with the output of scripts/module_graph.py:\n")
        sys.stdout.write(table)
        return 1
    print("docs/architecture.md matches the CMake targets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
