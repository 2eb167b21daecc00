//! Accounting: every submitted task runs at most once (structured ones exactly once), every
//! handle resolves and tells the truth about its task, ran + cancelled + rejected == submitted,
//! and `pool.metrics()` agrees with the tests' own tallies.
//!
//! The chaos test: four submitter threads push tasks through every submission path of both pools
//! (`spawn`, `try_spawn`, `spawn_timeout`, `scope`, `join`, `spawn_future`, `spawn_blocking` and
//! its `try_`/`_timeout` forms, `spawn_async` and `reserve` driven by `pool.block_on`); a random
//! share panics, a random share is cancelled through `JoinHandle::cancel`, and `shutdown_now`
//! fires from a fifth thread at a random moment. Every task has an atomic run counter, and the
//! metrics are compared once the pool is shut down.
//!
//! CI mode: a few rounds of tens of thousands of tasks (one with `shutdown_now` mid-run, one
//! drained gracefully). `COREPOOL_SOAK=1`: 50 rounds of 200k tasks. `COREPOOL_SEED=<n>` replays a
//! run.
//!
//! A test named `bug_*`, or whose doc comment starts "Fixed bug", guards a fixed bug: it failed on
//! the code before the fix, and its doc comment says what the bug was.

// These tests cover the spawn forms `Pool::task()` replaces, which stay until their removal.
#![allow(deprecated)]

mod common;

use common::{watchdog, watchdog_for, Rng};
use corepool::{JoinHandle, Pinning, Pool, SpawnError};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Once};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// The payload of a planned panic; the panic hook keeps these off stderr.
struct ChaosPanic(#[allow(dead_code)] usize);

fn quiet_planned_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info.payload().is::<ChaosPanic>() {
                default(info);
            }
        }));
    });
}

struct Plan {
    runs: Vec<AtomicU8>,
    panics: Vec<bool>,
}

