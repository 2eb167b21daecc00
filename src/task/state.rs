//! The task state word: every bit of it, and every transition, in one place.
//!
//! Invariants (the proof sketch is in `README.md` beside this file):
//! - Each bit has one meaning for every kind of task; no two names share a bit. A closure task
//!   uses the handle bits and, in a task group, the group bits; a future task uses the handle
//!   bits and SCHEDULED / NOTIFIED.
//! - Every change is one RMW on the word (`fetch_or`, or a CAS loop that changes nothing when
//!   its condition fails), SeqCst throughout, so any two transitions are ordered and each sees
//!   the other's bits: that is what every "exactly once" rule of the task protocols rests on.
//! - Only the transitions below touch the word. Each returns what the caller must act on, as a
//!   `#[must_use]` value, so a caller cannot forget to act on who won a race.

use crate::sync::atomic::{AtomicUsize, Ordering};

/// The executor owns the closure (or is polling the future).
const RUNNING: usize = 1 << 0;
/// The output is written; the handle may take it.
const COMPLETE: usize = 1 << 1;
/// The task will never run (again): cancelled, or refused at submission.
const CANCELLED: usize = 1 << 2;
/// The handle is gone: nobody will read the output.
const DETACHED: usize = 1 << 3;
/// The handle registered a waker: the finisher wakes it.
const WAITING: usize = 1 << 4;
/// Set by a task group before the task enters its queue (`spawn/group/slots.rs`).
const GROUP_QUEUED: usize = 1 << 5;
/// Set by a task group when the task is given one of its slots (void if CANCELLED came first).
const GROUP_SLOTTED: usize = 1 << 6;
/// Set by a task group that takes the task out of its queue to cancel it (void if CANCELLED
/// came first).
const GROUP_DRAINED: usize = 1 << 7;
/// Set with CANCELLED by a cancel through the handle, which counts it in the pool's metrics.
const CANCEL_BY_HANDLE: usize = 1 << 8;
/// Set by that canceller once the count has landed.
const CANCEL_COUNTED: usize = 1 << 9;
/// A future task: its job reference is in a queue (set by exactly one waker).
const SCHEDULED: usize = 1 << 10;
/// A future task: woken while RUNNING; the poller re-queues it after a `Pending` poll.
const NOTIFIED: usize = 1 << 11;

const DONE: usize = COMPLETE | CANCELLED;

/// A value the state word had, as a transition found it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Snapshot(usize);

impl Snapshot {
    /// Completed or cancelled: the handle has its answer.
    #[inline]
    pub(crate) fn is_done(self) -> bool {
        self.0 & DONE != 0
    }

    #[inline]
    pub(crate) fn is_complete(self) -> bool {
        self.0 & COMPLETE != 0
    }

    #[inline]
    pub(crate) fn is_cancelled(self) -> bool {
        self.0 & CANCELLED != 0
    }

    #[inline]
    pub(crate) fn is_detached(self) -> bool {
        self.0 & DETACHED != 0
    }

    #[inline]
    pub(crate) fn is_waiting(self) -> bool {
        self.0 & WAITING != 0
    }

    /// A cancel through the handle claimed the task.
    #[inline]
    pub(crate) fn cancelled_by_handle(self) -> bool {
        self.0 & CANCEL_BY_HANDLE != 0
    }

    /// A group's task holds one of the group's slots.
    #[inline]
    pub(crate) fn group_slotted(self) -> bool {
        self.0 & GROUP_SLOTTED != 0
    }

    /// A group took the task out of its queue to cancel it.
    #[inline]
    pub(crate) fn group_drained(self) -> bool {
        self.0 & GROUP_DRAINED != 0
    }

    /// Whether the task is in its pool's queues (and counts there): a group's task only once
    /// it holds a slot; before that it waits in the group's own queue.
    #[inline]
    pub(crate) fn in_pool(self) -> bool {
        self.0 & GROUP_QUEUED == 0 || self.0 & GROUP_SLOTTED != 0
    }
}

/// How a task starts out.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Initial {
    /// A closure task, submitted to a pool.
    Plain,
    /// A closure task that waits in a task group's queue for a slot.
    GroupQueued,
    /// A future task, queued for its first poll.
    Scheduled,
}

