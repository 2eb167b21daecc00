//! The free functions: `join`, `scope`, `spawn` and `current_thread_index` use the pool of the
//! current worker, or a lazily built global pool outside any worker.
//!
//! Invariant: a free function called on a worker never touches the global pool, so library code
//! that calls `corepool::join` runs on whatever pool its caller installed it into.

use crate::job_handle::{new_task, JoinHandle};
use crate::pool::submit;
use crate::registry::Wait;
use crate::scope::Scope;
use crate::worker::WorkerThread;
use crate::Pool;

/// The default pool used by the free functions outside any worker.
fn global_pool() -> &'static Pool {
    static GLOBAL: std::sync::OnceLock<Pool> = std::sync::OnceLock::new();
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

/// Runs `a` and `b`, potentially in parallel, on the current worker's pool (or the global pool
/// outside any worker). See [`Pool::join`].
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
        Some(worker) => crate::join::join_on_worker(worker, a, b),
        None => global_pool().join(a, b),
    }
}

/// Creates a scope on the current worker's pool (or the global pool). See [`Pool::scope`].
pub fn scope<'scope, OP, R>(op: OP) -> R
where
    OP: FnOnce(&Scope<'scope>) -> R + Send,
    R: Send,
{
    match WorkerThread::current() {
        Some(worker) => crate::scope::scope(&worker.registry, op),
        None => global_pool().scope(op),
    }
}

/// Spawns a task on the current worker's pool (or the global pool). See [`Pool::spawn`].
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
        None => global_pool().spawn(func),
    }
}

/// The index of the current thread within its pool, if it is a corepool worker.
pub fn current_thread_index() -> Option<usize> {
    WorkerThread::current().map(|w| w.index)
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
    crate::batch::join_all(handles)
}

/// [`join_all`] as a future, for async code: every result, settled, in input order.
pub fn join_all_async<T>(
    handles: impl IntoIterator<Item = JoinHandle<T>>,
) -> impl std::future::Future<Output = Vec<Result<T, crate::JoinError>>> {
    crate::batch::join_all_async(handles)
}
