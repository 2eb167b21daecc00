//! Model: fork-join and its latches (`src/join.rs` with its own stack job `JoinJob` and the
//! `JoinLatch` of `src/latch.rs`; `install` from outside the pool with the `StackJob` of
//! `src/job.rs` and its `LockLatch`; a cross-pool `SpinLatch`).
//!
//! Invariants checked:
//! - join.rs: `b` is either popped back by its owner (and run inline, also if `a` panicked)
//!   or stolen and run by a thief whose latch set releases the owner; either way the
//!   owner observes `b`'s result exactly once, and does not leave the frame while `b` may
//!   still touch it (loom checks every access to the stack job's result cell for races).
//! - latch.rs: `set` publishes the result before the waiter can observe the latch, and the
//!   waiting worker is woken through the sleep protocol (else: loom deadlock).
//! - A panic in `a` wins and is re-raised only after `b` stopped; a panic in `b` is re-raised
//!   on the caller; every value is dropped exactly once on every path (`JoinJob` has no drop
//!   glue: its closure and result slot are consumed explicitly on each path, which the `Drops`
//!   tokens check).
//!
//! With two workers both paths (popped back, stolen) occur; each model asserts afterwards that
//! loom explored both, so the model really covers the steal.
//!
//! Demand-driven join (join.rs): the joins above are each a worker's outermost join, whose `b`
//! is published at once, so they explore what they explored before the change (both paths are
//! still asserted). A nested join's `b` is published only while another worker is hungry;
//! `join_nested_publishes_on_demand` covers that: the inner `b` runs on the same worker (never
//! published, or popped back) or is published on demand and stolen; both occur.
#![cfg(corepool_loom)]

mod common;

use common::{expected_panic, is_expected, model, model_with, pool, Counter, Drops, Gate};
use loom::thread;
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

/// Two workers, `a` panics. If `b` was popped back it runs inline all the same; if it was stolen
/// the owner waits for it before re-raising. Either way the caller gets `a`'s panic, `b` ran
/// exactly once, and `b`'s value is dropped exactly once.
#[test]
fn join_panic_in_a() {
    static PATHS: Paths = Paths::new();
    model("join_latch::join_panic_in_a", || {
        let pool = pool(2, 4);
        let drops = Drops::new();
        let b_runs = Counter::new();
        let tb = drops.token();
        let rb = b_runs.clone();
        let workers = std::sync::Arc::new(std::sync::Mutex::new((None, None)));
        let (wa, wb) = (workers.clone(), workers.clone());
        let result = catch_unwind(AssertUnwindSafe(|| {
            pool.join(
                move || -> () {
                    wa.lock().unwrap().0 = corepool::current_thread_index();
                    expected_panic()
                },
                move || {
                    wb.lock().unwrap().1 = corepool::current_thread_index();
                    rb.incr();
                    tb
                },
            )
        }));
        let payload = result.err().expect("a's panic is re-raised");
        assert!(is_expected(&*payload));
        assert_eq!(b_runs.get(), 1, "b runs although a panicked");
        let (on_a, on_b) = *workers.lock().unwrap();
        if on_a == on_b {
            PATHS.popped.store(true, Relaxed);
        } else {
            PATHS.stolen.store(true, Relaxed);
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

/// A join nested in the `a` of another, on two workers. The outer `a` waits until the outer
/// `b` ran, so that `b` must be stolen: the outermost join publishes its `b` at once (else a
/// deadlock). The inner join's `b` is published only if the other worker is hungry (searching
/// or asleep) and the owner's deque is empty; the inner `a` waits for a gate that another
/// thread opens at any moment, so while it waits a published inner `b` can be stolen. Every
/// half runs exactly once, the results come back once (loom checks the stack jobs' result
/// cells), and the inner `b` is sometimes stolen (published on demand) and sometimes run on the
/// owner (never published, or popped back). Preemption bound 1: a two-worker pool's start-up,
/// idling and shutdown alone take about 500 000 iterations at bound 2.
#[test]
fn join_nested_publishes_on_demand() {
    static INNER: Paths = Paths::new();
    model_with(
        "join_latch::join_nested_publishes_on_demand",
        Some(1),
        || {
            let pool = pool(2, 4);
            let runs = Counter::new();
            let (r1, r2, r3) = (runs.clone(), runs.clone(), runs.clone());
            let (outer_gate, inner_gate) = (Gate::new(), Gate::new());
            let (og, ig) = (outer_gate.clone(), inner_gate.clone());
            let opener = thread::spawn(move || ig.open());
            let ((inner_a, (inner_b, vb)), outer_b) = pool.join(
                move || {
                    og.wait();
                    corepool::join(
                        move || {
                            inner_gate.wait();
                            r1.incr();
                            corepool::current_thread_index()
                        },
                        move || {
                            r2.incr();
                            (corepool::current_thread_index(), vec![3u8])
                        },
                    )
                },
                move || {
                    outer_gate.open();
                    r3.incr();
                    corepool::current_thread_index()
                },
            );
            opener.join().unwrap();
            assert_ne!(inner_a, outer_b, "the outer b was stolen");
            INNER.record(inner_a, inner_b);
            assert_eq!(vb, [3]);
            assert_eq!(runs.get(), 3, "each half ran exactly once");
            pool.shutdown();
        },
    );
    INNER.assert_both_seen();
}
