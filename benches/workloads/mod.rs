//! The workloads shared by the criterion benches (`benches/*.rs`) and the compare runner
//! (`benches/compare/main.rs`, which includes this file with `#[path]`).
//!
//! Every workload does the same work in every system and checks its result, so the compiler
//! cannot drop the work and a broken run cannot pass for a fast one. Pools are built by the
//! helpers below with the same thread count for every system.
//!
//! Not every target uses every item.
#![allow(dead_code)]

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Condvar, Mutex};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Sizes
// ---------------------------------------------------------------------------------------------

/// The problem sizes of every workload.
#[derive(Clone, Debug)]
pub struct Sizes {
    /// Workload 1: `fib(n)`.
    pub fib_n: u32,
    /// Workload 2: the tree has `2^tree_depth - 1` nodes.
    pub tree_depth: u32,
    /// Workload 3: empty tasks spawned from outside.
    pub spawn_tasks: usize,
    /// Workload 4: outer tasks, each spawning `nested_inner` tasks.
    pub nested_outer: usize,
    /// Workload 4: inner tasks per outer task.
    pub nested_inner: usize,
    /// Workload 5: elements mapped.
    pub map_len: usize,
    /// Workload 6: ~5 µs jobs offloaded from a tokio current-thread runtime.
    pub offload_jobs: usize,
    /// Workload 7: tasks that each sleep `blocking_sleep`.
    pub blocking_tasks: usize,
    /// Workload 7: how long each blocking task sleeps.
    pub blocking_sleep: Duration,
    /// Workload 8: wake-latency samples.
    pub wake_samples: usize,
    /// Workload 8: idle gap between samples.
    pub wake_gap: Duration,
    /// Workload 9: idle window over which CPU time is measured.
    pub idle_window: Duration,
    /// Workload 10: ~1 µs tasks submitted as fast as possible.
    pub rss_tasks: usize,
}

impl Sizes {
    /// The sizes issue #5 asks for.
    pub fn full() -> Sizes {
        Sizes {
            fib_n: 30,
            tree_depth: 22,
            spawn_tasks: 1_000_000,
            nested_outer: 1_000,
            nested_inner: 1_000,
            map_len: 20_000_000,
            offload_jobs: 100_000,
            blocking_tasks: 1_000,
            blocking_sleep: Duration::from_millis(1),
            wake_samples: 2_000,
            wake_gap: Duration::from_micros(500),
            idle_window: Duration::from_secs(1),
            rss_tasks: 2_000_000,
        }
    }