impl Plan {
    fn body(&self, id: usize) -> u64 {
        self.runs[id].fetch_add(1, SeqCst);
        if id % 4 == 0 {
            // Some work, so queues fill up and submitters meet backpressure.
            let mut x = id as u64;
            for _ in 0..(id % 2048) {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
        }
        if self.panics[id] {
            std::panic::panic_any(ChaosPanic(id));
        }
        id as u64 * 3 + 1
    }
}

/// A future that returns `Pending` once, waking itself during its own poll.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[derive(Default, Debug, Clone)]
struct Tally {
    /// Task ids used (handles, refusals and structured tasks).
    submitted: usize,
    /// Handles returned for the CPU pool / the I/O pool (accepted, or refused by an
    /// infallible `spawn*` on a shut-down pool).
    cpu_handles: usize,
    io_handles: usize,
    err_full: usize,
    err_shutdown: usize,
    /// `spawn_async` refusals (`SpawnError::Shutdown`), which the metrics do not count
    /// consistently (see `bug_spawn_async_refusal_is_not_counted_in_rejected_shutdown` below).
    async_refused: usize,
    /// `reserve()` refused with `ShutdownError`: the closure never left our hands.
    reserve_refused: usize,
    /// Tasks run inside `scope`, `join` or `install`.
    structured: usize,
    /// Structured task ids that must have run exactly once; the others (the second half of a
    /// `join` whose first half panicked) at most once.
    structured_exact: Vec<usize>,
}

impl Tally {
    fn add(&mut self, o: &Tally) {
        self.submitted += o.submitted;
        self.cpu_handles += o.cpu_handles;
        self.io_handles += o.io_handles;
        self.err_full += o.err_full;
        self.err_shutdown += o.err_shutdown;
        self.async_refused += o.async_refused;
        self.reserve_refused += o.reserve_refused;
        self.structured += o.structured;
        self.structured_exact.extend_from_slice(&o.structured_exact);
    }
}

struct Pending {
    id: usize,
    io: bool,
    future: bool,
    handle: JoinHandle<u64>,
    cancel_said_true: bool,
}

fn refused<F>(t: &mut Tally, e: SpawnError<F>, from_async: bool) {
    t.submitted += 1;
    match e {
        SpawnError::Full(_) => t.err_full += 1,
        SpawnError::Shutdown(_) if from_async => t.async_refused += 1,
        SpawnError::Shutdown(_) => t.err_shutdown += 1,
        other => panic!("unexpected {other}"),
    }
}

fn submitter(
    pool: Pool,
    plan: Arc<Plan>,
    ids: std::ops::Range<usize>,
    mut rng: Rng,
    progress: Arc<AtomicUsize>,
) -> (Vec<Pending>, Tally) {
    let mut t = Tally::default();
    let mut pending: Vec<Pending> = Vec::with_capacity(ids.len());
    let mut id = ids.start;
    while id < ids.end {
        let before = id;
        let accepted = |t: &mut Tally, p: &mut Vec<Pending>, id: usize, io, h| {
            t.submitted += 1;
            if io {
                t.io_handles += 1;
            } else {
                t.cpu_handles += 1;
            }
            p.push(Pending {
                id,
                io,
                future: false,
                handle: h,
                cancel_said_true: false,
            });
        };
        let pl = Arc::clone(&plan);
        let task = move || pl.body(id);
        match rng.below(100) {
            0..=19 => {
                let h = pool.spawn(task);
                accepted(&mut t, &mut pending, id, false, h);
            }
            20..=34 => match pool.try_spawn(task) {
                Ok(h) => accepted(&mut t, &mut pending, id, false, h),
                Err(e) => refused(&mut t, e, false),
            },
            35..=44 => {
                let timeout = Duration::from_micros(rng.below(2000));
                match pool.spawn_timeout(task, timeout) {
                    Ok(h) => accepted(&mut t, &mut pending, id, false, h),
                    Err(e) => refused(&mut t, e, false),
                }
            }
            45..=52 => {
                let h = pool.spawn_blocking(task);
                accepted(&mut t, &mut pending, id, true, h);
            }
            53..=58 => match pool.try_spawn_blocking(task) {
                Ok(h) => accepted(&mut t, &mut pending, id, true, h),
                Err(e) => refused(&mut t, e, false),
            },
            59..=62 => {
                let timeout = Duration::from_micros(rng.below(2000));
                match pool.spawn_blocking_timeout(task, timeout) {
                    Ok(h) => accepted(&mut t, &mut pending, id, true, h),
                    Err(e) => refused(&mut t, e, false),
                }
            }
            63..=72 => {
                let yields = rng.chance(50);
                let h = pool.spawn_future(async move {
                    if yields {
                        YieldOnce(false).await;
                    }
                    task()
                });
                accepted(&mut t, &mut pending, id, false, h);
                pending.last_mut().expect("just pushed").future = true;
            }
            73..=78 => match pool.block_on(pool.spawn_async(task)) {
                Ok(h) => accepted(&mut t, &mut pending, id, false, h),
                Err(e) => refused(&mut t, e, true),
            },
            79..=82 => match pool.block_on(pool.reserve()) {
                Ok(permit) => match permit.spawn(task) {
                    Ok(h) => accepted(&mut t, &mut pending, id, false, h),
                    Err(e) => refused(&mut t, e, false),
                },
                Err(_) => {
                    t.submitted += 1;
                    t.reserve_refused += 1;
                }
            },
            83..=91 => {
                // A scope of up to 4 tasks (fewer near the end of our id range).
                drop(task);
                let n = (1 + rng.below(4) as usize).min(ids.end - id);
                let first = id;
                let pl = &plan;
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    pool.scope(|s| {
                        for k in first..first + n {
                            s.spawn(move |_| {
                                pl.body(k);
                            });
                        }
                    })
                }));
                t.submitted += n;
                t.structured += n;
                t.structured_exact.extend(first..first + n);
                id += n - 1;
            }
            _ => {
                drop(task);
                if id + 1 < ids.end {
                    let pl = &plan;
                    let a = id;
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        pool.join(|| pl.body(a), || pl.body(a + 1))
                    }));
                    t.submitted += 2;
                    t.structured += 2;
                    // If `a` panics, `b` is dropped unrun unless a thief already started it.
                    t.structured_exact.push(a);
                    if !plan.panics[a] {
                        t.structured_exact.push(a + 1);
                    }
                    id += 1;
                } else {
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        pool.install(|| plan.body(id))
                    }));
                    t.submitted += 1;
                    t.structured += 1;
                    t.structured_exact.push(id);
                }
            }
        }
        id += 1;
        // Cancel one of the last few handles now and then.
        if rng.chance(12) && !pending.is_empty() {
            let back = rng.below(pending.len().min(16) as u64) as usize;
            let idx = pending.len() - 1 - back;
            if pending[idx].handle.cancel() {
                pending[idx].cancel_said_true = true;
            }
        }
        progress.fetch_add(id - before, SeqCst);
    }
    (pending, t)
}

