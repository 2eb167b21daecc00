//! The counters behind a pool's metrics: who writes which, and how a snapshot reads them (the
//! invariants are in this folder's `mod.rs`).

use super::histogram::{Histogram, HistogramCells};
use super::{IoMetrics, Metrics, WorkerMetrics, ENABLED};
use crate::sync::atomic::{AtomicU64, Ordering};
use crate::sync::{CachePadded, IdCounter, Mutex};
use std::cell::Cell;
use std::time::{Duration, Instant};

/// A counter written by one thread (relaxed load + store, no lock prefix) and read by any.
#[derive(Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    #[inline]
    pub(crate) fn bump(&self) {
        self.add(1);
    }

    #[inline]
    pub(crate) fn add(&self, n: u64) {
        if ENABLED {
            self.0
                .store(self.0.load(Ordering::Relaxed) + n, Ordering::Relaxed);
        }
    }

    /// For counters more than one thread writes.
    #[inline]
    pub(crate) fn add_shared(&self, n: u64) {
        if ENABLED {
            self.0.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// [`add_shared`](Self::add_shared), also under loom: for a count whose timing a model
    /// checks (a cancel through a handle is counted before `cancel()` returns).
    #[inline]
    pub(crate) fn add_checked(&self, n: u64) {
        if !cfg!(corepool_no_metrics) {
            self.0.fetch_add(n, Ordering::Relaxed);
        }
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A CPU worker's own statistics.
///
/// The jobs a worker executed are `other_jobs + completed + cancelled`: a task with a handle is
/// counted once, as completed (by the task, before its handle can see it) or as cancelled.
#[derive(Default)]
pub(crate) struct WorkerStats {
    /// Jobs that are not tasks with a handle: join halves, scope spawns, installs, polls that
    /// did not finish a future.
    pub(crate) other_jobs: Counter,
    pub(crate) completed: Counter,
    pub(crate) panicked: Counter,
    pub(crate) cancelled: Counter,
    pub(crate) spawned: Counter,
    /// Tasks this worker submitted to the blocking-I/O pool.
    pub(crate) io_spawned: Counter,
    pub(crate) caller_runs: Counter,
    pub(crate) steals: Counter,
    pub(crate) parks: Counter,
    pub(crate) unparks: Counter,
    busy_nanos: Counter,
    /// Nanoseconds since the epoch at which the current busy period began; 0 while idle.
    busy_since: AtomicU64,
    /// When the worker last entered idle (0 before the first time), and its `parks` count
    /// then: `busy` uses them to tell a search that found work from a park.
    idle_since: AtomicU64,
    parks_at_idle: AtomicU64,
    pub(crate) queue_wait: HistogramCells,
    pub(crate) run_time: HistogramCells,
}

/// What a new task carries from its submission: its sampled submit time (0: not sampled), and
/// where a cancel through its handle is counted: a pool's statistics, with [`IO_TAG`] set for
/// its I/O figures (0: nowhere, for a handle made only to report a refused closure). Two words:
/// it lives in every task, whose allocation stays within the allocator's small-chunk class.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Submit {
    pub(crate) at: u64,
    stats: usize,
}

/// The low bit of `Submit::stats`: free, as `PoolStats` is aligned to more than 1.
const IO_TAG: usize = 1;
const _: () = assert!(std::mem::align_of::<PoolStats>() > IO_TAG);

impl Submit {
    /// Neither sampled nor counted anywhere.
    pub(crate) const NONE: Submit = Submit { at: 0, stats: 0 };

    /// The same submission, going to the blocking-I/O pool (its cancels count as I/O ones).
    pub(crate) fn on_io(self) -> Submit {
        Submit {
            stats: self.stats | IO_TAG,
            ..self
        }
    }

    /// Counts one task cancelled through its handle, in the CPU or I/O figures of the pool it
    /// was submitted to (nothing for [`NONE`](Self::NONE)).
    ///
    /// # Safety
    /// The pool's statistics must be alive: its task is still queued in it, or its executor
    /// waits for this count to land before it lets the task go (`task/cell.rs`).
    pub(crate) unsafe fn count_cancel_by_handle(self) {
        let ptr = (self.stats & !IO_TAG) as *const PoolStats;
        // SAFETY: the address of a live `PoolStats`, by the caller's guarantee (or null).
        let Some(stats) = (unsafe { ptr.as_ref() }) else {
            return;
        };
        if self.stats & IO_TAG != 0 {
            stats.shared.io_cancelled.add_checked(1);
        } else {
            stats.shared.outside_cancelled.add_checked(1);
        }
    }
}

/// Submissions and outcomes counted by threads that are not CPU workers.
#[derive(Default)]
pub(crate) struct SharedStats {
    pub(crate) rejected_full: Counter,
    pub(crate) rejected_shutdown: Counter,
    /// I/O tasks finished, and I/O submissions, by threads that are neither this pool's CPU
    /// workers nor its I/O threads (those count in their own [`IoCounts`]): outside
    /// submitters, and a shutdown finishing queued I/O jobs itself.
    io_completed: Counter,
    io_panicked: Counter,
    pub(crate) io_cancelled: Counter,
    io_spawned: Counter,
    pub(crate) io_queue_wait: HistogramCells,
    pub(crate) io_run_time: HistogramCells,
    /// CPU tasks cancelled off the workers: through their handle (counted by the cancelling
    /// thread, before `cancel()` returns), by shutdown drains, or as refused wakes.
    pub(crate) outside_cancelled: Counter,
}

/// The task counts of one I/O thread, written only by that thread (plain adds, its own line).
#[derive(Default)]
struct IoCounts {
    completed: Counter,
    panicked: Counter,
    spawned: Counter,
}

impl IoCounts {
    fn add_into(&self, sums: &mut [u64; 3]) {
        sums[0] += self.completed.get();
        sums[1] += self.panicked.get();
        sums[2] += self.spawned.get();
    }
}

/// The I/O threads' counts: one [`IoCounts`] per live thread, and the sum of those of the
/// threads that exited. A thread folds its counts into `retired` and leaves `live` in one
/// critical section, and a snapshot sums both under the same lock, so the elastic pool's
/// totals never go backwards when a thread retires.
#[derive(Default)]
struct IoTally {
    /// Boxed so their addresses stay put while the `Vec` changes: each thread's cache
    /// ([`IO_COUNTS`]) points at its own.
    #[allow(clippy::vec_box)]
    live: Vec<Box<CachePadded<IoCounts>>>,
    retired: [u64; 3],
}

std::thread_local! {
    /// On an I/O thread: the id of its pool's statistics and the address of its own counts
    /// there ((0, 0) on every other thread). A cache, not a synchronisation point (metrics are
    /// off under loom).
    static IO_COUNTS: Cell<(u64, usize)> = const { Cell::new((0, 0)) };
}

/// Registers the calling I/O thread's own counts for its life; dropping it (the thread's exit)
/// folds them into the pool's retired total.
pub(crate) struct IoThreadCounts<'a> {
    stats: &'a PoolStats,
}

impl Drop for IoThreadCounts<'_> {
    fn drop(&mut self) {
        let (id, addr) = IO_COUNTS.with(|c| c.replace((0, 0)));
        if id != self.stats.id {
            return;
        }
        let mut tally = self.stats.io_tally.lock();
        if let Some(pos) = tally
            .live
            .iter()
            .position(|c| &***c as *const IoCounts as usize == addr)
        {
            let counts = tally.live.swap_remove(pos);
            let mut retired = tally.retired;
            counts.add_into(&mut retired);
            tally.retired = retired;
        }
    }
}

