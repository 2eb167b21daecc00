#!/usr/bin/env python3
"""Thread-count sweep: speedup curves of corepool and rayon side by side (issue #20).

Runs the compare runner's CPU workloads (benches/compare, the same code as its tables) at
1, 2, 4, ... threads up to this machine's core count (the count itself included), then at 2x
and 4x the core count (oversubscription), and prints per workload and system the time and the
speedup over the same system at one thread, as markdown; writes the same as an SVG chart (one
panel per workload, one curve per system, the ideal line up to the core count).

    python3 benches/sweep.py                  # full sizes, 3 repetitions
    python3 benches/sweep.py --quick --reps 1 # small sizes (a smoke run)
    python3 benches/sweep.py [--only fib,tree_sum] [--systems corepool,rayon,corepool-nopin]
                             [--points 1,2,8] [--out DIR]

Nothing here depends on the machine: the core count is read at run time (the affinity mask, as
num_cpus does), so the same command sweeps a 2-core laptop or a 256-core server. Every point is
a fresh process (the compare runner's child mode, `--one WORKLOAD SYSTEM`) with the thread count
in COREPOOL_BENCH_THREADS; the systems are alternated within each repetition, and the median
over the repetitions is reported. Python 3 standard library only.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TAG = "@@compare"
THREADS_ENV = "COREPOOL_BENCH_THREADS"
# The compare runner's CPU workloads that rayon also runs (the blocking, latency and memory
# rows do not measure scaling).
WORKLOADS = ["fib", "tree_sum", "spawn_empty", "spawn_chain", "nested_spawn", "map"]
SYSTEMS = ["corepool", "rayon"]
COLOURS = {"corepool": "#1f77b4", "rayon": "#d62728", "corepool-nopin": "#2ca02c"}


def cores():
    """The cores this process may run on (the affinity mask, as num_cpus reads it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def thread_points(n):
    """1, 2, 4, ... below n, n itself, then 2n and 4n."""
    points = []
    p = 1
    while p < n:
        points.append(p)
        p *= 2
    points += [n, 2 * n, 4 * n]
    return sorted(set(points))


def build():
    """Builds the compare runner once; returns its executable."""
    out = subprocess.run(
        ["cargo", "bench", "--bench", "compare", "--no-run", "--message-format=json"],
        cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True,
    ).stdout
    for line in out.splitlines():
        try:
            msg = json.loads(line)
        except json.JSONDecodeError:
            continue
        if msg.get("reason") == "compiler-artifact" and msg.get("target", {}).get("name") == "compare" \
                and msg.get("executable"):
            return msg["executable"]
    sys.exit("sweep: cargo did not report the compare executable")


def run_one(exe, workload, system, threads, quick):
    """One fresh process; the time in seconds, or None if it failed."""
    cmd = [exe, "--one", workload, system] + (["--quick"] if quick else [])
    env = dict(os.environ, **{THREADS_ENV: str(threads)})
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith(TAG):
            fields = dict(f.split("=", 1) for f in line.split()[3:])
            if "time" in fields:
                return float(fields["time"])
    sys.stderr.write(f"sweep: {workload} {system} at {threads} threads failed:\n{proc.stderr}\n")
    return None


def fmt_time(t):
    if t is None:
        return "—"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if t >= scale:
            return f"{t / scale:.3g} {unit}"
    return f"{t / 1e-9:.3g} ns"


def svg(results, points, n_cores, systems, title):
    """One panel per workload: speedup over threads (log2 axis), a curve per system."""
    workloads = list(results)
    cols = min(3, len(workloads))
    rows = (len(workloads) + cols - 1) // cols
    pw, ph, m = 300, 220, 45
    width, height = cols * pw + 20, rows * ph + 70
    ymax = max([n_cores] + [s for w in results.values() for c in w.values() for s in c["speedup"].values()
                            if s is not None])
    ymax = max(1.0, ymax) * 1.1
    xs = sorted(points)
    import math
    lx = [math.log2(p) for p in xs]
    lo, hi = lx[0], lx[-1] if lx[-1] > lx[0] else lx[0] + 1
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           f'<rect width="100%" height="100%" fill="white"/>',
           f'<text x="10" y="18" font-size="13">{title}</text>']
    for i, sys_name in enumerate(systems):
        x0 = 10 + i * 140
        out.append(f'<line x1="{x0}" y1="36" x2="{x0 + 20}" y2="36" stroke="{COLOURS.get(sys_name, "#555")}" '
                   f'stroke-width="2"/><text x="{x0 + 25}" y="40">{sys_name}</text>')
    x0 = 10 + len(systems) * 140
    out.append(f'<line x1="{x0}" y1="36" x2="{x0 + 20}" y2="36" stroke="#999" stroke-dasharray="4 3"/>'
               f'<text x="{x0 + 25}" y="40">ideal (up to {n_cores} cores)</text>')
    for k, w in enumerate(workloads):
        ox, oy = 10 + (k % cols) * pw, 55 + (k // cols) * ph
        left, right, top, bottom = ox + m, ox + pw - 10, oy + 20, oy + ph - 30

        def px(p):
            return left + (math.log2(p) - lo) / (hi - lo) * (right - left)

        def py(s):
            return bottom - s / ymax * (bottom - top)

        out.append(f'<text x="{ox + m}" y="{oy + 12}" font-size="12">{w}</text>')
        out.append(f'<rect x="{left}" y="{top}" width="{right - left}" height="{bottom - top}" '
                   f'fill="none" stroke="#ccc"/>')
        for p in xs:
            out.append(f'<text x="{px(p):.1f}" y="{bottom + 14}" text-anchor="middle">{p}</text>')
        for frac in (0.25, 0.5, 0.75, 1.0):
            s = ymax * frac
            out.append(f'<text x="{left - 4}" y="{py(s) + 4:.1f}" text-anchor="end">{s:.1f}</text>')
        out.append(f'<line x1="{px(n_cores):.1f}" y1="{top}" x2="{px(n_cores):.1f}" y2="{bottom}" '
                   f'stroke="#eee"/>')
        ideal = [p for p in xs if p <= n_cores] + [p for p in xs if p > n_cores]
        pts = " ".join(f"{px(p):.1f},{py(min(p, n_cores)):.1f}" for p in ideal)
        out.append(f'<polyline points="{pts}" fill="none" stroke="#999" stroke-dasharray="4 3"/>')
        for sys_name in systems:
            curve = results[w].get(sys_name)
            if not curve:
                continue
            pts = [(p, curve["speedup"].get(p)) for p in xs]
            pts = [(p, s) for p, s in pts if s is not None]
            colour = COLOURS.get(sys_name, "#555")
            out.append('<polyline points="' + " ".join(f"{px(p):.1f},{py(s):.1f}" for p, s in pts)
                       + f'" fill="none" stroke="{colour}" stroke-width="2"/>')
            for p, s in pts:
                out.append(f'<circle cx="{px(p):.1f}" cy="{py(s):.1f}" r="2.5" fill="{colour}"/>')
        out.append(f'<text x="{(left + right) / 2}" y="{bottom + 26}" text-anchor="middle" fill="#666">'
                   f'threads (speedup over 1 thread)</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (the compare runner's --quick)")
    ap.add_argument("--reps", type=int, default=3, help="repetitions per point (median reported)")
    ap.add_argument("--only", help="comma-separated workloads (default: %s)" % ",".join(WORKLOADS))
    ap.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated systems")
    ap.add_argument("--points", help="comma-separated thread counts (default: powers of two up to "
                                     "the cores, the cores, 2x and 4x)")
    ap.add_argument("--out", default=str(ROOT / "target" / "sweep"), help="where sweep.md/.svg go")
    args = ap.parse_args()
    workloads = args.only.split(",") if args.only else WORKLOADS
    systems = args.systems.split(",")
    n_cores = cores()
    points = [int(p) for p in args.points.split(",")] if args.points else thread_points(n_cores)
    if 1 not in points:
        points = [1] + points
    exe = build()
    load = " ".join(open("/proc/loadavg").read().split()[:3]) if os.path.exists("/proc/loadavg") else "n/a"
    times = {w: {s: {p: [] for p in points} for s in systems} for w in workloads}
    for rep in range(args.reps):
        for w in workloads:
            for p in points:
                order = systems[rep % len(systems):] + systems[:rep % len(systems)]
                for s in order:
                    t = run_one(exe, w, s, p, args.quick)
                    if t is not None:
                        times[w][s][p].append(t)
                    print(f"sweep: rep {rep + 1}/{args.reps} {w} {s} {p} threads: {fmt_time(t)}",
                          file=sys.stderr, flush=True)
    results = {}
    for w in workloads:
        results[w] = {}
        for s in systems:
            med = {p: statistics.median(v) if v else None for p, v in times[w][s].items()}
            base = med.get(1)
            speedup = {p: (base / t if base and t else None) for p, t in med.items()}
            results[w][s] = {"median": med, "speedup": speedup}
    load_end = " ".join(open("/proc/loadavg").read().split()[:3]) if os.path.exists("/proc/loadavg") else "n/a"
    lines = [f"Thread-count sweep: {n_cores} cores (affinity mask), {'quick' if args.quick else 'full'} "
             f"sizes, {args.reps} repetition(s), medians; load average at start {load}, at end {load_end}. "
             f"Speedup = the same system's time at 1 thread ÷ its time at n threads; "
             f"{2 * n_cores} and {4 * n_cores} threads are 2× and 4× oversubscribed.", ""]
    header = "| workload | system | " + " | ".join(f"{p} thr" for p in points) + " |"
    lines += [header, "|---|---|" + "---:|" * len(points)]
    for w in workloads:
        for s in systems:
            r = results[w][s]
            cells = []
            for p in points:
                t, sp = r["median"][p], r["speedup"][p]
                cells.append("—" if t is None else f"{fmt_time(t)} ({sp:.2f}×)")
            lines.append(f"| {w} | {s} | " + " | ".join(cells) + " |")
    table = "\n".join(lines) + "\n"
    print(table)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "sweep.md").write_text(table)
    title = f"speedup over 1 thread, {n_cores} cores, {'quick' if args.quick else 'full'} sizes, medians of {args.reps}"
    (out / "sweep.svg").write_text(svg(results, points, n_cores, systems, title))
    print(f"sweep: wrote {out / 'sweep.md'} and {out / 'sweep.svg'}", file=sys.stderr)


if __name__ == "__main__":
    main()
