//! Model: corepool used only through its public API, the way a downstream crate would in its
//! own loom CI (see README.md, "Model-checking code that uses corepool").
//!
//! Invariant checked: the public contract as a whole — a pool built inside `loom::model` runs
//! spawned tasks, `join` halves and scoped tasks, delivers every result (including through
//! the free functions inside a task), and `shutdown` returns with every worker thread joined;
//! loom reports any deadlock, data race or lost wake-up on the way.
//!
//! Nothing here uses `corepool::loom_api` or the test helpers: it is a template to copy.
#![cfg(corepool_loom)]

use corepool::Pool;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Runs `f` under loom with the bounds from the environment, raising `max_branches` for the
/// pool's worker loops, and reports the number of iterations.
fn check(name: &str, f: impl Fn() + Send + Sync + 'static) {
    let iterations = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&iterations);
    let mut builder = loom::model::Builder::new();
    builder.max_branches = builder.max_branches.max(10_000);
    let start = std::time::Instant::now();
    builder.check(move || {
        counter.fetch_add(1, Ordering::Relaxed);
        f();
    });
    eprintln!(
        "loom-model {name}: {} iterations in {:.2} s (preemption bound {:?})",
        iterations.load(Ordering::Relaxed),
        start.elapsed().as_secs_f64(),
        builder.preemption_bound
    );
}

/// A one-worker pool: spawn a task that forks with `corepool::join` and spawns a nested task,
/// run a scope that borrows the stack, join the handles, shut down.
#[test]
fn downstream_one_worker() {
    check("public_api::downstream_one_worker", || {
        let pool = Pool::builder()
            .threads(1)
            .queue_capacity(4)
            .build()
            .unwrap();
        let handle = pool.spawn(|| {
            let (a, b) = corepool::join(|| 1, || 2);
            let nested = corepool::spawn(move || a * 10);
            b + nested.join().unwrap()
        });
        let mut out = [0u32; 2];
        pool.scope(|s| {
            for (i, x) in out.iter_mut().enumerate() {
                s.spawn(move |_| *x = i as u32 + 1);
            }
        });
        assert_eq!(out, [1, 2]);
        assert_eq!(handle.join().unwrap(), 12);
        pool.shutdown();
    });
}

/// A two-worker pool: one call from outside (`Pool::scope`), whose tasks fork and may be
/// stolen by the other worker, and whose results come back through the stack and a handle.
#[test]
fn downstream_two_workers() {
    check("public_api::downstream_two_workers", || {
        let pool = Pool::builder()
            .threads(2)
            .queue_capacity(4)
            .build()
            .unwrap();
        let mut sums = [0u64; 2];
        let (left, right) = sums.split_at_mut(1);
        pool.scope(|s| {
            s.spawn(move |_| {
                let (a, b) = corepool::join(|| 1u64, || 2u64);
                left[0] = a + b;
            });
            let handle = corepool::spawn(|| 4u64);
            right[0] = handle.join().unwrap();
        });
        assert_eq!(sums, [3, 4]);
        pool.shutdown();
    });
}

/// The crate documentation's own example ("Model-checking code that uses corepool"), as a
/// user copies it: a two-worker pool, a scope with two spawns that write to the stack, shut
/// down. It is here so its cost is measured: a user's CI runs many models like it.
#[test]
fn readme_recipe() {
    fn work(i: usize) -> u32 {
        i as u32 * 2 + 1
    }
    check("public_api::readme_recipe", || {
        let pool = Pool::builder()
            .threads(2)
            .queue_capacity(4)
            .build()
            .unwrap();
        let mut out = [0u32; 2];
        pool.scope(|s| {
            for (i, x) in out.iter_mut().enumerate() {
                s.spawn(move |_| *x = work(i));
            }
        });
        assert_eq!(out, [work(0), work(1)]);
        pool.shutdown();
    });
}
