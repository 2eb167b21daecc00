//! Fork-join: `join(a, b)` runs `a` here while `b` is offered to thieves.
//!
//! Invariants:
//! - `b` lives on this stack frame; its `JobRef` is pushed on this worker's deque and the frame
//!   is not left until `b` is either popped back (then run inline, or dropped unrun if `a`
//!   panicked) or its latch is set by the thief that ran it.
//! - While `b` is stolen, this worker executes other jobs (so nested joins never deadlock, even
//!   with one thread) and sleeps only through the sleep protocol, whose re-check reads the latch.
//! - A panic in `a` is re-raised only after `b` can no longer touch the frame; `a`'s panic wins
//!   over `b`'s.

use crate::job::StackJob;
use crate::latch::SpinLatch;
use crate::unwind;
use crate::worker::WorkerThread;

/// `join` on a worker of the pool that should run it.
pub(crate) fn join_on_worker<A, B, RA, RB>(worker: &WorkerThread, a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    let job_b = StackJob::new(b, SpinLatch::new(&worker.registry, worker.index));
    // SAFETY: this frame does not return before `job_b` is popped back or its latch is set (the
    // loop below), and nothing between here and there can unwind: `a` is caught, and executing
    // a job never unwinds.
    let job_b_ref = unsafe { job_b.as_job_ref() };
    worker.push(job_b_ref);
    let result_a = unwind::catch(a);
    while !job_b.latch.probe() {
        match worker.pop() {
            Some(job) if job == job_b_ref => {
                return match result_a {
                    Ok(ra) => (ra, job_b.run_inline()),
                    Err(payload) => {
                        job_b.discard();
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
    match result_a {
        Ok(ra) => (ra, job_b.into_result()),
        Err(payload) => {
            drop(job_b);
            std::panic::resume_unwind(payload)
        }
    }
}
