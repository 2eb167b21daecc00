//! The public `Pool` handle and the spawn paths.
//!
//! Invariants:
//! - Every spawn either hands its task to exactly one queue, runs it inline (caller-runs on a
//!   worker whose deque is over its bound), or gives the closure back in a `SpawnError`.
//! - A spawn from a worker of the same pool never blocks; a spawn from a worker of another pool
//!   keeps that worker executing its own pool's work while it waits for room.
//! - `Pool` handles are counted; dropping the last one is a graceful `shutdown`.

use crate::builder::Builder;
use crate::error::SpawnError;
use crate::sched::join;
use crate::sched::lanes::Lane;
use crate::sched::registry::{Registry, Wait};
use crate::sched::worker::{Caller, WorkerThread};
use crate::spawn::broadcast::BroadcastContext;
use crate::spawn::scope::{Scope, ScopeFifo};
use crate::spawn::submit::{spawn_detached_to, spawn_to, Target};
use crate::spawn::{install, scope};
use crate::sync::atomic::Ordering;
use crate::task::handle::JoinHandle;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A work-stealing pool of CPU worker threads.
///
/// `Pool` is a cheap handle (`Clone + Send + Sync`); all clones drive the same workers.
/// Dropping the last handle shuts the pool down gracefully (see [`Pool::shutdown`]).
///
/// ```
/// let pool = corepool::Pool::builder().threads(2).build()?;
/// let (a, b) = pool.join(|| 1 + 1, || 2 + 2);
/// assert_eq!((a, b), (2, 4));
/// let h = pool.spawn(|| 40 + 2);
/// assert_eq!(h.join().unwrap(), 42);
/// # Ok::<(), corepool::BuildError>(())
/// ```
pub struct Pool {
    registry: Arc<Registry>,
}

impl Pool {
    /// A builder with the defaults: `num_cpus::get()` workers (read once per process, see
    /// [`Builder::threads`](crate::Builder::threads)) pinned one per core, an injection
    /// queue of [`QUEUE_CAPACITY`](crate::defaults::QUEUE_CAPACITY).
    pub fn builder() -> Builder {
        Builder::new()
    }

    pub(crate) fn from_registry(registry: Arc<Registry>) -> Pool {
        registry.handles.fetch_add(1, Ordering::SeqCst);
        Pool { registry }
    }

    /// The pool's registry (for the free functions, and `loom_api`'s model hooks).
    pub(crate) fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// Spawns a task and returns a handle to its result.
    ///
    /// From a thread outside the pool this blocks while the injection queue is full
    /// (backpressure). From one of the pool's own workers it never blocks: the task goes to
    /// that worker's deque, or runs at once if the deque is over its bound. The first task a
    /// running task spawns is kept aside to run next on the same worker once its spawner
    /// returns (a LIFO slot): a task that spawns its successor and returns stays on one core, and no
    /// idle worker is woken to steal the successor. If the spawner keeps running instead, an
    /// idle worker takes the successor after the
    /// [affinity patience](crate::Builder::affinity_patience); a spawn that finds the slot
    /// taken goes to the deque, where peers take it at once. If the pool is shut
    /// down the closure is dropped unrun and the handle reports
    /// [`JoinError::is_cancelled`](crate::JoinError::is_cancelled); use
    /// [`try_spawn`](Self::try_spawn) to get the closure back instead.
    pub fn spawn<F, T>(&self, func: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        spawn_to(
            &self.registry,
            func,
            Wait::Forever,
            Target::Cpu(Lane::Normal),
        )
        .0
    }

