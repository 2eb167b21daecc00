//! The registry: the state one pool's workers share (queues, stealers, sleep, statistics,
//! hooks, the I/O pool), its start-up (`build`), and where submissions enter (`inject_lane`).
//!
//! Invariants:
//! - `build` returns only once every worker has started (and run its start hook); a worker
//!   whose thread failed to start counts as idle and gone (see `shutdown.rs`), so the started
//!   ones are shut down and joined before the error is returned.
//! - Every submission to the CPU workers from outside goes through one of the registry's
//!   bounded injection queues (`inject_lane`), which tells a sleeper after the push.
//! - Counting is exact: each accepted, refused, completed or cancelled task is counted once,
//!   by the thread that decides it (the `record_*` methods), before its handle can observe it.
//!
//! How the pool shuts down, and when a worker may exit, is in `shutdown.rs`, which extends
//! `Registry` with those methods.
use crate::error::BuildError;
use crate::metrics::{Metrics, PoolStats};
use crate::sched::config::{Config, IndexHook, PanicHandler};
use crate::sched::injection::{InjectionQueue, PushError};
use crate::sched::io_pool::BlockingPool;
use crate::sched::job::JobRef;
use crate::sched::job::Outcome;
use crate::sched::lanes::{Inbox, Lane};
use crate::sched::lifo::LifoSlot;
use crate::sched::shutdown::{Cancel, Liveness, PoolThread, ThreadKind};
use crate::sched::sleep::Sleep;
use crate::sched::unwind::{self, PanicSink, Payload};
use crate::sched::worker::{Caller, WorkerThread};
use crate::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use crate::sync::{thread, CachePadded, Condvar, Mutex, Stealer, Worker};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a submission from outside may wait for room.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Wait {
    /// Do not wait: `Full` at once.
    No,
    /// Wait until the deadline.
    Until(Instant),
    /// Wait as long as it takes.
    Forever,
}

pub(crate) struct Registry {
    pub(crate) stats: PoolStats,
    pub(crate) injected: InjectionQueue,
    /// High-priority injected work.
    pub(crate) injected_high: InjectionQueue,
    /// One inbox per worker, for tasks spawned onto that worker.
    pub(crate) inboxes: Box<[Inbox]>,
    /// Each worker's LIFO slot (`lifo.rs`).
    pub(crate) lifo: Box<[CachePadded<LifoSlot>]>,
    /// How long a busy worker's own work (its inbox, its LIFO slot) waits before idle peers
    /// may take it.
    pub(crate) affinity_patience: Duration,
    /// Future tasks woken from outside the pool. Unbounded in practice (a task is in at most one
    /// queue at a time, so it holds at most one entry per live future task).
    pub(crate) woken: InjectionQueue,
    /// Live future tasks, cancelled when the last CPU worker exits.
    pub(super) futures: Mutex<BTreeMap<u64, Arc<dyn Cancel>>>,
    /// CPU workers still in their main loop; the last one out finalizes the future tasks.
    pub(super) cpu_running: AtomicUsize,
    /// CPU workers idle in their main loop (not inside a task's wait).
    pub(super) main_idle: AtomicUsize,
    /// CPU threads that have not finished yet (past their `on_thread_stop`); the last one
    /// closes the blocking pool.
    pub(super) cpu_unfinished: AtomicUsize,
    /// Set by the one `close_io_pool` call that closes the blocking pool.
    pub(super) io_closed: AtomicBool,
    /// Set once, during shutdown, when every worker was idle in its main loop with no work
    /// anywhere: nothing can create CPU work any more, so workers may exit.
    pub(super) drained: AtomicBool,
    pub(crate) blocking: BlockingPool,
    pub(super) liveness: Liveness,
    pub(crate) sleep: Sleep,
    pub(crate) stealers: Box<[Stealer<JobRef>]>,
    pub(crate) local_queue_limit: usize,
    pub(super) terminate: AtomicBool,
    /// During termination: how many workers are quiet (low 32 bits), and an epoch (high bits)
    /// bumped whenever a worker stops being quiet or leaves its main-loop idle, so that a
    /// `futures_closing` check that read the count before such a change and the queues after
    /// it sees the word changed (see `futures_closing`).
    pub(super) quiet: AtomicU64,
    /// Set once, during a graceful shutdown, when the closures drained: pending futures are
    /// cancelled from then on.
    pub(super) futures_closing: AtomicBool,
    /// A `shutdown_timeout` ran out: dropping the last `Pool` no longer waits for the threads.
    pub(super) abandoned: AtomicBool,
    pub(super) cancel_queued: AtomicBool,
    pub(super) cancelled: AtomicUsize,
    pub(super) threads: Mutex<Vec<thread::JoinHandle<()>>>,
    /// Live `Pool` handles; the last one to go shuts the pool down.
    pub(crate) handles: AtomicUsize,
    pub(super) on_thread_start: Option<IndexHook>,
    pub(super) on_thread_stop: Option<IndexHook>,
    pub(super) panic_handler: Option<PanicHandler>,
}

