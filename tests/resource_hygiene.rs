//! Resource hygiene.
//!
//! Creating and dropping 1,000 small pools (every way of ending one: drop, `shutdown`,
//! `shutdown_now`, `shutdown_timeout`, with queued CPU and I/O work, with I/O threads alive)
//! returns the thread count to its baseline (`/proc/self/task`) and keeps RSS within a
//! generous bound. A mixed-load soak samples RSS and threads while it runs and prints the
//! figures: 3 s in CI mode, 60 s (or `COREPOOL_SOAK_SECS`) under `COREPOOL_SOAK=1`.
//!
//! These checks measure process-wide figures, so they run one after another in a single test:
//! the test harness starts a thread per test, which would move the baseline.

mod common;

use common::{eventually, rss_kib, thread_count, watchdog_for, Rng};
use corepool::{Pinning, Pool};
use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn one_pool_life(rng: &mut Rng, i: usize) {
    let pool = Pool::builder()
        .threads(1 + rng.below(2) as usize)
        .pinning(if i % 2 == 0 {
            Pinning::PerCore
        } else {
            Pinning::None
        })
        .queue_capacity(64)
        .io_threads(1 + rng.below(3) as usize)
        .io_keep_alive(Duration::from_millis(rng.below(50)))
        .build()
        .unwrap();
    let mut handles = Vec::new();
    for k in 0..rng.below(20) {
        handles.push(pool.spawn(move || k * 2));
    }
    for k in 0..rng.below(6) {
        handles.push(pool.spawn_blocking(move || k));
    }
    let f = pool.spawn_future(async { 5 });
    match rng.below(6) {
        0 => drop(pool),
        1 => pool.shutdown(),
        2 => {
            pool.shutdown_now();
        }
        3 => assert!(pool.shutdown_timeout(Duration::from_secs(30))),
        4 => {
            // Drop the last handle inside one of its own tasks.
            let h = pool.spawn({
                let p = pool.clone();
                move || drop(p)
            });
            drop(pool);
            h.join().unwrap();
        }
        _ => {
            for h in handles.drain(..) {
                h.join().unwrap();
            }
            drop(pool);
        }
    }
    for h in handles {
        let _ = h.join();
    }
    let _ = f.join();
}

fn a_thousand_pools_leave_no_thread_and_no_memory_behind() {
    let mut rng = Rng::seeded("thousand-pools");
    let n = common::volume(1_000, 20_000);
    watchdog_for(
        "create and drop pools",
        Duration::from_secs(600),
        move || {
            // Warm up: lazily initialised statics, allocator arenas, the core list.
            for i in 0..50 {
                one_pool_life(&mut rng, i);
            }
            std::thread::sleep(Duration::from_millis(100));
            let threads_before = thread_count();
            let rss_before = rss_kib();
            let started = Instant::now();
            for i in 0..n {
                one_pool_life(&mut rng, i);
            }
            let elapsed = started.elapsed();
            // Threads of pools ended from inside one of their tasks exit shortly after.
            let back = eventually(Duration::from_secs(20), || thread_count() <= threads_before);
            let threads_after = thread_count();
            let rss_after = rss_kib();
            eprintln!(
            "{n} pools in {elapsed:?}: threads {threads_before} -> {threads_after}, RSS {rss_before} KiB -> {rss_after} KiB"
        );
            assert!(back, "thread leak: {threads_before} -> {threads_after}");
            assert!(
                rss_after < rss_before + 32 * 1024,
                "RSS grew by {} KiB over {n} pools",
                rss_after.saturating_sub(rss_before)
            );
        },
    );
}

fn dropping_the_last_handle_inside_its_own_tasks_lets_every_thread_exit() {
    watchdog_for("drop inside own task", Duration::from_secs(120), || {
        let before = thread_count();
        for way in 0..4 {
            let pool = Pool::builder()
                .threads(4)
                .pinning(Pinning::None)
                .io_threads(4)
                .build()
                .unwrap();
            // Start some I/O threads so there is something to retire too.
            let warm: Vec<_> = (0..4).map(|i| pool.spawn_blocking(move || i)).collect();
            warm.into_iter().for_each(|h| {
                h.join().unwrap();
            });
            let p = pool.clone();
            let h = match way {
                0 => pool.spawn(move || drop(p)),
                1 => pool.spawn_blocking(move || drop(p)),
                2 => pool.spawn_future(async move { drop(p) }),
                _ => pool.spawn(move || {
                    // A queued child keeps running after the shutdown starts.
                    let child = p.spawn(|| 1);
                    drop(p);
                    assert_eq!(child.join().unwrap(), 1);
                }),
            };
            drop(pool);
            h.join().unwrap();
            assert!(
                eventually(Duration::from_secs(20), || thread_count() <= before),
                "way {way}: threads {} > baseline {before}",
                thread_count()
            );
        }
    });
}

