//! The worker loop: a worker's life, how it executes jobs, and how it waits while helping.
//! Where it looks for work, and the fairness rule, are in `find.rs`.
//!
//! Invariants:
//! - Only the owning worker pushes to or pops from its deque; peers only steal.
//! - A worker that waits (join, scope, handle) keeps executing other jobs until its condition
//!   holds, and sleeps only through the sleep protocol, whose re-check includes the condition.
//! - An idle worker takes the job it wakes up for while it still counts as searching (so the
//!   last-searcher rule wakes a peer only for work beyond it), and leaves the registry's
//!   main-idle count before it takes it: a worker holding a job never counts as idle for the
//!   shutdown's drained rule.
//! - A worker exits its main loop only under the shutdown rule (see `shutdown.rs`).

use crate::sched::find::FAIRNESS_INTERVAL;
use crate::sched::injection::PushError;
use crate::sched::job::{JobRef, Mode};
use crate::sched::join::FrameChain;
use crate::sched::lifo::LifoSlot;
use crate::sched::registry::{Executor, Registry, Wait};
use crate::sync::{spin_hint, thread, Worker};
use std::cell::Cell;
use std::ptr;
use std::sync::Arc;
use std::task::{Wake, Waker};
use std::time::Instant;

/// How many times an idle worker checks for work, spinning in between (a few microseconds in
/// all), before it sleeps or, after a busy stretch, yields. (Under loom every check is a branch
/// point, so the model goes straight to the sleep protocol, which is what it verifies.)
const SPIN_ROUNDS: u32 = if cfg!(corepool_loom) { 0 } else { 32 };
/// How many more checks a worker makes, yielding its time slice before each, when it ran at
/// least [`BUSY_STREAK`] jobs since its previous idle spell.
///
/// A worker in a stream of short tasks (a submitter flooding the pool) that finds the queue
/// empty for a moment is usually waiting for a thread it shares a core with: yielding lets that
/// thread run while this worker still counts as searching, so the submitter does not pay a
/// futex wake-up per refill, and far fewer parks happen. A worker woken for a lone task never
/// yields: on a crowded machine a yielded searcher can stay off-CPU for a whole time slice
/// while publishers, seeing it searching, wake nobody.
const YIELD_ROUNDS: u32 = if cfg!(corepool_loom) { 0 } else { 8 };
/// How many times a quiet worker (a graceful shutdown with only futures left) yields while it
/// waits for the next woken future, before it goes idle like any other worker.
pub(super) const QUIET_YIELDS: u32 = 64;
/// How many executions deep (caller-runs inside caller-runs, a wait's help) a spawn over the
/// local bound still runs inline; deeper, it is queued past the bound (see
/// [`WorkerThread::push_or_run`]). Each level holds a job's frames on the worker's stack.
const MAX_INLINE_DEPTH: u32 = 32;
/// Jobs run since the previous idle spell from which a worker counts as busy (see
/// [`YIELD_ROUNDS`]).
const BUSY_STREAK: u32 = 16;

#[cfg(not(corepool_loom))]
crate::sync::thread_local! {
    static CURRENT: Cell<*const WorkerThread> = const { Cell::new(ptr::null()) };
}
#[cfg(corepool_loom)]
crate::sync::thread_local! {
    static CURRENT: Cell<*const WorkerThread> = Cell::new(ptr::null());
}

/// Which thread a call aimed at one pool is made on. Every path that acts differently on a
/// worker (submit, install, scope, join, a future's wake, the metrics' per-worker counts) asks
/// [`Caller::of`] once and matches on the answer, so the rule for each kind of thread is
/// written in one `match` and the thread-local is read once per call.
#[derive(Clone, Copy)]
pub(crate) enum Caller<'w> {
    /// One of the target pool's own workers: it may use its deque, and never blocks.
    Own(&'w WorkerThread),
    /// A worker of another pool: it may wait, but keeps executing its own pool's work.
    OtherPool(&'w WorkerThread),
    /// Not a worker of any pool: it goes through the target's injection queues and may block.
    Outside,
}

impl<'w> Caller<'w> {
    /// The calling thread, as seen by `registry`'s pool.
    #[inline]
    pub(crate) fn of(registry: &Registry) -> Caller<'w> {
        match WorkerThread::current() {
            Some(worker) if ptr::eq(Arc::as_ptr(&worker.registry), registry) => Caller::Own(worker),
            Some(worker) => Caller::OtherPool(worker),
            None => Caller::Outside,
        }
    }

    /// The calling worker, if it is one of the target pool's own.
    #[inline]
    pub(crate) fn own(self) -> Option<&'w WorkerThread> {
        match self {
            Caller::Own(worker) => Some(worker),
            _ => None,
        }
    }
}

