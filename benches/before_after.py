#!/usr/bin/env python3
"""Before/after of one change, per compare-runner row, in one window with builds alternated.

    python3 benches/before_after.py BEFORE_COMPARE_EXE AFTER_COMPARE_EXE [--reps N] [--quick]

Each argument is a `compare` bench executable (`cargo bench --bench compare --no-run` prints
its path; build the "before" one from the older commit and copy it aside). For every repetition
and every row, the corepool systems run once from each build and the peers once from the "after"
build (the peers' code is the same in both), each in a fresh process (`--one ROW SYSTEM`), the
order rotating per repetition so that load from elsewhere hits both builds alike. Prints a
markdown table of medians: before, after, the best peer, and the ratios.
"""
import statistics
import subprocess
import sys

# Systems only the "after" build has (a new API), run from it alone.
AFTER_ONLY = {
    "spawn_empty": ["corepool-detached"],
    "spawn_chain": ["corepool-detached"],
}

ROWS = {
    # row: (corepool systems, peers)
    "fib": (["corepool"], ["rayon", "sequential"]),
    "tree_sum": (["corepool"], ["rayon", "sequential"]),
    "spawn_empty": (["corepool"], ["threadpool", "rayon"]),
    "spawn_chain": (["corepool"], ["rayon", "tokio"]),
    "nested_spawn": (["corepool"], ["rayon"]),
    "offload": (["corepool", "corepool-async"], ["tokio", "rayon"]),
    "wake_latency": (["corepool"], ["threadpool", "tokio"]),
}


def run(exe, row, system, quick):
    cmd = [exe, "--one", row, system] + (["--quick"] if quick else [])
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith("@@compare "):
            return {k: float(v) for k, v in (kv.split("=") for kv in line.split()[3:])}
    raise RuntimeError(f"no result from {cmd}: {out}")


def fmt(seconds):
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds:.3g} s"


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    before, after = args[0], args[1]
    reps = int(args[args.index("--reps") + 1]) if "--reps" in args else 5
    quick = "--quick" in args
    only = args[args.index("--only") + 1].split(",") if "--only" in args else list(ROWS)
    samples = {}  # (row, build, system, metric) -> [values]
    for rep in range(reps):
        for row in only:
            cps, peers = ROWS[row]
            cells = [("before", before, s) for s in cps] + [("after", after, s) for s in cps]
            cells += [("after", after, s) for s in AFTER_ONLY.get(row, [])]
            cells += [("peer", after, s) for s in peers]
            k = rep % len(cells)
            for build, exe, system in cells[k:] + cells[:k]:
                for metric, value in run(exe, row, system, quick).items():
                    samples.setdefault((row, build, system, metric), []).append(value)
        print(f"repetition {rep + 1}/{reps} done", file=sys.stderr)
    med = {key: statistics.median(v) for key, v in samples.items()}
    print("| row | metric | system | before | after | after ÷ before | best peer | before ÷ peer | after ÷ peer |")
    print("|---|---|---|---:|---:|---:|---|---:|---:|")
    for row in only:
        cps, peers = ROWS[row]
        metrics = sorted({m for (r, b, s, m) in med if r == row})
        for metric in metrics:
            real_peers = [p for p in peers if p != "sequential"]
            best = min(real_peers, key=lambda p: med[(row, "peer", p, metric)])
            pv = med[(row, "peer", best, metric)]
            for system in cps:
                b = med[(row, "before", system, metric)]
                a = med[(row, "after", system, metric)]
                print(f"| {row} | {metric} | {system} | {fmt(b)} | {fmt(a)} | {a / b:.2f}× | "
                      f"{best} {fmt(pv)} | {b / pv:.2f}× | {a / pv:.2f}× |")
            for system in AFTER_ONLY.get(row, []):
                a = med[(row, "after", system, metric)]
                print(f"| {row} | {metric} | {system} (new) | – | {fmt(a)} | – | "
                      f"{best} {fmt(pv)} | – | {a / pv:.2f}× |")
            if "sequential" in peers:
                sv = med[(row, "peer", "sequential", metric)]
                b = med[(row, "before", cps[0], metric)]
                a = med[(row, "after", cps[0], metric)]
                print(f"| {row} | {metric} | ÷ sequential {fmt(sv)} |  |  |  |  | {b / sv:.2f}× | {a / sv:.2f}× |")


if __name__ == "__main__":
    main()