const STRIPES: usize = 16;

/// How many submitting threads outside the workers get a spawn counter of their own in a pool;
/// later ones share the atomic stripes.
const OWN_COUNTERS: usize = 64;

/// A spawn counter only one thread (outside the pool's workers) writes.
struct OwnCounter {
    thread: std::thread::ThreadId,
    count: CachePadded<Counter>,
}

/// Gives every `PoolStats` an id that is never reused, so a thread-local cache of "my counter
/// in pool `id`" can never point into a pool that is gone.
static NEXT_STATS_ID: IdCounter = IdCounter::new(1);

std::thread_local! {
    /// This thread's spawn counter in the pool it last spawned into from outside: the pool's
    /// id, and the counter's address, with the low bit set if it is a shared stripe (atomic
    /// add) rather than a counter of its own (plain add). Not the sync shim's: a cache, never a
    /// synchronisation point (and metrics are off under loom).
    static SPAWN_COUNTER: Cell<(u64, usize)> = const { Cell::new((0, 0)) };
}

/// The statistics of one pool.
pub(crate) struct PoolStats {
    pub(crate) workers: Box<[CachePadded<WorkerStats>]>,
    /// Spawns from threads that are not this pool's workers, striped by thread (inline, so
    /// the hot path indexes it without a length check or a pointer load).
    outside_spawned: [CachePadded<Counter>; STRIPES],
    /// Spawn counters of the first `OWN_COUNTERS` outside threads, one writer each (boxed, so
    /// their addresses stay put when the `Vec` grows: thread-local caches point at them; never
    /// removed while the pool lives).
    #[allow(clippy::vec_box)]
    own_spawned: Mutex<Vec<Box<OwnCounter>>>,
    id: u64,
    pub(crate) shared: SharedStats,
    io_tally: Mutex<IoTally>,
    epoch: Instant,
    sample_every: u64,
}

