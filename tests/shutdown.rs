//! The shutdown rule (nothing lost): every submitted task runs exactly once or its handle
//! reports Cancelled; `shutdown_now` cancels exactly the queued tasks and says how many; spawns
//! after shutdown are refused; shutdown from inside a worker does not deadlock; dropping the
//! last `Pool` shuts it down; `JoinHandle::cancel` cancels a queued task and drops its closure.
//!
//! Graceful shutdown returns for any mix of work that terminates (tokio's `lifo_slot_budget`
//! shape and a chain of futures that each spawn the next): queued closures and their children
//! run, and futures still pending once the closures have drained are cancelled (their handles
//! report `Cancelled`). After a timed-out `shutdown_timeout`, dropping the pool does not wait
//! again.
//!
//! A test named `bug_*`, or whose doc comment starts "Fixed bug", guards a fixed bug: it failed on
//! the code before the fix, and its doc comment says what the bug was.

// These tests cover the spawn forms `Pool::task()` replaces, which stay until their removal.
#![allow(deprecated)]

mod common;

use common::{
    count_threads_named, hold_workers, unique_prefix, wait_for, watchdog, watchdog_for, DropFlag,
};
use corepool::{JoinHandle, Pinning, Pool, SpawnError};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;

fn pool(threads: usize, capacity: usize) -> Pool {
    Pool::builder()
        .threads(threads)
        .pinning(Pinning::None)
        .queue_capacity(capacity)
        .build()
        .unwrap()
}

/// A task that records its run in `runs[i]` and owns a drop flag.
fn counted(
    runs: &Arc<Vec<AtomicUsize>>,
    dropped: &Arc<Vec<AtomicBool>>,
    i: usize,
) -> impl FnOnce() -> usize + Send + 'static {
    /// Sets `dropped[i]` when the closure that owns it is dropped (run or not).
    struct Mirror(Arc<Vec<AtomicBool>>, usize);
    impl Drop for Mirror {
        fn drop(&mut self) {
            self.0[self.1].store(true, Ordering::SeqCst);
        }
    }
    let runs = Arc::clone(runs);
    let mirror = Mirror(Arc::clone(dropped), i);
    move || {
        let _mirror = mirror;
        runs[i].fetch_add(1, Ordering::SeqCst);
        i
    }
}

fn counters(n: usize) -> (Arc<Vec<AtomicUsize>>, Arc<Vec<AtomicBool>>) {
    (
        Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect()),
        Arc::new((0..n).map(|_| AtomicBool::new(false)).collect()),
    )
}

#[test]
fn graceful_shutdown_runs_every_queued_task_once() {
    watchdog("graceful", || {
        const N: usize = 3000;
        let pool = pool(2, N);
        let (runs, dropped) = counters(N);
        let held = hold_workers(&pool);
        let handles: Vec<_> = (0..N)
            .map(|i| pool.spawn(counted(&runs, &dropped, i)))
            .collect();
        assert_eq!(pool.queued(), N);
        let shutter = {
            let pool = pool.clone();
            thread::spawn(move || pool.shutdown())
        };
        wait_for("shutdown to start", || pool.is_shutdown());
        held.release_and_join();
        shutter.join().unwrap();
        for (i, h) in handles.into_iter().enumerate() {
            assert_eq!(h.join().unwrap(), i);
            assert_eq!(runs[i].load(Ordering::SeqCst), 1, "task {i}");
        }
    });
}

#[test]
fn shutdown_now_cancels_exactly_the_queued_tasks() {
    watchdog("shutdown_now", || {
        const N: usize = 10;
        let pool = pool(1, 100);
        let (runs, dropped) = counters(N);
        let held = hold_workers(&pool);
        let handles: Vec<_> = (0..N)
            .map(|i| pool.spawn(counted(&runs, &dropped, i)))
            .collect();
        assert_eq!(pool.queued(), N);

        let shutter = {
            let pool = pool.clone();
            thread::spawn(move || pool.shutdown_now())
        };
        wait_for("shutdown_now to start", || pool.is_shutdown());
        held.release_and_join(); // the running task is not cancelled
        assert_eq!(
            shutter.join().unwrap(),
            N,
            "shutdown_now returns the number cancelled"
        );

        for (i, h) in handles.into_iter().enumerate() {
            assert!(h.is_finished());
            let err = h.join().unwrap_err();
            assert!(err.is_cancelled() && !err.is_panic(), "task {i}");
            assert_eq!(runs[i].load(Ordering::SeqCst), 0, "cancelled task {i} ran");
            assert!(
                dropped[i].load(Ordering::SeqCst),
                "cancelled task {i}'s closure leaked"
            );
        }
        // A second call cancels nothing new and still reports the total.
        assert_eq!(pool.shutdown_now(), N);
    });
}

