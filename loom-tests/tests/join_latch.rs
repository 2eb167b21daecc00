//! Model: fork-join and its latches (`src/join.rs`, `src/latch.rs`, the stack job in
//! `src/job.rs`, and `install` from outside the pool with its `LockLatch`).
//!
//! Invariants checked:
//! - join.rs: `b` is either popped back by its owner (and run inline, or dropped unrun if `a`
//!   panicked) or stolen and run by a thief whose latch set releases the owner; either way the
//!   owner observes `b`'s result exactly once, and does not leave the frame while `b` may
//!   still touch it (loom checks every access to the stack job's result cell for races).
//! - latch.rs: `set` publishes the result before the waiter can observe the latch, and the
//!   waiting worker is woken through the sleep protocol (else: loom deadlock).
//! - A panic in `a` wins and is re-raised only after `b` stopped; a panic in `b` is re-raised
//!   on the caller; every value is dropped exactly once on every path.
//!
//! With two workers both paths (popped back, stolen) occur; each model asserts afterwards that
//! loom explored both, so the model really covers the steal.
#![cfg(corepool_loom)]

mod common;

use common::{expected_panic, is_expected, model, pool, Counter, Drops};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

/// Records whether `b` ran on another worker than `a` (stolen) or on the same (popped back).
struct Paths {
    stolen: AtomicBool,
    popped: AtomicBool,
}

impl Paths {
    const fn new() -> Self {
        Paths {
            stolen: AtomicBool::new(false),
            popped: AtomicBool::new(false),
        }
    }

    fn record(&self, a_index: Option<usize>, b_index: Option<usize>) {
        assert!(
            a_index.is_some() && b_index.is_some(),
            "both halves run on workers"
        );
        if a_index == b_index {
            self.popped.store(true, Relaxed);
        } else {
            self.stolen.store(true, Relaxed);
        }
    }

    fn assert_both_seen(&self) {
        assert!(self.popped.load(Relaxed), "no iteration popped b back");
        assert!(self.stolen.load(Relaxed), "no iteration had b stolen");
    }
}

/// One worker: `b` is always popped back and run inline; both results come back once.
#[test]
fn join_one_worker() {
    model("join_latch::join_one_worker", || {
        let pool = pool(1, 4);
        let drops = Drops::new();
        let (ta, tb) = (drops.token(), drops.token());
        let (ra, rb) = pool.join(move || (String::from("a"), ta), move || (vec![2u8], tb));
        assert_eq!((ra.0.as_str(), rb.0.as_slice()), ("a", &[2u8][..]));
        drop((ra, rb));
        assert_eq!(drops.count(), 2, "each result dropped exactly once");
        pool.shutdown();
    });
}

/// Two workers: `b` may be stolen by the other worker. The owner gets `b`'s heap result
/// exactly once either way, and waits for the thief (sleeping through the sleep protocol) when
/// `b` was stolen.
#[test]
fn join_two_workers_popped_or_stolen() {
    static PATHS: Paths = Paths::new();
    model("join_latch::join_two_workers_popped_or_stolen", || {
        let pool = pool(2, 4);
        let drops = Drops::new();
        let runs = Counter::new();
        let (ta, tb) = (drops.token(), drops.token());
        let (ra, rb) = (runs.clone(), runs.clone());
        let ((ia, _ta), (ib, vb, _tb)) = pool.join(
            move || {
                ra.incr();
                (corepool::current_thread_index(), ta)
            },
            move || {
                rb.incr();
                (corepool::current_thread_index(), vec![7u32; 2], tb)
            },
        );
        PATHS.record(ia, ib);
        assert_eq!(vb, [7, 7]);
        assert_eq!(runs.get(), 2, "each half ran exactly once");
        pool.shutdown();
        drop((_ta, _tb, vb));
        assert_eq!(drops.count(), 2);
    });
    PATHS.assert_both_seen();
}

/// Two workers, `a` panics. If `b` was popped back it is dropped unrun; if it was stolen the
/// owner waits for it before re-raising. Either way the caller gets `a`'s panic, `b` ran at most
/// once, and `b`'s captured value (moved into its result if it ran) is dropped exactly once.
#[test]
fn join_panic_in_a() {
    static PATHS: Paths = Paths::new();
    model("join_latch::join_panic_in_a", || {
        let pool = pool(2, 4);
        let drops = Drops::new();
        let b_runs = Counter::new();
        let tb = drops.token();
        let rb = b_runs.clone();
        let result = catch_unwind(AssertUnwindSafe(|| {
            pool.join(
                || -> () { expected_panic() },
                move || {
                    rb.incr();
                    tb
                },
            )
        }));
        let payload = result.err().expect("a's panic is re-raised");
        assert!(is_expected(&*payload));
        assert!(b_runs.get() <= 1);
        if b_runs.get() == 1 {
            PATHS.stolen.store(true, Relaxed);
        } else {
            PATHS.popped.store(true, Relaxed);
        }
        assert_eq!(drops.count(), 1, "b's value dropped exactly once");
        pool.shutdown();
    });
    PATHS.assert_both_seen();
}

/// Two workers, `b` panics (popped back and run inline, or stolen): `a` ran once, its result
/// is dropped once, and the caller gets `b`'s panic.
#[test]
fn join_panic_in_b() {
    model("join_latch::join_panic_in_b", || {
        let pool = pool(2, 4);
        let drops = Drops::new();
        let a_runs = Counter::new();
        let ta = drops.token();
        let ra = a_runs.clone();
        let result = catch_unwind(AssertUnwindSafe(|| {
            pool.join(
                move || {
                    ra.incr();
                    ta
                },
                || -> () { expected_panic() },
            )
        }));
        let payload = result.err().expect("b's panic is re-raised");
        assert!(is_expected(&*payload));
        assert_eq!(a_runs.get(), 1);
        assert_eq!(drops.count(), 1, "a's result dropped exactly once");
        pool.shutdown();
    });
}

/// Cross-pool: a worker of pool A joins on pool B (`install` from another pool's worker, a
/// cross-pool `SpinLatch` whose setter keeps A's registry alive across the wake-up). The A
/// worker keeps helping its own pool while it waits and is woken by B's worker.
#[test]
fn join_across_pools() {
    model("join_latch::join_across_pools", || {
        let pool_a = pool(1, 2);
        let pool_b = pool(1, 2);
        let (x, y) = pool_a.install(|| pool_b.join(|| 1u8, || vec![2u8]));
        assert_eq!((x, y), (1, vec![2]));
        pool_b.shutdown();
        pool_a.shutdown();
    });
}
