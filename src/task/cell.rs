//! Detached tasks and their `JoinHandle`: one allocation holding the state word, the waker
//! slot, the closure and the output.
//!
//! Invariants (the state machine):
//! - The closure is owned by whoever moves the state out of "idle" first: the executor (sets
//!   RUNNING) or a canceller (sets CANCELLED). The loser never touches it.
//! - The output is written once, before COMPLETE is set, and read once, by the handle, after it
//!   observed COMPLETE; or, if the handle was already gone (DETACHED), a panic payload is taken
//!   back by the executor and sent to the panic handler.
//! - A panic nobody reads reaches the panic handler exactly once: DETACHED and COMPLETE are
//!   set with RMWs on the same word, so whichever comes second sees the other. The executor
//!   reports it if DETACHED came first; otherwise the dropped handle does, with the panic sink
//!   the executor stored (before COMPLETE) beside the payload.
//! - COMPLETE/CANCELLED and WAITING are set with `fetch_or` on the same word, so exactly one of
//!   "the finisher sees WAITING and wakes the registered waker" and "the registrant sees the
//!   task done" happens: no lost wake-up.
//! - A cancel through the handle is counted in its pool's metrics before `cancel()` returns
//!   (counts are exact). The canceller claims CANCELLED together with CANCEL_BY_HANDLE, counts,
//!   then sets CANCEL_COUNTED. The pool is alive for the count: a queued job's pool lives until
//!   the job is executed, and an executor that finds CANCEL_BY_HANDLE waits for CANCEL_COUNTED
//!   before it lets the job go (a few instructions of the canceller's, no user code), so the
//!   pool cannot be freed under the count. Such a job then executes as `Outcome::Nothing`
//!   (already counted). A group's task counts in the pool only once it holds a slot (before
//!   that it is in the group's queue, not the pool's).
//! - A task's hook (a task group's accounting) is told exactly once that the closure is gone:
//!   by the executor after it ran, or by the canceller after it dropped it unrun, with the
//!   state word as its CANCELLED claim found it. A group sets its bits with `fetch_or` and
//!   backs off if that found CANCELLED, so the two agree on which came first.

use crate::error::{JoinError, SpawnError};
use crate::metrics::Submit;
use crate::sched::injection::PushError;
use crate::sched::job::{Job, JobRef, Mode, Outcome};
use crate::sched::registry::Registry;
use crate::sched::unwind::{self, wake_user, PanicSink, Payload};
use crate::sched::worker::WorkerThread;
use crate::sync::{spin_hint, thread, Mutex, UnsafeCell};
use crate::task::handle::JoinHandle;
use crate::task::state::{Claim, Initial, Snapshot, TaskState};
use std::sync::Arc;
use std::task::Waker;

/// How a task's closure went: what its hook is told.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ClosureGone {
    /// It ran (`panicked` if it did), on this pool worker if known.
    Ran {
        worker: Option<usize>,
        panicked: bool,
    },
    /// A cancel dropped it unrun; the task's state word as the cancel's claim found it.
    Dropped { state: Snapshot },
}

/// Told once that a task's closure is gone, so that whatever the task held is given back.
pub(crate) trait TaskHook: Send + Sync + 'static {
    /// The closure is gone, as `how` says.
    fn closure_gone(&self, how: ClosureGone);
}

/// The hook of a plain task: nothing to give back.
impl TaskHook for () {
    #[inline]
    fn closure_gone(&self, _how: ClosureGone) {}
}

/// The part of a task its handle shares: the state word, the waker slot and the output.
pub(crate) struct Completion<T> {
    pub(crate) state: TaskState,
    /// Submit time in the pool's metrics clock if this task is sampled for latency (else 0),
    /// and where a cancel through the handle is counted.
    submitted: Submit,
    waker: Mutex<Option<Waker>>,
    output: UnsafeCell<Option<Result<T, Payload>>>,
    /// Where the handle reports a panic it drops unread; set with a panic output, same rules.
    sink: UnsafeCell<Option<PanicSink>>,
}

