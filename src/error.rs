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
    /// More threads than [`MAX_THREADS`](crate::MAX_THREADS).
    TooManyThreads {
        /// The requested count.
        requested: usize,
        /// The largest accepted count.
        max: usize,
    },
    /// `queue_capacity(0)`: the injection queue must hold at least one task.
    ZeroQueueCapacity,
    /// A queue capacity above [`MAX_QUEUE_CAPACITY`](crate::MAX_QUEUE_CAPACITY).
    QueueCapacityTooLarge {
        /// The requested capacity.
        requested: usize,
        /// The largest accepted capacity.
        max: usize,
    },
    /// `io_threads(0)`: the blocking pool needs at least one thread.
    ZeroIoThreads,
    /// More I/O threads than [`MAX_IO_THREADS`](crate::MAX_IO_THREADS).
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
    /// A stack size below [`MIN_STACK_SIZE`](crate::MIN_STACK_SIZE).
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
pub enum SpawnError<F> {
    /// The injection queue was full (immediately for `try_spawn`, after the timeout for
    /// `spawn_timeout`).
    Full(F),
    /// The pool is shut down or shutting down.
    Shutdown(F),
}

impl<F> SpawnError<F> {
    /// Takes the closure back.
    pub fn into_inner(self) -> F {
        match self {
            SpawnError::Full(f) | SpawnError::Shutdown(f) => f,
        }
    }

    /// `true` for [`SpawnError::Full`].
    pub fn is_full(&self) -> bool {
        matches!(self, SpawnError::Full(_))
    }

    /// `true` for [`SpawnError::Shutdown`].
    pub fn is_shutdown(&self) -> bool {
        matches!(self, SpawnError::Shutdown(_))
    }
}

impl<F> fmt::Debug for SpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::Full(_) => f.write_str("Full(..)"),
            SpawnError::Shutdown(_) => f.write_str("Shutdown(..)"),
        }
    }
}

impl<F> fmt::Display for SpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::Full(_) => f.write_str("the pool's injection queue is full"),
            SpawnError::Shutdown(_) => f.write_str("the pool is shut down"),
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

/// Why a [`JoinHandle`](crate::JoinHandle) has no value.
pub struct JoinError {
    repr: JoinErrorRepr,
}

enum JoinErrorRepr {
    Panic(Box<dyn Any + Send + 'static>),
    Cancelled,
}

impl JoinError {
    pub(crate) fn panic(payload: Box<dyn Any + Send + 'static>) -> Self {
        JoinError {
            repr: JoinErrorRepr::Panic(payload),
        }
    }

    pub(crate) fn cancelled() -> Self {
        JoinError {
            repr: JoinErrorRepr::Cancelled,
        }
    }

    /// The task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, JoinErrorRepr::Panic(_))
    }

    /// The task never ran: it was cancelled, or the pool shut down before running it.
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
            JoinErrorRepr::Panic(payload) => Ok(payload),
            JoinErrorRepr::Cancelled => Err(self),
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
        if let JoinErrorRepr::Panic(p) = &self.repr {
            tuple.field(&panic_message(&**p));
        }
        tuple.finish()
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            JoinErrorRepr::Panic(p) => {
                write!(f, "task panicked: {}", panic_message(&**p))
            }
            JoinErrorRepr::Cancelled => f.write_str("task was cancelled before it ran"),
        }
    }
}

impl std::error::Error for JoinError {}

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