    /// Small sizes that keep every workload well under a second (CI smoke run).
    pub fn quick() -> Sizes {
        Sizes {
            fib_n: 22,
            tree_depth: 16,
            spawn_tasks: 50_000,
            nested_outer: 100,
            nested_inner: 100,
            map_len: 1_000_000,
            offload_jobs: 5_000,
            blocking_tasks: 50,
            blocking_sleep: Duration::from_millis(1),
            wake_samples: 200,
            wake_gap: Duration::from_micros(500),
            idle_window: Duration::from_millis(200),
            rss_tasks: 100_000,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Pools (same thread count everywhere)
// ---------------------------------------------------------------------------------------------

/// The environment variable that overrides [`threads`] (the thread-count sweep,
/// `benches/sweep.py`, sets it per run).
pub const THREADS_ENV: &str = "COREPOOL_BENCH_THREADS";

/// The thread count every pool uses: the machine's cores, unless [`THREADS_ENV`] says otherwise.
pub fn threads() -> usize {
    std::env::var(THREADS_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(num_cpus::get)
}

/// A corepool pool: defaults (pinned per core) or `Pinning::None`, optionally with a larger
/// injection queue.
pub fn corepool_pool(threads: usize, pin: bool, queue_capacity: Option<usize>) -> corepool::Pool {
    let mut builder = corepool::Pool::builder().threads(threads);
    if !pin {
        builder = builder.pinning(corepool::Pinning::None);
    }
    if let Some(capacity) = queue_capacity {
        builder = builder.queue_capacity(capacity);
    }
    builder.build().expect("build corepool pool")
}

/// A rayon pool of `threads` workers.
pub fn rayon_pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("build rayon pool")
}

/// A tokio multi-thread runtime with `threads` workers and no I/O or time driver.
/// `max_blocking`: cap of the blocking pool (`None`: tokio's default of 512).
pub fn tokio_multi(threads: usize, max_blocking: Option<usize>) -> tokio::runtime::Runtime {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(threads);
    if let Some(max) = max_blocking {
        builder.max_blocking_threads(max);
    }
    builder.build().expect("build tokio runtime")
}

/// A tokio current-thread runtime whose blocking pool is capped at `max_blocking` threads.
pub fn tokio_current(max_blocking: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .max_blocking_threads(max_blocking)
        .build()
        .expect("build tokio current-thread runtime")
}

/// A `threadpool` pool of `threads` workers.
pub fn threadpool_pool(threads: usize) -> threadpool::ThreadPool {
    threadpool::ThreadPool::new(threads)
}

// ---------------------------------------------------------------------------------------------
// Completion signal: an atomic countdown and one final notification
// ---------------------------------------------------------------------------------------------

/// The cheapest fair completion signal for fire-and-forget tasks: each task decrements an
/// atomic; the one that reaches zero takes a lock once and notifies the waiter.
pub struct Countdown {
    remaining: AtomicUsize,
    done: Mutex<bool>,
    cond: Condvar,
}

impl Countdown {
    /// A countdown with `'static` lifetime, so tasks capture a plain reference (no per-task
    /// `Arc` clone). Benches make one per pool and `reset` it per iteration; the few bytes are
    /// leaked on purpose.
    pub fn leak() -> &'static Countdown {
        Box::leak(Box::new(Countdown {
            remaining: AtomicUsize::new(0),
            done: Mutex::new(true),
            cond: Condvar::new(),
        }))
    }

    /// Arms the countdown for `n` hits. Only call while no task of a previous round runs.
    pub fn reset(&self, n: usize) {
        *self.done.lock().unwrap() = n == 0;
        self.remaining.store(n, Ordering::SeqCst);
    }

    /// One task finished.
    #[inline]
    pub fn hit(&self) {
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            *self.done.lock().unwrap() = true;
            self.cond.notify_all();
        }
    }

    /// Blocks until every task hit.
    pub fn wait(&self) {
        let mut done = self.done.lock().unwrap();
        while !*done {
            done = self.cond.wait(done).unwrap();
        }
    }
}

/// A counter on its own cache line.
#[repr(align(128))]
#[derive(Default)]
pub struct Padded(pub AtomicUsize);

// ---------------------------------------------------------------------------------------------
// Calibrated CPU work
// ---------------------------------------------------------------------------------------------

/// A dependent chain of multiply-adds: `iters` steps the compiler cannot shortcut.
#[inline(never)]
pub fn spin_work(iters: u64, seed: u64) -> u64 {
    let mut x = seed | 1;
    for i in 0..black_box(iters) {
        x = x.wrapping_mul(0x5851_F42D_4C95_7F2D).wrapping_add(i);
    }
    x
}

/// How many `spin_work` iterations take `target` on this machine (best of several trials, so
/// a busy machine errs towards less work, not more).
pub fn calibrate(target: Duration) -> u64 {
    const PROBE: u64 = 20_000;
    let mut best = Duration::MAX;
    for _ in 0..15 {
        let start = Instant::now();
        black_box(spin_work(PROBE, 7));
        best = best.min(start.elapsed());
    }
    let ns_per_iter = best.as_nanos().max(1) as f64 / PROBE as f64;
    ((target.as_nanos() as f64 / ns_per_iter).round() as u64).max(1)
}

// ---------------------------------------------------------------------------------------------
// 1. fib(n) with a join at every level
// ---------------------------------------------------------------------------------------------

/// The expected `fib(n)`.
pub fn fib_expected(n: u32) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        (a, b) = (b, a + b);
    }
    a
}

/// Sequential recursive fib.
pub fn fib_seq(n: u32) -> u64 {
    if n < 2 {
        return n as u64;
    }
    fib_seq(n - 1) + fib_seq(n - 2)
}

/// fib with `corepool::join` at every level (run it inside `pool.install`).
pub fn fib_corepool(n: u32) -> u64 {
    if n < 2 {
        return n as u64;
    }
    let (a, b) = corepool::join(|| fib_corepool(n - 1), || fib_corepool(n - 2));
    a + b
}

/// fib with `rayon::join` at every level (run it inside `pool.install`).
pub fn fib_rayon(n: u32) -> u64 {
    if n < 2 {
        return n as u64;
    }
    let (a, b) = rayon::join(|| fib_rayon(n - 1), || fib_rayon(n - 2));
    a + b
}

