//! Fork-join: `join(a, b)` runs `a` here while `b` is offered to thieves — on demand.
//!
//! Invariants:
//! - `b` lives on this stack frame, in a `JoinJob`. Its `JobRef` is first only recorded in this
//!   worker's fixed array of pending frames; it is *published* (pushed on the worker's deque,
//!   where thieves can steal it) only while some worker is hungry (searching or asleep), oldest
//!   frame first, at a later `join` of this worker or right now. The outermost join of a worker
//!   is published at once (its `a` may never reach another join). Unpublished, `b` is simply
//!   run inline after `a`: no deque traffic, no latch, no fence, no shared cache line. Published
//!   frames always form a prefix of the recorded frames; frames nested deeper than the array
//!   holds are never recorded, so never published (they are the smallest pieces of work).
//! - A published `b` is not left behind: the frame is not left until `b` is either popped back
//!   (then run inline, or dropped unrun if `a` panicked) or its latch is set by the thief.
//! - `b`'s closure is consumed exactly once (run by the owner, run by the thief, or dropped by
//!   the owner), and its result slot is written only by an executor and read only after the
//!   latch is set; the job itself has no drop glue, so every path says what it consumes.
//! - While `b` is stolen, this worker executes other jobs (so nested joins never deadlock, even
//!   with one thread) and sleeps only through the sleep protocol, whose re-check reads the latch.
//! - A panic in `a` is re-raised only after `b` can no longer touch the frame; `a`'s panic wins
//!   over `b`'s.

use crate::job::{Job, JobRef, Mode, Outcome};
use crate::latch::{JoinLatch, Latch};
use crate::registry::Registry;
use crate::sync::UnsafeCell;
use crate::unwind::{self, Payload};
use crate::worker::WorkerThread;
use std::mem::{ManuallyDrop, MaybeUninit};

/// The `b` half of a join, on the joining worker's stack.
struct JoinJob<F, R> {
    latch: JoinLatch,
    /// Consumed exactly once: see the invariants.
    func: UnsafeCell<ManuallyDrop<F>>,
    /// Written by an executor before it sets the latch; uninitialized otherwise.
    result: UnsafeCell<MaybeUninit<Result<R, Payload>>>,
}

impl<F: FnOnce() -> R + Send, R: Send> JoinJob<F, R> {
    #[inline(always)]
    fn new(func: F, owner: &WorkerThread) -> Self {
        JoinJob {
            latch: JoinLatch::new(owner),
            func: UnsafeCell::new(ManuallyDrop::new(func)),
            result: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// Runs the closure here.
    ///
    /// # Safety
    /// The job was never executed and never will be: it was not published, or it was popped
    /// back from the owner's own deque. Called at most once, and not together with `discard`.
    #[inline(always)]
    unsafe fn run_inline(&self) -> R {
        // SAFETY: exclusive and unconsumed (caller contract).
        let func = self
            .func
            .with_mut(|f| unsafe { ManuallyDrop::take(&mut *f) });
        func()
    }

    /// Drops the closure unrun (the owner took its job back after `a` panicked).
    ///
    /// # Safety
    /// As for `run_inline`.
    unsafe fn discard(&self) {
        // SAFETY: exclusive and unconsumed (caller contract).
        self.func
            .with_mut(|f| unsafe { ManuallyDrop::drop(&mut *f) });
    }

    /// The result written by the executor.
    ///
    /// # Safety
    /// The latch is set (the executor wrote the slot and will not touch the job again); called
    /// once.
    unsafe fn take_result(&self) -> Result<R, Payload> {
        // SAFETY: initialized before the latch was set, whose SeqCst load ordered it first; read
        // once (caller contract).
        self.result.with_mut(|r| unsafe { (*r).assume_init_read() })
    }
}

impl<F: FnOnce() -> R + Send, R: Send> Job for JoinJob<F, R> {
    unsafe fn execute(this: *const Self, _mode: Mode, _registry: &Registry) -> Outcome {
        // A join half is structured work (its owner waits for it): it runs even in
        // `Mode::Cancel`.
        // SAFETY: the owner keeps the job alive until its latch is set, which happens last.
        let this = unsafe { &*this };
        // SAFETY: a published job is executed once, by one thread, and the owner does not touch
        // the closure unless it pops the job back (then this never runs).
        let func = this
            .func
            .with_mut(|f| unsafe { ManuallyDrop::take(&mut *f) });
        let result = unwind::catch(func);
        this.result.with_mut(|r| {
            // SAFETY: exclusive until the latch is set; nobody else writes the slot.
            unsafe { (*r).write(result) };
        });
        // SAFETY: `this.latch` is live; after `set` returns nothing of `this` is touched.
        unsafe { JoinLatch::set(&this.latch) };
        Outcome::Ran
    }
}

/// `join` on a worker of the pool that should run it.
#[inline(always)]
pub(crate) fn join_on_worker<A, B, RA, RB>(worker: &WorkerThread, a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    let job_b = JoinJob::new(b, worker);
    // SAFETY: this frame does not return before `job_b` is popped back or its latch is set
    // (`join_published`), or it was never published; nothing between here and there can
    // unwind: `a` is caught, and executing a job never unwinds.
    let job_b_ref = unsafe { JobRef::new(&job_b) };
    let depth = worker.frames_push(job_b_ref);
    if depth == 0 {
        // The outermost join on this worker is always offered at once: its `a` may run long
        // without ever reaching another join, where a pending frame could be published.
        worker.publish_next();
    } else {
        worker.publish_if_hungry();
    }
    let result_a = unwind::catch(a);
    if worker.frames_pop(depth) {
        return join_published(worker, &job_b, job_b_ref, result_a);
    }
    // Never published: nobody else can have seen `b`.
    match result_a {
        // SAFETY: unpublished, so never executed; consumed once here.
        Ok(ra) => (ra, unsafe { job_b.run_inline() }),
        Err(payload) => {
            // SAFETY: as above.
            unsafe { job_b.discard() };
            std::panic::resume_unwind(payload)
        }
    }
}

/// The rest of a join whose `b` was published: pop it back, or help until its latch is set.
#[inline(never)]
fn join_published<F, RA, RB>(
    worker: &WorkerThread,
    job_b: &JoinJob<F, RB>,
    job_b_ref: JobRef,
    result_a: Result<RA, Payload>,
) -> (RA, RB)
where
    F: FnOnce() -> RB + Send,
    RB: Send,
{
    while !job_b.latch.probe() {
        match worker.pop() {
            Some(job) if job == job_b_ref => {
                // Popped back from our own deque: nobody executed it, nobody else can now.
                return match result_a {
                    // SAFETY: popped back unexecuted; consumed once here.
                    Ok(ra) => (ra, unsafe { job_b.run_inline() }),
                    Err(payload) => {
                        // SAFETY: as above.
                        unsafe { job_b.discard() };
                        std::panic::resume_unwind(payload)
                    }
                };
            }
            Some(other) => worker.execute(other),
            None => {
                worker.wait_until(&|| job_b.latch.probe());
                break;
            }
        }
    }
    // SAFETY: the latch is set; the result is read once.
    let result_b = unsafe { job_b.take_result() };
    match (result_a, result_b) {
        (Ok(ra), Ok(rb)) => (ra, rb),
        (Ok(_), Err(payload)) => std::panic::resume_unwind(payload),
        (Err(payload), result_b) => {
            drop(result_b);
            std::panic::resume_unwind(payload)
        }
    }
}
