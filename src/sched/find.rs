//! Where a worker looks for work, in what order, and the fairness rule that bounds how long
//! anything waits: a second `impl WorkerThread`, beside the loop in `worker.rs`.
//!
//! Invariants:
//! - Work is looked for in this order: the job handed to this worker, own LIFO slot (full only
//!   while a waiting job beneath spawned it), own deque (LIFO, for locality and to pop join
//!   halves back), own inbox, then peers from a random start, then the injection queues (the
//!   wake queue, High, Normal) in batches, then busy peers' inboxes, then peers' LIFO slots that
//!   held the same job for the affinity patience (`lifo.rs`).
//! - Fairness, whatever the local work does: every pick of a job counts (one from `find_work`,
//!   a handed job run straight after its predecessor, a join popping its own deque), and every
//!   [`FAIRNESS_INTERVAL`]-th pick looks at the shared sources first (own inbox, the wake
//!   queue, the injection lanes, busy peers' inboxes), and, at that pick or the next, takes the
//!   *oldest* job of its own deque. So a task that respawns itself, futures that wake each
//!   other, or a group's chain of hand-offs cannot keep anything waiting for more than about
//!   two intervals of picks: an outside spawn, a wake from another thread, or an older local
//!   job.
//! - Only the owning worker pushes to or pops from its deque; peers only steal.

use crate::sched::injection::InjectionQueue;
use crate::sched::job::JobRef;
use crate::sched::lanes::HIGH_BEFORE_NORMAL;
use crate::sched::worker::WorkerThread;
use crate::sched::worker::QUIET_YIELDS;
use crate::sync::{spin_hint, thread, Steal};
use std::time::Instant;

/// Every this many picks of a job, the shared sources are looked at first and then the oldest
/// job of the worker's own deque is taken (see the module invariants). tokio's global-queue
/// interval starts at the same value.
pub(crate) const FAIRNESS_INTERVAL: u32 = 61;
/// At most this many jobs move from the injection queue to a worker's deque at once.
const MAX_INJECTED_BATCH: usize = 32;

impl WorkerThread {
    /// Counts one pick of a job; whether the shared sources are due at this one. (Counting
    /// down and comparing with zero: one decrement per pick on the hot path.)
    #[inline(always)]
    pub(super) fn fairness_due(&self) -> bool {
        let left = self.picks_left.get();
        if left <= 1 {
            self.picks_left.set(FAIRNESS_INTERVAL);
            true
        } else {
            self.picks_left.set(left - 1);
            false
        }
    }

    /// The pick that makes fairness hold: the shared sources first, else (and at the next pick
    /// if they had a job) the oldest job of the own deque.
    #[cold]
    #[inline(never)]
    pub(super) fn fair_pick(&self) -> Option<JobRef> {
        let shared = self
            .take_from_inbox(self.index)
            .or_else(|| self.take_injected())
            .or_else(|| self.take_from_busy_peers_inbox());
        if shared.is_some() {
            self.oldest_due.set(true);
            return shared;
        }
        self.take_oldest_local()
    }

    /// The oldest job of this worker's own deque (its FIFO end, where thieves take from).
    pub(super) fn take_oldest_local(&self) -> Option<JobRef> {
        loop {
            match self.registry.stealers[self.index].steal() {
                Steal::Success(job) => return Some(job),
                Steal::Empty => return None,
                Steal::Retry => spin_hint(),
            }
        }
    }

    /// Finds a job: handed, own deque, own inbox, then peers and the injection queues; with
    /// the fairness picks of the module invariants.
    pub(crate) fn find_work(&self) -> Option<JobRef> {
        if self.quiet.get() {
            if self.executing.get() == 0 {
                if let Some(job) = self.next_future_quietly() {
                    return Some(job);
                }
            }
            // It may take a closure next: it must say so first (`shutdown.rs`).
            self.quiet.set(false);
            self.registry.set_quiet(false);
        }
        if self.fairness_due() {
            if let Some(job) = self.fair_pick() {
                return Some(job);
            }
        } else if self.oldest_due.replace(false) {
            if let Some(job) = self.take_oldest_local() {
                return Some(job);
            }
        }
        if let Some(job) = self.handed.take() {
            return Some(job);
        }
        // Full only while this worker's top-level job runs: here that job waits (a join, a
        // handle), and the slot's task is this worker's newest.
        if let Some(job) = self.own_slot().take_own() {
            return Some(job);
        }
        if let Some(job) = self.deque.pop() {
            return Some(job);
        }
        if let Some(job) = self.take_from_inbox(self.index) {
            return Some(job);
        }
        self.steal_from_peers()
            .or_else(|| self.take_injected())
            .or_else(|| self.take_from_busy_peers_inbox())
            .or_else(|| self.take_stale_slot())
    }

