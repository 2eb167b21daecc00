//! The bounded injection queue: how work enters the pool from outside its workers.
//!
//! Invariants:
//! - `state` packs a CLOSED bit, an OUTSIDERS_CLOSED bit, the number of outstanding permits,
//!   and the number of used slots (queued jobs + jobs about to be pushed + permits). A submitter
//!   reserves a slot with a CAS that fails on CLOSED (or, for a submitter that is not one of
//!   the pool's own threads, on OUTSIDERS_CLOSED) or when `slots == capacity`, then pushes
//!   exactly one job. So at most `capacity` slots are ever in use, and after `close()` no new
//!   reservation succeeds; after `close_to_outsiders()` none by an outsider.
//! - A reserved-but-not-yet-pushed job is counted in `jobs() = slots - permits`, so a drainer
//!   that empties the queue until `jobs() == 0` can never miss a job that raced with `close()`.
//! - A permit (async reservation) turns into a job reservation with a CAS that fails on CLOSED,
//!   so a permit used after `close()` is refused and never strands a job; an unused permit does
//!   not count as a job and cannot hold up shutdown.
//! - A blocked submitter (thread or future) registers in `waiting` under `lock`, issues a SeqCst
//!   fence and re-tries before it waits; a consumer releases slots, issues a SeqCst fence and
//!   then reads `waiting`. By the fence-fence rule one of them sees the other, so nobody is left
//!   waiting while there is room (no lost wake-up). A waiter that was woken but leaves without
//!   taking a slot passes the wake-up on. (Fences rather than SeqCst accesses alone make the
//!   argument one loom can check: loom treats SeqCst accesses as AcqRel.)
//! - One release wakes one waiter: a blocked thread if there is one, else the oldest waiting
//!   future, which leaves the queue as it is woken. Whoever takes a slot and sees more room, and
//!   whoever was woken but leaves without a slot, wakes the next (`pass_on`), so a batch of
//!   freed slots reaches as many waiters, one hop each, and no release costs more than one
//!   wake-up.
//! - A future's waker is user code: it is cloned before the lock is taken, and woken or dropped
//!   only after the lock is released, inside a catch boundary (a panic goes to the pool's panic
//!   handler). No waker runs under this queue's lock.
//! - Every write to `state` is a read-modify-write (reserve, push with a permit, release,
//!   close), so a reservation always reads from the release sequence of any earlier RMW on it:
//!   `len_synced` (an RMW that adds nothing) is ordered against every reservation, which the
//!   fence-free wake-up of the spawn path relies on (`sched/sleep`).

use crate::sched::job::JobRef;
use crate::sched::unwind::{wake_user, PanicSink};
use crate::sync::atomic::{fence, AtomicU64, AtomicUsize, Ordering};
use crate::sync::{Condvar, Injector, Mutex, Steal, Worker};
use std::collections::VecDeque;
use std::task::Waker;
use std::time::Instant;

const CLOSED: u64 = 1 << 63;
/// Only the pool's own threads may take a slot (a shutdown has begun; the I/O queue).
const OUTSIDERS_CLOSED: u64 = 1 << 62;
const PERMIT_SHIFT: u32 = 32;
const PERMIT: u64 = 1 << PERMIT_SHIFT;
const SLOTS_MASK: u64 = PERMIT - 1;
const PERMITS_MASK: u64 = !CLOSED & !OUTSIDERS_CLOSED & !SLOTS_MASK;

fn slots(state: u64) -> u64 {
    state & SLOTS_MASK
}

fn permits(state: u64) -> u64 {
    (state & PERMITS_MASK) >> PERMIT_SHIFT
}

/// Whether `state` refuses a reservation by `who`.
fn closed_to(state: u64, who: Submitter) -> bool {
    state & CLOSED != 0 || (who == Submitter::Outsider && state & OUTSIDERS_CLOSED != 0)
}

/// Why a push failed; the job is handed back.
#[derive(Debug)]
pub(crate) enum PushError {
    Full(JobRef),
    Closed(JobRef),
}

