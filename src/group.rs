//! Task groups: at most `n` of a group's tasks run at once on the shared pool.
//!
//! Invariants:
//! - `counts` packs `running` and `queued`. `running` counts the group's *slots* in use: a
//!   task holds a slot from the moment it is handed to the pool until its closure is dropped
//!   (after it ran or when it is cancelled), when its `SlotGuard` hands the slot to the oldest
//!   queued task or gives it back. So at most `max_concurrency` of the group's closures ever
//!   run at once.
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
//!   it, in a loop (not by one refused hand-off recursing into the next).
//! - `queued` (queue entries plus places reserved by `try_spawn`) changes only under the lock.
//!   A slot is taken or given back without the lock only while `queued == 0`, by a CAS on the
//!   whole word; a spawner queues with a CAS that fails if a slot came free meanwhile. So a
//!   task is never left queued behind a free slot, and queued tasks go before newer spawns.
//! - A thread blocked on the group (a full queue, or `wait`) is counted in `waiters` under the
//!   lock before it waits; whoever frees a queue place or leaves the group idle notifies while
//!   holding the lock; the lock-free give-back issues a SeqCst fence and reads `waiters`,
//!   pairing with the fence a waiter issues after registering. So no wake-up is lost.

use crate::error::{BuildError, SpawnError};
use crate::injection_queue::PushError;
use crate::job::JobRef;
use crate::job_handle::{new_task, JoinHandle, UnsubmittedTask};
use crate::registry::Registry;
use crate::sync::atomic::{fence, AtomicU64, AtomicUsize, Ordering};
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

    /// At most this many of the group's tasks run at once (default 1, at least 1; values
    /// above `u32::MAX` count as `u32::MAX`).
    pub fn max_concurrency(mut self, n: usize) -> Self {
        self.max_concurrency = n;
        self
    }

    /// At most this many tasks wait in the group for a slot (default 1024, at least 1; values
    /// above `u32::MAX` count as `u32::MAX`); beyond that `spawn` waits and `try_spawn` hands
    /// the closure back.
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
                // `counts` keeps each count in 32 bits: larger limits are no limit anyway.
                max: self.max_concurrency.min(COUNT_LIMIT),
                capacity: self.capacity.min(COUNT_LIMIT),
                counts: Padded(AtomicU64::new(0)),
                state: Padded(Mutex::new(GroupState::default())),
                changed: Condvar::new(),
                waiters: AtomicUsize::new(0),
                next_id: Padded(AtomicU64::new(0)),
                finished: Padded(Finished {
                    completed: AtomicU64::new(0),
                    cancelled: AtomicU64::new(0),
                }),
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
    /// `running` (low 32 bits: slots in use) and `queued` (high 32 bits: entries in `pending`
    /// plus places reserved by `try_spawn`ers building their task). `queued` changes only under
    /// `state`'s lock; `running` also changes without it, but only while `queued == 0`.
    counts: Padded<AtomicU64>,
    state: Padded<Mutex<GroupState>>,
    changed: Condvar,
    /// Threads blocked in `wait_while`, registered under the lock.
    waiters: AtomicUsize,
    /// Ids in spawn order; a queued task's id is its place in `pending`'s order. Written by
    /// spawners only.
    next_id: Padded<AtomicU64>,
    /// Written by finishing tasks.
    finished: Padded<Finished>,
}

/// Tasks done, by how they ended.
struct Finished {
    completed: AtomicU64,
    cancelled: AtomicU64,
}

/// Keeps a hot field on its own cache line: the spawner and the workers each write different
/// ones for every task.
#[repr(align(128))]
struct Padded<T>(T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// How many times a thread outside the pool yields, re-checking, before it sleeps on the
/// group (none under loom, whose models check the sleeping path).
const YIELDS_BEFORE_SLEEP: u32 = if cfg!(corepool_loom) { 0 } else { 64 };

/// The largest `max_concurrency` or `capacity` kept (a 32-bit field of `counts`).
const COUNT_LIMIT: usize = u32::MAX as usize;

const RUNNING: u64 = 1;
const QUEUED: u64 = 1 << 32;

fn running(counts: u64) -> usize {
    (counts & (QUEUED - 1)) as usize
}

fn queued(counts: u64) -> usize {
    (counts >> 32) as usize
}

#[derive(Default)]
struct GroupState {
    /// Queued tasks, ids strictly increasing (so a task finds its entry by binary search).
    pending: VecDeque<Queued>,
    /// Ids of tasks that `cancel` (or a closed pool) took out of `pending` and is cancelling:
    /// their guards must not give back a slot they never held.
    cancelling: Vec<u64>,
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
            &self.group.finished.completed
        } else {
            &self.group.finished.cancelled
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if self.ran {
            self.group.release_slot();
        } else {
            self.group.release_cancelled(self.id);
        }
    }
}