/// Structured work that a caller waits on is not cancelled by shutdown_now.
#[test]
fn shutdown_now_still_runs_joins_and_scopes_being_waited_on() {
    watchdog("shutdown_now structured", || {
        let pool = pool(1, 100);
        let held = hold_workers(&pool);
        let queued_task = pool.spawn(|| 1);
        let joiner = {
            let pool = pool.clone();
            thread::spawn(move || pool.join(|| 1, || 2))
        };
        let scoper = {
            let pool = pool.clone();
            thread::spawn(move || {
                let mut v = 0;
                pool.scope(|s| s.spawn(|_| v = 3));
                v
            })
        };
        wait_for("join and scope to be queued", || pool.queued() == 3);
        let shutter = {
            let pool = pool.clone();
            thread::spawn(move || pool.shutdown_now())
        };
        wait_for("shutdown_now to start", || pool.is_shutdown());
        held.release_and_join();
        assert_eq!(
            shutter.join().unwrap(),
            1,
            "only the detached task is cancelled"
        );
        assert!(queued_task.join().unwrap_err().is_cancelled());
        assert_eq!(joiner.join().unwrap(), (1, 2));
        assert_eq!(scoper.join().unwrap(), 3);
    });
}

/// Submitters race with `shutdown_now`: each accepted task either ran exactly once (handle Ok)
/// or never ran (handle Cancelled); the Cancelled handles are exactly the count returned;
/// refused submissions hand their closure back unrun.
#[test]
fn racing_submitters_and_shutdown_lose_nothing() {
    watchdog("shutdown race", || {
        for round in 0..12 {
            let now = round % 2 == 0;
            const SUBMITTERS: usize = 3;
            const MAX_EACH: usize = 3000;
            let pool = pool(2, 64);
            let (runs, dropped) = counters(SUBMITTERS * MAX_EACH);
            let accepted_total = Arc::new(AtomicUsize::new(0));
            let submitters: Vec<_> = (0..SUBMITTERS)
                .map(|t| {
                    let (pool, runs, dropped) =
                        (pool.clone(), Arc::clone(&runs), Arc::clone(&dropped));
                    let accepted_total = Arc::clone(&accepted_total);
                    thread::spawn(move || {
                        let mut accepted = Vec::new();
                        let mut refused = Vec::new();
                        for i in t * MAX_EACH..(t + 1) * MAX_EACH {
                            let mut task = counted(&runs, &dropped, i);
                            loop {
                                match pool.try_spawn(task) {
                                    Ok(h) => {
                                        accepted.push((i, h));
                                        accepted_total.fetch_add(1, Ordering::SeqCst);
                                        break;
                                    }
                                    Err(SpawnError::Full(back)) => {
                                        task = back;
                                        thread::yield_now();
                                    }
                                    Err(SpawnError::Shutdown(back)) => {
                                        refused.push((i, back));
                                        break;
                                    }
                                    Err(other) => unreachable!("{other}"),
                                }
                            }
                            if !refused.is_empty() {
                                break;
                            }
                        }
                        (accepted, refused)
                    })
                })
                .collect();
            wait_for("some tasks accepted", || {
                accepted_total.load(Ordering::SeqCst) >= 500 + 100 * round
            });
            let cancelled_count = if now {
                pool.shutdown_now()
            } else {
                pool.shutdown();
                0
            };
            let mut cancelled_handles = 0;
            for s in submitters {
                let (accepted, refused): (Vec<(usize, JoinHandle<usize>)>, Vec<_>) =
                    s.join().unwrap();
                for (i, h) in accepted {
                    match h.join() {
                        Ok(v) => {
                            assert_eq!(v, i);
                            assert_eq!(
                                runs[i].load(Ordering::SeqCst),
                                1,
                                "round {round}: task {i}"
                            );
                        }
                        Err(e) => {
                            assert!(now, "round {round}: graceful shutdown cancelled task {i}");
                            assert!(e.is_cancelled(), "round {round}: task {i}: {e}");
                            assert_eq!(
                                runs[i].load(Ordering::SeqCst),
                                0,
                                "round {round}: task {i}"
                            );
                            assert!(dropped[i].load(Ordering::SeqCst));
                            cancelled_handles += 1;
                        }
                    }
                }
                for (i, back) in refused {
                    assert_eq!(runs[i].load(Ordering::SeqCst), 0);
                    assert!(
                        !dropped[i].load(Ordering::SeqCst),
                        "refused closure was dropped"
                    );
                    assert_eq!(back(), i, "the refused closure is handed back intact");
                }
            }
            assert_eq!(cancelled_handles, cancelled_count, "round {round}");
        }
    });
}

