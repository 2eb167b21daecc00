//! Model: detached tasks and their `JoinHandle` (`src/job_handle.rs`).
//!
//! Invariants checked (the task state machine):
//! - The closure is owned by whoever leaves "idle" first: the executor (RUNNING) or a
//!   canceller (CANCELLED). So a task runs at most once, and `cancel() == true` means it never
//!   ran; the closure, or the output it became, is dropped exactly once.
//! - The output is written before COMPLETE and read once by the handle; a panic nobody reads
//!   goes to the panic handler exactly once, from the worker (handle gone first) or from the
//!   handle's drop (task done first); either way it is dropped exactly once.
//! - COMPLETE/CANCELLED and WAITING are set with `fetch_or` on one word: a registered waker
//!   (a `poll` with a custom waker, a thread parker in `join` off the pool, a worker waker in
//!   `join` on a worker) is always woken when the task finishes (else: loom deadlock).
//!
//! - A cancel through the handle is counted in the pool's metrics before `cancel()` returns,
//!   and before the job's executor lets the job (and with it the pool) go.
//!
//! Every task returns (or panics with) a value carrying a drop counter; the model checks the
//! count after the pool is shut down.
#![cfg(corepool_loom)]

mod common;

use common::{model, pool, Counter, DropToken, Drops, PanicToken};
use loom::sync::{Condvar, Mutex};
use loom::thread;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// A loom-visible waker: `wait` blocks until `wake` was called (a lost wake-up deadlocks).
#[derive(Default)]
struct Flag {
    woken: Mutex<bool>,
    cond: Condvar,
    wakes: AtomicUsize,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Relaxed);
        *self.woken.lock().unwrap() = true;
        self.cond.notify_all();
    }
}

impl Flag {
    fn wait(&self) {
        let mut woken = self.woken.lock().unwrap();
        while !*woken {
            woken = self.cond.wait(woken).unwrap();
        }
        *woken = false;
    }
}

fn poll_once<T>(
    handle: &mut corepool::JoinHandle<T>,
    waker: &Waker,
) -> Poll<Result<T, corepool::JoinError>> {
    Pin::new(handle).poll(&mut Context::from_waker(waker))
}

/// `cancel` races the worker starting the task, then `join`: cancelled means never ran (the
/// handle says Cancelled); otherwise the output is delivered once. The value is dropped once.
#[test]
fn cancel_races_completion() {
    model("job_handle::cancel_races_completion", || {
        let pool = pool(1, 4);
        let drops = Drops::new();
        let runs = Counter::new();
        let (token, r) = (drops.token(), runs.clone());
        let handle = pool.spawn(move || {
            r.incr();
            token
        });
        let cancelled = handle.cancel();
        match handle.join() {
            Ok(out) => {
                assert!(!cancelled, "a cancelled task delivered output");
                assert_eq!(runs.get(), 1);
                drop(out);
            }
            Err(e) => {
                assert!(cancelled && e.is_cancelled());
                assert_eq!(runs.get(), 0, "a cancelled task ran");
            }
        }
        pool.shutdown();
        assert_eq!(drops.count(), 1, "closure/output dropped exactly once");
    });
}

/// The handle is dropped on another thread while the worker runs the task: the task still
/// runs once and its output is dropped exactly once (by whoever releases the task last).
#[test]
fn drop_handle_races_completion() {
    model("job_handle::drop_handle_races_completion", || {
        let pool = pool(1, 4);
        let drops = Drops::new();
        let runs = Counter::new();
        let (token, r) = (drops.token(), runs.clone());
        let handle = pool.spawn(move || {
            r.incr();
            token
        });
        thread::spawn(move || drop(handle)).join().unwrap();
        pool.shutdown();
        assert_eq!(runs.get(), 1);
        assert_eq!(drops.count(), 1);
    });
}

/// A task panics while its handle is dropped: if DETACHED came first the worker sends the
/// payload to the panic handler; if COMPLETE came first the handle's drop does, with the sink
/// the worker stored. Either way the handler runs exactly once and the payload is dropped
/// exactly once, and both orders occur.
#[test]
fn detached_panic_reaches_handler_once() {
    static ON_WORKER: AtomicBool = AtomicBool::new(false);
    static ON_DROPPER: AtomicBool = AtomicBool::new(false);
    model("job_handle::detached_panic_reaches_handler_once", || {
        let calls = Counter::new();
        let c = calls.clone();
        let main = thread::current().id();
        let pool = corepool::Pool::builder()
            .threads(1)
            .queue_capacity(4)
            .panic_handler(move |payload| {
                assert!(payload.is::<PanicToken>());
                if thread::current().id() == main {
                    ON_DROPPER.store(true, Relaxed);
                } else {
                    ON_WORKER.store(true, Relaxed);
                }
                c.incr();
            })
            .build()
            .unwrap();
        let drops = Drops::new();
        let token = drops.token();
        let handle = pool.spawn(move || -> () { std::panic::panic_any(PanicToken(token)) });
        drop(handle);
        pool.shutdown();
        assert_eq!(calls.get(), 1, "the unread panic reaches the handler once");
        assert_eq!(drops.count(), 1, "panic payload dropped exactly once");
    });
    assert!(ON_WORKER.load(Relaxed) && ON_DROPPER.load(Relaxed));
}

