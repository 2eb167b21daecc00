//! Suite 4 — oversubscription.
//!
//! 64 CPU workers on this (2-core) machine, pinned round-robin (`Pinning::PerCore`, checked
//! against each thread's affinity in `/proc`) and unpinned, running fork-join, scopes and
//! detached spawns with correct results; 256 I/O threads (`io_threads(256)`) with 256 blocking
//! tasks that must all be running at once (a barrier of 257) before any returns.

mod rel_support;

use corepool::{Pinning, Pool};
use rel_support::{eventually, threads_named, watchdog};
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Barrier};
use std::time::Duration;

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

/// Parses a `Cpus_allowed_list` such as `0-3,6`.
fn parse_cpu_list(s: &str) -> Vec<usize> {
    let mut out = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => out.extend(a.parse::<usize>().unwrap()..=b.parse::<usize>().unwrap()),
            None => out.push(part.parse().unwrap()),
        }
    }
    out
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
    watchdog("64 pinned workers", 120, || {
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
            for (name, cpus) in &seen {
                let i: usize = name["rpin-".len()..].parse().unwrap();
                assert_eq!(
                    cpus,
                    &vec![process[i % process.len()]],
                    "worker {i} should be pinned round-robin to core {} of {process:?}",
                    process[i % process.len()]
                );
            }
        }
        workload(&pool);
        pool.shutdown();
        // Joined threads can linger in /proc for a moment after pthread_join returns.
        assert!(
            eventually(Duration::from_secs(10), || threads_named("rpin-") == 0),
            "workers left after shutdown: {}",
            threads_named("rpin-")
        );
    });
}

#[test]
fn sixty_four_unpinned_workers() {
    watchdog("64 unpinned workers", 120, || {
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
            eventually(Duration::from_secs(10), || threads_named("runp-") == 0),
            "workers left after drop: {}",
            threads_named("runp-")
        );
    });
}

#[test]
fn two_hundred_fifty_six_io_threads_all_blocked_at_once() {
    watchdog("256 I/O threads", 120, || {
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
        assert_eq!(threads_named("rio-"), 256);
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
        assert!(eventually(Duration::from_secs(10), || threads_named(
            "rio-"
        ) == 0));
    });
}