enum Admission {
    Start,
    Queue,
    Full,
}

impl GroupInner {
    fn counts(&self) -> u64 {
        self.counts.load(Ordering::SeqCst)
    }

    /// Takes a slot without the lock if one is free and nothing is queued (queued tasks go
    /// first).
    fn try_take_slot(&self) -> bool {
        let mut current = self.counts();
        while running(current) < self.max && queued(current) == 0 {
            match self.counts.compare_exchange_weak(
                current,
                current + RUNNING,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return true,
                Err(actual) => current = actual,
            }
        }
        false
    }

    fn is_full(&self, counts: u64) -> bool {
        queued(counts) >= self.capacity
    }

    /// Takes a slot or a queue place for a task not built yet (`try_spawn`, which must be able
    /// to hand the closure back).
    fn admit(&self) -> Admission {
        if self.try_take_slot() {
            return Admission::Start;
        }
        let state = self.state.lock();
        let mut current = self.counts();
        loop {
            let (next, admission) = if running(current) < self.max && state.pending.is_empty() {
                (current + RUNNING, Admission::Start)
            } else if self.is_full(current) {
                return Admission::Full;
            } else {
                (current + QUEUED, Admission::Queue)
            };
            match self.counts.compare_exchange_weak(
                current,
                next,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return admission,
                Err(actual) => current = actual,
            }
        }
    }

