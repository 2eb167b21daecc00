//! Task groups: at most `n` of a group's tasks run at once on the shared pool.
//!
//! Invariants:
//! - `running` counts the group's *slots* in use: a task holds a slot from the moment it is
//!   handed to the pool until its closure is dropped (after it ran or when it is cancelled),
//!   when its `SlotGuard` hands the slot to the oldest queued task or gives it back. So at most
//!   `max_concurrency` of the group's closures ever run at once.
//! - Queued tasks wait in the group (bounded by `capacity`), not in the pool: they occupy no
//!   worker and no pool queue slot. `pending` holds them oldest first with strictly increasing
//!   ids, and a task's entry stays there until it is handed a slot or cancelled. So a guard
//!   dropped without its task having run finds out, under the lock, whether it held a slot: its
//!   id is in `pending` (cancelled through its handle while queued: it leaves the queue), or in
//!   `cancelling` (taken out of the queue by `cancel` or a closed pool), or in neither (it was
//!   handed a slot, which it passes on).
//! - A task handed to the pool by a slot release bypasses the pool's queue capacity (it was
//!   admitted by the group, whose own bounds hold), but not the pool's shutdown: on a closed
//!   pool it is cancelled and its handle says so; the rest of the queue is then cancelled with
//!   it.
//! - A thread blocked on the group (a full queue, or `wait`) is counted in `waiters` under the
//!   lock before it waits; whoever frees a queue place or leaves the group idle notifies while
//!   holding the lock, so no wake-up is lost.

use crate::error::{BuildError, SpawnError};
use crate::injection_queue::PushError;
use crate::job::JobRef;
use crate::job_handle::{new_task, JoinHandle, UnsubmittedTask};
use crate::registry::Registry;
use crate::sync::atomic::{AtomicU64, Ordering};
use crate::sync::{thread, Condvar, Mutex};
use crate::worker::WorkerThread;
use std::collections::VecDeque;
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
                next_id: AtomicU64::new(0),
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
    /// Ids in spawn order; a queued task's id is its place in `pending`'s order.
    next_id: AtomicU64,
    completed: AtomicU64,
    cancelled: AtomicU64,
}

#[derive(Default)]
struct GroupState {
    running: usize,
    /// Queued tasks, ids strictly increasing (so a task finds its entry by binary search).
    pending: VecDeque<Queued>,
    /// Ids of tasks that `cancel` (or a closed pool) took out of `pending` and is cancelling:
    /// their guards must not give back a slot they never held.
    cancelling: Vec<u64>,
    /// Queue places taken by spawners that are still building their task.
    reserved: usize,
    /// Threads blocked in `wait_while`; `changed` is notified only when there is one.
    waiters: usize,
}

/// A queued task: its job reference (it owns the task until it is handed on or cancelled).
struct Queued {
    id: u64,
    job: JobRef,
    blocking: bool,
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
        self.group.release(self.id, self.ran);
    }
}

enum Admission {
    Start,
    Queue,
    Full,
}

impl GroupInner {
    fn is_full(&self, state: &GroupState) -> bool {
        state.pending.len() + state.reserved >= self.capacity
    }

    /// Takes a slot or a queue place for a task not built yet (`try_spawn`, which must be able
    /// to hand the closure back).
    fn admit(&self) -> Admission {
        let mut state = self.state.lock();
        if state.running < self.max {
            state.running += 1;
            Admission::Start
        } else if !self.is_full(&state) {
            state.reserved += 1;
            Admission::Queue
        } else {
            Admission::Full
        }
    }

    /// Starts or queues a built task; `reserved` says it holds a place taken by `admit`.
    /// Returns `false` (task untouched) if the queue is full.
    fn start_or_queue(&self, id: u64, job: JobRef, blocking: bool, reserved: bool) -> bool {
        let mut state = self.state.lock();
        let was_full = self.is_full(&state);
        if reserved {
            state.reserved -= 1;
        }
        if state.running < self.max {
            // A slot is free (for a reserved place: it came free while we built the task).
            state.running += 1;
            self.notify(&state, was_full);
            drop(state);
            self.hand_to_pool(job, blocking);
            return true;
        }
        if !reserved && self.is_full(&state) {
            return false;
        }
        let entry = Queued { id, job, blocking };
        // Ids come from an atomic counter before the lock, so a racing spawner may have queued
        // a later id first: insert in order (almost always at the back).
        match state.pending.back() {
            Some(last) if last.id > id => {
                let at = state.pending.partition_point(|q| q.id < id);
                state.pending.insert(at, entry);
            }
            _ => state.pending.push_back(entry),
        }
        true
    }

