//! What the scheduler is built from: the builder validates the user's settings and hands the
//! registry a `Config`, defined here, below the builder, so the scheduler never reaches up into
//! the public face for its settings.

use crate::sched::pinning::Pinning;
pub(crate) use crate::sched::unwind::PanicHandler;
use std::time::Duration;

/// The largest number of CPU workers a pool accepts.
pub const MAX_THREADS: usize = 1024;
/// The largest injection queue capacity a pool accepts.
pub const MAX_QUEUE_CAPACITY: usize = 1 << 30;
/// The injection queue capacity when none is set.
pub const DEFAULT_QUEUE_CAPACITY: usize = 8192;
/// How many jobs a worker's own deque may hold before a spawn from that worker runs inline
/// (caller-runs), when not set with [`Builder::local_queue_limit`](crate::Builder::local_queue_limit).
pub const DEFAULT_LOCAL_QUEUE_LIMIT: usize = 256;
/// The smallest worker stack size a pool accepts, in bytes.
pub const MIN_STACK_SIZE: usize = 64 * 1024;
/// The most threads the blocking-I/O pool starts when not set with [`Builder::io_threads`](crate::Builder::io_threads).
pub const DEFAULT_IO_THREADS: usize = 64;
/// The largest `io_threads` a pool accepts.
pub const MAX_IO_THREADS: usize = 4096;
/// The blocking-I/O queue capacity when not set with [`Builder::io_queue_capacity`](crate::Builder::io_queue_capacity).
pub const DEFAULT_IO_QUEUE_CAPACITY: usize = 4096;
/// One task in this many is timed for the latency histograms, when not set with
/// [`Builder::latency_sample_every`](crate::Builder::latency_sample_every).
pub const DEFAULT_LATENCY_SAMPLE_EVERY: u64 = 64;
/// How long an idle I/O thread lives when not set with [`Builder::io_keep_alive`](crate::Builder::io_keep_alive).
pub const DEFAULT_IO_KEEP_ALIVE: Duration = Duration::from_secs(10);

/// A hook called with a worker's index (`on_thread_start`, `on_thread_stop`).
pub(crate) type IndexHook = Box<dyn Fn(usize) + Send + Sync>;

/// A validated configuration, consumed by the registry.
pub(crate) struct Config {
    pub(crate) threads: usize,
    pub(crate) pinning: Pinning,
    pub(crate) queue_capacity: usize,
    pub(crate) local_queue_limit: usize,
    pub(crate) names: Vec<String>,
    pub(crate) stack_size: Option<usize>,
    pub(crate) on_thread_start: Option<IndexHook>,
    pub(crate) on_thread_stop: Option<IndexHook>,
    pub(crate) panic_handler: Option<PanicHandler>,
    pub(crate) blocking: Option<BlockingConfig>,
    pub(crate) latency_sample_every: u64,
    pub(crate) affinity_patience: Duration,
}

/// The I/O pool's part of the configuration.
pub(crate) struct BlockingConfig {
    pub(crate) max_threads: usize,
    pub(crate) queue_capacity: usize,
    pub(crate) keep_alive: Duration,
    pub(crate) thread_name: Box<dyn Fn(usize) -> String + Send + Sync>,
    pub(crate) stack_size: Option<usize>,
    /// Called with the thread's number on each I/O thread as it starts, and as it exits.
    pub(crate) on_thread_start: Option<IndexHook>,
    pub(crate) on_thread_stop: Option<IndexHook>,
}
