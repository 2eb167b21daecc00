//! Error types.
//!
//! Invariant: no error ever swallows a user's closure or panic payload: `SpawnError` hands the
//! closure back, `JoinError` carries the payload, and every type is `Debug + Display + Error`.

use std::any::Any;
use std::fmt;

/// A mistake in a [`Builder`](crate::Builder) configuration, reported by `build()`.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// `threads(0)`: a pool needs at least one worker.
    ZeroThreads,
    /// More threads than [`MAX_THREADS`](crate::defaults::MAX_THREADS).
    TooManyThreads {
        /// The requested count.
        requested: usize,
        /// The largest accepted count.
        max: usize,
    },
    /// `queue_capacity(0)`: the injection queue must hold at least one task.
    ZeroQueueCapacity,
    /// A queue capacity above [`MAX_QUEUE_CAPACITY`](crate::defaults::MAX_QUEUE_CAPACITY).
    QueueCapacityTooLarge {
        /// The requested capacity.
        requested: usize,
        /// The largest accepted capacity.
        max: usize,
    },
    /// `io_threads(0)`: the blocking pool needs at least one thread.
    ZeroIoThreads,
    /// More I/O threads than [`MAX_IO_THREADS`](crate::defaults::MAX_IO_THREADS).
    TooManyIoThreads {
        /// The requested count.
        requested: usize,
        /// The largest accepted count.
        max: usize,
    },
    /// `io_queue_capacity(0)`: the blocking queue must hold at least one task.
    ZeroIoQueueCapacity,
    /// `latency_sample_every(0)`.
    ZeroSampleEvery,
    /// A thread name (from `thread_name` or `io_thread_name`) contains a NUL byte, which the
    /// OS cannot take.
    InvalidThreadName {
        /// The offending name.
        name: String,
    },
    /// `Pool::group().max_concurrency(0)`.
    ZeroGroupConcurrency,
    /// `Pool::group().capacity(0)`.
    ZeroGroupCapacity,
    /// `local_queue_limit(0)`: a worker's deque must hold at least one job.
    ZeroLocalQueueLimit,
    /// A stack size below [`MIN_STACK_SIZE`](crate::defaults::MIN_STACK_SIZE).
    StackTooSmall {
        /// The requested size in bytes.
        requested: usize,
        /// The smallest accepted size in bytes.
        min: usize,
    },
    /// `Pinning::Cores(vec![])`.
    NoCores,
    /// `Pinning::Cores` named a core this process may not run on.
    UnknownCore {
        /// The offending id.
        core: usize,
        /// The cores this process may run on.
        allowed: Vec<usize>,
    },
    /// `Pinning::Cores` was requested but this platform cannot report or set affinity.
    PinningUnsupported,
    /// The operating system refused to start a worker thread.
    ThreadSpawn(std::io::Error),
    /// [`Builder::build_global`](crate::Builder::build_global) after the global pool was built
    /// (by an earlier `build_global`, or lazily by a free function such as
    /// [`join`](crate::join)).
    GlobalPoolAlreadyBuilt,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::ZeroThreads => {
                write!(f, "a pool needs at least one thread (threads(0) given)")
            }
            BuildError::TooManyThreads { requested, max } => {
                write!(
                    f,
                    "{requested} threads requested; at most {max} are allowed"
                )
            }
            BuildError::ZeroQueueCapacity => {
                write!(f, "the injection queue needs room for at least one task (queue_capacity(0) given)")
            }
            BuildError::QueueCapacityTooLarge { requested, max } => {
                write!(
                    f,
                    "queue capacity {requested} requested; at most {max} is allowed"
                )
            }
            BuildError::ZeroIoThreads => {
                write!(
                    f,
                    "the blocking pool needs at least one thread (io_threads(0) given)"
                )
            }
            BuildError::TooManyIoThreads { requested, max } => {
                write!(
                    f,
                    "{requested} I/O threads requested; at most {max} are allowed"
                )
            }
            BuildError::ZeroIoQueueCapacity => write!(
                f,
                "the blocking queue needs room for at least one task (io_queue_capacity(0) given)"
            ),
            BuildError::ZeroSampleEvery => write!(
                f,
                "latency sampling needs a period of at least 1 (latency_sample_every(0) given)"
            ),
            BuildError::InvalidThreadName { name } => write!(
                f,
                "thread name {name:?} contains a NUL byte, which the OS cannot take"
            ),
            BuildError::ZeroGroupConcurrency => {
                write!(
                    f,
                    "a group must let at least one task run (max_concurrency(0) given)"
                )
            }
            BuildError::ZeroGroupCapacity => {
                write!(
                    f,
                    "a group's queue needs room for at least one task (capacity(0) given)"
                )
            }
            BuildError::ZeroLocalQueueLimit => {
                write!(
                    f,
                    "a worker's deque needs room for at least one job (local_queue_limit(0) given)"
                )
            }
            BuildError::StackTooSmall { requested, min } => {
                write!(
                    f,
                    "stack size {requested} bytes requested; at least {min} bytes are needed"
                )
            }
            BuildError::NoCores => write!(f, "Pinning::Cores was given an empty list of cores"),
            BuildError::UnknownCore { core, allowed } => write!(
                f,
                "core {core} is not one this process may run on (allowed cores: {allowed:?})"
            ),
            BuildError::PinningUnsupported => write!(
                f,
                "Pinning::Cores was requested but this platform cannot report thread affinity"
            ),
            BuildError::ThreadSpawn(e) => write!(
                f,
                "the operating system refused to start a worker thread: {e}"
            ),
            BuildError::GlobalPoolAlreadyBuilt => {
                f.write_str("the global pool was already built; build_global must come first")
            }
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::ThreadSpawn(e) => Some(e),
            _ => None,
        }
    }
}

