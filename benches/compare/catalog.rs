//! What runs: the workloads, the systems each runs on, the metrics each reports, and how those
//! are labelled and formatted. Shared by the parent and the child.

use crate::workloads::Sizes;

/// A workload of issue #5.
pub struct Workload {
    /// The name used on the command line and in the result lines.
    pub name: &'static str,
    /// The systems it runs on, in the order of the table.
    pub systems: &'static [&'static str],
    /// The metrics its children report (all lower-is-better).
    pub metrics: &'static [&'static str],
    /// One line on what is measured and how.
    pub note: &'static str,
}

/// How a system takes part in the ratios.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Role {
    /// corepool itself (defaults, or `Pinning::None`).
    Corepool,
    /// A peer: counts for "best peer".
    Peer,
    /// The sequential baseline.
    Sequential,
}

pub fn role(system: &str) -> Role {
    match system {
        "corepool" | "corepool-nopin" | "corepool-async" | "corepool-blocking"
        | "corepool-group-64" | "corepool-detached" => Role::Corepool,
        "sequential" => Role::Sequential,
        _ => Role::Peer,
    }
}

const CP: &str = "corepool";
const NOPIN: &str = "corepool-nopin";

pub const WORKLOADS: &[Workload] = &[
    Workload {
        name: "fib",
        systems: &[CP, NOPIN, "rayon", "sequential"],
        metrics: &["time"],
        note: "`join` at every level, no cutoff; corepool::join vs rayon::join inside `install`; result asserted.",
    },
    Workload {
        name: "tree_sum",
        systems: &[CP, NOPIN, "rayon", "sequential"],
        metrics: &["time"],
        note: "complete tree of boxed nodes built once (not timed), one `join` per internal node; sum asserted.",
    },
    Workload {
        name: "spawn_empty",
        systems: &[CP, NOPIN, "corepool-detached", "rayon", "tokio", "threadpool"],
        metrics: &["time"],
        note: "empty tasks spawned from a non-pool thread (corepool `Pool::spawn` with the handle dropped and default queue capacity 8192, so the submitter blocks when it is full; corepool-detached = `Pool::spawn_detached`, no handle at all; rayon `spawn`; tokio `Runtime::spawn`; threadpool `execute`); completion via one atomic countdown + a final notification.",
    },
    Workload {
        name: "spawn_chain",
        systems: &[CP, NOPIN, "corepool-detached", "rayon", "tokio"],
        metrics: &["time"],
        note: "a chain of detached spawns from inside the pool: each task spawns its successor and returns (corepool `corepool::spawn` with the handle dropped, corepool-detached `corepool::spawn_detached`, rayon `rayon::spawn`, tokio `tokio::spawn`), the last one hits a countdown. No two links ever run at once, so the best schedule keeps the chain on one worker.",
    },
    Workload {
        name: "nested_spawn",
        systems: &[CP, NOPIN, "rayon", "tokio"],
        metrics: &["time"],
        note: "outer tasks each spawning inner tasks: corepool/rayon `scope`; tokio nested `tokio::spawn` from a root task + countdown (no scope in tokio); per-outer counters asserted.",
    },
    Workload {
        name: "map",
        systems: &[CP, NOPIN, "rayon", "std", "sequential"],
        metrics: &["time"],
        note: "u64 → f64 (`sqrt`, mul, add) into a new Vec<f64>; rayon `par_iter().map().collect()`; std = `thread::scope`, one chunk per thread (threads started per run); corepool `Pool::par_map` (demand-driven splitting, written straight into the new Vec); output spot-checked.",
    },
    Workload {
        name: "offload",
        systems: &[CP, NOPIN, "corepool-async", "tokio", "rayon"],
        metrics: &["time"],
        note: "~5 µs calibrated spin jobs submitted from a tokio current-thread runtime and awaited there in order: tokio `spawn_blocking` (blocking pool capped at the core count), rayon `spawn` + tokio oneshot, corepool `Pool::spawn` with its `JoinHandle` awaited — corepool's queue_capacity is raised to 131,072 (> jobs) so the blocking `spawn` never stalls the runtime thread; corepool-async = `spawn_async(..).await` (waits for room without blocking the thread) at the default queue capacity 8192, pinned.",
    },
    Workload {
        name: "blocking_sleep",
        systems: &[CP, NOPIN, "corepool-blocking", "rayon", "tokio", "threadpool", "tokio-elastic"],
        metrics: &["time"],
        note: "tasks that each `thread::sleep(1 ms)`, spawned from outside. corepool/corepool-nopin: `Pool::spawn` on the CPU pool, as issue #5 specified when there was no blocking pool (the wrong tool for this, kept as the CPU-pool baseline); corepool-blocking: `Pool::spawn_blocking` on the elastic blocking-I/O pool at its defaults (io_threads 64). Peers: rayon `spawn`, tokio `spawn_blocking` with the blocking pool capped at the core count, threadpool, and tokio-elastic = tokio's `spawn_blocking` at its default cap of 512 threads. Elastic pools are exempt from the same-thread-count rule by design.",
    },
    Workload {
        name: "wake_latency",
        systems: &[CP, NOPIN, "rayon", "tokio", "threadpool"],
        metrics: &["p50", "p99"],
        note: "time from just before the spawn call (so submission counts) to the task's first instruction, into an idle pool; samples spaced by a 500 µs sleep; warm-up samples discarded.",
    },
    Workload {
        name: "idle_cpu",
        systems: &[CP, NOPIN, "rayon", "tokio", "threadpool", "sequential"],
        metrics: &["cpu"],
        note: "process CPU time (sum of /proc/self/task/*/schedstat) over the idle window right after a warm-up burst (10,000 spawns, plus a fib join tree where the system has join), per second of wall time. sequential = the floor: the same measurement in a process whose pool is the same number of threads parked for good (an ideal idle pool), i.e. what the measuring thread itself costs (reading /proc, the sleep), which every system's figure includes.",
    },
    Workload {
        name: "spawn_rss",
        systems: &[CP, NOPIN, "rayon", "tokio", "threadpool"],
        metrics: &["rss", "time"],
        note: "tasks with a 64-byte capture and ~1 µs of calibrated work submitted from outside as fast as possible; peak RSS (VmHWM, reset through /proc/self/clear_refs) minus RSS before, and the wall time to finish them all.",
    },
    Workload {
        name: "spawn_all",
        systems: &[CP, "corepool-spawn"],
        metrics: &["time"],
        note: "tiny tasks (`move || i`) submitted from a non-pool thread, then every handle joined with `corepool::join_all` and the sum asserted: corepool = one `Pool::spawn_all` call; the baseline corepool-spawn = one `Pool::spawn` per task, handles collected into a Vec (same tasks, same joins, default queue capacity 8192). No peer offers a batch spawn that returns handles, so the ratio is batch ÷ single spawns (issue #9's target: ≤ 0.5×).",
    },
    Workload {
        name: "group",
        systems: &[CP, "corepool-group-64", "corepool-spawn"],
        metrics: &["time"],
        note: "tiny tasks spawned from a non-pool thread into a concurrency-limited group (default group capacity 1024), handles joined with `corepool::join_all`, sum asserted: corepool = `pool.group().max_concurrency(threads)`, corepool-group-64 = `max_concurrency(64)`; the baseline corepool-spawn = plain `Pool::spawn`, same tasks and joins. The ratio is the group's per-task overhead (issue #9's target: ≤ 1.10×).",
    },
];