/// `poll` with a custom waker, racing completion: Pending registers the waker and the worker's
/// `finish` must wake it; the re-poll (same waker, `will_wake` path) then gets the output.
#[test]
fn poll_custom_waker_is_woken() {
    model("job_handle::poll_custom_waker_is_woken", || {
        let pool = pool(1, 4);
        let drops = Drops::new();
        let token = drops.token();
        let mut handle = pool.spawn(move || token);
        let flag = Arc::new(Flag::default());
        let waker = Waker::from(Arc::clone(&flag));
        let out = loop {
            match poll_once(&mut handle, &waker) {
                Poll::Ready(out) => break out,
                Poll::Pending => flag.wait(),
            }
        };
        let out: DropToken = out.expect("the task ran");
        drop(out);
        drop(handle);
        pool.shutdown();
        assert_eq!(drops.count(), 1);
    });
}

/// Everything at once: the main thread registers a waker with `poll`, then hands the handle to
/// another thread that cancels and drops it, while the worker may be running the task. If the
/// poll was Pending the waker must fire (on completion or on cancel); `cancel() == true` means
/// the task never ran; the value is dropped exactly once.
#[test]
fn poll_cancel_drop_race() {
    model("job_handle::poll_cancel_drop_race", || {
        let pool = pool(1, 4);
        let drops = Drops::new();
        let runs = Counter::new();
        let (token, r) = (drops.token(), runs.clone());
        let mut handle = pool.spawn(move || {
            r.incr();
            token
        });
        let flag = Arc::new(Flag::default());
        let waker = Waker::from(Arc::clone(&flag));
        let pending = match poll_once(&mut handle, &waker) {
            Poll::Ready(out) => {
                drop(out.expect("only the worker can finish it so far"));
                false
            }
            Poll::Pending => true,
        };
        let canceller = thread::spawn(move || {
            let cancelled = handle.cancel();
            drop(handle);
            cancelled
        });
        if pending {
            flag.wait();
        }
        let cancelled = canceller.join().unwrap();
        pool.shutdown();
        assert_eq!(runs.get(), if cancelled { 0 } else { 1 });
        assert!(flag.wakes.load(Relaxed) <= 1, "woken more than once");
        assert_eq!(drops.count(), 1);
    });
}

/// `join` on a worker: a task spawns another and joins it on the worker, which runs it
/// itself while waiting (one worker), or sleeps until the other worker's completion wakes it
/// through the worker waker (two workers, inner task stolen). The inner task may be cancelled
/// by the outer one first.
#[test]
fn join_on_worker() {
    model("job_handle::join_on_worker_one_worker", || {
        let pool = pool(1, 4);
        let drops = Drops::new();
        let token = drops.token();
        let outer = pool.spawn(move || corepool::spawn(move || token).join());
        let inner = outer.join().unwrap();
        drop(inner.unwrap());
        pool.shutdown();
        assert_eq!(drops.count(), 1);
    });
    model("job_handle::join_on_worker_cancel_two_workers", || {
        let pool = pool(2, 4);
        let drops = Drops::new();
        let runs = Counter::new();
        let (token, r) = (drops.token(), runs.clone());
        let outer = pool.spawn(move || {
            let inner = corepool::spawn(move || {
                r.incr();
                token
            });
            let cancelled = inner.cancel();
            (cancelled, inner.join().map(drop).is_ok())
        });
        let (cancelled, delivered) = outer.join().unwrap();
        pool.shutdown();
        assert_eq!(cancelled, !delivered);
        assert_eq!(runs.get(), usize::from(delivered));
        assert_eq!(drops.count(), 1);
    });
}

/// `cancel()` on another thread races the only worker taking the task. Whenever the worker
/// skipped it (the task never ran), the cancel is already counted once the pool has shut down,
/// even if the canceller has not returned yet: the executor waits for the count before it lets
/// the job go, so the pool cannot be freed under it. Counted once, and `cancel()` agrees with
/// what happened; both outcomes occur. Fails without that wait (count 0 after the shutdown).
#[test]
fn cancel_counted_before_the_executor_lets_go() {
    static SKIPPED: common::Seen = common::Seen::new("the worker skipped the cancelled task");
    static RAN: common::Seen = common::Seen::new("the task ran before the cancel");
    model(
        "job_handle::cancel_counted_before_the_executor_lets_go",
        || {
            let pool = pool(1, 4);
            let ran = Counter::new();
            let r = ran.clone();
            let handle = pool.spawn(move || r.incr());
            let canceller = thread::spawn(move || handle.cancel());
            pool.shutdown(); // every job executed, a skipped one included
            let (counted, _) = corepool::loom_api::cancelled_by_handle(&pool);
            if ran.get() == 0 {
                assert_eq!(
                    counted, 1,
                    "a skipped task's cancel is counted before it is let go"
                );
            }
            let won = canceller.join().unwrap();
            assert_eq!(won, ran.get() == 0, "cancel() says whether the task ran");
            assert_eq!(
                corepool::loom_api::cancelled_by_handle(&pool).0,
                u64::from(won)
            );
            SKIPPED.mark_if(won);
            RAN.mark_if(!won);
        },
    );
    SKIPPED.assert_seen();
    RAN.assert_seen();
}