    /// Takes a peer's LIFO slot job that has waited there for the affinity patience (the same
    /// job: the slot's fill count unchanged since this worker first saw it full). Under loom,
    /// which has no clock, a full slot is taken at once.
    pub(super) fn take_stale_slot(&self) -> Option<JobRef> {
        let registry = &*self.registry;
        let mut now = None;
        for (owner, slot) in registry.lifo.iter().enumerate() {
            if owner == self.index || !slot.is_full() {
                continue;
            }
            if cfg!(corepool_loom) {
                return slot.steal();
            }
            let now = *now.get_or_insert_with(Instant::now);
            let fills = slot.fills();
            let seen = &self.slots_seen[owner];
            match seen.get() {
                (seen_fills, Some(since)) if seen_fills == fills => {
                    if now.saturating_duration_since(since) >= registry.affinity_patience {
                        seen.set((fills, None));
                        if let Some(job) = slot.steal() {
                            return Some(job);
                        }
                    }
                }
                _ => seen.set((fills, Some(now))),
            }
        }
        None
    }

    /// When the first full LIFO slot of a peer goes stale (see
    /// [`take_stale_slot`](Self::take_stale_slot)): a worker going to sleep sets its wake-up
    /// for then, which makes it a watcher (`Sleep::notify_slot_filled`). `None` if no peer's
    /// slot is full, and under loom (no clock: a full slot is taken at once instead).
    pub(super) fn next_slot_staleness(&self) -> Option<Instant> {
        if cfg!(corepool_loom) {
            return None;
        }
        let registry = &*self.registry;
        let mut first: Option<Instant> = None;
        for (owner, slot) in registry.lifo.iter().enumerate() {
            if owner == self.index || !slot.is_full() {
                continue;
            }
            let fills = slot.fills();
            let seen = &self.slots_seen[owner];
            let since = match seen.get() {
                (seen_fills, Some(since)) if seen_fills == fills => since,
                _ => {
                    let now = Instant::now();
                    seen.set((fills, Some(now)));
                    now
                }
            };
            // A patience too long to represent: no wake-up for this slot (never stale).
            let Some(at) = since.checked_add(registry.affinity_patience) else {
                continue;
            };
            first = Some(first.map_or(at, |f| f.min(at)));
        }
        first
    }

    /// A quiet worker (termination, futures only) stays quiet while only futures are left: it
    /// takes the next woken future, or waits for one, yielding, until closure work appears or
    /// the futures' drain rule is decided. The rule needs every worker quiet (or idle) at once,
    /// which workers that went idle between two polls, and so in and out of the idle count,
    /// would rarely be.
    #[cold]
    pub(super) fn next_future_quietly(&self) -> Option<JobRef> {
        let registry = &*self.registry;
        // Bounded: futures that keep waking refill the wake queue within a few yields; a long
        // wait (a closure running long elsewhere, futures waiting for the outside) goes to
        // the idle path and sleeps instead of burning its core through the shutdown.
        for _ in 0..QUIET_YIELDS {
            if registry.has_closure_work() {
                return None;
            }
            if registry.woken.len() > 0 {
                if let Some(job) = registry.woken.take_one() {
                    return Some(job);
                }
                // Reserved but not pushed yet (see `take_woken_terminating`).
                spin_hint();
            }
            if registry.futures_closing() {
                return None;
            }
            thread::yield_now();
        }
        None
    }

    /// For a join that pops its own deque while its stolen half runs: a pick of that loop,
    /// which is a pick like any other. Returns a job from the shared sources or the oldest
    /// local one when they are due (the caller executes it), else `None` (pop as usual).
    #[inline]
    pub(crate) fn fair_pick_if_due(&self) -> Option<JobRef> {
        if self.fairness_due() {
            self.fair_pick()
        } else {
            None
        }
    }