/// A submission that was not accepted. The closure is handed back, never dropped.
#[non_exhaustive]
pub enum SpawnError<F> {
    /// The injection queue was full (immediately for `try_spawn`, after the timeout for
    /// `spawn_timeout`).
    Full(F),
    /// The pool is shut down or shutting down.
    Shutdown(F),
    /// The task was placed on a worker the pool does not have
    /// ([`TaskBuilder::on`](crate::TaskBuilder::on) with an index `>= threads`).
    NoSuchWorker(F),
}

impl<F> SpawnError<F> {
    /// Takes the closure back.
    pub fn into_inner(self) -> F {
        match self {
            SpawnError::Full(f) | SpawnError::Shutdown(f) | SpawnError::NoSuchWorker(f) => f,
        }
    }

    /// `true` for [`SpawnError::Full`].
    #[must_use]
    pub fn is_full(&self) -> bool {
        matches!(self, SpawnError::Full(_))
    }

    /// `true` for [`SpawnError::Shutdown`].
    #[must_use]
    pub fn is_shutdown(&self) -> bool {
        matches!(self, SpawnError::Shutdown(_))
    }
}

impl<F> fmt::Debug for SpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::Full(_) => f.write_str("Full(..)"),
            SpawnError::Shutdown(_) => f.write_str("Shutdown(..)"),
            SpawnError::NoSuchWorker(_) => f.write_str("NoSuchWorker(..)"),
        }
    }
}

impl<F> fmt::Display for SpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::Full(_) => f.write_str("the pool's injection queue is full"),
            SpawnError::Shutdown(_) => f.write_str("the pool is shut down"),
            SpawnError::NoSuchWorker(_) => {
                f.write_str("the task was placed on a worker the pool does not have")
            }
        }
    }
}

impl<F> std::error::Error for SpawnError<F> {}

/// The pool is shut down (from [`Pool::reserve`](crate::Pool::reserve)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShutdownError;

impl fmt::Display for ShutdownError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the pool is shut down")
    }
}

impl std::error::Error for ShutdownError {}

/// A task's identity: unique among every task spawned in this process, for as long as it runs.
///
/// Every [`JoinHandle`](crate::JoinHandle) has one ([`JoinHandle::id`](crate::JoinHandle::id)),
/// its [`AbortHandle`](crate::AbortHandle) shares it, and a [`JoinError`] carries the id of the
/// task it is about, so a failure collected far from its spawn (a
/// [`JoinSet`](crate::JoinSet), a log line) can still be told apart. Ids are never reused; their
/// order says nothing about the order tasks were spawned or ran in.
///
/// ```
/// let pool = corepool::Pool::builder().threads(1).build()?;
/// let a = pool.spawn(|| ());
/// let b = pool.spawn(|| ());
/// assert_ne!(a.id(), b.id());
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(u64);

impl TaskId {
    /// Not yet known: a `JoinError` made in the task cell, before its handle stamps it.
    const UNSET: TaskId = TaskId(0);

    /// The raw value (never 0 for an id handed out).
    pub(crate) fn get(self) -> u64 {
        self.0
    }

    /// An id from its raw value (one `get` returned).
    pub(crate) fn from_raw(raw: u64) -> TaskId {
        TaskId(raw)
    }