// SAFETY: `output` and `sink` are written only by the thread that owns RUNNING, before
// COMPLETE, and read or taken only by the single handle after it observed COMPLETE (in `join`,
// `poll`, or the late `detach`), or by the executor when DETACHED was set first.
unsafe impl<T: Send> Sync for Completion<T> {}

impl<T> Completion<T> {
    pub(crate) fn new(initial: Initial, submitted: Submit) -> Self {
        Completion {
            state: TaskState::new(initial),
            submitted,
            waker: Mutex::new(None),
            output: UnsafeCell::new(None),
            sink: UnsafeCell::new(None),
        }
    }

    /// The registered waiter's waker, if the word before a finishing transition (`prev`)
    /// had WAITING set; for the caller to wake once it holds no lock (user code: see
    /// [`wake_user`]).
    #[must_use = "the returned waker must be woken"]
    pub(crate) fn waiter(&self, prev: Snapshot) -> Option<Waker> {
        if prev.is_waiting() {
            self.waker.lock().take()
        } else {
            None
        }
    }

    /// Stores the output and completes. What is left to do runs user code (an output nobody
    /// will read is dropped, the waiter's waker is woken): the returned [`Settle`], which the
    /// caller runs when the task's accounting is done.
    ///
    /// `sink` is called only for a panic: the handle reports the payload there if it is
    /// dropped after this without reading it.
    /// `complete` is the state transition (a closure's or a future's).
    pub(crate) fn complete(
        &self,
        output: Result<T, Payload>,
        complete: impl FnOnce(&TaskState) -> Snapshot,
        sink: impl FnOnce() -> PanicSink,
    ) -> Settle<T> {
        let panicked = output.is_err();
        if panicked {
            let sink = sink();
            self.sink.with_mut(|s| {
                // SAFETY: as for the output below: written by the RUNNING owner before
                // COMPLETE, read only by the handle after it observed COMPLETE.
                unsafe { *s = Some(sink) }
            });
        }
        self.output.with_mut(|o| {
            // SAFETY: the caller owns RUNNING; nobody reads the output before COMPLETE.
            unsafe { *o = Some(output) }
        });
        let prev = complete(&self.state);
        let waker = self.waiter(prev);
        // The handle is gone (DETACHED came before COMPLETE): nobody else will take the output,
        // so it is dropped here, inside a boundary, and not with the task's last reference.
        let unread = if prev.is_detached() {
            self.output.with_mut(|o| {
                // SAFETY: the handle is gone, so the output is ours alone.
                unsafe { (*o).take() }
            })
        } else {
            None
        };
        Settle { unread, waker }
    }

    pub(crate) fn state(&self) -> Snapshot {
        self.state.load()
    }

    pub(crate) fn take_output(&self) -> Option<Result<T, JoinError>> {
        let state = self.state.load();
        if state.is_cancelled() {
            return Some(Err(JoinError::cancelled()));
        }
        if !state.is_complete() {
            return None;
        }
        let output = self.output.with_mut(|o| {
            // SAFETY: COMPLETE was observed (SeqCst, so the executor's write is visible) and
            // only the single handle reads the output.
            unsafe { (*o).take() }
        });
        let output = output.expect("JoinHandle output taken twice");
        Some(output.map_err(JoinError::panic))
    }

    /// Registers `waker`; returns `true` if the task is already done (no wake will come).
    ///
    /// The waker's `clone` and the old waker's `drop` are user code: they run on the caller's
    /// thread (the poller's), and never while the slot's lock is held.
    pub(crate) fn register(&self, waker: &Waker) -> bool {
        let same = matches!(&*self.waker.lock(), Some(existing) if existing.will_wake(waker));
        if !same {
            let new = waker.clone();
            // Only the single handle registers, so nothing changed the slot meanwhile.
            let old = self.waker.lock().replace(new);
            drop(old);
        }
        self.state.register_waiting()
    }