// ---------------------------------------------------------------------------------------------
// 2. Sum of a binary tree of boxed nodes, a join per internal node
// ---------------------------------------------------------------------------------------------

/// A heap-allocated tree node.
pub struct Node {
    val: u64,
    left: Option<Box<Node>>,
    right: Option<Box<Node>>,
}

/// Builds a complete tree of `2^depth - 1` nodes (depth-first, values 0..n) and returns it with
/// the expected sum.
pub fn build_tree(depth: u32) -> (Box<Node>, u64) {
    fn build(depth: u32, next: &mut u64) -> Option<Box<Node>> {
        if depth == 0 {
            return None;
        }
        let val = *next;
        *next += 1;
        let left = build(depth - 1, next);
        let right = build(depth - 1, next);
        Some(Box::new(Node { val, left, right }))
    }
    let mut next = 0;
    let root = build(depth.max(1), &mut next).expect("depth >= 1");
    let n = next;
    (root, n * (n - 1) / 2)
}

/// Sequential tree sum.
pub fn tree_sum_seq(node: &Node) -> u64 {
    let l = node.left.as_deref().map_or(0, tree_sum_seq);
    let r = node.right.as_deref().map_or(0, tree_sum_seq);
    node.val + l + r
}

/// Tree sum with a `corepool::join` per internal node (run it inside `pool.install`).
pub fn tree_sum_corepool(node: &Node) -> u64 {
    match (node.left.as_deref(), node.right.as_deref()) {
        (None, None) => node.val,
        (l, r) => {
            let (a, b) = corepool::join(
                || l.map_or(0, tree_sum_corepool),
                || r.map_or(0, tree_sum_corepool),
            );
            node.val + a + b
        }
    }
}