/// Who won a claim on the task.
#[must_use = "only the winner of a claim may touch the closure or the future"]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Claim {
    /// This call won; the word was `Snapshot` just before.
    Won(Snapshot),
    /// The task had already started or finished.
    Lost,
}

/// What a group's mark found.
#[must_use = "a task that was cancelled first is not the group's to run or count"]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mark {
    /// Marked; the task is the group's to run (slotted) or to cancel (drained).
    Live,
    /// A cancel had claimed the task first: the mark is void.
    Cancelled,
}

/// The group bits a group sets on a task it takes out of its queue.
#[derive(Clone, Copy, Debug)]
pub(crate) enum GroupMark {
    Slotted,
    Drained,
}

/// What a wake of a future task asks of the waker.
#[must_use = "a wake that scheduled the task must queue it"]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wake {
    /// This wake set SCHEDULED: queue the task.
    Schedule,
    /// The task is being polled (NOTIFIED set), already queued, or done: nothing to do.
    Nothing,
}

/// What the poller does after a `Pending` poll.
#[must_use = "a task woken during its poll must be queued again"]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AfterPending {
    /// A wake came in during the poll: SCHEDULED is set, queue the task again.
    Requeue,
    /// Idle until the next wake.
    Idle,
}

/// The state word of one task.
pub(crate) struct TaskState(AtomicUsize);

impl TaskState {
    pub(crate) fn new(initial: Initial) -> Self {
        TaskState(AtomicUsize::new(match initial {
            Initial::Plain => 0,
            Initial::GroupQueued => GROUP_QUEUED,
            Initial::Scheduled => SCHEDULED,
        }))
    }

