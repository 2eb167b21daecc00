//! Panic plumbing.
//!
//! Invariant: a panic raised by user code never unwinds through pool machinery: it is caught at
//! the job boundary, carried as a payload, and re-raised only on the thread that asked for it.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};

/// A caught panic payload.
pub(crate) type Payload = Box<dyn Any + Send + 'static>;

/// Runs `f`, catching a panic as its payload.
#[inline]
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> Result<R, Payload> {
    panic::catch_unwind(AssertUnwindSafe(f))
}

/// The human-readable message in a panic payload, if it has one.
pub(crate) fn message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "<non-string panic payload>"
    }
}

/// Runs a user hook, reporting (not propagating) a panic from it, so a broken hook cannot take
/// down a worker.
pub(crate) fn run_hook(what: &str, f: impl FnOnce()) {
    if let Err(payload) = catch(f) {
        eprintln!("corepool: the {what} hook panicked: {}", message(&*payload));
    }
}