/// Tree sum with a `rayon::join` per internal node (run it inside `pool.install`).
pub fn tree_sum_rayon(node: &Node) -> u64 {
    match (node.left.as_deref(), node.right.as_deref()) {
        (None, None) => node.val,
        (l, r) => {
            let (a, b) = rayon::join(
                || l.map_or(0, tree_sum_rayon),
                || r.map_or(0, tree_sum_rayon),
            );
            node.val + a + b
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Empty tasks spawned from a thread outside the pool
// ---------------------------------------------------------------------------------------------

/// corepool: `pool.spawn` (handle dropped: detached), blocking while the queue is full.
pub fn spawn_empty_corepool(pool: &corepool::Pool, n: usize, done: &'static Countdown) {
    done.reset(n);
    for _ in 0..n {
        drop(pool.spawn(move || done.hit()));
    }
    done.wait();
}

/// corepool: `Pool::spawn_detached` (no handle).
pub fn spawn_empty_corepool_detached(pool: &corepool::Pool, n: usize, done: &'static Countdown) {
    done.reset(n);
    for _ in 0..n {
        if pool.spawn_detached(move || done.hit()).is_err() {
            unreachable!("the pool is running");
        }
    }
    done.wait();
}

/// rayon: `ThreadPool::spawn`.
pub fn spawn_empty_rayon(pool: &rayon::ThreadPool, n: usize, done: &'static Countdown) {
    done.reset(n);
    for _ in 0..n {
        pool.spawn(move || done.hit());
    }
    done.wait();
}

/// tokio: `Runtime::spawn` of an async block (handle dropped).
pub fn spawn_empty_tokio(rt: &tokio::runtime::Runtime, n: usize, done: &'static Countdown) {
    done.reset(n);
    for _ in 0..n {
        drop(rt.spawn(async move { done.hit() }));
    }
    done.wait();
}

/// threadpool: `ThreadPool::execute`.
pub fn spawn_empty_threadpool(pool: &threadpool::ThreadPool, n: usize, done: &'static Countdown) {
    done.reset(n);
    for _ in 0..n {
        pool.execute(move || done.hit());
    }
    done.wait();
}

// ---------------------------------------------------------------------------------------------
// A chain of spawns from inside the pool: each task spawns its successor and returns
// ---------------------------------------------------------------------------------------------

fn chain_link_corepool(left: usize, done: &'static Countdown) {
    if left == 0 {
        done.hit();
    } else {
        drop(corepool::spawn(move || chain_link_corepool(left - 1, done)));
    }
}

/// corepool: `corepool::spawn` from the task running (the current pool), handle dropped.
pub fn chain_corepool(pool: &corepool::Pool, n: usize, done: &'static Countdown) {
    done.reset(1);
    drop(pool.spawn(move || chain_link_corepool(n, done)));
    done.wait();
}

fn chain_link_corepool_detached(left: usize, done: &'static Countdown) {
    if left == 0 {
        done.hit();
    } else if corepool::spawn_detached(move || chain_link_corepool_detached(left - 1, done))
        .is_err()
    {
        unreachable!("the pool is running");
    }
}

/// corepool: `corepool::spawn_detached` from the task running (no handle).
pub fn chain_corepool_detached(pool: &corepool::Pool, n: usize, done: &'static Countdown) {
    done.reset(1);
    if pool
        .spawn_detached(move || chain_link_corepool_detached(n, done))
        .is_err()
    {
        unreachable!("the pool is running");
    }
    done.wait();
}

fn chain_link_rayon(left: usize, done: &'static Countdown) {
    if left == 0 {
        done.hit();
    } else {
        rayon::spawn(move || chain_link_rayon(left - 1, done));
    }
}

/// rayon: `rayon::spawn` from the task running (the current pool).
pub fn chain_rayon(pool: &rayon::ThreadPool, n: usize, done: &'static Countdown) {
    done.reset(1);
    pool.spawn(move || chain_link_rayon(n, done));
    done.wait();
}

fn chain_link_tokio(left: usize, done: &'static Countdown) {
    if left == 0 {
        done.hit();
    } else {
        drop(tokio::spawn(
            async move { chain_link_tokio(left - 1, done) },
        ));
    }
}

/// tokio: `tokio::spawn` from the task running, handle dropped.
pub fn chain_tokio(rt: &tokio::runtime::Runtime, n: usize, done: &'static Countdown) {
    done.reset(1);
    drop(rt.spawn(async move { chain_link_tokio(n, done) }));
    done.wait();
}

// ---------------------------------------------------------------------------------------------
// 4. Nested spawns: `outer` tasks each spawning `inner` tasks
// ---------------------------------------------------------------------------------------------

/// Per-outer-task counters for the nested workload (one cache line each).
pub fn nested_counters(outer: usize) -> &'static [Padded] {
    Box::leak(
        (0..outer)
            .map(|_| Padded::default())
            .collect::<Box<[Padded]>>(),
    )
}

fn nested_check(counters: &[Padded], inner: usize) {
    for c in counters {
        assert_eq!(c.0.swap(0, Ordering::Relaxed), inner, "nested: lost tasks");
    }
}

/// corepool: `pool.scope`, outer tasks spawned in the scope, inner tasks spawned from them.
pub fn nested_corepool(pool: &corepool::Pool, counters: &[Padded], inner: usize) {
    pool.scope(|s| {
        for c in counters {
            s.spawn(move |s| {
                for _ in 0..inner {
                    s.spawn(move |_| {
                        c.0.fetch_add(1, Ordering::Relaxed);
                    });
                }
            });
        }
    });
    nested_check(counters, inner);
}

/// rayon: `ThreadPool::scope`, same shape.
pub fn nested_rayon(pool: &rayon::ThreadPool, counters: &[Padded], inner: usize) {
    pool.scope(|s| {
        for c in counters {
            s.spawn(move |s| {
                for _ in 0..inner {
                    s.spawn(move |_| {
                        c.0.fetch_add(1, Ordering::Relaxed);
                    });
                }
            });
        }
    });
    nested_check(counters, inner);
}

/// tokio has no scope: a root task spawns the outer tasks, which spawn the inner ones
/// (`tokio::spawn`, handles dropped); completion through a countdown.
pub fn nested_tokio(
    rt: &tokio::runtime::Runtime,
    counters: &'static [Padded],
    inner: usize,
    done: &'static Countdown,
) {
    done.reset(counters.len() * inner);
    drop(rt.spawn(async move {
        for c in counters {
            drop(tokio::spawn(async move {
                for _ in 0..inner {
                    drop(tokio::spawn(async move {
                        c.0.fetch_add(1, Ordering::Relaxed);
                        done.hit();
                    }));
                }
            }));
        }
    }));
    done.wait();
    nested_check(counters, inner);
}

// ---------------------------------------------------------------------------------------------
// 5. Map n u64 through a cheap float function into a Vec<f64>
// ---------------------------------------------------------------------------------------------

/// The cheap float function.
#[inline]
pub fn map_fn(x: u64) -> f64 {
    let y = x as f64;
    y.sqrt() * 1.000_001 + y * 1e-9
}

/// The input: `len` scrambled u64.
pub fn map_input(len: usize) -> Vec<u64> {
    (0..len as u64)
        .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 20)
        .collect()
}

/// Checks the output (every element against a stride of recomputed ones, and its length).
pub fn map_check(input: &[u64], out: &[f64]) {
    assert_eq!(input.len(), out.len(), "map: wrong length");
    let step = (input.len() / 997).max(1);
    for i in (0..input.len())
        .step_by(step)
        .chain(input.len().checked_sub(1))
    {
        assert_eq!(
            out[i].to_bits(),
            map_fn(input[i]).to_bits(),
            "map: wrong value at {i}"
        );
    }
}

/// Sequential: `iter().map().collect()`.
pub fn map_seq(input: &[u64]) -> Vec<f64> {
    input.iter().map(|&x| map_fn(x)).collect()
}

/// rayon: `par_iter().map().collect()`.
pub fn map_rayon(pool: &rayon::ThreadPool, input: &[u64]) -> Vec<f64> {
    use rayon::prelude::*;
    pool.install(|| input.par_iter().map(|&x| map_fn(x)).collect())
}

/// std: `std::thread::scope`, one contiguous chunk per thread (threads started per call).
pub fn map_std(input: &[u64], threads: usize) -> Vec<f64> {
    let mut out = vec![0.0f64; input.len()];
    let chunk = input.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        for (i, o) in input.chunks(chunk).zip(out.chunks_mut(chunk)) {
            s.spawn(move || {
                for (x, y) in i.iter().zip(o.iter_mut()) {
                    *y = map_fn(*x);
                }
            });
        }
    });
    out
}