    /// The word now.
    #[inline]
    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.0.load(Ordering::SeqCst))
    }

    /// Sets `bit` unless one of `forbidden` is set.
    #[inline]
    fn set_unless(&self, bit: usize, forbidden: usize) -> Claim {
        let mut current = self.0.load(Ordering::SeqCst);
        loop {
            if current & forbidden != 0 {
                return Claim::Lost;
            }
            match self.0.compare_exchange_weak(
                current,
                current | bit,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(prev) => return Claim::Won(Snapshot(prev)),
                Err(actual) => current = actual,
            }
        }
    }

    /// Sets `set` and clears `clear` in one RMW; the word before.
    #[inline]
    fn update(&self, set: usize, clear: usize) -> Snapshot {
        let mut current = self.0.load(Ordering::SeqCst);
        loop {
            match self.0.compare_exchange_weak(
                current,
                (current | set) & !clear,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(prev) => return Snapshot(prev),
                Err(actual) => current = actual,
            }
        }
    }

    /// idle -> RUNNING: the executor claims a closure task's closure.
    #[inline]
    pub(crate) fn claim_run(&self) -> Claim {
        self.set_unless(RUNNING, RUNNING | DONE)
    }

    /// idle -> CANCELLED (with CANCEL_BY_HANDLE if `by_handle`): a canceller claims the closure
    /// or the future, unless it is running or done.
    #[inline]
    pub(crate) fn claim_cancel(&self, by_handle: bool) -> Claim {
        let bits = CANCELLED | if by_handle { CANCEL_BY_HANDLE } else { 0 };
        self.set_unless(bits, RUNNING | DONE)
    }

    /// The canceller through the handle has counted its cancel (see `claim_cancel`).
    #[inline]
    pub(crate) fn set_cancel_counted(&self) {
        self.0.fetch_or(CANCEL_COUNTED, Ordering::SeqCst);
    }

    /// Whether that count has landed.
    #[inline]
    pub(crate) fn cancel_counted(&self) -> bool {
        self.0.load(Ordering::SeqCst) & CANCEL_COUNTED != 0
    }

    /// RUNNING -> COMPLETE, the output written: for a closure task. The word before (its
    /// WAITING and DETACHED bits say who takes the output and whom to wake).
    #[inline]
    pub(crate) fn complete(&self) -> Snapshot {
        self.update(COMPLETE, 0)
    }

    /// RUNNING -> COMPLETE for a future task (a wake during the last poll is dropped).
    #[inline]
    pub(crate) fn complete_future(&self) -> Snapshot {
        self.update(COMPLETE, RUNNING | NOTIFIED)
    }

    /// After a winning `claim_cancel` of a future task: drops a wake that came in meanwhile.
    /// The word before (its WAITING bit says whether to wake the handle).
    #[inline]
    pub(crate) fn settle_cancelled_future(&self) -> Snapshot {
        self.update(0, NOTIFIED)
    }

    /// After a winning `claim_cancel` of a closure task: the word, read with an RMW so it is
    /// ordered after every registration (its WAITING bit says whether to wake the handle).
    #[inline]
    pub(crate) fn settle_cancelled(&self) -> Snapshot {
        self.update(0, 0)
    }

    /// RUNNING -> CANCELLED after a `Pending` poll: the poller gives the future up (a graceful
    /// shutdown). A wake during the poll is dropped with it.
    #[inline]
    pub(crate) fn cancel_after_pending(&self) -> Snapshot {
        self.update(CANCELLED, RUNNING | NOTIFIED | SCHEDULED)
    }

    /// Sets WAITING: the handle registered a waker. Whether the task was done already (then
    /// no wake will come).
    #[inline]
    pub(crate) fn register_waiting(&self) -> bool {
        Snapshot(self.0.fetch_or(WAITING, Ordering::SeqCst)).is_done()
    }

    /// Sets DETACHED: the handle is gone. The word before (COMPLETE set: the output is the
    /// handle's to dispose of).
    #[inline]
    pub(crate) fn detach(&self) -> Snapshot {
        Snapshot(self.0.fetch_or(DETACHED, Ordering::SeqCst))
    }

    /// A group marks a task it took out of its queue. One RMW: a canceller's claim either came
    /// first (seen here: the mark is void) or comes later and sees the mark.
    #[inline]
    pub(crate) fn group_mark(&self, mark: GroupMark) -> Mark {
        let bit = match mark {
            GroupMark::Slotted => GROUP_SLOTTED,
            GroupMark::Drained => GROUP_DRAINED,
        };
        if self.0.fetch_or(bit, Ordering::SeqCst) & CANCELLED == 0 {
            Mark::Live
        } else {
            Mark::Cancelled
        }
    }

    /// A wake of a future task: idle -> SCHEDULED (queue it), RUNNING -> NOTIFIED (the poller
    /// queues it), or nothing if it is already queued, notified or done.
    #[inline]
    pub(crate) fn wake(&self) -> Wake {
        let mut current = self.0.load(Ordering::SeqCst);
        loop {
            if current & (DONE | SCHEDULED | NOTIFIED) != 0 {
                return Wake::Nothing;
            }
            let next = if current & RUNNING != 0 {
                current | NOTIFIED
            } else {
                current | SCHEDULED
            };
            match self
                .0
                .compare_exchange_weak(current, next, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) if current & RUNNING != 0 => return Wake::Nothing,
                Ok(_) => return Wake::Schedule,
                Err(actual) => current = actual,
            }
        }
    }

    /// SCHEDULED -> RUNNING: the worker that took a future task's job polls it, unless it
    /// was cancelled while queued.
    #[inline]
    pub(crate) fn start_poll(&self) -> Claim {
        let mut current = self.0.load(Ordering::SeqCst);
        loop {
            if current & DONE != 0 {
                return Claim::Lost;
            }
            match self.0.compare_exchange_weak(
                current,
                (current & !SCHEDULED) | RUNNING,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(prev) => return Claim::Won(Snapshot(prev)),
                Err(actual) => current = actual,
            }
        }
    }

    /// RUNNING -> idle after a `Pending` poll, or -> SCHEDULED if a wake came in during it.
    #[inline]
    pub(crate) fn end_pending_poll(&self) -> AfterPending {
        let mut current = self.0.load(Ordering::SeqCst);
        loop {
            let next = if current & NOTIFIED != 0 {
                (current & !(RUNNING | NOTIFIED)) | SCHEDULED
            } else {
                current & !RUNNING
            };
            match self
                .0
                .compare_exchange_weak(current, next, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) if current & NOTIFIED != 0 => return AfterPending::Requeue,
                Ok(_) => return AfterPending::Idle,
                Err(actual) => current = actual,
            }
        }
    }
}