/// What a worker saw of a peer's LIFO slot: its fill count when first seen full, and when.
pub(super) type SlotSeen = Cell<(u64, Option<Instant>)>;

/// The state of one worker, living on its thread's stack for the thread's whole life.
pub(crate) struct WorkerThread {
    pub(super) deque: Worker<JobRef>,
    pub(crate) index: usize,
    pub(crate) registry: Arc<Registry>,
    pub(super) rng: Cell<u64>,
    /// Picks left before the shared sources are due (counts down from [`FAIRNESS_INTERVAL`]).
    pub(super) picks_left: Cell<u32>,
    /// The oldest job of the own deque is due at the next pick (the shared sources had one).
    pub(super) oldest_due: Cell<bool>,
    /// Counted as quiet in the registry: during termination, the last job this worker took
    /// came from the wake queue (`shutdown.rs`, "Futures under a graceful shutdown").
    pub(super) quiet: Cell<bool>,
    pub(super) high_streak: Cell<u32>,
    /// The join frames this worker is inside, and how many of them are published (`join`).
    pub(super) frames: FrameChain,
    /// Jobs run since this worker's previous idle spell (saturating), for [`YIELD_ROUNDS`].
    pub(super) ran_since_idle: Cell<u32>,
    /// A job handed to this worker to run right after the current one (a task group passing
    /// a finished task's slot on): taken by `execute`'s loop, or by `find_work`.
    pub(super) handed: Cell<Option<JobRef>>,
    /// How many `execute` calls are active on this thread: a job is handed only inside the
    /// top-level one (from the main loop), which takes it as soon as the current job returns.
    pub(super) executing: Cell<u32>,
    /// Per peer: the fill count its LIFO slot had when this worker first saw it full, and
    /// when (`lifo.rs`: a peer takes a slot that held the same job for the patience).
    pub(super) slots_seen: Box<[SlotSeen]>,
}

impl WorkerThread {
    /// The worker running on this thread, if any.
    #[inline]
    pub(crate) fn current<'a>() -> Option<&'a WorkerThread> {
        let ptr = CURRENT.with(Cell::get);
        // SAFETY: the pointer is set by `run` to a `WorkerThread` on this thread's stack and
        // cleared before that frame is left; callers use the reference only on this thread and
        // within that time (it is never stored).
        unsafe { ptr.as_ref() }
    }

    /// The body of a worker thread.
    pub(crate) fn run(
        registry: Arc<Registry>,
        index: usize,
        deque: Worker<JobRef>,
        started: impl FnOnce(),
    ) {
        let threads = registry.num_threads();
        let worker = WorkerThread {
            deque,
            index,
            registry,
            rng: Cell::new(0x9E37_79B9_7F4A_7C15 ^ ((index as u64 + 1) << 17)),
            picks_left: Cell::new(FAIRNESS_INTERVAL),
            oldest_due: Cell::new(false),
            quiet: Cell::new(false),
            high_streak: Cell::new(0),
            frames: FrameChain::new(),
            ran_since_idle: Cell::new(0),
            handed: Cell::new(None),
            executing: Cell::new(0),
            slots_seen: (0..threads).map(|_| Cell::new((0, None))).collect(),
        };
        CURRENT.with(|c| c.set(&worker));
        // A worker is born asleep in its main loop's idle (`Sleep::new_asleep`; the registry
        // counts it in `main_idle`): it starts its statistics idle, and its first act after its
        // start hook is the end of a sleep.
        worker.registry.stats.idle(index);
        worker.registry.on_thread_start(index);
        started();
        let stats = &*worker.registry.stats.workers[index];
        if worker
            .registry
            .sleep
            .wait_born(index, || stats.parks.bump())
        {
            stats.unparks.bump();
        }
        crate::sched::credit::in_main_loop();
        let first = worker.leave_idle(&|| worker.main_drained(), true);
        if let Some(job) = first {
            worker.execute(job);
        }
        worker.main_loop();
        // The worker has left the pool: from `on_thread_stop` the pool is reached as from any
        // other thread (a spawn is refused by the closed queue, not stranded in this deque).
        CURRENT.with(|c| c.set(ptr::null()));
        worker.registry.on_thread_stop(index);
        worker.registry.cpu_thread_finished();
    }

