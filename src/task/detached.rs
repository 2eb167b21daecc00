//! Handle-less tasks (`spawn_detached`): one block holding the closure and its submit time,
//! and nothing else. No state word, no reference count, no output slot: the job reference is
//! the task's only owner, so there is nobody to race with. A task that fits a recycled block
//! (`recycle.rs`) lives in one; a larger one in a box of its own.
//!
//! Invariants:
//! - The block is made in [`new_detached`] and given up exactly once: by the executor (run or
//!   cancel), which moves the task out first, or by a refused submission, which gives the
//!   closure back inside the `SpawnError`.
//! - A panic of the closure goes to the pool's panic handler, as a detached task's does; a
//!   panic of its `Drop` when it is cancelled (shutdown) goes there too. Neither reaches the
//!   worker loop.
//! - The task counts in the metrics as a spawn, a completion (or panic), or a cancel, exactly
//!   as a task with a handle does.

use crate::error::SpawnError;
use crate::metrics::Submit;
use crate::sched::injection::PushError;
use crate::sched::job::{Job, JobRef, Mode, Outcome};
use crate::sched::registry::Registry;
use crate::sched::unwind;
use crate::sched::worker::WorkerThread;
use crate::task::cell::{record_ran, refused, start_time, Unsubmitted};
use crate::task::recycle;

/// The task: what `execute` needs, in one box.
struct DetachedTask<F> {
    /// Submit time in the pool's metrics clock if this task is sampled for latency, else 0.
    submitted: u64,
    func: F,
}

impl<F: FnOnce() + Send> Job for DetachedTask<F> {
    unsafe fn execute(this: *const Self, mode: Mode, registry: &Registry) -> Outcome {
        // SAFETY: `this` came from `new_detached` by way of `submit`, and a job is executed
        // once. The block is given up here, before the closure runs: nothing of it is needed
        // after.
        let DetachedTask { submitted, func } = unsafe { take_out(this.cast_mut()) };
        if mode == Mode::Cancel {
            unwind::guarded(
                move || drop(func),
                |payload| registry.report_panic("dropping a cancelled task's closure", payload),
            );
            return Outcome::Cancelled;
        }
        let started = start_time(registry, submitted);
        let output = unwind::catch(func);
        let outcome = record_ran(registry, mode, submitted, started, output.is_err());
        if let Err(payload) = output {
            // The panic handler is user code and may block: a task handed to this worker to
            // run next goes where a peer can take it (as for a task with a handle).
            if let Some(worker) = WorkerThread::current() {
                worker.release_handed();
            }
            registry.report_detached_panic(payload);
        }
        outcome
    }
}

/// A handle-less task not yet handed to a queue: the only pointer to its block.
pub(crate) struct UnsubmittedDetached<F>(*mut DetachedTask<F>);

/// Allocates a handle-less task for `func`, submitted as `submitted` says: in a recycled block
/// if it fits one, else in a box.
pub(crate) fn new_detached<F>(func: F, submitted: Submit) -> UnsubmittedDetached<F>
where
    F: FnOnce() + Send + 'static,
{
    let task = DetachedTask {
        submitted: submitted.at,
        func,
    };
    if recycle::fits::<DetachedTask<F>>() {
        let block = recycle::take().cast::<DetachedTask<F>>();
        // SAFETY: a block of `recycle::BLOCK`, which `fits` says is large and aligned enough,
        // and unused (`take`).
        unsafe { block.write(task) };
        UnsubmittedDetached(block)
    } else {
        UnsubmittedDetached(Box::into_raw(Box::new(task)))
    }
}

/// Moves the task out of its block and gives the block up.
///
/// # Safety
/// `task` came from [`new_detached`], and this is the one time it is given up.
unsafe fn take_out<F>(task: *mut DetachedTask<F>) -> DetachedTask<F> {
    // SAFETY: a live task, read once; the block is not touched after this but to free it.
    let moved = unsafe { task.read() };
    if recycle::fits::<DetachedTask<F>>() {
        // SAFETY: the block came from `recycle::take` (`new_detached`) and is given back once.
        unsafe { recycle::give_back(task.cast()) };
    } else {
        // SAFETY: the box made by `new_detached`, its contents moved out above: freed without
        // dropping them again.
        drop(unsafe { Box::from_raw(task.cast::<std::mem::MaybeUninit<DetachedTask<F>>>()) });
    }
    moved
}

impl<F> Unsubmitted<F> for UnsubmittedDetached<F>
where
    F: FnOnce() + Send + 'static,
{
    fn submit(
        self,
        push: impl FnOnce(JobRef) -> Result<(), PushError>,
    ) -> Result<(), SpawnError<F>> {
        let raw = self.0;
        // SAFETY: the block is owned by the job reference until the job is executed (which
        // gives it up) or refused (reclaimed below).
        let job = unsafe { JobRef::new(raw.cast_const()) };
        let refusal = match push(job) {
            Ok(()) => return Ok(()),
            Err(refusal) => refusal,
        };
        // SAFETY: the queue refused the job, so the block is ours again, given up once here.
        let task = unsafe { take_out(raw) };
        Err(refused(refusal, task.func))
    }
}
