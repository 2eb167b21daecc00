//! The free functions: `join`, `scope`, `spawn` and `current_thread_index` use the pool of the
//! current worker; outside any worker, the pool whose `block_on` runs on this thread, else a
//! lazily built global pool.
//!
//! Invariants:
//! - A free function called on a worker never touches the global pool, so library code that
//!   calls `corepool::join` runs on whatever pool its caller installed it into.
//! - Off the workers, `Pool::block_on` marks its pool as this thread's for the call (restored
//!   when it returns or unwinds), so the free functions inside the future use that pool.

use crate::error::SpawnError;
use crate::sched::registry::{Registry, Wait};
use crate::sched::worker::WorkerThread;
use crate::spawn::broadcast::BroadcastContext;
use crate::spawn::scope::{Scope, ScopeFifo};
use crate::spawn::submit::{spawn_detached_to, submit};
use crate::task::cell::new_task;
use crate::task::handle::JoinHandle;
use crate::Pool;
use std::cell::Cell;
use std::marker::PhantomData;
use std::sync::Arc;

#[cfg(not(corepool_loom))]
crate::sync::thread_local! {
    static ENTERED: Cell<*const Pool> = const { Cell::new(std::ptr::null()) };
}
#[cfg(corepool_loom)]
crate::sync::thread_local! {
    static ENTERED: Cell<*const Pool> = Cell::new(std::ptr::null());
}

/// Makes `pool` the one the free functions use on this thread (off the workers) until dropped.
pub(crate) struct Entered<'p> {
    previous: *const Pool,
    /// Borrows the pool for the guard's life, and keeps the guard on its thread.
    _pool: PhantomData<&'p Pool>,
    _not_send: PhantomData<*const ()>,
}

/// Enters `pool` on this thread (see [`Entered`]).
pub(crate) fn enter(pool: &Pool) -> Entered<'_> {
    Entered {
        previous: ENTERED.with(|e| e.replace(pool)),
        _pool: PhantomData,
        _not_send: PhantomData,
    }
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        ENTERED.with(|e| e.set(self.previous));
    }
}

/// Runs `f` with the pool a free function uses on a thread that is not a worker: the entered
/// one, else the global pool.
pub(crate) fn with_outside_pool<R>(f: impl FnOnce(&Pool) -> R) -> R {
    let entered = ENTERED.with(Cell::get);
    // SAFETY: set by `enter` from a `&Pool` its guard borrows, and restored when the guard
    // drops, on this thread. `f` runs on this thread while the guard lives (a guard is only
    // ever held across a `block_on` call, and this runs inside it).
    match unsafe { entered.as_ref() } {
        Some(pool) => f(pool),
        None => f(global_pool()),
    }
}

/// Runs `f` with the registry of the pool the free functions use here: the current worker's,
/// else the entered or global pool's.
fn with_current_registry<R>(f: impl FnOnce(&Arc<Registry>) -> R) -> R {
    match WorkerThread::current() {
        Some(worker) => f(&worker.registry),
        None => with_outside_pool(|pool| f(pool.registry())),
    }
}

/// The size of the pool a free function off the workers would use, without building the
/// global pool to ask it.
pub(crate) fn outside_pool_threads() -> usize {
    let entered = ENTERED.with(Cell::get);
    // SAFETY: as in `with_outside_pool`.
    match unsafe { entered.as_ref() } {
        Some(pool) => pool.threads(),
        None => GLOBAL
            .get()
            .map_or_else(crate::sched::pinning::default_threads, Pool::threads),
    }
}

/// The global pool, once built (lazily, or by `Builder::build_global`).
static GLOBAL: std::sync::OnceLock<Pool> = std::sync::OnceLock::new();

/// Makes the pool `build` returns the global one; fails, building nothing, if there already is
/// one (also if another thread's `build_global` won a race: its pool stays, ours is shut down).
pub(crate) fn build_global(
    build: impl FnOnce() -> Result<Pool, crate::BuildError>,
) -> Result<(), crate::BuildError> {
    if GLOBAL.get().is_some() {
        return Err(crate::BuildError::GlobalPoolAlreadyBuilt);
    }
    GLOBAL
        .set(build()?)
        .map_err(|_lost_the_race| crate::BuildError::GlobalPoolAlreadyBuilt)
}

/// The default pool used by the free functions outside any worker.
fn global_pool() -> &'static Pool {
    GLOBAL.get_or_init(|| {
        Pool::builder()
            .build()
            .or_else(|_| {
                Pool::builder()
                    .pinning(crate::Pinning::None)
                    .threads(1)
                    .build()
            })
            .unwrap_or_else(|e| panic!("corepool: cannot start the global pool: {e}"))
    })
}