    fn main_loop(&self) {
        loop {
            if let Some(job) = self.find_work() {
                self.execute(job);
                continue;
            }
            // Exit only once the pool is drained: every worker idle in its main loop at the same
            // time with no work anywhere. A worker that merely ran out of work keeps serving
            // peers whose running tasks may still spawn children.
            if self.may_exit() {
                return self.exit_main_loop();
            }
            match self.idle_main() {
                Some(job) => self.execute(job),
                // The idle ended without a job: it searched already (or the pool is drained),
                // so the exit rule comes before another search.
                None if self.may_exit() => return self.exit_main_loop(),
                None => {}
            }
        }
    }

    /// The exit rule of the main loop (see `shutdown.rs`).
    fn may_exit(&self) -> bool {
        let registry = &*self.registry;
        registry.terminating() && registry.is_drained() && !registry.has_visible_work()
    }

    /// Leaves the main loop for good.
    fn exit_main_loop(&self) {
        let registry = &*self.registry;
        crate::sched::credit::fold(registry);
        // The last `idle` reopened the busy period: close it, or an exited worker would
        // count as active and busy for ever.
        registry.stats.idle(self.index);
        registry.inboxes[self.index].owner_idle();
        registry.sleep.wake_all();
        registry.cpu_worker_exiting();
    }

    /// Executes a job found in this pool's queues, then any job handed to this worker while
    /// it ran (see [`hand_next`](Self::hand_next)).
    #[inline]
    pub(crate) fn execute(&self, mut job: JobRef) {
        let registry = &*self.registry;
        self.executing.set(self.executing.get() + 1);
        loop {
            let mode = if registry.cancelling() {
                Mode::Cancel
            } else {
                Mode::RunOn(self.index)
            };
            crate::sched::credit::before_job(&job, registry);
            // SAFETY: every `JobRef` in this pool's queues (or handed to this worker) is live
            // and unexecuted, and was removed from its queue by the caller (or taken out of
            // `handed`), so it is executed exactly once.
            let outcome = unsafe { job.execute(mode, registry) };
            registry.record_outcome(outcome, Executor::Cpu(self.index));
            self.ran_since_idle
                .set(self.ran_since_idle.get().saturating_add(1));
            if let Some(next) = self.handed.take() {
                // A handed job is a pick too: when the shared sources are due, it waits in the
                // deque and the main loop's `find_work` looks at them first. So does a task in
                // the slot: between jobs the slot is empty (`lifo.rs`).
                if self.fairness_due() {
                    self.picks_left.set(0);
                    if let Some(spawned) = self.own_slot().take_own() {
                        self.push(spawned);
                    }
                    self.push(next);
                    break;
                }
                job = next;
                continue;
            }
            // The slot belongs to the top-level job (only it fills it): a nested `execute`
            // (caller-runs, a wait's help) leaves it to that job's end or its wait.
            if self.executing.get() != 1 {
                break;
            }
            match self.own_slot().take_own() {
                // A pick too. When the shared sources (or the oldest local job) are due, that
                // job runs first and the slot's job goes back in the slot, still this worker's
                // next: not to the deque, where a peer woken by the push would take it and a
                // chain of tasks would move between cores every fairness interval.
                Some(next) if self.fairness_due() => match self.fair_pick() {
                    Some(first) => {
                        self.own_slot().fill(next);
                        self.registry.sleep.notify_slot_filled();
                        job = first;
                    }
                    None => job = next,
                },
                Some(next) => job = next,
                None => break,
            }
        }
        self.executing.set(self.executing.get() - 1);
    }

