//! Panic plumbing: the catch boundaries around user code, and the abort guard behind them.
//!
//! Invariant: a panic raised by user code never unwinds through pool machinery. It is caught at
//! the boundary nearest to the user code, after which the protocol it interrupted completes as
//! if the code had returned; the payload is carried to whoever asked for the result, or to the
//! pool's panic handler. Executing a job (`JobRef::execute`) therefore never unwinds, and
//! neither does any loop a pool thread runs.
//!
//! # Where user code runs on a pool thread
//!
//! Every entry point, with the boundary that catches it and where the payload goes:
//!
//! | user code | boundary | payload goes to |
//! |---|---|---|
//! | a task's closure (`spawn*`, groups, batches, `spawn_blocking`) | `TaskCell::execute` | the handle, or the panic handler if it is gone |
//! | a task's result `Drop`, when no handle will read it | `Completion` settle (executor or late detach) | the panic handler |
//! | a task's closure `Drop`, when cancelled (handle, group, shutdown) | `TaskCell::cancel_now` | the panic handler on a pool thread; the caller of `cancel` otherwise |
//! | `Future::poll` of a `spawn_future` task | `FutureCell::execute` | the handle, or the panic handler |
//! | the future's `Drop` (after `Ready`, a panic, or a cancel), its output's `Drop` | `FutureCell` | the panic handler (the caller of `cancel` off the pool) |
//! | a join half, a scope body or spawn, an `install` or `blocking` closure | the stack or heap job | re-raised on the thread that waits for it |
//! | `Waker::wake` / `drop` of a waker registered on a handle | `Completion` settle | the panic handler (the caller of `cancel` off the pool) |
//! | `Waker::wake` / `drop` of a `Reserve` waiter's waker | the injection queue, lock released first | the panic handler |
//! | `Waker::clone` / `drop` when a handle is polled | the poller's own call (`JoinHandle::poll`) | that poll |
//! | `on_thread_start` / `on_thread_stop` hooks | [`run_hook`] | printed |
//! | the panic handler itself, and a payload's `Drop` | [`run_hook`] / [`drop_quietly`] | printed |
//! | `thread_name` / `io_thread_name` | the thread spawn | a build or spawn error |
//! | comparators and key functions of `par_sort*`, `par_map` & co. closures, `par_bounded`'s iterator and sink | the join/scope they run in | re-raised on the caller |
//!
//! Anything not caught there still cannot unwind out of a job: `JobRef::execute` is itself a
//! boundary that hands a stray payload to the panic
//! handler. And the frames that other threads may still point into (a join waiting for its
//! stolen half, a scope or `install` waiting for its jobs, a worker helping while its push
//! waits) hold an [`AbortOnUnwind`] guard: should anything unwind there all the same, the
//! process aborts with a message instead of freeing memory a thief still writes to.

use crate::error::panic_message;
use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::task::Waker;

/// A caught panic payload.
pub(crate) type Payload = Box<dyn Any + Send + 'static>;

/// The pool's panic handler (`Builder::panic_handler`).
pub(crate) type PanicHandler = Arc<dyn Fn(Payload) + Send + Sync>;

/// Runs `f`, catching a panic as its payload.
#[inline]
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> Result<R, Payload> {
    panic::catch_unwind(AssertUnwindSafe(f))
}

/// Reports a diagnostic through the `log` crate (target `corepool`) when the program set up
/// logging (a maximum level other than `Off`: a logger decides what to keep), and otherwise as
/// a line on stderr, as the pool always did, so a program without a logger still sees it.
pub(crate) fn diagnose(level: log::Level, message: std::fmt::Arguments<'_>) {
    if log::max_level() == log::LevelFilter::Off {
        eprintln!("corepool: {message}");
    } else {
        log::log!(target: "corepool", level, "{message}");
    }
}

/// Runs a user hook, reporting (not propagating) a panic from it, so a broken hook cannot take
/// down a worker.
pub(crate) fn run_hook(what: &str, f: impl FnOnce()) {
    if let Err(payload) = catch(f) {
        diagnose(
            log::Level::Error,
            format_args!("the {what} hook panicked: {}", panic_message(&*payload)),
        );
        drop_quietly(payload);
    }
}

/// Drops a payload nobody will look at; a panic from its own `Drop` is printed, not raised.
pub(crate) fn drop_quietly(payload: Payload) {
    if let Err(again) = catch(move || drop(payload)) {
        diagnose(
            log::Level::Error,
            format_args!("dropping a panic payload panicked"),
        );
        // The second payload is leaked: dropping it could panic in turn.
        std::mem::forget(again);
    }
}

/// Runs `f` (user code) and hands a panic from it to `report`; never unwinds.
#[inline]
pub(crate) fn guarded(f: impl FnOnce(), report: impl FnOnce(Payload)) {
    if let Err(payload) = catch(f) {
        report(payload);
    }
}

/// Wakes a user's waker (consuming it: `wake` then, inside, its `drop`); a panic from either
/// goes to `report`.
pub(crate) fn wake_user(waker: Waker, report: impl FnOnce(Payload)) {
    guarded(move || waker.wake(), report);
}

/// The pool's panic handler, kept by a task that panicked while its handle was still held, so
/// the handle can report the payload if it is dropped unread (after the pool may be gone).
pub(crate) struct PanicSink(pub(crate) Option<PanicHandler>);

impl PanicSink {
    /// A sink that only prints (no handler).
    pub(crate) fn none() -> Self {
        PanicSink(None)
    }

    pub(crate) fn report(self, payload: Payload) {
        self.report_as("a detached task", payload);
    }

    /// Reports a panic of `what` without consuming the sink.
    pub(crate) fn report_as(&self, what: &str, payload: Payload) {
        report_unobserved_panic(self.0.as_ref(), what, payload);
    }
}

impl Clone for PanicSink {
    fn clone(&self) -> Self {
        PanicSink(self.0.clone())
    }
}

/// Hands `payload` to `handler` (a panic in it is reported, not raised), or prints it.
pub(crate) fn report_unobserved_panic(
    handler: Option<&PanicHandler>,
    what: &str,
    payload: Payload,
) {
    match handler {
        Some(handler) => run_hook("panic_handler", || handler(payload)),
        None => {
            diagnose(
                log::Level::Error,
                format_args!("{what} panicked: {}", panic_message(&*payload)),
            );
            drop_quietly(payload);
        }
    }
}

/// Aborts the process if dropped: held across code that must never unwind because another
/// thread may still point into the frame. Disarmed with [`disarm`](Self::disarm) once the
/// frame is no longer shared.
#[must_use = "the guard protects the scope it lives in"]
pub(crate) struct AbortOnUnwind {
    what: &'static str,
}

impl AbortOnUnwind {
    #[inline(always)]
    pub(crate) fn new(what: &'static str) -> Self {
        AbortOnUnwind { what }
    }

    /// The frame is no longer shared: unwinding from here on is harmless.
    #[inline(always)]
    pub(crate) fn disarm(self) {
        std::mem::forget(self);
    }
}

impl Drop for AbortOnUnwind {
    #[cold]
    fn drop(&mut self) {
        // Only reached by unwinding (a disarmed guard is forgotten): continuing would let a
        // peer write into a freed frame. Logged, and printed whatever the logging: the process
        // ends here, before a logger that buffers could write it out.
        let message = format!(
            "a panic unwound through {} while another thread could still use its frame; \
             aborting (this is a corepool bug, please report it)",
            self.what
        );
        log::error!(target: "corepool", "{message}");
        log::logger().flush();
        eprintln!("corepool: {message}");
        std::process::abort();
    }
}
