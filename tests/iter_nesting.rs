//! Parallel-iterator chains nested in each other and in corepool's other forms of parallelism:
//! chains inside chains, inside `join`, inside `scope`, inside a `spawn_future`'s future, across
//! pools, on a 1-thread pool (where any wait for a piece that only the one worker could run
//! would deadlock: every test runs under the support module's watchdog), and a panic in a nested
//! chain reaching the caller.

mod common;

use common::{panic_message, watchdog};
use corepool::prelude::*;
use corepool::{Pinning, Pool};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const THREADS: [usize; 3] = [1, 2, 5];

fn pool(threads: usize) -> Pool {
    Pool::builder()
        .threads(threads)
        .pinning(Pinning::None)
        .build()
        .expect("build pool")
}

/// `sum(0..n)` computed by a chain: what the nested chains below compute.
fn inner_sum(n: u64) -> u64 {
    (0..n).into_par_iter().map(|x| x * 2).sum()
}

fn seq_inner_sum(n: u64) -> u64 {
    (0..n).map(|x| x * 2).sum()
}

/// Runs `body` for each pool size under the watchdog.
fn each_pool(name: &str, body: fn(&Pool)) {
    for threads in THREADS {
        let name = format!("{name}-{threads}");
        watchdog(&name.clone(), move || body(&pool(threads)));
    }
}

#[test]
fn chains_inside_chains() {
    each_pool("chain-in-chain", |pool| {
        let outer: Vec<u64> = (0..200).collect();
        let seq: Vec<u64> = outer.iter().map(|&n| seq_inner_sum(n * 10)).collect();
        let got: Vec<u64> = pool.install(|| outer.par_iter().map(|&n| inner_sum(n * 10)).collect());
        assert_eq!(
            got,
            seq,
            "{} threads: map over inner chains",
            pool.threads()
        );
        // Three levels, each splitting, under an ordered consumer.
        let got: Vec<u64> = pool.install(|| {
            (0..20u64)
                .into_par_iter()
                .flat_map(|a| {
                    (0..a)
                        .into_par_iter()
                        .map(move |b| (0..b).into_par_iter().map(|c| a * b + c).sum::<u64>())
                })
                .collect()
        });
        let seq: Vec<u64> = (0..20u64)
            .flat_map(|a| (0..a).map(move |b| (0..b).map(|c| a * b + c).sum::<u64>()))
            .collect();
        assert_eq!(got, seq, "{} threads: three levels", pool.threads());
        // Inner searches and sorts inside an outer chain.
        let got: Vec<Option<u64>> = pool.install(|| {
            (0..100u64)
                .into_par_iter()
                .map(|n| (0..n * 100).into_par_iter().find_first(|x| x % 37 == 36))
                .collect()
        });
        let seq: Vec<Option<u64>> = (0..100u64)
            .map(|n| (0..n * 100).find(|x| x % 37 == 36))
            .collect();
        assert_eq!(got, seq, "{} threads: inner find_first", pool.threads());
        let got: Vec<Vec<u64>> = pool.install(|| {
            (0..50u64)
                .into_par_iter()
                .map(|n| {
                    let mut v: Vec<u64> = (0..n * 40).rev().collect();
                    v.par_sort();
                    v
                })
                .collect()
        });
        assert!(got
            .iter()
            .enumerate()
            .all(|(n, v)| *v == (0..n as u64 * 40).collect::<Vec<_>>()));
        // An inner par_bridge (which joins to pull while it works) inside an outer chain.
        let got: u64 = pool.install(|| {
            (0..30u64)
                .into_par_iter()
                .map(|n| (0..n * 50).par_bridge().sum::<u64>())
                .sum()
        });
        assert_eq!(
            got,
            (0..30u64).map(|n| (0..n * 50).sum::<u64>()).sum::<u64>()
        );
    });
}

#[test]
fn chains_inside_join() {
    each_pool("chain-in-join", |pool| {
        let (a, b) = pool.join(|| inner_sum(100_000), || inner_sum(50_000));
        assert_eq!((a, b), (seq_inner_sum(100_000), seq_inner_sum(50_000)));
        // The free join on a worker, chains on both sides, recursively.
        fn tree(depth: u32) -> u64 {
            if depth == 0 {
                return inner_sum(1000);
            }
            let (a, b) = corepool::join(|| tree(depth - 1), || tree(depth - 1));
            a + b
        }
        let got = pool.install(|| tree(6));
        assert_eq!(got, 64 * seq_inner_sum(1000));
        // A chain whose items join.
        let got: Vec<(u64, u64)> = pool.install(|| {
            (0..100u64)
                .into_par_iter()
                .map(|n| corepool::join(|| inner_sum(n), || inner_sum(n * 2)))
                .collect()
        });
        let seq: Vec<(u64, u64)> = (0..100u64)
            .map(|n| (seq_inner_sum(n), seq_inner_sum(n * 2)))
            .collect();
        assert_eq!(got, seq);
    });
}