    /// Has this worker run `job` right after the job it is executing, without a trip through
    /// its deque: for a task group's slot hand-off at the end of a task, where the next task
    /// would be pushed and popped straight back anyway. Only in the worker's top-level
    /// `execute` (called from its main loop): a job finishing inside a nested one (a join's or
    /// `wait`'s help, caller-runs) has a task beneath it that may be waiting, and a handed job
    /// cannot be stolen, so it could wait for ever. Hands the job back otherwise, or if a job
    /// is already handed. Not for jobs handed mid-task, for the same reason.
    pub(crate) fn hand_next(&self, job: JobRef) -> Result<(), JobRef> {
        if self.executing.get() != 1 || self.handed.get().is_some() {
            return Err(job);
        }
        self.handed.set(Some(job));
        Ok(())
    }

    /// Moves a job handed to this worker (see [`hand_next`](Self::hand_next)), and the job in
    /// its LIFO slot, to its deque, where a peer can take them: for when user code that may
    /// block runs before the current job returns.
    #[cold]
    pub(crate) fn release_handed(&self) {
        if let Some(job) = self.handed.take() {
            self.push(job);
        }
        if let Some(job) = self.own_slot().take_own() {
            self.push(job);
        }
    }

    /// This worker's LIFO slot (`lifo.rs`).
    #[inline(always)]
    pub(super) fn own_slot(&self) -> &LifoSlot {
        &self.registry.lifo[self.index]
    }

    /// A task spawned (detached, Normal lane) by the job this worker executes: into the LIFO
    /// slot when that job runs from the main loop and the slot is free, so the task runs next
    /// here without waking a peer (see `lifo.rs`). A second spawn is parallel work: it goes to
    /// the deque, which wakes a peer as any push does, and costs no more than before the slot.
    /// Inside a nested `execute` (a wait's help, caller-runs) the task beneath may wait for a
    /// while, so the spawn is a plain push.
    pub(crate) fn push_spawned(&self, job: JobRef) {
        // A quiet worker (a graceful shutdown polling futures) must not hold a closure where the
        // futures' drain rule cannot see it (`has_closure_work` reads the queues and deques).
        if self.executing.get() != 1 || self.quiet.get() {
            return self.push_or_run(job);
        }
        let slot = self.own_slot();
        // Not empty: full, or a thief still reading a stolen job out of it (then the spawn goes
        // to the deque rather than wait for the thief, which may be off its core).
        let full = !slot.is_empty();
        // The slot counts as one of the local jobs that `local_queue_limit` bounds: the spawn
        // that would exceed it runs inline, as in `push_or_run`.
        if self.deque.len() + usize::from(full) >= self.registry.local_queue_limit {
            return self.run_inline(job);
        }
        if full {
            self.push(job);
        } else {
            slot.fill(job);
            self.registry.sleep.notify_slot_filled();
        }
    }

    /// This worker's chain of pending join frames (only `join` touches it).
    #[inline(always)]
    pub(crate) fn frames(&self) -> &FrameChain {
        &self.frames
    }

    /// Whether this worker's own deque is empty: it offers thieves nothing.
    #[inline]
    pub(crate) fn deque_is_empty(&self) -> bool {
        self.deque.is_empty()
    }

    /// One step of waiting for something other than a latch (room in a full queue, a free
    /// group slot): runs one job this worker can find, or yields if there is none, so the
    /// waiting worker never stalls its own pool, and pools feeding each other cannot wedge.
    pub(crate) fn help_once(&self) {
        match self.find_work() {
            Some(job) => self.execute(job),
            None => thread::yield_now(),
        }
    }

    /// Pushes into a queue that may be full (`try_push` never blocks), helping while it is:
    /// gives up with `Full` only once `wait`'s deadline passed.
    pub(crate) fn push_helping(
        &self,
        mut job: JobRef,
        wait: Wait,
        try_push: impl Fn(JobRef) -> Result<(), PushError>,
    ) -> Result<(), PushError> {
        loop {
            match try_push(job) {
                Err(PushError::Full(back)) => {
                    if let Wait::Until(deadline) = wait {
                        if Instant::now() >= deadline {
                            return Err(PushError::Full(back));
                        }
                    }
                    job = back;
                    self.help_once();
                }
                done => return done,
            }
        }
    }

