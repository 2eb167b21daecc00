//! Install: running a closure on a pool's worker from anywhere, and getting its value back.
//!
//! Invariants:
//! - On a worker of the target pool the closure simply runs there.
//! - From outside any pool the caller injects a stack job (respecting backpressure) and blocks
//!   on a `LockLatch`; the frame outlives the job because the caller waits for the latch.
//! - From a worker of *another* pool the caller never blocks its own pool: it retries the
//!   injection while executing its own pool's work, then waits on a cross-pool latch while
//!   still helping, so two pools installing into each other cannot deadlock.
//! - If the target pool is shut down the closure runs on the calling thread: structured work is
//!   never dropped and never hangs.

use crate::sched::injection::PushError;
use crate::sched::job::StackJob;
use crate::sched::latch::{LockLatch, SpinLatch};
use crate::sched::registry::{Registry, Wait};
use crate::sched::unwind::AbortOnUnwind;
use crate::sched::worker::{Caller, WorkerThread};
use std::sync::Arc;

/// Runs `op` on a worker of `registry` and returns its value (re-raising its panic).
pub(crate) fn install<OP, R>(registry: &Arc<Registry>, op: OP) -> R
where
    OP: FnOnce() -> R + Send,
    R: Send,
{
    match Caller::of(registry) {
        Caller::Own(_) => op(),
        Caller::OtherPool(worker) => install_from_other_pool(worker, registry, op),
        Caller::Outside => install_from_outside(registry, op),
    }
}

fn install_from_outside<OP, R>(registry: &Registry, op: OP) -> R
where
    OP: FnOnce() -> R + Send,
    R: Send,
{
    let job = StackJob::new(op, LockLatch::new());
    // SAFETY: we wait on the latch below before `job` leaves this frame, or take the job back
    // unexecuted when the queue refuses it.
    let job_ref = unsafe { job.as_job_ref() };
    match registry.inject(job_ref, Wait::Forever) {
        Ok(()) => {
            let shared = AbortOnUnwind::new("an install waiting for its job");
            job.latch.wait();
            shared.disarm();
            job.into_result()
        }
        Err(_closed) => job.run_inline(),
    }
}

fn install_from_other_pool<OP, R>(worker: &WorkerThread, target: &Registry, op: OP) -> R
where
    OP: FnOnce() -> R + Send,
    R: Send,
{
    let job = StackJob::new(op, SpinLatch::cross(&worker.registry, worker.index));
    // SAFETY: as in `install_from_outside`: we wait for the latch, or the job is refused.
    let job_ref = unsafe { job.as_job_ref() };
    // From the first successful push until the latch is set, the target pool may use `job`.
    let shared = AbortOnUnwind::new("an install waiting for its job in another pool");
    if let Err(PushError::Closed(_) | PushError::Full(_)) =
        worker.push_helping(job_ref, Wait::Forever, |job| target.inject(job, Wait::No))
    {
        // Closed (`Wait::Forever` never gives up on a full queue): the job is ours again.
        shared.disarm();
        return job.run_inline();
    }
    worker.wait_until(&|| job.latch.probe());
    shared.disarm();
    job.into_result()
}
