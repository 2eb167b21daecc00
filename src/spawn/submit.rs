//! The submit path: how a new task reaches a pool, decided once from the calling thread.
//!
//! Invariants:
//! - A task submitted from one of the target pool's own workers never blocks: it goes to that
//!   worker's deque (or, for another lane, to the lane's queue), and runs right here when that
//!   is full (caller-runs), so spawning in a loop keeps memory bounded.
//! - From a worker of *another* pool, a submission that may wait for room waits while that
//!   worker keeps executing its own pool's work (`WorkerThread::push_helping`), so pools that
//!   feed each other cannot wedge.
//! - From any other thread, the submission goes through the target's bounded injection queue
//!   and waits (or not) as `wait` says. A refused task is handed back whole: nothing is
//!   dropped.

use crate::error::SpawnError;
use crate::sched::injection::PushError;
use crate::sched::lanes::Lane;
use crate::sched::registry::{Registry, Wait};
use crate::sched::worker::Caller;
use crate::task::cell::{new_task, Unsubmitted, UnsubmittedTask};
use crate::task::detached::new_detached;
use crate::task::handle::JoinHandle;
use std::sync::Arc;

/// Which pool a spawn goes to.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Target {
    /// The CPU workers, through `lane`.
    Cpu(Lane),
    /// The blocking-I/O pool.
    Io,
}

/// The one spawn path behind every `spawn*` method: a new task handed to `target`. The
/// handle is returned either way; if the task was refused it reports `Cancelled` and the
/// closure comes back in the error (dropping the error drops the closure unrun).
pub(crate) fn spawn_to<F, T>(
    registry: &Arc<Registry>,
    func: F,
    wait: Wait,
    target: Target,
) -> (JoinHandle<T>, Result<(), SpawnError<F>>)
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let submit = registry.stats.sample_submit();
    let submit = match target {
        Target::Cpu(_) => submit,
        Target::Io => submit.on_io(),
    };
    let (task, handle) = new_task(func, submit);
    let submitted = match target {
        Target::Cpu(lane) => submit_lane(registry, task, wait, lane),
        Target::Io => submit_blocking(registry, task, wait),
    };
    (handle, submitted)
}

/// A handle-less task (`spawn_detached`) handed to `registry`'s Normal lane by the path that
/// fits the calling thread, counted as a spawn like any other.
pub(crate) fn spawn_detached_to<F>(
    registry: &Arc<Registry>,
    func: F,
    wait: Wait,
) -> Result<(), SpawnError<F>>
where
    F: FnOnce() + Send + 'static,
{
    let task = new_detached(func, registry.stats.sample_submit());
    submit_lane(registry, task, wait, Lane::Normal)
}

/// Hands a new task to `registry` by the path that fits the calling thread.
pub(crate) fn submit<F, T>(
    registry: &Arc<Registry>,
    task: UnsubmittedTask<F, T>,
    wait: Wait,
) -> Result<(), SpawnError<F>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    submit_lane(registry, task, wait, Lane::Normal)
}

/// Hands a new task to `registry`'s `lane` by the path that fits the calling thread.
pub(crate) fn submit_lane<F>(
    registry: &Arc<Registry>,
    task: impl Unsubmitted<F>,
    wait: Wait,
    lane: Lane,
) -> Result<(), SpawnError<F>> {
    let (result, own) = submit_lane_unrecorded(registry, task, wait, lane);
    registry.record_cpu_submission(
        result.as_ref().map(|_| ()).map_err(SpawnError::is_full),
        own,
    );
    result
}

/// [`submit_lane`] without counting the outcome in the metrics; also returns the index of the
/// calling worker if it is one of `registry`'s (for the caller's own count).
pub(crate) fn submit_lane_unrecorded<F>(
    registry: &Arc<Registry>,
    task: impl Unsubmitted<F>,
    wait: Wait,
    lane: Lane,
) -> (Result<(), SpawnError<F>>, Option<usize>) {
    let caller = Caller::of(registry);
    let result = match caller {
        Caller::Own(worker) => task.submit(|job| {
            match lane {
                Lane::Normal => worker.push_spawned(job),
                // Another lane from a worker: never block; run it here if that queue is full.
                // A task spawned onto this very worker goes to its inbox too, not its deque:
                // peers steal from a deque at once, but take from an inbox only once this
                // worker has been busy past its patience.
                _ => match registry.inject_lane(job, Wait::No, lane) {
                    Ok(()) => {}
                    Err(PushError::Full(job)) => worker.run_inline(job),
                    Err(closed) => return Err(closed),
                },
            }
            Ok(())
        }),
        Caller::OtherPool(worker) if !matches!(wait, Wait::No) => task.submit(|job| {
            worker.push_helping(job, wait, |job| registry.inject_lane(job, Wait::No, lane))
        }),
        Caller::OtherPool(_) | Caller::Outside => {
            task.submit(|job| registry.inject_lane(job, wait, lane))
        }
    };
    (result, caller.own().map(|w| w.index))
}

/// Hands a new task to `registry`'s blocking-I/O pool.
pub(crate) fn submit_blocking<F, T>(
    registry: &Arc<Registry>,
    task: UnsubmittedTask<F, T>,
    wait: Wait,
) -> Result<(), SpawnError<F>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let result = match Caller::of(registry) {
        // A CPU worker (of this pool or another) never blocks in the I/O queue: it waits for
        // room while executing its pool's work.
        Caller::Own(worker) | Caller::OtherPool(worker) if !matches!(wait, Wait::No) => task
            .submit(|job| {
                worker.push_helping(job, wait, |job| {
                    registry.blocking.submit(registry, job, Wait::No)
                })
            }),
        _ => task.submit(|job| registry.blocking.submit(registry, job, wait)),
    };
    registry.record_submission(
        result.as_ref().map(|_| ()).map_err(SpawnError::is_full),
        true,
    );
    result
}
