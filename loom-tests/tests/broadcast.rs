//! Model: broadcasts (`src/spawn/broadcast.rs`).
//!
//! Invariant checked: a broadcast runs its operation exactly once on every worker, each call on
//! the worker whose index it carries (a call a peer takes from a busy owner's inbox goes back to
//! the owner), and `broadcast` returns only after every call finished, with the results in
//! worker order.
#![cfg(corepool_loom)]

mod common;

use common::{model, pool};

/// Two workers, a broadcast from outside the pool: each worker runs its own call once.
#[test]
fn every_worker_runs_its_own_call_once() {
    model("broadcast::every_worker_runs_its_own_call_once", || {
        let pool = pool(2, 4);
        let ran = pool.broadcast(|ctx| {
            assert_eq!(
                corepool::current_thread_index(),
                Some(ctx.index()),
                "a call ran on another worker"
            );
            ctx.index()
        });
        assert_eq!(ran, [0, 1]);
        pool.shutdown();
    });
}
