//! Scopes: spawning tasks that borrow from the enclosing stack.
//!
//! Invariants (the completion counter):
//! - `pending` starts at 1 for the scope body and is incremented *before* each child is queued,
//!   so it cannot reach zero while any child is queued or running.
//! - Each child decrements it exactly once, after it finished (panicked or not); the body
//!   decrements once when it returns. The owner returns only after seeing zero, so nothing that
//!   borrows from the frame outlives it.
//! - The child that brings it to zero wakes the owner through the sleep protocol; the owner
//!   re-checks `pending` after announcing it sleeps. It reads what it needs before the
//!   decrement, since the scope may be freed right after.
//! - The first panic (body or child) is kept and re-raised on the owner after all finished.

use crate::sched::job::HeapJob;
use crate::sched::registry::{Registry, Wait};
use crate::sched::unwind::{self, AbortOnUnwind, Payload};
use crate::sched::worker::{Caller, WorkerThread};
use crate::spawn::install;
use crate::sync::atomic::{AtomicUsize, Ordering};
use crate::sync::Mutex;
use std::marker::PhantomData;
use std::sync::Arc;

/// A scope in which tasks that borrow from the enclosing stack can be spawned.
///
/// Created by [`Pool::scope`](crate::Pool::scope) or [`scope`](crate::scope); every task
/// spawned in it has finished when the scope returns.
///
/// ```
/// let pool = corepool::Pool::builder().threads(2).build()?;
/// let mut data = vec![1u64; 1000];
/// pool.scope(|s| {
///     for chunk in data.chunks_mut(100) {
///         s.spawn(move |_| chunk.iter_mut().for_each(|x| *x *= 2));
///     }
/// });
/// assert_eq!(data.iter().sum::<u64>(), 2000);
/// # Ok::<(), corepool::BuildError>(())
/// ```
pub struct Scope<'scope> {
    registry: Arc<Registry>,
    owner_index: usize,
    pending: AtomicUsize,
    panic: Mutex<Option<Payload>>,
    /// Invariant in `'scope`, like `std::thread::Scope`.
    _marker: PhantomData<&'scope mut &'scope ()>,
}

/// `owner_index` of a scope whose owner is not a worker (the pool was shut down).
const NO_OWNER: usize = usize::MAX;

struct ScopePtr<'scope>(*const Scope<'scope>);

// SAFETY: `Scope` is `Sync`, and the pointer is only dereferenced while the scope is alive (the
// owner waits for every child).
unsafe impl Send for ScopePtr<'_> {}

impl<'scope> Scope<'scope> {
    /// Spawns a task into the scope. It may borrow anything that outlives the scope, and may
    /// spawn further tasks through the `&Scope` it receives.
    ///
    /// On a worker, the task goes to that worker's own deque (or runs at once if the deque is
    /// over its bound); from any other thread it is injected, or run at once if the pool's
    /// queue is full or shut down. It never blocks and is never dropped.
    pub fn spawn<F>(&self, body: F)
    where
        F: FnOnce(&Scope<'scope>) + Send + 'scope,
    {
        self.pending.fetch_add(1, Ordering::SeqCst);
        let scope = ScopePtr(self);
        let run = move |registry: &Registry| {
            let scope = scope;
            // SAFETY: the owner does not leave the scope before `pending` reaches zero, which
            // happens only in `child_finished` below, after the last use of `scope`.
            let scope_ref = unsafe { &*scope.0 };
            if let Err(payload) = unwind::catch(|| body(scope_ref)) {
                scope_ref.record_panic(payload);
            }
            // SAFETY: as above; `child_finished` reads what it needs before decrementing.
            unsafe { Scope::child_finished(scope.0, registry) };
        };
        // SAFETY: the job only borrows data that outlives 'scope, and the scope outlives the
        // job (see the module invariants).
        let job = unsafe { HeapJob::into_job_ref(run) };
        match WorkerThread::current() {
            Some(worker) if Arc::ptr_eq(&worker.registry, &self.registry) => {
                worker.push_or_run(job)
            }
            _ => {
                if let Err(refused) = self.registry.inject(job, Wait::No) {
                    let job = match refused {
                        crate::sched::injection::PushError::Full(job)
                        | crate::sched::injection::PushError::Closed(job) => job,
                    };
                    // SAFETY: the queue refused the job, so it is unexecuted and ours to run.
                    unsafe { job.execute(crate::sched::job::Mode::Run, &self.registry) };
                }
            }
        }
    }

    fn record_panic(&self, payload: Payload) {
        let mut slot = self.panic.lock();
        if slot.is_none() {
            *slot = Some(payload);
        }
    }

    /// # Safety
    /// `this` must be live on entry; it may be freed as soon as `pending` reaches zero.
    unsafe fn child_finished(this: *const Scope<'_>, registry: &Registry) {
        // SAFETY: live until the decrement below.
        let (owner, pending) = unsafe { ((*this).owner_index, &(*this).pending) };
        if pending.fetch_sub(1, Ordering::SeqCst) == 1 && owner != NO_OWNER {
            // `registry` is the executing worker's (same pool) or held by the caller, so it is
            // alive even though the scope may not be.
            registry.sleep.wake_worker(owner);
        }
    }
}

impl std::fmt::Debug for Scope<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope")
            .field("pending", &self.pending.load(Ordering::Relaxed))
            .finish()
    }
}

/// Runs `op` with a new scope on a worker of `registry`, returning after all its tasks finished.
pub(crate) fn scope<'scope, OP, R>(registry: &Arc<Registry>, op: OP) -> R
where
    OP: FnOnce(&Scope<'scope>) -> R + Send,
    R: Send,
{
    install::install(registry, move || {
        // `install` runs `op` on a worker of `registry`, unless the pool is shut down: then it
        // runs here, every child is refused by the closed queue and runs inline, and the owner
        // has nobody to wait for.
        let worker = Caller::of(registry).own();
        let scope = Scope {
            registry: Arc::clone(registry),
            owner_index: worker.map_or(NO_OWNER, |w| w.index),
            pending: AtomicUsize::new(1),
            panic: Mutex::new(None),
            _marker: PhantomData,
        };
        let result = unwind::catch(|| op(&scope));
        let result = match result {
            Ok(value) => Some(value),
            Err(payload) => {
                scope.record_panic(payload);
                None
            }
        };
        // Until every child finished, children may still use `scope` in this frame.
        let shared = AbortOnUnwind::new("a scope waiting for its tasks");
        scope.pending.fetch_sub(1, Ordering::SeqCst);
        let all_done = || scope.pending.load(Ordering::SeqCst) == 0;
        match worker {
            Some(worker) => worker.wait_until(&all_done),
            None => {
                while !all_done() {
                    crate::sync::thread::yield_now();
                }
            }
        }
        shared.disarm();
        if let Some(payload) = scope.panic.lock().take() {
            std::panic::resume_unwind(payload);
        }
        result.expect("no panic recorded, so the body returned")
    })
}
