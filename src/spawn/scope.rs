//! Scopes: spawning tasks that borrow from the enclosing stack.
//!
//! Invariants (the completion counter):
//! - `pending` starts at 1 for the scope body and is incremented *before* each child is queued,
//!   so it cannot reach zero while any child is queued or running.
//! - Each child decrements it exactly once, after it finished (panicked or not); the body
//!   decrements once when it returns. The owner returns only after seeing zero, so nothing that
//!   borrows from the frame outlives it.
//! - A worker may keep a finished child's decrement for later instead of applying it at once,
//!   and spend it on its next spawn into the same scope instead of an increment (worker-local
//!   credit, `sched/credit.rs`, where the rules for when it must be applied are). `pending`
//!   then over-states, never under-states: it cannot reach zero early, and the scope is alive
//!   while any worker keeps credit for it. The owner's wait check counts its own kept credit:
//!   it is done when `pending` equals that credit, and applies it then.
//! - The decrement that brings it to zero wakes the owner through the sleep protocol; the owner
//!   re-checks `pending` after announcing it sleeps. Whoever applies it reads what it needs
//!   before the decrement, since the scope may be freed right after.
//! - The first panic (body or child) is kept and re-raised on the owner after all finished.
//! - The owner is whoever runs the body: a worker of the scope's pool (`scope`, or
//!   `in_place_scope` on one), a worker of another pool, or a thread outside every pool
//!   (`in_place_scope`). A worker owner keeps executing its own pool's work while it waits and
//!   is woken through its pool's sleep protocol; an outside owner parks and is unparked. The
//!   child that finishes last takes its own reference to what wakes the owner *before* its
//!   decrement, because the scope may be freed the moment `pending` reads zero.

use crate::sched::credit;
use crate::sched::injection::PushError;
use crate::sched::job::HeapJob;
use crate::sched::job::{JobRef, Mode};
use crate::sched::lanes::Lane;
use crate::sched::registry::{Registry, Wait};
use crate::sched::unwind::{self, AbortOnUnwind, Payload};
use crate::sched::worker::{Caller, WorkerThread};
use crate::spawn::install;
use crate::sync::atomic::{AtomicUsize, Ordering};
use crate::sync::parker::ThreadParker;
use crate::sync::Mutex;
use std::collections::VecDeque;
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
    owner: Owner,
    pending: AtomicUsize,
    panic: Mutex<Option<Payload>>,
    /// One FIFO queue per worker of the pool for a [`ScopeFifo`]'s spawns; empty otherwise.
    fifos: Box<[Mutex<VecDeque<JobRef>>]>,
    /// Invariant in `'scope`, like `std::thread::Scope`.
    _marker: PhantomData<&'scope mut &'scope ()>,
}

/// A scope whose tasks run in the order they were spawned, per spawning worker: rayon-core's
/// `ScopeFifo`. Created by [`Pool::scope_fifo`](crate::Pool::scope_fifo),
/// [`Pool::in_place_scope_fifo`](crate::Pool::in_place_scope_fifo) or
/// [`scope_fifo`](crate::scope_fifo).
///
/// A [`Scope`] spawned from a worker pushes onto that worker's deque, whose owner pops the
/// newest task first (depth-first, for locality). A `ScopeFifo` queues each worker's spawns in a
/// FIFO queue and pushes a placeholder instead: whichever worker runs a placeholder (the owner,
/// or a thief) runs the *oldest* task of that queue. Spawns from outside the pool go through the
/// injection queue, as for `Scope`.
///
/// ```
/// use std::sync::Mutex;
/// let pool = corepool::Pool::builder().threads(1).build()?;
/// let order = Mutex::new(Vec::new());
/// pool.scope_fifo(|s| {
///     for i in 0..4 {
///         let order = &order;
///         s.spawn_fifo(move |_| order.lock().unwrap().push(i));
///     }
/// });
/// // One worker, spawning from that worker: strictly first in, first out.
/// assert_eq!(order.into_inner().unwrap(), [0, 1, 2, 3]);
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[repr(transparent)]
pub struct ScopeFifo<'scope> {
    base: Scope<'scope>,
}