    /// The handle lets go. If the task already completed, the output is the handle's to dispose
    /// of: a value is dropped here, on the dropping thread (its `Drop` is the caller's code, as
    /// dropping the handle is); a panic nobody read goes to the panic sink.
    pub(crate) fn detach(&self) {
        if !self.state.detach().is_complete() {
            return;
        }
        // COMPLETE was observed by this RMW (SeqCst), so the executor's writes before it are
        // visible, and the output and sink are the handle's alone now.
        let output = self.output.with_mut(|o| {
            // SAFETY: see above.
            unsafe { (*o).take() }
        });
        match output {
            Some(Err(payload)) => {
                let sink = self.sink.with_mut(|s| {
                    // SAFETY: see above.
                    unsafe { (*s).take() }
                });
                sink.unwrap_or_else(PanicSink::none).report(payload);
            }
            Some(Ok(value)) => drop(value),
            None => {}
        }
    }
}

/// What is left after a task completed: user code, run by [`Settle::run`] outside every lock
/// and inside catch boundaries.
#[must_use = "a completed task's waker must be woken"]
pub(crate) struct Settle<T> {
    /// The output, when no handle will read it.
    unread: Option<Result<T, Payload>>,
    /// The waiter to wake.
    waker: Option<Waker>,
}

impl<T> Settle<T> {
    /// The output of a task nobody can observe any more: disposed of by [`run`](Self::run).
    fn unread(output: Result<T, Payload>) -> Self {
        Settle {
            unread: Some(output),
            waker: None,
        }
    }

    /// Whether running it runs user code.
    pub(crate) fn runs_user_code(&self) -> bool {
        self.waker.is_some()
            || matches!(self.unread, Some(Err(_)))
            || (self.unread.is_some() && std::mem::needs_drop::<T>())
    }

    /// Wakes the waiter and disposes of an output nobody reads: a panic payload goes to the
    /// panic handler, a value is dropped; a panic in the waker or the drop goes to the handler.
    pub(crate) fn run(self, registry: &Registry) {
        if let Some(waker) = self.waker {
            wake_user(waker, |payload| {
                registry.report_panic("a task's waker", payload)
            });
        }
        match self.unread {
            Some(Err(payload)) => registry.report_detached_panic(payload),
            Some(Ok(value)) => unwind::guarded(
                move || drop(value),
                |payload| registry.report_panic("dropping a task's unread result", payload),
            ),
            None => {}
        }
    }
}

/// The face of a task its handle sees, independent of the closure or future type.
pub(crate) trait TaskOutput<T>: Send + Sync {
    fn completion(&self) -> &Completion<T>;
    /// Cancels the task if it has not started; true if it will never run.
    fn cancel(&self) -> bool;
}

struct TaskCell<F, T, H = ()> {
    completion: Completion<T>,
    func: UnsafeCell<Option<F>>,
    hook: H,
}

// SAFETY: `func` is accessed only by the thread that won the claim (module invariants); the
// hook is `Sync` itself.
unsafe impl<F: Send, T: Send, H: TaskHook> Sync for TaskCell<F, T, H> {}