/// corepool: `Pool::par_map` (demand-driven splitting into a new Vec, in input order).
pub fn map_corepool(pool: &corepool::Pool, input: &[u64]) -> Vec<f64> {
    pool.par_map(input, |&x| map_fn(x))
}

// ---------------------------------------------------------------------------------------------
// 6. ~5 µs jobs offloaded from a tokio current-thread runtime and awaited there
// ---------------------------------------------------------------------------------------------

/// The job: `iters` of spin work, returning its index (the work itself goes through
/// `black_box`).
#[inline]
fn offload_job(i: u64, iters: u64) -> u64 {
    black_box(spin_work(iters, i));
    i
}

fn offload_check(sum: u64, n: usize) {
    let n = n as u64;
    assert_eq!(sum, n * n.saturating_sub(1) / 2, "offload: lost jobs");
}

/// tokio: `spawn_blocking` (blocking pool capped at the core count by the caller's runtime).
pub fn offload_tokio(rt: &tokio::runtime::Runtime, n: usize, iters: u64) {
    let sum = rt.block_on(async {
        let handles: Vec<_> = (0..n as u64)
            .map(|i| tokio::task::spawn_blocking(move || offload_job(i, iters)))
            .collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await.expect("spawn_blocking job");
        }
        sum
    });
    offload_check(sum, n);
}

/// corepool: `pool.spawn(..)` from the runtime thread, its `JoinHandle` awaited. The caller's
/// pool has a queue big enough for every job, so `spawn` never blocks the runtime thread.
pub fn offload_corepool(rt: &tokio::runtime::Runtime, pool: &corepool::Pool, n: usize, iters: u64) {
    let sum = rt.block_on(async {
        let handles: Vec<_> = (0..n as u64)
            .map(|i| pool.spawn(move || offload_job(i, iters)))
            .collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await.expect("corepool job");
        }
        sum
    });
    offload_check(sum, n);
}

/// corepool, the async-native way: `pool.spawn_async(..).await` waits for room in the
/// bounded queue without blocking the runtime thread (default queue capacity), then the
/// `JoinHandle`s are awaited.
pub fn offload_corepool_async(
    rt: &tokio::runtime::Runtime,
    pool: &corepool::Pool,
    n: usize,
    iters: u64,
) {
    let sum = rt.block_on(async {
        let mut handles = Vec::with_capacity(n);
        for i in 0..n as u64 {
            match pool.spawn_async(move || offload_job(i, iters)).await {
                Ok(h) => handles.push(h),
                Err(_) => panic!("corepool refused a job: shut down"),
            }
        }
        let mut sum = 0;
        for h in handles {
            sum += h.await.expect("corepool job");
        }
        sum
    });
    offload_check(sum, n);
}

