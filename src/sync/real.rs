//! The production half of the sync shim: std atomics, parking_lot locks, crossbeam deques.
//!
//! Invariant: the names exported here are exactly the names `model.rs` exports, with the same
//! signatures, so no other module needs a `cfg`.

pub(crate) mod atomic {
    pub(crate) use std::sync::atomic::{
        fence, AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering,
    };
}

pub(crate) mod thread {
    pub(crate) use std::thread::{yield_now, Builder, JoinHandle};
}

pub(crate) use crossbeam_deque::{Injector, Steal, Stealer, Worker};
pub(crate) use std::thread_local;

use std::time::Instant;

/// A mutex with parking_lot's API shape (no poisoning).
pub(crate) type Mutex<T> = parking_lot::Mutex<T>;
/// The guard of [`Mutex`].
pub(crate) type MutexGuard<'a, T> = parking_lot::MutexGuard<'a, T>;

/// A condition variable with parking_lot's API shape.
#[derive(Default)]
pub(crate) struct Condvar(parking_lot::Condvar);

impl Condvar {
    pub(crate) const fn new() -> Self {
        Condvar(parking_lot::Condvar::new())
    }

    pub(crate) fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
        self.0.wait(guard);
    }

    /// Waits until notified or until `deadline`; returns `true` if the deadline passed.
    pub(crate) fn wait_until<T>(&self, guard: &mut MutexGuard<'_, T>, deadline: Instant) -> bool {
        self.0.wait_until(guard, deadline).timed_out()
    }

    pub(crate) fn notify_one(&self) {
        self.0.notify_one();
    }

    pub(crate) fn notify_all(&self) {
        self.0.notify_all();
    }
}

/// A hint that the caller is spinning.
#[inline]
pub(crate) fn spin_hint() {
    std::hint::spin_loop();
}
