//! `blocking(f)`: a CPU worker hands a blocking closure to the I/O pool and keeps working.
//!
//! Invariants:
//! - The closure lives in a stack job on the calling worker's frame; the frame is not left
//!   until the job's latch is set (it ran on an I/O thread) or the job was refused by a closed
//!   queue and ran inline instead. It is never dropped unrun.
//! - While the closure runs elsewhere, the worker executes its own pool's tasks and sleeps only
//!   through the sleep protocol, whose re-check reads the latch; the I/O thread's `set` wakes it.

use crate::sched::injection::PushError;
use crate::sched::job::StackJob;
use crate::sched::latch::SpinLatch;
use crate::sched::registry::{Registry, Wait};
use crate::sched::unwind::AbortOnUnwind;
use crate::sched::worker::WorkerThread;
use std::sync::Arc;

/// Runs `func` on `registry`'s I/O pool if called on a CPU worker (of any pool), helping meanwhile;
/// otherwise runs it here.
pub(crate) fn blocking_on<F, R>(registry: &Arc<Registry>, func: F) -> R
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    let Some(worker) = WorkerThread::current() else {
        return func();
    };
    let latch = if Arc::ptr_eq(&worker.registry, registry) {
        SpinLatch::new(&worker.registry, worker.index)
    } else {
        SpinLatch::cross(&worker.registry, worker.index)
    };
    let job = StackJob::new(func, latch);
    // SAFETY: we wait for the latch below before `job` leaves this frame, unless the queue
    // refused the job, in which case it is unexecuted and we run it inline.
    let job_ref = unsafe { job.as_job_ref() };
    // From the push until the latch is set, an I/O thread may use `job`.
    let shared = AbortOnUnwind::new("a blocking call waiting for its I/O thread");
    let pushed = worker.push_helping(job_ref, Wait::Forever, |job| {
        registry.blocking.submit(registry, job, Wait::No)
    });
    match pushed {
        Ok(()) => {
            worker.wait_until(&|| job.latch.probe());
            shared.disarm();
            job.into_result()
        }
        Err(PushError::Closed(_) | PushError::Full(_)) => {
            shared.disarm();
            job.run_inline()
        }
    }
}