fn round(rng: &mut Rng, tasks: usize, shutdown_now_at: Option<f64>) {
    quiet_planned_panics();
    let panic_share = rng.below(20);
    let plan = Arc::new(Plan {
        runs: (0..tasks).map(|_| AtomicU8::new(0)).collect(),
        panics: (0..tasks).map(|_| rng.below(100) < panic_share).collect(),
    });
    let threads = 1 + rng.below(4) as usize;
    let pool = Pool::builder()
        .threads(threads)
        .pinning(if rng.chance(50) {
            Pinning::PerCore
        } else {
            Pinning::None
        })
        .queue_capacity([1, 2, 8, 64, 256][rng.below(5) as usize])
        .io_threads(1 + rng.below(8) as usize)
        .io_queue_capacity([1, 4, 64][rng.below(3) as usize])
        .local_queue_limit(1 + rng.below(64) as usize)
        .panic_handler(|_| {})
        .build()
        .expect("build");
    eprintln!(
        "round: {tasks} tasks, {threads} workers, panic share {panic_share}%, shutdown_now at {shutdown_now_at:?}, pool {pool:?}"
    );
    let progress = Arc::new(AtomicUsize::new(0));
    let submitters = 4;
    let per = tasks / submitters;
    let started = Instant::now();
    let workers: Vec<_> = (0..submitters)
        .map(|s| {
            let (pool, plan, progress, rng) = (
                pool.clone(),
                Arc::clone(&plan),
                Arc::clone(&progress),
                rng.fork(),
            );
            let end = if s + 1 == submitters {
                tasks
            } else {
                (s + 1) * per
            };
            std::thread::spawn(move || submitter(pool, plan, s * per..end, rng, progress))
        })
        .collect();
    let done = Arc::new(AtomicBool::new(false));
    let chaos = shutdown_now_at.map(|fraction| {
        let (pool, progress, done) = (pool.clone(), Arc::clone(&progress), Arc::clone(&done));
        let trigger = (tasks as f64 * fraction) as usize;
        std::thread::spawn(move || {
            while progress.load(SeqCst) < trigger && !done.load(SeqCst) {
                std::thread::yield_now();
            }
            pool.shutdown_now()
        })
    });
    let mut pending = Vec::new();
    let mut tally = Tally::default();
    for w in workers {
        let (p, t) = w.join().expect("submitter panicked");
        pending.extend(p);
        tally.add(&t);
    }
    done.store(true, SeqCst);
    let shutdown_now_count = chaos.map(|c| c.join().expect("chaos thread"));

    // Every handle resolves, and says the truth about its task.
    let (mut ok, mut panicked, mut cancelled) = ([0usize; 2], [0usize; 2], [0usize; 2]);
    let mut futures_cancelled = 0;
    for p in pending {
        let io = usize::from(p.io);
        let out = p.handle.join();
        // Read after the join: a handle that resolved has published its task's effects.
        let runs = plan.runs[p.id].load(SeqCst);
        match out {
            Ok(v) => {
                assert_eq!(
                    v,
                    p.id as u64 * 3 + 1,
                    "task {} returned a wrong value",
                    p.id
                );
                assert_eq!(runs, 1, "task {} completed but ran {runs} times", p.id);
                assert!(
                    !p.cancel_said_true,
                    "task {} ran after cancel() said true",
                    p.id
                );
                assert!(!plan.panics[p.id]);
                ok[io] += 1;
            }
            Err(e) if e.is_panic() => {
                let payload = e.into_panic();
                let chaos = payload.downcast_ref::<ChaosPanic>().expect("our payload");
                assert_eq!(chaos.0, p.id, "panic payload of another task");
                assert_eq!(runs, 1, "task {} panicked but ran {runs} times", p.id);
                assert!(plan.panics[p.id]);
                panicked[io] += 1;
            }
            Err(e) => {
                assert!(e.is_cancelled());
                assert_eq!(runs, 0, "task {} is reported cancelled but ran", p.id);
                cancelled[io] += 1;
                futures_cancelled += usize::from(p.future);
            }
        }
    }
    // Ran at most once; structured tasks and handles add up with refusals.
    let mut ran = 0;
    for (id, r) in plan.runs.iter().enumerate() {
        let r = r.load(SeqCst);
        assert!(r <= 1, "task {id} ran {r} times");
        ran += r as usize;
    }
    for &id in &tally.structured_exact {
        let r = plan.runs[id].load(SeqCst);
        assert_eq!(r, 1, "structured task {id} ran {r} times");
    }
    let handles_ran = ok[0] + ok[1] + panicked[0] + panicked[1];
    let structured_ran = ran - handles_ran;
    assert!(
        structured_ran >= tally.structured_exact.len() && structured_ran <= tally.structured,
        "structured tasks ran {structured_ran}; {} must have, at most {}",
        tally.structured_exact.len(),
        tally.structured
    );
    let structured_unrun = tally.structured - structured_ran;
    let rejected =
        tally.err_full + tally.err_shutdown + tally.async_refused + tally.reserve_refused;
    assert_eq!(
        ran + structured_unrun + cancelled[0] + cancelled[1] + rejected,
        tally.submitted,
        "ran + cancelled + rejected != submitted: {tally:?}"
    );
    assert_eq!(tally.submitted, tasks);

    pool.shutdown();
    let m = pool.metrics();
    let (cpu_done, io_done) = (ok[0] + panicked[0], ok[1] + panicked[1]);
    assert_eq!(m.completed as usize, cpu_done, "metrics.completed\n{m}");
    assert_eq!(m.panicked as usize, panicked[0], "metrics.panicked\n{m}");
    assert_eq!(
        m.io.completed as usize, io_done,
        "metrics.io.completed\n{m}"
    );
    assert_eq!(
        m.io.panicked as usize, panicked[1],
        "metrics.io.panicked\n{m}"
    );
    assert_eq!(
        m.rejected_full as usize, tally.err_full,
        "metrics.rejected_full\n{m}"
    );
    // Handles of infallible spawns refused by a shut-down pool are counted as rejections, not
    // as spawned tasks: spawned == completed + cancelled for each pool. Known bug: a
    // `spawn_future` refused while the last worker exits is also counted as cancelled
    // (`bug_refused_spawn_future_can_be_counted_as_cancelled` below); only that excess,
    // bounded by the future handles that came back cancelled, is tolerated here.
    let double = (m.completed + m.cancelled).saturating_sub(m.spawned) as usize;
    assert!(
        m.completed + m.cancelled >= m.spawned && double <= futures_cancelled,
        "cpu spawned != completed + cancelled (beyond the known spawn_future double count)\n{m}"
    );
    if double > 0 {
        eprintln!("KNOWN BUG seen: {double} refused spawn_future(s) also counted as cancelled");
    }
    assert_eq!(
        m.io.spawned,
        m.io.completed + m.io.cancelled,
        "io spawned != completed + cancelled\n{m}"
    );
    let refused_handles_cpu = tally.cpu_handles - m.spawned as usize;
    assert_eq!(
        m.cancelled as usize - double + refused_handles_cpu,
        cancelled[0],
        "{m}"
    );
    let refused_handles_io = tally.io_handles - m.io.spawned as usize;
    assert_eq!(
        m.io.cancelled as usize + refused_handles_io,
        cancelled[1],
        "{m}"
    );
    let counted_shutdown = tally.err_shutdown + refused_handles_cpu + refused_handles_io;
    let rs = m.rejected_shutdown as usize;
    assert!(
        rs >= counted_shutdown && rs <= counted_shutdown + tally.async_refused,
        "metrics.rejected_shutdown {rs} vs {counted_shutdown} (+ up to {} spawn_async)\n{m}",
        tally.async_refused
    );
    if let Some(n) = shutdown_now_count {
        assert!(
            n <= cancelled[0] + cancelled[1],
            "shutdown_now said {n} cancelled"
        );
    }
    assert_eq!(m.injection_queue_depth, 0);
    assert_eq!(m.io.queue_depth, 0);
    assert_eq!(
        m.io.threads_alive, 0,
        "I/O threads alive after shutdown\n{m}"
    );
    eprintln!(
        "round done in {:?}: ran {ran} (cpu ok {} panicked {}, io ok {} panicked {}, structured {}), cancelled cpu {} io {}, rejected {rejected}; shutdown_now cancelled {shutdown_now_count:?}",
        started.elapsed(),
        ok[0],
        panicked[0],
        ok[1],
        panicked[1],
        tally.structured,
        cancelled[0],
        cancelled[1],
    );
}