    /// A fresh id. Each thread takes a block of ids from one process-wide counter at a time, so
    /// spawning does not contend on a shared cache line for every task.
    #[inline]
    pub(crate) fn next() -> TaskId {
        use std::cell::Cell;
        use std::sync::atomic::{AtomicU64, Ordering};
        // Not part of any protocol (only uniqueness matters), so plain std atomics and
        // thread-locals, also under loom.
        const BLOCK: u64 = 1024;
        static NEXT_BLOCK: AtomicU64 = AtomicU64::new(1);
        std::thread_local! {
            static RANGE: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
        }
        RANGE.with(|range| {
            let (mut next, mut end) = range.get();
            if next == end {
                next = NEXT_BLOCK.fetch_add(BLOCK, Ordering::Relaxed);
                end = next + BLOCK;
            }
            range.set((next + 1, end));
            TaskId(next)
        })
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Why a [`JoinHandle`](crate::JoinHandle) has no value.
///
/// `JoinError` is `Send + Sync + 'static`, so `?` takes it into `Box<dyn Error + Send + Sync>`
/// and `anyhow::Error`, and it converts into [`std::io::Error`] (kind `Other`) for code whose
/// error type is that. The panic payload, which is only `Send`, is kept behind a lock (tokio
/// wraps it for the same reason); [`into_panic`](Self::into_panic) gives it back unchanged.
///
/// ```
/// fn run(pool: &corepool::Pool) -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
///     Ok(pool.spawn(|| 41 + 1).join()?)
/// }
/// let pool = corepool::Pool::builder().threads(1).build()?;
/// assert_eq!(run(&pool)?, 42);
/// let err = pool.spawn(|| -> u32 { panic!("boom") }).join().unwrap_err();
/// let io: std::io::Error = err.into();
/// assert_eq!(io.kind(), std::io::ErrorKind::Other);
/// # Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
/// ```
pub struct JoinError {
    repr: JoinErrorRepr,
    id: TaskId,
}

enum JoinErrorRepr {
    /// A `Mutex` makes the `Send`-only payload `Sync`: the error is shared only by reference,
    /// and every read of the payload goes through the lock.
    Panic(std::sync::Mutex<Box<dyn Any + Send + 'static>>),
    Cancelled,
}

impl JoinError {
    pub(crate) fn panic(payload: Box<dyn Any + Send + 'static>) -> Self {
        JoinError {
            repr: JoinErrorRepr::Panic(std::sync::Mutex::new(payload)),
            id: TaskId::UNSET,
        }
    }

    pub(crate) fn cancelled() -> Self {
        JoinError {
            repr: JoinErrorRepr::Cancelled,
            id: TaskId::UNSET,
        }
    }

    /// The same error, about task `id`.
    pub(crate) fn with_id(mut self, id: TaskId) -> Self {
        self.id = id;
        self
    }

    /// The id of the task this error is about (the one [`JoinHandle::id`](crate::JoinHandle::id)
    /// gave).
    #[must_use]
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The task panicked.
    #[must_use]
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, JoinErrorRepr::Panic(_))
    }

    /// The task never ran: it was cancelled, or the pool shut down before running it.
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, JoinErrorRepr::Cancelled)
    }

    /// The panic payload, to inspect or to re-raise with [`std::panic::resume_unwind`].
    ///
    /// # Panics
    /// If the task was cancelled; check [`is_panic`](Self::is_panic) or use
    /// [`try_into_panic`](Self::try_into_panic).
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .unwrap_or_else(|_| panic!("JoinError::into_panic called on a cancelled task"))
    }

    /// The panic payload, or the error itself if the task was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            JoinErrorRepr::Panic(payload) => Ok(payload
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner)),
            JoinErrorRepr::Cancelled => Err(self),
        }
    }

    /// The panic's message (`"<non-string panic payload>"` if it has none), or `None` for a
    /// cancelled task.
    fn message(&self) -> Option<String> {
        match &self.repr {
            JoinErrorRepr::Panic(payload) => {
                let payload = payload
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                Some(panic_message(&**payload).to_owned())
            }
            JoinErrorRepr::Cancelled => None,
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = if self.is_panic() {
            "JoinError::Panic"
        } else {
            "JoinError::Cancelled"
        };
        let mut tuple = f.debug_tuple(name);
        if let Some(message) = self.message() {
            tuple.field(&message);
        }
        tuple.finish()
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.message() {
            Some(message) => write!(f, "task panicked: {message}"),
            None => f.write_str("task was cancelled before it ran"),
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    /// An `io::Error` of kind `Other` whose source is the `JoinError` (tokio's conversion).
    fn from(err: JoinError) -> Self {
        std::io::Error::other(err)
    }
}

/// The human-readable message in a panic payload, if it has one.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "<non-string panic payload>"
    }
}