#[test]
fn after_shutdown_spawns_are_refused_and_structured_work_runs_inline() {
    watchdog("after shutdown", || {
        let pool = pool(2, 16);
        assert!(!pool.is_shutdown());
        pool.shutdown();
        assert!(pool.is_shutdown());
        pool.shutdown(); // idempotent

        let err = pool.try_spawn(|| "back").unwrap_err();
        assert!(err.is_shutdown() && !err.is_full());
        assert_eq!(err.to_string(), "the pool is shut down");
        assert_eq!(format!("{err:?}"), "Shutdown(..)");
        assert_eq!((err.into_inner())(), "back");
        let err = pool
            .spawn_timeout(|| 1, Duration::from_secs(10))
            .unwrap_err();
        assert!(err.is_shutdown());

        // `spawn` cannot hand the closure back: it is dropped unrun and the handle is Cancelled.
        let ran = Arc::new(AtomicBool::new(false));
        let dropped = Arc::new(AtomicBool::new(false));
        let h = {
            let (ran, guard) = (Arc::clone(&ran), DropFlag(Arc::clone(&dropped)));
            pool.spawn(move || {
                let _guard = guard;
                ran.store(true, Ordering::SeqCst);
            })
        };
        assert!(dropped.load(Ordering::SeqCst));
        assert!(h.is_finished());
        assert!(
            h.cancel(),
            "a task that will never run reports cancel() == true"
        );
        let err = h.join().unwrap_err();
        assert!(err.is_cancelled() && !err.is_panic());
        assert_eq!(err.to_string(), "task was cancelled before it ran");
        assert_eq!(format!("{err:?}"), "JoinError::Cancelled");
        assert!(!ran.load(Ordering::SeqCst));
        let err = pool.spawn(|| 1).join().unwrap_err();
        assert!(err.try_into_panic().unwrap_err().is_cancelled());
        let err = pool.spawn(|| 1).join().unwrap_err();
        assert!(catch_unwind(AssertUnwindSafe(|| err.into_panic())).is_err());
        let (h, _) = common::block_on(pool.spawn(|| 1));
        assert!(h.unwrap_err().is_cancelled());

        // Structured work never hangs and is never dropped: it runs on the caller.
        assert_eq!(pool.join(|| 1, || 2), (1, 2));
        assert_eq!(pool.install(|| 3), 3);
        let mut v = [0; 4];
        pool.scope(|s| {
            for (i, x) in v.iter_mut().enumerate() {
                s.spawn(move |_| *x = i + 1);
            }
        });
        assert_eq!(v, [1, 2, 3, 4]);
        assert_eq!(pool.shutdown_now(), 0);
    });
}

#[test]
fn shutdown_from_inside_a_worker_does_not_deadlock() {
    watchdog("shutdown inside", || {
        for now in [false, true] {
            let prefix = unique_prefix("sdi");
            let p = prefix.clone();
            let pool = Pool::builder()
                .threads(2)
                .pinning(Pinning::None)
                .thread_name(move |i| format!("{p}{i}"))
                .build()
                .unwrap();
            let p = pool.clone();
            let h = pool.spawn(move || {
                if now {
                    p.shutdown_now();
                } else {
                    p.shutdown();
                }
                // Still on a worker, the task may spawn; its children run (or are cancelled).
                let child = p.spawn(|| 5);
                (p.is_shutdown(), child)
            });
            let (was_shut, child) = h.join().unwrap();
            assert!(was_shut);
            match child.join() {
                Ok(v) => assert_eq!(v, 5),
                Err(e) => assert!(now && e.is_cancelled()),
            }
            assert!(pool.try_spawn(|| 1).unwrap_err().is_shutdown());
            pool.shutdown(); // from outside: waits for the workers
            wait_for("workers to exit", || count_threads_named(&prefix) == 0);
        }
    });
}