/// The FIFO queue a placeholder job pops from.
struct FifoPtr(*const Mutex<VecDeque<JobRef>>);

// SAFETY: the queue is a `Mutex` (`Sync`) of `Send` jobs, and the pointer is only dereferenced
// while the scope is alive: the job the placeholder pops still counts in `pending`.
unsafe impl Send for FifoPtr {}

/// The thread that runs a scope's body and waits for its children, and how to wake it.
enum Owner {
    /// Worker `index` of the scope's own pool (woken through the registry a child runs on,
    /// which is that pool's).
    Worker(usize),
    /// Worker `index` of another pool.
    OtherPool(Arc<Registry>, usize),
    /// A thread outside every pool.
    Thread(Arc<ThreadParker>),
}

impl Owner {
    /// The owner of a scope on `registry` whose body runs on the calling thread.
    fn here(registry: &Registry) -> Owner {
        match Caller::of(registry) {
            Caller::Own(worker) => Owner::Worker(worker.index),
            Caller::OtherPool(worker) => {
                Owner::OtherPool(Arc::clone(&worker.registry), worker.index)
            }
            Caller::Outside => Owner::Thread(ThreadParker::current()),
        }
    }

    /// Something that can wake this owner without borrowing the scope.
    fn alarm(&self) -> Alarm {
        match self {
            Owner::Worker(index) => Alarm::Worker(*index),
            Owner::OtherPool(registry, index) => Alarm::OtherPool(Arc::clone(registry), *index),
            Owner::Thread(parker) => Alarm::Thread(Arc::clone(parker)),
        }
    }
}

