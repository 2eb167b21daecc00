//! Metrics: counters, busy time and latency histograms, cheap enough to leave on.
//!
//! Invariants:
//! - Each CPU worker writes only its own `WorkerStats` (on its own cache lines), with plain
//!   relaxed load+store on the hot path; other threads only read them.
//!   Threads outside the pool count their submissions in counters of their own (the first 64
//!   threads per pool, found through a thread-local cache; plain adds), later ones in atomic
//!   stripes, so no cache line is written by every task and no locked instruction is spent.
//! - Busy time is clocked at idle transitions only, never per task: one clock read when a
//!   worker enters idle, a second one only if it parked before it found work again (a search
//!   that ends in work without parking counts as busy). A worker busy right now reports its
//!   current busy period through `busy_since`; a worker leaving the pool closes its period, so
//!   after shutdown no worker is active and busy time stops growing.
//! - Latencies are sampled: on average one task in `sample_every` per submitting thread (chosen
//!   pseudo-randomly, so periodic workloads do not alias) carries its submit time; only those read the clock at start and end. Counts are exact; histograms are samples.
//! - A snapshot sums the per-worker values; after a quiescent point (no task in flight) the
//!   counts satisfy: spawned == completed + cancelled (+ rejected ones were never spawned).
//! - Under `--cfg corepool_no_metrics` recording compiles to nothing (used only to measure the
//!   overhead); snapshots then read zeros. Under `--cfg corepool_loom` likewise.

mod histogram;
mod prometheus;
mod stats;

pub use histogram::Histogram;
pub(crate) use stats::{PoolStats, Submit};

use histogram::fmt_duration;
use std::fmt;
use std::time::Duration;

/// Recording is compiled out for overhead measurements, and under loom: the counters are not a
/// synchronization protocol, and the sampling clock and stripes would make models
/// non-deterministic.
pub(crate) const ENABLED: bool = !cfg!(corepool_no_metrics) && !cfg!(corepool_loom);

/// A point-in-time view of a pool, from [`Pool::metrics`](crate::Pool::metrics).
///
/// Counts are exact; latency histograms sample one task in
/// [`sample_every`](Metrics::sample_every) per submitting thread.
///
/// ```
/// let pool = corepool::Pool::builder().threads(2).build()?;
/// pool.spawn(|| 1 + 1).join().unwrap();
/// let m = pool.metrics();
/// assert_eq!(m.completed, 1);
/// println!("{m}");
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Metrics {
    /// Per CPU worker.
    pub workers: Vec<WorkerMetrics>,
    /// Submissions waiting outside the workers' deques: in the injection queue's Normal and
    /// High lanes and in every worker's inbox.
    pub injection_queue_depth: usize,
    /// How many each of those lanes holds (the builder's `queue_capacity`).
    pub injection_queue_capacity: usize,
    /// The most that can wait in all of them: `(workers + 2) × injection_queue_capacity`
    /// (tasks a group releases aside: the group's own bounds hold those).
    pub injection_queue_bound: usize,
    /// CPU tasks accepted (`spawn`, `try_spawn`, `spawn_timeout`, permits, `spawn_future`,
    /// and the handle-less `spawn_detached`), from any thread.
    pub spawned: u64,
    /// CPU tasks that finished (a future counts once, when it completes), panics included.
    pub completed: u64,
    /// Of `completed`, those that panicked.
    pub panicked: u64,
    /// CPU tasks that never ran: cancelled through their handle (counted before `cancel()`
    /// returns) or by `shutdown_now`.
    pub cancelled: u64,
    /// Submissions refused with `SpawnError::Full` (both pools).
    pub rejected_full: u64,
    /// Submissions refused with `SpawnError::Shutdown` (both pools).
    pub rejected_shutdown: u64,
    /// Spawns from a worker that ran inline because its deque was over its bound (for
    /// `spawn_future`, its first poll).
    pub caller_runs: u64,
    /// CPU workers busy right now.
    pub active: usize,
    /// The workers' busy time since the pool was built, summed (each worker's is in
    /// [`WorkerMetrics::busy`]); a worker busy right now counts up to the snapshot's moment.
    pub busy: Duration,
    /// When the snapshot was taken: the time since the pool was built. Two snapshots' `busy`
    /// and `uptime` give the utilization between them (see
    /// [`interval_since`](Metrics::interval_since)).
    pub uptime: Duration,
    /// Sampled CPU task queue wait (submit to start).
    pub cpu_queue_wait: Histogram,
    /// Sampled CPU task run time (start to end).
    pub cpu_run_time: Histogram,
    /// The blocking-I/O pool.
    pub io: IoMetrics,
    /// Sampled blocking task queue wait.
    pub io_queue_wait: Histogram,
    /// Sampled blocking task run time.
    pub io_run_time: Histogram,
    /// One task in this many (per submitting thread) is timed for the histograms.
    pub sample_every: u64,
}

/// One CPU worker's figures.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct WorkerMetrics {
    /// The worker's index.
    pub index: usize,
    /// Jobs executed: tasks, join halves, scope spawns, polls.
    pub jobs_run: u64,
    /// Tasks with a handle this worker finished.
    pub tasks_completed: u64,
    /// Successful steals from peers (one task each).
    pub steals: u64,
    /// Times the worker went to sleep, counted as it goes (a sleep in progress included).
    pub parks: u64,
    /// Times it woke from such a sleep. `parks - unparks` is 1 while the worker sleeps right
    /// now, 0 otherwise.
    pub unparks: u64,
    /// Total time spent outside the idle loop.
    pub busy: Duration,
    /// Jobs in its own deque now.
    pub local_queue_depth: usize,
}

