//! Regression tests for the bugs the reliability work (issue #10) found in `src/`, all fixed
//! since: each test failed (by assertion or by its watchdog) on the code before its fix. The doc
//! comment on each test names the file, function and interleaving.

mod rel_support;

use corepool::{Pinning, Pool};
use rel_support::watchdog;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

/// `worker.rs` `WorkerThread::run` calls `on_thread_stop` after `main_loop` has returned (and
/// after `cpu_worker_exiting`) but before clearing `CURRENT`. A spawn in the hook therefore
/// takes the same-pool worker path (`pool.rs` `submit` -> `push_or_run`) and lands on the
/// exiting worker's own deque, which nobody pops again: the task never runs, its `JobRef` (and
/// `Arc<TaskCell>`) leaks, `metrics.spawned` counts it forever, and `join()` blocks forever.
/// (Joined work inside the hook is fine: the joining worker pops its own deque.)
#[test]
fn bug_spawn_from_on_thread_stop_is_never_run_and_its_handle_never_resolves() {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let ran = Arc::new(AtomicUsize::new(0));
    let ran2 = Arc::clone(&ran);
    let pool = Pool::builder()
        .threads(1)
        .pinning(Pinning::None)
        .on_thread_stop(move |_| {
            let ran = Arc::clone(&ran2);
            let h = corepool::spawn(move || {
                ran.fetch_add(1, Ordering::SeqCst);
                7
            });
            let _ = tx.lock().unwrap().send(h);
        })
        .build()
        .unwrap();
    pool.shutdown();
    let handle = rx.recv_timeout(Duration::from_secs(10)).expect("hook ran");
    let out = watchdog("join a task spawned in on_thread_stop", 5, move || {
        handle.join().map_err(|e| e.is_cancelled())
    });
    assert!(matches!(out, Ok(7) | Err(true)));
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
    let out = watchdog(
        "second blocking task with io_keep_alive(MAX)",
        5,
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
    watchdog("shutdown after a panicking io_thread_name", 10, move || {
        pool.shutdown()
    });
}

/// `reserve.rs` `spawn_async` turns `Err(ShutdownError)` from its `Reserve` into
/// `SpawnError::Shutdown(func)` without `record_submission`, while every other refusal
/// (including `Permit::spawn`) is counted in `metrics.rejected_shutdown`, documented as
/// "Submissions refused with `SpawnError::Shutdown` (both pools)".
#[test]
fn bug_spawn_async_refusal_is_not_counted_in_rejected_shutdown() {
    let pool = Pool::builder()
        .threads(1)
        .pinning(Pinning::None)
        .build()
        .unwrap();
    pool.shutdown();
    assert!(pool.try_spawn(|| 1).unwrap_err().is_shutdown());
    assert_eq!(pool.metrics().rejected_shutdown, 1);
    let refused = pool.block_on(pool.spawn_async(|| 2));
    assert!(refused.unwrap_err().is_shutdown());
    assert_eq!(
        pool.metrics().rejected_shutdown,
        2,
        "spawn_async's SpawnError::Shutdown was not counted"
    );
}

/// Outside a worker, `block_on` (`block_on.rs`) and `JoinHandle::join` (`job_handle.rs`) park
/// on the same thread-local `ThreadParker` token. A future driven by `pool.block_on` polls
/// handle A (registering block_on's waker), then blocks in `B.join()`; A finishes during that
/// join and sets the token; `join`'s `park()` consumes it as a spurious wake and parks again
/// until B is done. The future returns `Pending` and `block_on` parks with the token already
/// spent: A's wake-up is lost and `block_on` never returns. (Same with a nested `block_on`.)
#[test]
fn bug_blocking_join_inside_block_on_swallows_the_wake_up() {
    let pool = Pool::builder()
        .threads(2)
        .pinning(Pinning::None)
        .build()
        .unwrap();
    let p = pool.clone();
    let out = watchdog("block_on with a blocking join inside", 10, move || {
        // A must not finish before the first poll (that poll would return 1 at once and
        // never reach the join): it waits for `go`, set right before the blocking join.
        let go = Arc::new(AtomicBool::new(false));
        let gate = Arc::clone(&go);
        let fast = p.spawn(move || {
            while !gate.load(Ordering::Acquire) {
                std::thread::yield_now();
            }
            1
        });
        let slow = p.spawn(|| {
            std::thread::sleep(Duration::from_millis(100));
            2
        });
        let mut fast = Some(fast);
        let mut slow = Some(slow);
        let mut got = 0;
        p.block_on(std::future::poll_fn(move |cx| {
            use std::future::Future;
            let f = fast.as_mut().unwrap();
            if let std::task::Poll::Ready(v) = std::pin::Pin::new(f).poll(cx) {
                return std::task::Poll::Ready(v.unwrap() + got);
            }
            if let Some(s) = slow.take() {
                go.store(true, Ordering::Release);
                got = s.join().unwrap();
            }
            std::task::Poll::Pending
        }))
    });
    assert_eq!(out, 3);
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
    let iterations = rel_support::volume(3_000, 20_000);
    watchdog("I/O submit racing shutdown", 240, move || {
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
    });
}

/// Nested async backpressure on one worker deadlocks.
///
/// `injection_queue.rs` `release()` → `wake_one()` wakes only the *front* async waiter. On a
/// worker, `block_on` (block_on.rs) helps by running other jobs, so a second `block_on` can
/// run *on top of* the first on the same stack. When both wait in `reserve()` and a slot frees,
/// the wake goes to the outer (front) waiter, which cannot be polled until the inner one
/// returns; the inner waiter is never woken, the worker finds no work and sleeps forever.
#[test]
fn bug_nested_block_on_reserve_on_one_worker_loses_the_wake_up() {
    let pool = Pool::builder()
        .threads(1)
        .pinning(Pinning::None)
        .queue_capacity(1)
        .build()
        .unwrap();
    let p = pool.clone();
    let out = watchdog(
        "nested block_on(spawn_async) on one worker",
        10,
        move || {
            let q = p.clone();
            p.install(move || {
                // 1. Fill the one injection slot with a task X (from the worker, through a permit).
                let x = q.block_on(q.reserve()).unwrap().spawn(|| 1).unwrap();
                // 2. Queue J on this worker's own deque: J waits for room (the inner waiter).
                let r = q.clone();
                let j = corepool::spawn(move || {
                    r.block_on(async { r.spawn_async(|| 2).await.ok().unwrap().await.unwrap() })
                });
                // 3. Wait for room here (the outer waiter). While waiting, this worker pops J,
                //    whose wait runs on top of ours; J then takes X, freeing the slot, and the
                //    wake-up goes to us (front of the queue), not to J.
                let z =
                    q.block_on(async { q.spawn_async(|| 3).await.ok().unwrap().await.unwrap() });
                x.join().unwrap() + j.join().unwrap() + z
            })
        },
    );
    assert_eq!(out, 6);
}

/// A `spawn_future` refused by a shutting-down pool can be counted twice: as
/// `rejected_shutdown` *and* as `cancelled` (and in `shutdown_now`'s return value).
///
/// `future_task.rs` `spawn_future` puts the task in the pool's `futures` table
/// (`futures_track`) *before* it tries to inject it. If the injection is refused because the
/// pool is closing, and the last CPU worker runs `registry.rs` `cpu_worker_exiting` in between,
/// that worker takes the table, cancels the task (`record_outcome(Cancelled, CpuOutside)`:
/// `cancelled += 1`, shutdown count += 1); then `spawn_future` records the refusal
/// (`rejected_shutdown += 1`). Afterwards `spawned != completed + cancelled`.
#[test]
fn bug_refused_spawn_future_can_be_counted_as_cancelled() {
    let iterations = rel_support::volume(2_000, 50_000);
    watchdog("spawn_future racing shutdown_now", 240, move || {
        for i in 0..iterations {
            let pool = Pool::builder()
                .threads(1)
                .pinning(Pinning::None)
                .build()
                .unwrap();
            let p = pool.clone();
            let submitter = std::thread::spawn(move || {
                let mut handles = Vec::new();
                while !p.is_shutdown() {
                    handles.push(p.spawn_future(async { 1 }));
                }
                for _ in 0..4 {
                    handles.push(p.spawn_future(async { 1 }));
                }
                handles
            });
            std::thread::sleep(Duration::from_micros(50 + (i as u64 % 5) * 40));
            pool.shutdown_now();
            for h in submitter.join().unwrap() {
                let _ = h.join();
            }
            pool.shutdown();
            let m = pool.metrics();
            assert_eq!(
                m.spawned,
                m.completed + m.cancelled,
                "iteration {i}: a refused spawn_future was also counted as cancelled\n{m}"
            );
        }
    });
}
