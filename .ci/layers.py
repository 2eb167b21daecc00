#!/usr/bin/env python3
"""Checks that corepool's modules import only downwards through its layers.

Each file under src/ belongs to a layer (by its folder, or by name for the files at the top);
an import `crate::a::b` names the module it reaches, and so a layer. An edge from a lower
layer to a higher one is an error unless it is listed in ALLOWED, each with its reason (the
same list is in ARCHITECTURE.md, "Deliberate exceptions"). Edges inside one layer are free.

Usage: .ci/layers.py [--graph]   (exit 1 on an edge that runs up)
"""
import os
import re
import sys

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")

# Lowest first. A module path (its first one or two segments) maps to a layer.
LAYERS = [
    ("sync", ["sync"]),
    ("metrics", ["metrics"]),
    ("sched", ["sched"]),
    ("task", ["task"]),
    ("spawn", ["spawn", "blocking", "futures"]),
    ("face", ["pool", "global", "builder", "error", "loom_api"]),
    ("par", ["par"]),
    ("lib", ["lib"]),
]
RANK = {m: i for i, (_, mods) in enumerate(LAYERS) for m in mods}
NAME = {i: n for i, (n, _) in enumerate(LAYERS)}

# (from module, to module): reason. Keep in step with ARCHITECTURE.md.
ALLOWED = {
    ("*", "error"): "the public error types are leaf types every layer may return",
}



def root_names():
    """Names re-exported at the crate root (`pub use a::b::{X, Y}` in lib.rs) -> their module."""
    text = open(os.path.join(SRC, "lib.rs"), encoding="utf-8").read()
    names = {}
    for m in re.finditer(r"pub use ([a-z_]+)(?:::[a-z_]+)*::(\{[^}]*\}|[A-Za-z_0-9]+);", text):
        for name in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", m.group(2)):
            names[name] = m.group(1)
    return names


ROOT_NAMES = root_names()


def module_of(path):
    rel = os.path.relpath(path, SRC)
    parts = rel[:-3].split(os.sep)  # strip .rs
    if parts[-1] in ("mod",):
        parts = parts[:-1]
    return parts


def top(mod_parts):
    return mod_parts[0]


def main():
    graph = "--graph" in sys.argv
    edges = set()
    for root, _, files in os.walk(SRC):
        for f in files:
            if not f.endswith(".rs"):
                continue
            path = os.path.join(root, f)
            src_mod = top(module_of(path))
            text = open(path, encoding="utf-8").read()
            # Drop comments so prose that names a path does not count.
            text = re.sub(r"//[^\n]*", "", text)
            targets = [m.group(1) for m in re.finditer(r"crate::([A-Za-z_][A-Za-z0-9_]*)", text)]
            for m in re.finditer(r"crate::\{([^}]*)\}", text):
                targets += re.findall(r"(?:^|,)\s*([A-Za-z_][A-Za-z0-9_]*)", m.group(1))
            for dst in targets:
                if dst not in RANK:
                    dst = ROOT_NAMES.get(dst, "lib")
                if dst == src_mod:
                    continue
                edges.add((os.path.relpath(path, SRC), src_mod, dst))
    bad = []
    for rel, s, d in sorted(edges):
        if s not in RANK:
            print(f"layers: {rel}: module `{s}` is in no layer", file=sys.stderr)
            bad.append(rel)
            continue
        up = RANK[d] > RANK[s]
        if graph:
            print(f"{rel}: {s} ({NAME[RANK[s]]}) -> {d} ({NAME[RANK[d]]}){'  UP' if up else ''}")
        if up and (s, d) not in ALLOWED and ("*", d) not in ALLOWED:
            bad.append(f"{rel}: {s} ({NAME[RANK[s]]}) imports {d} ({NAME[RANK[d]]})")
    n_up = sum(1 for _, s, d in edges if s in RANK and RANK[d] > RANK[s])
    print(f"layers: {len(edges)} cross-module import edges, {n_up} upward, "
          f"{len(bad)} not allowed")
    for b in bad:
        print("  " + b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