/// A mixed load (every submission path, panics, cancels, nested waits) for `secs` seconds,
/// sampling RSS and threads once a second, and printing the figures for the team's note.
fn soak(secs: u64) {
    let mut rng = Rng::seeded("soak");
    let threads_start = thread_count();
    let pool = Pool::builder()
        .threads(2)
        .queue_capacity(256)
        .io_threads(8)
        .io_keep_alive(Duration::from_millis(200))
        .panic_handler(|_| {})
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let submitters: Vec<_> = (0..3)
        .map(|_| {
            let (pool, stop, done, mut rng) = (
                pool.clone(),
                Arc::clone(&stop),
                Arc::clone(&done),
                rng.fork(),
            );
            std::thread::spawn(move || {
                let mut batch = Vec::with_capacity(512);
                while !stop.load(SeqCst) {
                    for _ in 0..512 {
                        let d = Arc::clone(&done);
                        let h = match rng.below(10) {
                            0 => pool.spawn_blocking(move || {
                                d.fetch_add(1, SeqCst);
                                1
                            }),
                            1 => pool.spawn_future(async move {
                                d.fetch_add(1, SeqCst);
                                1
                            }),
                            2 => pool.spawn(move || {
                                let (a, b) = corepool::join(|| 1u64, || 2u64);
                                d.fetch_add(1, SeqCst);
                                a + b - 2
                            }),
                            3 => pool.spawn(move || {
                                d.fetch_add(1, SeqCst);
                                if a_panic() {
                                    panic!("planned");
                                }
                                1
                            }),
                            _ => pool.spawn(move || {
                                d.fetch_add(1, SeqCst);
                                1
                            }),
                        };
                        if rng.chance(5) {
                            h.cancel();
                        }
                        batch.push(h);
                    }
                    for h in batch.drain(..) {
                        let _ = h.join();
                    }
                }
            })
        })
        .collect();
    let started = Instant::now();
    let rss_start = rss_kib();
    let mut samples = Vec::new();
    while started.elapsed() < Duration::from_secs(secs) {
        std::thread::sleep(Duration::from_secs(1));
        samples.push((rss_kib(), thread_count()));
    }
    stop.store(true, SeqCst);
    for s in submitters {
        s.join().unwrap();
    }
    let elapsed = started.elapsed();
    let tasks = done.load(SeqCst);
    let rss_end = rss_kib();
    let threads_mid_max = samples.iter().map(|s| s.1).max().unwrap_or(0);
    let m = pool.metrics();
    pool.shutdown();
    std::thread::sleep(Duration::from_millis(50));
    let threads_end = thread_count();
    // After the first third (allocator warm-up), RSS must be flat.
    let third = samples.len() / 3;
    let rss_warm = samples.get(third).map_or(rss_start, |s| s.0);
    let rss_max = samples.iter().map(|s| s.0).max().unwrap_or(rss_end);
    eprintln!("==== corepool soak: {secs} s mixed load ====");
    eprintln!("  RSS start {rss_start} KiB, after warm-up {rss_warm} KiB, max {rss_max} KiB, end {rss_end} KiB");
    eprintln!("  threads start {threads_start}, max while running {threads_mid_max}, end (after shutdown) {threads_end}");
    eprintln!(
        "  tasks {tasks} in {:.1} s = {:.0} tasks/s",
        elapsed.as_secs_f64(),
        tasks as f64 / elapsed.as_secs_f64()
    );
    eprintln!(
        "  pool: spawned {} completed {} panicked {} cancelled {}; io spawned {} completed {}",
        m.spawned, m.completed, m.panicked, m.cancelled, m.io.spawned, m.io.completed
    );
    eprintln!(
        "  RSS samples (KiB): {:?}",
        samples.iter().map(|s| s.0).collect::<Vec<_>>()
    );
    assert!(tasks > 0);
    assert!(
        rss_end <= rss_warm + rss_warm / 4 + 16 * 1024,
        "RSS not flat: {rss_warm} KiB after warm-up, {rss_end} KiB at the end"
    );
    assert!(
        threads_end <= threads_start,
        "threads {threads_start} -> {threads_end}"
    );
}

fn a_panic() -> bool {
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, SeqCst) % 97 == 0
}

fn mixed_load_soak_keeps_rss_and_threads_flat() {
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload().downcast_ref::<&str>() != Some(&"planned") {
            quiet(info);
        }
    }));
    let secs = if common::soak() {
        std::env::var("COREPOOL_SOAK_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(60)
    } else {
        3
    };
    watchdog_for("soak", Duration::from_secs(secs + 120), move || soak(secs));
}

#[test]
fn resource_hygiene() {
    a_thousand_pools_leave_no_thread_and_no_memory_behind();
    dropping_the_last_handle_inside_its_own_tasks_lets_every_thread_exit();
    mixed_load_soak_keeps_rss_and_threads_flat();
}
