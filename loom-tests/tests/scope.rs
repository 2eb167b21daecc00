//! Model: scopes (`src/scope.rs`).
//!
//! Invariant checked (the completion counter): `pending` starts at 1 for the body, is
//! incremented before each child is queued and decremented once by each child after it
//! finished (at once, or later through the credit its worker keeps, `sched/credit.rs`: a
//! spawn from that worker may spend it instead of incrementing); the owner returns only after
//! it reached zero. So `scope` returns only after every
//! spawned child, nested spawns included, has finished, and the first panic is re-raised after
//! all finished.
//!
//! The children write into `loom::cell::UnsafeCell`s on the caller's stack and the caller reads
//! them after `scope` returns: loom flags the read as a data race unless every child's write
//! happens-before the return, and the value check catches a child that has not run yet.
#![cfg(corepool_loom)]

mod common;

use common::{expected_panic, is_expected, model, model_with, pool};
use loom::cell::UnsafeCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

/// Slots the children write; shared by reference, each slot written by exactly one child.
struct Slots([UnsafeCell<usize>; 3]);

// SAFETY: each slot is written by one child and read by the owner after the scope returns; loom
// checks exactly that these accesses are ordered.
unsafe impl Sync for Slots {}

impl Slots {
    fn new() -> Self {
        Slots([UnsafeCell::new(0), UnsafeCell::new(0), UnsafeCell::new(0)])
    }

    fn write(&self, i: usize, value: usize) {
        // SAFETY: slot `i` has a single writer (see above).
        self.0[i].with_mut(|p| unsafe { *p = value });
    }

    fn read(&self, i: usize) -> usize {
        // SAFETY: read after the scope returned; loom reports it if not ordered after the write.
        self.0[i].with(|p| unsafe { *p })
    }
}

fn nested_scope(threads: usize) {
    let pool = pool(threads, 4);
    let slots = Slots::new();
    let slots_ref = &slots;
    pool.scope(|s| {
        s.spawn(move |s| {
            slots_ref.write(0, 10);
            s.spawn(move |_| slots_ref.write(1, 11));
        });
        s.spawn(move |_| slots_ref.write(2, 12));
    });
    assert_eq!(
        (slots.read(0), slots.read(1), slots.read(2)),
        (10, 11, 12),
        "scope returned before a child finished"
    );
    pool.shutdown();
}

/// One worker: the body runs on the worker, the children are pushed to its deque and run while
/// it waits; a child spawns a grandchild.
#[test]
fn nested_spawns_one_worker() {
    model("scope::nested_spawns_one_worker", || nested_scope(1));
}

/// Spawns into `s` a child that writes slot 0 and spawns a grandchild that writes slot 1;
/// `moved` records a child run on a worker other than `owner` (the body's).
fn spawn_child_with_grandchild<'scope>(
    s: &corepool::Scope<'scope>,
    slots: &'scope Slots,
    owner: Option<usize>,
    moved: &'static AtomicBool,
) {
    s.spawn(move |s| {
        if corepool::current_thread_index() != owner {
            moved.store(true, Relaxed);
        }
        slots.write(0, 10);
        s.spawn(move |_| slots.write(1, 11));
    });
}

/// Two workers: children may be stolen, so the owner waits (sleeping through the sleep
/// protocol) for the last child on the other worker to bring `pending` to zero.
#[test]
fn nested_spawns_two_workers() {
    static STOLEN: AtomicBool = AtomicBool::new(false);
    model("scope::nested_spawns_two_workers", || {
        let pool = pool(2, 4);
        let slots = Slots::new();
        let slots_ref = &slots;
        pool.scope(|s| {
            spawn_child_with_grandchild(s, slots_ref, corepool::current_thread_index(), &STOLEN);
        });
        assert_eq!((slots.read(0), slots.read(1)), (10, 11));
        pool.shutdown();
    });
    assert!(STOLEN.load(Relaxed), "no iteration had a child stolen");
}

/// Two workers, a child panics while another (possibly stolen) child still runs: the panic is
/// re-raised on the caller only after the other child finished.
#[test]
fn child_panic_waits_for_siblings() {
    model("scope::child_panic_waits_for_siblings", || {
        let pool = pool(2, 4);
        let slots = Slots::new();
        let slots_ref = &slots;
        let result = catch_unwind(AssertUnwindSafe(|| {
            pool.scope(|s| {
                s.spawn(|_| expected_panic());
                s.spawn(move |_| slots_ref.write(0, 1));
            })
        }));
        let payload = result.expect_err("the child's panic is re-raised");
        assert!(is_expected(&*payload));
        assert_eq!(slots.read(0), 1, "scope unwound before a sibling finished");
        pool.shutdown();
    });
}

/// A thread outside the pool owns the scope (`in_place_scope`): its body runs here, the child
/// runs on the worker, and the owner parks until the last child unparks it. The child takes
/// its handle on the owner before its decrement, so the owner may return (and the scope be
/// freed) the moment `pending` reads zero.
#[test]
fn outside_owner_parks_until_the_last_child() {
    model("scope::outside_owner_parks_until_the_last_child", || {
        let pool = pool(1, 4);
        let slots = Slots::new();
        let slots_ref = &slots;
        pool.in_place_scope(|s| {
            assert_eq!(corepool::current_thread_index(), None, "the body runs here");
            s.spawn(move |_| slots_ref.write(0, 10));
        });
        assert_eq!(
            slots.read(0),
            10,
            "in_place_scope returned before its child finished"
        );
        pool.shutdown();
    });
}

/// Worker-local credit (`sched/credit.rs`): two workers, a scope owned by worker 0. A child
/// finished on the other worker from its main loop keeps its decrement instead of writing
/// `pending`; a child run next on the same worker keeps its own too, and a spawn from a
/// worker keeping credit spends one instead of incrementing. The thief must fold its credit
/// before it sleeps (or runs anything else), or the owner waits for ever: loom reports the
/// deadlock. The owner keeps the decrements of the children it runs, and applies them in its
/// own wait check once they are all that `pending` holds.
#[test]
fn credit_is_kept_spent_and_folded_before_sleeping() {
    static THIEF_RAN_A_CHILD: AtomicBool = AtomicBool::new(false);
    // One preemption is enough here: the bugs this model is for (a worker sleeping, running
    // other work or exiting with credit kept) need no race, only the right order of jobs,
    // and the bound-2 models above cover the count's races.
    model_with(
        "scope::credit_is_kept_spent_and_folded_before_sleeping",
        Some(1),
        || {
            let pool = pool(2, 4);
            let slots = Slots::new();
            let slots_ref = &slots;
            pool.scope(|s| {
                let owner = corepool::current_thread_index();
                // Pushed first: the oldest job, the one a thief steals. On whichever worker it
                // runs, it spawns while that worker may keep the credit of `leaf`.
                spawn_child_with_grandchild(s, slots_ref, owner, &THIEF_RAN_A_CHILD);
                s.spawn(move |_| {
                    if corepool::current_thread_index() != owner {
                        THIEF_RAN_A_CHILD.store(true, Relaxed);
                    }
                    slots_ref.write(2, 12);
                });
            });
            assert_eq!(
                (slots.read(0), slots.read(1), slots.read(2)),
                (10, 11, 12),
                "scope returned before a child finished"
            );
            pool.shutdown();
        },
    );
    assert!(
        THIEF_RAN_A_CHILD.load(Relaxed),
        "no iteration had a child run by the worker that does not own the scope"
    );
}