#[test]
fn every_task_runs_at_most_once_and_every_handle_and_metric_tells_the_truth() {
    let mut rng = Rng::seeded("accounting");
    let rounds = common::volume(4, 50);
    let tasks = common::volume(60_000, 200_000);
    watchdog_for(
        "accounting under chaos",
        Duration::from_secs(300 + 120 * rounds as u64),
        move || {
            for r in 0..rounds {
                // Odd rounds: shutdown_now at a random point; even rounds: graceful at the end.
                let at = (r % 2 == 0).then(|| rng.below(100) as f64 / 100.0);
                round(&mut rng, tasks, at);
            }
        },
    );
}

#[test]
fn shutdown_now_right_at_the_start_and_at_the_very_end() {
    let mut rng = Rng::seeded("accounting-edges");
    watchdog_for(
        "accounting at the edges",
        Duration::from_secs(240),
        move || {
            round(&mut rng, 4_000, Some(0.0));
            round(&mut rng, 4_000, Some(1.0));
        },
    );
}

#[test]
fn a_million_tiny_tasks_each_run_exactly_once() {
    watchdog("million", || {
        const N: usize = 1_000_000;
        let pool = Pool::builder()
            .threads(2)
            .pinning(Pinning::None)
            .build()
            .unwrap();
        assert_eq!(pool.queue_capacity(), corepool::defaults::QUEUE_CAPACITY);
        let runs: Arc<Vec<AtomicU8>> = Arc::new((0..N).map(|_| AtomicU8::new(0)).collect());
        let total = Arc::new(AtomicUsize::new(0));
        for i in 0..N {
            let (runs, total) = (Arc::clone(&runs), Arc::clone(&total));
            drop(pool.spawn(move || {
                runs[i].fetch_add(1, Ordering::Relaxed);
                total.fetch_add(1, Ordering::Relaxed);
            }));
        }
        pool.shutdown(); // graceful: returns after every accepted task ran
        assert_eq!(total.load(Ordering::Relaxed), N);
        let wrong: Vec<(usize, u8)> = runs
            .iter()
            .map(|r| r.load(Ordering::Relaxed))
            .enumerate()
            .filter(|&(_, r)| r != 1)
            .take(10)
            .collect();
        assert!(
            wrong.is_empty(),
            "tasks not run exactly once (index, runs): {wrong:?}"
        );
    });
}

