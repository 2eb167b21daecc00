//! The blocking-I/O pool and `blocking()`: elastic threads, the thread cap, keep-alive,
//! `blocking()` from CPU tasks, backpressure, panics, and shutdown across both pools (the I/O
//! pool closes after the CPU drain, and outside submissions are refused while it drains).
//!
//! A test named `bug_*`, or whose doc comment starts "Fixed bug", guards a fixed bug: it failed on
//! the code before the fix, and its doc comment says what the bug was.

// These tests cover the spawn forms `Pool::task()` replaces, which stay until their removal.
#![allow(deprecated)]

mod common;

use common::{wait_for, watchdog, watchdog_for};
use corepool::{BuildError, Pinning, Pool};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier};
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
        .io_threads(corepool::defaults::MAX_IO_THREADS + 1)
        .build()
        .unwrap_err();
    assert!(matches!(err, BuildError::TooManyIoThreads { .. }));
}

/// A one-worker pool with at most `io_threads` I/O threads and an I/O queue of `io_capacity`.
fn io_pool(io_threads: usize, io_capacity: usize) -> Pool {
    Pool::builder()
        .threads(1)
        .pinning(Pinning::None)
        .io_threads(io_threads)
        .io_queue_capacity(io_capacity)
        .build()
        .unwrap()
}

/// What a CPU task sees of the I/O pool while the CPU pool drains: its `spawn_blocking` runs,
/// and `blocking()` runs on an I/O thread, not inline.
fn use_io_pool_while_draining(pool: &Pool) -> (Result<i32, bool>, String) {
    let spawned = pool
        .spawn_blocking(|| 7)
        .join()
        .map_err(|e| e.is_cancelled());
    let ran_on = corepool::blocking(|| std::thread::current().name().unwrap_or("").to_string());
    (spawned, ran_on)
}

/// A graceful shutdown started on a pool thread drains the CPU pool before it closes the I/O
/// pool (README: CPU first, then I/O). Before the fix the I/O pool closed at once: the draining
/// task's `spawn_blocking` was cancelled and `blocking()` ran inline on the worker.
#[test]
fn shutdown_from_a_pool_thread_closes_the_io_pool_after_the_cpu_drain() {
    watchdog("shutdown_from_a_pool_thread", || {
        let pool = io_pool(2, 8);
        let p = pool.clone();
        let (spawned, ran_on) = pool
            .spawn(move || {
                p.shutdown(); // on a worker: starts the shutdown, returns at once
                assert!(p.is_shutdown());
                use_io_pool_while_draining(&p)
            })
            .join()
            .unwrap();
        assert_eq!(spawned, Ok(7), "spawn_blocking during the drain runs");
        assert!(
            ran_on.starts_with("corepool") && ran_on.contains("-io-"),
            "blocking() ran on {ran_on:?}"
        );
        pool.shutdown();
    });
}

/// After `shutdown_timeout` ran out (a CPU task is still running), the I/O pool stays open for
/// that task until the CPU pool drained. Before the fix the timed-out shutdown closed the I/O
/// pool: the task's `spawn_blocking` was cancelled and `blocking()` ran inline.
#[test]
fn shutdown_timeout_that_ran_out_leaves_the_io_pool_to_the_draining_task() {
    watchdog("shutdown_timeout_that_ran_out", || {
        let pool = io_pool(2, 8);
        let (release, released) = std::sync::mpsc::channel::<()>();
        let (started, is_started) = std::sync::mpsc::channel::<()>();
        let p = pool.clone();
        let task = pool.spawn(move || {
            started.send(()).unwrap();
            released.recv().unwrap();
            use_io_pool_while_draining(&p)
        });
        is_started.recv().unwrap();
        // The task is blocked until released, so this times out whatever the timeout.
        assert!(!pool.shutdown_timeout(Duration::from_millis(1)));
        release.send(()).unwrap();
        let (spawned, ran_on) = task.join().unwrap();
        assert_eq!(spawned, Ok(7), "spawn_blocking during the drain runs");
        assert!(
            ran_on.starts_with("corepool") && ran_on.contains("-io-"),
            "blocking() ran on {ran_on:?}"
        );
        pool.shutdown();
    });
}