    /// Starts building a task with options: a [`priority`](TaskBuilder::priority), a worker to
    /// run [`on`](TaskBuilder::on) (or a [`keyed`](TaskBuilder::keyed) one), a
    /// [`timeout`](TaskBuilder::timeout) for room in the queue, or the
    /// [`blocking`](TaskBuilder::blocking) I/O pool. [`spawn`](Self::spawn),
    /// [`try_spawn`](Self::try_spawn) and [`spawn_blocking`](Self::spawn_blocking) are the short
    /// forms for the common cases.
    ///
    /// ```
    /// use corepool::{Pool, Priority};
    /// use std::time::Duration;
    /// let pool = Pool::builder().threads(2).build()?;
    /// let urgent = pool.task().priority(Priority::High).spawn(|| "now").unwrap();
    /// let local = pool.task().on(1).timeout(Duration::from_secs(1)).spawn(|| 1).unwrap();
    /// let io = pool.task().blocking().try_spawn(|| 2).unwrap();
    /// assert_eq!(urgent.join().unwrap(), "now");
    /// assert_eq!(local.join().unwrap() + io.join().unwrap(), 3);
    /// // A worker the pool does not have is an error, not a silent wrap.
    /// assert!(pool.task().on(2).spawn(|| ()).is_err());
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn task(&self) -> TaskBuilder<'_> {
        TaskBuilder {
            pool: self,
            target: Place::Cpu(Lane::Normal),
            timeout: None,
        }
    }

    /// Spawns a task without blocking; a full queue or a shut-down pool hands the closure back.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().threads(1).build()?;
    /// pool.shutdown();
    /// let err = pool.try_spawn(|| 7).unwrap_err();
    /// assert!(err.is_shutdown());
    /// assert_eq!((err.into_inner())(), 7);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn try_spawn<F, T>(&self, func: F) -> Result<JoinHandle<T>, SpawnError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (handle, submitted) =
            spawn_to(&self.registry, func, Wait::No, Target::Cpu(Lane::Normal));
        submitted.map(|()| handle)
    }

    /// Spawns a task that nobody will join: no [`JoinHandle`], so the task is one smaller
    /// allocation with no state to share and costs the submitter less than
    /// `drop(pool.spawn(f))`. Otherwise it behaves as a spawned task whose handle was dropped:
    /// it waits for room in a full queue like [`spawn`](Self::spawn) (from outside the pool;
    /// a worker never blocks), it counts in the [`metrics`](Self::metrics) as a spawn, a panic
    /// goes to the pool's panic handler, and a [`shutdown_now`](Self::shutdown_now) cancels it
    /// (drops the closure unrun) if it has not started.
    ///
    /// # Errors
    /// [`SpawnError::Shutdown`] with the closure, unrun, if the pool is shut down.
    ///
    /// ```
    /// use std::sync::mpsc;
    /// let pool = corepool::Pool::builder().threads(2).build()?;
    /// let (tx, rx) = mpsc::channel();
    /// for i in 0..4 {
    ///     let tx = tx.clone();
    ///     pool.spawn_detached(move || tx.send(i * i).unwrap()).unwrap();
    /// }
    /// drop(tx);
    /// assert_eq!(rx.iter().sum::<i32>(), 14);
    /// pool.shutdown();
    /// let refused = pool.spawn_detached(|| ()).unwrap_err();
    /// assert!(refused.is_shutdown());
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn spawn_detached<F>(&self, func: F) -> Result<(), SpawnError<F>>
    where
        F: FnOnce() + Send + 'static,
    {
        spawn_detached_to(&self.registry, func, Wait::Forever)
    }

    /// [`spawn_detached`](Self::spawn_detached) without waiting: a full queue hands the closure
    /// back at once, in [`SpawnError::Full`].
    ///
    /// # Errors
    /// [`SpawnError::Full`] if the injection queue is full, [`SpawnError::Shutdown`] if the
    /// pool is shut down; either holds the closure, unrun.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().threads(1).build()?;
    /// pool.try_spawn_detached(|| println!("ran")).unwrap();
    /// pool.shutdown();
    /// let err = pool.try_spawn_detached(|| println!("refused")).unwrap_err();
    /// assert!(err.is_shutdown());
    /// (err.into_inner())(); // the closure came back unrun: this prints "refused"
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn try_spawn_detached<F>(&self, func: F) -> Result<(), SpawnError<F>>
    where
        F: FnOnce() + Send + 'static,
    {
        spawn_detached_to(&self.registry, func, Wait::No)
    }

    /// Spawns a task, waiting at most `timeout` for room in the queue; then hands the closure
    /// back in [`SpawnError::Full`].
    #[deprecated(since = "0.2.0", note = "use `pool.task().timeout(d).spawn(f)`")]
    pub fn spawn_timeout<F, T>(
        &self,
        func: F,
        timeout: Duration,
    ) -> Result<JoinHandle<T>, SpawnError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (handle, submitted) = spawn_to(
            &self.registry,
            func,
            deadline_after(timeout),
            Target::Cpu(Lane::Normal),
        );
        submitted.map(|()| handle)
    }

    /// Runs a blocking closure (file or network I/O, a sleep, a lock held long) on the
    /// elastic blocking-I/O pool, never on a CPU worker.
    ///
    /// An I/O thread is started only when no idle one exists, up to
    /// [`io_threads`](crate::Builder::io_threads); idle ones exit after
    /// [`io_keep_alive`](crate::Builder::io_keep_alive). The I/O queue is bounded: from outside
    /// the pool this blocks while it is full; on a CPU worker, the worker keeps executing CPU
    /// tasks while it waits for room. On a shut-down pool the handle reports `Cancelled`.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().threads(1).build()?;
    /// let h = pool.spawn_blocking(|| std::fs::read_to_string("Cargo.toml").map(|s| s.len()));
    /// assert!(h.join().unwrap().unwrap() > 0);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn spawn_blocking<F, T>(&self, func: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        spawn_to(&self.registry, func, Wait::Forever, Target::Io).0
    }

    /// [`spawn_blocking`](Self::spawn_blocking) without waiting: a full I/O queue or a
    /// shut-down pool hands the closure back.
    #[deprecated(since = "0.2.0", note = "use `pool.task().blocking().try_spawn(f)`")]
    pub fn try_spawn_blocking<F, T>(&self, func: F) -> Result<JoinHandle<T>, SpawnError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (handle, submitted) = spawn_to(&self.registry, func, Wait::No, Target::Io);
        submitted.map(|()| handle)
    }

    /// [`spawn_blocking`](Self::spawn_blocking), waiting at most `timeout` for room in the I/O
    /// queue; then the closure comes back in [`SpawnError::Full`].
    #[deprecated(
        since = "0.2.0",
        note = "use `pool.task().blocking().timeout(d).spawn(f)`"
    )]
    pub fn spawn_blocking_timeout<F, T>(
        &self,
        func: F,
        timeout: Duration,
    ) -> Result<JoinHandle<T>, SpawnError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (handle, submitted) =
            spawn_to(&self.registry, func, deadline_after(timeout), Target::Io);
        submitted.map(|()| handle)
    }

    /// Runs a blocking closure from CPU code without stalling the CPU pool.
    ///
    /// Called on a CPU worker, `func` runs on the blocking-I/O pool while this worker keeps
    /// executing other CPU tasks; the value is returned when `func` is done (the
    /// `ManagedBlocker` idea, without extra CPU threads). Called on any other thread, or on a
    /// shut-down pool, `func` simply runs here. A panic in `func` is re-raised here.
    pub fn blocking<F, R>(&self, func: F) -> R
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        crate::blocking::blocking_on(&self.registry, func)
    }

    /// Runs a future on the CPU workers and returns a handle to its output.
    ///
    /// Polling happens on the workers. A wake from one of this pool's workers re-queues the
    /// task on that worker's deque; a wake from any other thread goes through an internal wake
    /// queue and never blocks the waking thread. A task woken while it is being polled is
    /// polled again afterwards, never concurrently. Future tasks still pending when the pool
    /// shuts down are cancelled: under a graceful shutdown, once every queued closure (and
    /// its children) has run, a poll that returns `Pending` cancels the task, and a new
    /// `spawn_future` is refused, so futures that wake themselves or spawn their successors
    /// cannot keep `shutdown` from returning.
    ///
    /// Admission of the first poll follows [`spawn`](Self::spawn). From outside the pool it
    /// waits for room in the queue. From one of the pool's own workers it never blocks: the task
    /// goes to that worker's deque, or, when the deque already holds
    /// [`local_queue_limit`](crate::Builder::local_queue_limit) jobs, its first poll runs right
    /// here, before `spawn_future` returns (caller-polls, counted in
    /// [`Metrics::caller_runs`](crate::Metrics::caller_runs)). Only that one poll: a future that
    /// is then pending, or that woke itself to yield, is left to the pool like any woken task.
    /// So `spawn_future` never waits for another task and cannot deadlock, whatever the future
    /// waits for, and a worker spawning in a loop leaves at most `local_queue_limit` futures
    /// waiting for their first poll. A wake on a worker whose deque is at that bound queues the
    /// task on the pool's wake queue instead (where any worker takes it), which holds at most
    /// one entry per live future task: the deque never grows past its bound because of futures.
    ///
    /// A panic in `poll` completes the handle with the payload (see
    /// [`JoinError::is_panic`](crate::JoinError::is_panic)). The future is dropped *after* the unwind was caught, so its
    /// `Drop` sees `std::thread::panicking() == false`; tokio drops it during the unwind instead.
    /// corepool chose this because a future whose `Drop` panics too would otherwise abort the
    /// process (a panic while panicking); here that second panic goes to the panic handler.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().threads(2).build()?;
    /// let inner = pool.spawn(|| 20);
    /// let h = pool.spawn_future(async move { inner.await.unwrap() + 22 });
    /// assert_eq!(h.join().unwrap(), 42);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn spawn_future<Fut>(&self, future: Fut) -> JoinHandle<Fut::Output>
    where
        Fut: std::future::Future + Send + 'static,
        Fut::Output: Send + 'static,
    {
        crate::task::future::spawn_future(&self.registry, future)
    }

    /// Drives `future` to completion on the calling thread and returns its output. On a worker
    /// of any pool, that worker keeps executing other tasks while the future is pending.
    ///
    /// On a thread that is not a worker, the free functions ([`corepool::spawn`](crate::spawn),
    /// [`join`](crate::join), [`scope`](crate::scope), the `par_*` functions) called inside the
    /// future use this pool instead of the global pool. On a worker they use that worker's
    /// pool, as they do everywhere on a worker.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().threads(2).build()?;
    /// let p = pool.clone();
    /// let on_pool = pool.block_on(async move {
    ///     corepool::spawn(move || p.current_thread_index().is_some()).await.unwrap()
    /// });
    /// assert!(on_pool);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn block_on<Fut: std::future::Future>(&self, future: Fut) -> Fut::Output {
        let _entered = WorkerThread::current()
            .is_none()
            .then(|| crate::global::enter(self));
        crate::futures::block_on::block_on(future)
    }

    #[doc(hidden)]
    /// `block_on` without a pool, for doc examples.
    pub fn block_on_here<Fut: std::future::Future>(future: Fut) -> Fut::Output {
        crate::futures::block_on::block_on(future)
    }

    /// Waits, without blocking a thread, for a free slot in the injection queue and returns a
    /// [`Permit`](crate::Permit) that spawns into it without waiting. For async submitters:
    /// `pool.reserve().await?.spawn(f)` applies backpressure to a producer task while its
    /// executor thread keeps running other tasks. Fails once the pool is shut down.
    pub fn reserve(&self) -> crate::Reserve {
        crate::Reserve::new(Arc::clone(&self.registry))
    }

    /// Waits for room without blocking a thread (see [`reserve`](Self::reserve)), then spawns
    /// `func`. A shut-down pool hands the closure back.
    ///
    /// ```
    /// # let pool = corepool::Pool::builder().threads(1).queue_capacity(1).build()?;
    /// let h = pool.block_on(async { pool.spawn_async(|| 7).await.expect("pool is running").await });
    /// assert_eq!(h.unwrap(), 7);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn spawn_async<F, T>(
        &self,
        func: F,
    ) -> impl std::future::Future<Output = Result<JoinHandle<T>, SpawnError<F>>> + Send + 'static
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        crate::futures::reserve::spawn_async(Arc::clone(&self.registry), func)
    }

    /// Spawns every closure, submitting from outside the pool in batches (one queue
    /// reservation and one wake-up per batch of up to 256, waiting only while the queue is
    /// full). Returns the handles in order. On a shut-down pool the remaining handles report
    /// `Cancelled`.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().threads(2).build()?;
    /// let handles = pool.spawn_all((0..100u64).map(|i| move || i * 2));
    /// let sum: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    /// assert_eq!(sum, 9900);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn spawn_all<I, F, T>(&self, tasks: I) -> Vec<JoinHandle<T>>
    where
        I: IntoIterator<Item = F>,
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        crate::spawn::batch::spawn_all(&self.registry, tasks)
    }

    /// Spawns with a [`Priority`](crate::Priority): High work injected from outside is taken
    /// before Normal work (Normal still gets a pick after a few High picks in a row, so it is
    /// delayed, never starved). Backpressure as for
    /// [`spawn`](Self::spawn); each lane has its own bounded queue of `queue_capacity`.
    ///
    /// ```
    /// use corepool::{Pool, Priority};
    /// let pool = Pool::builder().threads(2).build()?;
    /// let urgent = pool.spawn_with(Priority::High, || "now");
    /// assert_eq!(urgent.join().unwrap(), "now");
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    #[deprecated(since = "0.2.0", note = "use `pool.task().priority(p).spawn(f)`")]
    pub fn spawn_with<F, T>(&self, priority: crate::Priority, func: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let lane = match priority {
            crate::Priority::High => Lane::High,
            crate::Priority::Normal => Lane::Normal,
        };
        self.spawn_lane(func, lane)
    }

    /// Spawns onto worker `index`: the task waits in that worker's inbox and runs there,
    /// unless the worker stays busy for longer than its
    /// [`affinity_patience`](crate::Builder::affinity_patience), after which idle peers may
    /// take it. Locality first, never a stuck task. The same as
    /// `task().on(index).spawn(func)`, with a shut-down pool's refusal reported through the
    /// handle (`Cancelled`).
    ///
    /// # Panics
    /// If `index >= threads()` (it used to wrap around silently); `task().on(index)` reports
    /// it as [`SpawnError::NoSuchWorker`] instead.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().threads(2).build()?;
    /// let where_ran = pool.spawn_on(1, corepool::current_thread_index).join().unwrap();
    /// assert!(where_ran.is_some());
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    #[deprecated(since = "0.2.0", note = "use `pool.task().on(i).spawn(f)`")]
    pub fn spawn_on<F, T>(&self, index: usize, func: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let threads = self.threads();
        assert!(
            index < threads,
            "spawn_on({index}): the pool has {threads} workers"
        );
        self.spawn_lane(func, Lane::Worker(index))
    }

    /// Spawns onto the worker that `key` hashes to, so tasks with the same key share a
    /// worker's caches (see [`spawn_on`](Self::spawn_on) for the rule).
    #[deprecated(since = "0.2.0", note = "use `pool.task().keyed(&key).spawn(f)`")]
    pub fn spawn_keyed<K, F, T>(&self, key: &K, func: F) -> JoinHandle<T>
    where
        K: std::hash::Hash + ?Sized,
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let index = crate::sched::lanes::worker_for_key(key, self.threads());
        self.spawn_lane(func, Lane::Worker(index))
    }

    fn spawn_lane<F, T>(&self, func: F, lane: Lane) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        spawn_to(&self.registry, func, Wait::Forever, Target::Cpu(lane)).0
    }

    /// Starts building a concurrency-limited [`Group`](crate::Group) on this pool.
    pub fn group(&self) -> crate::GroupBuilder {
        crate::GroupBuilder::new(Arc::clone(&self.registry))
    }

    /// Runs `a` and `b`, potentially in parallel, and returns both results.
    ///
    /// Both always run to completion, also when the other panics (nothing of `b` depends on
    /// whether it was stolen). If either panics, the panic is re-raised here once both have
    /// finished; if both do, `a`'s wins and `b`'s payload is dropped. Called from outside the
    /// pool, the pair runs on a worker and the caller blocks.
    ///
    /// ```
    /// use std::panic::{catch_unwind, AssertUnwindSafe};
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// let pool = corepool::Pool::builder().threads(1).build()?;
    /// let b_ran = AtomicBool::new(false);
    /// let result = catch_unwind(AssertUnwindSafe(|| {
    ///     pool.join(|| panic!("a"), || b_ran.store(true, Ordering::SeqCst))
    /// }));
    /// assert!(result.is_err());
    /// assert!(b_ran.load(Ordering::SeqCst), "b ran although a panicked");
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn join<A, B, RA, RB>(&self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        let registry = &self.registry;
        install::install(registry, move || {
            match Caller::of(registry).own() {
                Some(worker) => join::join_on_worker(worker, a, b),
                // The pool is shut down: run both here, in order.
                None => join::join_here(a, b),
            }
        })
    }

    /// Creates a scope whose tasks may borrow from the caller's stack; returns once every task
    /// spawned in it has finished. A panic in the body or a task is re-raised after that.
    pub fn scope<'scope, OP, R>(&self, op: OP) -> R
    where
        OP: FnOnce(&Scope<'scope>) -> R + Send,
        R: Send,
    {
        scope::scope(&self.registry, op)
    }

    /// Creates a scope whose body runs on the calling thread, not on a worker (rayon-core's
    /// `in_place_scope`); tasks spawned in it run on the pool, and it returns once every one
    /// has finished. A panic in the body or a task is re-raised after that.
    ///
    /// [`scope`](Self::scope) moves the body to a worker and blocks the caller; this keeps the
    /// caller's thread (its thread-locals, and a one-thread pool's only worker stays free for
    /// the tasks). Off the pool, the caller parks while it waits; on a worker (of this pool or
    /// another) it keeps executing its own pool's work. The body need not be `Send`.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().threads(1).build()?;
    /// let here = std::thread::current().id();
    /// let not_send = std::rc::Rc::new(5); // the body may use it: it stays on this thread
    /// let mut on_worker = None;
    /// pool.in_place_scope(|s| {
    ///     assert_eq!(std::thread::current().id(), here);
    ///     assert_eq!(*not_send, 5);
    ///     s.spawn(|_| on_worker = corepool::current_thread_index());
    /// });
    /// assert_eq!(on_worker, Some(0));
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn in_place_scope<'scope, OP, R>(&self, op: OP) -> R
    where
        OP: FnOnce(&Scope<'scope>) -> R,
    {
        scope::in_place_scope(&self.registry, op)
    }

    /// [`scope`](Self::scope) whose spawns run first in, first out per spawning worker (see
    /// [`ScopeFifo`]; rayon-core's `scope_fifo`).
    pub fn scope_fifo<'scope, OP, R>(&self, op: OP) -> R
    where
        OP: FnOnce(&ScopeFifo<'scope>) -> R + Send,
        R: Send,
    {
        scope::scope_fifo(&self.registry, op)
    }

    /// [`in_place_scope`](Self::in_place_scope) for a [`ScopeFifo`].
    pub fn in_place_scope_fifo<'scope, OP, R>(&self, op: OP) -> R
    where
        OP: FnOnce(&ScopeFifo<'scope>) -> R,
    {
        scope::in_place_scope_fifo(&self.registry, op)
    }

    /// Runs `op` once on every worker and returns the results, in worker order
    /// (rayon-core's `broadcast`): to warm or read a thread-local on each worker, for example.
    ///
    /// Worker `i`'s call waits in that worker's inbox, so it runs after the task the worker is
    /// running now; a worker blocked for good blocks the broadcast. Called on one of this
    /// pool's workers, that worker runs its own call while it waits. A panic in `op` is
    /// re-raised here once every call has finished. On a shut-down pool a call whose worker is
    /// gone runs on the thread that holds it (the caller, or another worker), with that
    /// worker's index: the broadcast still returns one result per worker.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().threads(3).build()?;
    /// let seen = pool.broadcast(|ctx| (ctx.index(), corepool::current_thread_index()));
    /// assert_eq!(seen, [(0, Some(0)), (1, Some(1)), (2, Some(2))]);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn broadcast<OP, R>(&self, op: OP) -> Vec<R>
    where
        OP: Fn(BroadcastContext<'_>) -> R + Sync,
        R: Send,
    {
        crate::spawn::broadcast::broadcast(&self.registry, op)
    }

    /// Runs `op` once on every worker without waiting (rayon-core's `spawn_broadcast`).
    /// Delivery as for [`broadcast`](Self::broadcast); a panic in `op` goes to the
    /// [`panic_handler`](crate::Builder::panic_handler), as for a detached task.
    ///
    /// ```
    /// use std::sync::mpsc;
    /// let pool = corepool::Pool::builder().threads(2).build()?;
    /// let (tx, rx) = mpsc::channel();
    /// let tx = std::sync::Mutex::new(tx);
    /// pool.spawn_broadcast(move |ctx| tx.lock().unwrap().send(ctx.index()).unwrap());
    /// let mut got: Vec<usize> = rx.iter().take(2).collect();
    /// got.sort();
    /// assert_eq!(got, [0, 1]);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn spawn_broadcast<OP>(&self, op: OP)
    where
        OP: Fn(BroadcastContext<'_>) + Send + Sync + 'static,
    {
        crate::spawn::broadcast::spawn_broadcast(&self.registry, op)
    }

    /// [`yield_now`](crate::yield_now) if the current thread is one of this pool's workers;
    /// `None` otherwise.
    pub fn yield_now(&self) -> Option<crate::Yield> {
        self.current_thread_index()?;
        crate::yield_now()
    }

    /// [`yield_local`](crate::yield_local) if the current thread is one of this pool's
    /// workers; `None` otherwise.
    pub fn yield_local(&self) -> Option<crate::Yield> {
        self.current_thread_index()?;
        crate::yield_local()
    }

    /// The pool whose worker the current thread is, if it is one: the way for a task to reach
    /// the pool it runs on (to spawn into it, read its metrics, or hand it on) without
    /// capturing a handle.
    ///
    /// The handle counts like any other: if every other handle is gone, dropping this one
    /// shuts the pool down (from a worker, that starts the shutdown and returns).
    ///
    /// ```
    /// let pool = corepool::Pool::builder().threads(2).build()?;
    /// let threads = pool.spawn(|| corepool::Pool::current().map(|p| p.threads()));
    /// assert_eq!(threads.join().unwrap(), Some(2));
    /// assert!(corepool::Pool::current().is_none());
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    #[must_use]
    pub fn current() -> Option<Pool> {
        WorkerThread::current().map(|w| Pool::from_registry(Arc::clone(&w.registry)))
    }

    /// Runs `op` on one of the pool's workers and returns its value (re-raising its panic).
    ///
    /// Inside `op`, [`corepool::join`](crate::join) and friends use this pool. Safe to call
    /// from a worker of another pool: that worker keeps running its own pool's work meanwhile.
    /// On a shut-down pool `op` runs on the calling thread.
    pub fn install<OP, R>(&self, op: OP) -> R
    where
        OP: FnOnce() -> R + Send,
        R: Send,
    {
        install::install(&self.registry, op)
    }

    /// The number of CPU workers.
    #[must_use]
    pub fn threads(&self) -> usize {
        self.registry.num_threads()
    }

    /// The index of the current thread if it is one of this pool's workers.
    #[must_use]
    pub fn current_thread_index(&self) -> Option<usize> {
        WorkerThread::current()
            .filter(|w| Arc::ptr_eq(&w.registry, &self.registry))
            .map(|w| w.index)
    }

    /// The most threads the blocking-I/O pool may run.
    #[must_use]
    pub fn io_threads(&self) -> usize {
        self.registry.blocking.max_threads()
    }

    /// Blocking-I/O threads currently alive (busy or idle within their keep-alive).
    #[must_use]
    pub fn io_threads_alive(&self) -> usize {
        self.registry.blocking.alive()
    }

    /// A snapshot of the pool's figures: per-worker counters, queue depths, task counts,
    /// cumulative busy time with the snapshot's moment, and latency histograms for both pools.
    /// Taking one changes nothing; compare two with
    /// [`Metrics::interval_since`](crate::Metrics::interval_since).
    #[must_use]
    pub fn metrics(&self) -> crate::Metrics {
        self.registry.metrics()
    }

    /// Submissions waiting outside the workers' deques: in the injection queue's Normal and
    /// High lanes and in every worker's inbox (a submission that has taken its slot and is
    /// about to push counts too). At most [`queue_bound`](Self::queue_bound).
    #[must_use]
    pub fn queued(&self) -> usize {
        self.registry.queued()
    }

    /// How many submissions each lane of the injection queue holds: the builder's
    /// [`queue_capacity`](crate::Builder::queue_capacity). The Normal lane, the High lane and
    /// every worker's inbox are each bounded by it (a full one makes `spawn` wait, or hands the
    /// closure back), so [`queued`](Self::queued) can reach
    /// [`queue_bound`](Self::queue_bound).
    #[must_use]
    pub fn queue_capacity(&self) -> usize {
        self.registry.injected.capacity()
    }

    /// The most submissions that can wait outside the workers' deques at once:
    /// `(threads() + 2) × queue_capacity()` (one Normal lane, one High lane, one inbox per
    /// worker). Tasks a [`Group`](crate::Group) releases into the pool are the exception: the
    /// group's own bounds hold those.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().threads(2).queue_capacity(4).build()?;
    /// assert_eq!(pool.queue_bound(), 16);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    #[must_use]
    pub fn queue_bound(&self) -> usize {
        self.registry.queue_bound()
    }

    /// Whether [`shutdown`](Self::shutdown) or [`shutdown_now`](Self::shutdown_now) was called.
    #[must_use]
    pub fn is_shutdown(&self) -> bool {
        self.registry.injected.is_closed()
    }

    /// Stops accepting work from outside, runs everything already queued, and waits for every
    /// worker thread to exit. Later spawns from outside, to either pool, are refused with
    /// [`SpawnError::Shutdown`]. Tasks already running may still spawn (their children run),
    /// and may still use the blocking-I/O pool: it closes only once the CPU pool has drained,
    /// also when the shutdown was started on a pool thread or a
    /// [`shutdown_timeout`](Self::shutdown_timeout) ran out first.
    ///
    /// Called from one of this pool's own workers it cannot wait for itself: it starts the
    /// shutdown and returns at once; the workers exit once the current work is done.
    pub fn shutdown(&self) {
        self.registry.shutdown(false, None);
    }

    /// Like [`shutdown`](Self::shutdown), but waits at most `timeout` for the queued and running
    /// work of both pools to finish. Returns `true` if every thread exited in time.
    ///
    /// Otherwise the pool is given up on: its threads finish their work in the background and
    /// free what is theirs when they exit, and dropping the last `Pool` handle no longer waits
    /// for them (tokio's `shutdown_timeout` likewise abandons what is left). An explicit
    /// [`shutdown`](Self::shutdown) afterwards still waits.
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = corepool::Pool::builder().threads(1).build()?;
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let stuck = pool.spawn(move || rx.recv().ok());
    /// assert!(!pool.shutdown_timeout(Duration::from_millis(10)));
    /// drop(pool); // returns at once: the stuck task still runs
    /// tx.send(()).unwrap();
    /// assert_eq!(stuck.join().unwrap(), Some(()));
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    #[must_use = "`false` means the pool was given up on with work still running"]
    pub fn shutdown_timeout(&self, timeout: Duration) -> bool {
        let deadline = Instant::now().checked_add(timeout);
        let finished = self.registry.shutdown(false, deadline).1;
        if !finished {
            self.registry.abandon();
        }
        finished
    }

    /// Stops accepting work, cancels every queued task (each handle reports
    /// [`JoinError::is_cancelled`](crate::JoinError::is_cancelled)), waits for running tasks
    /// and worker threads to finish, and returns how many tasks it cancelled. Structured work
    /// (`join`, `scope`, `install`) someone is waiting on still runs.
    ///
    /// Called from one of this pool's own workers it starts the shutdown and returns at once,
    /// with the count cancelled so far.
    pub fn shutdown_now(&self) -> usize {
        self.registry.shutdown(true, None).0
    }
}

impl Clone for Pool {
    fn clone(&self) -> Self {
        Pool::from_registry(Arc::clone(&self.registry))
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        if self.registry.handles.fetch_sub(1, Ordering::SeqCst) == 1
            && !self.registry.is_abandoned()
        {
            self.registry.shutdown(false, None);
        }
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("threads", &self.threads())
            .field("queued", &self.queued())
            .field("queue_capacity", &self.queue_capacity())
            .field("shutdown", &self.is_shutdown())
            .finish()
    }
}

/// With the `futures` feature: the futures crate's spawn trait, so executor-agnostic code
/// (`futures::task::SpawnExt::spawn(&pool, fut)`) runs futures on the pool's workers, as
/// [`Pool::spawn_future`] does, detached. Admission follows `spawn_future` (from outside the
/// pool it waits for room in the queue). A shut-down pool refuses with
/// `SpawnError::shutdown()`, and [`status`](futures_task::Spawn::status) says so beforehand.
#[cfg(feature = "futures")]
impl futures_task::Spawn for Pool {
    fn spawn_obj(
        &self,
        future: futures_task::FutureObj<'static, ()>,
    ) -> Result<(), futures_task::SpawnError> {
        self.status()?;
        // Detached: the future's output is `()`, and a panic in it goes to the panic handler.
        drop(self.spawn_future(future));
        Ok(())
    }

    fn status(&self) -> Result<(), futures_task::SpawnError> {
        if self.is_shutdown() {
            Err(futures_task::SpawnError::shutdown())
        } else {
            Ok(())
        }
    }
}

/// Where a [`TaskBuilder`]'s task goes.
#[derive(Clone, Copy, Debug)]
enum Place {
    Cpu(Lane),
    Io,
}

/// A task with options, from [`Pool::task`]: the one spawn method with every option, where
/// [`Pool::spawn`], [`Pool::try_spawn`] and [`Pool::spawn_blocking`] are the short forms.
///
/// Where the task waits is one choice, made by whichever of [`priority`](Self::priority),
/// [`on`](Self::on), [`keyed`](Self::keyed) and [`blocking`](Self::blocking) was called last:
/// a task placed on a worker waits in its inbox, which has no priority, and the I/O pool has
/// neither priority nor placement. Default: the Normal lane of the CPU pool.
///
/// [`spawn`](Self::spawn) waits for room in the queue (from outside the pool; a worker never
/// waits, as for [`Pool::spawn`]), at most the [`timeout`](Self::timeout) if one is set;
/// [`try_spawn`](Self::try_spawn) never waits. Both hand the closure back in a
/// [`SpawnError`] when the task is not accepted: the queue stayed full, the pool is shut
/// down, or [`on`](Self::on) named a worker the pool does not have.
#[must_use = "a task builder does nothing until .spawn() or .try_spawn() is called"]
pub struct TaskBuilder<'p> {
    pool: &'p Pool,
    target: Place,
    timeout: Option<Duration>,
}

impl TaskBuilder<'_> {
    /// Injects with this priority (see [`Pool::spawn_with`]).
    pub fn priority(mut self, priority: crate::Priority) -> Self {
        self.target = Place::Cpu(match priority {
            crate::Priority::High => Lane::High,
            _ => Lane::Normal,
        });
        self
    }

    /// Runs on worker `index` (see [`Pool::spawn_on`] for the rule). An index the pool does
    /// not have is refused at spawn with [`SpawnError::NoSuchWorker`].
    pub fn on(mut self, index: usize) -> Self {
        self.target = Place::Cpu(Lane::Worker(index));
        self
    }

    /// Runs on the worker `key` hashes to, so tasks with the same key share a worker's caches
    /// (see [`Pool::spawn_keyed`]).
    pub fn keyed<K: std::hash::Hash + ?Sized>(mut self, key: &K) -> Self {
        let index = crate::sched::lanes::worker_for_key(key, self.pool.threads());
        self.target = Place::Cpu(Lane::Worker(index));
        self
    }

    /// Runs on the blocking-I/O pool (see [`Pool::spawn_blocking`]).
    pub fn blocking(mut self) -> Self {
        self.target = Place::Io;
        self
    }

    /// Waits at most `timeout` for room in the queue; then [`spawn`](Self::spawn) hands the
    /// closure back in [`SpawnError::Full`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Spawns the task, waiting for room (at most the timeout).
    pub fn spawn<F, T>(self, func: F) -> Result<JoinHandle<T>, SpawnError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let wait = self.timeout.map_or(Wait::Forever, deadline_after);
        self.submit(func, wait)
    }

    /// Spawns the task without waiting: a full queue hands the closure back at once.
    pub fn try_spawn<F, T>(self, func: F) -> Result<JoinHandle<T>, SpawnError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.submit(func, Wait::No)
    }

    fn submit<F, T>(self, func: F, wait: Wait) -> Result<JoinHandle<T>, SpawnError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let target = match self.target {
            Place::Cpu(Lane::Worker(index)) if index >= self.pool.threads() => {
                return Err(SpawnError::NoSuchWorker(func));
            }
            Place::Cpu(lane) => Target::Cpu(lane),
            Place::Io => Target::Io,
        };
        let (handle, submitted) = spawn_to(&self.pool.registry, func, wait, target);
        submitted.map(|()| handle)
    }
}

impl std::fmt::Debug for TaskBuilder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskBuilder")
            .field("target", &self.target)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl<T> crate::JoinSet<T> {
    /// Spawns `func` on `pool` (as [`Pool::spawn`]) into the set, and returns an
    /// [`AbortHandle`](crate::AbortHandle) for it.
    pub fn spawn<F>(&mut self, pool: &Pool, func: F) -> crate::AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let handle = pool.spawn(func);
        let abort = handle.abort_handle();
        self.insert(handle);
        abort
    }
}

/// The `Wait` for a timeout from now (forever if the deadline would overflow).
fn deadline_after(timeout: Duration) -> Wait {
    match Instant::now().checked_add(timeout) {
        Some(deadline) => Wait::Until(deadline),
        None => Wait::Forever,
    }
}