/// The blocking-I/O pool's figures.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct IoMetrics {
    /// Threads alive (busy or idle).
    pub threads_alive: usize,
    /// Threads idle, waiting for work.
    pub threads_idle: usize,
    /// The most threads it may run.
    pub threads_max: usize,
    /// Jobs waiting in its queue.
    pub queue_depth: usize,
    /// Its queue's capacity.
    pub queue_capacity: usize,
    /// Blocking tasks accepted.
    pub spawned: u64,
    /// Blocking tasks finished, panics included.
    pub completed: u64,
    /// Of `completed`, those that panicked.
    pub panicked: u64,
    /// Blocking tasks that never ran (a cancel through the handle is counted before `cancel()`
    /// returns).
    pub cancelled: u64,
    /// Threads started since the pool was built.
    pub thread_starts: u64,
    /// Threads that exited after their keep-alive.
    pub keep_alive_exits: u64,
}

/// What happened between two snapshots of one pool, from
/// [`Metrics::interval_since`].
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Interval {
    /// Wall time between the two snapshots.
    pub elapsed: Duration,
    /// The workers' busy time in it, summed.
    pub busy: Duration,
    /// `busy / (workers × elapsed)`, from 0.0 to 1.0 (0.0 for an empty interval).
    pub utilization: f64,
    /// CPU tasks accepted in it.
    pub spawned: u64,
    /// CPU tasks finished in it.
    pub completed: u64,
}

impl Metrics {
    /// The workers' utilization since the pool was built: `busy / (workers × uptime)`.
    #[must_use]
    pub fn utilization(&self) -> f64 {
        ratio(self.busy, self.uptime, self.workers.len())
    }

    /// The figures between an `earlier` snapshot of the same pool and this one. Snapshots have
    /// no side effect, so any number of observers can each keep their own earlier snapshot.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().threads(2).build()?;
    /// let before = pool.metrics();
    /// pool.spawn(|| ()).join().unwrap();
    /// let between = pool.metrics().interval_since(&before);
    /// assert_eq!(between.completed, 1);
    /// assert!((0.0..=1.0).contains(&between.utilization));
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    #[must_use]
    pub fn interval_since(&self, earlier: &Metrics) -> Interval {
        let elapsed = self.uptime.saturating_sub(earlier.uptime);
        let busy = self.busy.saturating_sub(earlier.busy);
        Interval {
            elapsed,
            busy,
            utilization: ratio(busy, elapsed, self.workers.len()),
            spawned: self.spawned.saturating_sub(earlier.spawned),
            completed: self.completed.saturating_sub(earlier.completed),
        }
    }
}

/// `busy / (workers × wall)`, at most 1.0; 0.0 when `wall` or `workers` is zero.
fn ratio(busy: Duration, wall: Duration, workers: usize) -> f64 {
    if wall.is_zero() || workers == 0 {
        return 0.0;
    }
    (busy.as_nanos() as f64 / (wall.as_nanos() as f64 * workers as f64)).min(1.0)
}

impl fmt::Display for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "cpu: {} workers, {} active, utilization {:.0}% since start, queue {}/{} ({} per lane)",
            self.workers.len(),
            self.active,
            self.utilization() * 100.0,
            self.injection_queue_depth,
            self.injection_queue_bound,
            self.injection_queue_capacity
        )?;
        writeln!(
            f,
            "     tasks spawned {} completed {} panicked {} cancelled {} | rejected full {} shutdown {} | caller-runs {}",
            self.spawned,
            self.completed,
            self.panicked,
            self.cancelled,
            self.rejected_full,
            self.rejected_shutdown,
            self.caller_runs
        )?;
        writeln!(f, "     queue wait {}", self.cpu_queue_wait)?;
        writeln!(f, "     run time   {}", self.cpu_run_time)?;
        writeln!(
            f,
            "  worker    jobs   tasks  steals   parks  unparks      busy  deque"
        )?;
        for w in &self.workers {
            writeln!(
                f,
                "  {:>6} {:>7} {:>7} {:>7} {:>7} {:>8} {:>9} {:>6}",
                w.index,
                w.jobs_run,
                w.tasks_completed,
                w.steals,
                w.parks,
                w.unparks,
                fmt_duration(w.busy),
                w.local_queue_depth
            )?;
        }
        let io = &self.io;
        writeln!(
            f,
            "io:  threads {} alive ({} idle, max {}), queue {}/{}, starts {}, keep-alive exits {}",
            io.threads_alive,
            io.threads_idle,
            io.threads_max,
            io.queue_depth,
            io.queue_capacity,
            io.thread_starts,
            io.keep_alive_exits
        )?;
        writeln!(
            f,
            "     tasks spawned {} completed {} panicked {} cancelled {}",
            io.spawned, io.completed, io.panicked, io.cancelled
        )?;
        writeln!(f, "     queue wait {}", self.io_queue_wait)?;
        write!(f, "     run time   {}", self.io_run_time)
    }
}
