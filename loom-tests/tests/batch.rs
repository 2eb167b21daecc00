//! Model: batch submission (`src/batch.rs`): `spawn_all` from outside the pool pushes one job
//! per batch (2 closures per batch under loom), holding one queue slot per closure.
//!
//! Invariants checked:
//! - Each batch's closures become tasks exactly once, by whoever wins the claim: the worker
//!   that started the batch job or the submitter, which claims the oldest batch itself when
//!   the queue is full. The loser waits for READY and sees every handle and job (loom checks
//!   the cells for data races). Every handle resolves with its own value, in input order.
//! - Every reserved slot is given back (the job's one when a worker takes it, the rest when the
//!   batch starts): `injection_slots_in_use` is 0 at the end. (Metrics are compiled out under
//!   loom; `tests/groups.rs` checks their counts.)
//! - On a closed pool the closures not yet queued are cancelled with their handles told.
//! - The worker knows the rest of its batch, popped back from its deque, by the address of a
//!   cell it keeps alive until its loop ends; a thief that ran the rest frees nothing that a
//!   later job could be allocated in and then be taken for the rest (issue #16).
#![cfg(corepool_loom)]

mod common;

use common::{model, model_with, pool, Gate, Seen};
use corepool::loom_api;

/// Capacity 2, one worker, three closures: the first batch takes both slots, so the third
/// closure finds the queue full until the worker takes the batch; meanwhile the submitter
/// claims the batch itself or waits for the worker's conversion. All three results come back
/// in order; no slot is left taken.
#[test]
fn spawn_all_claims_and_returns_every_handle() {
    model("batch::spawn_all_claims_and_returns_every_handle", || {
        let pool = pool(1, 2);
        let handles = pool.spawn_all((0..3u32).map(|i| move || i * 10));
        let results: Vec<u32> = corepool::join_all(handles)
            .into_iter()
            .map(|r| r.expect("every task runs"))
            .collect();
        assert_eq!(results, [0, 10, 20]);
        pool.shutdown();
        assert_eq!(loom_api::injection_slots_in_use(&pool), 0);
    });
}

/// `spawn_all` on a pool that shuts down: whatever was queued before the close runs, the rest
/// is cancelled; every handle resolves either way and no slot stays taken.
#[test]
fn spawn_all_racing_shutdown() {
    static SOME_CANCELLED: Seen = Seen::new("some closures were cancelled by the close");
    static ALL_RAN: Seen = Seen::new("every closure was queued before the close");
    model("batch::spawn_all_racing_shutdown", || {
        let pool = pool(1, 4);
        let closer = pool.clone();
        let t = loom::thread::spawn(move || closer.shutdown());
        let handles = pool.spawn_all((0..3u32).map(|i| move || i));
        let results = corepool::join_all(handles);
        t.join().expect("shutdown returns");
        let mut ran = 0;
        for (i, r) in results.iter().enumerate() {
            match r {
                Ok(v) => {
                    assert_eq!(*v as usize, i);
                    ran += 1;
                }
                Err(e) => assert!(e.is_cancelled()),
            }
        }
        SOME_CANCELLED.mark_if(ran < 3);
        ALL_RAN.mark_if(ran == 3);
        assert_eq!(loom_api::injection_slots_in_use(&pool), 0);
    });
    SOME_CANCELLED.assert_seen();
    ALL_RAN.assert_seen();
}

/// Two workers, one batch of two tasks: while the worker running the batch runs the first
/// task, the second sits on its deque as the rest of the batch; the other worker may steal it
/// (both outcomes occur) or the first pops it back. Each task runs exactly once and both
/// results come back in order. Preemption bound 1 (two-worker pools are costly; see "Cost").
#[test]
fn rest_of_a_batch_stolen_or_popped_back() {
    static SPLIT: Seen = Seen::new("the two tasks of a batch ran on different workers");
    static TOGETHER: Seen = Seen::new("both tasks of a batch ran on one worker");
    model_with(
        "batch::rest_of_a_batch_stolen_or_popped_back",
        Some(1),
        || {
            let pool = pool(2, 4);
            let handles =
                pool.spawn_all((0..2u32).map(|i| move || (i, corepool::current_thread_index())));
            let results: Vec<_> = corepool::join_all(handles)
                .into_iter()
                .map(|r| r.expect("every task runs"))
                .collect();
            assert_eq!((results[0].0, results[1].0), (0, 1));
            SPLIT.mark_if(results[0].1 != results[1].1);
            TOGETHER.mark_if(results[0].1 == results[1].1);
            pool.shutdown();
            assert_eq!(loom_api::injection_slots_in_use(&pool), 0);
        },
    );
    SPLIT.assert_seen();
    TOGETHER.assert_seen();
}

/// Issue #16, defect 3: two workers, one batch of two tasks. `t0` waits, without helping, until
/// a marker task runs that `t1` spawned on the other worker (so that worker stole the rest,
/// ran `t1` and was done with the rest before the marker); then `t0` pushes a heap job of the
/// size of a batch's list onto its own deque (where an injected batch leaves jobs) and returns.
/// The batch's worker then pops that job in its loop and must run it as the job it is. With the
/// old identity (the list itself was the job, freed by the thief, and known by its address
/// alone) the heap job got the freed list's block and was taken for the rest: it never ran, and
/// main's wait for it deadlocked. Preemption bound 1 (two-worker pools are costly; see "Cost").
#[test]
fn rest_of_a_batch_known_by_a_live_address() {
    model_with(
        "batch::rest_of_a_batch_known_by_a_live_address",
        Some(1),
        || {
            let pool = pool(2, 4);
            let marker_ran = Gate::new();
            let job_ran = Gate::new();
            let (wait_marker, open_job) = (marker_ran.clone(), job_ran.clone());
            let t0 = Box::new(move || {
                wait_marker.wait();
                // With the gate, three words: the size of a batch's list of jobs and its index.
                let pad = [0usize; 3];
                loom_api::push_heap_job_here(move || {
                    std::hint::black_box(pad);
                    open_job.open();
                });
            }) as Box<dyn FnOnce() + Send>;
            let t1 = Box::new(move || {
                drop(corepool::spawn(move || marker_ran.open()));
            }) as Box<dyn FnOnce() + Send>;
            for result in corepool::join_all(pool.spawn_all([t0, t1])) {
                result.expect("every task runs");
            }
            job_ran.wait();
            pool.shutdown();
            assert_eq!(loom_api::injection_slots_in_use(&pool), 0);
        },
    );
}