    /// Starts or queues a built task; `reserved` says it holds a place taken by `admit`.
    /// Returns `false` (task untouched) if the queue is full.
    fn start_or_queue(&self, id: u64, job: JobRef, blocking: bool, reserved: bool) -> bool {
        if !reserved && self.try_take_slot() {
            self.hand_to_pool(job, blocking);
            return true;
        }
        let mut state = self.state.lock();
        // One CAS decides between starting and queueing, so a slot given back without the lock
        // (possible while nothing is queued) cannot slip between the two checks and leave this
        // task queued behind a free slot.
        let mut current = self.counts();
        let start = loop {
            let (next, start) = if running(current) < self.max && state.pending.is_empty() {
                // A slot is free (for a reserved place: it came free while we built the task).
                let give_back = if reserved { QUEUED } else { 0 };
                (current + RUNNING - give_back, true)
            } else if reserved {
                break false;
            } else if self.is_full(current) {
                return false;
            } else {
                (current + QUEUED, false)
            };
            match self.counts.compare_exchange_weak(
                current,
                next,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => break start,
                Err(actual) => current = actual,
            }
        };
        if start {
            if reserved {
                self.notify_locked();
            }
            drop(state);
            self.hand_to_pool(job, blocking);
            return true;
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
        if let Err(job) = self.try_hand_to_pool(job, blocking) {
            // SAFETY: refused by the closed queue, so unexecuted and ours; executed once. Its
            // closure (and slot guard) is dropped, releasing the slot.
            unsafe { job.execute(crate::job::Mode::Cancel, &self.registry) };
        }
    }

    /// Hands a task that holds a slot to the pool; a closed pool hands the job back.
    fn try_hand_to_pool(&self, job: JobRef, blocking: bool) -> Result<(), JobRef> {
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
        match pushed {
            Ok(()) => Ok(()),
            Err(PushError::Closed(job) | PushError::Full(job)) => Err(job),
        }
    }

    /// Wakes every blocked thread so it re-checks its condition. Called with the lock held.
    fn notify_locked(&self) {
        if self.waiters.load(Ordering::SeqCst) > 0 {
            self.changed.notify_all();
        }
    }

    /// A task that held a slot is done with it: the slot passes to the oldest queued task, or
    /// is given back.
    fn release_slot(&self) {
        // Fast path: nothing queued, give the slot back without the lock.
        let mut current = self.counts();
        while queued(current) == 0 {
            match self.counts.compare_exchange_weak(
                current,
                current - RUNNING,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => {
                    // Pairs with the fence a waiter issues after registering: either it sees
                    // the slot given back, or we see it registered.
                    fence(Ordering::SeqCst);
                    if running(current) == 1 && self.waiters.load(Ordering::SeqCst) > 0 {
                        let _state = self.state.lock();
                        self.changed.notify_all();
                    }
                    return;
                }
                Err(actual) => current = actual,
            }
        }
        let state = self.state.lock();
        self.release_slot_locked(state);
    }

    fn release_slot_locked(&self, mut state: crate::sync::MutexGuard<'_, GroupState>) {
        match state.pending.pop_front() {
            Some(next) => {
                self.counts.fetch_sub(QUEUED, Ordering::SeqCst);
                self.notify_locked();
                drop(state);
                if let Err(refused) = self.try_hand_to_pool(next.job, next.blocking) {
                    self.refused(refused);
                }
            }
            None => {
                // `queued` counts only reservations: their spawners start or queue under the
                // lock, after this.
                self.counts.fetch_sub(RUNNING, Ordering::SeqCst);
                self.notify_locked();
            }
        }
    }

    /// The pool refused a task handed the slot: it is closed, so nothing queued can start.
    /// The whole queue is cancelled here, in a loop, rather than by handing the slot on task
    /// by task (each refusal would recurse through the next guard's release).
    fn refused(&self, job: JobRef) {
        let drained = {
            let mut state = self.state.lock();
            let drained = self.take_pending(&mut state);
            self.notify_locked();
            drained
        };
        // SAFETY: refused by the closed queue, so unexecuted and ours; executed once. Its guard
        // gives the slot back (the queue is empty now, so nobody is handed it).
        unsafe { job.execute(crate::job::Mode::Cancel, &self.registry) };
        for entry in drained {
            self.registry.record_submission(Err(false), entry.blocking);
            // SAFETY: taken out of the queue, so unexecuted and owned here; executed once.
            unsafe { entry.job.execute(crate::job::Mode::Cancel, &self.registry) };
        }
    }

    /// The closure of a task that never ran was dropped (it was cancelled). If it was still
    /// queued it leaves the queue (it held no slot); otherwise it gives its slot on.
    fn release_cancelled(&self, id: u64) {
        let mut state = self.state.lock();
        if let Ok(at) = state.pending.binary_search_by_key(&id, |q| q.id) {
            // Cancelled through its handle while queued.
            let entry = state.pending.remove(at).expect("found by binary search");
            self.counts.fetch_sub(QUEUED, Ordering::SeqCst);
            self.notify_locked();
            drop(state);
            // SAFETY: the entry owned the queue's reference to the task, which nobody else can
            // reach now; executed once, it only drops that reference (the task is already
            // cancelled: this guard is being dropped by its cancellation).
            unsafe { entry.job.execute(crate::job::Mode::Cancel, &self.registry) };
            return;
        }
        if let Ok(at) = state.cancelling.binary_search(&id) {
            // Taken out of the queue by `cancel` or a closed pool: no slot held.
            state.cancelling.remove(at);
            return;
        }
        self.release_slot_locked(state);
    }

    /// Empties the queue, marking the ids as being cancelled (they hold no slot). Called with
    /// the lock held.
    fn take_pending(&self, state: &mut GroupState) -> Vec<Queued> {
        let drained: Vec<Queued> = state.pending.drain(..).collect();
        self.counts
            .fetch_sub(QUEUED * drained.len() as u64, Ordering::SeqCst);
        state.cancelling.extend(drained.iter().map(|q| q.id));
        state.cancelling.sort_unstable();
        drained
    }

    /// Waits, helping the pool on a worker, while `blocked` holds for the counts.
    fn wait_while(&self, blocked: impl Fn(u64) -> bool) {
        if let Some(worker) = WorkerThread::current() {
            while blocked(self.counts()) {
                match worker.find_work() {
                    Some(job) => worker.execute(job),
                    None => thread::yield_now(),
                }
            }
            return;
        }
        // A full group usually gets room within a few task lengths: yield first, unregistered,
        // so releasers need not make a wake-up syscall per task; then sleep until notified.
        for _ in 0..YIELDS_BEFORE_SLEEP {
            if !blocked(self.counts()) {
                return;
            }
            thread::yield_now();
        }
        let mut state = self.state.lock();
        self.waiters.fetch_add(1, Ordering::SeqCst);
        // Pairs with the fence in `release_slot`'s lock-free path.
        fence(Ordering::SeqCst);
        while blocked(self.counts()) {
            self.changed.wait(&mut state);
        }
        self.waiters.fetch_sub(1, Ordering::SeqCst);
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
            inner.wait_while(|counts| inner.is_full(counts));
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
            .wait_while(|counts| running(counts) > 0 || queued(counts) > 0);
    }

    /// Cancels every task still queued in the group (their handles report `Cancelled`) and
    /// returns how many. Tasks already running are not interrupted.
    pub fn cancel(&self) -> usize {
        let inner = &self.inner;
        let mut state = inner.state.lock();
        let drained = inner.take_pending(&mut state);
        inner.notify_locked();
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
            running: running(self.inner.counts()),
            queued: state.pending.len(),
            completed: self.inner.finished.completed.load(Ordering::Relaxed),
            cancelled: self.inner.finished.cancelled.load(Ordering::Relaxed),
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
