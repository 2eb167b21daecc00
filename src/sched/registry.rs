//! The registry: the state one pool's workers share, its start-up, and its shutdown protocol.
//!
//! Invariants (shutdown, nothing lost):
//! - `shutdown` first closes the I/O queue to threads that are not the pool's own, then closes
//!   the injection queue, so every later external submission, CPU or I/O, is refused with its
//!   closure handed back (an outsider that saw `is_shutdown()` is refused by both); then it sets
//!   `terminate` and wakes every worker.
//! - A worker exits only when `terminate` is set and the pool is *drained*: every worker was
//!   idle in its main loop at the same moment (so no task was running to spawn more) and no
//!   queue held work or a reserved slot (a submission that won its slot before the close is
//!   still counted until a worker takes it). So every accepted job is executed, including
//!   children spawned by tasks that were still running when the shutdown began.
//! - Futures under a graceful shutdown: from `terminate` on, a woken or newly spawned future
//!   task is queued on the wake queue, never on a deque, so every other queue holds closures
//!   (and their structured jobs) only. Once every worker is at the same moment idle in its main
//!   loop or *quiet* (the last job it took in its main loop came from the wake queue, and it
//!   has not started looking for another: a worker leaves that state before it takes a job
//!   from any other queue), and
//!   no queue but the wake queue holds work, the
//!   closures have drained (`futures_closing`): from then a future whose poll returns
//!   `Pending` is cancelled instead, and a newly spawned one is cancelled at once. So futures
//!   that wake themselves or spawn their successors cannot keep the pool from draining, while a
//!   future a closure still waits for, or that waits for a closure, is polled as usual until
//!   the closures are done.
//! - With `cancel_queued` (shutdown_now) set, workers execute jobs in `Mode::Cancel`: tasks with a
//!   handle are cancelled (their handle reports `Cancelled`) and counted; structured jobs (join,
//!   scope, install) still run because a caller waits on them.
//! - The CPU workers are drained first, then the blocking pool is closed, so CPU tasks that run
//!   during a graceful drain can still hand work to the I/O threads. The close is made by the
//!   last CPU thread to finish (after its `on_thread_stop`, before it counts as exited), or by
//!   `shutdown` once it saw every CPU thread exit, whichever comes first (`close_io_pool` runs
//!   once): never earlier, whether the shutdown was started on a pool thread or its
//!   `shutdown_timeout` ran out.
//! - Every pool thread (CPU or I/O) is counted in `liveness` from before it is spawned until its
//!   last action; `shutdown` returns `finished == true` only after both counts reached zero and
//!   every handle was joined. Handles are joined under `threads`' lock, so concurrent shutdowns
//!   all return after the threads are gone. A pool thread never waits for its own pool.
//! - A worker whose thread failed to start (`build`) counts as idle in its main loop for ever and
//!   as already out of it: it holds no work and never will, so the drained rule and the last
//!   worker's clean-up wait only for the workers that run. `build` then shuts the started ones
//!   down gracefully and returns the error once every one of them has been joined.

use crate::error::BuildError;
use crate::metrics::{Metrics, PoolStats};
use crate::sched::config::{Config, IndexHook, PanicHandler};
use crate::sched::injection::{InjectionQueue, PushError};
use crate::sched::io_pool::BlockingPool;
use crate::sched::job::JobRef;
use crate::sched::job::Outcome;
use crate::sched::lanes::{Inbox, Lane};
use crate::sched::sleep::Sleep;
use crate::sched::unwind::{self, PanicSink, Payload};
use crate::sched::worker::{Caller, WorkerThread};
use crate::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use crate::sync::{thread, Condvar, Mutex, Stealer, Worker};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

/// The epoch unit of `Registry::quiet` (the count is below it).
/// A pending future task the registry can cancel at shutdown (implemented by the future task,
/// one layer up: the registry only keeps them in a list).
pub(crate) trait Cancel: Send + Sync {
    fn cancel(&self) -> bool;
}