#[test]
fn chains_inside_scope() {
    each_pool("chain-in-scope", |pool| {
        let results = Mutex::new(vec![0u64; 16]);
        pool.scope(|s| {
            for i in 0..16u64 {
                let results = &results;
                s.spawn(move |_| {
                    let v = inner_sum(i * 1000);
                    results.lock().unwrap()[i as usize] = v;
                });
            }
            // The scope body runs a chain too while its tasks are out.
            assert_eq!(inner_sum(30_000), seq_inner_sum(30_000));
        });
        let seq: Vec<u64> = (0..16u64).map(|i| seq_inner_sum(i * 1000)).collect();
        assert_eq!(results.into_inner().unwrap(), seq);
        // A scope inside a chain's item.
        let got: Vec<u64> = pool.install(|| {
            (0..40u64)
                .into_par_iter()
                .map(|n| {
                    let total = AtomicUsize::new(0);
                    corepool::scope(|s| {
                        for k in 0..3 {
                            let total = &total;
                            s.spawn(move |_| {
                                total.fetch_add(inner_sum(n * k) as usize, Ordering::Relaxed);
                            });
                        }
                    });
                    total.into_inner() as u64
                })
                .collect()
        });
        let seq: Vec<u64> = (0..40u64)
            .map(|n| (0..3).map(|k| seq_inner_sum(n * k)).sum())
            .collect();
        assert_eq!(got, seq);
    });
}

#[test]
fn a_chain_inside_spawn_future() {
    each_pool("chain-in-future", |pool| {
        let handle = pool.spawn_future(async { inner_sum(200_000) });
        assert_eq!(handle.join().unwrap(), seq_inner_sum(200_000));
        // A future that awaits another task, then runs a chain, then awaits again.
        let p = pool.clone();
        let handle = pool.spawn_future(async move {
            let first = p.spawn(|| inner_sum(1000)).await.unwrap();
            let v: Vec<u64> = (0..10_000u64)
                .into_par_iter()
                .filter(|x| x % 3 == 0)
                .collect();
            let second = p.spawn_future(async { inner_sum(2000) }).await.unwrap();
            (first, v.len(), second)
        });
        assert_eq!(
            handle.join().unwrap(),
            (seq_inner_sum(1000), 3334, seq_inner_sum(2000))
        );
        // Many futures at once, each with its chain: more than the workers.
        let handles: Vec<_> = (0..20u64)
            .map(|i| pool.spawn_future(async move { inner_sum(i * 500) }))
            .collect();
        for (i, h) in handles.into_iter().enumerate() {
            assert_eq!(h.join().unwrap(), seq_inner_sum(i as u64 * 500));
        }
        // From pool.block_on on a plain thread, the chain runs on this pool.
        let p = pool.clone();
        let on_pool = pool.block_on(async move {
            (0..1000u64)
                .into_par_iter()
                .map(|_| p.current_thread_index().is_some())
                .all(|b| b)
        });
        assert!(on_pool);
    });
}

#[test]
fn chains_across_pools() {
    each_pool("cross-pool", |pool| {
        let other = pool_for_cross();
        // A chain on `pool` whose items run chains on `other` and back.
        let got: Vec<u64> = pool.install(|| {
            (0..50u64)
                .into_par_iter()
                .map(|n| {
                    (0..n * 100)
                        .into_par_iter()
                        .map(|x| x * 2)
                        .with_pool(&other)
                        .sum::<u64>()
                })
                .collect()
        });
        let seq: Vec<u64> = (0..50u64).map(|n| seq_inner_sum(n * 100)).collect();
        assert_eq!(got, seq);
        // ... and the inner chains really ran on `other`, not on the worker that started them.
        let on_other = pool.install(|| {
            (0..20u64)
                .into_par_iter()
                .map(|n| {
                    (0..n * 100)
                        .into_par_iter()
                        .map(|_| other.current_thread_index().is_some())
                        .with_pool(&other)
                        .all(|b| b)
                })
                .all(|b| b)
        });
        assert!(
            on_other,
            "a with_pool chain nested in another pool's chain ran off its pool"
        );
        // Inside a worker of `pool`, a chain without with_pool runs on `pool`.
        let on_pool = pool.install(|| {
            (0..10_000u64)
                .into_par_iter()
                .map(|_| pool.current_thread_index().is_some())
                .all(|b| b)
        });
        assert!(on_pool, "a nested chain left its worker's pool");
        // with_pool naming the current pool from one of its own workers.
        let got = pool.install(|| {
            (0..100_000u64)
                .into_par_iter()
                .map(|x| x * 2)
                .with_pool(pool)
                .sum::<u64>()
        });
        assert_eq!(got, seq_inner_sum(100_000));
    });
}

