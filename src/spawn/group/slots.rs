//! The slot protocol of a task group: at most `n` of its tasks hold a slot (run) at once, and
//! no lock is taken to spawn, queue, hand a slot on or give it back.
//!
//! Invariants:
//! - `counts` packs `running` (slots in use), `queued` (entries of `queue`, counted before
//!   they are pushed) and WAITERS. A task holds a slot from the moment it is handed to the
//!   pool until its closure is gone (it ran, or was dropped unrun by a cancel), when its hook
//!   passes the slot to the oldest queued entry or gives it back. So at most
//!   `max_concurrency` of the group's closures ever run at once.
//! - Every change to `counts` is one RMW on the whole word, and no lock is taken to spawn,
//!   queue, hand a slot on or give it back. A spawner takes a slot only while `queued == 0`,
//!   and queues only while no slot is free or something is queued; a releaser passes its slot
//!   to a popped entry while `queued > 0`. So queued tasks go before newer spawns.
//! - An entry is uncounted by whoever pops it. A releaser that finds `queued > 0` but the
//!   entry not pushed yet gives its slot back; the spawner, after its push, reads `counts`
//!   with an RMW and starts queued entries while slots are free. The two RMWs are ordered on
//!   `counts`, so one of them sees the other: a task is never left queued behind a free slot.
//! - A popped task is marked GROUP_SLOTTED (or GROUP_DRAINED) with one `fetch_or` on its state
//!   word; a cancel claims CANCELLED on the same word, and each reads the other's bit from its
//!   own RMW. So a task cancelled through its handle while queued (it holds no slot: its entry
//!   is skipped when popped) is told apart from one handed a slot (its cancel gives the slot
//!   back) without a lock.
//! - A queued task cancelled through its handle frees its place at once: `freed` counts such
//!   entries, and the capacity applies to `queued - freed`. At most `entry_limit` entries
//!   (live or cancelled) are kept, so memory stays bounded.
//! - A thread that sleeps on the group (a full queue, or `wait`) sets WAITERS with an RMW on
//!   `counts` under `sleepers`' lock and checks the value that RMW read; whoever lowers a count
//!   sees WAITERS in its own RMW's result and, if a sleeper can go on, notifies under the lock.
//!   Both RMWs are on one word, so no wake-up is lost.

use crate::sched::injection::PushError;
use crate::sched::job::{JobRef, Mode, Outcome};
use crate::sched::registry::Registry;
use crate::sched::worker::WorkerThread;
use crate::sync::atomic::{AtomicU64, Ordering};
use crate::sync::{spin_hint, thread, CachePadded, Condvar, Injector, Mutex, Steal};
use crate::task::cell::{ClosureGone, TaskHook};
use crate::task::state::{GroupMark, Mark, TaskState};
use std::sync::Arc;

pub(super) struct GroupInner {
    pub(super) registry: Arc<Registry>,
    pub(super) max: usize,
    pub(super) capacity: usize,
    /// The most entries `queue` holds, cancelled ones included.
    pub(super) entry_limit: usize,
    /// `running` (bits 0–31: slots in use), `queued` (bits 32–62: entries counted for `queue`,
    /// including cancelled ones not yet skipped) and WAITERS (bit 63: a thread sleeps on
    /// `changed`).
    pub(super) counts: CachePadded<AtomicU64>,
    /// Queued tasks, oldest first.
    pub(super) queue: CachePadded<Injector<Queued>>,
    /// Entries in `queue` whose task was cancelled through its handle (they hold no place).
    /// Wrapping: a popper may skip an entry just before its canceller counts it here.
    pub(super) freed: AtomicU64,
    /// Threads sleeping on `changed`.
    pub(super) sleepers: Mutex<usize>,
    pub(super) changed: Condvar,
    /// Tasks that ran, one count per worker (so that workers finishing tasks do not write
    /// one cache line), the last for other threads (blocking-I/O threads).
    pub(super) completed: Box<[CachePadded<AtomicU64>]>,
    /// Tasks cancelled before they ran.
    pub(super) cancelled: CachePadded<AtomicU64>,
}