const QUIET_EPOCH: u64 = 1 << 32;

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
    /// Future tasks woken from outside the pool. Unbounded in practice (a task is in at most one
    /// queue at a time, so it holds at most one entry per live future task).
    pub(crate) woken: InjectionQueue,
    /// Live future tasks, cancelled when the last CPU worker exits.
    futures: Mutex<BTreeMap<u64, Arc<dyn Cancel>>>,
    /// CPU workers still in their main loop; the last one out finalizes the future tasks.
    cpu_running: AtomicUsize,
    /// CPU workers idle in their main loop (not inside a task's wait).
    main_idle: AtomicUsize,
    /// CPU threads that have not finished yet (past their `on_thread_stop`); the last one
    /// closes the blocking pool.
    cpu_unfinished: AtomicUsize,
    /// Set by the one `close_io_pool` call that closes the blocking pool.
    io_closed: AtomicBool,
    /// Set once, during shutdown, when every worker was idle in its main loop with no work
    /// anywhere: nothing can create CPU work any more, so workers may exit.
    drained: AtomicBool,
    pub(crate) blocking: BlockingPool,
    liveness: Liveness,
    pub(crate) sleep: Sleep,
    pub(crate) stealers: Box<[Stealer<JobRef>]>,
    pub(crate) local_queue_limit: usize,
    terminate: AtomicBool,
    /// During termination: how many workers are quiet (low 32 bits), and an epoch (high bits)
    /// bumped whenever a worker stops being quiet or leaves its main-loop idle, so that a
    /// `futures_closing` check that read the count before such a change and the queues after
    /// it sees the word changed (see `futures_closing`).
    quiet: AtomicU64,
    /// Set once, during a graceful shutdown, when the closures drained: pending futures are
    /// cancelled from then on.
    futures_closing: AtomicBool,
    /// A `shutdown_timeout` ran out: dropping the last `Pool` no longer waits for the threads.
    abandoned: AtomicBool,
    cancel_queued: AtomicBool,
    cancelled: AtomicUsize,
    threads: Mutex<Vec<thread::JoinHandle<()>>>,
    /// Live `Pool` handles; the last one to go shuts the pool down.
    pub(crate) handles: AtomicUsize,
    on_thread_start: Option<IndexHook>,
    on_thread_stop: Option<IndexHook>,
    panic_handler: Option<PanicHandler>,
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
            woken: InjectionQueue::new(crate::sched::config::MAX_QUEUE_CAPACITY),
            futures: Mutex::new(BTreeMap::new()),
            cpu_running: AtomicUsize::new(threads),
            main_idle: AtomicUsize::new(0),
            cpu_unfinished: AtomicUsize::new(threads),
            io_closed: AtomicBool::new(false),
            drained: AtomicBool::new(false),
            blocking: BlockingPool::new(blocking),
            liveness: Liveness::new(),
            sleep: Sleep::new(threads),
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
                    *gate.started.lock() += 1;
                    gate.cond.notify_all();
                });
            });
            match spawned {
                Ok(handle) => registry.threads.lock().push(handle),
                Err(error) => {
                    registry.liveness.exited(ThreadKind::Cpu);
                    registry.never_started(threads - index);
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

    /// Counts the last `count` workers, whose threads will never start (a spawn failed), as idle
    /// in their main loop and as gone from it: otherwise the started workers, which exit only
    /// once all `num_threads()` workers are idle at once, would wait for them for ever. Called
    /// before `shutdown` sets `terminate` (both SeqCst), so every worker that applies the drained
    /// rule sees these counts.
    fn never_started(&self, count: usize) {
        self.main_idle.fetch_add(count, Ordering::SeqCst);
        // The last started worker to exit still finds `cpu_running` at 1 and cleans up; with
        // none started it reaches 0 here, and there is nothing to clean up.
        self.cpu_running.fetch_sub(count, Ordering::SeqCst);
    }

    pub(crate) fn num_threads(&self) -> usize {
        self.stealers.len()
    }

    pub(crate) fn terminating(&self) -> bool {
        self.terminate.load(Ordering::SeqCst)
    }

    /// A worker becomes quiet (`true`: it took a job from the wake queue during termination)
    /// or leaves that state (it looks for another job).
    pub(crate) fn set_quiet(&self, quiet: bool) {
        if quiet {
            self.quiet.fetch_add(1, Ordering::SeqCst);
        } else {
            self.quiet.fetch_add(QUIET_EPOCH - 1, Ordering::SeqCst);
        }
    }

    /// During a graceful shutdown: whether the closures have drained, so that pending futures
    /// are cancelled (deciding it if every worker is idle in its main loop or quiet, and no
    /// queue but the wake queue holds work).
    pub(crate) fn futures_closing(&self) -> bool {
        if !self.terminating() {
            return false;
        }
        if self.futures_closing.load(Ordering::SeqCst) {
            return true;
        }
        // Read the word, the counts and the queues, then the word again: a worker that stopped
        // being quiet (or left its idle) and then took a closure bumped the epoch between its
        // two changes, so a check that saw it quiet and its closure gone sees the word moved.
        let before = self.quiet.load(Ordering::SeqCst);
        let quiet = (before & (QUIET_EPOCH - 1)) as usize + self.main_idle.load(Ordering::SeqCst);
        if quiet == self.num_threads()
            && !self.has_closure_work()
            && self.quiet.load(Ordering::SeqCst) == before
        {
            self.futures_closing.store(true, Ordering::SeqCst);
            return true;
        }
        false
    }

    /// Whether any queue but the wake queue holds work: during termination, closure work.
    pub(crate) fn has_closure_work(&self) -> bool {
        self.injected.len_synced() > 0
            || self.injected_high.len() > 0
            || self.inboxes.iter().any(|inbox| inbox.queue.len() > 0)
            || self.stealers.iter().any(|s| !s.is_empty())
    }

    /// A `shutdown_timeout` ran out: the last `Pool` handle's drop will not wait again.
    pub(crate) fn abandon(&self) {
        self.abandoned.store(true, Ordering::SeqCst);
    }

    pub(crate) fn is_abandoned(&self) -> bool {
        self.abandoned.load(Ordering::SeqCst)
    }

    pub(crate) fn cancelling(&self) -> bool {
        self.cancel_queued.load(Ordering::Relaxed)
    }

    pub(crate) fn count_cancelled(&self) {
        self.cancelled.fetch_add(1, Ordering::Relaxed);
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
    /// announce a normal-lane job without a fence (sleep.rs, "fence-free publication"). Spin
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

    fn has_other_work_for(&self, index: usize) -> bool {
        self.has_shared_work()
            || self.inboxes[index].queue.len() > 0
            || self
                .inboxes
                .iter()
                .enumerate()
                .any(|(owner, inbox)| owner != index && inbox.open_to_peers())
    }

    /// Work in the queues every worker takes from, the normal lane aside.
    fn has_shared_work(&self) -> bool {
        self.injected_high.len() > 0
            || self.woken.len() > 0
            || self.stealers.iter().any(|s| !s.is_empty())
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

    pub(crate) fn main_idle_enter(&self) {
        self.main_idle.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn main_idle_exit(&self) {
        self.main_idle.fetch_sub(1, Ordering::SeqCst);
        if self.terminating() {
            // A worker leaving its idle may take a closure next (see `futures_closing`).
            self.quiet.fetch_add(QUIET_EPOCH, Ordering::SeqCst);
        }
    }

    pub(crate) fn is_drained(&self) -> bool {
        self.drained.load(Ordering::SeqCst)
    }

    /// During shutdown: whether the pool is drained, deciding it if every worker is idle in its
    /// main loop and no work is visible. The caller is one of those idle workers.
    pub(crate) fn check_drained(&self) -> bool {
        if self.is_drained() {
            return true;
        }
        if self.main_idle.load(Ordering::SeqCst) == self.num_threads() && !self.has_visible_work() {
            self.drained.store(true, Ordering::SeqCst);
            return true;
        }
        false
    }

    pub(crate) fn futures_track(&self, id: u64, task: Arc<dyn Cancel>) {
        self.futures.lock().insert(id, task);
    }

    pub(crate) fn futures_forget(&self, id: u64) {
        self.futures.lock().remove(&id);
    }

    /// Called by each CPU worker as it leaves its main loop. The last one closes the wake queue
    /// and cancels every future task still pending: no worker is left to poll them.
    pub(crate) fn cpu_worker_exiting(&self) {
        if self.cpu_running.fetch_sub(1, Ordering::SeqCst) != 1 {
            return;
        }
        self.woken.close();
        self.woken.drain(|job| {
            // SAFETY: taken from the queue, so live and unexecuted; executed once here.
            let outcome = unsafe { job.execute(crate::sched::job::Mode::Cancel, self) };
            self.record_outcome(outcome, Executor::CpuOutside);
        });
        let pending = std::mem::take(&mut *self.futures.lock());
        for task in pending.into_values() {
            if task.cancel() {
                self.record_outcome(Outcome::Cancelled, Executor::CpuOutside);
            }
        }
    }

    /// Called by each CPU thread as its very last step before it counts as exited (after
    /// `on_thread_stop`): the last one closes the blocking pool, now that the CPU pool drained.
    pub(crate) fn cpu_thread_finished(&self) {
        if self.cpu_unfinished.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.close_io_pool();
        }
    }

    /// Closes the blocking pool (once): its queued jobs still run, or are cancelled under
    /// `shutdown_now`; its threads' handles join the ones `shutdown` joins.
    fn close_io_pool(&self) {
        if self.io_closed.swap(true, Ordering::SeqCst) {
            return;
        }
        let (io_cancelled, io_handles) = self.blocking.begin_shutdown(self, self.cancelling());
        self.cancelled.fetch_add(io_cancelled, Ordering::SeqCst);
        self.threads.lock().extend(io_handles);
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
        let stats = &self.stats;
        match worker {
            Some(index) => stats.record_task_end_on(index, panicked),
            None => {
                stats.shared.io_completed.add_shared(1);
                if panicked {
                    stats.shared.io_panicked.add_shared(1);
                }
            }
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
                Ok(()) => stats.shared.io_spawned.add_shared(1),
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
                // with an RMW before they sleep: no fence needed (sleep.rs).
                Lane::Normal => self.sleep.notify_published_by_rmw(),
                Lane::High => self.sleep.notify_new_work(),
            }
        }
        pushed
    }

    /// Whether the calling thread is one of this pool's own threads (CPU or I/O).
    pub(crate) fn is_own_thread(&self) -> bool {
        std::ptr::eq(POOL_THREAD.with(Cell::get), self)
    }

    /// Counts a pool thread about to be spawned (undo with `thread_spawn_failed`).
    pub(crate) fn thread_spawning(&self, kind: ThreadKind) {
        self.liveness.started(kind);
    }

    pub(crate) fn thread_spawn_failed(&self, kind: ThreadKind) {
        self.liveness.exited(kind);
    }

    /// Stops accepting work and waits (until `deadline`, if any) for every thread to finish.
    ///
    /// Graceful (`cancel_queued == false`): every queued job runs. Otherwise queued tasks are
    /// cancelled. Returns how many tasks shutdown cancelled so far, and whether every thread has
    /// exited and been joined. Called on one of this pool's own threads, it only initiates the
    /// shutdown and returns at once.
    pub(crate) fn shutdown(&self, cancel_queued: bool, deadline: Option<Instant>) -> (usize, bool) {
        if cancel_queued {
            self.cancel_queued.store(true, Ordering::SeqCst);
        }
        // Before the CPU queues close: a thread that sees `is_shutdown()` is refused here too.
        self.blocking.refuse_outsiders();
        self.injected.close();
        self.injected_high.close();
        for inbox in self.inboxes.iter() {
            inbox.queue.close();
        }
        self.terminate.store(true, Ordering::SeqCst);
        self.sleep.wake_all();
        let own_thread = self.is_own_thread();
        let cpu_done = !own_thread && self.liveness.wait_exited(ThreadKind::Cpu, deadline);
        if cpu_done {
            // The CPU pool has drained. Its last thread closed the blocking pool on its way
            // out, unless none got that far (some never started: a failed build).
            self.close_io_pool();
        }
        // Otherwise (a pool thread cannot wait for itself, or the deadline passed) the last
        // CPU thread closes the blocking pool once the CPU pool has drained.
        let finished = cpu_done && self.liveness.wait_exited(ThreadKind::Io, deadline) && {
            // Joined under the lock: a concurrent shutdown waits here until every handle is.
            let mut threads = self.threads.lock();
            for handle in threads.drain(..) {
                // A pool thread never unwinds (every job and hook is caught), so the join
                // result carries nothing to report.
                let _ = handle.join();
            }
            true
        };
        (self.cancelled.load(Ordering::SeqCst), finished)
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

/// The two kinds of pool thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ThreadKind {
    Cpu = 0,
    Io = 1,
}

/// How many threads of each kind are alive, with a condvar to wait for zero.
struct Liveness {
    alive: Mutex<[usize; 2]>,
    cond: Condvar,
}

impl Liveness {
    fn new() -> Self {
        Liveness {
            alive: Mutex::new([0; 2]),
            cond: Condvar::new(),
        }
    }

    fn started(&self, kind: ThreadKind) {
        self.alive.lock()[kind as usize] += 1;
    }

    fn exited(&self, kind: ThreadKind) {
        let mut alive = self.alive.lock();
        alive[kind as usize] -= 1;
        if alive[kind as usize] == 0 {
            self.cond.notify_all();
        }
    }

    fn wait_exited(&self, kind: ThreadKind, deadline: Option<Instant>) -> bool {
        let mut alive = self.alive.lock();
        while alive[kind as usize] > 0 {
            match deadline {
                Some(deadline) => {
                    if self.cond.wait_until(&mut alive, deadline) {
                        return alive[kind as usize] == 0;
                    }
                }
                None => self.cond.wait(&mut alive),
            }
        }
        true
    }
}

#[cfg(not(corepool_loom))]
crate::sync::thread_local! {
    static POOL_THREAD: Cell<*const Registry> = const { Cell::new(std::ptr::null()) };
}
#[cfg(corepool_loom)]
crate::sync::thread_local! {
    static POOL_THREAD: Cell<*const Registry> = Cell::new(std::ptr::null());
}

/// Marks the current thread as a thread of a pool for its lifetime; its drop (the thread's last
/// action, also on unwinding) is what `Liveness` counts as the thread's exit.
pub(crate) struct PoolThread {
    registry: Arc<Registry>,
    kind: ThreadKind,
}

impl PoolThread {
    pub(crate) fn enter(registry: &Arc<Registry>, kind: ThreadKind) -> PoolThread {
        POOL_THREAD.with(|p| p.set(Arc::as_ptr(registry)));
        PoolThread {
            registry: Arc::clone(registry),
            kind,
        }
    }
}

impl Drop for PoolThread {
    fn drop(&mut self) {
        POOL_THREAD.with(|p| p.set(std::ptr::null()));
        self.registry.liveness.exited(self.kind);
    }
}