/// Counts workers that have finished starting, so `build` returns a fully running pool.
struct StartGate {
    started: Mutex<usize>,
    cond: Condvar,
}

impl Registry {
    pub(crate) fn build(mut config: Config) -> Result<Arc<Registry>, BuildError> {
        let threads = config.threads;
        let cores = crate::sched::pinning::plan(&config.pinning, threads)?;
        let deques: Vec<Worker<JobRef>> = (0..threads).map(|_| Worker::new_lifo()).collect();
        let blocking = config
            .blocking
            .take()
            .expect("validated config has a blocking config");
        let registry = Arc::new(Registry {
            stats: PoolStats::new(threads, config.latency_sample_every),
            injected: InjectionQueue::with_sink(
                config.queue_capacity,
                PanicSink(config.panic_handler.clone()),
            ),
            injected_high: InjectionQueue::new(config.queue_capacity),
            inboxes: (0..threads)
                .map(|_| {
                    Inbox::new(
                        config.queue_capacity,
                        Instant::now(),
                        config.affinity_patience,
                    )
                })
                .collect(),
            lifo: (0..threads)
                .map(|_| CachePadded::new(LifoSlot::new()))
                .collect(),
            affinity_patience: config.affinity_patience,
            woken: InjectionQueue::new(crate::sched::config::MAX_QUEUE_CAPACITY),
            futures: Mutex::new(BTreeMap::new()),
            cpu_running: AtomicUsize::new(threads),
            // Every worker is born asleep in its main loop's idle (`Sleep::new_asleep`).
            main_idle: AtomicUsize::new(threads),
            cpu_unfinished: AtomicUsize::new(threads),
            io_closed: AtomicBool::new(false),
            drained: AtomicBool::new(false),
            blocking: BlockingPool::new(blocking),
            liveness: Liveness::new(),
            sleep: Sleep::new_asleep(threads),
            stealers: deques.iter().map(Worker::stealer).collect(),
            local_queue_limit: config.local_queue_limit,
            terminate: AtomicBool::new(false),
            quiet: AtomicU64::new(0),
            futures_closing: AtomicBool::new(false),
            abandoned: AtomicBool::new(false),
            cancel_queued: AtomicBool::new(false),
            cancelled: AtomicUsize::new(0),
            threads: Mutex::new(Vec::with_capacity(threads)),
            handles: AtomicUsize::new(0),
            on_thread_start: config.on_thread_start.take(),
            on_thread_stop: config.on_thread_stop.take(),
            panic_handler: config.panic_handler.take(),
        });
        let gate = Arc::new(StartGate {
            started: Mutex::new(0),
            cond: Condvar::new(),
        });
        let names = std::mem::take(&mut config.names);
        for (index, ((deque, core), name)) in deques.into_iter().zip(cores).zip(names).enumerate() {
            let registry_for_thread = Arc::clone(&registry);
            let gate = Arc::clone(&gate);
            registry.liveness.started(ThreadKind::Cpu);
            let spawned = crate::sync::spawn_thread(name, config.stack_size, move || {
                let _member = PoolThread::enter(&registry_for_thread, ThreadKind::Cpu);
                match core {
                    // A refused pin (e.g. the mask changed since build) leaves the thread
                    // unpinned; the pool still works.
                    Some(core) => drop(crate::sched::pinning::pin_current(core)),
                    // Do not inherit a pinned creator's single core.
                    None => crate::sched::pinning::unpin_current(),
                }
                WorkerThread::run(registry_for_thread, index, deque, move || {
                    let mut started = gate.started.lock();
                    *started += 1;
                    // `build` waits for all of them: only the last one has news for it.
                    if *started == threads {
                        gate.cond.notify_all();
                    }
                });
            });
            match spawned {
                Ok(handle) => registry.threads.lock().push(handle),
                Err(error) => {
                    registry.liveness.exited(ThreadKind::Cpu);
                    registry.never_started(index..threads);
                    registry.shutdown(false, None);
                    return Err(BuildError::ThreadSpawn(error));
                }
            }
        }
        let mut started = gate.started.lock();
        while *started < threads {
            gate.cond.wait(&mut started);
        }
        Ok(registry)
    }

