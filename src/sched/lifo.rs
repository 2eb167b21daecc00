//! The LIFO slot: the first job a worker's running task spawns, kept out of the worker's deque
//! so that it runs next on the same worker, with no peer woken to steal it (tokio's LIFO slot).
//! A task that spawns its successor and returns then stays on one core: its successor's memory
//! is still in that core's cache, and no sleeping peer pays a wake-up only to find the job gone
//! or to drag it to another core.
//!
//! Invariants:
//! - **Exactly once.** A job put in the slot is executed once: taken by its owner (when the
//!   task that spawned it returns, or by a wait inside that task), or stolen by one peer. The
//!   `state` word decides: the owner takes with `FULL → EMPTY`, a peer with `FULL → TAKING`, both
//!   compare-and-swaps, so only one of them wins; a peer reads the job while the word says
//!   `TAKING` and only then sets `EMPTY`, and the owner fills the slot again only after it saw
//!   `EMPTY` (acquire), so a fill never overwrites a job being read.
//! - **Only the owner fills, and only at the top level.** A worker fills its slot only from a
//!   job it executes from its main loop (`executing == 1`), and takes it as soon as that job
//!   returns: between jobs the slot is empty, so a worker idle, asleep or exiting never holds
//!   one. A spawn that finds the slot full goes to the deque and wakes a peer as a plain push
//!   does: two spawns are parallel work. (The first keeps the slot, unlike tokio's, whose
//!   newest spawn takes it: a task spawning in a loop then pays one push per spawn, as before
//!   the slot, instead of a take, a push and a refill.)
//! - **Never stuck behind a long task.** The job may sit in the slot while its spawner keeps
//!   running (it spawned, then computes, or blocks on the successor). So an idle peer watches
//!   every full slot: a filler that sees no peer searching and none in a timed sleep wakes one
//!   (`Sleep::notify_slot_filled`), a peer going to sleep while a slot is full sets its wake-up
//!   for the affinity patience, and a peer takes a slot that has held the *same* job (the fill
//!   count unchanged) for at least the patience. A searcher or watcher that leaves to run
//!   other work instead passes the watch on (`Sleep::pass_watch`). A chain of short tasks
//!   refills the slot far more often than that, so it is never stolen; a long task's successor
//!   waits one to two patiences (the watcher's wake-up may be set by an earlier look), as a
//!   task spawned onto a busy worker's inbox does (`lanes.rs`), or until a peer goes idle if
//!   every peer is busy.
//! - A worker that is quiet (a graceful shutdown polling futures, `shutdown.rs`) never fills
//!   its slot: the futures' drain rule looks for closures in the queues and deques only.

use crate::sched::job::JobRef;
// The fill count only tells a watching peer whether the job changed; it orders nothing (the
// state word does), so it is a hint atomic.
use crate::sync::atomic::{AtomicU8, Ordering};
use crate::sync::hint;
use crate::sync::{spin_hint, UnsafeCell};
use std::mem::MaybeUninit;

const EMPTY: u8 = 0;
const FULL: u8 = 1;
/// A peer won the job and is reading it out of the cell.
const TAKING: u8 = 2;

/// One worker's LIFO slot.
pub(crate) struct LifoSlot {
    state: AtomicU8,
    job: UnsafeCell<MaybeUninit<JobRef>>,
    /// How many times the owner filled the slot (a watching peer's "same job" test).
    fills: hint::AtomicU64,
}

// SAFETY: the cell is written only by the owner while `state` is EMPTY (no reader) and read by
// the one thread that moved `state` away from FULL (module invariant); `JobRef` is `Send`.
unsafe impl Sync for LifoSlot {}

impl LifoSlot {
    pub(crate) fn new() -> Self {
        LifoSlot {
            state: AtomicU8::new(EMPTY),
            job: UnsafeCell::new(MaybeUninit::uninit()),
            fills: hint::AtomicU64::new(0),
        }
    }

    /// Owner only: puts `job` in the slot, which the owner has emptied (`take_own`) or a peer
    /// has stolen from (it may still be reading: then this waits the few instructions it takes;
    /// `push_spawned` checks `is_empty` first and does not come here then).
    pub(crate) fn fill(&self, job: JobRef) {
        loop {
            match self.state.load(Ordering::Acquire) {
                EMPTY => break,
                TAKING => spin_hint(),
                _ => unreachable!("the LIFO slot is filled only when empty"),
            }
        }
        // SAFETY: the state is EMPTY, seen with acquire after the last reader's release: nobody
        // reads the cell, and only the owner (this thread) writes it.
        self.job.with_mut(|cell| unsafe { (*cell).write(job) });
        self.fills.store(
            self.fills.load(hint::Ordering::Relaxed).wrapping_add(1),
            hint::Ordering::Relaxed,
        );
        self.state.store(FULL, Ordering::Release);
    }

    /// Owner only: takes the job back, unless a peer stole it.
    #[inline]
    pub(crate) fn take_own(&self) -> Option<JobRef> {
        if !self.claim(EMPTY) {
            return None;
        }
        // SAFETY: this thread moved the state from FULL, so the cell holds a job nobody else
        // reads or takes; the owner wrote it itself.
        Some(unsafe { self.read() })
    }

    /// A peer: takes the job if the slot holds one.
    pub(crate) fn steal(&self) -> Option<JobRef> {
        if !self.claim(TAKING) {
            return None;
        }
        // SAFETY: this thread moved the state from FULL (acquire, after the owner's release that
        // published the write): the owner does not write the cell again until it sees EMPTY.
        let job = unsafe { self.read() };
        self.state.store(EMPTY, Ordering::Release);
        Some(job)
    }

    /// Moves the state from FULL to `to`; whether this thread did. A plain look first, so an
    /// empty slot costs no read-modify-write (the owner always sees its own FULL store).
    #[inline]
    fn claim(&self, to: u8) -> bool {
        self.state.load(Ordering::Relaxed) == FULL
            && self
                .state
                .compare_exchange(FULL, to, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
    }

    /// The job in the cell.
    ///
    /// # Safety
    /// The caller moved the state from FULL (`claim`) and reads the job once.
    #[inline]
    unsafe fn read(&self) -> JobRef {
        // SAFETY: as the caller guarantees: the cell holds a job only this thread reads.
        self.job
            .with_mut(|cell| unsafe { (*cell).assume_init_read() })
    }

    /// Whether the slot is empty: neither full nor being read by a thief (the owner's test
    /// before it fills).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.state.load(Ordering::Relaxed) == EMPTY
    }

    /// Whether the slot holds a job (a hint for peers deciding whether to watch it).
    #[inline]
    pub(crate) fn is_full(&self) -> bool {
        self.state.load(Ordering::Relaxed) == FULL
    }

    /// How many times the slot was filled (a hint: "is it still the same job?").
    #[inline]
    pub(crate) fn fills(&self) -> u64 {
        self.fills.load(hint::Ordering::Relaxed)
    }
}
