#!/usr/bin/env python3
"""Checks that corepool's modules import only downwards through its layers.

Each file under src/ belongs to a layer (by its folder, or by name for the files at the top);
an import `crate::a::b` names the module it reaches, and so a layer. An edge from a lower
layer to a higher one is an error unless it is listed in ALLOWED, each with its reason (the
same list is in ARCHITECTURE.md, "Deliberate exceptions"). Edges inside one layer are free.

It also finds the import cycles between files (strongly connected components of the
file-level import graph) and fails on a cycle whose files are not all in one layer: a cycle
inside a layer (the worker and the registry name each other) is a design choice; one across
layers means some file reaches up.

Usage: .ci/layers.py [--graph] [--cycles]   (exit 1 on an edge that runs up, or a cycle
across layers; --cycles prints every cycle)
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
    ("iter", ["iter", "prelude"]),
    ("par", ["par"]),
    ("lib", ["lib"]),
]
RANK = {m: i for i, (_, mods) in enumerate(LAYERS) for m in mods}
NAME = {i: n for i, (n, _) in enumerate(LAYERS)}

# (from module, to module): reason. Keep in step with ARCHITECTURE.md.
ALLOWED = {
    ("*", "error"): "the public error types are leaf types every layer may return",
}



def file_modules():
    """Every module of src/ as a tuple of path segments -> its file."""
    mods = {}
    for root, _, files in os.walk(SRC):
        for f in files:
            if f.endswith(".rs"):
                path = os.path.join(root, f)
                mods[tuple(module_of(path))] = path
    return mods


def resolve(segments, mods, roots):
    """The longest module prefix of `crate::segments`."""
    if segments and segments[0] not in RANK and segments[0] in roots:
        return roots[segments[0]]
    for n in range(len(segments), 0, -1):
        if tuple(segments[:n]) in mods:
            return tuple(segments[:n])
    return ("lib",)


def cycles(mods):
    """Strongly connected components (size > 1) of the file-level import graph."""
    roots = {}
    text = open(os.path.join(SRC, "lib.rs"), encoding="utf-8").read()
    for m in re.finditer(r"pub use ((?:[a-z_]+::)+)(\{[^}]*\}|[A-Za-z_0-9]+);", text):
        path = tuple(m.group(1).rstrip(":").split("::"))
        for name in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", m.group(2)):
            roots[name] = resolve(list(path), mods, {})
    graph = {m: set() for m in mods}
    for mod, path in mods.items():
        text = re.sub(r"//[^\n]*", "", open(path, encoding="utf-8").read())
        paths = [m.group(1) for m in re.finditer(r"crate::((?:[A-Za-z_][A-Za-z0-9_]*::)*[A-Za-z_][A-Za-z0-9_]*)", text)]
        for m in re.finditer(r"crate::((?:[a-z_]+::)*)\{([^}]*)\}", text):
            for item in m.group(2).split(","):
                item = item.strip()
                if item:
                    paths.append(m.group(1) + item.split(" ")[0])
        for p in paths:
            target = resolve([x for x in p.split("::") if x and x != "{"], mods, roots)
            if target != mod and target in graph:
                graph[mod].add(target)
    index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted("::".join(c) for c in comp))

    for v in graph:
        if v not in index:
            visit(v)
    return comps


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
    comps = cycles(file_modules())
    for comp in comps:
        layers = {NAME[RANK[c.split("::")[0]]] for c in comp if c.split("::")[0] in RANK}
        if "--cycles" in sys.argv:
            print(f"cycle of {len(comp)} ({', '.join(sorted(layers))}): {' '.join(comp)}")
        if len(layers) > 1:
            bad.append(f"import cycle across layers {sorted(layers)}: {' '.join(comp)}")
    biggest = max((len(c) for c in comps), default=0)
    print(f"layers: {len(comps)} import cycles between files, the largest of {biggest}")
    n_up = sum(1 for _, s, d in edges if s in RANK and RANK[d] > RANK[s])
    print(f"layers: {len(edges)} cross-module import edges, {n_up} upward, "
          f"{len(bad)} not allowed")
    for b in bad:
        print("  " + b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