/// How many times a thread outside the pool yields, re-checking, before it sleeps on the
/// group (none under loom, whose models check the sleeping path).
const YIELDS_BEFORE_SLEEP: u32 = if cfg!(corepool_loom) { 0 } else { 64 };

/// The largest `max_concurrency` kept (a 32-bit field of `counts`).
pub(super) const RUNNING_LIMIT: usize = u32::MAX as usize;

/// The largest `capacity` kept: live and cancelled entries together fit `queued`'s 31 bits.
pub(super) const CAPACITY_LIMIT: usize = 1 << 29;

/// Cancelled entries a group keeps beyond its capacity at the least (see `entry_limit`).
pub(super) const CANCELLED_KEPT: usize = 1024;

const RUNNING: u64 = 1;
const QUEUED: u64 = 1 << 32;
const WAITERS: u64 = 1 << 63;

pub(super) fn running(counts: u64) -> usize {
    (counts & (QUEUED - 1)) as usize
}

fn queued(counts: u64) -> usize {
    ((counts & !WAITERS) >> 32) as usize
}

/// Nothing queued or running.
pub(super) fn is_idle(counts: u64) -> bool {
    counts & !WAITERS == 0
}

/// A queued task: its job reference (it owns the task until it is handed on or cancelled) and
/// its state word.
pub(super) struct Queued {
    job: JobRef,
    state: *const TaskState,
    blocking: bool,
}

// SAFETY: `state` points into the task that `job` keeps alive, and is only read through
// atomics; the entry moves between threads as the job reference does.
unsafe impl Send for Queued {}

impl Queued {
    /// Marks the entry's task unless it was cancelled through its handle; whether it is live.
    fn mark(&self, mark: GroupMark) -> bool {
        // SAFETY: the entry owns the job reference, so the task (and its state word) lives.
        let state = unsafe { &*self.state };
        // One RMW: a canceller's claim of CANCELLED either came first (seen here: back off) or
        // sees this bit (and gives back the slot, or leaves the drained place alone).
        state.group_mark(mark) == Mark::Live
    }

    /// Drops the entry's reference to its task without running it.
    fn discard(self, registry: &Registry) -> Outcome {
        // SAFETY: the entry owns the job reference, unexecuted; executed once here. A task
        // cancelled through its handle only drops the reference (Skipped).
        unsafe { self.job.execute(Mode::Cancel, registry) }
    }
}

/// Why a slot is released.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Release {
    /// Its task returned: on a worker's top-level `execute`, the next task may run right
    /// after it there.
    TaskEnded,
    /// Anything else: a cancel (possibly in the middle of another task's code), or a slot
    /// taken by `start_queued`. The next task goes through the pool's queues.
    Other,
}

/// A group task's hook: what it holds is given back when its closure is gone.
pub(super) struct SlotHook {
    pub(super) group: Arc<GroupInner>,
}

impl TaskHook for SlotHook {
    fn closure_gone(&self, how: ClosureGone) {
        let group = &self.group;
        let state = match how {
            ClosureGone::Ran { worker, panicked } => {
                group.count_completed(worker);
                // After a panic the task's end may run the pool's panic handler, user code
                // that must not find the next task parked where no other worker can take it.
                group.release_slot(if panicked {
                    Release::Other
                } else {
                    Release::TaskEnded
                });
                return;
            }
            ClosureGone::Dropped { state } => state,
        };
        group.cancelled.fetch_add(1, Ordering::Relaxed);
        if state.group_slotted() {
            group.release_slot(Release::Other);
        } else if !state.group_drained() {
            // Cancelled through its handle while queued: the entry stays until popped, but its
            // place is free now. The RMW on `counts` orders this against a sleeper's check.
            group.freed.fetch_add(1, Ordering::SeqCst);
            let counts = group.counts.fetch_add(0, Ordering::SeqCst);
            group.wake_waiters(counts);
        }
    }
}

