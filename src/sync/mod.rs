//! The sync shim.
//!
//! Invariant: every atomic, lock, condition variable, thread spawn and work queue the pool uses
//! is imported from this module and nowhere else. Under `--cfg corepool_loom` the whole set is
//! swapped for loom's model-checked versions (and small loom-visible stand-ins for the crossbeam
//! deques), so every protocol built on top of it can be model-checked unchanged.

#[cfg(not(corepool_loom))]
mod real;
#[cfg(not(corepool_loom))]
pub(crate) use real::*;

#[cfg(corepool_loom)]
mod model;
pub(crate) mod parker;
#[cfg(corepool_loom)]
pub(crate) use model::*;

/// Atomics for hints that order nothing and guard no data (an inbox owner's busy stamp): std's
/// in both builds. Under loom they would only multiply the interleavings to explore without
/// checking anything; a stale read of a hint only delays or hastens a decision that the real
/// protocol (the queues, the sleep state) makes safe either way. Everything that orders memory
/// uses `atomic`.
pub(crate) mod hint {
    pub(crate) use std::sync::atomic::{AtomicU64, Ordering};
}

/// Keeps a value on its own cache line(s), so that writes to it do not slow down readers and
/// writers of its neighbours. A layout wrapper only: the same type under loom.
pub(crate) use crossbeam_utils::CachePadded;

/// A process-wide counter that hands out unique ids, usable in a `static`. It orders nothing
/// (an id is compared, never used to publish data), so it is a std atomic under loom too,
/// whose atomics cannot live in statics.
pub(crate) struct IdCounter(std::sync::atomic::AtomicU64);

impl IdCounter {
    pub(crate) const fn new(first: u64) -> Self {
        IdCounter(std::sync::atomic::AtomicU64::new(first))
    }

    /// The next id: never the same twice in this process.
    pub(crate) fn next(&self) -> u64 {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }
}

/// A process-wide statistic (a `static`), outside loom's view for the same reason as
/// [`IdCounter`]: loom's atomics cannot be built in a `const` context, and no protocol reads it.
pub(crate) struct StatCounter(std::sync::atomic::AtomicU64);

impl StatCounter {
    pub(crate) const fn new() -> Self {
        StatCounter(std::sync::atomic::AtomicU64::new(0))
    }

    pub(crate) fn add(&self, n: u64) {
        self.0.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Interior mutability whose accesses loom can check for data races.
///
/// Outside loom this is a zero-cost wrapper around [`std::cell::UnsafeCell`].
pub(crate) struct UnsafeCell<T>(CellImpl<T>);

#[cfg(not(corepool_loom))]
type CellImpl<T> = std::cell::UnsafeCell<T>;
#[cfg(corepool_loom)]
type CellImpl<T> = loom::cell::UnsafeCell<T>;

impl<T> UnsafeCell<T> {
    pub(crate) fn new(value: T) -> Self {
        UnsafeCell(CellImpl::new(value))
    }

    /// Runs `f` with a mutable pointer to the contents. The caller upholds exclusivity.
    #[inline]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        #[cfg(not(corepool_loom))]
        {
            f(self.0.get())
        }
        #[cfg(corepool_loom)]
        {
            self.0.with_mut(f)
        }
    }
}

/// Spawns an OS thread (a loom thread under the model) with the given name and stack size.
pub(crate) fn spawn_thread<F>(
    name: String,
    stack_size: Option<usize>,
    f: F,
) -> std::io::Result<thread::JoinHandle<()>>
where
    F: FnOnce() + Send + 'static,
{
    if name.contains('\0') {
        // std would panic on this; report it as the spawn failure it is.
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "thread name contains a NUL byte",
        ));
    }
    let mut builder = thread::Builder::new().name(name);
    if let Some(size) = stack_size {
        builder = builder.stack_size(size);
    }
    builder.spawn(f)
}