    /// The workers `unborn`, whose threads will never start (a spawn failed), stay counted as
    /// idle in their main loop, as they were born (`main_idle` starts at `num_threads()`), and
    /// count as gone from it: otherwise the started workers, which exit only once all
    /// `num_threads()` workers are idle at once, would wait for them for ever. They stop
    /// counting as sleepers, so no wake-up is spent on them. Called before `shutdown` sets
    /// `terminate` (both SeqCst), so every worker that applies the drained rule sees these
    /// counts.
    fn never_started(&self, unborn: std::ops::Range<usize>) {
        let count = unborn.len();
        for index in unborn {
            self.sleep.forget_unborn(index);
        }
        // The last started worker to exit still finds `cpu_running` at 1 and cleans up; with
        // none started it reaches 0 here, and there is nothing to clean up.
        self.cpu_running.fetch_sub(count, Ordering::SeqCst);
    }

    pub(crate) fn num_threads(&self) -> usize {
        self.stealers.len()
    }

    pub(crate) fn on_thread_start(&self, index: usize) {
        if let Some(hook) = &self.on_thread_start {
            unwind::run_hook("on_thread_start", || hook(index));
        }
    }

    pub(crate) fn on_thread_stop(&self, index: usize) {
        if let Some(hook) = &self.on_thread_stop {
            unwind::run_hook("on_thread_stop", || hook(index));
        }
    }

    /// A detached task panicked and nobody holds its handle.
    pub(crate) fn report_detached_panic(&self, payload: Payload) {
        self.report_panic("a detached task", payload);
    }

    /// User code that nobody awaits (`what`: a task's result's `Drop`, a waker, ...) panicked
    /// on a thread of this pool: the payload goes to the panic handler.
    pub(crate) fn report_panic(&self, what: &str, payload: Payload) {
        unwind::report_unobserved_panic(self.panic_handler.as_ref(), what, payload);
    }

    /// Where a panicking task's handle sends the payload if it is dropped without reading it.
    pub(crate) fn panic_sink(&self) -> PanicSink {
        PanicSink(self.panic_handler.clone())
    }

    /// Whether any queue of this pool holds work (or a reserved injection slot), every inbox
    /// included: the shutdown's drained rule. It reads the normal injection queue with a
    /// read-modify-write, as [`has_work_for`](Self::has_work_for) does.
    pub(crate) fn has_visible_work(&self) -> bool {
        self.injected.len_synced() > 0
            || self.has_shared_work()
            || self.inboxes.iter().any(|inbox| inbox.queue.len() > 0)
    }

    /// Whether worker `index` sees work it may take now: the shared queues, the peers' deques,
    /// its own inbox, and the inboxes of peers busy past the affinity patience (a peer's inbox
    /// it may not take from yet is not work for it: it sleeps until
    /// [`next_inbox_opening`](Self::next_inbox_opening) instead of spinning). This is the check
    /// a worker must make after registering as sleeping and after stopping searching: it reads
    /// the normal injection queue with a read-modify-write, which is what lets `inject_lane`
    /// announce a normal-lane job without a fence (`sched/sleep`, "fence-free publication"). Spin
    /// loops that only poll should use [`has_work_for_hint`](Self::has_work_for_hint).
    pub(crate) fn has_work_for(&self, index: usize) -> bool {
        self.injected.len_synced() > 0 || self.has_other_work_for(index)
    }