/// Who asks for a slot: after `close_to_outsiders` only the pool's own threads get one. The
/// CPU lanes are never closed to outsiders alone, so their pushes go as `Insider`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Submitter {
    /// One of the pool's own threads (a CPU worker or an I/O thread).
    Insider,
    /// Any other thread.
    Outsider,
}

/// The outcome of trying to take a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    Ok,
    Full,
    Closed,
}

/// Who waits for room: futures in arrival order (each entry a waiter id and its waker), and
/// how many threads wait on the condvar.
#[derive(Default)]
struct AsyncWaiters {
    queue: VecDeque<(u64, Waker)>,
    next_id: u64,
    threads: usize,
}

pub(crate) struct InjectionQueue {
    jobs: Injector<JobRef>,
    state: AtomicU64,
    capacity: u64,
    waiting: AtomicUsize,
    lock: Mutex<AsyncWaiters>,
    room: Condvar,
    /// Where a panic of a waiting future's waker goes.
    sink: PanicSink,
}

impl InjectionQueue {
    pub(crate) fn new(capacity: usize) -> Self {
        Self::with_sink(capacity, PanicSink::none())
    }

    /// A queue whose waiting futures' wakers report panics to `sink`.
    pub(crate) fn with_sink(capacity: usize, sink: PanicSink) -> Self {
        let capacity = capacity as u64;
        debug_assert!(capacity > 0 && capacity <= SLOTS_MASK >> 1);
        InjectionQueue {
            jobs: Injector::new(),
            state: AtomicU64::new(0),
            capacity,
            waiting: AtomicUsize::new(0),
            lock: Mutex::new(AsyncWaiters::default()),
            room: Condvar::new(),
            sink,
        }
    }

    /// Wakes a waiting future's waker: user code, so never under `lock`, and caught.
    fn wake(&self, waker: Option<Waker>) {
        if let Some(waker) = waker {
            wake_user(waker, |payload| {
                self.sink
                    .report_as("a waker of a future waiting for room", payload)
            });
        }
    }

    /// Takes a slot for `who`: `add` is 1 for a job, `PERMIT + 1` for a permit.
    fn reserve_with(&self, add: u64, who: Submitter) -> Slot {
        let mut current = self.state.load(Ordering::SeqCst);
        loop {
            if closed_to(current, who) {
                return Slot::Closed;
            }
            if slots(current) >= self.capacity {
                return Slot::Full;
            }
            match self.state.compare_exchange_weak(
                current,
                current + add,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return Slot::Ok,
                Err(actual) => current = actual,
            }
        }
    }

    fn reserve(&self, who: Submitter) -> Slot {
        self.reserve_with(1, who)
    }

    /// Takes between 1 and `max` slots at once, without waiting; `Err` is `Full` or `Closed`.
    pub(crate) fn reserve_many(&self, max: u64) -> Result<u64, Slot> {
        let mut current = self.state.load(Ordering::SeqCst);
        loop {
            if current & CLOSED != 0 {
                return Err(Slot::Closed);
            }
            let free = self.capacity.saturating_sub(slots(current));
            if free == 0 {
                return Err(Slot::Full);
            }
            let take = free.min(max);
            match self.state.compare_exchange_weak(
                current,
                current + take,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return Ok(take),
                Err(actual) => current = actual,
            }
        }
    }

    /// Waits for at least one slot (until `deadline`), then takes up to `max`.
    pub(crate) fn reserve_many_blocking(&self, max: u64) -> Result<u64, Slot> {
        match self.reserve_many(max) {
            Err(Slot::Full) => match self.wait_for_room(None, Submitter::Insider) {
                Slot::Ok => Ok(1 + self.reserve_many(max - 1).unwrap_or(0)),
                other => Err(other),
            },
            other => other,
        }
    }

    /// Pushes a job whose slot was taken with `reserve_many`.
    pub(crate) fn push_reserved(&self, job: JobRef) {
        self.jobs.push(job);
    }