/// A second pool for the cross-pool test, shared by its cases.
fn pool_for_cross() -> Pool {
    static OTHER: std::sync::OnceLock<Pool> = std::sync::OnceLock::new();
    OTHER.get_or_init(|| pool(2)).clone()
}

#[test]
fn a_panic_in_a_nested_chain_reaches_the_caller() {
    each_pool("nested-panic", |pool| {
        let expect_boom = |what: &str, f: &(dyn Fn() + Sync)| {
            let payload = catch_unwind(AssertUnwindSafe(f)).expect_err(what);
            assert_eq!(
                panic_message(&*payload),
                "boom",
                "{what}: another panic reached the caller"
            );
        };
        expect_boom("chain in chain", &|| {
            pool.install(|| {
                (0..100u64).into_par_iter().for_each(|n| {
                    (0..n * 100).into_par_iter().for_each(|x| {
                        if x == 7777 {
                            panic!("boom");
                        }
                    })
                })
            })
        });
        expect_boom("chain in join", &|| {
            pool.install(|| {
                corepool::join(
                    || inner_sum(10_000),
                    || {
                        (0..10_000u64)
                            .into_par_iter()
                            .map(|x| if x == 5000 { panic!("boom") } else { x })
                            .sum::<u64>()
                    },
                )
            });
        });
        expect_boom("chain in scope", &|| {
            pool.scope(|s| {
                s.spawn(|_| {
                    (0..10_000u64).into_par_iter().for_each(|x| {
                        if x == 9999 {
                            panic!("boom");
                        }
                    })
                });
            })
        });
        expect_boom("three levels with_pool", &|| {
            let _: Vec<u64> = (0..30u64)
                .into_par_iter()
                .map(|a| {
                    (0..a)
                        .into_par_iter()
                        .map(|b| {
                            (0..b)
                                .into_par_iter()
                                .map(|c| if a * b + c == 500 { panic!("boom") } else { c })
                                .sum::<u64>()
                        })
                        .sum::<u64>()
                })
                .with_pool(pool)
                .collect();
        });
        let payload = pool
            .spawn_future(async {
                (0..10_000u64)
                    .into_par_iter()
                    .map(|x| if x == 1234 { panic!("boom") } else { x })
                    .sum::<u64>()
            })
            .join()
            .expect_err("a panicking chain in a future")
            .into_panic();
        assert_eq!(panic_message(&*payload), "boom");
        // The pool is whole afterwards: every worker still runs chains.
        for _ in 0..3 {
            assert_eq!(pool.install(|| inner_sum(100_000)), seq_inner_sum(100_000));
        }
        let workers: std::collections::HashSet<usize> = pool.install(|| {
            (0..1_000_000u64)
                .into_par_iter()
                .with_max_len(1000)
                .map(|_| pool.current_thread_index().unwrap())
                .collect()
        });
        assert!(!workers.is_empty() && workers.len() <= pool.threads());
    });
}

#[test]
fn chains_on_the_global_pool_from_many_threads() {
    // Plain threads (not workers) all start chains on the global pool at once, each nesting.
    watchdog("global-many-threads", || {
        let done = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let done = Arc::clone(&done);
                std::thread::spawn(move || {
                    let got: Vec<u64> = (0..50u64)
                        .into_par_iter()
                        .map(|n| inner_sum(n * 100 + t))
                        .collect();
                    let seq: Vec<u64> = (0..50u64).map(|n| seq_inner_sum(n * 100 + t)).collect();
                    assert_eq!(got, seq);
                    done.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(done.load(Ordering::SeqCst), 4);
    });
}

#[test]
fn a_chain_that_shuts_its_own_pool_down_midway_still_finishes() {
    // User code calling back into the pool: an item shuts the pool down while the chain runs.
    // The chain's pieces are structured work its caller waits on, so they still run: the result
    // is whole, and nothing hangs (the watchdog).
    for threads in THREADS {
        for now in [false, true] {
            watchdog(&format!("shutdown-midway-{threads}-{now}"), move || {
                let pool = pool(threads);
                let p = pool.clone();
                let got: Vec<u64> = pool.install(|| {
                    (0..200_000u64)
                        .into_par_iter()
                        .map(|x| {
                            if x == 1000 {
                                if now {
                                    p.shutdown_now();
                                } else {
                                    p.shutdown();
                                }
                            }
                            x * 2
                        })
                        .collect()
                });
                assert_eq!(got, (0..200_000u64).map(|x| x * 2).collect::<Vec<_>>());
                // A chain aimed at the shut-down pool still runs (on the caller's side).
                let sum = (0..100_000u64)
                    .into_par_iter()
                    .with_pool(&pool)
                    .sum::<u64>();
                assert_eq!(sum, (0..100_000u64).sum::<u64>());
                let sum = pool.install(|| {
                    (0..100_000u64)
                        .into_par_iter()
                        .filter(|x| x % 2 == 0)
                        .count()
                });
                assert_eq!(sum, 50_000);
            });
        }
    }
}