    /// Pushes a job onto this worker's own deque and tells a sleeper about it.
    #[inline]
    pub(crate) fn push(&self, job: JobRef) {
        self.deque.push(job);
        self.registry.sleep.notify_new_work();
    }

    /// Pushes a spawned job, or runs it right here if this worker's deque is over its bound
    /// (caller-runs): spawning from a worker never blocks, and memory stays bounded. Except
    /// [`MAX_INLINE_DEPTH`] executions deep: a tree of tasks that each spawn children would
    /// otherwise run depth-first inline, one stack frame set per level, until the thread's
    /// stack overflowed and aborted the process; there the job is queued past the bound.
    pub(crate) fn push_or_run(&self, job: JobRef) {
        if self.deque.len() >= self.registry.local_queue_limit {
            self.run_inline(job);
        } else {
            self.push(job);
        }
    }

    /// Whether a spawn over the local bound may run inline: not past [`MAX_INLINE_DEPTH`]
    /// nested executions.
    #[inline]
    fn may_run_inline(&self) -> bool {
        self.executing.get() < MAX_INLINE_DEPTH
    }

    /// Whether this worker's own deque is below its bound. Only the owner pushes to it, so a
    /// push right after a `true` keeps the bound. A woken future task goes to the deque only
    /// then, else to the pool's wake queue: a wake never blocks and never polls inline (it may
    /// come from inside another poll, or from a `Drop`), and it must not grow the deque past
    /// the bound that spawns keep.
    #[inline]
    pub(crate) fn has_room(&self) -> bool {
        self.deque.len() < self.registry.local_queue_limit
    }

    /// Runs a spawned job right here (caller-runs), counted as such; past
    /// [`MAX_INLINE_DEPTH`] it is queued on this worker's deque instead, past the local bound
    /// and, for a job of another lane (High, an inbox), outside its lane (see
    /// [`push_or_run`](Self::push_or_run)).
    pub(crate) fn run_inline(&self, job: JobRef) {
        if !self.may_run_inline() {
            return self.push(job);
        }
        self.registry.stats.workers[self.index].caller_runs.bump();
        self.execute(job);
    }

    /// Pops the newest job of this worker's own deque.
    #[inline]
    pub(crate) fn pop(&self) -> Option<JobRef> {
        self.deque.pop()
    }

    /// This worker's newest local job: its LIFO slot's, else its deque's newest.
    pub(crate) fn pop_local(&self) -> Option<JobRef> {
        self.own_slot().take_own().or_else(|| self.deque.pop())
    }

    /// Keeps executing other jobs until `done` holds.
    pub(crate) fn wait_until(&self, done: &dyn Fn() -> bool) {
        while !done() {
            if let Some(job) = self.find_work().or_else(|| self.idle(done, false)) {
                self.execute(job);
            }
        }
    }

    /// The main loop's idle: counted in the registry's main-idle count, and done once the
    /// pool is shutting down and drained. Returns a job found on the way out, as `idle`.
    fn idle_main(&self) -> Option<JobRef> {
        self.idle(&|| self.main_drained(), true)
    }

    /// The main loop's idle is done: the pool is shutting down and drained.
    fn main_drained(&self) -> bool {
        let registry = &*self.registry;
        registry.terminating() && registry.check_drained()
    }

