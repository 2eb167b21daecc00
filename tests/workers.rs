//! Contract 1 (workers) and 3b (no lost wake-up): a pool runs `threads` named OS threads, tasks
//! run on them and see their index, the free functions follow the current worker's pool, and a
//! task submitted to a pool that went to sleep is always picked up.

mod common;

use common::{count_threads_named, thread_name, tids_named, unique_prefix, wait_for, watchdog};
use corepool::{Pinning, Pool};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier, Mutex};
use std::time::Duration;

#[test]
fn pool_runs_exactly_threads_named_os_threads_and_tasks_see_their_index() {
    watchdog("threads", || {
        const N: usize = 3;
        let prefix = unique_prefix("wk");
        let started = Arc::new(Mutex::new(Vec::new()));
        let stopped = Arc::new(AtomicUsize::new(0));
        let pool = {
            let p = prefix.clone();
            let started = Arc::clone(&started);
            let stopped = Arc::clone(&stopped);
            Pool::builder()
                .threads(N)
                .pinning(Pinning::None)
                .thread_name(move |i| format!("{p}{i}"))
                .on_thread_start(move |i| {
                    let name = std::thread::current().name().map(str::to_string);
                    started.lock().unwrap().push((i, name));
                })
                .on_thread_stop(move |_| {
                    stopped.fetch_add(1, Ordering::SeqCst);
                })
                .build()
                .unwrap()
        };
        assert_eq!(pool.threads(), N);

        // `build` returns once every worker is running and has run its start hook.
        assert_eq!(count_threads_named(&prefix), N, "one OS thread per worker");
        let mut seen = started.lock().unwrap().clone();
        seen.sort();
        let expected: Vec<_> = (0..N).map(|i| (i, Some(format!("{prefix}{i}")))).collect();
        assert_eq!(
            seen, expected,
            "on_thread_start runs once per worker, on that worker"
        );
        for tid in tids_named(&prefix) {
            let name = thread_name(tid);
            let index: usize = name[prefix.len()..].parse().unwrap();
            assert!(index < N, "unexpected worker thread {name}");
        }

        // Outside any worker there is no index.
        assert_eq!(pool.current_thread_index(), None);
        assert_eq!(corepool::current_thread_index(), None);

        // N tasks that all wait for each other must be running on N distinct workers at once.
        let barrier = Arc::new(Barrier::new(N));
        let handles: Vec<_> = (0..N)
            .map(|_| {
                let barrier = Arc::clone(&barrier);
                let pool2 = pool.clone();
                pool.spawn(move || {
                    barrier.wait();
                    (
                        pool2.current_thread_index(),
                        corepool::current_thread_index(),
                        std::thread::current().name().map(str::to_string),
                    )
                })
            })
            .collect();
        let mut indices = BTreeSet::new();
        for h in handles {
            let (own, free, name) = h.join().unwrap();
            let i = own.expect("a task sees its worker index");
            assert!(i < N);
            assert_eq!(free, Some(i), "the free function agrees with the pool");
            assert_eq!(
                name,
                Some(format!("{prefix}{i}")),
                "task runs on the named worker"
            );
            indices.insert(i);
        }
        assert_eq!(
            indices.len(),
            N,
            "each of the N tasks ran on a different worker"
        );

        pool.shutdown();
        assert_eq!(
            stopped.load(Ordering::SeqCst),
            N,
            "on_thread_stop runs once per worker"
        );
        wait_for("worker threads to exit", || {
            count_threads_named(&prefix) == 0
        });
    });
}

#[test]
fn thread_index_is_per_pool() {
    watchdog("per-pool index", || {
        let a = Pool::builder()
            .threads(2)
            .pinning(Pinning::None)
            .build()
            .unwrap();
        let b = Pool::builder()
            .threads(1)
            .pinning(Pinning::None)
            .build()
            .unwrap();
        let a2 = a.clone();
        let b2 = b.clone();
        let (on_a, on_b, free) = b
            .spawn(move || {
                (
                    a2.current_thread_index(),
                    b2.current_thread_index(),
                    corepool::current_thread_index(),
                )
            })
            .join()
            .unwrap();
        assert_eq!(on_a, None, "a worker of B is not a worker of A");
        assert_eq!(on_b, Some(0));
        assert_eq!(free, Some(0));
    });
}

