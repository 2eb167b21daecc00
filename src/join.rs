//! Fork-join: `join(a, b)` runs `a` here while `b` is offered to thieves — on demand.
//!
//! Invariants:
//! - `b` lives on this stack frame. Its `JobRef` is first only recorded in this worker's stack
//!   of pending frames; it is *published* (pushed on the worker's deque, where thieves can
//!   steal it) only while some worker is hungry (searching or asleep), oldest frame first, at a
//!   later `join` of this worker or right now. The outermost join of a worker is published at
//!   once (its `a` may never reach another join). Unpublished, `b` is simply run inline after
//!   `a`: no deque traffic, no latch, no fence. Published frames always form a prefix of the
//!   stack.
//! - A published `b` is not left behind: the frame is not left until `b` is either popped back
//!   (then run inline, or dropped unrun if `a` panicked) or its latch is set by the thief.
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
    let depth = worker.frames_push(job_b_ref);
    if depth == 0 {
        // The outermost join on this worker is always offered at once: its `a` may run long
        // without ever reaching another join, where a pending frame could be published.
        worker.publish_next();
    } else {
        worker.publish_if_hungry();
    }
    let result_a = unwind::catch(a);
    if !worker.frames_pop(depth) {
        // Never published: nobody else can have seen `b`.
        return match result_a {
            Ok(ra) => (ra, job_b.run_inline()),
            Err(payload) => {
                job_b.discard();
                std::panic::resume_unwind(payload)
            }
        };
    }
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
