//! Shutdown: when a pool stops accepting work, when a worker may exit, and how futures, the
//! I/O pool and the pool's threads are finished, so that nothing accepted is lost.
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

use crate::sched::job::Outcome;
use crate::sched::registry::{Executor, Registry};
use crate::sync::atomic::Ordering;
use crate::sync::{Condvar, Mutex};
use std::cell::Cell;
use std::sync::Arc;
use std::time::Instant;

/// A pending future task the registry can cancel at shutdown (implemented by the future task,
/// one layer up: the registry only keeps them in a list).
pub(crate) trait Cancel: Send + Sync {
    fn cancel(&self) -> bool;
}

/// The epoch unit of `Registry::quiet` (the count is below it).
const QUIET_EPOCH: u64 = 1 << 32;

impl Registry {
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

/// The two kinds of pool thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ThreadKind {
    Cpu = 0,
    Io = 1,
}

/// How many threads of each kind are alive, with a condvar to wait for zero.
pub(super) struct Liveness {
    alive: Mutex<[usize; 2]>,
    cond: Condvar,
}

impl Liveness {
    pub(super) fn new() -> Self {
        Liveness {
            alive: Mutex::new([0; 2]),
            cond: Condvar::new(),
        }
    }

    pub(super) fn started(&self, kind: ThreadKind) {
        self.alive.lock()[kind as usize] += 1;
    }

    pub(super) fn exited(&self, kind: ThreadKind) {
        let mut alive = self.alive.lock();
        alive[kind as usize] -= 1;
        if alive[kind as usize] == 0 {
            self.cond.notify_all();
        }
    }

    pub(super) fn wait_exited(&self, kind: ThreadKind, deadline: Option<Instant>) -> bool {
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