impl<F, T, H> TaskCell<F, T, H>
where
    F: FnOnce() -> T + Send,
    T: Send,
    H: TaskHook,
{
    fn take_func(&self) -> Option<F> {
        self.func.with_mut(|f| {
            // SAFETY: only the thread that won `claim` calls this (module invariant).
            unsafe { (*f).take() }
        })
    }

    /// Cancels the task if it has not started; true if this call cancelled it. `by_handle`:
    /// the handle's `cancel`, which counts the cancel in the pool before it returns.
    ///
    /// The closure's `Drop` and the waiter's waker run here, after the cancel is complete
    /// (state, hook, waiter): a panic from them goes to `on`'s panic handler on a pool thread,
    /// or is raised on the caller once the protocol is done (`Caller`).
    fn cancel_now(&self, on: PanicsTo<'_>, by_handle: bool) -> bool {
        // The hook is told the state this claim found: a group bit set after CANCELLED (by a
        // `fetch_or` that then saw CANCELLED) is not the hook's.
        let Claim::Won(prev) = self.completion.state.claim_cancel(by_handle) else {
            return false;
        };
        if by_handle {
            self.count_cancel_by_handle(prev);
        }
        let func = self.take_func();
        let dropped = unwind::catch(move || drop(func));
        self.hook.closure_gone(ClosureGone::Dropped { state: prev });
        let waker = self
            .completion
            .waiter(self.completion.state.settle_cancelled());
        let woken = waker.map_or(Ok(()), |waker| unwind::catch(move || waker.wake()));
        on.report("dropping a cancelled task's closure", dropped.err());
        on.report("a cancelled task's waker", woken.err());
        true
    }
}

/// Where a panic from user code that runs as part of a cancel goes.
#[derive(Clone, Copy)]
pub(crate) enum PanicsTo<'a> {
    /// A pool thread: the pool's panic handler.
    Pool(&'a Registry),
    /// The thread that asked for the cancel (a handle's `cancel`, a refused spawn): the panic
    /// is raised there, after the cancel completed.
    Caller,
}

impl PanicsTo<'_> {
    /// Reports `payload` (if any) as `what` panicking.
    pub(crate) fn report(self, what: &str, payload: Option<Payload>) {
        let Some(payload) = payload else { return };
        match self {
            PanicsTo::Pool(registry) => registry.report_panic(what, payload),
            PanicsTo::Caller => std::panic::resume_unwind(payload),
        }
    }
}

impl<F, T, H> TaskOutput<T> for TaskCell<F, T, H>
where
    F: FnOnce() -> T + Send,
    T: Send,
    H: TaskHook,
{
    fn completion(&self) -> &Completion<T> {
        &self.completion
    }

    fn cancel(&self) -> bool {
        self.cancel_now(PanicsTo::Caller, true) || self.completion.state().is_cancelled()
    }
}

impl<F, T, H> Job for TaskCell<F, T, H>
where
    F: FnOnce() -> T + Send,
    T: Send,
    H: TaskHook,
{
    unsafe fn execute(this: *const Self, mode: Mode, registry: &Registry) -> Outcome {
        // SAFETY: the `JobRef` owned one strong reference, made by `Arc::into_raw` in
        // `submit`; it is consumed here, exactly once.
        let cell = unsafe { Arc::from_raw(this) };
        if mode == Mode::Cancel {
            return if cell.cancel_now(PanicsTo::Pool(registry), false) {
                Outcome::Cancelled
            } else {
                cell.skipped()
            };
        }
        let Claim::Won(claimed) = cell.completion.state.claim_run() else {
            return cell.skipped();
        };
        // The handle was dropped before the task ran and no other reference (an
        // `AbortHandle`, a `JoinSet`) is left: nobody can read the output, wait, cancel or look
        // at the state any more (a new reference is only ever cloned from a live one, and the
        // job's is the last). The handle's half of completion (the output slot, the COMPLETE
        // transition, the waiter check) is then skipped; the output is disposed of here.
        let unobserved = claimed.is_detached() && Arc::strong_count(&cell) == 1;
        let func = cell.take_func().expect("a claimed task has its closure");
        let submitted = cell.completion.submitted.at;
        let started = start_time(registry, submitted);
        let output = unwind::catch(func);
        let worker = match mode {
            Mode::RunOn(index) => Some(index),
            _ => None,
        };
        cell.hook.closure_gone(ClosureGone::Ran {
            worker,
            panicked: output.is_err(),
        });
        let outcome = record_ran(registry, mode, submitted, started, output.is_err());
        let settle = if unobserved {
            Settle::unread(output)
        } else {
            cell.completion
                .complete(output, TaskState::complete, || registry.panic_sink())
        };
        if settle.runs_user_code() {
            // A task its hook handed to this worker to run next would wait behind that code,
            // which may block: it goes where a peer can take it.
            if let Some(worker) = WorkerThread::current() {
                worker.release_handed();
            }
            settle.run(registry);
        }
        // Nothing of the user's is left in the cell (the closure was taken, an unread output
        // was disposed of above, a read one belongs to the handle).
        drop(cell);
        outcome
    }
}

