//! The elastic blocking-I/O pool: threads started on demand, retired after a keep-alive.
//!
//! Invariants:
//! - Jobs enter through their own bounded `InjectionQueue` (same backpressure and shutdown rules
//!   as the CPU queue); a reserved slot is counted until an I/O thread takes its job.
//! - Once the pool's shutdown has begun, the queue refuses every thread that is not one of the
//!   pool's own (`refuse_outsiders`); it closes for good only once the CPU pool has drained
//!   (`begin_shutdown`, called by the registry), so draining CPU tasks can still use it.
//! - After pushing, a submitter takes `state`'s lock and either notifies an idle thread (only if
//!   `idle > notified`, so each notification is owed to a distinct idle thread) or starts a new
//!   thread (if below `max_threads`). An idle thread re-checks the queue under the same lock
//!   before it waits, so a job pushed before that check is seen and one pushed after it is
//!   followed by a notification or a new thread: no lost wake-up.
//! - A woken thread consumes one `notified` before it times out: a keep-alive expiry never
//!   swallows a notification. A thread retires only when it timed out with nothing owed to it.
//! - `threads` counts started and not yet retired threads and never exceeds `max_threads`.
//! - If no thread can be started and none is alive, the queue is drained with `Mode::Cancel`
//!   (handles report Cancelled): a job is never stranded.

use crate::metrics::IoMetrics;
use crate::sched::config::BlockingConfig;
use crate::sched::injection::{InjectionQueue, PushError, Submitter};
use crate::sched::job::{JobRef, Mode, Outcome};
use crate::sched::registry::{Executor, Registry, Wait};
use crate::sched::shutdown::{PoolThread, ThreadKind};
use crate::sync::{spin_hint, thread, Condvar, Mutex};
use std::sync::Arc;
use std::time::Instant;

struct State {
    threads: usize,
    idle: usize,
    notified: usize,
    shutdown: bool,
    next_id: usize,
    started_total: usize,
    retired_total: usize,
    keep_alive_exits: usize,
    live: Vec<(usize, thread::JoinHandle<()>)>,
    /// Handles of retired threads, joined at the next start or shutdown.
    retired: Vec<thread::JoinHandle<()>>,
}

pub(crate) struct BlockingPool {
    pub(crate) queue: InjectionQueue,
    state: Mutex<State>,
    work: Condvar,
    config: BlockingConfig,
}

impl BlockingPool {
    pub(crate) fn new(config: BlockingConfig) -> Self {
        BlockingPool {
            queue: InjectionQueue::new(config.queue_capacity),
            state: Mutex::new(State {
                threads: 0,
                idle: 0,
                notified: 0,
                shutdown: false,
                next_id: 0,
                started_total: 0,
                retired_total: 0,
                keep_alive_exits: 0,
                live: Vec::new(),
                retired: Vec::new(),
            }),
            work: Condvar::new(),
            config,
        }
    }

    pub(crate) fn max_threads(&self) -> usize {
        self.config.max_threads
    }

    /// The I/O pool's thread and queue figures (task counts are filled in by the caller).
    pub(crate) fn metrics(&self) -> IoMetrics {
        let state = self.state.lock();
        IoMetrics {
            threads_alive: state.threads,
            threads_idle: state.idle,
            threads_max: self.config.max_threads,
            queue_depth: self.queue.len(),
            queue_capacity: self.queue.capacity(),
            thread_starts: state.started_total as u64,
            keep_alive_exits: state.keep_alive_exits as u64,
            ..IoMetrics::default()
        }
    }

    /// I/O threads started and not yet retired.
    pub(crate) fn alive(&self) -> usize {
        self.state.lock().threads
    }

    /// Queues a job and makes sure a thread will run it.
    pub(crate) fn submit(
        &self,
        registry: &Arc<Registry>,
        job: JobRef,
        wait: Wait,
    ) -> Result<(), PushError> {
        let who = submitter(registry);
        match wait {
            Wait::No => self.queue.try_push_as(job, who)?,
            Wait::Until(deadline) => self.queue.push_blocking_as(job, Some(deadline), who)?,
            Wait::Forever => self.queue.push_blocking_as(job, None, who)?,
        }
        self.ensure_thread(registry);
        Ok(())
    }