/// `reserve.rs` `spawn_async` turns `Err(ShutdownError)` from its `Reserve` into
/// `SpawnError::Shutdown(func)` without `record_submission`, while every other refusal
/// (including `Permit::spawn`) is counted in `metrics.rejected_shutdown`, documented as
/// "Submissions refused with `SpawnError::Shutdown` (both pools)".
#[test]
fn bug_spawn_async_refusal_is_not_counted_in_rejected_shutdown() {
    let pool = Pool::builder()
        .threads(1)
        .pinning(Pinning::None)
        .build()
        .unwrap();
    pool.shutdown();
    assert!(pool.try_spawn(|| 1).unwrap_err().is_shutdown());
    assert_eq!(pool.metrics().rejected_shutdown, 1);
    let refused = pool.block_on(pool.spawn_async(|| 2));
    assert!(refused.unwrap_err().is_shutdown());
    assert_eq!(
        pool.metrics().rejected_shutdown,
        2,
        "spawn_async's SpawnError::Shutdown was not counted"
    );
}

/// A `spawn_future` refused by a shutting-down pool can be counted twice: as
/// `rejected_shutdown` *and* as `cancelled` (and in `shutdown_now`'s return value).
///
/// `future_task.rs` `spawn_future` puts the task in the pool's `futures` table
/// (`futures_track`) *before* it tries to inject it. If the injection is refused because the
/// pool is closing, and the last CPU worker runs `registry.rs` `cpu_worker_exiting` in between,
/// that worker takes the table, cancels the task (`record_outcome(Cancelled, CpuOutside)`:
/// `cancelled += 1`, shutdown count += 1); then `spawn_future` records the refusal
/// (`rejected_shutdown += 1`). Afterwards `spawned != completed + cancelled`.
#[test]
fn bug_refused_spawn_future_can_be_counted_as_cancelled() {
    let iterations = common::volume(2_000, 50_000);
    watchdog_for(
        "spawn_future racing shutdown_now",
        Duration::from_secs(240),
        move || {
            for i in 0..iterations {
                let pool = Pool::builder()
                    .threads(1)
                    .pinning(Pinning::None)
                    .build()
                    .unwrap();
                let p = pool.clone();
                let submitter = std::thread::spawn(move || {
                    let mut handles = Vec::new();
                    while !p.is_shutdown() {
                        handles.push(p.spawn_future(async { 1 }));
                    }
                    for _ in 0..4 {
                        handles.push(p.spawn_future(async { 1 }));
                    }
                    handles
                });
                std::thread::sleep(Duration::from_micros(50 + (i as u64 % 5) * 40));
                pool.shutdown_now();
                for h in submitter.join().unwrap() {
                    let _ = h.join();
                }
                pool.shutdown();
                let m = pool.metrics();
                assert_eq!(
                    m.spawned,
                    m.completed + m.cancelled,
                    "iteration {i}: a refused spawn_future was also counted as cancelled\n{m}"
                );
            }
        },
    );
}