/// rayon: `ThreadPool::spawn` sending the result through a tokio oneshot.
pub fn offload_rayon(rt: &tokio::runtime::Runtime, pool: &rayon::ThreadPool, n: usize, iters: u64) {
    let sum = rt.block_on(async {
        let receivers: Vec<_> = (0..n as u64)
            .map(|i| {
                let (tx, rx) = tokio::sync::oneshot::channel();
                pool.spawn(move || {
                    let _ = tx.send(offload_job(i, iters));
                });
                rx
            })
            .collect();
        let mut sum = 0;
        for rx in receivers {
            sum += rx.await.expect("rayon job");
        }
        sum
    });
    offload_check(sum, n);
}

// ---------------------------------------------------------------------------------------------
// 7. Blocking tasks that sleep
// ---------------------------------------------------------------------------------------------

/// corepool: `pool.spawn` on the CPU pool (there is no blocking pool yet).
pub fn blocking_corepool(pool: &corepool::Pool, n: usize, d: Duration, done: &'static Countdown) {
    done.reset(n);
    for _ in 0..n {
        drop(pool.spawn(move || {
            std::thread::sleep(d);
            done.hit();
        }));
    }
    done.wait();
}

/// corepool: `pool.spawn_blocking` on its elastic blocking-I/O pool.
pub fn blocking_corepool_io(
    pool: &corepool::Pool,
    n: usize,
    d: Duration,
    done: &'static Countdown,
) {
    done.reset(n);
    for _ in 0..n {
        drop(pool.spawn_blocking(move || {
            std::thread::sleep(d);
            done.hit();
        }));
    }
    done.wait();
}

/// rayon: `ThreadPool::spawn`.
pub fn blocking_rayon(pool: &rayon::ThreadPool, n: usize, d: Duration, done: &'static Countdown) {
    done.reset(n);
    for _ in 0..n {
        pool.spawn(move || {
            std::thread::sleep(d);
            done.hit();
        });
    }
    done.wait();
}

/// tokio: `Runtime::spawn_blocking` (the blocking pool's cap is the runtime's).
pub fn blocking_tokio(
    rt: &tokio::runtime::Runtime,
    n: usize,
    d: Duration,
    done: &'static Countdown,
) {
    done.reset(n);
    for _ in 0..n {
        drop(rt.spawn_blocking(move || {
            std::thread::sleep(d);
            done.hit();
        }));
    }
    done.wait();
}

/// threadpool: `execute`.
pub fn blocking_threadpool(
    pool: &threadpool::ThreadPool,
    n: usize,
    d: Duration,
    done: &'static Countdown,
) {
    done.reset(n);
    for _ in 0..n {
        pool.execute(move || {
            std::thread::sleep(d);
            done.hit();
        });
    }
    done.wait();
}

// ---------------------------------------------------------------------------------------------
// 8. Wake latency into an idle pool
// ---------------------------------------------------------------------------------------------

/// What a wake-latency task does: stamp the time it started and send it back.
pub struct WakeProbe {
    base: Instant,
    tx: mpsc::Sender<u64>,
}

impl WakeProbe {
    /// Runs the probe (call it first thing in the task).
    #[inline]
    pub fn run(self) {
        let started = self.base.elapsed().as_nanos() as u64;
        let _ = self.tx.send(started);
    }
}

/// Measures spawn-to-start latency, in nanoseconds, for `samples` tasks submitted from this
/// thread through `submit`, sleeping `gap` between them so the pool goes idle (after `warmup`
/// unrecorded samples). The clock starts right before `submit`, so the submission cost counts.
pub fn wake_latency(
    samples: usize,
    warmup: usize,
    gap: Duration,
    mut submit: impl FnMut(WakeProbe),
) -> Vec<u64> {
    let base = Instant::now();
    let (tx, rx) = mpsc::channel();
    let mut out = Vec::with_capacity(samples);
    for i in 0..warmup + samples {
        std::thread::sleep(gap);
        let probe = WakeProbe {
            base,
            tx: tx.clone(),
        };
        let t0 = base.elapsed().as_nanos() as u64;
        submit(probe);
        let started = rx.recv().expect("wake probe ran");
        if i >= warmup {
            out.push(started.saturating_sub(t0));
        }
    }
    out
}

