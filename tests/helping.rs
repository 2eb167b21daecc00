//! Contract 5 (waiting helps): a worker that waits (nested `join`, `scope`, `JoinHandle::join`,
//! `install` into another pool) keeps executing work, so none of these deadlock, even on one
//! thread or with two pools installing into each other. Every test runs under a watchdog.

mod common;

use common::watchdog;
use corepool::{Pinning, Pool};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier};
use std::thread;

fn pool(threads: usize) -> Pool {
    Pool::builder()
        .threads(threads)
        .pinning(Pinning::None)
        .build()
        .unwrap()
}

fn fib(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = corepool::join(|| fib(n - 1), || fib(n - 2));
    a + b
}

#[test]
fn nested_join_fib_25_on_1_2_and_8_threads() {
    watchdog("fib", || {
        for threads in [1, 2, 8] {
            let pool = pool(threads);
            assert_eq!(pool.install(|| fib(25)), 75025, "{threads} threads");
            // Top-level `Pool::join` from outside, recursing inside.
            assert_eq!(
                pool.join(|| fib(20), || fib(19)),
                (6765, 4181),
                "{threads} threads"
            );
        }
    });
}

#[test]
fn scope_inside_a_task() {
    watchdog("scope in task", || {
        for threads in [1, 2] {
            let pool = pool(threads);
            let p = pool.clone();
            let sum = pool
                .spawn(move || {
                    let mut parts = [0u64; 8];
                    p.scope(|s| {
                        for (i, part) in parts.iter_mut().enumerate() {
                            s.spawn(move |s| {
                                // Nested scope and join inside a scope task.
                                let (a, b) = corepool::join(|| i as u64, || 1);
                                let mut inner = 0;
                                s.spawn(|_| {}); // spawning through the received scope
                                corepool::scope(|s2| s2.spawn(|_| inner = a + b));
                                *part = inner;
                            });
                        }
                    });
                    parts.iter().sum::<u64>()
                })
                .join()
                .unwrap();
            assert_eq!(sum, (0..8).map(|i| i + 1).sum::<u64>(), "{threads} threads");
        }
    });
}

/// On a one-thread pool, a task joins the handle of a task queued *behind* it in the injection
/// queue: the only worker must run that task while it waits.
#[test]
fn join_handle_of_a_task_queued_behind_on_one_thread() {
    watchdog("handle join 1 thread", || {
        let pool = pool(1);
        let (tx, rx) = mpsc::channel::<corepool::JoinHandle<u32>>();
        let first = pool.spawn(move || {
            let behind = rx.recv().unwrap();
            behind.join().unwrap() + 1
        });
        let behind = pool.spawn(|| 41);
        tx.send(behind).unwrap();
        assert_eq!(first.join().unwrap(), 42);

        // Same with handles spawned from inside, joined in spawn order and in reverse, nested.
        let p = pool.clone();
        let total = pool
            .spawn(move || {
                let hs: Vec<_> = (0..100u64)
                    .map(|i| {
                        let p2 = p.clone();
                        p.spawn(move || p2.spawn(move || i).join().unwrap())
                    })
                    .collect();
                let mut hs = hs;
                let tail = hs.split_off(50);
                let a: u64 = tail.into_iter().rev().map(|h| h.join().unwrap()).sum();
                let b: u64 = hs.into_iter().map(|h| h.join().unwrap()).sum();
                a + b
            })
            .join()
            .unwrap();
        assert_eq!(total, (0..100).sum::<u64>());
    });
}

#[test]
fn install_and_join_across_pools_in_both_directions() {
    watchdog("cross pools", || {
        // One thread each and a one-slot queue: the tightest setting for cross-pool waits.
        let mk = || {
            Pool::builder()
                .threads(1)
                .pinning(Pinning::None)
                .queue_capacity(1)
                .build()
                .unwrap()
        };
        let (a, b) = (mk(), mk());

        // A -> B -> A -> B, checking where each level runs.
        let (a2, b2) = (a.clone(), b.clone());
        let levels = a.install(move || {
            let on_a = a2.current_thread_index().is_some();
            let (a3, b3) = (a2.clone(), b2.clone());
            let rest = b2.install(move || {
                let on_b = b3.current_thread_index().is_some();
                let b4 = b3.clone();
                let (x, y) = a3.join(|| a3.current_thread_index(), move || b4.install(|| 5));
                (on_b, x.is_some(), y)
            });
            (on_a, rest)
        });
        assert_eq!(levels, (true, (true, true, 5)));

        // Two threads hammering A->B and B->A at the same time, plus spawns and handle joins
        // that cross over.
        let barrier = Arc::new(Barrier::new(2));
        let done = Arc::new(AtomicUsize::new(0));
        let run = |x: Pool, y: Pool| {
            let barrier = Arc::clone(&barrier);
            let done = Arc::clone(&done);
            thread::spawn(move || {
                barrier.wait();
                for i in 0..200usize {
                    let (x2, y2) = (x.clone(), y.clone());
                    let got = x.install(move || {
                        let x3 = x2.clone();
                        let inner = y2.install(move || x3.install(move || i));
                        let (l, r) = y2.join(|| inner, || 1);
                        let x4 = x2.clone();
                        let h = y2.spawn(move || x4.install(move || 2));
                        l + r + h.join().unwrap()
                    });
                    assert_eq!(got, i + 3);
                    done.fetch_add(1, Ordering::SeqCst);
                }
            })
        };
        let t1 = run(a.clone(), b.clone());
        let t2 = run(b.clone(), a.clone());
        t1.join().unwrap();
        t2.join().unwrap();
        assert_eq!(done.load(Ordering::SeqCst), 400);
    });
}

