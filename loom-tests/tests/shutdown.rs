//! Model: the shutdown protocol (`src/registry.rs`, the spawn paths in `src/pool.rs`).
//!
//! Invariants checked (nothing lost):
//! - `shutdown` closes the injection queue first: a submission racing it is either accepted or
//!   refused with its closure handed back (`try_spawn`), or its handle says Cancelled (`spawn`).
//! - A worker exits only when `terminate` is set, its deque is empty, and no injection slot is
//!   reserved: every accepted task runs under a graceful `shutdown`, including one whose push
//!   raced the close and children spawned by a task that was running.
//! - Under `shutdown_now` an accepted task either ran once or its handle says Cancelled, and
//!   the returned count is exactly the number of tasks shutdown cancelled.
//! - Every worker exits and is joined, also when the last `Pool` handle is dropped on another
//!   thread (a worker left behind is a loom deadlock at the end of the iteration).
//!
//! In every model each task's value carries a drop counter: dropped exactly once.
#![cfg(corepool_loom)]

mod common;

use common::{model, pool, Counter, Drops};
use loom::thread;

/// `spawn` on another thread races `shutdown_now`: the task ran once (Ok) or never (Cancelled,
/// refused or cancelled in the queue); shutdown counted it only if it cancelled it.
#[test]
fn spawn_vs_shutdown_now() {
    model("shutdown::spawn_vs_shutdown_now", || {
        let pool = pool(1, 4);
        let drops = Drops::new();
        let runs = Counter::new();
        let submitter = {
            let (pool, token, r) = (pool.clone(), drops.token(), runs.clone());
            thread::spawn(move || {
                let handle = pool.spawn(move || {
                    r.incr();
                    token
                });
                handle.join().map(drop)
            })
        };
        let cancelled = pool.shutdown_now();
        let result = submitter.join().unwrap();
        match result {
            Ok(()) => assert_eq!((runs.get(), cancelled), (1, 0)),
            Err(e) => {
                assert!(e.is_cancelled());
                assert_eq!(runs.get(), 0);
                assert!(cancelled <= 1);
            }
        }
        assert_eq!(drops.count(), 1);
    });
}

/// `try_spawn` on another thread races a graceful `shutdown`: accepted means it runs (the
/// worker must not exit while the submission's slot is reserved but not yet pushed); refused
/// means `Shutdown` with the closure handed back, unrun.
#[test]
fn try_spawn_vs_shutdown() {
    model("shutdown::try_spawn_vs_shutdown", || {
        let pool = pool(1, 4);
        let drops = Drops::new();
        let runs = Counter::new();
        let submitter = {
            let (pool, token, r) = (pool.clone(), drops.token(), runs.clone());
            thread::spawn(move || {
                match pool.try_spawn(move || {
                    r.incr();
                    token
                }) {
                    Ok(handle) => {
                        drop(handle.join().expect("an accepted task runs under shutdown"));
                        true
                    }
                    Err(e) => {
                        assert!(e.is_shutdown());
                        drop(e.into_inner());
                        false
                    }
                }
            })
        };
        pool.shutdown();
        let accepted = submitter.join().unwrap();
        assert_eq!(runs.get(), usize::from(accepted));
        assert_eq!(drops.count(), 1);
    });
}

/// Two `try_spawn`s race `shutdown_now`: every accepted task ran once or was cancelled, and
/// `shutdown_now` returns exactly the number of accepted tasks whose handle says Cancelled.
#[test]
fn try_spawns_vs_shutdown_now_count() {
    model("shutdown::try_spawns_vs_shutdown_now_count", || {
        let pool = pool(1, 4);
        let drops = Drops::new();
        let runs = Counter::new();
        let submitter = {
            let (pool, drops, r) = (pool.clone(), drops.clone(), runs.clone());
            thread::spawn(move || {
                let mut outcome = (0, 0, 0); // (refused, ran, cancelled)
                for _ in 0..2 {
                    let (token, r) = (drops.token(), r.clone());
                    match pool.try_spawn(move || {
                        r.incr();
                        token
                    }) {
                        Ok(handle) => match handle.join() {
                            Ok(_) => outcome.1 += 1,
                            Err(e) => {
                                assert!(e.is_cancelled());
                                outcome.2 += 1;
                            }
                        },
                        Err(e) => {
                            assert!(e.is_shutdown());
                            outcome.0 += 1;
                        }
                    }
                }
                outcome
            })
        };
        let counted = pool.shutdown_now();
        let (refused, ran, cancelled) = submitter.join().unwrap();
        assert_eq!(refused + ran + cancelled, 2);
        assert_eq!(runs.get(), ran);
        assert_eq!(
            counted, cancelled,
            "shutdown_now's count matches the handles"
        );
        assert_eq!(drops.count(), 2);
    });
}

/// A running task spawns a child (onto its worker's deque) while the pool shuts down
/// gracefully: the worker does not exit with the child still queued, so the child runs.
#[test]
fn running_task_spawns_during_shutdown() {
    model("shutdown::running_task_spawns_during_shutdown", || {
        let pool = pool(1, 4);
        let runs = Counter::new();
        let r = runs.clone();
        let outer = pool.spawn(move || corepool::spawn(move || r.incr()));
        pool.shutdown();
        let inner = outer.join().expect("accepted before shutdown, so it ran");
        inner.join().expect("a child of a running task runs");
        assert_eq!(runs.get(), 1);
    });
}

/// The last `Pool` handle may be dropped on either thread, while the other thread spawns:
/// whoever drops last shuts the pool down gracefully and joins the worker; the task, spawned
/// while a handle was alive, runs.
#[test]
fn last_handle_dropped_elsewhere() {
    model("shutdown::last_handle_dropped_elsewhere", || {
        let pool = pool(1, 4);
        let runs = Counter::new();
        let other = {
            let (pool, r) = (pool.clone(), runs.clone());
            thread::spawn(move || {
                drop(pool.spawn(move || r.incr()));
                drop(pool);
            })
        };
        drop(pool);
        other.join().unwrap();
        assert_eq!(runs.get(), 1);
    });
}

/// Two workers, one queued task, `shutdown_now`: both workers are woken and exit (whether
/// asleep, searching, or running the task), and the task ran or was counted as cancelled.
#[test]
fn two_workers_shutdown_now() {
    model("shutdown::two_workers_shutdown_now", || {
        let pool = pool(2, 4);
        let runs = Counter::new();
        let r = runs.clone();
        let handle = pool.spawn(move || r.incr());
        let cancelled = pool.shutdown_now();
        match handle.join() {
            Ok(()) => assert_eq!((runs.get(), cancelled), (1, 0)),
            Err(e) => {
                assert!(e.is_cancelled());
                assert_eq!((runs.get(), cancelled), (0, 1));
            }
        }
    });
}
