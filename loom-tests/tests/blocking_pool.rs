//! Model: the elastic blocking-I/O pool (`src/blocking_pool.rs`) and `blocking(f)` from a CPU
//! worker (`src/blocking.rs`).
//!
//! Invariants checked:
//! - blocking_pool.rs: after pushing, a submitter notifies an idle thread or starts a new one
//!   (below `io_threads`); an idle thread re-checks the queue under the state lock before it
//!   waits. So a job submitted while the only I/O thread is deciding to go idle is never lost
//!   (else: loom deadlock), a second thread is started when none is idle, an idle one is reused
//!   rather than a new one started, and `threads` never exceeds `io_threads`.
//! - A thread retires only when it timed out with nothing owed to it and nothing queued: a
//!   keep-alive expiry racing a new task never strands the task, and a new thread is started
//!   only after the old one retired. (loom never times a wait out by itself, and
//!   `io_keep_alive(Duration::ZERO)` alone does not change that: the thread still waits for a
//!   notification. The model fires the expiry with the `loom_api::expire_io_keep_alive` hook,
//!   which makes one timed wait of the I/O pool report "timed out".)
//! - Shutdown: graceful runs every accepted I/O job (including one whose submission raced the
//!   close), `shutdown_now` cancels what is queued and counts it; every handle resolves. The
//!   I/O pool closes only once the CPU pool has drained (registry.rs), also when the shutdown
//!   was started on a worker, and from the start of the shutdown it refuses outside threads.
//! - blocking.rs: the worker that calls `blocking(f)` keeps executing its pool's tasks while
//!   `f` runs on an I/O thread, and is woken through the sleep protocol by the job's latch.
#![cfg(corepool_loom)]

mod common;

use common::{io_pool, model, Counter, Gate, Seen};
use corepool::loom_api;
use loom::thread;
use std::time::Duration;

/// One I/O thread, two jobs back to back: the second is submitted while the thread runs the
/// first, finishes its queue loop, decides to go idle, or already waits. It is always run
/// (a lost wake-up would be a loom deadlock on its handle), by the one thread: the count never
/// exceeds `io_threads(1)` (no keep-alive expiry here, so nothing ever retires).
#[test]
fn job_while_only_thread_goes_idle() {
    model("blocking_pool::job_while_only_thread_goes_idle", || {
        let pool = io_pool(1, 1, 2);
        let runs = Counter::new();
        let (r1, r2) = (runs.clone(), runs.clone());
        let h1 = pool.spawn_blocking(move || r1.incr());
        let h2 = pool.spawn_blocking(move || r2.incr());
        h1.join().expect("first I/O job runs");
        h2.join().expect("second I/O job runs");
        assert_eq!(runs.get(), 2);
        pool.shutdown();
        let io = pool.metrics().io;
        assert_eq!(
            io.thread_starts, 1,
            "at most io_threads(1) thread, never retired"
        );
        assert_eq!(io.keep_alive_exits, 0);
    });
}

/// Two I/O threads allowed; the first job blocks its thread until the second job ran (the
/// queue is FIFO, so the first thread always takes the first job). So the second job needs a
/// thread of its own: if no thread were started while none is idle, loom reports a deadlock.
/// Exactly two threads are started, never more.
#[test]
fn second_thread_started_when_none_idle() {
    model(
        "blocking_pool::second_thread_started_when_none_idle",
        || {
            let pool = io_pool(1, 2, 2);
            let gate = Gate::new();
            let g = gate.clone();
            let h1 = pool.spawn_blocking(move || g.wait());
            let h2 = pool.spawn_blocking(move || gate.open());
            h1.join().expect("first I/O job runs");
            h2.join().expect("second I/O job runs");
            pool.shutdown();
            assert_eq!(pool.metrics().io.thread_starts, 2);
        },
    );
}

/// Two I/O threads allowed, two jobs one after the other (the first joined before the second
/// is submitted). If the first thread is already idle, it is notified and reused; if it has not
/// got there yet, a second thread is started. Both occur; never more than two threads.
#[test]
fn idle_thread_reused() {
    static STARTED_SECOND: Seen = Seen::new("a second I/O thread was started");
    static REUSED_IDLE: Seen = Seen::new("the idle I/O thread was reused");
    model("blocking_pool::idle_thread_reused", || {
        let pool = io_pool(1, 2, 2);
        let runs = Counter::new();
        let (r1, r2) = (runs.clone(), runs.clone());
        pool.spawn_blocking(move || r1.incr())
            .join()
            .expect("first I/O job runs");
        pool.spawn_blocking(move || r2.incr())
            .join()
            .expect("second I/O job runs");
        assert_eq!(runs.get(), 2);
        pool.shutdown();
        let io = pool.metrics().io;
        assert!(
            (1..=2).contains(&io.thread_starts),
            "{} threads started, io_threads(2)",
            io.thread_starts
        );
        STARTED_SECOND.mark_if(io.thread_starts == 2);
        REUSED_IDLE.mark_if(io.thread_starts == 1);
    });
    STARTED_SECOND.assert_seen();
    REUSED_IDLE.assert_seen();
}

