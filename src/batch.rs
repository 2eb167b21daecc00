//! Batches: `spawn_all` submits many tasks with one reservation per batch, and `join_all`
//! collects settled results.
//!
//! Invariants:
//! - From outside the pool, a batch takes up to `BATCH` queue slots with one CAS (waiting only
//!   when none is free), pushes exactly that many jobs, and wakes workers once. Capacity is never
//!   exceeded, and a closed pool cancels the rest (each handle reports `Cancelled`): every
//!   closure is either queued once or dropped unrun with its handle told.
//! - `join_all` returns one settled result per handle, in input order, failures included; on a
//!   worker it keeps executing other tasks while it waits.

use crate::error::JoinError;
use crate::injection_queue::Reserve;
use crate::job_handle::{new_task, JoinHandle, UnsubmittedTask};
use crate::registry::Registry;
use crate::worker::WorkerThread;
use std::sync::Arc;

/// Tasks reserved and pushed per batch.
const BATCH: usize = 256;

/// Spawns every closure of `tasks` on `registry`, in batches.
pub(crate) fn spawn_all<I, F, T>(registry: &Arc<Registry>, tasks: I) -> Vec<JoinHandle<T>>
where
    I: IntoIterator<Item = F>,
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let mut tasks = tasks.into_iter();
    let mut handles = Vec::with_capacity(tasks.size_hint().0);
    if let Some(worker) = WorkerThread::current().filter(|w| Arc::ptr_eq(&w.registry, registry)) {
        for func in tasks {
            let (task, handle) = new_task(func, registry.stats.sample_submit());
            worker.push_or_run(task.into_job_ref());
            registry.record_submission(Ok(()), false);
            handles.push(handle);
        }
        return handles;
    }
    let mut batch: Vec<UnsubmittedTask<F, T>> = Vec::with_capacity(BATCH);
    let mut closed = false;
    loop {
        batch.clear();
        for func in tasks.by_ref().take(BATCH) {
            let (task, handle) = new_task(func, registry.stats.sample_submit());
            batch.push(task);
            handles.push(handle);
        }
        if batch.is_empty() {
            return handles;
        }
        let mut pending = batch.drain(..);
        while pending.len() > 0 {
            if closed {
                for task in pending.by_ref() {
                    task.cancel_unsubmitted();
                    registry.record_submission(Err(false), false);
                }
                break;
            }
            match registry
                .injected
                .reserve_many_blocking(pending.len() as u64)
            {
                Ok(slots) => {
                    for task in pending.by_ref().take(slots as usize) {
                        registry.injected.push_reserved(task.into_job_ref());
                        registry.record_submission(Ok(()), false);
                    }
                    registry.sleep.notify_new_work();
                }
                Err(Reserve::Closed) | Err(_) => closed = true,
            }
        }
    }
}

/// Waits for every handle and returns their settled results in input order.
pub(crate) fn join_all<T, I>(handles: I) -> Vec<Result<T, JoinError>>
where
    I: IntoIterator<Item = JoinHandle<T>>,
{
    handles.into_iter().map(JoinHandle::join).collect()
}

/// `join_all` as a future: every result, settled, in input order.
pub(crate) async fn join_all_async<T, I>(handles: I) -> Vec<Result<T, JoinError>>
where
    I: IntoIterator<Item = JoinHandle<T>>,
{
    let mut results = Vec::new();
    for handle in handles {
        results.push(handle.await);
    }
    results
}
