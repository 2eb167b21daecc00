//! Suite 2 — nested waiting never deadlocks.
//!
//! Random (seeded) trees of nested `join`, `scope`, spawn + `handle.join()`,
//! `corepool::blocking`, `pool.block_on`, `pool.install` and `spawn_future` inside tasks, on
//! 1-, 2- and 8-thread pools (found: nested `block_on`s waiting in `spawn_async` on one worker
//! deadlock, see `rel_bugs.rs`); two pools installing into and joining on each other; a task that
//! waits on a handle of a task queued behind it on a one-thread pool; pools feeding each other
//! through full queues. Every case runs under a watchdog that fails with a message instead of
//! hanging CI.

mod rel_support;

use corepool::{Pinning, Pool};
use rel_support::{watchdog, Rng};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::time::Duration;

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
        // rel_bugs::bug_nested_block_on_reserve_on_one_worker_loses_the_wake_up.)
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

fn pool(threads: usize, rng: &mut Rng) -> Pool {
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
    let trees = rel_support::volume(40, 1_000);
    watchdog(
        &format!("nested waits on {threads} threads"),
        90,
        move || {
            for _ in 0..trees {
                let seed = rng.next_u64();
                let depth = 3 + rng.below(4) as u32;
                let pool = pool(threads, &mut rng);
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
    watchdog("concurrent nested trees", 240, move || {
        let pool = pool(2, &mut rng);
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let pool = pool.clone();
                let mut rng = rng.fork();
                std::thread::spawn(move || {
                    for _ in 0..rel_support::volume(4, 50) {
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
    });
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
    watchdog("two pools installing into each other", 120, || {
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
    });
}

#[test]
fn a_task_waits_on_the_handle_of_a_task_queued_behind_it_on_one_thread() {
    watchdog("wait on a task queued behind", 60, || {
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
    watchdog("pools feeding each other", 120, || {
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
        let n = rel_support::volume(200, 5_000);
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
    watchdog("blocking waiting on CPU work", 60, || {
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