#[test]
fn dropping_the_last_pool_handle_shuts_down() {
    watchdog("drop pool", || {
        let prefix = unique_prefix("drp");
        let stopped = Arc::new(AtomicUsize::new(0));
        let p = prefix.clone();
        let s = Arc::clone(&stopped);
        let pool = Pool::builder()
            .threads(3)
            .pinning(Pinning::None)
            .thread_name(move |i| format!("{p}{i}"))
            .on_thread_stop(move |_| {
                s.fetch_add(1, Ordering::SeqCst);
            })
            .build()
            .unwrap();
        assert_eq!(count_threads_named(&prefix), 3);
        let clone = pool.clone();
        let ran = Arc::new(AtomicUsize::new(0));
        for _ in 0..100 {
            let ran = Arc::clone(&ran);
            drop(pool.spawn(move || ran.fetch_add(1, Ordering::SeqCst)));
        }
        drop(pool);
        assert!(!clone.is_shutdown(), "a live clone keeps the pool running");
        assert_eq!(clone.spawn(|| 1).join().unwrap(), 1);
        assert_eq!(count_threads_named(&prefix), 3);

        drop(clone); // the last handle: a graceful shutdown that waits for the workers
        assert_eq!(
            stopped.load(Ordering::SeqCst),
            3,
            "workers stopped before drop returned"
        );
        assert_eq!(ran.load(Ordering::SeqCst), 100, "queued tasks ran");
        wait_for("worker threads to leave /proc", || {
            count_threads_named(&prefix) == 0
        });

        // The last handle dropped *inside* a task of the pool: the workers still go away.
        let prefix = unique_prefix("drq");
        let p = prefix.clone();
        let pool = Pool::builder()
            .threads(2)
            .pinning(Pinning::None)
            .thread_name(move |i| format!("{p}{i}"))
            .build()
            .unwrap();
        let (tx, rx) = mpsc::channel::<()>();
        let inner = pool.clone();
        let h = pool.spawn(move || {
            rx.recv().unwrap(); // wait until the outside handle is gone
            drop(inner);
        });
        drop(pool);
        tx.send(()).unwrap();
        h.join().unwrap();
        wait_for("workers of a pool dropped inside itself to exit", || {
            count_threads_named(&prefix) == 0
        });
    });
}

#[test]
fn cancel_a_queued_task_drops_its_closure_and_reports_cancelled() {
    watchdog("cancel", || {
        let pool = pool(1, 16);
        let held = hold_workers(&pool);
        let ran = Arc::new(AtomicBool::new(false));
        let dropped = Arc::new(AtomicBool::new(false));
        let h = {
            let (ran, guard) = (Arc::clone(&ran), DropFlag(Arc::clone(&dropped)));
            pool.spawn(move || {
                let _guard = guard;
                ran.store(true, Ordering::SeqCst);
            })
        };
        let other = pool.spawn(|| 7);
        assert!(!h.is_finished());
        assert!(h.cancel(), "a queued task can be cancelled");
        assert!(
            dropped.load(Ordering::SeqCst),
            "cancel drops the closure at once"
        );
        assert!(h.is_finished());
        assert!(h.cancel(), "cancel again: it still will never run");

        // A running task cannot be cancelled.
        assert!(!held.blockers[0].cancel());
        held.release_and_join();
        assert!(h.join().unwrap_err().is_cancelled());
        assert!(!ran.load(Ordering::SeqCst));
        assert_eq!(
            other.join().unwrap(),
            7,
            "the queue moves past a cancelled task"
        );

        // A finished task cannot be cancelled, and keeps its value.
        let done = pool.spawn(|| 8);
        while !done.is_finished() {
            thread::yield_now();
        }
        assert!(!done.cancel());
        assert_eq!(done.join().unwrap(), 8);

        // A graceful shutdown does not count (or re-cancel) handle-cancelled tasks.
        let held = hold_workers(&pool);
        let c = pool.spawn(|| 9);
        assert!(c.cancel());
        held.release_and_join();
        assert_eq!(pool.shutdown_now(), 0);
        assert!(c.join().unwrap_err().is_cancelled());
    });
}

