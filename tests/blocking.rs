//! The blocking-I/O pool: elastic threads, the thread cap, keep-alive, `blocking()` from CPU
//! tasks, backpressure, shutdown across both pools, panics.

mod common;

use corepool::{BuildError, Pool};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::time::Duration;

#[test]
fn more_tasks_than_io_threads_all_run_under_the_cap_and_threads_retire() {
    common::watchdog("blocking pool", || {
        let pool = Pool::builder()
            .threads(1)
            .io_threads(3)
            .io_keep_alive(Duration::from_millis(200))
            .io_thread_name(|n| format!("capio-{n}"))
            .build()
            .unwrap();
        let running = Arc::new(AtomicUsize::new(0));
        let high_water = Arc::new(AtomicUsize::new(0));
        let seen_threads = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..40)
            .map(|i| {
                let running = Arc::clone(&running);
                let high_water = Arc::clone(&high_water);
                let seen_threads = Arc::clone(&seen_threads);
                pool.spawn_blocking(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    high_water.fetch_max(now, Ordering::SeqCst);
                    seen_threads.fetch_max(common::count_threads_named("capio-"), Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(2));
                    running.fetch_sub(1, Ordering::SeqCst);
                    i
                })
            })
            .collect();
        let sum: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(sum, (0..40).sum());
        assert!(high_water.load(Ordering::SeqCst) <= 3);
        assert!(seen_threads.load(Ordering::SeqCst) <= 3);
        assert!(seen_threads.load(Ordering::SeqCst) >= 1);
        // After the keep-alive every I/O thread has retired.
        while pool.io_threads_alive() > 0 {
            std::thread::sleep(Duration::from_millis(20));
        }
        // Retired threads are joined lazily; give them a moment to be gone from /proc.
        let mut tries = 0;
        while common::count_threads_named("capio-") > 0 && tries < 200 {
            std::thread::sleep(Duration::from_millis(10));
            tries += 1;
        }
        assert_eq!(common::count_threads_named("capio-"), 0);
        // And a new task starts a new thread.
        assert_eq!(pool.spawn_blocking(|| 7).join().unwrap(), 7);
    });
}

#[test]
fn blocking_inside_a_one_thread_pool_lets_queued_cpu_tasks_run() {
    common::watchdog("blocking pool", || {
        let pool = Pool::builder().threads(1).build().unwrap();
        let (tx, rx) = mpsc::channel::<u32>();
        let pool2 = pool.clone();
        let outer = pool.spawn(move || {
            // Queue a CPU task behind us; it is the one that unblocks the blocking closure.
            let queued = pool2.spawn(move || tx.send(42).unwrap());
            let got = corepool::blocking(move || rx.recv().unwrap());
            queued.join().unwrap();
            got
        });
        assert_eq!(outer.join().unwrap(), 42);
    });
}

#[test]
fn blocking_outside_a_worker_runs_here() {
    let pool = Pool::builder().threads(1).build().unwrap();
    let me = std::thread::current().id();
    assert!(pool.blocking(move || std::thread::current().id() == me));
    assert!(corepool::blocking(
        || corepool::current_thread_index().is_none()
    ));
}

#[test]
fn blocking_panics_reach_the_caller() {
    let pool = Pool::builder().threads(1).build().unwrap();
    let err = pool
        .spawn_blocking(|| panic!("io boom"))
        .join()
        .unwrap_err();
    assert!(err.is_panic());
    assert_eq!(*err.into_panic().downcast::<&str>().unwrap(), "io boom");
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pool.install(|| corepool::blocking(|| panic!("inner boom")))
    }));
    assert!(caught.is_err());
    // The pool still works.
    assert_eq!(pool.spawn_blocking(|| 1).join().unwrap(), 1);
    assert_eq!(pool.spawn(|| 2).join().unwrap(), 2);
}

#[test]
fn io_queue_backpressure_hands_the_closure_back() {
    common::watchdog("blocking pool", || {
        let pool = Pool::builder()
            .threads(1)
            .io_threads(1)
            .io_queue_capacity(1)
            .build()
            .unwrap();
        let gate = Arc::new(Barrier::new(2));
        let g = Arc::clone(&gate);
        let held = pool.spawn_blocking(move || g.wait());
        // Accepted once the only I/O thread has taken the held task off the queue.
        let queued = loop {
            match pool.try_spawn_blocking(|| 5) {
                Ok(h) => break h,
                Err(e) => drop(e.into_inner()),
            }
        };
        // The queue (capacity 1) now holds `queued` unless the I/O thread took it; fill it.
        let err = loop {
            match pool.try_spawn_blocking(|| 6) {
                Ok(h) => drop(h),
                Err(e) => break e,
            }
        };
        assert!(err.is_full());
        assert_eq!((err.into_inner())(), 6);
        let err = pool
            .spawn_blocking_timeout(|| 8, Duration::from_millis(20))
            .unwrap_err();
        assert!(err.is_full());
        gate.wait();
        held.join().unwrap();
        assert_eq!(queued.join().unwrap(), 5);
    });
}

