//! Latches: one-shot "this job is done" signals between a job's executor and its waiter.
//!
//! Invariant: `set` publishes the job's result (SeqCst store, which also releases) before the
//! waiter can observe the latch, and after the store `set` touches nothing inside the latch,
//! because the waiter may return and free it at once. A waiting worker is woken through the sleep
//! protocol: the waiter re-checks the latch after announcing it sleeps, the setter checks for
//! sleepers after the store, so one of them always sees the other; the setter wakes exactly the
//! waiting worker (`wake_worker(owner)`), nobody else.

use crate::sched::registry::Registry;
use crate::sched::worker::WorkerThread;
use crate::sync::atomic::{AtomicBool, Ordering};
use crate::sync::{Condvar, Mutex};
use std::sync::Arc;

/// A one-shot completion signal.
pub(crate) trait Latch {
    /// Marks the latch set and wakes its waiter.
    ///
    /// # Safety
    /// `this` must be live on entry; it may be freed by the waiter as soon as the store lands,
    /// so the implementation reads everything it needs first.
    unsafe fn set(this: *const Self);
}

/// A latch waited on by a worker thread, which keeps executing other jobs meanwhile.
pub(crate) struct SpinLatch<'r> {
    done: AtomicBool,
    owner_index: usize,
    owner_registry: &'r Arc<Registry>,
    /// The setter may be a worker of another pool, which does not keep the owner's registry
    /// alive; it then holds its own reference across the wake-up.
    cross: bool,
}

impl<'r> SpinLatch<'r> {
    /// A latch for the worker `owner_index` of `owner_registry`, set from the same pool.
    pub(crate) fn new(owner_registry: &'r Arc<Registry>, owner_index: usize) -> Self {
        SpinLatch {
            done: AtomicBool::new(false),
            owner_index,
            owner_registry,
            cross: false,
        }
    }

    /// A latch for a worker that waits on a job running in *another* pool.
    pub(crate) fn cross(owner_registry: &'r Arc<Registry>, owner_index: usize) -> Self {
        SpinLatch {
            cross: true,
            ..SpinLatch::new(owner_registry, owner_index)
        }
    }

    /// Whether the latch has been set.
    #[inline]
    pub(crate) fn probe(&self) -> bool {
        self.done.load(Ordering::SeqCst)
    }
}

impl Latch for SpinLatch<'_> {
    unsafe fn set(this: *const Self) {
        // SAFETY: `this` is live until the store below (caller contract).
        let (owner, registry, cross) = unsafe {
            let latch = &*this;
            (latch.owner_index, latch.owner_registry, latch.cross)
        };
        // A same-pool setter is a worker of `registry`, which its own thread keeps alive; a
        // cross-pool setter must keep it alive itself across the wake-up below.
        let keep_alive = cross.then(|| Arc::clone(registry));
        let registry_ptr: *const Registry = Arc::as_ptr(registry);
        // SAFETY: still live: the store below is what allows the waiter to free it.
        unsafe { (*this).done.store(true, Ordering::SeqCst) };
        // SAFETY: the registry outlives this call, as argued above.
        unsafe { (*registry_ptr).sleep.wake_worker(owner) };
        drop(keep_alive);
    }
}

/// The latch of a published `join` half: waited on by the worker that forked it, set by a worker
/// of the same pool (a thief, or the owner itself if it executes the job while helping).
///
/// Two words: the flag and the owning worker, from which `set` reads the registry and index to
/// wake. It is only written when the half is published; an unpublished half never touches it.
pub(crate) struct JoinLatch {
    done: AtomicBool,
    owner: *const WorkerThread,
}

impl JoinLatch {
    /// An unset latch owned by `owner`.
    #[inline]
    pub(crate) fn new(owner: &WorkerThread) -> Self {
        JoinLatch {
            done: AtomicBool::new(false),
            owner,
        }
    }

    /// Whether the latch has been set.
    #[inline]
    pub(crate) fn probe(&self) -> bool {
        self.done.load(Ordering::SeqCst)
    }
}

impl Latch for JoinLatch {
    unsafe fn set(this: *const Self) {
        // SAFETY: `this` is live until the store below (caller contract), and so is the owner
        // worker: it is blocked in the join that waits for this latch, on its own thread, whose
        // stack holds the `WorkerThread`.
        let (registry_ptr, owner) = unsafe {
            let owner = &*(*this).owner;
            (Arc::as_ptr(&owner.registry), owner.index)
        };
        // SAFETY: still live: the store below is what allows the waiter to free it.
        unsafe { (*this).done.store(true, Ordering::SeqCst) };
        // SAFETY: the setter is a worker of the same pool (only this pool's workers see its
        // deques), and its own thread keeps the registry alive.
        unsafe { (*registry_ptr).sleep.wake_worker(owner) };
    }
}

/// A latch waited on by a thread outside the pool, which blocks.
pub(crate) struct LockLatch {
    done: Mutex<bool>,
    cond: Condvar,
}

impl LockLatch {
    pub(crate) fn new() -> Self {
        LockLatch {
            done: Mutex::new(false),
            cond: Condvar::new(),
        }
    }

    /// Blocks until the latch is set.
    pub(crate) fn wait(&self) {
        let mut done = self.done.lock();
        while !*done {
            self.cond.wait(&mut done);
        }
    }
}

impl Latch for LockLatch {
    unsafe fn set(this: *const Self) {
        // SAFETY: the waiter cannot return before it re-acquires the mutex, which happens only
        // after this guard is released; nothing is touched after that.
        let latch = unsafe { &*this };
        let mut done = latch.done.lock();
        *done = true;
        latch.cond.notify_all();
    }
}