    /// Pushes a job that was already admitted elsewhere (a task group's queued task, whose
    /// group bounds how many there can be): capacity is not checked, closing is.
    pub(crate) fn force_push(&self, job: JobRef) -> Result<(), PushError> {
        self.force_push_as(job, Submitter::Insider)
    }

    /// [`force_push`](Self::force_push) for `who`.
    pub(crate) fn force_push_as(&self, job: JobRef, who: Submitter) -> Result<(), PushError> {
        let mut current = self.state.load(Ordering::SeqCst);
        loop {
            if closed_to(current, who) {
                return Err(PushError::Closed(job));
            }
            match self.state.compare_exchange_weak(
                current,
                current + 1,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => break,
                Err(actual) => current = actual,
            }
        }
        self.jobs.push(job);
        Ok(())
    }

    /// Pushes without blocking.
    pub(crate) fn try_push(&self, job: JobRef) -> Result<(), PushError> {
        self.try_push_as(job, Submitter::Insider)
    }

    /// [`try_push`](Self::try_push) for `who`.
    pub(crate) fn try_push_as(&self, job: JobRef, who: Submitter) -> Result<(), PushError> {
        match self.reserve(who) {
            Slot::Ok => {
                self.jobs.push(job);
                Ok(())
            }
            Slot::Full => Err(PushError::Full(job)),
            Slot::Closed => Err(PushError::Closed(job)),
        }
    }

    /// Pushes, waiting for room until `deadline` (forever if `None`).
    pub(crate) fn push_blocking(
        &self,
        job: JobRef,
        deadline: Option<Instant>,
    ) -> Result<(), PushError> {
        self.push_blocking_as(job, deadline, Submitter::Insider)
    }

    /// [`push_blocking`](Self::push_blocking) for `who`.
    pub(crate) fn push_blocking_as(
        &self,
        job: JobRef,
        deadline: Option<Instant>,
        who: Submitter,
    ) -> Result<(), PushError> {
        let outcome = match self.reserve(who) {
            Slot::Full => self.wait_for_room(deadline, who),
            other => other,
        };
        match outcome {
            Slot::Ok => {
                self.jobs.push(job);
                Ok(())
            }
            Slot::Closed => Err(PushError::Closed(job)),
            Slot::Full => Err(PushError::Full(job)),
        }
    }

    /// Waits, registered in `waiting`, until a slot is reserved, the queue closes, or the
    /// deadline passes.
    fn wait_for_room(&self, deadline: Option<Instant>, who: Submitter) -> Slot {
        let mut guard = self.lock.lock();
        guard.threads += 1;
        self.waiting.fetch_add(1, Ordering::SeqCst);
        // Pairs with the fence in `release`: either we see its freed slot, or it sees us.
        fence(Ordering::SeqCst);
        let outcome = loop {
            match self.reserve(who) {
                Slot::Full => {}
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
                break self.reserve(who);
            }
        };
        guard.threads -= 1;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        // We may have consumed a wake-up for room we did not take (timed out), or room for more
        // than one: pass it on.
        let waker = self.pass_on(&mut guard);
        drop(guard);
        self.wake(waker);
        outcome
    }

    /// Wakes the next waiter if there is room for it. Called with the lock held; a future's
    /// waker is returned, for the caller to wake once it released the lock.
    #[must_use = "the returned waker must be woken"]
    fn pass_on(&self, waiters: &mut AsyncWaiters) -> Option<Waker> {
        if self.waiting.load(Ordering::SeqCst) > 0 && self.has_room() {
            self.wake_one(waiters)
        } else {
            None
        }
    }

