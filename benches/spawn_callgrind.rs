//! A small deterministic driver for instruction counts of the spawn path (and of `join`), meant
//! to run under `valgrind --tool=callgrind`, where wall-clock time means nothing but the number
//! of instructions does not depend on the machine's load. It is a bench target without the
//! libtest harness, so it is built with the `bench` profile (release plus line tables, which
//! `callgrind_annotate` uses):
//!
//! ```sh
//! cargo bench --bench spawn_callgrind --no-run    # prints "Executable ... (target/release/deps/spawn_callgrind-HASH)"
//! exe=$(cargo bench --bench spawn_callgrind --no-run 2>&1 | sed -n 's/.*Executable.*(\(.*\))$/\1/p')
//! valgrind --tool=callgrind --callgrind-out-file=target/cg.out "$exe" queued 100000 1 131072
//! valgrind --tool=callgrind --callgrind-out-file=target/cg.out \
//!     --toggle-collect='spawn_callgrind::fib' "$exe" fib 25
//! ```
//!
//! `spawn N [T [Q]]`: N empty tasks spawned from outside a T-worker pool (default 1) with queue
//! capacity Q (default 8192), handles dropped, completion through one atomic countdown;
//! `spawn-detached`, `queued-detached` and `chain-detached` are `spawn`, `queued` and `chain`
//! with `spawn_detached` (in `spawn_callgrind::chain_link_detached` for the chain).
//! `queued N 1 Q` (Q >= N): the same, but the only worker is held until all N are queued, so
//! the count does not depend on how the threads interleave. `nested N`: one scope, N outer
//! tasks spawning N inner tasks each. `fib N`: fib(N) with a `join` at every level (in
//! `spawn_callgrind::fib`), checked against `fib-seq N`, the sequential recursion (in
//! `spawn_callgrind::fib_seq`). `tree D`: the sum of a complete tree of 2^D−1 boxed nodes
//! with a `join` per internal node (in `spawn_callgrind::tree_sum`); `tree-seq D` sums it
//! sequentially (in `spawn_callgrind::tree_sum_seq`). `chain N [T]`: one task spawns its
//! successor from the worker (a detached `corepool::spawn`, handle dropped) and returns, N times
//! (in `spawn_callgrind::chain_link`). Count only the part that matters with
//! `--toggle-collect=` and the function's name, e.g.
//! `--toggle-collect='spawn_callgrind::tree_sum'`: the tree's construction is then left out. With
//! `SPAWN_DRIVER_VERBOSE` set, `spawn` prints its wall time and the pool's metrics (for a quick
//! look, not a measurement). Build once with `RUSTFLAGS="--cfg corepool_no_metrics"` (into
//! another `--target-dir`) to compare with the metrics compiled out.
//!
//! A driver always takes its size. Without a driver and a size (a plain `cargo bench` passes
//! only `--bench`, `cargo bench spawn` passes the filter `spawn`), it prints its usage and runs
//! nothing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

static LEFT: AtomicUsize = AtomicUsize::new(0);
static DONE: Mutex<bool> = Mutex::new(false);
static DONE_CV: Condvar = Condvar::new();

fn hit() {
    if LEFT.fetch_sub(1, Ordering::AcqRel) == 1 {
        *DONE.lock().unwrap() = true;
        DONE_CV.notify_all();
    }
}

#[inline(never)] // keeps the name that `--toggle-collect` looks for
fn fib(n: u32) -> u64 {
    if n < 2 {
        return n as u64;
    }
    let (a, b) = corepool::join(|| fib(n - 1), || fib(n - 2));
    a + b
}

#[inline(never)] // keeps the name that `--toggle-collect` looks for
fn fib_seq(n: u32) -> u64 {
    if n < 2 {
        return n as u64;
    }
    fib_seq(n - 1) + fib_seq(n - 2)
}

struct Node {
    val: u64,
    left: Option<Box<Node>>,
    right: Option<Box<Node>>,
}

/// A complete tree of `2^depth - 1` boxed nodes, allocated depth-first (traversal order).
fn build_tree(depth: u32, next: &mut u64) -> Option<Box<Node>> {
    if depth == 0 {
        return None;
    }
    let val = *next;
    *next += 1;
    let left = build_tree(depth - 1, next);
    let right = build_tree(depth - 1, next);
    Some(Box::new(Node { val, left, right }))
}

#[inline(never)] // keeps the name that `--toggle-collect` looks for
fn tree_sum(node: &Node) -> u64 {
    match (node.left.as_deref(), node.right.as_deref()) {
        (None, None) => node.val,
        (l, r) => {
            let (a, b) = corepool::join(|| l.map_or(0, tree_sum), || r.map_or(0, tree_sum));
            node.val + a + b
        }
    }
}

#[inline(never)] // keeps the name that `--toggle-collect` looks for
fn tree_sum_seq(node: &Node) -> u64 {
    let l = node.left.as_deref().map_or(0, tree_sum_seq);
    let r = node.right.as_deref().map_or(0, tree_sum_seq);
    node.val + l + r
}

