//! The pool builder.
//!
//! Invariant: `build()` validates every setting before starting a thread, and reports each
//! mistake as a `BuildError`; it never panics on bad input.

use crate::error::BuildError;
use crate::sched::config::BlockingConfig;
use crate::sched::config::{Config, IndexHook, PanicHandler};
use crate::sched::pinning::Pinning;
use crate::sched::registry::Registry;
use crate::Pool;
use std::sync::Arc;
use std::time::Duration;

use crate::sched::config::{
    DEFAULT_IO_KEEP_ALIVE, DEFAULT_IO_QUEUE_CAPACITY, DEFAULT_IO_THREADS,
    DEFAULT_LATENCY_SAMPLE_EVERY, DEFAULT_LOCAL_QUEUE_LIMIT, DEFAULT_QUEUE_CAPACITY,
    MAX_IO_THREADS, MAX_QUEUE_CAPACITY, MAX_THREADS, MIN_STACK_SIZE,
};

/// The [`Builder`]'s defaults and limits, in one place: what a setting is when not set, and
/// the range `build()` accepts. These are promises of this version (a change is a breaking
/// one); the scheduler's internal tuning values are not here, and not public.
///
/// ```
/// use corepool::{defaults, Pool};
/// let pool = Pool::builder().threads(1).build()?;
/// assert_eq!(pool.queue_capacity(), defaults::QUEUE_CAPACITY);
/// assert!(Pool::builder().threads(defaults::MAX_THREADS + 1).build().is_err());
/// # Ok::<(), corepool::BuildError>(())
/// ```
pub mod defaults {
    pub use crate::sched::config::{
        DEFAULT_IO_KEEP_ALIVE as IO_KEEP_ALIVE, DEFAULT_IO_QUEUE_CAPACITY as IO_QUEUE_CAPACITY,
        DEFAULT_IO_THREADS as IO_THREADS, DEFAULT_LATENCY_SAMPLE_EVERY as LATENCY_SAMPLE_EVERY,
        DEFAULT_LOCAL_QUEUE_LIMIT as LOCAL_QUEUE_LIMIT, DEFAULT_QUEUE_CAPACITY as QUEUE_CAPACITY,
        MAX_IO_THREADS, MAX_QUEUE_CAPACITY, MAX_THREADS, MIN_STACK_SIZE,
    };
    pub use crate::sched::lanes::AFFINITY_PATIENCE;
}

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
    /// `None`: the default, `corepool{n}-{i}` for the pool's number `n`.
    thread_name: Option<NameFn>,
    stack_size: Option<usize>,
    on_thread_start: Option<IndexHook>,
    on_thread_stop: Option<IndexHook>,
    panic_handler: Option<PanicHandler>,
    io_threads: usize,
    io_queue_capacity: usize,
    io_keep_alive: Duration,
    on_io_thread_start: Option<IndexHook>,
    on_io_thread_stop: Option<IndexHook>,
    /// `None`: the default, `corepool{n}-io-{i}` for the pool's number `n`.
    io_thread_name: Option<NameFn>,
    latency_sample_every: u64,
    affinity_patience: Duration,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            threads: None,
            pinning: Pinning::PerCore,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            local_queue_limit: DEFAULT_LOCAL_QUEUE_LIMIT,
            thread_name: None,
            stack_size: None,
            on_thread_start: None,
            on_thread_stop: None,
            panic_handler: None,
            io_threads: DEFAULT_IO_THREADS,
            io_queue_capacity: DEFAULT_IO_QUEUE_CAPACITY,
            io_keep_alive: DEFAULT_IO_KEEP_ALIVE,
            on_io_thread_start: None,
            on_io_thread_stop: None,
            io_thread_name: None,
            latency_sample_every: DEFAULT_LATENCY_SAMPLE_EVERY,
            affinity_patience: defaults::AFFINITY_PATIENCE,
        }
    }
}

impl Builder {
    /// A builder with the defaults.
    pub fn new() -> Self {
        Builder::default()
    }

    /// Number of CPU workers. Default: `num_cpus::get()`, which honours cgroup CPU quotas and
    /// the affinity mask, read once per process at the first build (with the allowed core set):
    /// a pool built later on a pinned worker gets the process's count, not its single core.
    /// Must be between 1 and [`MAX_THREADS`](defaults::MAX_THREADS).
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

