//! Task groups: at most `n` of a group's tasks run at once on the shared pool.
//!
//! Invariants:
//! - `running` counts the group's *slots* in use: a task holds a slot from the moment it is
//!   handed to the pool until its closure is dropped (after it ran or when it is cancelled),
//!   when its `SlotGuard` hands the slot to the oldest queued task or gives it back. So at most
//!   `max_concurrency` of the group's closures ever run at once.
//! - Queued tasks wait in the group (bounded by `capacity`), not in the pool: they occupy no
//!   worker and no pool queue slot. A queued task cancelled through its handle leaves the queue
//!   and returns no slot (it never held one); `pending_ids` tells the two cases apart.
//! - A task handed to the pool by a slot release bypasses the pool's queue capacity (it was
//!   admitted by the group, whose own bounds hold), but not the pool's shutdown: on a closed
//!   pool it is cancelled and its handle says so.

use crate::error::{BuildError, SpawnError};
use crate::injection_queue::PushError;
use crate::job_handle::{new_task, JoinHandle, UnsubmittedTask};
use crate::registry::Registry;
use crate::sync::{thread, Condvar, Mutex};
use crate::worker::WorkerThread;
use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

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

    /// At most this many of the group's tasks run at once (default 1, at least 1).
    pub fn max_concurrency(mut self, n: usize) -> Self {
        self.max_concurrency = n;
        self
    }

    /// At most this many tasks wait in the group for a slot (default 1024, at least 1); beyond
    /// that `spawn` waits and `try_spawn` hands the closure back.
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
        Ok(Group {
            inner: Arc::new(GroupInner {
                registry: self.registry,
                max: self.max_concurrency,
                capacity: self.capacity,
                state: Mutex::new(GroupState::default()),
                changed: Condvar::new(),
                completed: AtomicU64::new(0),
                cancelled: AtomicU64::new(0),
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

struct GroupInner {
    registry: Arc<Registry>,
    max: usize,
    capacity: usize,
    state: Mutex<GroupState>,
    changed: Condvar,
    completed: AtomicU64,
    cancelled: AtomicU64,
}

#[derive(Default)]
struct GroupState {
    running: usize,
    pending: VecDeque<Box<dyn Pending>>,
    pending_ids: HashSet<u64>,
    /// Queue places taken by spawners that are still building their task.
    reserved: usize,
    next_id: u64,
}

/// A queued task, type-erased.
trait Pending: Send {
    fn id(&self) -> u64;
    /// Hands the task (holding a slot) to the pool.
    fn start(self: Box<Self>, group: &GroupInner);
    /// Drops the closure unrun (the handle reports Cancelled).
    fn cancel(self: Box<Self>);
}

struct PendingTask<F, T> {
    id: u64,
    task: UnsubmittedTask<F, T>,
    blocking: bool,
}

impl<F, T> Pending for PendingTask<F, T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    fn id(&self) -> u64 {
        self.id
    }

    fn start(self: Box<Self>, group: &GroupInner) {
        group.hand_to_pool(self.task, self.blocking);
    }

    fn cancel(self: Box<Self>) {
        self.task.cancel_unsubmitted();
    }
}

/// Lives inside a group task's closure: dropping it (after the task ran, or with the closure
/// when the task is cancelled) releases what the task held.
struct SlotGuard {
    group: Arc<GroupInner>,
    id: u64,
    ran: bool,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        let counter = if self.ran {
            &self.group.completed
        } else {
            &self.group.cancelled
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.group.release(self.id);
    }
}

enum Admission {
    Start(u64),
    Queue(u64),
    Full,
    Closed,
}

impl GroupInner {
    fn admit(&self) -> Admission {
        if self.registry.injected.is_closed() {
            return Admission::Closed;
        }
        let mut state = self.state.lock();
        let id = state.next_id;
        if state.running < self.max {
            state.running += 1;
            state.next_id += 1;
            Admission::Start(id)
        } else if state.pending.len() + state.reserved < self.capacity {
            state.next_id += 1;
            state.reserved += 1;
            Admission::Queue(id)
        } else {
            Admission::Full
        }
    }

    fn hand_to_pool<F, T>(&self, task: UnsubmittedTask<F, T>, blocking: bool)
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let registry = &self.registry;
        let job = task.into_job_ref();
        let pushed = if blocking {
            registry.blocking.force_submit(registry, job)
        } else {
            match WorkerThread::current() {
                Some(worker) if Arc::ptr_eq(&worker.registry, registry) => {
                    worker.push_or_run(job);
                    Ok(())
                }
                _ => registry
                    .injected
                    .force_push(job)
                    .map(|()| registry.sleep.notify_new_work()),
            }
        };
        registry.record_submission(pushed.as_ref().map(|_| ()).map_err(|_| false), blocking);
        if let Err(PushError::Closed(job) | PushError::Full(job)) = pushed {
            // SAFETY: refused by the closed queue, so unexecuted and ours; executed once. Its
            // closure (and slot guard) is dropped, releasing the slot.
            unsafe { job.execute(crate::job::Mode::Cancel, registry) };
        }
    }

    /// A task's closure is gone: hand its slot on, or, if it was still queued, forget it.
    fn release(&self, id: u64) {
        let mut state = self.state.lock();
        if state.pending_ids.remove(&id) {
            state.pending.retain(|p| p.id() != id);
            drop(state);
            self.changed.notify_all();
            return;
        }
        match state.pending.pop_front() {
            Some(next) => {
                state.pending_ids.remove(&next.id());
                drop(state);
                self.changed.notify_all();
                next.start(self);
            }
            None => {
                state.running -= 1;
                drop(state);
                self.changed.notify_all();
            }
        }
    }

    /// Waits, helping the pool on a worker, until `ready` holds.
    fn wait_while(&self, mut blocked: impl FnMut(&GroupState) -> bool) {
        if let Some(worker) = WorkerThread::current() {
            while blocked(&self.state.lock()) {
                match worker.find_work() {
                    Some(job) => worker.execute(job),
                    None => thread::yield_now(),
                }
            }
            return;
        }
        let mut state = self.state.lock();
        while blocked(&state) {
            self.changed.wait(&mut state);
        }
    }
}

impl Group {
    fn spawn_inner<F, T>(
        &self,
        func: F,
        blocking: bool,
        wait: bool,
    ) -> Result<JoinHandle<T>, SpawnError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let inner = &self.inner;
        let admission = loop {
            match inner.admit() {
                Admission::Full if wait => {
                    let capacity = inner.capacity;
                    inner.wait_while(|s| s.pending.len() + s.reserved >= capacity);
                }
                other => break other,
            }
        };
        let id = match admission {
            Admission::Full => return Err(SpawnError::Full(func)),
            Admission::Closed => return Err(SpawnError::Shutdown(func)),
            Admission::Start(id) | Admission::Queue(id) => id,
        };
        let mut guard = SlotGuard {
            group: Arc::clone(inner),
            id,
            ran: false,
        };
        let wrapped = move || {
            guard.ran = true;
            let _guard = guard;
            func()
        };
        let (task, handle) = new_task(wrapped, inner.registry.stats.sample_submit());
        match admission {
            Admission::Start(_) => inner.hand_to_pool(task, blocking),
            _ => {
                let mut state = inner.state.lock();
                state.reserved -= 1;
                if state.running < inner.max {
                    // A slot came free while we built the task.
                    state.running += 1;
                    drop(state);
                    inner.hand_to_pool(task, blocking);
                } else {
                    state.pending_ids.insert(id);
                    state
                        .pending
                        .push_back(Box::new(PendingTask { id, task, blocking }));
                }
            }
        }
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
        match self.spawn_inner(func, false, true) {
            Ok(handle) => handle,
            Err(refused) => cancelled_handle(&self.inner.registry, refused.into_inner()),
        }
    }

    /// Spawns without waiting: a full group queue or a shut-down pool hands the closure back.
    pub fn try_spawn<F, T>(&self, func: F) -> Result<JoinHandle<T>, SpawnError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.spawn_inner(func, false, false)
    }

    /// Spawns a blocking task in the group, run on the pool's blocking-I/O threads.
    pub fn spawn_blocking<F, T>(&self, func: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        match self.spawn_inner(func, true, true) {
            Ok(handle) => handle,
            Err(refused) => cancelled_handle(&self.inner.registry, refused.into_inner()),
        }
    }

    /// [`spawn_blocking`](Self::spawn_blocking) without waiting.
    pub fn try_spawn_blocking<F, T>(&self, func: F) -> Result<JoinHandle<T>, SpawnError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.spawn_inner(func, true, false)
    }

    /// Waits for every handle; see [`join_all`](crate::join_all).
    pub fn join_all<T>(
        &self,
        handles: impl IntoIterator<Item = JoinHandle<T>>,
    ) -> Vec<Result<T, crate::JoinError>> {
        crate::batch::join_all(handles)
    }

    /// Waits until none of the group's tasks is queued or running.
    pub fn wait(&self) {
        self.inner
            .wait_while(|s| s.running > 0 || !s.pending.is_empty());
    }

    /// Cancels every task still queued in the group (their handles report `Cancelled`) and
    /// returns how many. Tasks already running are not interrupted.
    pub fn cancel(&self) -> usize {
        let drained: Vec<Box<dyn Pending>> = self.inner.state.lock().pending.drain(..).collect();
        let count = drained.len();
        for pending in drained {
            pending.cancel();
        }
        count
    }

    /// The group's figures.
    pub fn metrics(&self) -> GroupMetrics {
        let state = self.inner.state.lock();
        GroupMetrics {
            running: state.running,
            queued: state.pending.len(),
            completed: self.inner.completed.load(Ordering::Relaxed),
            cancelled: self.inner.cancelled.load(Ordering::Relaxed),
        }
    }

    /// The most tasks of this group that run at once.
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

impl std::fmt::Debug for GroupInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupInner")
            .field("max", &self.max)
            .finish()
    }
}

/// A handle that reports `Cancelled` for a closure that was refused (dropped unrun).
fn cancelled_handle<F, T>(registry: &Registry, func: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let (task, handle) = new_task(func, 0);
    task.cancel_unsubmitted();
    registry.record_submission(Err(false), false);
    handle
}