/// Joiners blocked on queued tasks are woken when `shutdown_now` cancels those tasks: a thread
/// in `JoinHandle::join`, a thread in `block_on(handle)`, and a worker of another pool.
#[test]
fn shutdown_now_wakes_blocked_joiners() {
    watchdog("cancel wakes joiners", || {
        let other = pool(1, 16); // its worker joins a handle of `pool`
        let pool = pool(1, 16);
        let held = hold_workers(&pool);
        let t1 = pool.spawn(|| 1);
        let t2 = pool.spawn(|| 2);
        let t3 = pool.spawn(|| 3);
        let j1 = thread::spawn(move || t1.join());
        let j2 = thread::spawn(move || common::block_on(t2).0);
        let j3 = other.spawn(move || t3.join());
        // Give the joiners time to block (correctness does not depend on it).
        thread::sleep(Duration::from_millis(50));
        let shutter = {
            let pool = pool.clone();
            thread::spawn(move || pool.shutdown_now())
        };
        wait_for("shutdown_now to start", || pool.is_shutdown());
        held.release_and_join();
        assert_eq!(shutter.join().unwrap(), 3);
        assert!(j1.join().unwrap().unwrap_err().is_cancelled());
        assert!(j2.join().unwrap().unwrap_err().is_cancelled());
        assert!(j3.join().unwrap().unwrap_err().is_cancelled());
    });
}

/// Fixed bug: during a graceful shutdown, idle workers exited as soon as their own queues
/// were empty. A task still running on another worker that then spawned a child and waited for
/// it without helping (a channel, not a join) was left alone with the child stuck in its own
/// deque behind it, and `shutdown()` hung. Workers now exit only once the pool is drained.
#[test]
fn graceful_shutdown_keeps_serving_children_of_running_tasks() {
    watchdog("children spawned during shutdown", || {
        let pool = Pool::builder()
            .threads(2)
            .pinning(Pinning::None)
            .build()
            .unwrap();
        let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let parent = pool.spawn(move || {
            started_tx.send(()).unwrap();
            go_rx.recv().unwrap();
            let (tx, rx) = std::sync::mpsc::channel();
            let child = corepool::spawn(move || tx.send(7).unwrap());
            let got = rx.recv().unwrap();
            child.join().unwrap();
            got
        });
        started_rx.recv().unwrap();
        let shutter = {
            let pool = pool.clone();
            std::thread::spawn(move || pool.shutdown())
        };
        while !pool.is_shutdown() {
            std::thread::yield_now();
        }
        // Give the idle worker every chance to (wrongly) exit before the child exists.
        std::thread::sleep(Duration::from_millis(50));
        go_tx.send(()).unwrap();
        assert_eq!(parent.join().unwrap(), 7);
        shutter.join().unwrap();
    });
}

/// `worker.rs` `WorkerThread::run` calls `on_thread_stop` after `main_loop` has returned (and
/// after `cpu_worker_exiting`) but before clearing `CURRENT`. A spawn in the hook therefore
/// takes the same-pool worker path (`pool.rs` `submit` -> `push_or_run`) and lands on the
/// exiting worker's own deque, which nobody pops again: the task never runs, its `JobRef` (and
/// `Arc<TaskCell>`) leaks, `metrics.spawned` counts it forever, and `join()` blocks forever.
/// (Joined work inside the hook is fine: the joining worker pops its own deque.)
#[test]
fn bug_spawn_from_on_thread_stop_is_never_run_and_its_handle_never_resolves() {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let ran = Arc::new(AtomicUsize::new(0));
    let ran2 = Arc::clone(&ran);
    let pool = Pool::builder()
        .threads(1)
        .pinning(Pinning::None)
        .on_thread_stop(move |_| {
            let ran = Arc::clone(&ran2);
            let h = corepool::spawn(move || {
                ran.fetch_add(1, Ordering::SeqCst);
                7
            });
            let _ = tx.lock().unwrap().send(h);
        })
        .build()
        .unwrap();
    pool.shutdown();
    let handle = rx.recv_timeout(Duration::from_secs(10)).expect("hook ran");
    let out = watchdog_for(
        "join a task spawned in on_thread_stop",
        Duration::from_secs(5),
        move || handle.join().map_err(|e| e.is_cancelled()),
    );
    assert!(matches!(out, Ok(7) | Err(true)));
}

fn futures_pool(threads: usize) -> Pool {
    Pool::builder()
        .threads(threads)
        .pinning(Pinning::None)
        .build()
        .unwrap()
}

/// Wakes itself and stays pending for ever; counts its polls.
struct Forever(Arc<AtomicUsize>);

