//! Task groups: at most `n` of a group's tasks run at once on the shared pool. This file is
//! the public face (`GroupBuilder`, `Group`); the slot protocol that enforces the limit without
//! a lock is in `slots.rs`, whose header gives its invariants.

use crate::error::{BuildError, SpawnError};
use crate::sched::injection::PushError;
use crate::sched::registry::Registry;
use crate::sync::atomic::{AtomicU64, Ordering};
use crate::sync::{CachePadded, Condvar, Injector, Mutex};
use crate::task::cell::{new_hooked_task, new_task, PanicsTo, UnsubmittedTask};
use crate::task::handle::JoinHandle;
use crate::task::state::Initial;
use slots::{
    is_idle, running, GroupInner, SlotHook, CANCELLED_KEPT, CAPACITY_LIMIT, RUNNING_LIMIT,
};
use std::sync::Arc;

mod slots;

/// Configures a [`Group`]; from [`Pool::group`](crate::Pool::group).
#[must_use = "a group builder does nothing until .build() is called"]
pub struct GroupBuilder {
    registry: Arc<Registry>,
    max_concurrency: usize,
    capacity: usize,
}

impl GroupBuilder {
    pub(crate) fn new(registry: Arc<Registry>) -> Self {
        GroupBuilder {
            registry,
            max_concurrency: 1,
            capacity: 1024,
        }
    }

    /// At most this many of the group's tasks run at once (default 1, at least 1; values
    /// above `u32::MAX` count as `u32::MAX`).
    pub fn max_concurrency(mut self, n: usize) -> Self {
        self.max_concurrency = n;
        self
    }

    /// At most this many tasks wait in the group for a slot (default 1024, at least 1; values
    /// above 2^29 count as 2^29); beyond that `spawn` waits and `try_spawn` hands the closure
    /// back. A waiting task cancelled through its handle frees its place at once (its entry is
    /// skipped later; at most `max(capacity, 1024)` such entries are kept beyond the capacity).
    pub fn capacity(mut self, n: usize) -> Self {
        self.capacity = n;
        self
    }

    /// Builds the group.
    pub fn build(self) -> Result<Group, BuildError> {
        if self.max_concurrency == 0 {
            return Err(BuildError::ZeroGroupConcurrency);
        }
        if self.capacity == 0 {
            return Err(BuildError::ZeroGroupCapacity);
        }
        // `counts` keeps each count in 32 bits: larger limits are no limit anyway.
        let capacity = self.capacity.min(CAPACITY_LIMIT);
        let threads = self.registry.num_threads();
        Ok(Group {
            inner: Arc::new(GroupInner {
                registry: self.registry,
                max: self.max_concurrency.min(RUNNING_LIMIT),
                capacity,
                entry_limit: capacity + capacity.max(CANCELLED_KEPT),
                counts: CachePadded::new(AtomicU64::new(0)),
                queue: CachePadded::new(Injector::new()),
                freed: AtomicU64::new(0),
                sleepers: Mutex::new(0),
                changed: Condvar::new(),
                completed: (0..=threads)
                    .map(|_| CachePadded::new(AtomicU64::new(0)))
                    .collect(),
                cancelled: CachePadded::new(AtomicU64::new(0)),
            }),
        })
    }
}

/// A concurrency-limited set of tasks on a shared pool; cheap to clone.
///
/// ```
/// let pool = corepool::Pool::builder().threads(4).build()?;
/// let group = pool.group().max_concurrency(2).build()?;
/// let handles: Vec<_> = (0..10).map(|i| group.spawn(move || i * i)).collect();
/// let results = corepool::join_all(handles);
/// assert_eq!(results.iter().map(|r| *r.as_ref().unwrap()).sum::<i32>(), 285);
/// group.wait();
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[derive(Clone)]
pub struct Group {
    inner: Arc<GroupInner>,
}

/// A group's figures, from [`Group::metrics`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct GroupMetrics {
    /// Slots in use: tasks handed to the pool and not finished.
    pub running: usize,
    /// Tasks waiting in the group for a slot.
    pub queued: usize,
    /// Tasks that ran (panics included).
    pub completed: u64,
    /// Tasks cancelled before they ran.
    pub cancelled: u64,
}