/// Once `shutdown()` has started (a CPU task still running), the I/O pool refuses outside
/// threads with `SpawnError::Shutdown(f)`: `try_spawn_blocking` at once, and a
/// `spawn_blocking_timeout` that was waiting for room on the full I/O queue is refused too,
/// even when room frees up afterwards. Before the fix both were accepted and ran.
#[test]
fn shutdown_refuses_outside_blocking_submissions_while_the_cpu_pool_drains() {
    watchdog("shutdown_refuses_outside_blocking", || {
        let pool = io_pool(1, 1);
        // A CPU task that keeps the CPU pool from draining until released.
        let (release_cpu, cpu_released) = std::sync::mpsc::channel::<()>();
        let (cpu_started, is_cpu_started) = std::sync::mpsc::channel::<()>();
        let cpu = pool.spawn(move || {
            cpu_started.send(()).unwrap();
            cpu_released.recv().unwrap();
        });
        is_cpu_started.recv().unwrap();
        // The only I/O thread held, and the one queue slot taken: the I/O queue is full.
        let (release_io, io_released) = std::sync::mpsc::channel::<()>();
        let (io_started, is_io_started) = std::sync::mpsc::channel::<()>();
        let held_io = pool.spawn_blocking(move || {
            io_started.send(()).unwrap();
            io_released.recv().unwrap();
        });
        is_io_started.recv().unwrap();
        let queued_io = pool.try_spawn_blocking(|| 2).unwrap();
        assert!(pool.try_spawn_blocking(|| 3).unwrap_err().is_full());
        // An outside submitter waiting for room.
        let waiting = {
            let pool = pool.clone();
            std::thread::spawn(move || {
                pool.spawn_blocking_timeout(|| 4, Duration::from_secs(3600))
                    .map(|_| ())
                    .map_err(|e| (e.is_shutdown(), (e.into_inner())()))
            })
        };
        // Whether it is waiting for room when the shutdown starts or only gets there after,
        // it must be refused.
        let shutting_down = {
            let pool = pool.clone();
            std::thread::spawn(move || pool.shutdown())
        };
        wait_for("the shutdown to start", || pool.is_shutdown());
        // Room frees up: the held I/O task ends and the I/O thread takes the queued one.
        release_io.send(()).unwrap();
        held_io.join().unwrap();
        assert_eq!(
            queued_io.join().unwrap(),
            2,
            "accepted before the shutdown: runs"
        );
        assert_eq!(
            waiting.join().unwrap(),
            Err((true, 4)),
            "refused, closure back"
        );
        let refused = pool.try_spawn_blocking(|| 5).unwrap_err();
        assert!(refused.is_shutdown());
        assert_eq!((refused.into_inner())(), 5);
        release_cpu.send(()).unwrap();
        cpu.join().unwrap();
        shutting_down.join().unwrap();
    });
}

/// `builder.rs` does not validate `io_keep_alive`; `blocking_pool.rs` `wait_for_work` computes
/// `Instant::now() + keep_alive`, which panics on overflow ("overflow when adding duration to
/// instant") right after `state.idle += 1`. The I/O thread unwinds (the README says pool
/// threads never do) without `retire`, leaving a phantom idle thread in `state.idle` and
/// `state.threads`: every later `ensure_thread` "notifies" the dead thread instead of starting
/// one, so every later blocking task is queued forever.
#[test]
fn bug_huge_io_keep_alive_strands_blocking_tasks() {
    let built = Pool::builder()
        .threads(1)
        .pinning(Pinning::None)
        .io_threads(1)
        .io_keep_alive(Duration::MAX)
        .build();
    let Ok(pool) = built else { return }; // a BuildError would be a fine answer
    assert_eq!(pool.spawn_blocking(|| 1).join().unwrap(), 1);
    std::thread::sleep(Duration::from_millis(100));
    let h = pool.spawn_blocking(|| 2);
    let out = watchdog_for(
        "second blocking task with io_keep_alive(MAX)",
        Duration::from_secs(5),
        move || h.join().unwrap(),
    );
    assert_eq!(out, 2);
}