    /// Hands a task that holds a slot to the pool. On a closed pool it is cancelled here (its
    /// guard then gives the slot back).
    fn hand_to_pool(&self, job: JobRef, blocking: bool) {
        let registry = &self.registry;
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

    /// Wakes blocked threads, if any, when `room` (the queue had been full and now is not) or
    /// the group became idle.
    fn notify(&self, state: &GroupState, was_full: bool) {
        if state.waiters > 0
            && ((was_full && !self.is_full(state))
                || (state.running == 0 && state.pending.is_empty()))
        {
            self.changed.notify_all();
        }
    }

    /// A task's closure is gone. If it was still queued, it leaves the queue (it held no
    /// slot); otherwise its slot passes to the oldest queued task, or is given back.
    fn release(&self, id: u64, ran: bool) {
        let mut state = self.state.lock();
        let was_full = self.is_full(&state);
        if !ran {
            if let Ok(at) = state.pending.binary_search_by_key(&id, |q| q.id) {
                // Cancelled through its handle while queued.
                let entry = state.pending.remove(at).expect("found by binary search");
                self.notify(&state, was_full);
                drop(state);
                // SAFETY: the entry owned the queue's reference to the task, which nobody else
                // can reach now; executed once, it only drops that reference (the task is
                // already cancelled: this guard is being dropped by its cancellation).
                unsafe { entry.job.execute(crate::job::Mode::Cancel, &self.registry) };
                return;
            }
            if let Ok(at) = state.cancelling.binary_search(&id) {
                // Taken out of the queue by `cancel` or a closed pool: no slot held.
                state.cancelling.remove(at);
                return;
            }
        }
        if self.registry.injected.is_closed() && !state.pending.is_empty() {
            // Nothing queued can start on a closed pool: cancel the whole queue at once rather
            // than handing the slot on task by task (each refusal would recurse into here).
            state.running -= 1;
            let drained = self.take_pending(&mut state);
            self.notify(&state, was_full);
            drop(state);
            for entry in drained {
                self.registry.record_submission(Err(false), entry.blocking);
                // SAFETY: taken out of the queue, so unexecuted and owned here; executed once.
                unsafe { entry.job.execute(crate::job::Mode::Cancel, &self.registry) };
            }
            return;
        }
        match state.pending.pop_front() {
            Some(next) => {
                self.notify(&state, was_full);
                drop(state);
                self.hand_to_pool(next.job, next.blocking);
            }
            None => {
                state.running -= 1;
                self.notify(&state, was_full);
            }
        }
    }

    /// Empties the queue, marking the ids as being cancelled (they hold no slot).
    fn take_pending(&self, state: &mut GroupState) -> Vec<Queued> {
        let drained: Vec<Queued> = state.pending.drain(..).collect();
        state.cancelling.extend(drained.iter().map(|q| q.id));
        state.cancelling.sort_unstable();
        drained
    }

    /// Waits, helping the pool on a worker, while `blocked` holds.
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
            state.waiters += 1;
            self.changed.wait(&mut state);
            state.waiters -= 1;
        }
    }
}

impl Group {
    /// Wraps `func` with its slot guard and builds the task.
    fn build<F, T>(&self, func: F) -> (u64, UnsubmittedTask<impl FnOnce() -> T, T>, JoinHandle<T>)
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let inner = &self.inner;
        let id = inner.next_id.fetch_add(1, Ordering::Relaxed);
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
        (id, task, handle)
    }

    /// `spawn` and `spawn_blocking`: the task is built first, then started or queued under one
    /// lock, waiting while the group's queue is full.
    fn spawn_waiting<F, T>(&self, func: F, blocking: bool) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let inner = &self.inner;
        if inner.registry.injected.is_closed() {
            return cancelled_handle(&inner.registry, func);
        }
        let (id, task, handle) = self.build(func);
        let job = task.into_job_ref();
        while !inner.start_or_queue(id, job, blocking, false) {
            let capacity = inner.capacity;
            inner.wait_while(|s| s.pending.len() + s.reserved >= capacity);
        }
        handle
    }

    /// `try_spawn` and `try_spawn_blocking`: a place is taken before the task is built, so a
    /// full group can hand the closure back.
    fn spawn_or_refuse<F, T>(&self, func: F, blocking: bool) -> Result<JoinHandle<T>, SpawnError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let inner = &self.inner;
        if inner.registry.injected.is_closed() {
            return Err(SpawnError::Shutdown(func));
        }
        let admission = inner.admit();
        if let Admission::Full = admission {
            return Err(SpawnError::Full(func));
        }
        let (id, task, handle) = self.build(func);
        let job = task.into_job_ref();
        match admission {
            Admission::Start => inner.hand_to_pool(job, blocking),
            _ => {
                inner.start_or_queue(id, job, blocking, true);
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
        let inner = &self.inner;
        let mut state = inner.state.lock();
        let was_full = inner.is_full(&state);
        let drained = inner.take_pending(&mut state);
        inner.notify(&state, was_full);
        drop(state);
        let count = drained.len();
        for entry in drained {
            // SAFETY: taken out of the queue, so unexecuted and owned here; executed once. It
            // drops the closure unrun (the handle reports Cancelled), or only the reference if
            // the handle cancelled it first.
            unsafe { entry.job.execute(crate::job::Mode::Cancel, &inner.registry) };
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