    /// [`has_work_for`](Self::has_work_for) with plain loads only: for polling (a `false`
    /// here proves nothing to a worker about to sleep).
    #[inline]
    pub(crate) fn has_work_for_hint(&self, index: usize) -> bool {
        self.injected.len() > 0 || self.has_other_work_for(index)
    }

    /// [`has_work_for`](Self::has_work_for) for worker `index`'s re-check before it parks:
    /// without its own deque, which is empty then (it found no work, and only its owner adds
    /// to it). One look less at a line the other workers write.
    pub(crate) fn has_work_for_sleeper(&self, index: usize) -> bool {
        self.injected.len_synced() > 0 || self.has_other_work_except(index, index)
    }

    fn has_other_work_for(&self, index: usize) -> bool {
        self.has_other_work_except(index, usize::MAX)
    }

    fn has_other_work_except(&self, index: usize, own_deque: usize) -> bool {
        self.has_shared_work_except(own_deque)
            || self.inboxes[index].queue.len() > 0
            || self
                .inboxes
                .iter()
                .enumerate()
                .any(|(owner, inbox)| owner != index && inbox.open_to_peers())
    }

    /// Work in the queues every worker takes from, the normal lane aside.
    fn has_shared_work(&self) -> bool {
        self.has_shared_work_except(usize::MAX)
    }

    /// [`has_shared_work`](Self::has_shared_work) without worker `own`'s deque.
    fn has_shared_work_except(&self, own: usize) -> bool {
        self.injected_high.len() > 0
            || self.woken.len() > 0
            || self
                .stealers
                .iter()
                .enumerate()
                .any(|(i, s)| i != own && !s.is_empty())
    }

    /// Whether a LIFO slot of a peer of worker `index` is full (`Sleep::pass_watch`).
    pub(crate) fn any_peer_slot_full(&self, index: usize) -> bool {
        self.lifo
            .iter()
            .enumerate()
            .any(|(owner, slot)| owner != index && slot.is_full())
    }

    /// When the first inbox of a peer of worker `index` that holds work, and whose owner is
    /// busy, opens to `index` (the owner's patience runs out); `None` if there is none. A worker
    /// going to sleep sets its wake-up for then.
    pub(crate) fn next_inbox_opening(&self, index: usize) -> Option<Instant> {
        self.inboxes
            .iter()
            .enumerate()
            .filter(|&(owner, _)| owner != index)
            .filter_map(|(_, inbox)| inbox.opens_at())
            .min()
    }

    /// Counts what executing a job did, in the metrics and in the shutdown count.
    pub(crate) fn record_outcome(&self, outcome: Outcome, executor: Executor) {
        let stats = &self.stats;
        match executor {
            // Completions were counted by the task itself, before its handle could see them;
            // a worker's jobs are the sum of its three counters (see `WorkerStats`), so a task
            // costs one counter here, not two.
            Executor::Cpu(index) => {
                let worker = &*stats.workers[index];
                match outcome {
                    Outcome::Completed | Outcome::Panicked => {}
                    Outcome::Cancelled | Outcome::Skipped => worker.cancelled.bump(),
                    Outcome::Ran | Outcome::Nothing => worker.other_jobs.bump(),
                }
            }
            Executor::Io => {
                if matches!(outcome, Outcome::Cancelled | Outcome::Skipped) {
                    stats.shared.io_cancelled.add_shared(1);
                }
            }
            Executor::CpuOutside => {
                if matches!(outcome, Outcome::Cancelled | Outcome::Skipped) {
                    stats.shared.outside_cancelled.add_shared(1);
                }
            }
        }
        if outcome == Outcome::Cancelled {
            self.count_cancelled();
        }
    }

    /// Counts a task with a handle that finished; called before the handle can observe it, so
    /// a `join` that returned is always already counted.
    #[inline]
    pub(crate) fn record_task_end(&self, panicked: bool) {
        let worker = Caller::of(self).own().map(|w| w.index);
        match worker {
            Some(index) => self.stats.record_task_end_on(index, panicked),
            None => self.stats.record_io_task_end(panicked),
        }
    }

    /// Records a sampled task's latencies under the pool (CPU or I/O) running it.
    pub(crate) fn record_sampled(&self, submitted: u64, started: u64) {
        let worker = Caller::of(self).own().map(|w| w.index);
        self.stats.record_sampled(worker, submitted, started);
    }