impl PoolStats {
    pub(crate) fn new(workers: usize, sample_every: u64) -> Self {
        let epoch = Instant::now();
        PoolStats {
            workers: (0..workers).map(|_| CachePadded::default()).collect(),
            outside_spawned: Default::default(),
            own_spawned: Mutex::new(Vec::new()),
            id: NEXT_STATS_ID.next(),
            shared: SharedStats::default(),
            io_tally: Mutex::new(IoTally::default()),
            epoch,
            sample_every: sample_every.max(1),
        }
    }

    fn now_nanos(&self) -> u64 {
        (self.epoch.elapsed().as_nanos() as u64).max(1)
    }

    /// Counts a spawn from a thread that is not one of this pool's workers.
    ///
    /// Fast path: the thread-local cache names this pool, and the thread has a counter of its
    /// own here, which only it writes: a plain add, no locked instruction, no shared line. The
    /// first spawn into a pool (or after spawning into another one) looks the counter up under
    /// a lock; threads beyond the first `OWN_COUNTERS` share the atomic stripes instead.
    #[inline]
    pub(crate) fn spawned_outside(&self) {
        if ENABLED {
            let (id, counter) = SPAWN_COUNTER.with(Cell::get);
            if id == self.id {
                let shared = counter & 1 != 0;
                // The cache was filled by `spawned_outside_slow` of the pool with this id (ids
                // are never reused) with the address of one of its own counters (boxed in
                // `own_spawned`, never removed) or stripes (inline).
                // SAFETY: so it points into `self`, which is alive while we hold `&self`.
                let counter = unsafe { &*((counter & !1) as *const Counter) };
                if shared {
                    counter.add_shared(1);
                } else {
                    // Only this thread writes its own counter.
                    counter.add(1);
                }
                return;
            }
            self.spawned_outside_slow();
        }
    }

    #[cold]
    fn spawned_outside_slow(&self) {
        let me = std::thread::current().id();
        let mut own = self.own_spawned.lock();
        let index = match own.iter().position(|c| c.thread == me) {
            Some(index) => Some(index),
            None if own.len() < OWN_COUNTERS => {
                own.push(Box::new(OwnCounter {
                    thread: me,
                    count: CachePadded::default(),
                }));
                Some(own.len() - 1)
            }
            None => None,
        };
        let cached = match index {
            Some(index) => {
                let counter: &Counter = &own[index].count;
                counter.add(1);
                counter as *const Counter as usize
            }
            None => {
                // Stripe by the address of this thread's cache (thread-local blocks live in
                // each thread's own stack mapping, so the page number differs).
                let page = SPAWN_COUNTER.with(|c| c as *const _ as usize) >> 12;
                let counter: &Counter = &self.outside_spawned[page % STRIPES];
                counter.add_shared(1);
                counter as *const Counter as usize | 1
            }
        };
        drop(own);
        SPAWN_COUNTER.with(|c| c.set((self.id, cached)));
    }