/// What the last child uses to wake the owner, taken before its decrement (see the module
/// invariants).
enum Alarm {
    Worker(usize),
    OtherPool(Arc<Registry>, usize),
    Thread(Arc<ThreadParker>),
}

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
        let job = self.child_job(body);
        match WorkerThread::current() {
            Some(worker) if Arc::ptr_eq(&worker.registry, &self.registry) => {
                worker.push_or_run(job)
            }
            _ => {
                if let Err(refused) = self.registry.inject(job, Wait::No) {
                    self.run_refused(refused);
                }
            }
        }
    }

    /// Spawns a task into the scope that waits in worker `index`'s inbox (see
    /// [`Pool::spawn_on`](crate::Pool::spawn_on) for who takes it from there). A full inbox
    /// makes the caller wait (a worker helping meanwhile); a closed one runs the task here.
    pub(crate) fn spawn_to_worker<F>(&self, index: usize, body: F)
    where
        F: FnOnce(&Scope<'scope>) + Send + 'scope,
    {
        let job = self.child_job(body);
        if let Err(refused) = deliver_to_worker(&self.registry, job, index) {
            self.run_refused(refused);
        }
    }

    /// Counts a new child (spending a decrement this worker keeps for the scope, if any:
    /// see `sched/credit.rs`) and boxes it into a job.
    fn child_job<F>(&self, body: F) -> JobRef
    where
        F: FnOnce(&Scope<'scope>) + Send + 'scope,
    {
        if !credit::take_one(self.target()) {
            self.pending.fetch_add(1, Ordering::SeqCst);
        }
        let scope = ScopePtr(self);
        let run = move |registry: &Registry, mode: Mode, keep: bool| {
            let scope = scope;
            // SAFETY: the owner does not leave the scope before `pending` reaches zero, which
            // happens only after this child's decrement is applied, after its last use of
            // `scope` here (`fold_into` reads what it needs before decrementing).
            let scope_ref = unsafe { &*scope.0 };
            if let Err(payload) = unwind::catch(|| body(scope_ref)) {
                scope_ref.record_panic(payload);
            }
            // The owner may keep its decrements wherever it runs a child: it checks them in
            // its own wait (`run_scope`).
            let keep = keep || scope_ref.owned_by(mode);
            // SAFETY: as above.
            unsafe { credit::child_done(scope_ref.target(), Scope::fold_into, keep, registry) };
        };
        // SAFETY: the job only borrows data that outlives 'scope, and the scope outlives the
        // job (see the module invariants).
        unsafe { credit::counted_job(self.target(), run) }
    }

    /// The scope as the parent of its counted children (`sched/credit.rs`).
    fn target(&self) -> *const () {
        self as *const Self as *const ()
    }

    /// Whether the worker executing in `mode` is this scope's owner (a worker of its pool).
    fn owned_by(&self, mode: Mode) -> bool {
        matches!((&self.owner, mode), (Owner::Worker(owner), Mode::RunOn(index)) if *owner == index)
    }

    /// Runs a child that a queue refused (full, or closed by a shutdown) right here.
    fn run_refused(&self, refused: PushError) {
        let (PushError::Full(job) | PushError::Closed(job)) = refused;
        // SAFETY: the queue refused the job, so it is unexecuted and ours to run.
        unsafe { job.execute(crate::sched::job::Mode::Run, &self.registry) };
    }

    /// The pool this scope spawns into.
    pub(crate) fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    fn record_panic(&self, payload: Payload) {
        let mut slot = self.panic.lock();
        if slot.is_none() {
            *slot = Some(payload);
        }
    }

    /// Applies `n` decrements of finished children (a [`credit::FoldFn`]).
    ///
    /// # Safety
    /// `target` must be a live scope on entry; it may be freed as soon as `pending` reaches
    /// zero.
    unsafe fn fold_into(target: *const (), n: usize, registry: &Registry) {
        let this = target.cast::<Scope<'static>>();
        // SAFETY: live until the decrement below.
        let (alarm, pending) = unsafe { ((*this).owner.alarm(), &(*this).pending) };
        if pending.fetch_sub(n, Ordering::SeqCst) == n {
            match alarm {
                // `registry` is the executing worker's (same pool) or held by the caller, so
                // it is alive even though the scope may not be.
                Alarm::Worker(index) => registry.sleep.wake_worker(index),
                Alarm::OtherPool(owner_registry, index) => owner_registry.sleep.wake_worker(index),
                Alarm::Thread(parker) => std::task::Wake::wake(parker),
            }
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

impl<'scope> ScopeFifo<'scope> {
    fn from_scope<'a>(scope: &'a Scope<'scope>) -> &'a ScopeFifo<'scope> {
        // SAFETY: `ScopeFifo` is a `repr(transparent)` wrapper of `Scope`, and a scope is only
        // seen as a `ScopeFifo` when it was made with one FIFO queue per worker.
        unsafe { &*(scope as *const Scope<'scope>).cast::<ScopeFifo<'scope>>() }
    }

    /// Spawns a task into the scope, to run after the tasks this thread spawned into it before
    /// (see the type's docs). It may borrow anything that outlives the scope. Never blocks, and
    /// the task is never dropped (a full or closed queue runs it here, as for
    /// [`Scope::spawn`]).
    pub fn spawn_fifo<F>(&self, body: F)
    where
        F: FnOnce(&ScopeFifo<'scope>) + Send + 'scope,
    {
        let base = &self.base;
        let job = base.child_job(move |s| body(ScopeFifo::from_scope(s)));
        match WorkerThread::current() {
            Some(worker) if Arc::ptr_eq(&worker.registry, &base.registry) => {
                let fifo = &base.fifos[worker.index];
                fifo.lock().push_back(job);
                let fifo = FifoPtr(fifo);
                let pop = move |registry: &Registry| {
                    let fifo = fifo;
                    // SAFETY: see `FifoPtr`; the lock is released before the task runs, after
                    // which the scope may be gone.
                    let job = unsafe { &*fifo.0 }
                        .lock()
                        .pop_front()
                        .expect("one placeholder per queued task");
                    // SAFETY: popped from the queue, so unexecuted and executed only here.
                    unsafe { job.execute(crate::sched::job::Mode::Run, registry) };
                };
                // SAFETY: the placeholder only uses the queue, which outlives it (above).
                let placeholder = unsafe { HeapJob::into_job_ref(pop) };
                worker.push_or_run(placeholder);
            }
            _ => {
                if let Err(refused) = base.registry.inject(job, Wait::No) {
                    base.run_refused(refused);
                }
            }
        }
    }
}

impl std::fmt::Debug for ScopeFifo<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScopeFifo")
            .field("pending", &self.base.pending.load(Ordering::Relaxed))
            .finish()
    }
}

/// Hands `job` to worker `index`'s inbox of `registry`: a worker (of any pool) helps while the
/// inbox is full, another thread waits. `Closed` hands the job back.
pub(crate) fn deliver_to_worker(
    registry: &Registry,
    job: JobRef,
    index: usize,
) -> Result<(), PushError> {
    let lane = Lane::Worker(index);
    match Caller::of(registry) {
        Caller::Own(worker) | Caller::OtherPool(worker) => {
            worker.push_helping(job, Wait::Forever, |job| {
                registry.inject_lane(job, Wait::No, lane)
            })
        }
        Caller::Outside => registry.inject_lane(job, Wait::Forever, lane),
    }
}

/// Runs `op` with a new scope on a worker of `registry`, returning after all its tasks finished.
pub(crate) fn scope<'scope, OP, R>(registry: &Arc<Registry>, op: OP) -> R
where
    OP: FnOnce(&Scope<'scope>) -> R + Send,
    R: Send,
{
    // `install` runs `op` on a worker of `registry`, unless the pool is shut down: then it
    // runs here, every child is refused by the closed queue and runs inline, and the owner
    // has nobody to wait for.
    install::install(registry, move || in_place_scope(registry, op))
}

/// [`scope`] for a [`ScopeFifo`].
pub(crate) fn scope_fifo<'scope, OP, R>(registry: &Arc<Registry>, op: OP) -> R
where
    OP: FnOnce(&ScopeFifo<'scope>) -> R + Send,
    R: Send,
{
    install::install(registry, move || in_place_scope_fifo(registry, op))
}

/// [`in_place_scope`] for a [`ScopeFifo`].
pub(crate) fn in_place_scope_fifo<'scope, OP, R>(registry: &Arc<Registry>, op: OP) -> R
where
    OP: FnOnce(&ScopeFifo<'scope>) -> R,
{
    let fifos = (0..registry.num_threads())
        .map(|_| Mutex::new(VecDeque::new()))
        .collect();
    run_scope(registry, fifos, |s| op(ScopeFifo::from_scope(s)))
}

/// Runs `op` with a new scope on `registry` *on the calling thread*, returning after all its
/// tasks finished.
pub(crate) fn in_place_scope<'scope, OP, R>(registry: &Arc<Registry>, op: OP) -> R
where
    OP: FnOnce(&Scope<'scope>) -> R,
{
    run_scope(registry, Box::new([]), op)
}

/// Runs a scope's body here and waits for its children.
fn run_scope<'scope, OP, R>(
    registry: &Arc<Registry>,
    fifos: Box<[Mutex<VecDeque<JobRef>>]>,
    op: OP,
) -> R
where
    OP: FnOnce(&Scope<'scope>) -> R,
{
    let scope = Scope {
        registry: Arc::clone(registry),
        owner: Owner::here(registry),
        pending: AtomicUsize::new(1),
        panic: Mutex::new(None),
        fifos,
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
    // Done when `pending` holds only the decrements this thread keeps for the scope (a worker
    // owner that ran children keeps theirs: `sched/credit.rs`). Then no child is pending and
    // no other thread keeps any, so nobody else writes `pending` again: applying ours brings
    // it to zero. Between children the owner folds nothing.
    let all_done = || {
        let kept = credit::kept_for(scope.target());
        if scope.pending.load(Ordering::SeqCst) != kept {
            return false;
        }
        if kept != 0 {
            credit::take_all(scope.target());
            let before = scope.pending.fetch_sub(kept, Ordering::SeqCst);
            debug_assert_eq!(before, kept, "only the owner's credit was left");
        }
        true
    };
    match &scope.owner {
        Owner::Worker(_) | Owner::OtherPool(..) => {
            let worker = WorkerThread::current().expect("a worker owner runs on its worker");
            worker.wait_until(&all_done);
        }
        Owner::Thread(parker) => {
            while !all_done() {
                parker.park();
            }
        }
    }
    shared.disarm();
    if let Some(payload) = scope.panic.lock().take() {
        std::panic::resume_unwind(payload);
    }
    result.expect("no panic recorded, so the body returned")
}