    /// Wakes one waiter: a blocked thread if there is one (notified here), else the oldest
    /// waiting future, which leaves the queue and whose waker is returned, for the caller to
    /// wake once it released the lock. A woken waiter that loses the race for the slot waits
    /// again. (A future woken on a worker whose stack holds it below a nested `block_on` cannot
    /// be polled until the inner one returns; `block_on` re-polls the inner future when an
    /// outer one on the same worker is woken, so the slot is not left unused.) Called with the
    /// lock held.
    #[must_use = "the returned waker must be woken"]
    fn wake_one(&self, waiters: &mut AsyncWaiters) -> Option<Waker> {
        if waiters.threads > 0 {
            self.room.notify_one();
            return None;
        }
        waiters.queue.pop_front().map(|(_, waker)| waker)
    }

    /// Whether every slot seemed taken at the moment of a plain load: a hint for skipping work
    /// that only pays off with room (the reservation itself decides).
    pub(crate) fn looks_full(&self) -> bool {
        slots(self.state.load(Ordering::Relaxed)) >= self.capacity
    }

    fn has_room(&self) -> bool {
        let state = self.state.load(Ordering::SeqCst);
        state & CLOSED == 0 && slots(state) < self.capacity
    }

    /// Tries to take a permit for a future: `Ready` outcomes are `Ok` and `Closed`. On `Full`
    /// the waker is queued (under `waiter`, a per-future id slot) and woken when room appears.
    pub(crate) fn poll_permit(&self, waiter: &mut Option<u64>, waker: &Waker) -> Slot {
        match self.reserve_with(PERMIT + 1, Submitter::Insider) {
            Slot::Full => {}
            other => {
                self.forget_waiter(waiter, other == Slot::Ok);
                return other;
            }
        }
        // Cloned before the lock is taken: `clone` (and the old waker's `drop`) is user code.
        let mut waker = Some(waker.clone());
        let mut waiters = self.lock.lock();
        let id = match *waiter {
            Some(id) => id,
            None => {
                self.waiting.fetch_add(1, Ordering::SeqCst);
                // Pairs with the fence in `release`, as in `wait_for_room`.
                fence(Ordering::SeqCst);
                let id = waiters.next_id;
                waiters.next_id += 1;
                *waiter = Some(id);
                id
            }
        };
        match waiters.queue.iter_mut().find(|(queued, _)| *queued == id) {
            Some((_, queued_waker)) => {
                if queued_waker.will_wake(waker.as_ref().expect("set above")) {
                    // `waker` (the clone) is dropped below, after the lock.
                } else {
                    std::mem::swap(queued_waker, waker.as_mut().expect("set above"));
                }
            }
            None => waiters
                .queue
                .push_back((id, waker.take().expect("set above"))),
        }
        let outcome = match self.reserve_with(PERMIT + 1, Submitter::Insider) {
            Slot::Full => Slot::Full,
            other => {
                drop(waiters);
                drop(waker);
                self.forget_waiter(waiter, other == Slot::Ok);
                return other;
            }
        };
        drop(waiters);
        drop(waker);
        outcome
    }

    /// Unregisters a waiting future (it got a permit, saw the queue closed, or was dropped).
    pub(crate) fn forget_waiter(&self, waiter: &mut Option<u64>, took_slot: bool) {
        let Some(id) = waiter.take() else { return };
        let mut waiters = self.lock.lock();
        let removed = match waiters.queue.iter().position(|(queued, _)| *queued == id) {
            Some(pos) => waiters.queue.remove(pos),
            None => None,
        };
        let was_queued = removed.is_some();
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        // Woken (no longer queued) but leaving without the slot, or room for more: pass it on.
        let next = if !was_queued || took_slot {
            self.pass_on(&mut waiters)
        } else {
            None
        };
        drop(waiters);
        // This waiter's own waker (user code) is dropped outside the lock too.
        drop(removed);
        self.wake(next);
    }

    /// Turns a permit into a pushed job; refused (and the permit's slot freed) once closed.
    pub(crate) fn push_with_permit(&self, job: JobRef) -> Result<(), PushError> {
        let mut current = self.state.load(Ordering::SeqCst);
        loop {
            debug_assert!(permits(current) > 0);
            if current & CLOSED != 0 {
                self.release_permit();
                return Err(PushError::Closed(job));
            }
            match self.state.compare_exchange_weak(
                current,
                current - PERMIT,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => break,
                Err(actual) => current = actual,
            }
        }
        self.jobs.push(job);
        Ok(())
    }