    /// Gives the calling thread, one of this pool's I/O threads, counts of its own for as long
    /// as the returned guard lives (nothing with metrics off).
    pub(crate) fn io_thread_counts(&self) -> IoThreadCounts<'_> {
        if ENABLED {
            let counts: Box<CachePadded<IoCounts>> = Box::default();
            let addr = &**counts as *const IoCounts as usize;
            self.io_tally.lock().live.push(counts);
            IO_COUNTS.with(|c| c.set((self.id, addr)));
        }
        IoThreadCounts { stats: self }
    }

    /// The calling thread's own I/O counts in this pool, if it is one of its I/O threads.
    #[inline]
    fn own_io_counts(&self) -> Option<&IoCounts> {
        let (id, addr) = IO_COUNTS.with(Cell::get);
        // The cache was set by `io_thread_counts` of the pool with this id (ids are never
        // reused) to a boxed `IoCounts` it keeps in `io_tally.live` until the guard's drop
        // clears the cache first.
        // SAFETY: so it points into `self`, which is alive while we hold `&self`.
        (id == self.id).then(|| unsafe { &*(addr as *const IoCounts) })
    }

    /// Counts a task with a handle that finished off the CPU workers (before its handle can
    /// observe it): on an I/O thread in its own counts, elsewhere in the shared ones.
    #[inline]
    pub(crate) fn record_io_task_end(&self, panicked: bool) {
        if !ENABLED {
            return;
        }
        match self.own_io_counts() {
            Some(own) => {
                // Only this thread writes its own counts.
                own.completed.bump();
                if panicked {
                    own.panicked.bump();
                }
            }
            None => {
                self.shared.io_completed.add_shared(1);
                if panicked {
                    self.shared.io_panicked.add_shared(1);
                }
            }
        }
    }

    /// Counts a task accepted by the I/O pool, submitted by CPU worker `worker` (if one), by an
    /// I/O thread, or by any other thread.
    #[inline]
    pub(crate) fn record_io_spawned(&self, worker: Option<usize>) {
        if !ENABLED {
            return;
        }
        match (worker, self.own_io_counts()) {
            (Some(index), _) => self.workers[index].io_spawned.bump(),
            (None, Some(own)) => own.spawned.bump(),
            (None, None) => self.shared.io_spawned.add_shared(1),
        }
    }

    /// The I/O pool's task counts: completed, panicked, spawned.
    fn io_counts(&self) -> [u64; 3] {
        let mut sums = [
            self.shared.io_completed.get(),
            self.shared.io_panicked.get(),
            self.shared.io_spawned.get(),
        ];
        sums[2] += self.workers.iter().map(|w| w.io_spawned.get()).sum::<u64>();
        let tally = self.io_tally.lock();
        for (sum, retired) in sums.iter_mut().zip(tally.retired) {
            *sum += retired;
        }
        for counts in &tally.live {
            counts.add_into(&mut sums);
        }
        sums
    }

    /// A new CPU task's submission: its submit timestamp, non-zero for one task in
    /// `sample_every` per thread, and these statistics as where its cancel is counted.
    #[inline]
    pub(crate) fn sample_submit(&self) -> Submit {
        Submit {
            at: self.sample_submit_time(),
            stats: self as *const PoolStats as usize,
        }
    }

    #[inline]
    fn sample_submit_time(&self) -> u64 {
        if !ENABLED {
            return 0;
        }
        // A per-thread countdown to the next sampled task, restarted at a pseudo-random length
        // averaging `sample_every` (so a periodic workload cannot alias with the period): one
        // thread-local decrement per task, the generator only when a sample is taken.
        thread_local! {
            // Starts at 1: a thread's first task is sampled (with `every == 1`, all of them).
            static COUNTDOWN: Cell<(u64, u64)> = const { Cell::new((1, 0)) };
        }
        // With `every == 1` the restart length below is always 1: every task is sampled.
        let every = self.sample_every;
        let sample = COUNTDOWN.with(|c| {
            let (left, mut rng) = c.get();
            if left > 1 {
                c.set((left - 1, rng));
                return false;
            }
            if rng == 0 {
                rng = (c as *const Cell<(u64, u64)> as u64) | 1;
            }
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            c.set((1 + rng % (2 * every - 1), rng));
            left == 1
        });
        if sample {
            self.now_nanos()
        } else {
            0
        }
    }

    /// Records a sampled task's queue wait and run time; returns nothing to the hot path.
    pub(crate) fn record_sampled(&self, worker: Option<usize>, submitted: u64, started: u64) {
        let ended = self.now_nanos();
        let wait = started.saturating_sub(submitted);
        let run = ended.saturating_sub(started);
        match worker {
            Some(index) => {
                let stats = &*self.workers[index];
                stats.queue_wait.record(wait);
                stats.run_time.record(run);
            }
            None => {
                self.shared.io_queue_wait.record(wait);
                self.shared.io_run_time.record(run);
            }
        }
    }

    /// Counts a task with a handle that CPU worker `index` finished (before its handle can
    /// observe it).
    #[inline]
    pub(crate) fn record_task_end_on(&self, index: usize, panicked: bool) {
        let worker = &*self.workers[index];
        worker.completed.bump();
        if panicked {
            worker.panicked.bump();
        }
    }

    /// The clock reading used as a sampled task's start.
    pub(crate) fn start_time(&self) -> u64 {
        self.now_nanos()
    }

    /// Worker `index` leaves idle. If it parked since it entered idle, a new busy period starts
    /// now. If it found work while still searching (spinning or yielding, never parked), the
    /// busy period `idle` closed simply goes on from where it was closed, without reading the
    /// clock: a search that ends in work counts as busy. So an idle transition costs one clock
    /// read, not two, unless the worker parked.
    #[inline]
    pub(crate) fn busy(&self, index: usize) {
        if ENABLED {
            let stats = &*self.workers[index];
            let idle_since = stats.idle_since.load(Ordering::Relaxed);
            let parked = stats.parks.get() != stats.parks_at_idle.load(Ordering::Relaxed);
            let since = if idle_since == 0 || parked {
                self.now_nanos()
            } else {
                idle_since
            };
            stats.busy_since.store(since, Ordering::Relaxed);
        }
    }

    /// Worker `index` enters idle (ends its busy period). Only this worker writes these fields,
    /// so plain loads and stores suffice (no locked instruction).
    #[inline]
    pub(crate) fn idle(&self, index: usize) {
        if ENABLED {
            let stats = &*self.workers[index];
            let now = self.now_nanos();
            let since = stats.busy_since.load(Ordering::Relaxed);
            stats.busy_since.store(0, Ordering::Relaxed);
            if since != 0 {
                stats.busy_nanos.add(now.saturating_sub(since));
            }
            stats.idle_since.store(now, Ordering::Relaxed);
            stats
                .parks_at_idle
                .store(stats.parks.get(), Ordering::Relaxed);
        }
    }

    fn busy_nanos(&self, index: usize, now: u64) -> (u64, bool) {
        let stats = &*self.workers[index];
        let since = stats.busy_since.load(Ordering::Relaxed);
        let current = if since != 0 {
            now.saturating_sub(since)
        } else {
            0
        };
        (stats.busy_nanos.get() + current, since != 0)
    }

    pub(crate) fn snapshot(
        &self,
        io: IoMetrics,
        queue: (usize, usize, usize),
        local_depths: Vec<usize>,
    ) -> Metrics {
        let now = self.now_nanos();
        let mut metrics = Metrics {
            workers: Vec::with_capacity(self.workers.len()),
            injection_queue_depth: queue.0,
            injection_queue_capacity: queue.1,
            injection_queue_bound: queue.2,
            spawned: 0,
            completed: 0,
            panicked: 0,
            cancelled: 0,
            rejected_full: self.shared.rejected_full.get(),
            rejected_shutdown: self.shared.rejected_shutdown.get(),
            caller_runs: 0,
            active: 0,
            busy: Duration::ZERO,
            uptime: Duration::from_nanos(now),
            cpu_queue_wait: Histogram::default(),
            cpu_run_time: Histogram::default(),
            io,
            io_queue_wait: Histogram::default(),
            io_run_time: Histogram::default(),
            sample_every: self.sample_every,
        };
        let mut busy_total = 0;
        for (index, padded) in self.workers.iter().enumerate() {
            let stats = &**padded;
            let (busy, is_busy) = self.busy_nanos(index, now);
            busy_total += busy;
            metrics.active += usize::from(is_busy);
            metrics.spawned += stats.spawned.get();
            metrics.completed += stats.completed.get();
            metrics.panicked += stats.panicked.get();
            metrics.cancelled += stats.cancelled.get();
            metrics.caller_runs += stats.caller_runs.get();
            stats.queue_wait.add_into(&mut metrics.cpu_queue_wait);
            stats.run_time.add_into(&mut metrics.cpu_run_time);
            metrics.workers.push(WorkerMetrics {
                index,
                jobs_run: stats.other_jobs.get() + stats.completed.get() + stats.cancelled.get(),
                tasks_completed: stats.completed.get(),
                steals: stats.steals.get(),
                parks: stats.parks.get(),
                unparks: stats.unparks.get(),
                busy: Duration::from_nanos(busy),
                local_queue_depth: local_depths.get(index).copied().unwrap_or(0),
            });
        }
        metrics.spawned += self.outside_spawned.iter().map(|c| c.get()).sum::<u64>();
        metrics.spawned += self
            .own_spawned
            .lock()
            .iter()
            .map(|c| c.count.get())
            .sum::<u64>();
        metrics.cancelled += self.shared.outside_cancelled.get();
        [
            metrics.io.completed,
            metrics.io.panicked,
            metrics.io.spawned,
        ] = self.io_counts();
        metrics.io.cancelled = self.shared.io_cancelled.get();
        self.shared
            .io_queue_wait
            .add_into(&mut metrics.io_queue_wait);
        self.shared.io_run_time.add_into(&mut metrics.io_run_time);
        metrics.busy = Duration::from_nanos(busy_total);
        metrics
    }
}