#[test]
fn shutdown_covers_both_pools_and_cancels_queued_io_work() {
    common::watchdog("blocking pool", || {
        let pool = Pool::builder()
            .threads(1)
            .io_threads(1)
            .thread_name(|i| format!("bothcpu-{i}"))
            .io_thread_name(|n| format!("bothio-{n}"))
            .build()
            .unwrap();
        let gate = Arc::new(Barrier::new(2));
        let g = Arc::clone(&gate);
        let (started_tx, started_rx) = mpsc::channel::<()>();
        let held = pool.spawn_blocking(move || {
            started_tx.send(()).unwrap();
            g.wait();
            "held"
        });
        // The I/O thread must hold `held` before the shutdown, or `shutdown_now` cancels it.
        started_rx.recv().unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        let queued: Vec<_> = (0..5)
            .map(|_| {
                let ran = Arc::clone(&ran);
                pool.spawn_blocking(move || ran.fetch_add(1, Ordering::SeqCst))
            })
            .collect();
        let cpu: Vec<_> = (0..5).map(|i| pool.spawn(move || i)).collect();
        let shutter = {
            let pool = pool.clone();
            std::thread::spawn(move || pool.shutdown_now())
        };
        while !pool.is_shutdown() {
            std::thread::yield_now();
        }
        gate.wait();
        let cancelled = shutter.join().unwrap();
        assert_eq!(held.join().unwrap(), "held");
        assert!(queued.iter().all(|h| h.is_finished()));
        let io_cancelled = queued
            .into_iter()
            .map(|h| h.join())
            .filter(|r| matches!(r, Err(e) if e.is_cancelled()))
            .count();
        let cpu_outcomes: Vec<_> = cpu.into_iter().map(|h| h.join()).collect();
        let cpu_cancelled = cpu_outcomes
            .iter()
            .filter(|r| matches!(r, Err(e) if e.is_cancelled()))
            .count();
        assert_eq!(
            cpu_cancelled + cpu_outcomes.iter().filter(|r| r.is_ok()).count(),
            5
        );
        // Every task either ran or reports Cancelled, and the count returned matches.
        assert_eq!(io_cancelled + ran.load(Ordering::SeqCst), 5);
        assert_eq!(cancelled, io_cancelled + cpu_cancelled);
        assert_eq!(common::count_threads_named("bothcpu-"), 0);
        assert_eq!(common::count_threads_named("bothio-"), 0);
        assert!(pool.try_spawn_blocking(|| ()).unwrap_err().is_shutdown());
    });
}

#[test]
fn graceful_shutdown_runs_queued_io_work() {
    common::watchdog("blocking pool", || {
        let pool = Pool::builder().threads(1).io_threads(2).build().unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..50)
            .map(|_| {
                let ran = Arc::clone(&ran);
                pool.spawn_blocking(move || {
                    std::thread::sleep(Duration::from_micros(200));
                    ran.fetch_add(1, Ordering::SeqCst)
                })
            })
            .collect();
        assert!(pool.shutdown_timeout(Duration::from_secs(30)));
        assert_eq!(ran.load(Ordering::SeqCst), 50);
        assert!(handles.into_iter().all(|h| h.join().is_ok()));
    });
}

#[test]
fn io_builder_mistakes_are_build_errors() {
    let err = Pool::builder().io_threads(0).build().unwrap_err();
    assert!(matches!(err, BuildError::ZeroIoThreads));
    assert!(err.to_string().contains("io_threads(0)"));
    let err = Pool::builder().io_queue_capacity(0).build().unwrap_err();
    assert!(matches!(err, BuildError::ZeroIoQueueCapacity));
    assert!(err.to_string().contains("io_queue_capacity(0)"));
    let err = Pool::builder()
        .io_threads(corepool::MAX_IO_THREADS + 1)
        .build()
        .unwrap_err();
    assert!(matches!(err, BuildError::TooManyIoThreads { .. }));
}
