//! Broadcasts: one call of an operation on every worker of a pool (rayon-core's `broadcast`
//! and `spawn_broadcast`).
//!
//! Invariants:
//! - The call for worker `i` is delivered to worker `i`'s inbox, which its owner takes from
//!   right after its own deque, also while it waits inside a join or a scope, so a broadcast
//!   started on a worker reaches that worker too.
//! - Each call holds its worker's inbox closed to peers from before it is queued until it runs
//!   (`Inbox::hold_for_owner`), so a busy owner's call waits for the owner instead of being
//!   taken by a peer. A peer that took it anyway (it read the hold before it was set) does not
//!   run it: it goes back to its owner's inbox, still held, and the peer backs off for a moment.
//! - Once the pool is shut down (its inboxes closed) a call that cannot reach its worker runs
//!   on whichever thread holds it, with its worker's index: a blocking `broadcast` always
//!   returns, and nothing is dropped.

use crate::sched::job::{HeapJob, JobRef, Mode};
use crate::sched::registry::Registry;
use crate::sched::worker::WorkerThread;
use crate::spawn::scope::{deliver_to_worker, in_place_scope, Scope};
use crate::sync::Mutex;
use std::marker::PhantomData;
use std::sync::Arc;
#[cfg(not(corepool_loom))]
use std::time::Duration;

/// How long a worker that took another worker's broadcast call waits before it looks for work
/// again. The owner has been busy for at least its affinity patience when a peer may take from
/// its inbox; a short pause keeps the peer from spinning on the call until the owner is free,
/// and delays the peer's other work by at most this much.
#[cfg(not(corepool_loom))]
const REDIRECT_BACKOFF: Duration = Duration::from_micros(200);

/// Where a broadcast call runs: the worker's index and the pool's size.
///
/// The lifetime ties the context to the call (as in rayon-core), so it cannot be kept.
#[derive(Debug)]
pub struct BroadcastContext<'a> {
    index: usize,
    num_threads: usize,
    _marker: PhantomData<&'a mut ()>,
}

impl BroadcastContext<'_> {
    fn new(index: usize, num_threads: usize) -> Self {
        BroadcastContext {
            index,
            num_threads,
            _marker: PhantomData,
        }
    }

    /// The index of the worker this call runs on (`0..num_threads()`).
    #[must_use]
    pub fn index(&self) -> usize {
        self.index
    }

    /// The number of workers in the pool, so the number of calls of the operation.
    #[must_use]
    pub fn num_threads(&self) -> usize {
        self.num_threads
    }
}

/// Whether the calling thread is worker `index` of `registry`.
fn on_worker(registry: &Registry, index: usize) -> bool {
    WorkerThread::current()
        .is_some_and(|w| w.index == index && std::ptr::eq(&*w.registry, registry))
}

/// A call that landed on the wrong thread: whether it must run here all the same (the pool is
/// shut down, so its worker may be gone). Otherwise the caller sends it back and backs off.
fn must_run_here(registry: &Registry) -> bool {
    registry.injected.is_closed()
}

fn back_off() {
    #[cfg(not(corepool_loom))]
    std::thread::sleep(REDIRECT_BACKOFF);
    #[cfg(corepool_loom)]
    crate::sync::thread::yield_now();
}

/// Runs `op` once on every worker of `registry` and returns the results in worker order.
pub(crate) fn broadcast<OP, R>(registry: &Arc<Registry>, op: OP) -> Vec<R>
where
    OP: Fn(BroadcastContext<'_>) -> R + Sync,
    R: Send,
{
    let n = registry.num_threads();
    let slots: Vec<Mutex<Option<R>>> = (0..n).map(|_| Mutex::new(None)).collect();
    in_place_scope(registry, |scope| {
        for (index, slot) in slots.iter().enumerate() {
            let call = Call {
                index,
                op: &op,
                slot,
            };
            registry.inboxes[index].hold_for_owner();
            scope.spawn_to_worker(index, move |s| call.run(s));
        }
    });
    slots
        .into_iter()
        .map(|slot| slot.lock().take().expect("every worker's call ran"))
        .collect()
}

/// One worker's call of a blocking broadcast.
struct Call<'a, OP, R> {
    index: usize,
    op: &'a OP,
    slot: &'a Mutex<Option<R>>,
}

impl<OP, R> Clone for Call<'_, OP, R> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<OP, R> Copy for Call<'_, OP, R> {}

impl<'a, OP, R> Call<'a, OP, R>
where
    OP: Fn(BroadcastContext<'_>) -> R + Sync,
    R: Send,
{
    fn run(self, scope: &Scope<'a>) {
        let registry = scope.registry();
        if on_worker(registry, self.index) || must_run_here(registry) {
            registry.inboxes[self.index].release_for_owner();
            let value = (self.op)(BroadcastContext::new(self.index, registry.num_threads()));
            *self.slot.lock() = Some(value);
        } else {
            scope.spawn_to_worker(self.index, move |s| self.run(s));
            back_off();
        }
    }
}

/// Runs `op` once on every worker of `registry`, detached.
pub(crate) fn spawn_broadcast<OP>(registry: &Registry, op: OP)
where
    OP: Fn(BroadcastContext<'_>) + Send + Sync + 'static,
{
    let op = Arc::new(op);
    for index in 0..registry.num_threads() {
        registry.inboxes[index].hold_for_owner();
        deliver_detached(registry, detached_call(index, Arc::clone(&op)), index);
    }
}

/// Delivers a detached call to worker `index`, or runs it here once the pool is shut down.
fn deliver_detached(registry: &Registry, job: JobRef, index: usize) {
    if let Err(refused) = deliver_to_worker(registry, job, index) {
        let (crate::sched::injection::PushError::Full(job)
        | crate::sched::injection::PushError::Closed(job)) = refused;
        // SAFETY: the queue refused the job, so it is unexecuted and ours to run; it owns
        // everything it uses. A panic in it is caught and reported by `execute`.
        unsafe { job.execute(Mode::Run, registry) };
    }
}

/// The job of a detached call for worker `index`. A panic in `op` goes to the pool's panic
/// handler (the job's catch boundary), as for any detached task.
fn detached_call<OP>(index: usize, op: Arc<OP>) -> JobRef
where
    OP: Fn(BroadcastContext<'_>) + Send + Sync + 'static,
{
    let run = move |registry: &Registry| {
        if on_worker(registry, index) || must_run_here(registry) {
            registry.inboxes[index].release_for_owner();
            op(BroadcastContext::new(index, registry.num_threads()));
        } else {
            deliver_detached(registry, detached_call(index, op), index);
            back_off();
        }
    };
    // SAFETY: the closure owns everything it uses ('static).
    unsafe { HeapJob::into_job_ref(run) }
}