/// `blocking_pool.rs` `ensure_thread` bumps `state.threads`, `started_total` and the registry's
/// I/O liveness count, and only then calls the user's `io_thread_name(id)` (build() checks only
/// id 0). If it panics, the panic leaves through `spawn_blocking` (the job already queued) with
/// a phantom thread counted alive: `shutdown()`/drop then waits forever in
/// `Liveness::wait_exited(Io)`. Worse, when the submitter is `corepool::blocking` on a CPU
/// worker, the queued job is a `StackJob` on that worker's stack (`blocking.rs`): the panic
/// unwinds out of `blocking_on` and frees the frame while its `JobRef` is still queued, and a
/// live I/O thread later executes a dangling pointer (use-after-free from safe code; not
/// exercised here because it is undefined behaviour).
#[test]
fn bug_panicking_io_thread_name_wedges_shutdown() {
    let pool = Pool::builder()
        .threads(1)
        .pinning(Pinning::None)
        .io_threads(4)
        .io_thread_name(|n| {
            if n == 0 {
                "rel-io-0".to_string()
            } else {
                panic!("no name for I/O thread {n}")
            }
        })
        .build()
        .unwrap();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let held = pool.spawn_blocking(move || {
        started_tx.send(()).unwrap();
        let _ = release_rx.recv();
    });
    started_rx.recv().unwrap();
    let p = pool.clone();
    let second = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| p.spawn_blocking(|| 2)));
    drop(p);
    drop(release_tx);
    held.join().unwrap();
    if let Ok(h) = second {
        assert_eq!(h.join().unwrap(), 2);
    }
    watchdog_for(
        "shutdown after a panicking io_thread_name",
        Duration::from_secs(10),
        move || pool.shutdown(),
    );
}

/// `blocking_pool.rs` `wait_for_work`: after waking, an idle I/O thread retires when
/// `state.shutdown` is set without re-checking the queue. Interleaving: submitter S reserves a
/// slot and pushes (before close) but has not yet locked `state` in `ensure_thread`; shutdown
/// runs `begin_shutdown`: closes the queue, sets `shutdown`, `notify_all`, sees one thread alive
/// (so it does not drain the queue itself); the idle thread wakes with `notified == 0`, sees
/// `shutdown`, retires and exits; S then locks `state`, finds no idle thread and `shutdown`
/// set, and starts none. The accepted job stays in the closed queue forever (its handle never
/// resolves, its `JobRef` leaks) although `shutdown()` returned. A race: fails within a few
/// thousand iterations in release (`COREPOOL_SOAK=1` runs 20,000).
#[test]
fn bug_io_job_pushed_while_shutdown_starts_can_be_stranded() {
    let iterations = common::volume(3_000, 20_000);
    watchdog_for(
        "I/O submit racing shutdown",
        Duration::from_secs(240),
        move || {
            for i in 0..iterations {
                let pool = Pool::builder()
                    .threads(1)
                    .pinning(Pinning::None)
                    .io_threads(1)
                    .build()
                    .unwrap();
                let p = pool.clone();
                let submitter = std::thread::spawn(move || {
                    let mut handles = Vec::new();
                    loop {
                        match p.try_spawn_blocking(|| 5) {
                            Ok(h) => handles.push(h),
                            Err(e) if e.is_shutdown() => return handles,
                            Err(_) => std::thread::yield_now(),
                        }
                    }
                });
                std::thread::sleep(Duration::from_micros(100 + (i as u64 % 7) * 150));
                pool.shutdown();
                let handles = submitter.join().unwrap();
                let n = handles.len();
                let (tx, rx) = mpsc::channel();
                std::thread::spawn(move || {
                    let ok = handles.into_iter().all(|h| h.join().unwrap() == 5);
                    let _ = tx.send(ok);
                });
                match rx.recv_timeout(Duration::from_secs(5)) {
                Ok(ok) => assert!(ok),
                Err(_) => panic!(
                    "iteration {i}: one of {n} accepted I/O tasks was stranded by a graceful shutdown"
                ),
            }
            }
        },
    );
}