    /// From now on only the pool's own threads may submit (a shutdown has begun); submitters
    /// from elsewhere waiting for room are released and refused.
    pub(crate) fn refuse_outsiders(&self) {
        self.queue.close_to_outsiders();
    }

    /// Queues a job admitted elsewhere (a task group's), ignoring the queue's capacity but not
    /// its closing, and makes sure a thread will run it.
    pub(crate) fn force_submit(
        &self,
        registry: &Arc<Registry>,
        job: JobRef,
    ) -> Result<(), PushError> {
        self.queue.force_push_as(job, submitter(registry))?;
        self.ensure_thread(registry);
        Ok(())
    }

    fn ensure_thread(&self, registry: &Arc<Registry>) {
        let mut state = self.state.lock();
        if state.idle > state.notified {
            state.notified += 1;
            self.work.notify_one();
            return;
        }
        if state.threads >= self.config.max_threads || state.shutdown {
            // Every thread is busy; one of them takes the job when it is done.
            return;
        }
        for handle in state.retired.drain(..) {
            let _ = handle.join();
        }
        let id = state.next_id;
        // A naming closure that panics is a failed spawn, not a panic inside the pool.
        let name = match crate::sched::unwind::catch(|| (self.config.thread_name)(id)) {
            Ok(name) => name,
            Err(payload) => {
                let message = crate::error::panic_message(&*payload).to_string();
                drop(state);
                self.spawn_failed(registry, &format!("io_thread_name panicked: {message}"));
                return;
            }
        };
        state.next_id += 1;
        state.threads += 1;
        state.started_total += 1;
        registry.thread_spawning(ThreadKind::Io);
        let registry_for_thread = Arc::clone(registry);
        let spawned = crate::sync::spawn_thread(name, self.config.stack_size, move || {
            io_thread_main(registry_for_thread, id)
        });
        match spawned {
            Ok(handle) => state.live.push((id, handle)),
            Err(error) => {
                registry.thread_spawn_failed(ThreadKind::Io);
                state.threads -= 1;
                state.started_total -= 1;
                drop(state);
                self.spawn_failed(registry, &error.to_string());
            }
        }
    }

    /// No new thread could be started: if none is alive, nobody will ever take the queued
    /// jobs, so their handles are resolved now (Cancelled).
    fn spawn_failed(&self, registry: &Registry, why: &str) {
        crate::sched::unwind::diagnose(
            log::Level::Warn,
            format_args!("could not start a blocking-pool thread: {why}"),
        );
        if self.state.lock().threads == 0 {
            self.cancel_queued(registry);
        }
    }

    fn cancel_queued(&self, registry: &Registry) -> usize {
        self.finish_queued(registry, Mode::Cancel)
    }

    /// Executes every queued job here, in `mode`; returns how many were cancelled.
    fn finish_queued(&self, registry: &Registry, mode: Mode) -> usize {
        let mut cancelled = 0;
        self.queue.drain(|job| {
            // SAFETY: taken from the queue, so live and unexecuted; executed once here.
            let outcome = unsafe { job.execute(mode, registry) };
            if outcome == Outcome::Cancelled {
                cancelled += 1;
                // Counted in the shutdown total by the caller; here only in the metrics.
                registry.record_outcome(Outcome::Skipped, Executor::Io);
            } else {
                registry.record_outcome(outcome, Executor::Io);
            }
        });
        cancelled
    }