#[test]
fn scope_from_outside_on_one_thread_with_many_children() {
    watchdog("scope outside", || {
        let pool = pool(1);
        let counter = AtomicUsize::new(0);
        pool.scope(|s| {
            for _ in 0..1000 {
                s.spawn(|s| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    s.spawn(|_| {
                        counter.fetch_add(1, Ordering::SeqCst);
                    });
                });
            }
        });
        assert_eq!(counter.load(Ordering::SeqCst), 2000);
    });
}

/// `Scope::spawn` from a thread that is not a worker never blocks: with the injection queue full
/// the task runs at once on that thread, and the scope still waits for it.
#[test]
fn scope_spawn_from_a_plain_thread_with_a_full_queue_runs_inline() {
    watchdog("scope spawn plain thread", || {
        let pool = Pool::builder()
            .threads(1)
            .pinning(Pinning::None)
            .queue_capacity(1)
            .build()
            .unwrap();
        let p = pool.clone();
        let mut ran_on = None;
        let mut filler = None;
        pool.scope(|s| {
            // The body occupies the only worker; a plain thread fills the queue, then spawns.
            thread::scope(|ts| {
                ts.spawn(|| {
                    filler = Some(p.try_spawn(|| 5).expect("the queue has one free slot"));
                    assert_eq!(p.queued(), 1);
                    s.spawn(|_| ran_on = Some(corepool::current_thread_index()));
                });
            });
        });
        assert_eq!(
            ran_on,
            Some(None),
            "ran inline on the plain (non-worker) thread"
        );
        assert_eq!(filler.unwrap().join().unwrap(), 5);
    });
}

/// A hungry peer gets the *oldest* pending join halves of a busy worker, one at a time, from
/// joins nested 300 deep: the innermost joins keep publishing the outer halves of the chain
/// while the other worker takes them (if they offered their own, empty halves instead, the
/// chain's halves would never run elsewhere and this would hang). Then a panic at the bottom
/// unwinds through every frame: each published half was waited for (it ran exactly once, on
/// the thief), and each unpublished one ran inline before its join re-raised (`join` always
/// runs `b`).
#[test]
fn deep_joins_feed_a_hungry_peer_the_oldest_halves_and_unwind_cleanly() {
    const DEPTH: usize = 300;
    struct Chain {
        owner: Option<usize>,
        ran: AtomicUsize,
        ran_elsewhere: AtomicUsize,
    }
    fn chain(c: &Chain, depth: usize, panic_at_bottom: bool) -> usize {
        if depth == 0 {
            // Joins at the bottom of the chain, until two halves of the chain ran on the other
            // worker (the first is the outermost one, offered at once).
            while c.ran_elsewhere.load(Ordering::SeqCst) < 2 {
                let _ = corepool::join(|| (), || ());
                thread::yield_now();
            }
            if panic_at_bottom {
                panic!("bottom");
            }
            return 0;
        }
        let (a, b) = corepool::join(
            || chain(c, depth - 1, panic_at_bottom),
            || {
                c.ran.fetch_add(1, Ordering::SeqCst);
                if corepool::current_thread_index() != c.owner {
                    c.ran_elsewhere.fetch_add(1, Ordering::SeqCst);
                }
                1
            },
        );
        a + b
    }
    watchdog("deep join chain", || {
        let pool = pool(2);
        for panic_at_bottom in [false, true] {
            let got = pool.install(|| {
                let c = Chain {
                    owner: corepool::current_thread_index(),
                    ran: AtomicUsize::new(0),
                    ran_elsewhere: AtomicUsize::new(0),
                };
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    chain(&c, DEPTH, panic_at_bottom)
                }));
                (r, c.ran.into_inner(), c.ran_elsewhere.into_inner())
            });
            match got {
                (Ok(sum), ran, elsewhere) => {
                    assert!(!panic_at_bottom);
                    assert_eq!((sum, ran), (DEPTH, DEPTH));
                    assert!(elsewhere >= 2);
                }
                (Err(payload), ran, elsewhere) => {
                    assert!(panic_at_bottom);
                    assert_eq!(payload.downcast_ref::<&str>(), Some(&"bottom"));
                    assert!(elsewhere >= 2);
                    assert_eq!(ran, DEPTH, "every half ran once, stolen or not");
                }
            }
        }
        assert_eq!(pool.install(|| fib(15)), 610, "the pool still works");
    });
}
