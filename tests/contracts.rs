//! Documented contracts checked as a user would, from the README and rustdoc (issue #16,
//! "documented contracts that do not hold" and "smaller defects"). Each test failed before its
//! fix; its doc comment says how. No test depends on timing: a worker is kept busy by blocking
//! it on a channel, and a watchdog only turns a hang into a failure.

mod common;

use common::{wait_for, watchdog};
use corepool::{Pinning, Pool};
use std::time::{Duration, Instant};

/// Sums the workers' busy time of a snapshot.
fn busy_total(m: &corepool::Metrics) -> Duration {
    m.workers.iter().map(|w| w.busy).sum()
}

/// Lets the metrics clock move on (a busy period still open would then have grown).
fn let_the_clock_move() {
    let start = Instant::now();
    while start.elapsed() < Duration::from_micros(100) {
        std::hint::spin_loop();
    }
}

/// After `shutdown()` returned, no worker is active, busy time no longer grows and the
/// utilization since the previous snapshot is zero. Before the fix the exit path left each
/// worker's busy period open: `active` read 2 and `busy` kept growing.
#[test]
fn after_shutdown_no_worker_is_busy() {
    watchdog("after_shutdown_no_worker_is_busy", || {
        let pool = Pool::builder()
            .threads(2)
            .pinning(Pinning::None)
            .build()
            .unwrap();
        pool.spawn(|| 1).join().unwrap();
        pool.shutdown();
        let first = pool.metrics();
        assert_eq!(first.active, 0, "no worker is active after shutdown");
        let_the_clock_move();
        let second = pool.metrics();
        assert_eq!(busy_total(&first), busy_total(&second), "busy time stopped");
        assert_eq!(second.utilization, 0.0);
    });
}

/// A worker asleep right now shows one more park than unparks; a running one shows as many.
/// Before the fix both were bumped together after the sleep returned, so a sleeping worker
/// read `parks == unparks` and this waited for ever (the watchdog of `wait_for` failed it).
#[test]
fn a_sleeping_worker_shows_one_more_park_than_unparks() {
    watchdog("a_sleeping_worker_shows_one_more_park_than_unparks", || {
        let pool = Pool::builder()
            .threads(1)
            .pinning(Pinning::None)
            .build()
            .unwrap();
        let worker = |pool: &Pool| {
            let w = &pool.metrics().workers[0];
            (w.parks, w.unparks)
        };
        wait_for("the only worker to sleep", || {
            let (parks, unparks) = worker(&pool);
            parks == unparks + 1
        });
        let p = pool.clone();
        let (parks, unparks) = pool.spawn(move || worker(&p)).join().unwrap();
        assert_eq!(parks, unparks, "a running worker is not asleep");
        assert!(parks >= 1);
    });
}

/// A pool built without `.threads()` on a pinned worker gets the process's CPU count, as it
/// does outside any worker. Before the fix `num_cpus::get()` read the pinned worker's own
/// mask there and the pool got 1 thread.
#[test]
fn default_thread_count_does_not_shrink_on_a_pinned_worker() {
    watchdog(
        "default_thread_count_does_not_shrink_on_a_pinned_worker",
        || {
            let outside = Pool::builder().pinning(Pinning::None).build().unwrap();
            let expected = outside.threads();
            drop(outside);
            let pinned = Pool::builder()
                .threads(1)
                .pinning(Pinning::PerCore)
                .build()
                .unwrap();
            let (inner, mask) = pinned
                .spawn(|| {
                    let inner = Pool::builder().pinning(Pinning::None).build().unwrap();
                    (inner.threads(), common::my_cores().len())
                })
                .join()
                .unwrap();
            if expected > 1 && std::env::var_os(corepool::NO_PIN_ENV).is_none() {
                assert_eq!(mask, 1, "the worker is pinned to one core");
            }
            assert_eq!(inner, expected);
        },
    );
}

/// `pool.block_on(fut)` called off the workers makes the free functions inside the future use
/// `pool`. Before the fix `block_on` ignored `self`: `corepool::spawn` and `corepool::join`
/// inside it ran on the global pool.
#[test]
fn free_functions_inside_block_on_use_that_pool() {
    watchdog("free_functions_inside_block_on_use_that_pool", || {
        let pool = Pool::builder()
            .threads(2)
            .pinning(Pinning::None)
            .build()
            .unwrap();
        let (p, q, r) = (pool.clone(), pool.clone(), pool.clone());
        let (spawned, joined, nested) = pool.block_on(async move {
            let spawned = corepool::spawn(move || p.current_thread_index().is_some())
                .await
                .unwrap();
            let (a, b) = corepool::join(
                || q.current_thread_index().is_some(),
                || q.current_thread_index().is_some(),
            );
            // A nested `block_on` of the global (no-pool) kind keeps the entered pool.
            let nested = Pool::block_on_here(async move {
                corepool::scope(|_| r.current_thread_index().is_some())
            });
            (spawned, a && b, nested)
        });
        assert!(spawned, "corepool::spawn inside pool.block_on runs on pool");
        assert!(joined, "corepool::join inside pool.block_on runs on pool");
        assert!(nested, "corepool::scope inside pool.block_on runs on pool");
        // After `block_on` returned, off the workers the free functions use the global pool.
        let after = pool.clone();
        assert!(
            !corepool::spawn(move || after.current_thread_index().is_some())
                .join()
                .unwrap()
        );
    });
}