impl<F, T, H> TaskCell<F, T, H>
where
    F: FnOnce() -> T + Send,
    T: Send,
    H: TaskHook,
{
    /// Counts a cancel through the handle, claimed in state `prev`, in the pool's metrics, then
    /// lets an executor waiting in [`skipped`](Self::skipped) go.
    fn count_cancel_by_handle(&self, prev: Snapshot) {
        // A group's task is in the pool only once it holds a slot.
        if prev.in_pool() {
            // SAFETY: the claim found the task unstarted, so its job is still queued (its pool
            // alive until the job is executed), or an executor has it and waits in `skipped`
            // for CANCEL_COUNTED, set below, before it lets the job (and the pool) go.
            unsafe { self.completion.submitted.count_cancel_by_handle() };
        }
        self.completion.state.set_cancel_counted();
    }

    /// The outcome for an executor that found the task cancelled before it could claim it.
    /// A cancel through the handle counted it (module invariants): wait until that count has
    /// landed, which keeps the pool alive under it.
    #[cold]
    fn skipped(&self) -> Outcome {
        if !self.completion.state().cancelled_by_handle() {
            return Outcome::Skipped;
        }
        let mut spins = 0u32;
        while !self.completion.state.cancel_counted() {
            // The canceller is between two of its own atomic operations: give it the CPU if it
            // was preempted there.
            if spins < 16 {
                spin_hint();
                spins += 1;
            } else {
                thread::yield_now();
            }
        }
        Outcome::Nothing
    }
}

/// The start time of a task submitted at `submitted` (0: not sampled, no clock read).
#[inline(always)] // on every task's path, from two kinds of task
pub(crate) fn start_time(registry: &Registry, submitted: u64) -> u64 {
    if submitted != 0 {
        registry.stats.start_time()
    } else {
        0
    }
}

/// Counts a task that ran (submitted at `submitted`, started at `started`, both 0 if it was not
/// sampled) in its pool's metrics; its outcome.
#[inline(always)] // on every task's path, from two kinds of task
pub(crate) fn record_ran(
    registry: &Registry,
    mode: Mode,
    submitted: u64,
    started: u64,
    panicked: bool,
) -> Outcome {
    match mode {
        // The executing worker is known: count without a thread-local lookup.
        Mode::RunOn(index) => {
            if submitted != 0 {
                registry
                    .stats
                    .record_sampled(Some(index), submitted, started);
            }
            registry.stats.record_task_end_on(index, panicked);
        }
        _ => {
            if submitted != 0 {
                registry.record_sampled(submitted, started);
            }
            registry.record_task_end(panicked);
        }
    }
    if panicked {
        Outcome::Panicked
    } else {
        Outcome::Completed
    }
}

/// A task not yet handed to a queue, whatever its kind: it becomes a `JobRef`, or gives its
/// closure back.
pub(crate) trait Unsubmitted<F> {
    /// Hands the task to `push` as a job reference. If `push` refuses it, the reference is
    /// taken back and the closure returned inside the matching [`SpawnError`].
    fn submit(
        self,
        push: impl FnOnce(JobRef) -> Result<(), PushError>,
    ) -> Result<(), SpawnError<F>>;
}