/// Runs `a` and `b`, potentially in parallel, on the current worker's pool (outside any worker:
/// the pool whose [`block_on`](Pool::block_on) runs here, else the global pool). See
/// [`Pool::join`].
///
/// ```
/// fn fib(n: u64) -> u64 {
///     if n < 2 { return n; }
///     let (a, b) = corepool::join(|| fib(n - 1), || fib(n - 2));
///     a + b
/// }
/// assert_eq!(fib(20), 6765);
/// ```
#[inline]
pub fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    match WorkerThread::current() {
        Some(worker) => crate::sched::join::join_on_worker(worker, a, b),
        None => with_outside_pool(|pool| pool.join(a, b)),
    }
}

/// Creates a scope on the current worker's pool (or, as for [`join`], the pool of a
/// `block_on` running here, else the global pool). See [`Pool::scope`].
pub fn scope<'scope, OP, R>(op: OP) -> R
where
    OP: FnOnce(&Scope<'scope>) -> R + Send,
    R: Send,
{
    match WorkerThread::current() {
        Some(worker) => crate::spawn::scope::scope(&worker.registry, op),
        None => with_outside_pool(|pool| pool.scope(op)),
    }
}

/// Spawns a task on the current worker's pool (or, as for [`join`], the pool of a `block_on`
/// running here, else the global pool). See [`Pool::spawn`].
pub fn spawn<F, T>(func: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match WorkerThread::current() {
        Some(worker) => {
            let (task, handle) = new_task(func, worker.registry.stats.sample_submit());
            if let Err(refused) = submit(&worker.registry, task, Wait::Forever) {
                drop(refused.into_inner());
            }
            handle
        }
        None => with_outside_pool(|pool| pool.spawn(func)),
    }
}

/// Spawns a task with no [`JoinHandle`] on the current worker's pool (or, as for [`join`],
/// the pool of a `block_on` running here, else the global pool). See
/// [`Pool::spawn_detached`].
///
/// # Errors
/// [`SpawnError::Shutdown`] with the closure, unrun, if that pool is shut down.
///
/// ```
/// use std::sync::mpsc;
/// let (tx, rx) = mpsc::channel();
/// corepool::spawn_detached(move || tx.send(42).unwrap()).unwrap();
/// assert_eq!(rx.recv().unwrap(), 42);
/// ```
pub fn spawn_detached<F>(func: F) -> Result<(), SpawnError<F>>
where
    F: FnOnce() + Send + 'static,
{
    with_current_registry(|registry| spawn_detached_to(registry, func, Wait::Forever))
}

/// The index of the current thread within its pool, if it is a corepool worker.
#[must_use]
pub fn current_thread_index() -> Option<usize> {
    WorkerThread::current().map(|w| w.index)
}

/// The number of workers of the pool the free functions use here (see [`join`]): the current
/// worker's pool, else the pool of a `block_on` running here, else the global pool's size
/// (without building it). rayon-core's `current_num_threads`.
///
/// ```
/// let pool = corepool::Pool::builder().threads(3).build()?;
/// assert_eq!(pool.install(corepool::current_num_threads), 3);
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[must_use]
pub fn current_num_threads() -> usize {
    match WorkerThread::current() {
        Some(worker) => worker.registry.num_threads(),
        None => outside_pool_threads(),
    }
}

/// Creates a scope whose body runs on the calling thread (see [`Pool::in_place_scope`]), on
/// the pool the free functions use here (see [`join`]).
pub fn in_place_scope<'scope, OP, R>(op: OP) -> R
where
    OP: FnOnce(&Scope<'scope>) -> R,
{
    with_current_registry(|registry| crate::spawn::scope::in_place_scope(registry, op))
}

/// Creates a FIFO scope (see [`ScopeFifo`]) on the pool the free functions use here (see
/// [`join`]). See [`Pool::scope_fifo`].
pub fn scope_fifo<'scope, OP, R>(op: OP) -> R
where
    OP: FnOnce(&ScopeFifo<'scope>) -> R + Send,
    R: Send,
{
    with_current_registry(|registry| crate::spawn::scope::scope_fifo(registry, op))
}

/// [`in_place_scope`] for a [`ScopeFifo`]. See [`Pool::in_place_scope_fifo`].
pub fn in_place_scope_fifo<'scope, OP, R>(op: OP) -> R
where
    OP: FnOnce(&ScopeFifo<'scope>) -> R,
{
    with_current_registry(|registry| crate::spawn::scope::in_place_scope_fifo(registry, op))
}

/// Runs `op` once on every worker of the pool the free functions use here (see [`join`]) and
/// returns the results in worker order. See [`Pool::broadcast`].
pub fn broadcast<OP, R>(op: OP) -> Vec<R>
where
    OP: Fn(BroadcastContext<'_>) -> R + Sync,
    R: Send,
{
    with_current_registry(|registry| crate::spawn::broadcast::broadcast(registry, op))
}

/// Runs `op` once on every worker of the pool the free functions use here (see [`join`]),
/// without waiting. See [`Pool::spawn_broadcast`].
pub fn spawn_broadcast<OP>(op: OP)
where
    OP: Fn(BroadcastContext<'_>) + Send + Sync + 'static,
{
    with_current_registry(|registry| crate::spawn::broadcast::spawn_broadcast(registry, op))
}

/// What [`yield_now`] or [`yield_local`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Yield {
    /// Another job was found and executed.
    Executed,
    /// No job was found.
    Idle,
}

/// Lets the current worker run one other pending job of its pool, if it finds one: its own
/// deque, its inbox, a peer's deque, the injection queues (rayon-core's `yield_now`). `None`
/// on a thread that is not a worker. It does not call the OS's `yield`: a polling loop that
/// finds nothing may want to do that itself.
///
/// The job runs on this thread's stack, inside the caller, so the caller must not hold a lock
/// that the job could need.
///
/// ```
/// assert_eq!(corepool::yield_now(), None); // not on a worker
/// let pool = corepool::Pool::builder().threads(1).build()?;
/// let yielded = pool.install(|| {
///     let other = corepool::spawn(|| 7);
///     let y = corepool::yield_now();
///     assert!(other.is_finished(), "the yield ran it");
///     y
/// });
/// assert_eq!(yielded, Some(corepool::Yield::Executed));
/// # Ok::<(), corepool::BuildError>(())
/// ```
pub fn yield_now() -> Option<Yield> {
    yield_to(WorkerThread::find_work)
}

/// [`yield_now`] that looks only at the current worker's own deque (rayon-core's
/// `yield_local`): no stealing, no shared queues.
pub fn yield_local() -> Option<Yield> {
    yield_to(WorkerThread::pop_local)
}

/// On a worker, runs the job `find` finds, if any.
fn yield_to(
    find: impl FnOnce(&WorkerThread) -> Option<crate::sched::job::JobRef>,
) -> Option<Yield> {
    let worker = WorkerThread::current()?;
    Some(match find(worker) {
        Some(job) => {
            worker.execute(job);
            Yield::Executed
        }
        None => Yield::Idle,
    })
}

/// Runs a blocking closure without stalling the CPU pool: on a worker, `func` runs on that
/// pool's blocking-I/O threads while the worker keeps executing CPU tasks; on any other thread
/// it simply runs. See [`Pool::blocking`].
///
/// ```
/// let pool = corepool::Pool::builder().threads(1).build()?;
/// let len = pool.install(|| corepool::blocking(|| std::fs::read("Cargo.toml").unwrap().len()));
/// assert!(len > 0);
/// # Ok::<(), corepool::BuildError>(())
/// ```
pub fn blocking<F, R>(func: F) -> R
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    match WorkerThread::current() {
        Some(worker) => crate::blocking::blocking_on(&worker.registry, func),
        None => func(),
    }
}

/// Waits for every handle and returns one settled result per handle, in input order: values,
/// panics and cancellations alike (`Promise.allSettled`). On a worker it keeps executing other
/// tasks while it waits.
///
/// ```
/// let pool = corepool::Pool::builder().threads(2).build()?;
/// let handles = vec![pool.spawn(|| 1), pool.spawn(|| panic!("no")), pool.spawn(|| 3)];
/// let results = corepool::join_all(handles);
/// assert_eq!(*results[0].as_ref().unwrap(), 1);
/// assert!(results[1].as_ref().unwrap_err().is_panic());
/// assert_eq!(*results[2].as_ref().unwrap(), 3);
/// # Ok::<(), corepool::BuildError>(())
/// ```
pub fn join_all<T>(
    handles: impl IntoIterator<Item = JoinHandle<T>>,
) -> Vec<Result<T, crate::JoinError>> {
    crate::spawn::batch::join_all(handles)
}

/// [`join_all`] as a future, for async code: every result, settled, in input order.
pub fn join_all_async<T>(
    handles: impl IntoIterator<Item = JoinHandle<T>>,
) -> impl std::future::Future<Output = Vec<Result<T, crate::JoinError>>> {
    crate::spawn::batch::join_all_async(handles)
}