impl Group {
    /// Builds the task with its slot hook (`blocking`: for the blocking-I/O pool).
    fn build<F, T>(
        &self,
        func: F,
        blocking: bool,
    ) -> (UnsubmittedTask<F, T, SlotHook>, JoinHandle<T>)
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let inner = &self.inner;
        let hook = SlotHook {
            group: Arc::clone(inner),
        };
        let submit = inner.registry.stats.sample_submit();
        let submit = if blocking { submit.on_io() } else { submit };
        new_hooked_task(func, submit, hook, Initial::GroupQueued)
    }

    /// `spawn` and `spawn_blocking`: the task is built first, then started or queued, waiting
    /// while the group's queue is full.
    fn spawn_waiting<F, T>(&self, func: F, blocking: bool) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let inner = &self.inner;
        if inner.registry.injected.is_closed() {
            return cancelled_handle(&inner.registry, func);
        }
        let (task, handle) = self.build(func, blocking);
        let state = task.state_ptr();
        let mut job = task.into_job_ref();
        while let Err(refused) = inner.admit(job, state, blocking) {
            job = refused;
            inner.wait_while(|counts| inner.is_full(counts));
        }
        handle
    }

    /// `try_spawn` and `try_spawn_blocking`: a full group hands the closure back.
    fn spawn_or_refuse<F, T>(&self, func: F, blocking: bool) -> Result<JoinHandle<T>, SpawnError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let inner = &self.inner;
        if inner.registry.injected.is_closed() {
            return Err(SpawnError::Shutdown(func));
        }
        let (task, handle) = self.build(func, blocking);
        let state = task.state_ptr();
        task.submit(|job| inner.admit(job, state, blocking).map_err(PushError::Full))?;
        Ok(handle)
    }

    /// Spawns a CPU task in the group; it runs when one of the group's slots is free. Waits
    /// while the group's queue is full (on a worker, executing other tasks meanwhile). On a
    /// shut-down pool the handle reports `Cancelled`.
    pub fn spawn<F, T>(&self, func: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.spawn_waiting(func, false)
    }

    /// Spawns without waiting: a full group queue or a shut-down pool hands the closure back.
    pub fn try_spawn<F, T>(&self, func: F) -> Result<JoinHandle<T>, SpawnError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.spawn_or_refuse(func, false)
    }

    /// Spawns a blocking task in the group, run on the pool's blocking-I/O threads.
    pub fn spawn_blocking<F, T>(&self, func: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.spawn_waiting(func, true)
    }

    /// [`spawn_blocking`](Self::spawn_blocking) without waiting.
    pub fn try_spawn_blocking<F, T>(&self, func: F) -> Result<JoinHandle<T>, SpawnError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.spawn_or_refuse(func, true)
    }

    /// Waits for every handle; see [`join_all`](crate::join_all).
    ///
    /// The group adds nothing to this: a handle's wait is the handle's own, whichever group
    /// or pool its task belongs to, so this is exactly `corepool::join_all`.
    #[deprecated(
        since = "0.1.0",
        note = "the group plays no part in waiting on handles; use `corepool::join_all`"
    )]
    pub fn join_all<T>(
        &self,
        handles: impl IntoIterator<Item = JoinHandle<T>>,
    ) -> Vec<Result<T, crate::JoinError>> {
        crate::spawn::batch::join_all(handles)
    }

    /// Waits until none of the group's tasks is queued or running.
    pub fn wait(&self) {
        self.inner.wait_while(|counts| !is_idle(counts));
    }

    /// Cancels every task still queued in the group (their handles report `Cancelled`) and
    /// returns how many. Tasks already running are not interrupted.
    pub fn cancel(&self) -> usize {
        self.inner.drain(false)
    }

    /// The group's figures.
    #[must_use]
    pub fn metrics(&self) -> GroupMetrics {
        let inner = &self.inner;
        let counts = inner.counts();
        GroupMetrics {
            running: running(counts),
            queued: inner.live(counts),
            completed: inner.completed(),
            cancelled: inner.cancelled.load(Ordering::Relaxed),
        }
    }

    /// The most tasks of this group that run at once.
    #[must_use]
    pub fn max_concurrency(&self) -> usize {
        self.inner.max
    }
}

impl std::fmt::Debug for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Group")
            .field("max_concurrency", &self.inner.max)
            .field("metrics", &self.metrics())
            .finish()
    }
}

impl std::fmt::Debug for GroupBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupBuilder")
            .field("max_concurrency", &self.max_concurrency)
            .field("capacity", &self.capacity)
            .finish()
    }
}

/// A handle that reports `Cancelled` for a closure that was refused (dropped unrun).
fn cancelled_handle<F, T>(registry: &Registry, func: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let (task, handle) = new_task(func, crate::metrics::Submit::NONE);
    task.cancel_unsubmitted(PanicsTo::Caller);
    registry.record_submission(Err(false), false);
    handle
}