/// The error for a closure whose job `push` refused as `refused` says.
pub(crate) fn refused<F>(refused: PushError, func: F) -> SpawnError<F> {
    match refused {
        PushError::Full(_) => SpawnError::Full(func),
        PushError::Closed(_) => SpawnError::Shutdown(func),
    }
}

/// Allocates a task for `func`: the job reference that runs it and the handle that awaits it.
pub(crate) fn new_task<F, T>(func: F, submitted: Submit) -> (UnsubmittedTask<F, T>, JoinHandle<T>)
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    new_hooked_task(func, submitted, (), Initial::Plain)
}

/// [`new_task`] for a task whose `hook` is told when its closure is gone, starting in `state`.
pub(crate) fn new_hooked_task<F, T, H>(
    func: F,
    submitted: Submit,
    hook: H,
    state: Initial,
) -> (UnsubmittedTask<F, T, H>, JoinHandle<T>)
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
    H: TaskHook,
{
    let cell = Arc::new(TaskCell {
        completion: Completion::new(state, submitted),
        func: UnsafeCell::new(Some(func)),
        hook,
    });
    let handle = JoinHandle::from_task(Arc::clone(&cell) as Arc<dyn TaskOutput<T>>);
    (UnsubmittedTask { cell }, handle)
}

/// A task not yet handed to a queue: it becomes a `JobRef`, or gives its closure back.
pub(crate) struct UnsubmittedTask<F, T, H = ()> {
    cell: Arc<TaskCell<F, T, H>>,
}

impl<F, T, H> UnsubmittedTask<F, T, H>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
    H: TaskHook,
{
    /// The task's state word, valid for as long as a reference to the task is held (its job
    /// reference, until executed).
    pub(crate) fn state_ptr(&self) -> *const TaskState {
        &self.cell.completion.state
    }

    /// The job reference for a task whose queue slot is already reserved.
    pub(crate) fn into_job_ref(self) -> JobRef {
        let raw = Arc::into_raw(self.cell);
        // SAFETY: the leaked reference keeps the cell alive until the job is executed.
        unsafe { JobRef::new(raw) }
    }

    /// Drops the closure unrun; the handle reports `Cancelled`. A panic from the closure's
    /// `Drop` goes as `on` says.
    pub(crate) fn cancel_unsubmitted(self, on: PanicsTo<'_>) {
        self.cell.cancel_now(on, false);
    }

    /// Hands the task to `push` as a job reference. If `push` refuses it, the reference is
    /// taken back and the closure returned inside the matching [`SpawnError`].
    #[inline]
    pub(crate) fn submit(
        self,
        push: impl FnOnce(JobRef) -> Result<(), PushError>,
    ) -> Result<(), SpawnError<F>> {
        let raw = Arc::into_raw(self.cell);
        // SAFETY: the strong reference leaked by `into_raw` keeps the cell alive until the job
        // is executed (which consumes it) or refused (reclaimed below).
        let job = unsafe { JobRef::new(raw) };
        let refused = match push(job) {
            Ok(()) => return Ok(()),
            Err(refused) => refused,
        };
        // SAFETY: the queue refused the job, so the reference leaked above is still ours.
        let cell = unsafe { Arc::from_raw(raw) };
        let claimed = cell.completion.state.claim_cancel(false);
        debug_assert!(
            matches!(claimed, Claim::Won(_)),
            "a refused task cannot have started"
        );
        let func = cell
            .take_func()
            .expect("a refused task still has its closure");
        Err(self::refused(refused, func))
    }
}

impl<F, T, H> Unsubmitted<F> for UnsubmittedTask<F, T, H>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
    H: TaskHook,
{
    #[inline(always)] // only a name for the inherent method
    fn submit(
        self,
        push: impl FnOnce(JobRef) -> Result<(), PushError>,
    ) -> Result<(), SpawnError<F>> {
        UnsubmittedTask::submit(self, push)
    }
}
