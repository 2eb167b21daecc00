//! Handle-less tasks (`spawn_detached`): one box holding the closure and its submit time, and
//! nothing else. No state word, no reference count, no output slot: the job reference is the
//! task's only owner, so there is nobody to race with.
//!
//! Invariants:
//! - The box is made in [`new_detached`] and freed exactly once: by the executor (run or
//!   cancel), which moves the closure out first, or by a refused submission, which gives the
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

/// The task: what `execute` needs, in one box.
struct DetachedTask<F> {
    /// Submit time in the pool's metrics clock if this task is sampled for latency, else 0.
    submitted: u64,
    func: F,
}

impl<F: FnOnce() + Send> Job for DetachedTask<F> {
    unsafe fn execute(this: *const Self, mode: Mode, registry: &Registry) -> Outcome {
        // SAFETY: `this` came from `Box::into_raw` in `submit`, and a job is executed once.
        let task = unsafe { Box::from_raw(this.cast_mut()) };
        // The box is freed here, before the closure runs: nothing of it is needed after.
        let DetachedTask { submitted, func } = *task;
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

/// A handle-less task not yet handed to a queue.
pub(crate) struct UnsubmittedDetached<F>(Box<DetachedTask<F>>);

/// Allocates a handle-less task for `func`, submitted as `submitted` says.
pub(crate) fn new_detached<F>(func: F, submitted: Submit) -> UnsubmittedDetached<F>
where
    F: FnOnce() + Send + 'static,
{
    UnsubmittedDetached(Box::new(DetachedTask {
        submitted: submitted.at,
        func,
    }))
}

impl<F> Unsubmitted<F> for UnsubmittedDetached<F>
where
    F: FnOnce() + Send + 'static,
{
    fn submit(
        self,
        push: impl FnOnce(JobRef) -> Result<(), PushError>,
    ) -> Result<(), SpawnError<F>> {
        let raw = Box::into_raw(self.0);
        // SAFETY: the box leaked here is owned by the job reference until the job is executed
        // (which frees it) or refused (reclaimed below).
        let job = unsafe { JobRef::new(raw.cast_const()) };
        let refusal = match push(job) {
            Ok(()) => return Ok(()),
            Err(refusal) => refusal,
        };
        // SAFETY: the queue refused the job, so the box leaked above is ours again.
        let task = unsafe { Box::from_raw(raw) };
        Err(refused(refusal, task.func))
    }
}