    /// Capacity of each lane of the bounded injection queue that work from outside the pool
    /// enters through: the Normal lane, the High lane ([`Priority`](crate::Priority)) and each
    /// worker's inbox ([`Pool::spawn_on`](crate::Pool::spawn_on)) hold this many each, so up
    /// to `(threads + 2) × capacity` submissions wait in all
    /// ([`Pool::queue_bound`](crate::Pool::queue_bound)). Default [`QUEUE_CAPACITY`](defaults::QUEUE_CAPACITY);
    /// between 1 and [`MAX_QUEUE_CAPACITY`](defaults::MAX_QUEUE_CAPACITY).
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity;
        self
    }

    /// How many jobs a worker's own deque may hold before a spawn from that worker runs the
    /// task inline instead (caller-runs). Default [`LOCAL_QUEUE_LIMIT`](defaults::LOCAL_QUEUE_LIMIT); at least 1.
    pub fn local_queue_limit(mut self, limit: usize) -> Self {
        self.local_queue_limit = limit;
        self
    }

    /// Names worker `i`. Default `corepool{n}-{i}`, where `n` numbers the pools this process
    /// built (from 1, in build order), so two pools' threads are told apart in a profiler or a
    /// debugger. Linux shows at most 15 bytes of a thread's name; Rust's
    /// [`Thread::name`](std::thread::Thread::name) keeps it whole.
    ///
    /// ```
    /// let a = corepool::Pool::builder().threads(1).build()?;
    /// let b = corepool::Pool::builder().threads(1).build()?;
    /// let name = |p: &corepool::Pool| {
    ///     p.spawn(|| std::thread::current().name().unwrap().to_owned()).join().unwrap()
    /// };
    /// assert!(name(&a).starts_with("corepool"));
    /// assert_ne!(name(&a), name(&b));
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn thread_name(mut self, name: impl Fn(usize) -> String + Send + Sync + 'static) -> Self {
        self.thread_name = Some(Box::new(name));
        self
    }

    /// Stack size of each worker, in bytes (at least [`MIN_STACK_SIZE`](defaults::MIN_STACK_SIZE)). Default: the
    /// platform's default for spawned threads.
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Runs on each worker thread (with its index) before it takes work. A panic in the hook is
    /// reported (see [`panic_handler`](Self::panic_handler) for where) and does not stop the
    /// worker.
    pub fn on_thread_start(mut self, hook: impl Fn(usize) + Send + Sync + 'static) -> Self {
        self.on_thread_start = Some(Box::new(hook));
        self
    }

    /// Runs on each worker thread (with its index) just before it exits. A panic in the hook is
    /// reported.
    pub fn on_thread_stop(mut self, hook: impl Fn(usize) + Send + Sync + 'static) -> Self {
        self.on_thread_stop = Some(Box::new(hook));
        self
    }

    /// Receives the panic payload of a detached task: one whose `JoinHandle` was dropped without
    /// taking its result, whether the handle went before the task panicked (the handler runs on
    /// the worker) or after (it runs in the handle's `drop`, on the dropping thread, possibly
    /// after the pool was shut down). Called once per such panic. So the handler should not
    /// block on a lock that code dropping handles may hold.
    ///
    /// It also receives every other panic of user code that runs on a pool thread with nobody
    /// waiting for it: an unread result's `Drop`, a waker's `wake` or `drop` (one registered on
    /// a `JoinHandle` or a `Reserve`), a future's `Drop`, a cancelled closure's `Drop` when the
    /// pool cancels it. A panic in the handler itself is reported, not raised.
    /// Default: the message is reported. The process is never aborted.
    ///
    /// Reported means: logged through the [`log`](https://docs.rs/log) crate (target
    /// `corepool`, level `error`) when the program has set up logging (`log::max_level()` is
    /// not `Off`), else printed as one line on stderr.
    pub fn panic_handler(
        mut self,
        handler: impl Fn(Box<dyn std::any::Any + Send>) + Send + Sync + 'static,
    ) -> Self {
        self.panic_handler = Some(Arc::new(handler));
        self
    }

    /// The most threads the elastic blocking-I/O pool runs at once. Threads start only when a
    /// blocking task finds no idle one. Default [`IO_THREADS`](defaults::IO_THREADS); between 1 and
    /// [`MAX_IO_THREADS`](defaults::MAX_IO_THREADS).
    pub fn io_threads(mut self, threads: usize) -> Self {
        self.io_threads = threads;
        self
    }

    /// Capacity of the bounded blocking-I/O queue (same backpressure rules as
    /// [`queue_capacity`](Self::queue_capacity)). Default [`IO_QUEUE_CAPACITY`](defaults::IO_QUEUE_CAPACITY).
    pub fn io_queue_capacity(mut self, capacity: usize) -> Self {
        self.io_queue_capacity = capacity;
        self
    }

    /// How long an idle I/O thread waits for work before it exits. Default
    /// [`IO_KEEP_ALIVE`](defaults::IO_KEEP_ALIVE).
    pub fn io_keep_alive(mut self, keep_alive: Duration) -> Self {
        self.io_keep_alive = keep_alive;
        self
    }

    /// Names the `i`-th I/O thread started. Default `corepool{n}-io-{i}`, with the pool's
    /// number `n` as for [`thread_name`](Self::thread_name). Called when a thread starts, from
    /// whichever thread starts it.
    pub fn io_thread_name(
        mut self,
        name: impl Fn(usize) -> String + Send + Sync + 'static,
    ) -> Self {
        self.io_thread_name = Some(Box::new(name));
        self
    }

    /// Runs on each I/O thread (with its number, as for
    /// [`io_thread_name`](Self::io_thread_name)) when it starts, before it takes work. A
    /// panic in the hook is reported and does not stop the thread.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// let (started, stopped) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    /// let (s, t) = (Arc::clone(&started), Arc::clone(&stopped));
    /// let pool = corepool::Pool::builder()
    ///     .threads(1)
    ///     .on_io_thread_start(move |_| { s.fetch_add(1, Ordering::SeqCst); })
    ///     .on_io_thread_stop(move |_| { t.fetch_add(1, Ordering::SeqCst); })
    ///     .build()?;
    /// pool.spawn_blocking(|| ()).join().unwrap();
    /// pool.shutdown(); // waits for the I/O threads too
    /// assert_eq!(started.load(Ordering::SeqCst), 1);
    /// assert_eq!(stopped.load(Ordering::SeqCst), 1);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn on_io_thread_start(mut self, hook: impl Fn(usize) + Send + Sync + 'static) -> Self {
        self.on_io_thread_start = Some(Box::new(hook));
        self
    }

    /// Runs on each I/O thread (with its number) just before it exits: after its keep-alive
    /// ran out, or at shutdown. A panic in the hook is reported.
    pub fn on_io_thread_stop(mut self, hook: impl Fn(usize) + Send + Sync + 'static) -> Self {
        self.on_io_thread_stop = Some(Box::new(hook));
        self
    }

    /// Times one task in `every` (per submitting thread) for the latency histograms in
    /// [`Pool::metrics`](crate::Pool::metrics). Default [`LATENCY_SAMPLE_EVERY`](defaults::LATENCY_SAMPLE_EVERY); `1`
    /// times every task (two clock reads more per task); at least 1.
    pub fn latency_sample_every(mut self, every: u64) -> Self {
        self.latency_sample_every = every;
        self
    }

    /// How long a worker must have been busy before idle peers may take the tasks spawned onto
    /// it with [`Pool::spawn_on`](crate::Pool::spawn_on) / `spawn_keyed`, and how long the task
    /// a running task spawns first may wait for it before an idle peer takes it (a task spawned
    /// from a worker runs next on that worker when its spawner returns, so a chain of tasks that
    /// each spawn their successor stays on one core; see [`spawn`](crate::spawn)). Default
    /// [`AFFINITY_PATIENCE`](crate::defaults::AFFINITY_PATIENCE); longer favours locality, shorter favours
    /// latency.
    pub fn affinity_patience(mut self, patience: Duration) -> Self {
        self.affinity_patience = patience;
        self
    }

    fn validate(self) -> Result<Config, BuildError> {
        let threads = self
            .threads
            .unwrap_or_else(crate::sched::pinning::default_threads);
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
        if self.latency_sample_every == 0 {
            return Err(BuildError::ZeroSampleEvery);
        }
        if self.io_threads == 0 {
            return Err(BuildError::ZeroIoThreads);
        }
        if self.io_threads > MAX_IO_THREADS {
            return Err(BuildError::TooManyIoThreads {
                requested: self.io_threads,
                max: MAX_IO_THREADS,
            });
        }
        if self.io_queue_capacity == 0 {
            return Err(BuildError::ZeroIoQueueCapacity);
        }
        if self.io_queue_capacity > MAX_QUEUE_CAPACITY {
            return Err(BuildError::QueueCapacityTooLarge {
                requested: self.io_queue_capacity,
                max: MAX_QUEUE_CAPACITY,
            });
        }
        if let Some(bytes) = self.stack_size {
            if bytes < MIN_STACK_SIZE {
                return Err(BuildError::StackTooSmall {
                    requested: bytes,
                    min: MIN_STACK_SIZE,
                });
            }
        }
        // Name every worker now, before any thread starts: a bad name (or a panicking naming
        // closure) then leaves nothing running behind.
        let number = next_pool_number();
        let thread_name = self
            .thread_name
            .unwrap_or_else(|| Box::new(move |i| format!("corepool{number}-{i}")));
        let io_thread_name = self
            .io_thread_name
            .unwrap_or_else(|| Box::new(move |i| format!("corepool{number}-io-{i}")));
        let names: Vec<String> = (0..threads).map(&thread_name).collect();
        let io_name = io_thread_name(0);
        if let Some(name) = names.iter().chain([&io_name]).find(|n| n.contains('\0')) {
            return Err(BuildError::InvalidThreadName { name: name.clone() });
        }
        Ok(Config {
            names,
            threads,
            pinning: self.pinning,
            queue_capacity: self.queue_capacity,
            local_queue_limit: self.local_queue_limit,
            stack_size: self.stack_size,
            on_thread_start: self.on_thread_start,
            on_thread_stop: self.on_thread_stop,
            panic_handler: self.panic_handler,
            blocking: Some(BlockingConfig {
                max_threads: self.io_threads,
                queue_capacity: self.io_queue_capacity,
                keep_alive: self.io_keep_alive,
                thread_name: io_thread_name,
                stack_size: self.stack_size,
                on_thread_start: self.on_io_thread_start,
                on_thread_stop: self.on_io_thread_stop,
            }),
            latency_sample_every: self.latency_sample_every,
            affinity_patience: self.affinity_patience,
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

impl Builder {
    /// Builds the global pool: the one the free functions ([`join`](crate::join),
    /// [`spawn`](crate::spawn), [`scope`](crate::scope), ...) use outside every pool
    /// (rayon-core's `build_global`). Without it, the global pool is built with the defaults
    /// the first time one of them needs it.
    ///
    /// Fails with [`BuildError::GlobalPoolAlreadyBuilt`], starting no thread, once the global
    /// pool exists: call it first thing in `main`.
    ///
    /// ```
    /// corepool::Pool::builder().threads(2).build_global()?;
    /// assert_eq!(corepool::current_num_threads(), 2);
    /// assert!(corepool::Pool::builder().build_global().is_err());
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn build_global(self) -> Result<(), BuildError> {
        crate::global::build_global(|| self.build())
    }
}

/// A naming closure (`thread_name`, `io_thread_name`).
type NameFn = Box<dyn Fn(usize) -> String + Send + Sync>;

/// The number of the next pool built in this process, for the default thread names.
fn next_pool_number() -> usize {
    // Only a label: std's atomic, also under loom.
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

impl std::fmt::Debug for Builder {
    /// Every setting; a closure shows as `"custom"` when set and `"default"` (a name) or
    /// `None` (a hook or handler) when not.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fn name(set: bool) -> &'static str {
            if set {
                "custom"
            } else {
                "default"
            }
        }
        fn hook(set: bool) -> Option<&'static str> {
            set.then_some("custom")
        }
        f.debug_struct("Builder")
            .field("threads", &self.threads)
            .field("pinning", &self.pinning)
            .field("queue_capacity", &self.queue_capacity)
            .field("local_queue_limit", &self.local_queue_limit)
            .field("thread_name", &name(self.thread_name.is_some()))
            .field("stack_size", &self.stack_size)
            .field("on_thread_start", &hook(self.on_thread_start.is_some()))
            .field("on_thread_stop", &hook(self.on_thread_stop.is_some()))
            .field("panic_handler", &hook(self.panic_handler.is_some()))
            .field("io_threads", &self.io_threads)
            .field("io_queue_capacity", &self.io_queue_capacity)
            .field("io_keep_alive", &self.io_keep_alive)
            .field("io_thread_name", &name(self.io_thread_name.is_some()))
            .field(
                "on_io_thread_start",
                &hook(self.on_io_thread_start.is_some()),
            )
            .field("on_io_thread_stop", &hook(self.on_io_thread_stop.is_some()))
            .field("latency_sample_every", &self.latency_sample_every)
            .field("affinity_patience", &self.affinity_patience)
            .finish()
    }
}