    /// Gives an unused permit's slot back.
    pub(crate) fn release_permit(&self) {
        self.release(PERMIT + 1);
    }

    /// Frees `n` slots taken with `reserve_many` whose jobs were folded into one pushed job (a
    /// `spawn_all` batch): the worker that starts the batch gives them back.
    pub(crate) fn release_slots(&self, n: u64) {
        if n > 0 {
            self.release(n);
        }
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
        self.release(taken as u64);
        Some(first)
    }

    /// Takes one job, freeing its slot.
    pub(crate) fn take_one(&self) -> Option<JobRef> {
        let job = self.steal_one()?;
        self.release(1);
        Some(job)
    }

    /// Takes every job until none is reserved (waiting out submissions that reserved a slot but
    /// have not pushed yet), handing each to `f`. For drains after `close()`.
    pub(crate) fn drain(&self, mut f: impl FnMut(JobRef)) {
        while self.len() > 0 {
            match self.take_one() {
                Some(job) => f(job),
                None => crate::sync::thread::yield_now(),
            }
        }
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

    fn release(&self, amount: u64) {
        self.state.fetch_sub(amount, Ordering::SeqCst);
        // Pairs with the fence a blocked submitter issues after registering in `waiting`.
        fence(Ordering::SeqCst);
        if self.waiting.load(Ordering::SeqCst) > 0 {
            let waker = self.wake_one(&mut self.lock.lock());
            self.wake(waker);
        }
    }

    /// Refuses every later reservation by a thread that is not one of the pool's own, and
    /// releases every blocked submitter (the outsiders among them are refused, the others wait
    /// on).
    pub(crate) fn close_to_outsiders(&self) {
        self.state.fetch_or(OUTSIDERS_CLOSED, Ordering::SeqCst);
        self.release_all();
    }

    /// Refuses every later reservation and releases every blocked submitter.
    pub(crate) fn close(&self) {
        self.state.fetch_or(CLOSED, Ordering::SeqCst);
        self.release_all();
    }

    /// Releases every blocked submitter after a close. The close was an RMW on `state`; the
    /// fence pairs with the one a submitter issues after registering in `waiting` and before it
    /// re-tries (as in `release`): either it sees the close and leaves, or we see it waiting.
    /// So a close with nobody waiting takes no lock and notifies nobody.
    fn release_all(&self) {
        fence(Ordering::SeqCst);
        if self.waiting.load(Ordering::SeqCst) == 0 {
            return;
        }
        let mut waiters = self.lock.lock();
        self.room.notify_all();
        let woken = std::mem::take(&mut waiters.queue);
        drop(waiters);
        for (_, waker) in woken {
            self.wake(Some(waker));
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.state.load(Ordering::SeqCst) & CLOSED != 0
    }

    /// Jobs queued or about to be (reserved job slots, permits excluded). Zero means no job is
    /// in flight.
    pub(crate) fn len(&self) -> usize {
        let state = self.state.load(Ordering::SeqCst);
        (slots(state) - permits(state)) as usize
    }

    /// [`len`](Self::len) read with a read-modify-write (adding nothing): ordered against every
    /// reservation, which is an RMW on the same word. A worker's final re-check before it sleeps
    /// reads the queue this way, which is what lets a submitter skip the fence when it announces
    /// its job (see `sched/sleep`, "fence-free publication").
    pub(crate) fn len_synced(&self) -> usize {
        let state = self.state.fetch_add(0, Ordering::SeqCst);
        (slots(state) - permits(state)) as usize
    }

    /// Slots in use: queued jobs, reserved submissions and outstanding permits (for the loom
    /// models, which check that every slot is given back).
    #[cfg(corepool_loom)]
    pub(crate) fn slots_in_use(&self) -> usize {
        slots(self.state.load(Ordering::SeqCst)) as usize
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity as usize
    }
}
