//! The loom half of the sync shim, compiled only under `--cfg corepool_loom`.
//!
//! Invariant: same names and signatures as `real.rs`. crossbeam's deques are invisible to loom,
//! so they are replaced by `Mutex<VecDeque>` stand-ins with crossbeam's method names; parking_lot
//! is replaced by loom's `Mutex`/`Condvar` behind parking_lot's API shape. A timed condvar wait
//! never times out by itself under loom: models exercise the timed-out branches explicitly, either
//! with their own inputs or by firing a timeout with [`Condvar::expire_one`] (a model hook).

use std::collections::VecDeque;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Instant;

pub(crate) mod atomic {
    pub(crate) use loom::sync::atomic::{
        fence, AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering,
    };
}

pub(crate) mod thread {
    pub(crate) use loom::thread::{yield_now, Builder, JoinHandle};
}

pub(crate) use crossbeam_deque::Steal;
pub(crate) use loom::thread_local;

/// loom's mutex behind parking_lot's API shape.
#[derive(Debug, Default)]
pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

/// The guard of [`Mutex`]; the option lets [`Condvar::wait`] take it by `&mut`.
pub(crate) struct MutexGuard<'a, T>(Option<loom::sync::MutexGuard<'a, T>>);

impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Self {
        Mutex(loom::sync::Mutex::new(value))
    }

    #[track_caller]
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        MutexGuard(Some(self.0.lock().unwrap_or_else(|e| e.into_inner())))
    }
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.0.as_ref().expect("guard present")
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.0.as_mut().expect("guard present")
    }
}

/// loom's condition variable behind parking_lot's API shape.
#[derive(Debug, Default)]
pub(crate) struct Condvar {
    inner: loom::sync::Condvar,
    /// Timeouts fired by a model ([`Condvar::expire_one`]) that no timed wait has consumed yet.
    /// Read and written only with the waiters' mutex held, which orders every access; a std
    /// atomic only because the condvar must be `Sync`. Zero unless a model fires a timeout.
    expired: std::sync::atomic::AtomicUsize,
}

impl Condvar {
    pub(crate) fn new() -> Self {
        Condvar::default()
    }

    #[track_caller]
    pub(crate) fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
        let inner = guard.0.take().expect("guard present");
        guard.0 = Some(self.inner.wait(inner).unwrap_or_else(|e| e.into_inner()));
    }

    /// loom never times a wait out by itself: this waits for a notification and reports
    /// `false`, unless a model fired a timeout with [`expire_one`](Self::expire_one); then it
    /// consumes it and reports `true` (at once if it was fired before the wait began, as a
    /// deadline that already passed).
    pub(crate) fn wait_until<T>(&self, guard: &mut MutexGuard<'_, T>, _deadline: Instant) -> bool {
        if self.take_expired() {
            return true;
        }
        self.wait(guard);
        self.take_expired()
    }

    fn take_expired(&self) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        self.expired
            .fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }

    /// Model hook: one timed wait on this condvar times out — a wait in progress (woken now)
    /// or else the next one to begin. The caller holds the mutex the waiters wait with (`_held`
    /// is the proof), so the timeout is ordered with the waiters' checks like a notification.
    pub(crate) fn expire_one<T>(&self, _held: &MutexGuard<'_, T>) {
        self.expired
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.notify_all();
    }

    #[track_caller]
    pub(crate) fn notify_one(&self) {
        self.inner.notify_one();
    }

    #[track_caller]
    pub(crate) fn notify_all(&self) {
        self.inner.notify_all();
    }
}

/// Spinning is a yield under loom, so the model explores the other threads.
pub(crate) fn spin_hint() {
    loom::thread::yield_now();
}

/// Stand-in for `crossbeam_deque::Worker` (LIFO flavour): the owner's end of a deque.
pub(crate) struct Worker<T> {
    queue: Arc<Mutex<VecDeque<T>>>,
}

/// Stand-in for `crossbeam_deque::Stealer`: the thieves' end of a deque.
pub(crate) struct Stealer<T> {
    queue: Arc<Mutex<VecDeque<T>>>,
}

/// Stand-in for `crossbeam_deque::Injector`: a shared FIFO.
pub(crate) struct Injector<T> {
    queue: Mutex<VecDeque<T>>,
}

impl<T> Worker<T> {
    pub(crate) fn new_lifo() -> Self {
        Worker {
            queue: Arc::new(Mutex::new(VecDeque::new())),
        }
    }

    pub(crate) fn stealer(&self) -> Stealer<T> {
        Stealer {
            queue: Arc::clone(&self.queue),
        }
    }

    #[track_caller]
    pub(crate) fn push(&self, task: T) {
        self.queue.lock().push_back(task);
    }

    #[track_caller]
    pub(crate) fn pop(&self) -> Option<T> {
        self.queue.lock().pop_back()
    }

    #[track_caller]
    pub(crate) fn len(&self) -> usize {
        self.queue.lock().len()
    }

    #[track_caller]
    pub(crate) fn is_empty(&self) -> bool {
        self.queue.lock().is_empty()
    }
}

impl<T> Clone for Stealer<T> {
    fn clone(&self) -> Self {
        Stealer {
            queue: Arc::clone(&self.queue),
        }
    }
}

impl<T> Stealer<T> {
    #[track_caller]
    pub(crate) fn steal(&self) -> Steal<T> {
        match self.queue.lock().pop_front() {
            Some(task) => Steal::Success(task),
            None => Steal::Empty,
        }
    }

    #[track_caller]
    pub(crate) fn is_empty(&self) -> bool {
        self.queue.lock().is_empty()
    }

    #[track_caller]
    pub(crate) fn len(&self) -> usize {
        self.queue.lock().len()
    }
}

impl<T> Injector<T> {
    pub(crate) fn new() -> Self {
        Injector {
            queue: Mutex::new(VecDeque::new()),
        }
    }

    #[track_caller]
    pub(crate) fn push(&self, task: T) {
        self.queue.lock().push_back(task);
    }

    #[track_caller]
    pub(crate) fn steal(&self) -> Steal<T> {
        match self.queue.lock().pop_front() {
            Some(task) => Steal::Success(task),
            None => Steal::Empty,
        }
    }

    #[track_caller]
    pub(crate) fn is_empty(&self) -> bool {
        self.queue.lock().is_empty()
    }
}