#[cfg(all(test, not(corepool_loom)))]
mod tests {
    use super::*;

    #[test]
    fn run_and_cancel_claims_exclude_each_other() {
        let state = TaskState::new(Initial::Plain);
        assert!(matches!(state.claim_run(), Claim::Won(_)));
        assert_eq!(state.claim_cancel(true), Claim::Lost);
        assert_eq!(state.claim_run(), Claim::Lost);
        let state = TaskState::new(Initial::Plain);
        assert!(matches!(state.claim_cancel(false), Claim::Won(_)));
        assert_eq!(state.claim_run(), Claim::Lost);
        assert!(state.load().is_done());
    }

    #[test]
    fn a_waiter_registered_before_completion_is_seen_by_the_finisher() {
        let state = TaskState::new(Initial::Plain);
        assert!(matches!(state.claim_run(), Claim::Won(_)));
        assert!(!state.register_waiting());
        assert!(state.complete().is_waiting());
        // Registered after completion: the registrant sees the task done instead.
        assert!(state.register_waiting());
    }

    #[test]
    fn detach_and_complete_each_see_the_other_whichever_comes_second() {
        let state = TaskState::new(Initial::Plain);
        assert!(matches!(state.claim_run(), Claim::Won(_)));
        assert!(!state.detach().is_complete());
        assert!(state.complete().is_detached());
        let state = TaskState::new(Initial::Plain);
        assert!(matches!(state.claim_run(), Claim::Won(_)));
        assert!(!state.complete().is_detached());
        assert!(state.detach().is_complete());
    }

    #[test]
    fn a_group_mark_after_a_cancel_is_void_and_the_cancel_sees_an_earlier_mark() {
        let state = TaskState::new(Initial::GroupQueued);
        assert!(!state.load().in_pool());
        assert!(matches!(state.claim_cancel(true), Claim::Won(s) if !s.in_pool()));
        assert_eq!(state.group_mark(GroupMark::Slotted), Mark::Cancelled);
        let state = TaskState::new(Initial::GroupQueued);
        assert_eq!(state.group_mark(GroupMark::Slotted), Mark::Live);
        assert!(matches!(state.claim_cancel(true), Claim::Won(s) if s.in_pool()));
    }

    #[test]
    fn a_wake_during_a_poll_requeues_once_and_a_wake_while_queued_does_nothing() {
        let state = TaskState::new(Initial::Scheduled);
        assert_eq!(state.wake(), Wake::Nothing); // already queued
        assert!(matches!(state.start_poll(), Claim::Won(_)));
        assert_eq!(state.wake(), Wake::Nothing); // notified: the poller requeues
        assert_eq!(state.wake(), Wake::Nothing);
        assert_eq!(state.end_pending_poll(), AfterPending::Requeue);
        assert!(matches!(state.start_poll(), Claim::Won(_)));
        assert_eq!(state.end_pending_poll(), AfterPending::Idle);
        assert_eq!(state.wake(), Wake::Schedule);
        assert!(matches!(state.claim_cancel(false), Claim::Won(_)));
        assert_eq!(state.start_poll(), Claim::Lost);
        assert_eq!(state.wake(), Wake::Nothing);
    }

    #[test]
    fn no_two_names_share_a_bit() {
        let bits = [
            RUNNING,
            COMPLETE,
            CANCELLED,
            DETACHED,
            WAITING,
            GROUP_QUEUED,
            GROUP_SLOTTED,
            GROUP_DRAINED,
            CANCEL_BY_HANDLE,
            CANCEL_COUNTED,
            SCHEDULED,
            NOTIFIED,
        ];
        let all = bits.iter().fold(0, |acc, b| {
            assert_eq!(acc & b, 0, "bit {b:#x} is used twice");
            acc | b
        });
        assert_eq!(all.count_ones() as usize, bits.len());
    }
}
