//! Workers: a pool runs `threads` named OS threads, tasks run on them and see their index, and
//! the free functions follow the current worker's pool.
//!
//! Oversubscription: 64 CPU workers on a machine with few cores, pinned round-robin
//! (`Pinning::PerCore`, checked against each thread's affinity in `/proc`) and unpinned, run
//! fork-join, scopes and detached spawns with correct results; 256 I/O threads
//! (`io_threads(256)`) with 256 blocking tasks that must all be running at once (a barrier of
//! 257) before any returns.

mod common;

use common::{
    count_threads_named, eventually, parse_cpu_list, thread_name, tids_named, unique_prefix,
    wait_for, watchdog, watchdog_for,
};
use corepool::{Pinning, Pool};
use std::collections::BTreeSet;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
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

fn fib(n: u64) -> u64 {
    if n < 12 {
        let (mut a, mut b) = (0u64, 1u64);
        for _ in 0..n {
            (a, b) = (b, a + b);
        }
        return a;
    }
    let (a, b) = corepool::join(|| fib(n - 1), || fib(n - 2));
    a + b
}

fn allowed_list(status_path: &std::path::Path) -> Option<Vec<usize>> {
    let status = std::fs::read_to_string(status_path).ok()?;
    let line = status
        .lines()
        .find(|l| l.starts_with("Cpus_allowed_list:"))?;
    Some(parse_cpu_list(line.split_once(':')?.1))
}

/// The affinity of each live thread whose name starts with `prefix`, keyed by the name.
fn affinities(prefix: &str) -> Vec<(String, Vec<usize>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let Ok(name) = std::fs::read_to_string(e.path().join("comm")) else {
            continue;
        };
        let name = name.trim().to_string();
        if name.starts_with(prefix) {
            if let Some(cpus) = allowed_list(&e.path().join("status")) {
                out.push((name, cpus));
            }
        }
    }
    out
}

fn workload(pool: &Pool) {
    // Fork-join.
    assert_eq!(pool.install(|| fib(24)), 46_368);
    // A scope with more tasks than workers, each borrowing its own slot.
    let mut v = vec![0u64; 10_000];
    pool.scope(|s| {
        for (i, chunk) in v.chunks_mut(50).enumerate() {
            s.spawn(move |_| {
                for (j, x) in chunk.iter_mut().enumerate() {
                    *x = (i * 50 + j) as u64 * 3;
                }
            });
        }
    });
    assert!(v.iter().enumerate().all(|(i, &x)| x == i as u64 * 3));
    // Detached spawns from outside and from inside.
    let sum = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..2_000u64)
        .map(|i| {
            let sum = Arc::clone(&sum);
            pool.spawn(move || {
                let inner = corepool::spawn(move || i * 2);
                sum.fetch_add(inner.join().unwrap(), SeqCst);
                i
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(total, (0..2_000u64).sum());
    assert_eq!(sum.load(SeqCst), (0..2_000u64).map(|i| i * 2).sum());
}

#[test]
fn sixty_four_workers_pinned_round_robin_on_few_cores() {
    watchdog_for("64 pinned workers", Duration::from_secs(120), || {
        let pool = Pool::builder()
            .threads(64)
            .pinning(Pinning::PerCore)
            .thread_name(|i| format!("rpin-{i}"))
            .build()
            .unwrap();
        assert_eq!(pool.threads(), 64);
        let pinning_off =
            std::env::var_os(corepool::NO_PIN_ENV).is_some_and(|v| !v.is_empty() && v != "0");
        let process = allowed_list(std::path::Path::new("/proc/self/status")).unwrap();
        let seen = affinities("rpin-");
        assert_eq!(seen.len(), 64, "64 worker threads alive");
        if !pinning_off {
            let first = &seen.iter().find(|(name, _)| name == "rpin-0").unwrap().1;
            let expected = common::per_core_from(&process, first[0]);
            for (name, cpus) in &seen {
                let i: usize = name["rpin-".len()..].parse().unwrap();
                assert_eq!(
                    cpus,
                    &expected(i),
                    "worker {i} should be pinned round-robin to consecutive cores of {process:?}"
                );
            }
        }
        workload(&pool);
        pool.shutdown();
        // Joined threads can linger in /proc for a moment after pthread_join returns.
        assert!(
            eventually(Duration::from_secs(10), || count_threads_named("rpin-")
                == 0),
            "workers left after shutdown: {}",
            count_threads_named("rpin-")
        );
    });
}

#[test]
fn sixty_four_unpinned_workers() {
    watchdog_for("64 unpinned workers", Duration::from_secs(120), || {
        let pool = Pool::builder()
            .threads(64)
            .pinning(Pinning::None)
            .thread_name(|i| format!("runp-{i}"))
            .build()
            .unwrap();
        let process = allowed_list(std::path::Path::new("/proc/self/status")).unwrap();
        for (name, cpus) in affinities("runp-") {
            assert_eq!(cpus, process, "{name} should run on every allowed core");
        }
        workload(&pool);
        drop(pool);
        assert!(
            eventually(Duration::from_secs(10), || count_threads_named("runp-")
                == 0),
            "workers left after drop: {}",
            count_threads_named("runp-")
        );
    });
}

#[test]
fn two_hundred_fifty_six_io_threads_all_blocked_at_once() {
    watchdog_for("256 I/O threads", Duration::from_secs(120), || {
        let pool = Pool::builder()
            .threads(2)
            .pinning(Pinning::PerCore)
            .io_threads(256)
            .io_thread_name(|i| format!("rio-{i}"))
            .io_keep_alive(Duration::from_secs(60))
            .build()
            .unwrap();
        let barrier = Arc::new(Barrier::new(257));
        let handles: Vec<_> = (0..256u64)
            .map(|i| {
                let barrier = Arc::clone(&barrier);
                pool.spawn_blocking(move || {
                    // Every one of the 256 must be running for any to pass.
                    barrier.wait();
                    std::thread::sleep(Duration::from_millis(20));
                    i * 7
                })
            })
            .collect();
        barrier.wait();
        assert_eq!(pool.io_threads_alive(), 256);
        assert_eq!(count_threads_named("rio-"), 256);
        let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(total, (0..256u64).map(|i| i * 7).sum());
        // I/O threads started from a pinned worker are not stuck on that worker's core.
        let process = allowed_list(std::path::Path::new("/proc/self/status")).unwrap();
        let p = pool.clone();
        let from_worker = pool.install(move || {
            (0..64u64)
                .map(|i| p.spawn_blocking(move || i).join().unwrap())
                .sum::<u64>()
        });
        assert_eq!(from_worker, (0..64u64).sum());
        for (name, cpus) in affinities("rio-") {
            assert_eq!(cpus, process, "{name} should run on every allowed core");
        }
        let m = pool.metrics();
        assert_eq!(m.io.thread_starts, 256, "no thread beyond the cap\n{m}");
        assert_eq!(m.io.completed, 256 + 64);
        pool.shutdown();
        assert!(eventually(Duration::from_secs(10), || count_threads_named(
            "rio-"
        ) == 0));
    });
}