    /// Searches briefly for work, then sleeps until there is some or `done` holds.
    ///
    /// Returns a job taken while this worker still counted as searching, for the caller to
    /// execute. Taking it *before* `stop_searching` matters: the last searcher then wakes a
    /// peer only for work beyond the job it took itself (tokio's "last searcher to find work
    /// wakes one more"), instead of waking a peer for its own job on every wake-up and paying
    /// that wake before it runs the job.
    ///
    /// A worker that was idle before (it ran fewer than [`BUSY_STREAK`] jobs since) spins only
    /// while fewer than half the workers search: one that becomes a searcher when half already
    /// are goes straight to the sleep protocol, so idle peers do not burn each other's cores. A
    /// worker coming off a busy stretch spins, then yields a few times (see [`YIELD_ROUNDS`]),
    /// whatever the others do: in a stream of tasks its next job is usually a moment away.
    /// `main`: the worker idles in its main loop (counted in the registry's main-idle count,
    /// which must not include a worker holding a job).
    fn idle(&self, done: &dyn Fn() -> bool, main: bool) -> Option<JobRef> {
        let registry = &*self.registry;
        let sleep = &registry.sleep;
        crate::sched::credit::fold(registry);
        registry.stats.idle(self.index);
        registry.inboxes[self.index].owner_idle();
        if main {
            registry.main_idle_enter();
        }
        let searchers = sleep.start_searching();
        let busy = self.ran_since_idle.replace(0) >= BUSY_STREAK;
        let may_spin = busy || searchers * 2 < registry.num_threads().max(2);
        let found = may_spin && self.poll_for_work(done, busy);
        if !found {
            // A park is counted when it begins and an unpark when it ends, so a worker asleep
            // right now shows one more park than unparks.
            let stats = &*registry.stats.workers[self.index];
            let slept = sleep.sleep(
                self.index,
                || done() || registry.has_work_for_sleeper(self.index),
                || {
                    let inbox = registry.next_inbox_opening(self.index);
                    let slot = self.next_slot_staleness();
                    inbox.into_iter().chain(slot).min()
                },
                || stats.parks.bump(),
            );
            if slept {
                stats.unparks.bump();
            }
        }
        self.leave_idle(done, main)
    }

    /// The end of [`idle`](Self::idle), after the spin or the sleep: the worker counts as
    /// searching (and, if `main`, as idle in its main loop). Takes a job unless `done` holds,
    /// then stops searching and idling.
    fn leave_idle(&self, done: &dyn Fn() -> bool, main: bool) -> Option<JobRef> {
        let registry = &*self.registry;
        let sleep = &registry.sleep;
        let finished = done();
        if main {
            registry.main_idle_exit();
        }
        let job = if finished { None } else { self.find_work() };
        // Busy before it stops searching: a peer that re-checks after this sees the stamp and
        // sets its wake-up for this worker's inbox, and if this is the last searcher, its own
        // inbox left non-empty counts as work, so a sleeping peer is woken to watch it
        // (`lanes.rs`).
        registry.inboxes[self.index].owner_busy();
        sleep.stop_searching(|| registry.has_work_for(self.index));
        if job.is_some() {
            // Off to run a job, not to sleep: a peer's full slot this worker was counted on to
            // watch gets another watcher (`Sleep::pass_watch`).
            sleep.pass_watch(|| registry.any_peer_slot_full(self.index));
        }
        registry.stats.busy(self.index);
        job
    }

    /// The spin before sleeping: checks for work or `done` [`SPIN_ROUNDS`] times with growing
    /// pauses, then, after a busy stretch, [`YIELD_ROUNDS`] more times, yielding before each.
    /// Returns whether it saw either (plain loads: the sleep protocol makes the real re-check).
    fn poll_for_work(&self, done: &dyn Fn() -> bool, busy: bool) -> bool {
        let rounds = SPIN_ROUNDS + if busy { YIELD_ROUNDS } else { 0 };
        for round in 0..rounds {
            if done() || self.registry.has_work_for_hint(self.index) {
                return true;
            }
            if round < SPIN_ROUNDS {
                for _ in 0..(1 << (round / 8).min(4)) {
                    spin_hint();
                }
            } else {
                thread::yield_now();
            }
        }
        false
    }

    /// A waker that wakes this worker (for waiting on a task handle).
    pub(crate) fn waker(&self) -> Waker {
        Waker::from(Arc::new(WorkerWaker {
            registry: Arc::clone(&self.registry),
            index: self.index,
        }))
    }
}

struct WorkerWaker {
    registry: Arc<Registry>,
    index: usize,
}

impl Wake for WorkerWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.registry.sleep.wake_worker(self.index);
    }
}