    /// Counts an accepted or refused submission to the CPU pool (`io == false`) or I/O pool.
    /// `Err(true)` is a refusal for a full queue, `Err(false)` one for a shut-down pool.
    pub(crate) fn record_submission(&self, accepted: Result<(), bool>, io: bool) {
        if io {
            let stats = &self.stats;
            match accepted {
                Ok(()) => stats.record_io_spawned(Caller::of(self).own().map(|w| w.index)),
                Err(true) => stats.shared.rejected_full.add_shared(1),
                Err(false) => stats.shared.rejected_shutdown.add_shared(1),
            }
            return;
        }
        let own = Caller::of(self).own().map(|w| w.index);
        self.record_cpu_submission(accepted, own);
    }

    /// [`record_submission`](Self::record_submission) for the CPU pool by a caller that already
    /// knows whether it is one of this pool's workers (`own` is then its index): no second
    /// thread-local lookup on the spawn path.
    #[inline]
    pub(crate) fn record_cpu_submission(&self, accepted: Result<(), bool>, own: Option<usize>) {
        let stats = &self.stats;
        match accepted {
            Ok(()) => match own {
                Some(index) => stats.workers[index].spawned.bump(),
                None => stats.spawned_outside(),
            },
            Err(true) => stats.shared.rejected_full.add_shared(1),
            Err(false) => stats.shared.rejected_shutdown.add_shared(1),
        }
    }

    /// Submissions waiting outside the workers' deques: in the Normal and High lanes and in
    /// every worker's inbox (reserved slots included).
    pub(crate) fn queued(&self) -> usize {
        self.injected.len()
            + self.injected_high.len()
            + self.inboxes.iter().map(|i| i.queue.len()).sum::<usize>()
    }

    /// The most submissions that can wait there: each of those `threads + 2` queues holds
    /// `queue_capacity` (tasks a group releases aside: the group's own bounds hold those).
    pub(crate) fn queue_bound(&self) -> usize {
        self.injected.capacity() * (self.num_threads() + 2)
    }

    /// A snapshot of this pool's figures.
    pub(crate) fn metrics(&self) -> Metrics {
        let io = self.blocking.metrics();
        let depths = self.stealers.iter().map(|s| s.len()).collect();
        let queue = (self.queued(), self.injected.capacity(), self.queue_bound());
        self.stats.snapshot(io, queue, depths)
    }

    /// Pushes a job from outside this pool's workers and wakes a worker for it.
    pub(crate) fn inject(&self, job: JobRef, wait: Wait) -> Result<(), PushError> {
        self.inject_lane(job, wait, Lane::Normal)
    }

    /// The queue a lane feeds.
    pub(crate) fn lane_queue(&self, lane: Lane) -> &InjectionQueue {
        match lane {
            Lane::Normal => &self.injected,
            Lane::High => &self.injected_high,
            Lane::Worker(index) => &self.inboxes[index].queue,
        }
    }

    /// Pushes a job into `lane` and wakes a worker that can take it.
    pub(crate) fn inject_lane(&self, job: JobRef, wait: Wait, lane: Lane) -> Result<(), PushError> {
        let queue = self.lane_queue(lane);
        let pushed = match wait {
            Wait::No => queue.try_push(job),
            Wait::Until(deadline) => queue.push_blocking(job, Some(deadline)),
            Wait::Forever => queue.push_blocking(job, None),
        };
        if pushed.is_ok() {
            match lane {
                Lane::Worker(index) => {
                    self.sleep.wake_worker(index);
                    if self.inboxes[index].owner_is_busy() {
                        self.sleep.notify_new_work();
                    }
                }
                // The reservation was an RMW on the queue's state word, which workers re-read
                // with an RMW before they sleep: no fence needed (`sched/sleep`).
                Lane::Normal => self.sleep.notify_published_by_rmw(),
                Lane::High => self.sleep.notify_new_work(),
            }
        }
        pushed
    }
}

/// Who executed a job, for the metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Executor {
    /// CPU worker `index`.
    Cpu(usize),
    /// An I/O thread, or a drain of the I/O queue.
    Io,
    /// A CPU job finished off the workers (shutdown drains, refused wakes).
    CpuOutside,
}
