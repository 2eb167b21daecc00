//! The pool builder.
//!
//! Invariant: `build()` validates every setting before starting a thread, and reports each
//! mistake as a `BuildError`; it never panics on bad input.

use crate::error::BuildError;
use crate::pinning::Pinning;
use crate::registry::Registry;
use crate::unwind::Payload;
use crate::Pool;
use std::sync::Arc;

/// The largest number of CPU workers a pool accepts.
pub const MAX_THREADS: usize = 1024;
/// The largest injection queue capacity a pool accepts.
pub const MAX_QUEUE_CAPACITY: usize = 1 << 30;
/// The injection queue capacity when none is set.
pub const DEFAULT_QUEUE_CAPACITY: usize = 8192;
/// How many jobs a worker's own deque may hold before a spawn from that worker runs inline
/// (caller-runs), when not set with [`Builder::local_queue_limit`].
pub const DEFAULT_LOCAL_QUEUE_LIMIT: usize = 256;
/// The smallest worker stack size a pool accepts, in bytes.
pub const MIN_STACK_SIZE: usize = 64 * 1024;

pub(crate) type IndexHook = Box<dyn Fn(usize) + Send + Sync>;
pub(crate) type PanicHandler = Box<dyn Fn(Payload) + Send + Sync>;

/// Configures and builds a [`Pool`].
///
/// ```
/// use corepool::{Pool, Pinning};
/// let pool = Pool::builder()
///     .threads(2)
///     .pinning(Pinning::None)
///     .queue_capacity(1024)
///     .thread_name(|i| format!("my-worker-{i}"))
///     .build()?;
/// assert_eq!(pool.threads(), 2);
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[must_use = "a builder does nothing until .build() is called"]
pub struct Builder {
    threads: Option<usize>,
    pinning: Pinning,
    queue_capacity: usize,
    local_queue_limit: usize,
    thread_name: Box<dyn FnMut(usize) -> String>,
    stack_size: Option<usize>,
    on_thread_start: Option<IndexHook>,
    on_thread_stop: Option<IndexHook>,
    panic_handler: Option<PanicHandler>,
}

/// A validated configuration, consumed by the registry.
pub(crate) struct Config {
    pub(crate) threads: usize,
    pub(crate) pinning: Pinning,
    pub(crate) queue_capacity: usize,
    pub(crate) local_queue_limit: usize,
    pub(crate) thread_name: Box<dyn FnMut(usize) -> String>,
    pub(crate) stack_size: Option<usize>,
    pub(crate) on_thread_start: Option<IndexHook>,
    pub(crate) on_thread_stop: Option<IndexHook>,
    pub(crate) panic_handler: Option<PanicHandler>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            threads: None,
            pinning: Pinning::PerCore,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            local_queue_limit: DEFAULT_LOCAL_QUEUE_LIMIT,
            thread_name: Box::new(|i| format!("corepool-cpu-{i}")),
            stack_size: None,
            on_thread_start: None,
            on_thread_stop: None,
            panic_handler: None,
        }
    }
}

impl Builder {
    /// A builder with the defaults.
    pub fn new() -> Self {
        Builder::default()
    }

    /// Number of CPU workers. Default: `num_cpus::get()`, which honours cgroup CPU quotas and
    /// the affinity mask. Must be between 1 and [`MAX_THREADS`].
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads);
        self
    }

    /// Where workers run. Default [`Pinning::PerCore`]. The `COREPOOL_NO_PIN` environment
    /// variable (any value but empty or `0`) turns pinning off whatever is set here.
    pub fn pinning(mut self, pinning: Pinning) -> Self {
        self.pinning = pinning;
        self
    }

    /// Capacity of the bounded injection queue that work from outside the pool enters through.
    /// Default [`DEFAULT_QUEUE_CAPACITY`]; between 1 and [`MAX_QUEUE_CAPACITY`].
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity;
        self
    }

    /// How many jobs a worker's own deque may hold before a spawn from that worker runs the
    /// task inline instead (caller-runs). Default [`DEFAULT_LOCAL_QUEUE_LIMIT`]; at least 1.
    pub fn local_queue_limit(mut self, limit: usize) -> Self {
        self.local_queue_limit = limit;
        self
    }

    /// Names worker `i`. Default `corepool-cpu-{i}`.
    pub fn thread_name(mut self, name: impl FnMut(usize) -> String + 'static) -> Self {
        self.thread_name = Box::new(name);
        self
    }

    /// Stack size of each worker, in bytes (at least [`MIN_STACK_SIZE`]). Default: the
    /// platform's default for spawned threads.
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Runs on each worker thread (with its index) before it takes work. A panic in the hook is
    /// reported on stderr and does not stop the worker.
    pub fn on_thread_start(mut self, hook: impl Fn(usize) + Send + Sync + 'static) -> Self {
        self.on_thread_start = Some(Box::new(hook));
        self
    }

    /// Runs on each worker thread (with its index) just before it exits. A panic in the hook is
    /// reported on stderr.
    pub fn on_thread_stop(mut self, hook: impl Fn(usize) + Send + Sync + 'static) -> Self {
        self.on_thread_stop = Some(Box::new(hook));
        self
    }

    /// Receives the panic payload of a detached task (one whose `JoinHandle` was dropped).
    /// Default: the message is printed on stderr. The process is never aborted.
    pub fn panic_handler(
        mut self,
        handler: impl Fn(Box<dyn std::any::Any + Send>) + Send + Sync + 'static,
    ) -> Self {
        self.panic_handler = Some(Box::new(handler));
        self
    }

    fn validate(self) -> Result<Config, BuildError> {
        let threads = self.threads.unwrap_or_else(num_cpus::get);
        if threads == 0 {
            return Err(BuildError::ZeroThreads);
        }
        if threads > MAX_THREADS {
            return Err(BuildError::TooManyThreads {
                requested: threads,
                max: MAX_THREADS,
            });
        }
        if self.queue_capacity == 0 {
            return Err(BuildError::ZeroQueueCapacity);
        }
        if self.queue_capacity > MAX_QUEUE_CAPACITY {
            return Err(BuildError::QueueCapacityTooLarge {
                requested: self.queue_capacity,
                max: MAX_QUEUE_CAPACITY,
            });
        }
        if self.local_queue_limit == 0 {
            return Err(BuildError::ZeroLocalQueueLimit);
        }
        if let Some(bytes) = self.stack_size {
            if bytes < MIN_STACK_SIZE {
                return Err(BuildError::StackTooSmall {
                    requested: bytes,
                    min: MIN_STACK_SIZE,
                });
            }
        }
        Ok(Config {
            threads,
            pinning: self.pinning,
            queue_capacity: self.queue_capacity,
            local_queue_limit: self.local_queue_limit,
            thread_name: self.thread_name,
            stack_size: self.stack_size,
            on_thread_start: self.on_thread_start,
            on_thread_stop: self.on_thread_stop,
            panic_handler: self.panic_handler,
        })
    }

    /// Validates the configuration and starts the workers. Returns once every worker is
    /// running (and its `on_thread_start` hook has run).
    pub fn build(self) -> Result<Pool, BuildError> {
        let config = self.validate()?;
        let registry: Arc<Registry> = Registry::build(config)?;
        Ok(Pool::from_registry(registry))
    }
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("threads", &self.threads)
            .field("pinning", &self.pinning)
            .field("queue_capacity", &self.queue_capacity)
            .field("local_queue_limit", &self.local_queue_limit)
            .field("stack_size", &self.stack_size)
            .finish_non_exhaustive()
    }
}