/// A pool of two unpinned workers with the given affinity patience.
fn two_workers(patience: Duration) -> Pool {
    Pool::builder()
        .threads(2)
        .pinning(Pinning::None)
        .affinity_patience(patience)
        .build()
        .unwrap()
}

/// Worker `index`'s `(parks, unparks)`.
fn parks(pool: &Pool, index: usize) -> (u64, u64) {
    let w = &pool.metrics().workers[index];
    (w.parks, w.unparks)
}

/// Blocks worker 0 in a task until the returned sender is used (or dropped).
fn hold_worker_0(pool: &Pool) -> (std::sync::mpsc::Sender<()>, corepool::JoinHandle<()>) {
    let (release, released) = std::sync::mpsc::channel::<()>();
    let (started, is_started) = std::sync::mpsc::channel::<()>();
    let held = pool.spawn_on(0, move || {
        started.send(()).unwrap();
        let _ = released.recv();
    });
    is_started.recv().unwrap();
    (release, held)
}

/// An idle peer sleeps while a busy worker's inbox holds a task it may not take yet (the
/// owner's patience has not run out), and the task runs on its owner once that is free. Before
/// the fix `has_other_visible_work` counted that inbox as work for the peer, which busy-looped
/// for the whole patience (an hour here) and never parked: the `wait_for` watchdog failed it.
#[test]
fn a_peer_sleeps_while_an_inbox_it_may_not_take_from_waits() {
    watchdog(
        "a_peer_sleeps_while_an_inbox_it_may_not_take_from_waits",
        || {
            let pool = two_workers(Duration::from_secs(3600));
            let (release, held) = hold_worker_0(&pool);
            wait_for("worker 1 to sleep", || {
                let (p, u) = parks(&pool, 1);
                p == u + 1
            });
            let before = parks(&pool, 1).0;
            let task = pool.spawn_on(0, corepool::current_thread_index);
            // The push to a busy owner's inbox wakes worker 1, which must go back to sleep.
            wait_for("worker 1 to sleep again after the push", || {
                let (p, u) = parks(&pool, 1);
                p > before && p == u + 1
            });
            assert!(!task.is_finished(), "the task waits for its owner");
            release.send(()).unwrap();
            held.join().unwrap();
            assert_eq!(task.join().unwrap(), Some(0), "it ran on its owner");
        },
    );
}

/// A task spawned onto a worker that stays busy runs on a peer once the patience ran out: the
/// sleeping peer's timed wake-up fires then. (Guards the wake-up that replaced the busy loop:
/// without it the peer would sleep until something else woke it, here never.)
#[test]
fn a_sleeping_peer_takes_an_inbox_task_once_the_patience_ran_out() {
    watchdog(
        "a_sleeping_peer_takes_an_inbox_task_once_the_patience_ran_out",
        || {
            let pool = two_workers(Duration::from_millis(200));
            let (release, held) = hold_worker_0(&pool);
            let task = pool.spawn_on(0, corepool::current_thread_index);
            // Worker 0 stays blocked until the task finished, so only worker 1 can run it.
            assert_eq!(task.join().unwrap(), Some(1));
            release.send(()).unwrap();
            held.join().unwrap();
        },
    );
}

/// `spawn_on(0)` and `spawn_keyed` (for a key of worker 0) called on worker 0, which then
/// stays busy, wait in worker 0's inbox and run there, as the docs promise while the patience
/// (an hour) has not run out. Before the fix the self case pushed onto worker 0's own deque,
/// where worker 1 stole both at once: they ran on worker 1.
#[test]
fn spawn_on_from_the_target_worker_waits_in_its_inbox() {
    watchdog("spawn_on_from_the_target_worker_waits_in_its_inbox", || {
        let pool = two_workers(Duration::from_secs(3600));
        // A key of worker 0: an idle owner is woken for its inbox and runs the task itself.
        let key = (0u32..)
            .find(|k| {
                pool.spawn_keyed(k, corepool::current_thread_index)
                    .join()
                    .unwrap()
                    == Some(0)
            })
            .unwrap();
        let (go, wait_go) = std::sync::mpsc::channel::<()>();
        let (spawned, is_spawned) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let p = pool.clone();
        let outer = pool.spawn_on(0, move || {
            wait_go.recv().unwrap();
            let on = p.spawn_on(0, corepool::current_thread_index);
            let keyed = p.spawn_keyed(&key, corepool::current_thread_index);
            spawned.send((on, keyed)).unwrap();
            let _ = released.recv();
        });
        wait_for("worker 1 to sleep", || {
            let (p, u) = parks(&pool, 1);
            p == u + 1
        });
        let before = parks(&pool, 1).0;
        go.send(()).unwrap();
        let (on, keyed) = is_spawned.recv().unwrap();
        // The spawns woke worker 1 (to watch the inbox, or, before the fix, to steal the
        // tasks); once it is asleep again it has done whatever it was going to do.
        wait_for("worker 1 to sleep again", || {
            let (p, u) = parks(&pool, 1);
            p > before && p == u + 1
        });
        release.send(()).unwrap();
        outer.join().unwrap();
        assert_eq!(
            on.join().unwrap(),
            Some(0),
            "spawn_on(0) on worker 0 ran there"
        );
        assert_eq!(
            keyed.join().unwrap(),
            Some(0),
            "spawn_keyed on its worker ran there"
        );
    });
}