const DRIVERS: [&str; 11] = [
    "spawn",
    "spawn-detached",
    "queued",
    "queued-detached",
    "nested",
    "fib",
    "fib-seq",
    "tree",
    "tree-seq",
    "chain",
    "chain-detached",
];
const USAGE: &str = "usage: spawn_callgrind spawn[-detached] N [T [Q]] | queued[-detached] N 1 Q | nested N \
                     | fib N | fib-seq N | tree D | tree-seq D | chain[-detached] N [T]   (see the file's header)";

/// One link of `chain`: a detached spawn from the worker running it, of the next link.
#[inline(never)] // keeps the name that `--toggle-collect` looks for
fn chain_link(left: usize) {
    if left == 0 {
        hit();
    } else {
        drop(corepool::spawn(move || chain_link(left - 1)));
    }
}

/// One link of `chain-detached`: the same with `corepool::spawn_detached` (no handle).
#[inline(never)] // keeps the name that `--toggle-collect` looks for
fn chain_link_detached(left: usize) {
    if left == 0 {
        hit();
    } else {
        corepool::spawn_detached(move || chain_link_detached(left - 1)).expect("the pool is open");
    }
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` appends `--bench`; it is not ours.
    args.retain(|a| a != "--bench");
    let named = args.first().is_some_and(|a| DRIVERS.contains(&a.as_str()));
    if !named || args.len() < 2 {
        // A plain `cargo bench`, a name filter (one word, even `spawn`) or criterion's flags:
        // not a run of this driver, which always takes its size.
        println!("spawn_callgrind: nothing run\n{USAGE}");
        return;
    }
    let mut args = args.into_iter();
    let what = args.next().expect("checked above");
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        eprintln!("{USAGE}");
        std::process::exit(2)
    });
    let threads: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1);
    let pool = corepool::Pool::builder()
        .threads(threads)
        .queue_capacity(
            args.next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(corepool::defaults::QUEUE_CAPACITY),
        )
        .pinning(corepool::Pinning::None)
        .build()
        .expect("pool");
    // `*-detached`: the same drivers with `spawn_detached` (no handle).
    let detached = what.ends_with("-detached");
    let spawn_hit = || {
        if detached {
            pool.spawn_detached(hit).expect("the pool is open");
        } else {
            drop(pool.spawn(hit));
        }
    };
    match what.trim_end_matches("-detached") {
        "spawn" => {
            let start = std::time::Instant::now();
            LEFT.store(n, Ordering::Relaxed);
            for _ in 0..n {
                spawn_hit();
            }
            let mut done = DONE.lock().unwrap();
            while !*done {
                done = DONE_CV.wait(done).unwrap();
            }
            drop(done);
            if std::env::var_os("SPAWN_DRIVER_VERBOSE").is_some() {
                eprintln!("{:?}\n{}", start.elapsed(), pool.metrics());
            }
        }
        "queued" => {
            // The deterministic variant for instruction counts: the only worker is held in a
            // first task until all N tasks are queued (the queue must hold N: pass Q >= N), so
            // no idle transitions, no blocked submitter, and the worker drains full batches.
            let gate = std::sync::Arc::new((Mutex::new(false), Condvar::new()));
            let g = std::sync::Arc::clone(&gate);
            LEFT.store(n + 1, Ordering::Relaxed);
            drop(pool.spawn(move || {
                let mut open = g.0.lock().unwrap();
                while !*open {
                    open = g.1.wait(open).unwrap();
                }
                drop(open);
                hit();
            }));
            for _ in 0..n {
                spawn_hit();
            }
            *gate.0.lock().unwrap() = true;
            gate.1.notify_all();
            let mut done = DONE.lock().unwrap();
            while !*done {
                done = DONE_CV.wait(done).unwrap();
            }
        }
        "nested" => {
            let count = AtomicUsize::new(0);
            pool.scope(|s| {
                for _ in 0..n {
                    s.spawn(|s| {
                        for _ in 0..n {
                            s.spawn(|_| {
                                count.fetch_add(1, Ordering::Relaxed);
                            });
                        }
                    });
                }
            });
            assert_eq!(count.into_inner(), n * n);
        }
        "fib" => {
            let v = pool.install(|| fib(n as u32));
            assert_eq!(v, std::hint::black_box(fib_seq)(n as u32));
        }
        "fib-seq" => {
            let v = std::hint::black_box(fib_seq)(std::hint::black_box(n as u32));
            assert!(v > 0 || n == 0);
        }
        "tree" | "tree-seq" => {
            let mut next = 0;
            let root = build_tree(n.max(1) as u32, &mut next).expect("depth >= 1");
            let sum = if what == "tree" {
                pool.install(|| tree_sum(&root))
            } else {
                std::hint::black_box(tree_sum_seq)(&root)
            };
            assert_eq!(sum, next * (next - 1) / 2);
        }
        "chain" => {
            LEFT.store(1, Ordering::Relaxed);
            if detached {
                pool.spawn_detached(move || chain_link_detached(n))
                    .expect("the pool is open");
            } else {
                drop(pool.spawn(move || chain_link(n)));
            }
            let mut done = DONE.lock().unwrap();
            while !*done {
                done = DONE_CV.wait(done).unwrap();
            }
        }
        other => unreachable!("driver {other} checked above"),
    }
    pool.shutdown();
}