    /// Waits for work as an idle thread. Returns `false` when the thread should exit.
    fn wait_for_work(&self, id: usize) -> bool {
        let mut state = self.state.lock();
        if self.queue.len() > 0 {
            // The caller's `take_one` just found nothing, so this may be a slot whose submitter
            // has reserved it but not pushed its job yet: pause before the caller retries
            // rather than spin hot on this lock until the push lands (as a CPU worker does in
            // `take_batch_from`).
            drop(state);
            spin_hint();
            return true;
        }
        if state.shutdown {
            self.retire(&mut state, id);
            return false;
        }
        state.idle += 1;
        // A keep-alive too long to add to `now` means "never retire".
        let deadline = Instant::now().checked_add(self.config.keep_alive);
        loop {
            let timed_out = match deadline {
                Some(deadline) => self.work.wait_until(&mut state, deadline),
                None => {
                    self.work.wait(&mut state);
                    false
                }
            };
            if state.notified > 0 {
                state.notified -= 1;
                state.idle -= 1;
                return true;
            }
            // On shutdown a thread stays while a job is queued or reserved (a submission that
            // won its slot before the close), so no accepted job is stranded.
            if self.queue.len() == 0 && (state.shutdown || timed_out) {
                state.idle -= 1;
                if !state.shutdown {
                    state.keep_alive_exits += 1;
                }
                self.retire(&mut state, id);
                return false;
            }
            if timed_out || self.queue.len() > 0 {
                state.idle -= 1;
                return true;
            }
        }
    }

    /// Model hook (`loom_api::expire_io_keep_alive`): the keep-alive of one idle thread runs
    /// out now (of the next thread to wait, if none is waiting). loom never times a wait out by
    /// itself, so without this the retirement branch of `wait_for_work` is unreachable.
    #[cfg(corepool_loom)]
    pub(crate) fn expire_keep_alive(&self) {
        let state = self.state.lock();
        self.work.expire_one(&state);
    }

    fn retire(&self, state: &mut State, id: usize) {
        state.threads -= 1;
        state.retired_total += 1;
        if let Some(pos) = state.live.iter().position(|(live_id, _)| *live_id == id) {
            let (_, handle) = state.live.swap_remove(pos);
            state.retired.push(handle);
        }
    }

    /// Closes the queue and wakes every thread; with `cancel`, what is queued is cancelled
    /// (by the threads, or here if none is alive). Returns the handles to join.
    pub(crate) fn begin_shutdown(
        &self,
        registry: &Registry,
        cancel: bool,
    ) -> (usize, Vec<thread::JoinHandle<()>>) {
        self.queue.close();
        let mut state = self.state.lock();
        state.shutdown = true;
        self.work.notify_all();
        let none_alive = state.threads == 0;
        let mut handles: Vec<_> = state.live.drain(..).map(|(_, h)| h).collect();
        handles.append(&mut state.retired);
        drop(state);
        // With no thread alive, queued jobs are ours to finish.
        let cancelled = match (none_alive, cancel) {
            (false, _) => 0,
            (true, true) => self.cancel_queued(registry),
            (true, false) => self.finish_queued(registry, Mode::Run),
        };
        (cancelled, handles)
    }
}

/// Whether the calling thread submits as one of `registry`'s own threads.
fn submitter(registry: &Registry) -> Submitter {
    if registry.is_own_thread() {
        Submitter::Insider
    } else {
        Submitter::Outsider
    }
}

fn io_thread_main(registry: Arc<Registry>, id: usize) {
    let _member = PoolThread::enter(&registry, ThreadKind::Io);
    // This thread's own task counts, folded into the pool's total when it exits.
    let _counts = registry.stats.io_thread_counts();
    // A blocking thread started from a pinned CPU worker would inherit its single core.
    crate::sched::pinning::unpin_current();
    let pool = &registry.blocking;
    if let Some(hook) = &pool.config.on_thread_start {
        crate::sched::unwind::run_hook("on_io_thread_start", || hook(id));
    }
    loop {
        while let Some(job) = pool.queue.take_one() {
            let mode = if registry.cancelling() {
                Mode::Cancel
            } else {
                Mode::Run
            };
            // SAFETY: taken from the queue, so live and unexecuted; executed once here.
            let outcome = unsafe { job.execute(mode, &registry) };
            registry.record_outcome(outcome, Executor::Io);
        }
        if !pool.wait_for_work(id) {
            break;
        }
    }
    if let Some(hook) = &pool.config.on_thread_stop {
        crate::sched::unwind::run_hook("on_io_thread_stop", || hook(id));
    }
}