/// `queued()` and the metrics' queue depth count every submission waiting outside the
/// workers' deques (Normal lane, High lane, every inbox), and `queue_bound()` is the bound they
/// can reach: with capacity 4 and two held workers, 16 outside spawns are accepted and all 16
/// are reported. Before the fix only the Normal lane was counted: `queued()` said 4.
#[test]
fn queued_counts_every_lane_and_queue_bound_is_the_true_bound() {
    watchdog("queued_counts_every_lane", || {
        let pool = Pool::builder()
            .threads(2)
            .pinning(Pinning::None)
            .queue_capacity(4)
            .build()
            .unwrap();
        let held = common::hold_workers(&pool);
        let mut handles = Vec::new();
        for i in 0..4 {
            handles.push(pool.try_spawn(move || i).unwrap());
            handles.push(pool.spawn_with(corepool::Priority::High, move || i));
            handles.push(pool.spawn_on(0, move || i));
            handles.push(pool.spawn_on(1, move || i));
        }
        assert!(pool.try_spawn(|| 9).unwrap_err().is_full());
        assert_eq!(
            pool.queue_capacity(),
            4,
            "each lane holds the builder's capacity"
        );
        assert_eq!(pool.queue_bound(), 16);
        assert_eq!(pool.queued(), 16, "every accepted submission is counted");
        let m = pool.metrics();
        assert_eq!(
            (
                m.injection_queue_depth,
                m.injection_queue_capacity,
                m.injection_queue_bound
            ),
            (16, 4, 16)
        );
        held.release_and_join();
        let sum: i32 = corepool::join_all(handles)
            .into_iter()
            .map(Result::unwrap)
            .sum();
        assert_eq!(sum, 4 * (1 + 2 + 3));
        assert_eq!(pool.queued(), 0);
    });
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
            ran_on.starts_with("corepool-io"),
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
            ran_on.starts_with("corepool-io"),
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

/// A task cancelled through its handle while queued is counted in the metrics before
/// `cancel()` returns, CPU and blocking alike, and counted once: when a thread later pops and
/// skips the job, nothing more is counted. Before the fix both counts were still 0 right
/// after `cancel()` returned true, and moved only when the job was skipped.
#[test]
fn a_cancel_through_the_handle_is_counted_before_cancel_returns() {
    watchdog("a_cancel_through_the_handle_is_counted", || {
        let pool = io_pool(1, 4);
        let mut held = common::hold_workers(&pool);
        let (release_io, io_released) = std::sync::mpsc::channel::<()>();
        let (io_started, is_io_started) = std::sync::mpsc::channel::<()>();
        let held_io = pool.spawn_blocking(move || {
            io_started.send(()).unwrap();
            io_released.recv().unwrap();
        });
        is_io_started.recv().unwrap();
        let cpu = pool.try_spawn(|| 1).unwrap();
        let io = pool.try_spawn_blocking(|| 2).unwrap();
        assert!(cpu.cancel());
        assert_eq!(
            pool.metrics().cancelled,
            1,
            "counted before cancel() returned"
        );
        assert!(io.cancel());
        assert_eq!(
            pool.metrics().io.cancelled,
            1,
            "counted before cancel() returned"
        );
        assert!(cpu.cancel(), "a second cancel still says it will never run");
        held.release();
        release_io.send(()).unwrap();
        held_io.join().unwrap();
        assert!(cpu.join().unwrap_err().is_cancelled());
        assert!(io.join().unwrap_err().is_cancelled());
        pool.shutdown(); // every job, the two skipped ones included, has been executed
        let m = pool.metrics();
        assert_eq!((m.cancelled, m.io.cancelled), (1, 1), "counted once");
        assert_eq!(m.spawned, m.completed + m.cancelled);
        assert_eq!(m.io.spawned, m.io.completed + m.io.cancelled);
        drop(held);
    });
}