impl GroupInner {
    fn count_completed(&self, worker: Option<usize>) {
        let last = self.completed.len() - 1;
        let shard = worker.map_or(last, |index| index.min(last));
        self.completed[shard].fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn completed(&self) -> u64 {
        self.completed
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }

    pub(super) fn counts(&self) -> u64 {
        self.counts.load(Ordering::SeqCst)
    }

    /// Queued tasks not cancelled.
    pub(super) fn live(&self, counts: u64) -> usize {
        // Below zero while a popper has skipped an entry its canceller has not counted yet:
        // that entry is already out of `queued` too.
        let freed = (self.freed.load(Ordering::SeqCst) as i64).max(0);
        (queued(counts) as i64 - freed).max(0) as usize
    }

    pub(super) fn is_full(&self, counts: u64) -> bool {
        self.live(counts) >= self.capacity || queued(counts) >= self.entry_limit
    }

    /// Starts a built task (marking it slotted) or queues it (it starts out marked queued).
    /// Hands the job back, untouched, if the group's queue is full.
    pub(super) fn admit(
        &self,
        job: JobRef,
        state: *const TaskState,
        blocking: bool,
    ) -> Result<(), JobRef> {
        let mut current = self.counts();
        let start = loop {
            let (next, start) = if running(current) < self.max && queued(current) == 0 {
                (current + RUNNING, true)
            } else if self.is_full(current) {
                return Err(job);
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
            // SAFETY: the caller holds the task's job reference, so its state word lives;
            // nobody else can reach the task yet (its handle is not returned before this).
            let mark = unsafe { &*state }.group_mark(GroupMark::Slotted);
            debug_assert_eq!(mark, Mark::Live, "nobody can cancel it yet");
            self.hand_to_pool(job, blocking);
            return Ok(());
        }
        self.queue.push(Queued {
            job,
            state,
            blocking,
        });
        // A releaser may have found the queue empty before this push and given its slot back.
        // This RMW and its give-back are ordered on `counts`: either this sees the free slot,
        // or the push happened before its next look at the queue.
        let current = self.counts.fetch_add(0, Ordering::SeqCst);
        self.start_queued(current);
        Ok(())
    }

    /// Takes the oldest entry out of the queue, marks its task with `mark` and uncounts it.
    /// `None` if no entry is pushed; `Some(None)` if the task had been cancelled through its
    /// handle (the entry is dropped).
    fn pop(&self, mark: GroupMark) -> Option<Option<Queued>> {
        let entry = self.steal()?;
        let live = entry.mark(mark);
        self.uncount(live);
        if live {
            return Some(Some(entry));
        }
        entry.discard(&self.registry);
        Some(None)
    }

    /// Takes the oldest pushed entry out of the queue (still counted in `queued`).
    fn steal(&self) -> Option<Queued> {
        loop {
            match self.queue.steal() {
                Steal::Success(entry) => return Some(entry),
                Steal::Empty => return None,
                Steal::Retry => spin_hint(),
            }
        }
    }

    /// Uncounts an entry taken out of the queue; `live`: its task was not cancelled through
    /// its handle while queued.
    fn uncount(&self, live: bool) {
        if !live {
            // Its place was freed when it was cancelled. Uncounted from `freed` first, so that
            // `live()` can read high for a moment, never low (the capacity holds).
            self.freed.fetch_sub(1, Ordering::SeqCst);
        }
        // Counted before it was pushed, so `queued` covers it.
        let prev = self.counts.fetch_sub(QUEUED, Ordering::SeqCst);
        self.wake_waiters(prev - QUEUED);
    }

    /// Gives a slot back; returns the counts after.
    fn give_back(&self) -> u64 {
        let after = self.counts.fetch_sub(RUNNING, Ordering::SeqCst) - RUNNING;
        self.wake_waiters(after);
        after
    }

    /// Hands a task that holds a slot to the pool. On a closed pool it is cancelled here (its
    /// hook then gives the slot back).
    fn hand_to_pool(&self, job: JobRef, blocking: bool) {
        if let Err(job) = self.try_hand_to_pool(job, blocking, false) {
            self.cancel_refused(job, blocking);
        }
    }

    /// Cancels a task holding a slot that the closed pool refused (its closure is dropped and
    /// its hook gives the slot back), and counts the refusal. A task its handle cancelled after
    /// it got the slot was counted as cancelled in the pool's figures by that handle: it counts
    /// as spawned instead, so that the pool's figures still add up.
    fn cancel_refused(&self, job: JobRef, blocking: bool) {
        // SAFETY: refused by the closed queue, so unexecuted and ours; executed once.
        let outcome = unsafe { job.execute(Mode::Cancel, &self.registry) };
        let counted_by_handle = outcome == Outcome::Nothing;
        let submission = if counted_by_handle {
            Ok(())
        } else {
            Err(false)
        };
        self.registry.record_submission(submission, blocking);
    }

    /// Hands a task that holds a slot to the pool; a closed pool hands the job back. On one of
    /// the pool's workers it goes on that worker's deque; a spawner's task may instead run
    /// right here if the deque is over its bound (caller-runs), but a task handed the slot by
    /// a release (`released`) never does: that would recurse through the task's own release,
    /// one level per queued task (the group's bounds keep the deque's growth in check).
    fn try_hand_to_pool(&self, job: JobRef, blocking: bool, released: bool) -> Result<(), JobRef> {
        let registry = &self.registry;
        let pushed = if blocking {
            registry.blocking.force_submit(registry, job)
        } else {
            match WorkerThread::current() {
                Some(worker) if Arc::ptr_eq(&worker.registry, registry) => {
                    if released {
                        worker.push(job);
                    } else {
                        worker.push_or_run(job);
                    }
                    Ok(())
                }
                _ => registry
                    .injected
                    .force_push(job)
                    .map(|()| registry.sleep.notify_new_work()),
            }
        };
        match pushed {
            Ok(()) => {
                registry.record_submission(Ok(()), blocking);
                Ok(())
            }
            // Counted by the caller's `cancel_refused`.
            Err(PushError::Closed(job) | PushError::Full(job)) => Err(job),
        }
    }

    /// A task that held a slot is done with it: the slot passes to the oldest queued task, or
    /// is given back.
    fn release_slot(&self, why: Release) {
        let mut current = self.counts();
        loop {
            if queued(current) == 0 {
                match self.counts.compare_exchange_weak(
                    current,
                    current - RUNNING,
                    Ordering::SeqCst,
                    Ordering::SeqCst,
                ) {
                    // A spawner that queues after this finds the slot free.
                    Ok(_) => return self.wake_waiters(current - RUNNING),
                    Err(actual) => current = actual,
                }
                continue;
            }
            match self.pop(GroupMark::Slotted) {
                Some(Some(entry)) => return self.pass_slot(entry, why),
                // Cancelled while queued: the slot is still ours.
                Some(None) => current = self.counts(),
                None => {
                    // Counted but not pushed yet: give the slot back. Its spawner's RMW after
                    // the push sees the free slot, or this sees the entry (`start_queued`).
                    let after = self.give_back();
                    return self.start_queued(after);
                }
            }
        }
    }

    /// Hands the slot this thread holds to a popped entry's task (marked slotted).
    fn pass_slot(&self, entry: Queued, why: Release) {
        let mut job = entry.job;
        if why == Release::TaskEnded && !entry.blocking && !self.registry.injected.is_closed() {
            // The finishing worker runs the next task right after this one (it would push it
            // on its own deque and pop it straight back).
            if let Some(worker) = WorkerThread::current() {
                if Arc::ptr_eq(&worker.registry, &self.registry) {
                    match worker.hand_next(job) {
                        Ok(()) => {
                            self.registry.record_submission(Ok(()), false);
                            return;
                        }
                        Err(back) => job = back,
                    }
                }
            }
        }
        if let Err(refused) = self.try_hand_to_pool(job, entry.blocking, true) {
            self.refused(refused, entry.blocking);
        }
    }

    /// Starts queued tasks while slots are free (`current`: the counts as last seen, by an
    /// RMW that follows this thread's push or give-back).
    fn start_queued(&self, mut current: u64) {
        while queued(current) > 0 && running(current) < self.max {
            if let Err(actual) = self.counts.compare_exchange_weak(
                current,
                current + RUNNING,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                current = actual;
                continue;
            }
            // A slot is ours: pass it to the oldest entry, or give it back if none is pushed.
            current = loop {
                match self.pop(GroupMark::Slotted) {
                    Some(Some(entry)) => {
                        self.pass_slot(entry, Release::Other);
                        break self.counts();
                    }
                    Some(None) => {} // cancelled while queued: the slot is still ours
                    None => {
                        let after = self.give_back();
                        if self.queue.is_empty() {
                            // Its spawner has not pushed yet, and will find the slot free.
                            return;
                        }
                        break after;
                    }
                }
            };
        }
    }

    /// Takes every pushed entry out of the queue and cancels their tasks; returns how many
    /// this cancelled. `closed`: the pool refused a task, and the pool's metrics count these
    /// as refused too. (An entry counted but not pushed yet is not waited for: its spawn
    /// raced with this, and it is started or queued as usual.)
    pub(super) fn drain(&self, closed: bool) -> usize {
        let mut cancelled = 0;
        while let Some(entry) = self.steal() {
            let live = entry.mark(GroupMark::Drained);
            if live && closed {
                self.registry.record_submission(Err(false), entry.blocking);
            }
            // Cancelled (its hook counts it) before it is uncounted, so a thread that sees
            // the group idle also sees it in the group's figures.
            if entry.discard(&self.registry) == Outcome::Cancelled {
                cancelled += 1;
            }
            self.uncount(live);
        }
        cancelled
    }

    /// The pool refused a task handed the slot: it is closed, so nothing queued can start.
    /// The whole queue is cancelled first, so that the refused task's release finds nothing to
    /// hand its slot to (rather than handing it on task by task, each refusal recursing
    /// through the next release).
    fn refused(&self, job: JobRef, blocking: bool) {
        self.drain(true);
        self.cancel_refused(job, blocking);
    }

    /// After an RMW on `counts` that lowered a count, leaving `counts`: wakes sleepers if one
    /// may go on now. A sleeper sets WAITERS with an RMW on the same word before it checks, so
    /// either this RMW came later and sees the bit, or the sleeper's check sees this change.
    fn wake_waiters(&self, counts: u64) {
        if counts & WAITERS == 0 || (self.is_full(counts) && !is_idle(counts)) {
            return; // nobody sleeps, or nobody can go on yet: a later change wakes them
        }
        let _sleepers = self.sleepers.lock();
        self.changed.notify_all();
    }

    /// Waits, helping the pool on a worker, while `blocked` holds for the counts.
    pub(super) fn wait_while(&self, blocked: impl Fn(u64) -> bool) {
        if let Some(worker) = WorkerThread::current() {
            while blocked(self.counts()) {
                worker.help_once();
            }
            return;
        }
        // A full group usually gets room within a few task lengths: yield first, unregistered,
        // so releasers need not make a wake-up syscall; then sleep until notified.
        for _ in 0..YIELDS_BEFORE_SLEEP {
            if !blocked(self.counts()) {
                return;
            }
            thread::yield_now();
        }
        let mut sleepers = self.sleepers.lock();
        *sleepers += 1;
        // Set under the lock, so that a waker that sees it notifies after this thread waits.
        while blocked(self.counts.fetch_or(WAITERS, Ordering::SeqCst)) {
            self.changed.wait(&mut sleepers);
        }
        *sleepers -= 1;
        if *sleepers == 0 {
            self.counts.fetch_and(!WAITERS, Ordering::SeqCst);
        }
    }
}
