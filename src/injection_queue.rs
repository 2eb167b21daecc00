//! The bounded injection queue: how work enters the pool from outside its workers.
//!
//! Invariants:
//! - `state` packs a CLOSED bit and the number of reserved slots. A submitter reserves a slot
//!   with a CAS that fails on CLOSED or when `reserved == capacity`, then pushes exactly one job.
//!   So at most `capacity` jobs are ever queued, and after `close()` no new reservation succeeds.
//! - A reserved-but-not-yet-pushed job is still counted, so a drainer that empties the queue
//!   until `reserved == 0` can never miss a job that raced with `close()`.
//! - A blocked submitter registers in `waiting` under `lock`, issues a SeqCst fence and re-tries
//!   before it waits; a consumer releases slots, issues a SeqCst fence and then reads `waiting`.
//!   By the fence-fence rule one of them sees the other, so a submitter is never left waiting
//!   while there is room (no lost wake-up). (The fences, rather than SeqCst accesses alone, make
//!   the argument one loom can check: loom treats SeqCst accesses as AcqRel.)

use crate::job::JobRef;
use crate::sync::atomic::{fence, AtomicUsize, Ordering};
use crate::sync::{Condvar, Injector, Mutex, Steal, Worker};
use std::time::Instant;

const CLOSED: usize = 1 << (usize::BITS - 1);

/// Why a push failed; the job is handed back.
#[derive(Debug)]
pub(crate) enum PushError {
    Full(JobRef),
    Closed(JobRef),
}

pub(crate) struct InjectionQueue {
    jobs: Injector<JobRef>,
    state: AtomicUsize,
    capacity: usize,
    waiting: AtomicUsize,
    lock: Mutex<()>,
    room: Condvar,
}

enum Reserve {
    Ok,
    Full,
    Closed,
}

impl InjectionQueue {
    pub(crate) fn new(capacity: usize) -> Self {
        debug_assert!(capacity > 0 && capacity < CLOSED);
        InjectionQueue {
            jobs: Injector::new(),
            state: AtomicUsize::new(0),
            capacity,
            waiting: AtomicUsize::new(0),
            lock: Mutex::new(()),
            room: Condvar::new(),
        }
    }

    fn reserve(&self) -> Reserve {
        let mut current = self.state.load(Ordering::SeqCst);
        loop {
            if current & CLOSED != 0 {
                return Reserve::Closed;
            }
            if current >= self.capacity {
                return Reserve::Full;
            }
            match self.state.compare_exchange_weak(
                current,
                current + 1,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return Reserve::Ok,
                Err(actual) => current = actual,
            }
        }
    }

    /// Pushes without blocking.
    pub(crate) fn try_push(&self, job: JobRef) -> Result<(), PushError> {
        match self.reserve() {
            Reserve::Ok => {
                self.jobs.push(job);
                Ok(())
            }
            Reserve::Full => Err(PushError::Full(job)),
            Reserve::Closed => Err(PushError::Closed(job)),
        }
    }

    /// Pushes, waiting for room until `deadline` (forever if `None`).
    pub(crate) fn push_blocking(&self, job: JobRef, deadline: Option<Instant>) -> Result<(), PushError> {
        loop {
            match self.reserve() {
                Reserve::Ok => break,
                Reserve::Closed => return Err(PushError::Closed(job)),
                Reserve::Full => {}
            }
            let mut guard = self.lock.lock();
            self.waiting.fetch_add(1, Ordering::SeqCst);
            // Pairs with the fence in `release`: either we see its freed slot, or it sees us.
            fence(Ordering::SeqCst);
            let outcome = loop {
                match self.reserve() {
                    Reserve::Full => {}
                    other => break other,
                }
                let timed_out = match deadline {
                    Some(deadline) => self.room.wait_until(&mut guard, deadline),
                    None => {
                        self.room.wait(&mut guard);
                        false
                    }
                };
                if timed_out {
                    match self.reserve() {
                        Reserve::Full => break Reserve::Full,
                        other => break other,
                    }
                }
            };
            let still_waiting = self.waiting.fetch_sub(1, Ordering::SeqCst) - 1;
            // We may have consumed a notification meant for room we did not take (timed out) or
            // room that is bigger than one slot: pass the baton on.
            if still_waiting > 0 && self.has_room() {
                self.room.notify_one();
            }
            drop(guard);
            match outcome {
                Reserve::Ok => break,
                Reserve::Closed => return Err(PushError::Closed(job)),
                Reserve::Full => return Err(PushError::Full(job)),
            }
        }
        self.jobs.push(job);
        Ok(())
    }

    fn has_room(&self) -> bool {
        let state = self.state.load(Ordering::SeqCst);
        state & CLOSED == 0 && state < self.capacity
    }

    /// Takes up to `max` jobs: the first is returned, the rest go to `local` (the caller's own
    /// deque). Frees their slots and wakes blocked submitters.
    pub(crate) fn take_batch(&self, local: &Worker<JobRef>, max: usize) -> Option<JobRef> {
        let first = self.steal_one()?;
        let mut taken = 1;
        while taken < max {
            match self.steal_one() {
                Some(job) => {
                    local.push(job);
                    taken += 1;
                }
                None => break,
            }
        }
        self.release(taken);
        Some(first)
    }

    fn steal_one(&self) -> Option<JobRef> {
        loop {
            match self.jobs.steal() {
                Steal::Success(job) => return Some(job),
                Steal::Empty => return None,
                Steal::Retry => crate::sync::spin_hint(),
            }
        }
    }

    fn release(&self, slots: usize) {
        self.state.fetch_sub(slots, Ordering::SeqCst);
        // Pairs with the fence after a submitter registers in `waiting`.
        fence(Ordering::SeqCst);
        if self.waiting.load(Ordering::SeqCst) > 0 {
            let _guard = self.lock.lock();
            self.room.notify_one();
        }
    }

    /// Refuses every later reservation and releases every blocked submitter.
    pub(crate) fn close(&self) {
        self.state.fetch_or(CLOSED, Ordering::SeqCst);
        let _guard = self.lock.lock();
        self.room.notify_all();
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.state.load(Ordering::SeqCst) & CLOSED != 0
    }

    /// Jobs queued or about to be (reserved slots). Zero means nothing is in flight.
    pub(crate) fn len(&self) -> usize {
        self.state.load(Ordering::SeqCst) & !CLOSED
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }
}