    /// Takes one job from worker `owner`'s inbox.
    pub(super) fn take_from_inbox(&self, owner: usize) -> Option<JobRef> {
        let inbox = &self.registry.inboxes[owner];
        if inbox.queue.len() == 0 {
            return None;
        }
        inbox.queue.take_one()
    }

    /// Helps a busy peer with its inbox, once that has waited past the affinity patience.
    pub(super) fn take_from_busy_peers_inbox(&self) -> Option<JobRef> {
        let inboxes = &self.registry.inboxes;
        (0..inboxes.len())
            .filter(|&owner| owner != self.index && inboxes[owner].open_to_peers())
            .find_map(|owner| self.take_from_inbox(owner))
    }

    /// Takes a batch from the wake queue (futures woken from outside, already admitted) or else
    /// from the injection queue.
    pub(super) fn take_injected(&self) -> Option<JobRef> {
        let registry = &*self.registry;
        // The wake queue's length is read first (as `take_batch_from` reads it anyway), so an
        // empty one costs no look at the termination flag.
        if registry.woken.len() == 0 {
            return self.take_from_lanes();
        }
        if registry.terminating() {
            // Closures first, then futures one at a time (a woken future moved to the deque
            // would look like closure work): the closures must drain for the futures' rule.
            return self
                .take_from_lanes()
                .or_else(|| self.take_woken_terminating());
        }
        self.take_batch_from(&registry.woken)
            .or_else(|| self.take_from_lanes())
    }

    /// The injection lanes: High before Normal, but one Normal pick after
    /// [`HIGH_BEFORE_NORMAL`] High picks.
    pub(super) fn take_from_lanes(&self) -> Option<JobRef> {
        let registry = &*self.registry;
        let streak = self.high_streak.get();
        if streak < HIGH_BEFORE_NORMAL || registry.injected.len() == 0 {
            if let Some(job) = self.take_batch_from(&registry.injected_high) {
                self.high_streak.set(streak + 1);
                return Some(job);
            }
        }
        self.high_streak.set(0);
        self.take_batch_from(&registry.injected)
            .or_else(|| self.take_batch_from(&registry.injected_high))
    }

    /// A woken future during termination; taken in the main loop, it makes this worker quiet.
    pub(super) fn take_woken_terminating(&self) -> Option<JobRef> {
        let registry = &*self.registry;
        if registry.woken.len() == 0 {
            return None;
        }
        let Some(job) = registry.woken.take_one() else {
            // A slot reserved but not pushed yet: pause, as `take_batch_from` does, so the
            // submitter gets to push (under loom, so that it runs at all).
            spin_hint();
            return None;
        };
        // Only from the main loop: inside another job's wait, a closure may still be running
        // further down this stack.
        if self.executing.get() == 0 && !self.quiet.replace(true) {
            registry.set_quiet(true);
        }
        Some(job)
    }

    pub(super) fn take_batch_from(&self, queue: &InjectionQueue) -> Option<JobRef> {
        let registry = &*self.registry;
        let queued = queue.len();
        if queued == 0 {
            return None;
        }
        let batch = (queued / registry.num_threads() + 1).min(MAX_INJECTED_BATCH);
        let Some(job) = queue.take_batch(&self.deque, batch) else {
            // `queued` also counts a slot whose submitter has reserved it but not pushed its job
            // yet. The idle path returns at once while that slot is visible, so without a pause
            // here a worker would spin hot (and never let the submitter run under loom) until
            // the push lands.
            spin_hint();
            return None;
        };
        if batch > 1 && !self.deque.is_empty() {
            registry.sleep.notify_new_work();
        }
        Some(job)
    }

    pub(super) fn steal_from_peers(&self) -> Option<JobRef> {
        let stealers = &self.registry.stealers;
        let n = stealers.len();
        if n <= 1 {
            return None;
        }
        let start = self.next_random() % n;
        loop {
            let mut contended = false;
            for offset in 0..n {
                let victim = (start + offset) % n;
                if victim == self.index {
                    continue;
                }
                match stealers[victim].steal() {
                    Steal::Success(job) => {
                        self.registry.stats.workers[self.index].steals.bump();
                        return Some(job);
                    }
                    Steal::Retry => contended = true,
                    Steal::Empty => {}
                }
            }
            if !contended {
                return None;
            }
        }
    }

    pub(super) fn next_random(&self) -> usize {
        // xorshift64*: cheap and good enough to spread victims.
        let mut x = self.rng.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng.set(x);
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as usize
    }
}