/// One I/O thread whose keep-alive runs out (fired by the model hook) just as a new job is
/// submitted. Every outcome keeps the job: the thread retires first and the submission starts a
/// new one; or it sees the queued job (or the notification owed to it) and stays; or it runs the
/// job and retires afterwards. A new thread is started only once the old one retired, so at most
/// one is ever alive. The model asserts all three outcomes occur.
#[test]
fn keep_alive_expiry_races_new_job() {
    static RETIRED_THEN_STARTED: Seen = Seen::new("retired, then a new thread started");
    static RETIRED_AFTER_JOB: Seen = Seen::new("ran the new job, then retired");
    static STAYED: Seen = Seen::new("the expiry found work and the thread stayed");
    model("blocking_pool::keep_alive_expiry_races_new_job", || {
        let pool = corepool::Pool::builder()
            .threads(1)
            .queue_capacity(2)
            .io_threads(1)
            .io_queue_capacity(2)
            .io_keep_alive(Duration::ZERO)
            .build()
            .expect("a loom pool builds");
        let runs = Counter::new();
        let (r1, r2) = (runs.clone(), runs.clone());
        pool.spawn_blocking(move || r1.incr())
            .join()
            .expect("first I/O job runs");
        // The expiry is only recorded here; the I/O thread reacts to it whenever it next waits
        // or is scheduled, so its retirement decision races the submission below.
        loom_api::expire_io_keep_alive(&pool);
        pool.spawn_blocking(move || r2.incr())
            .join()
            .expect("a job racing a keep-alive retirement runs");
        assert_eq!(runs.get(), 2);
        pool.shutdown();
        let io = pool.metrics().io;
        assert!(
            io.keep_alive_exits <= 1,
            "one expiry retires at most one thread"
        );
        assert!(
            io.thread_starts <= 1 + io.keep_alive_exits,
            "a new thread only after the old one retired ({} starts, {} exits)",
            io.thread_starts,
            io.keep_alive_exits
        );
        RETIRED_THEN_STARTED.mark_if(io.thread_starts == 2);
        RETIRED_AFTER_JOB.mark_if(io.thread_starts == 1 && io.keep_alive_exits == 1);
        STAYED.mark_if(io.keep_alive_exits == 0);
    });
    RETIRED_THEN_STARTED.assert_seen();
    RETIRED_AFTER_JOB.assert_seen();
    STAYED.assert_seen();
}

/// Graceful shutdown with an I/O job queued or running, while another thread's
/// `try_spawn_blocking` races the close: the queued job runs; the racing one either is refused
/// with its closure handed back, or is accepted and runs (the I/O thread must not retire while
/// its slot is reserved but not yet pushed). Every handle resolves.
#[test]
fn shutdown_runs_queued_io_jobs() {
    model("blocking_pool::shutdown_runs_queued_io_jobs", || {
        let pool = io_pool(1, 1, 2);
        let runs = Counter::new();
        let r0 = runs.clone();
        let h0 = pool.spawn_blocking(move || r0.incr());
        let submitter = {
            let (pool, r1) = (pool.clone(), runs.clone());
            thread::spawn(
                move || match pool.task().blocking().try_spawn(move || r1.incr()) {
                    Ok(handle) => {
                        handle
                            .join()
                            .expect("an accepted I/O job runs under graceful shutdown");
                        true
                    }
                    Err(e) => {
                        assert!(e.is_shutdown(), "refused only because of the shutdown");
                        drop(e.into_inner());
                        false
                    }
                },
            )
        };
        pool.shutdown();
        h0.join()
            .expect("a queued I/O job runs under graceful shutdown");
        let accepted = submitter.join().unwrap();
        assert_eq!(runs.get(), 1 + usize::from(accepted));
    });
}