pub fn workload(name: &str) -> Option<&'static Workload> {
    WORKLOADS.iter().find(|w| w.name == name)
}

/// The workload's label with its size, e.g. `fib(30)`.
pub fn title(name: &str, s: &Sizes) -> String {
    match name {
        "fib" => format!("fib({})", s.fib_n),
        "tree_sum" => format!("tree sum, 2^{}−1 nodes", s.tree_depth),
        "spawn_empty" => format!("{} empty spawns", thousands(s.spawn_tasks)),
        "spawn_chain" => format!("chain of {} spawns", thousands(s.spawn_tasks / 10)),
        "nested_spawn" => format!(
            "{} × {} nested spawns",
            thousands(s.nested_outer),
            thousands(s.nested_inner)
        ),
        "map" => format!("map {} u64 → f64", thousands(s.map_len)),
        "offload" => format!("{} × 5 µs offload from tokio", thousands(s.offload_jobs)),
        "blocking_sleep" => format!(
            "{} × sleep({} ms)",
            thousands(s.blocking_tasks),
            s.blocking_sleep.as_millis()
        ),
        "wake_latency" => format!("wake latency ({} samples)", thousands(s.wake_samples)),
        "idle_cpu" => format!("idle CPU ({:.1} s window)", s.idle_window.as_secs_f64()),
        "spawn_rss" => format!("{} × 1 µs spawns", thousands(s.rss_tasks)),
        "spawn_all" => format!("{} tasks, spawn_all", thousands(s.spawn_tasks)),
        "group" => format!("{} tasks in a group", thousands(s.spawn_tasks)),
        other => other.to_owned(),
    }
}

/// The metric's label in the table.
pub fn metric_label(metric: &str) -> &'static str {
    match metric {
        "time" => "time",
        "p50" => "p50",
        "p99" => "p99",
        "cpu" => "CPU per s",
        "rss" => "peak RSS growth",
        _ => "?",
    }
}

/// Formats a metric value (seconds for time/p50/p99, CPU-seconds per second for cpu, bytes for
/// rss).
pub fn format_value(metric: &str, v: f64) -> String {
    match metric {
        "cpu" => format!("{:.2} ms/s", v * 1e3),
        "rss" => format!("{:.1} MiB", v / (1024.0 * 1024.0)),
        _ => format_seconds(v),
    }
}

fn format_seconds(s: f64) -> String {
    let (v, unit) = if s >= 1.0 {
        (s, "s")
    } else if s >= 1e-3 {
        (s * 1e3, "ms")
    } else if s >= 1e-6 {
        (s * 1e6, "µs")
    } else {
        (s * 1e9, "ns")
    };
    if v >= 100.0 {
        format!("{v:.0} {unit}")
    } else if v >= 10.0 {
        format!("{v:.1} {unit}")
    } else {
        format!("{v:.2} {unit}")
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