#[test]
fn free_functions_use_the_current_workers_pool() {
    watchdog("free functions inside", || {
        let pool = Pool::builder()
            .threads(2)
            .pinning(Pinning::None)
            .build()
            .unwrap();
        let p = pool.clone();
        let (ja, jb, scoped, spawned) = pool.install(move || {
            let (ja, jb) = corepool::join(|| p.current_thread_index(), || p.current_thread_index());
            let scoped = Mutex::new(Vec::new());
            corepool::scope(|s| {
                for _ in 0..4 {
                    s.spawn(|_| scoped.lock().unwrap().push(p.current_thread_index()));
                }
            });
            let p2 = p.clone();
            let spawned = corepool::spawn(move || p2.current_thread_index())
                .join()
                .unwrap();
            (ja, jb, scoped.into_inner().unwrap(), spawned)
        });
        assert!(ja.is_some() && jb.is_some(), "join halves ran on this pool");
        assert_eq!(scoped.len(), 4);
        assert!(
            scoped.iter().all(Option::is_some),
            "scope tasks ran on this pool"
        );
        assert!(
            spawned.is_some(),
            "corepool::spawn on a worker uses its pool"
        );
    });
}

#[test]
fn free_functions_outside_any_pool_use_the_global_pool() {
    watchdog("free functions outside", || {
        let (a, b) = corepool::join(corepool::current_thread_index, || 2 + 2);
        assert!(a.is_some(), "the global pool ran `a` on one of its workers");
        assert_eq!(b, 4);
        let h = corepool::spawn(|| corepool::current_thread_index().map(|_| 42));
        assert_eq!(h.join().unwrap(), Some(42));
        let mut v = vec![0u32; 16];
        corepool::scope(|s| {
            for (i, x) in v.iter_mut().enumerate() {
                s.spawn(move |_| *x = i as u32);
            }
        });
        assert_eq!(v, (0..16).collect::<Vec<u32>>());
    });
}

/// Contract 3: a task submitted to a pool whose workers went to sleep runs. Each round first
/// lets the workers go idle (spin, yield, then park), then submits; a lost wake-up hangs the
/// round and the watchdog fails the test.
#[test]
fn no_lost_wakeup_after_workers_sleep() {
    watchdog("lost wake-up", || {
        let pool = Pool::builder()
            .threads(2)
            .pinning(Pinning::None)
            .build()
            .unwrap();
        let pauses = [0u64, 20, 100, 500, 2000];
        for round in 0..400u64 {
            std::thread::sleep(Duration::from_micros(pauses[(round % 5) as usize]));
            match round % 4 {
                // From outside: the injection queue must wake a sleeper.
                0 => assert_eq!(pool.spawn(move || round).join().unwrap(), round),
                1 => assert_eq!(pool.join(|| round, || round + 1), (round, round + 1)),
                // From a worker that then blocks without helping: only the *other* worker can
                // run the child, so the push to the local deque must wake it.
                2 => {
                    let p = pool.clone();
                    let got = pool
                        .spawn(move || {
                            let (tx, rx) = mpsc::channel();
                            let child = p.spawn(move || tx.send(round).unwrap());
                            let got = rx.recv().unwrap();
                            child.join().unwrap();
                            got
                        })
                        .join()
                        .unwrap();
                    assert_eq!(got, round);
                }
                // A scope whose only child is stolen: the owner must be woken by the child.
                _ => {
                    let mut x = 0;
                    pool.scope(|s| s.spawn(|_| x = round));
                    assert_eq!(x, round);
                }
            }
        }
    });
}