/// A graceful shutdown started on the only CPU worker (in a task, which cannot wait for
/// itself): the task then hands a job to the I/O pool and joins it, and the job runs, since the
/// I/O pool closes only once the CPU pool has drained (its last thread closes it). An outside
/// `try_spawn_blocking` made after the task returned (the shutdown had begun) is refused with
/// its closure, whether or not the I/O pool has closed yet.
#[test]
fn shutdown_from_a_worker_leaves_the_io_pool_to_the_drain() {
    model(
        "blocking_pool::shutdown_from_a_worker_leaves_the_io_pool_to_the_drain",
        || {
            let pool = io_pool(1, 1, 2);
            let p = pool.clone();
            let task = pool.spawn(move || {
                p.shutdown();
                p.spawn_blocking(|| 7).join()
            });
            let ran = task.join().unwrap();
            assert_eq!(ran.ok(), Some(7), "the draining task's I/O job runs");
            let refused = pool
                .task()
                .blocking()
                .try_spawn(|| 8)
                .expect_err("an outside I/O submission after the shutdown began is refused");
            assert!(refused.is_shutdown());
            assert_eq!((refused.into_inner())(), 8);
            pool.shutdown();
        },
    );
}

/// The last `Pool` handle is dropped inside the pool's own task, after the task used the I/O
/// pool: the shutdown it starts returns at once, so nobody outside closes the I/O pool. The
/// last CPU thread to finish does, and every thread exits (an I/O thread left waiting for work
/// would be a loom deadlock when the iteration ends).
#[test]
fn last_handle_dropped_on_a_worker_closes_the_io_pool() {
    model(
        "blocking_pool::last_handle_dropped_on_a_worker_closes_the_io_pool",
        || {
            let pool = io_pool(1, 1, 2);
            let gate = Gate::new();
            let (p, g) = (pool.clone(), gate.clone());
            let task = pool.spawn(move || {
                let ran = p.spawn_blocking(|| 1).join().is_ok();
                g.wait(); // main has dropped its handle: this one is the last
                drop(p);
                ran
            });
            drop(pool);
            gate.open();
            assert!(task.join().unwrap(), "the I/O job ran");
        },
    );
}

/// `shutdown_now` with two I/O jobs queued or running: each handle resolves, as ran or
/// Cancelled, and the returned count is exactly the number of Cancelled handles. Both the
/// "all ran" and the "some cancelled" outcomes occur.
#[test]
fn shutdown_now_cancels_queued_io_jobs() {
    static CANCELLED_SOME: Seen = Seen::new("shutdown_now cancelled a queued I/O job");
    static RAN_ALL: Seen = Seen::new("both I/O jobs ran before shutdown_now");
    model("blocking_pool::shutdown_now_cancels_queued_io_jobs", || {
        let pool = io_pool(1, 1, 2);
        let runs = Counter::new();
        let (r1, r2) = (runs.clone(), runs.clone());
        let h1 = pool.spawn_blocking(move || r1.incr());
        let h2 = pool.spawn_blocking(move || r2.incr());
        let counted = pool.shutdown_now();
        let mut cancelled = 0;
        for handle in [h1, h2] {
            match handle.join() {
                Ok(()) => {}
                Err(e) => {
                    assert!(e.is_cancelled());
                    cancelled += 1;
                }
            }
        }
        assert_eq!(runs.get() + cancelled, 2, "each job ran or was cancelled");
        assert_eq!(
            counted, cancelled,
            "shutdown_now's count matches the handles"
        );
        CANCELLED_SOME.mark_if(cancelled > 0);
        RAN_ALL.mark_if(cancelled == 0);
    });
    CANCELLED_SOME.assert_seen();
    RAN_ALL.assert_seen();
}

/// `corepool::blocking(f)` on the only CPU worker: `f` runs on an I/O thread and cannot finish
/// until a CPU task the worker spawned just before has run. So the worker must execute that
/// task while it waits (else: deadlock), and must be woken by the job's latch when `f` is done
/// (else: deadlock, the worker asleep).
#[test]
fn blocking_from_cpu_worker_helps() {
    model("blocking_pool::blocking_from_cpu_worker_helps", || {
        let pool = io_pool(1, 1, 2);
        let value = pool.install(|| {
            let gate = Gate::new();
            let g = gate.clone();
            let task = corepool::spawn(move || g.open());
            let on_io_thread = corepool::blocking(move || {
                gate.wait();
                corepool::current_thread_index()
            });
            task.join().expect("the CPU task ran");
            (on_io_thread, corepool::current_thread_index())
        });
        assert_eq!(value, (None, Some(0)), "f ran off the CPU workers");
        pool.shutdown();
        assert_eq!(pool.metrics().io.thread_starts, 1);
    });
}
