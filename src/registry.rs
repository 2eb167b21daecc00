//! The registry: the state one pool's workers share, its start-up, and its shutdown protocol.
//!
//! Invariants (shutdown, nothing lost):
//! - `shutdown` closes the injection queue first, so every later external submission is refused
//!   with its closure handed back; then it sets `terminate` and wakes every worker.
//! - A worker exits only when `terminate` is set, its own deque is empty, it found no work to
//!   steal, and the injection queue has no reserved slot (a submission that won its slot before
//!   the close is still counted there until a worker takes it). So every accepted job is executed.
//! - With `cancel_queued` (shutdown_now) set, workers execute jobs in `Mode::Cancel`: tasks with a
//!   handle are cancelled (their handle reports `Cancelled`) and counted; structured jobs (join,
//!   scope, install) still run because a caller waits on them.
//! - Thread handles are joined under `threads`' lock, so concurrent shutdowns all return only
//!   after every worker thread has exited. A worker never joins its own pool.

use crate::builder::Config;
use crate::error::BuildError;
use crate::injection_queue::{InjectionQueue, PushError};
use crate::job::JobRef;
use crate::sleep::Sleep;
use crate::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use crate::sync::{thread, Condvar, Mutex, Stealer, Worker};
use crate::unwind::{self, Payload};
use crate::worker::WorkerThread;
use std::sync::Arc;
use std::time::Instant;

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
    pub(crate) injected: InjectionQueue,
    pub(crate) sleep: Sleep,
    pub(crate) stealers: Box<[Stealer<JobRef>]>,
    pub(crate) local_queue_limit: usize,
    terminate: AtomicBool,
    cancel_queued: AtomicBool,
    cancelled: AtomicUsize,
    threads: Mutex<Vec<thread::JoinHandle<()>>>,
    /// Live `Pool` handles; the last one to go shuts the pool down.
    pub(crate) handles: AtomicUsize,
    on_thread_start: Option<crate::builder::IndexHook>,
    on_thread_stop: Option<crate::builder::IndexHook>,
    panic_handler: Option<crate::builder::PanicHandler>,
}

/// Counts workers that have finished starting, so `build` returns a fully running pool.
struct StartGate {
    started: Mutex<usize>,
    cond: Condvar,
}

impl Registry {
    pub(crate) fn build(mut config: Config) -> Result<Arc<Registry>, BuildError> {
        let threads = config.threads;
        let cores = crate::pinning::plan(&config.pinning, threads)?;
        let deques: Vec<Worker<JobRef>> = (0..threads).map(|_| Worker::new_lifo()).collect();
        let registry = Arc::new(Registry {
            injected: InjectionQueue::new(config.queue_capacity),
            sleep: Sleep::new(threads),
            stealers: deques.iter().map(Worker::stealer).collect(),
            local_queue_limit: config.local_queue_limit,
            terminate: AtomicBool::new(false),
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
        for (index, (deque, core)) in deques.into_iter().zip(cores).enumerate() {
            let name = (config.thread_name)(index);
            let registry_for_thread = Arc::clone(&registry);
            let gate = Arc::clone(&gate);
            let spawned = crate::sync::spawn_thread(name, config.stack_size, move || {
                if let Some(core) = core {
                    // A refused pin (e.g. the mask changed since build) leaves the thread
                    // unpinned; the pool still works.
                    let _pinned = crate::pinning::pin_current(core);
                }
                WorkerThread::run(registry_for_thread, index, deque, move || {
                    *gate.started.lock() += 1;
                    gate.cond.notify_all();
                });
            });
            match spawned {
                Ok(handle) => registry.threads.lock().push(handle),
                Err(error) => {
                    registry.shutdown(false);
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

    pub(crate) fn num_threads(&self) -> usize {
        self.stealers.len()
    }

    pub(crate) fn terminating(&self) -> bool {
        self.terminate.load(Ordering::SeqCst)
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
        match &self.panic_handler {
            Some(handler) => unwind::run_hook("panic_handler", || handler(payload)),
            None => eprintln!(
                "corepool: a detached task panicked: {}",
                unwind::message(&*payload)
            ),
        }
    }

    /// Whether any queue of this pool holds work (or a reserved injection slot).
    pub(crate) fn has_visible_work(&self) -> bool {
        self.injected.len() > 0 || self.stealers.iter().any(|s| !s.is_empty())
    }

    /// Pushes a job from outside this pool's workers and wakes a worker for it.
    pub(crate) fn inject(&self, job: JobRef, wait: Wait) -> Result<(), PushError> {
        let pushed = match wait {
            Wait::No => self.injected.try_push(job),
            Wait::Until(deadline) => self.injected.push_blocking(job, Some(deadline)),
            Wait::Forever => self.injected.push_blocking(job, None),
        };
        if pushed.is_ok() {
            self.sleep.notify_new_work();
        }
        pushed
    }

    /// Stops accepting work and waits for the workers to finish.
    ///
    /// Graceful (`cancel_queued == false`): every queued job runs. Otherwise queued tasks are
    /// cancelled. Returns how many tasks shutdown cancelled. Called on one of this pool's own
    /// workers, it only initiates the shutdown and returns without waiting.
    pub(crate) fn shutdown(&self, cancel_queued: bool) -> usize {
        if cancel_queued {
            self.cancel_queued.store(true, Ordering::SeqCst);
        }
        self.injected.close();
        self.terminate.store(true, Ordering::SeqCst);
        self.sleep.wake_all();
        let on_own_worker = WorkerThread::current()
            .is_some_and(|worker| std::ptr::eq(Arc::as_ptr(&worker.registry), self));
        if !on_own_worker {
            let mut threads = self.threads.lock();
            for handle in threads.drain(..) {
                // A worker thread never unwinds (every job and hook is caught), so the join
                // result carries nothing to report.
                let _ = handle.join();
            }
        }
        self.cancelled.load(Ordering::SeqCst)
    }
}
