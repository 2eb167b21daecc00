//! The helping rule: a worker that waits (nested `join`, `scope`, `JoinHandle::join`, `install`
//! into another pool, `blocking`, `block_on`) keeps executing work, so none of these deadlock,
//! even on one thread or with two pools installing into each other. Every test runs under a
//! watchdog.
//!
//! Besides the fixed cases: random (seeded) trees of all these waits inside tasks, on 1-, 2- and
//! 8-thread pools; a task that waits on a handle of a task queued behind it on a one-thread pool;
//! pools feeding each other through full queues. And a scope borrows: it mutates a borrowed `Vec`
//! through disjoint chunks.

mod common;

use common::{watchdog, watchdog_for, Rng};
use corepool::{Pinning, Pool};
use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier};
use std::thread;
use std::time::Duration;

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

/// A worker that finished a scope's child from its main loop may keep the child's decrement of
/// the scope's count for later (worker-local credit), but must apply it before it runs a job
/// that is not a child of that scope: here the next job blocks until the scope has returned,
/// so a decrement kept across it would keep the scope (and so that job) waiting for ever.
#[test]
fn a_kept_scope_decrement_is_applied_before_an_unrelated_task_runs() {
    watchdog("credit before an unrelated task", || {
        let pool = pool(1);
        let (started, is_started) = mpsc::channel::<()>();
        let (go, gone) = mpsc::channel::<()>();
        let (scope_done, wait_for_scope) = mpsc::channel::<()>();
        // The owner is this thread (outside the pool): it parks, and only the count wakes it.
        pool.in_place_scope(|s| {
            s.spawn(move |_| {
                started.send(()).unwrap();
                gone.recv().unwrap();
            });
            is_started.recv().unwrap();
            // Queued while the only worker runs the child: its next job once the child ends,
            // with no idle spell in between (which would apply the decrement anyway).
            drop(pool.spawn(move || wait_for_scope.recv().unwrap()));
            go.send(()).unwrap();
        });
        scope_done.send(()).unwrap();
        pool.shutdown();
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

#[test]
fn scope_mutates_a_borrowed_vec_through_disjoint_chunks() {
    watchdog("scope chunks", || {
        for threads in [1, 2, 4] {
            let pool = Pool::builder()
                .threads(threads)
                .pinning(Pinning::None)
                .build()
                .unwrap();
            let mut data: Vec<u64> = (0..10_000).collect();
            let label = String::from("borrowed"); // shared borrow alongside the mutable ones
            let seen = AtomicUsize::new(0);
            pool.scope(|s| {
                for chunk in data.chunks_mut(333) {
                    let (label, seen) = (&label, &seen);
                    s.spawn(move |s| {
                        assert_eq!(label, "borrowed");
                        // Split again and hand the halves to nested tasks.
                        let mid = chunk.len() / 2;
                        let (left, right) = chunk.split_at_mut(mid);
                        s.spawn(move |_| left.iter_mut().for_each(|x| *x *= 2));
                        right.iter_mut().for_each(|x| *x *= 2);
                        seen.fetch_add(1, Ordering::SeqCst);
                    });
                }
            });
            assert_eq!(seen.load(Ordering::SeqCst), 10_000usize.div_ceil(333));
            assert_eq!(
                data,
                (0..10_000).map(|x| x * 2).collect::<Vec<u64>>(),
                "{threads} threads"
            );
        }
        // Via the free function and returning a value out of the scope.
        let mut v = vec![1u32; 100];
        let r = corepool::scope(|s| {
            for x in v.iter_mut() {
                s.spawn(move |_| *x += 1);
            }
            "ret"
        });
        assert_eq!(r, "ret");
        assert!(v.iter().all(|&x| x == 2));
    });
}

fn mix(seed: u64, node: u64) -> u64 {
    let mut z = seed ^ node.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const WAYS: u64 = 9;

/// How many nodes the tree below `node` has, computed sequentially with the same shape.
fn expected(seed: u64, node: u64, depth: u32) -> u64 {
    if depth == 0 {
        return 1;
    }
    let h = mix(seed, node);
    let width = 1 + (h >> 8) % 3;
    1 + (0..width)
        .map(|k| expected(seed, node * 4 + k + 1, depth - 1))
        .sum::<u64>()
}

/// The same tree, each level waiting on its children in one of `WAYS` ways.
fn nest(pool: &Pool, seed: u64, node: u64, depth: u32) -> u64 {
    if depth == 0 {
        return 1;
    }
    let h = mix(seed, node);
    let width = 1 + (h >> 8) % 3;
    let child = move |k: u64| node * 4 + k + 1;
    let mut way = h % WAYS;
    if (way == 3 || way == 6) && depth > 1 {
        // These hold an I/O thread while waiting on their subtree; deeper, a subtree could need
        // more I/O threads than the bounded blocking pool has: the classic nested-wait deadlock
        // of any bounded pool, not a corepool bug. So they only wait on leaves.
        way = h % 3;
    }
    let sum: u64 = match way {
        // Fork-join, recursively pairing the children.
        0 => (0..width)
            .map(|k| {
                let (a, b) = corepool::join(|| nest(pool, seed, child(k), depth - 1), || 0);
                a + b
            })
            .sum(),
        // A scope whose tasks borrow the stack.
        1 => {
            let total = AtomicUsize::new(0);
            corepool::scope(|s| {
                for k in 0..width {
                    let total = &total;
                    s.spawn(move |_| {
                        total.fetch_add(nest(pool, seed, child(k), depth - 1) as usize, SeqCst);
                    });
                }
            });
            total.into_inner() as u64
        }
        // Detached spawns joined through their handles (on the worker: helping).
        2 => {
            let handles: Vec<_> = (0..width)
                .map(|k| {
                    let p = pool.clone();
                    corepool::spawn(move || nest(&p, seed, child(k), depth - 1))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        }
        // The children run on the blocking pool, waiting from there with pool.install.
        3 => corepool::blocking(|| {
            (0..width)
                .map(|k| pool.install(|| nest(pool, seed, child(k), depth - 1)))
                .sum()
        }),
        // block_on a handle on the worker.
        4 => (0..width)
            .map(|k| {
                let p = pool.clone();
                let h = pool.spawn(move || nest(&p, seed, child(k), depth - 1));
                pool.block_on(h).unwrap()
            })
            .sum(),
        // A future on the pool awaiting spawned children.
        5 => {
            let p = pool.clone();
            let h = pool.spawn_future(async move {
                let mut sum = 0;
                for k in 0..width {
                    let q = p.clone();
                    sum += p
                        .spawn(move || nest(&q, seed, child(k), depth - 1))
                        .await
                        .unwrap();
                }
                sum
            });
            h.join().unwrap()
        }
        // A spawned blocking task that itself waits on CPU work from outside the workers.
        6 => {
            let p = pool.clone();
            let h = pool.spawn_blocking(move || {
                (0..width)
                    .map(|k| {
                        let q = p.clone();
                        p.spawn(move || nest(&q, seed, child(k), depth - 1))
                            .join()
                            .unwrap()
                    })
                    .sum::<u64>()
            });
            h.join().unwrap()
        }
        // pool.scope (install on the own pool) with a nested pool.join inside each task.
        7 => {
            let total = AtomicUsize::new(0);
            pool.scope(|s| {
                for k in 0..width {
                    let total = &total;
                    s.spawn(move |_| {
                        let (a, _) = pool.join(|| nest(pool, seed, child(k), depth - 1), || ());
                        total.fetch_add(a as usize, SeqCst);
                    });
                }
            });
            total.into_inner() as u64
        }
        // block_on on the worker of a future that awaits spawned children. (Waiting in
        // `spawn_async`/`reserve` from nested `block_on`s on one worker deadlocks today:
        // `bug_nested_block_on_reserve_on_one_worker_loses_the_wake_up` in `futures.rs`.)
        _ => pool.block_on(async {
            let mut sum = 0;
            for k in 0..width {
                let q = pool.clone();
                let h = pool.spawn(move || nest(&q, seed, child(k), depth - 1));
                sum += h.await.unwrap();
            }
            sum
        }),
    };
    1 + sum
}

fn random_pool(threads: usize, rng: &mut Rng) -> Pool {
    Pool::builder()
        .threads(threads)
        .pinning(Pinning::None)
        .queue_capacity([1, 4, 64][rng.below(3) as usize])
        .io_threads(1 + rng.below(4) as usize)
        .io_queue_capacity([1, 16][rng.below(2) as usize])
        .local_queue_limit([1, 8, 256][rng.below(3) as usize])
        .build()
        .unwrap()
}

fn nested_trees(threads: usize) {
    let mut rng = Rng::seeded(&format!("nested-{threads}"));
    let trees = common::volume(40, 1_000);
    watchdog_for(
        &format!("nested waits on {threads} threads"),
        Duration::from_secs(90),
        move || {
            for _ in 0..trees {
                let seed = rng.next_u64();
                let depth = 3 + rng.below(4) as u32;
                let pool = random_pool(threads, &mut rng);
                let want = expected(seed, 0, depth);
                let p = pool.clone();
                let got = pool.install(move || nest(&p, seed, 0, depth));
                assert_eq!(got, want, "seed {seed} depth {depth}");
                // The same tree from outside the pool, through a handle.
                let p = pool.clone();
                let got = pool.spawn(move || nest(&p, seed, 0, depth)).join().unwrap();
                assert_eq!(got, want, "seed {seed} depth {depth} (spawned)");
                pool.shutdown();
            }
        },
    );
}

#[test]
fn nested_waiting_on_one_thread() {
    nested_trees(1);
}

#[test]
fn nested_waiting_on_two_threads() {
    nested_trees(2);
}

#[test]
fn nested_waiting_on_eight_threads() {
    nested_trees(8);
}

#[test]
fn several_outside_threads_drive_nested_trees_into_one_small_pool_at_once() {
    let mut rng = Rng::seeded("nested-concurrent");
    watchdog_for(
        "concurrent nested trees",
        Duration::from_secs(240),
        move || {
            let pool = random_pool(2, &mut rng);
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    let pool = pool.clone();
                    let mut rng = rng.fork();
                    std::thread::spawn(move || {
                        for _ in 0..common::volume(4, 50) {
                            let seed = rng.next_u64();
                            let depth = 3 + rng.below(2) as u32;
                            let p = pool.clone();
                            let got = pool.install(move || nest(&p, seed, 0, depth));
                            assert_eq!(got, expected(seed, 0, depth), "seed {seed}");
                        }
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap();
            }
        },
    );
}

/// a.install(b.install(a.install(...))) alternating, `depth` levels, returning the depth.
fn ping_pong(a: &Pool, b: &Pool, depth: u32) -> u32 {
    if depth == 0 {
        return 0;
    }
    a.install(|| 1 + ping_pong(b, a, depth - 1))
}

#[test]
fn two_pools_installing_into_each_other() {
    watchdog_for(
        "two pools installing into each other",
        Duration::from_secs(120),
        || {
            for (ta, tb) in [(1, 1), (1, 2), (2, 8)] {
                let a = Pool::builder()
                    .threads(ta)
                    .pinning(Pinning::None)
                    .queue_capacity(1)
                    .build()
                    .unwrap();
                let b = Pool::builder()
                    .threads(tb)
                    .pinning(Pinning::None)
                    .queue_capacity(1)
                    .build()
                    .unwrap();
                assert_eq!(ping_pong(&a, &b, 16), 16);
                // From several outside threads at once, starting on either side.
                let threads: Vec<_> = (0..4)
                    .map(|i| {
                        let (a, b) = (a.clone(), b.clone());
                        std::thread::spawn(move || {
                            for _ in 0..20 {
                                let depth = 8;
                                let got = if i % 2 == 0 {
                                    ping_pong(&a, &b, depth)
                                } else {
                                    ping_pong(&b, &a, depth)
                                };
                                assert_eq!(got, depth);
                            }
                        })
                    })
                    .collect();
                for t in threads {
                    t.join().unwrap();
                }
                // Tasks on each pool joining handles of tasks on the other, both ways.
                let handles: Vec<_> = (0..50)
                    .map(|i| {
                        let (a2, b2) = (a.clone(), b.clone());
                        a.spawn(move || {
                            let a3 = a2.clone();
                            b2.spawn(move || a3.spawn(move || i * 2).join().unwrap() + 1)
                                .join()
                                .unwrap()
                        })
                    })
                    .collect();
                for (i, h) in handles.into_iter().enumerate() {
                    assert_eq!(h.join().unwrap(), i * 2 + 1);
                }
            }
        },
    );
}

#[test]
fn a_task_waits_on_the_handle_of_a_task_queued_behind_it_on_one_thread() {
    watchdog("wait on a task queued behind", || {
        for how in 0..4 {
            let pool = Pool::builder()
                .threads(1)
                .pinning(Pinning::None)
                .queue_capacity(1)
                .build()
                .unwrap();
            let (tx, rx) = mpsc::channel::<corepool::JoinHandle<u32>>();
            let p = pool.clone();
            let first = pool.spawn(move || {
                // The only worker is here; the second task is queued behind us.
                let behind = rx.recv().unwrap();
                match how {
                    0 => behind.join().unwrap() + 1,
                    1 => p.block_on(behind).unwrap() + 1,
                    2 => p.spawn_future(behind).join().unwrap().unwrap() + 1,
                    _ => p.install(|| behind.join().unwrap()) + 1,
                }
            });
            let second = pool.spawn(|| 41);
            tx.send(second).unwrap();
            assert_eq!(first.join().unwrap(), 42, "way {how}");
            pool.shutdown();
        }
    });
}

#[test]
fn pools_feeding_each_other_through_full_queues_do_not_wedge() {
    watchdog_for("pools feeding each other", Duration::from_secs(120), || {
        let a = Pool::builder()
            .threads(1)
            .pinning(Pinning::None)
            .queue_capacity(1)
            .build()
            .unwrap();
        let b = Pool::builder()
            .threads(1)
            .pinning(Pinning::None)
            .queue_capacity(1)
            .build()
            .unwrap();
        let done = Arc::new(AtomicUsize::new(0));
        let n = common::volume(200, 5_000);
        let mut handles = Vec::new();
        for i in 0..n {
            let (from, to) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
            let to = to.clone();
            let done = Arc::clone(&done);
            handles.push(from.spawn(move || {
                // Each task floods the other pool's one-slot queue, then joins.
                let hs: Vec<_> = (0..8)
                    .map(|_| {
                        let done = Arc::clone(&done);
                        to.spawn(move || done.fetch_add(1, SeqCst))
                    })
                    .collect();
                hs.into_iter().for_each(|h| {
                    h.join().unwrap();
                });
            }));
        }
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(done.load(SeqCst), n * 8);
    });
}

#[test]
fn blocking_that_waits_on_cpu_work_on_a_one_thread_one_io_thread_pool() {
    watchdog("blocking waiting on CPU work", || {
        let pool = Pool::builder()
            .threads(1)
            .pinning(Pinning::None)
            .io_threads(1)
            .io_queue_capacity(1)
            .queue_capacity(1)
            .build()
            .unwrap();
        let p = pool.clone();
        let total = pool.install(move || {
            (0..50u64)
                .map(|i| {
                    let q = p.clone();
                    corepool::blocking(move || {
                        // On the only I/O thread: wait for CPU work, which the only CPU worker
                        // runs while it waits for us.
                        let r = q.spawn(move || i * 2).join().unwrap();
                        std::thread::sleep(Duration::from_micros(50));
                        r
                    })
                })
                .sum::<u64>()
        });
        assert_eq!(total, (0..50u64).map(|i| i * 2).sum());
    });
}