/// The `q`-quantile (0..=1) of `v` (sorted in place), nearest rank.
pub fn quantile(v: &mut [u64], q: f64) -> u64 {
    assert!(!v.is_empty());
    v.sort_unstable();
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

// ---------------------------------------------------------------------------------------------
// 9, 10. Process CPU time and memory
// ---------------------------------------------------------------------------------------------

/// CPU time of this process in nanoseconds: the sum over its live threads of
/// `/proc/self/task/*/schedstat` (ns resolution), or `/proc/self/stat` utime+stime (clock
/// ticks) where schedstat is missing. `None` off Linux.
pub fn process_cpu_ns() -> Option<u64> {
    let mut total = 0u64;
    let mut any = false;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            let path = task.path().join("schedstat");
            if let Ok(text) = std::fs::read_to_string(path) {
                if let Some(ns) = text
                    .split_whitespace()
                    .next()
                    .and_then(|f| f.parse::<u64>().ok())
                {
                    total += ns;
                    any = true;
                }
            }
        }
    }
    if any {
        return Some(total);
    }
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command: utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some((utime + stime) * 10_000_000)
}

/// `(VmRSS, VmHWM)` of this process in KiB, from `/proc/self/status`.
pub fn rss_kib() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Resets the peak-RSS mark (VmHWM) to the current RSS; false if the kernel refused.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// A workload-10 task: a 64-byte capture and ~1 µs of work.
#[inline]
pub fn rss_task(payload: [u64; 8], iters: u64) {
    let seed = payload.iter().fold(0u64, |a, &b| a.rotate_left(5) ^ b);
    black_box(spin_work(iters, seed));
}

/// The 64-byte capture of task `i`.
#[inline]
pub fn rss_payload(i: usize) -> [u64; 8] {
    [i as u64; 8]
}

// ---------------------------------------------------------------------------------------------
// 11. Batch submission (issue #9): `spawn_all` against one `spawn` per task
// ---------------------------------------------------------------------------------------------

/// Sums settled results, asserting every task of `0..n` returned its index.
fn settled_sum(results: Vec<Result<u64, corepool::JoinError>>, n: usize) {
    assert_eq!(results.len(), n);
    let sum: u64 = results.into_iter().map(|r| r.expect("task ran")).sum();
    assert_eq!(sum, (n as u64) * (n as u64).saturating_sub(1) / 2);
}

/// corepool: `pool.spawn_all` of `n` tiny tasks from outside the pool, then `join_all` of the
/// handles it returned.
pub fn spawn_all_corepool(pool: &corepool::Pool, n: usize) {
    let handles = pool.spawn_all((0..n as u64).map(|i| move || black_box(i)));
    settled_sum(corepool::join_all(handles), n);
}

/// corepool: the same tasks through one `pool.spawn` each, handles collected, then `join_all`.
pub fn spawn_each_corepool(pool: &corepool::Pool, n: usize) {
    let handles: Vec<_> = (0..n as u64)
        .map(|i| pool.spawn(move || black_box(i)))
        .collect();
    settled_sum(corepool::join_all(handles), n);
}

// ---------------------------------------------------------------------------------------------
// 12. Concurrency-limited groups (issue #9): `group.spawn` against plain `spawn`
// ---------------------------------------------------------------------------------------------

/// corepool: a group limited to `max` (default group capacity) on the pool; `n` tiny tasks
/// spawned into it from outside, then `join_all` of the handles. Same tasks and handling as
/// [`spawn_each_corepool`], so the difference is the group's per-task cost.
pub fn group_corepool(pool: &corepool::Pool, n: usize, max: usize) {
    let group = pool
        .group()
        .max_concurrency(max)
        .build()
        .expect("build group");
    let handles: Vec<_> = (0..n as u64)
        .map(|i| group.spawn(move || black_box(i)))
        .collect();
    settled_sum(corepool::join_all(handles), n);
    group.wait();
}

/// splitmix64's finalizer: a cheap, well-mixed function of `x`, the per-item work of the
/// data-parallel benches (`par_compare`, `iter_compare`).
#[inline(always)]
pub fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
