//! rayon-core's primitives, as corepool offers them: `broadcast` / `spawn_broadcast`,
//! `in_place_scope`, `scope_fifo`, `yield_now` / `yield_local`, `current_num_threads` and
//! `Pool::current`.

mod common;

use common::watchdog;
use corepool::{Pool, Yield};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

#[test]
fn broadcast_runs_once_on_every_worker_in_order() {
    watchdog("broadcast", || {
        let pool = Pool::builder().threads(3).build().unwrap();
        let seen = pool.broadcast(|ctx| {
            assert_eq!(ctx.num_threads(), 3);
            (
                ctx.index(),
                corepool::current_thread_index(),
                std::thread::current().id(),
            )
        });
        assert_eq!(seen.len(), 3);
        for (i, (index, worker, _)) in seen.iter().enumerate() {
            assert_eq!((*index, *worker), (i, Some(i)));
        }
        assert_ne!(seen[0].2, seen[1].2);
        assert_ne!(seen[1].2, seen[2].2);
    });
}

/// A busy worker's call stays its own: with a patience that lets peers take from the busy
/// worker's inbox at once, the idle peer takes the call, and must send it back.
#[test]
fn broadcast_waits_for_a_busy_worker_instead_of_running_on_a_peer() {
    watchdog("broadcast-busy", || {
        let pool = Pool::builder()
            .threads(2)
            .affinity_patience(Duration::from_nanos(1))
            .build()
            .unwrap();
        let (index_tx, index_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let holder = pool.spawn(move || {
            index_tx
                .send(corepool::current_thread_index().unwrap())
                .unwrap();
            release_rx.recv().unwrap();
        });
        let busy = index_rx.recv().unwrap();
        let p = pool.clone();
        let broadcaster = std::thread::spawn(move || {
            p.broadcast(|ctx| (ctx.index(), corepool::current_thread_index()))
        });
        // Give the idle peer time to take the busy worker's call (and send it back) a few
        // times. Not an assertion on time: a slow machine only makes this test weaker.
        std::thread::sleep(Duration::from_millis(50));
        assert!(
            !broadcaster.is_finished(),
            "worker {busy}'s call cannot have run while worker {busy} is held"
        );
        release_tx.send(()).unwrap();
        holder.join().unwrap();
        let seen = broadcaster.join().unwrap();
        assert_eq!(seen, [(0, Some(0)), (1, Some(1))]);
    });
}

#[test]
fn broadcast_from_a_worker_includes_that_worker() {
    watchdog("broadcast-nested", || {
        let pool = Pool::builder().threads(2).build().unwrap();
        let p = pool.clone();
        let seen = pool.install(move || {
            p.broadcast(|ctx| corepool::current_thread_index() == Some(ctx.index()))
        });
        assert_eq!(seen, [true, true]);
        // A broadcast inside a broadcast: each worker waits for the inner one while helping.
        let p = pool.clone();
        let inner = pool.broadcast(move |_| p.broadcast(|ctx| ctx.index()).len());
        assert_eq!(inner, [2, 2]);
    });
}

#[test]
fn a_panicking_broadcast_call_is_re_raised_after_every_call_finished() {
    watchdog("broadcast-panic", || {
        let pool = Pool::builder().threads(3).build().unwrap();
        let ran = AtomicUsize::new(0);
        let result = catch_unwind(AssertUnwindSafe(|| {
            pool.broadcast(|ctx| {
                ran.fetch_add(1, Ordering::SeqCst);
                if ctx.index() == 1 {
                    panic!("call 1");
                }
            })
        }));
        assert_eq!(common::panic_message(&*result.unwrap_err()), "call 1");
        assert_eq!(ran.load(Ordering::SeqCst), 3);
        // The pool is fine afterwards.
        assert_eq!(pool.broadcast(|ctx| ctx.index()), [0, 1, 2]);
    });
}

#[test]
fn spawn_broadcast_runs_once_on_every_worker_and_reports_panics() {
    watchdog("spawn-broadcast", || {
        let (panic_tx, panic_rx) = mpsc::channel();
        let panic_tx = Mutex::new(panic_tx);
        let pool = Pool::builder()
            .threads(3)
            .panic_handler(move |p| {
                panic_tx
                    .lock()
                    .unwrap()
                    .send(common::panic_message(&*p))
                    .unwrap()
            })
            .build()
            .unwrap();
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        pool.spawn_broadcast(move |ctx| {
            tx.lock()
                .unwrap()
                .send((ctx.index(), corepool::current_thread_index()))
                .unwrap();
            if ctx.index() == 2 {
                panic!("detached call 2");
            }
        });
        let mut seen: Vec<_> = rx.iter().take(3).collect();
        seen.sort();
        assert_eq!(seen, [(0, Some(0)), (1, Some(1)), (2, Some(2))]);
        assert_eq!(panic_rx.recv().unwrap(), "detached call 2");
    });
}

#[test]
fn broadcast_on_a_shut_down_pool_still_returns_a_result_per_worker() {
    watchdog("broadcast-shutdown", || {
        let pool = Pool::builder().threads(2).build().unwrap();
        pool.shutdown();
        assert_eq!(pool.broadcast(|ctx| ctx.index()), [0, 1]);
    });
}

/// rayon #835: a scope body that waits for its own task starves a one-thread pool when the
/// body runs on the only worker. `in_place_scope` keeps the body on the caller.
#[test]
fn in_place_scope_body_stays_on_the_caller_and_leaves_the_worker_free() {
    watchdog("in-place-scope", || {
        let pool = Pool::builder().threads(1).build().unwrap();
        let caller = std::thread::current().id();
        let (tx, rx) = mpsc::channel();
        let got = pool.in_place_scope(|s| {
            assert_eq!(std::thread::current().id(), caller);
            s.spawn(move |_| tx.send(corepool::current_thread_index()).unwrap());
            rx.recv().unwrap() // waits inside the body for the task
        });
        assert_eq!(got, Some(0));
    });
}

/// The owner parks (outside the pool) or sleeps (a worker of another pool) while its task
/// runs, and the last task must wake it.
#[test]
fn in_place_scope_owner_is_woken_outside_the_pool_and_on_another_pool() {
    watchdog("in-place-scope-wake", || {
        let pool = Pool::builder().threads(1).build().unwrap();
        let other = Pool::builder().threads(1).build().unwrap();
        for on_other_pool in [false, true] {
            let (go_tx, go_rx) = mpsc::channel::<()>();
            let done = Arc::new(AtomicUsize::new(0));
            let (p, d) = (pool.clone(), Arc::clone(&done));
            let body = move || {
                let counter = Arc::clone(&d);
                p.in_place_scope(|s| {
                    s.spawn(move |_| {
                        go_rx.recv().unwrap();
                        counter.fetch_add(1, Ordering::SeqCst);
                    });
                });
                d.load(Ordering::SeqCst)
            };
            let owner = if on_other_pool {
                let o = other.clone();
                std::thread::spawn(move || o.install(body))
            } else {
                std::thread::spawn(body)
            };
            // Let the owner go to sleep first. Not an assertion on time.
            std::thread::sleep(Duration::from_millis(20));
            go_tx.send(()).unwrap();
            assert_eq!(owner.join().unwrap(), 1, "on another pool: {on_other_pool}");
        }
    });
}

#[test]
fn free_in_place_scope_uses_the_current_pool() {
    watchdog("free-in-place-scope", || {
        let pool = Pool::builder().threads(2).build().unwrap();
        let ran_on = pool.install(|| {
            let here = corepool::current_thread_index();
            let mut child = None;
            corepool::in_place_scope(|s| {
                assert_eq!(corepool::current_thread_index(), here);
                s.spawn(|_| child = corepool::current_thread_index());
            });
            child
        });
        assert!(ran_on.is_some());
    });
}

#[test]
fn scope_fifo_runs_one_workers_spawns_first_in_first_out() {
    watchdog("scope-fifo", || {
        let pool = Pool::builder().threads(1).build().unwrap();
        let order = Mutex::new(Vec::new());
        pool.scope_fifo(|s| {
            for i in 0..8 {
                let order = &order;
                s.spawn_fifo(move |s| {
                    order.lock().unwrap().push(i);
                    if i == 0 {
                        // Spawned later than 1..8, so it runs after them.
                        s.spawn_fifo(move |_| order.lock().unwrap().push(100));
                    }
                });
            }
        });
        assert_eq!(order.into_inner().unwrap(), [0, 1, 2, 3, 4, 5, 6, 7, 100]);
        // A plain scope on the same pool runs them newest first: the FIFO order is the
        // ScopeFifo's doing.
        let order = Mutex::new(Vec::new());
        pool.scope(|s| {
            for i in 0..4 {
                let order = &order;
                s.spawn(move |_| order.lock().unwrap().push(i));
            }
        });
        assert_eq!(order.into_inner().unwrap(), [3, 2, 1, 0]);
    });
}

#[test]
fn scope_fifo_runs_every_task_on_many_workers_and_from_outside() {
    watchdog("scope-fifo-many", || {
        let pool = Pool::builder().threads(2).build().unwrap();
        let count = AtomicUsize::new(0);
        pool.in_place_scope_fifo(|s| {
            for _ in 0..100 {
                s.spawn_fifo(|s| {
                    count.fetch_add(1, Ordering::SeqCst);
                    s.spawn_fifo(|_| {
                        count.fetch_add(1, Ordering::SeqCst);
                    });
                });
            }
        });
        assert_eq!(count.load(Ordering::SeqCst), 200);
        let n = pool.install(|| {
            let count = AtomicUsize::new(0);
            corepool::scope_fifo(|s| {
                for _ in 0..10 {
                    s.spawn_fifo(|_| {
                        count.fetch_add(1, Ordering::SeqCst);
                    });
                }
            });
            count.into_inner()
        });
        assert_eq!(n, 10);
    });
}

#[test]
fn yield_now_and_yield_local_run_pending_work_on_a_worker_only() {
    watchdog("yield", || {
        assert_eq!(corepool::yield_now(), None);
        assert_eq!(corepool::yield_local(), None);
        let pool = Pool::builder().threads(1).build().unwrap();
        assert_eq!(pool.yield_now(), None, "not one of this pool's workers");
        let (local, global, idle) = pool.install(|| {
            let a = corepool::spawn(|| 1);
            let local = corepool::yield_local();
            assert!(a.is_finished());
            let b = corepool::spawn(|| 2);
            let global = corepool::yield_now();
            assert!(b.is_finished());
            (local, global, corepool::yield_local())
        });
        assert_eq!(local, Some(Yield::Executed));
        assert_eq!(global, Some(Yield::Executed));
        assert_eq!(idle, Some(Yield::Idle));
    });
}

#[test]
fn current_num_threads_and_pool_current_name_the_pool_a_task_runs_on() {
    watchdog("current", || {
        let pool = Pool::builder().threads(3).build().unwrap();
        assert!(Pool::current().is_none());
        let (n, current_threads, same) = pool
            .spawn(|| {
                let current = Pool::current().unwrap();
                let inner = current.spawn(corepool::current_num_threads).join().unwrap();
                (corepool::current_num_threads(), current.threads(), inner)
            })
            .join()
            .unwrap();
        assert_eq!((n, current_threads, same), (3, 3, 3));
    });
}