impl Future for Forever {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.fetch_add(1, Ordering::SeqCst);
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[test]
fn shutdown_returns_while_futures_reschedule_themselves() {
    watchdog("self-waking futures at shutdown", || {
        for threads in [1, 2, 4] {
            let pool = futures_pool(threads);
            let polls = Arc::new(AtomicUsize::new(0));
            let handles: Vec<_> = (0..threads * 2)
                .map(|_| pool.spawn_future(Forever(Arc::clone(&polls))))
                .collect();
            // Queued closures still run, children included.
            let ran = Arc::new(AtomicUsize::new(0));
            for _ in 0..100 {
                let (ran, p) = (Arc::clone(&ran), pool.clone());
                drop(pool.spawn(move || {
                    ran.fetch_add(1, Ordering::SeqCst);
                    let ran = Arc::clone(&ran);
                    drop(p.spawn(move || ran.fetch_add(1, Ordering::SeqCst)));
                }));
            }
            common::wait_for("the futures to spin", || {
                polls.load(Ordering::SeqCst) > 1000
            });
            pool.shutdown();
            assert_eq!(ran.load(Ordering::SeqCst), 200, "{threads} workers");
            for h in handles {
                assert!(h.join().unwrap_err().is_cancelled());
            }
        }
    });
}

/// A future that spawns its successor on the pool and completes; the handles of the chain go
/// to `chain` in order.
type Chain = Arc<Mutex<Vec<JoinHandle<()>>>>;

fn chain_link(pool: Pool, chain: Chain) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        let next = pool.spawn_future(chain_link(pool.clone(), Arc::clone(&chain)));
        chain.lock().unwrap().push(next);
    })
}

#[test]
fn shutdown_returns_while_futures_spawn_their_successors() {
    watchdog("a chain of futures at shutdown", || {
        for threads in [1, 2, 4] {
            let pool = futures_pool(threads);
            let chain = Arc::new(Mutex::new(Vec::new()));
            let first = pool.spawn_future(chain_link(pool.clone(), Arc::clone(&chain)));
            common::wait_for("the chain to run", || chain.lock().unwrap().len() > 1000);
            pool.shutdown();
            first.join().unwrap();
            // Handles are pushed after their successor may already have run (on another
            // worker), so the order says nothing: the chain has one live link at a time, and
            // exactly one link, the first spawned once the closures drained, is refused.
            let chain = std::mem::take(&mut *chain.lock().unwrap());
            let results: Vec<_> = chain.into_iter().map(JoinHandle::join).collect();
            let cancelled = results
                .iter()
                .filter(|r| r.as_ref().is_err_and(|e| e.is_cancelled()))
                .count();
            assert_eq!(cancelled, 1, "{threads} workers");
            assert!(results
                .iter()
                .all(|r| r.is_ok() || r.as_ref().unwrap_err().is_cancelled()));
        }
    });
}

#[test]
fn a_future_waiting_for_a_closure_completes_during_a_graceful_shutdown() {
    watchdog("future awaits closure at shutdown", || {
        for threads in [1, 2] {
            let pool = futures_pool(threads);
            let (go, wait) = mpsc::channel::<()>();
            let closure = pool.spawn(move || {
                wait.recv().unwrap();
                40
            });
            let future = pool.spawn_future(async move { closure.await.unwrap() + 2 });
            let p = pool.clone();
            let stopper = thread::spawn(move || p.shutdown());
            common::wait_for("shutdown to start", || pool.is_shutdown());
            go.send(()).unwrap();
            stopper.join().unwrap();
            assert_eq!(future.join().unwrap(), 42, "{threads} workers");
        }
    });
}

#[test]
fn dropping_a_pool_after_a_timed_out_shutdown_does_not_wait_again() {
    watchdog("drop after shutdown_timeout", || {
        let pool = futures_pool(1);
        let (go, wait) = mpsc::channel::<()>();
        let (started_tx, started) = mpsc::channel::<()>();
        let stuck = pool.spawn(move || {
            started_tx.send(()).unwrap();
            wait.recv().unwrap();
            "done"
        });
        started.recv().unwrap();
        assert!(!pool.shutdown_timeout(Duration::from_millis(20)));
        // The task is still blocked, and only this thread can release it: a drop that waits
        // for it never returns (the watchdog fails the test).
        drop(pool);
        go.send(()).unwrap();
        assert_eq!(stuck.join().unwrap(), "done");
    });
}
