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
use crate::sync::atomic::{AtomicUsize, Ordering};
use crate::sync::{spin_hint, thread, Condvar, Mutex, UnsafeCell};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

pub(crate) const RUNNING: usize = 1 << 0;
pub(crate) const COMPLETE: usize = 1 << 1;
pub(crate) const CANCELLED: usize = 1 << 2;
pub(crate) const DETACHED: usize = 1 << 3;
pub(crate) const WAITING: usize = 1 << 4;
pub(crate) const DONE: usize = COMPLETE | CANCELLED;
/// Set by a task group before the task enters its queue (group.rs).
pub(crate) const GROUP_QUEUED: usize = 1 << 5;
/// Set by a task group when the task is given one of its slots (void if CANCELLED came first).
pub(crate) const GROUP_SLOTTED: usize = 1 << 6;
/// Set by a task group that takes the task out of its queue to cancel it (void if CANCELLED
/// came first).
pub(crate) const GROUP_DRAINED: usize = 1 << 7;
/// Set with CANCELLED by a cancel through the handle, which counts it in the pool's metrics.
const CANCEL_BY_HANDLE: usize = 1 << 8;
/// Set by that canceller once the count has landed (module invariants).
const CANCEL_COUNTED: usize = 1 << 9;

/// Sets `bit` in `state` unless one of `forbidden` is set; the state it was set in, or `None`.
#[inline]
fn set_unless(state: &AtomicUsize, bit: usize, forbidden: usize) -> Option<usize> {
    let mut current = state.load(Ordering::SeqCst);
    loop {
        if current & forbidden != 0 {
            return None;
        }
        match state.compare_exchange_weak(
            current,
            current | bit,
            Ordering::SeqCst,
            Ordering::SeqCst,
        ) {
            Ok(prev) => return Some(prev),
            Err(actual) => current = actual,
        }
    }
}

/// How a task's closure went: what its hook is told.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ClosureGone {
    /// It ran (`panicked` if it did), on this pool worker if known.
    Ran {
        worker: Option<usize>,
        panicked: bool,
    },
    /// A cancel dropped it unrun; the task's state word then.
    Dropped { state: usize },
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
    pub(crate) state: AtomicUsize,
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
    pub(crate) fn new(initial: usize, submitted: Submit) -> Self {
        Completion {
            state: AtomicUsize::new(initial),
            submitted,
            waker: Mutex::new(None),
            output: UnsafeCell::new(None),
            sink: UnsafeCell::new(None),
        }
    }

    /// Sets `bit` if none of `forbidden` is set; false if someone else got there first.
    pub(crate) fn claim(&self, bit: usize, forbidden: usize) -> bool {
        set_unless(&self.state, bit, forbidden).is_some()
    }

    /// Sets `set` (and clears `clear`); returns the prior state and the registered waiter's
    /// waker, for the caller to wake once it holds no lock (user code: see [`wake_user`]).
    #[must_use = "the returned waker must be woken"]
    pub(crate) fn finish(&self, set: usize, clear: usize) -> (usize, Option<Waker>) {
        let mut current = self.state.load(Ordering::SeqCst);
        let prev = loop {
            match self.state.compare_exchange_weak(
                current,
                (current | set) & !clear,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(prev) => break prev,
                Err(actual) => current = actual,
            }
        };
        let waker = if prev & WAITING != 0 {
            self.waker.lock().take()
        } else {
            None
        };
        (prev, waker)
    }

    /// Stores the output and completes. What is left to do runs user code (an output nobody
    /// will read is dropped, the waiter's waker is woken): the returned [`Settle`], which the
    /// caller runs when the task's accounting is done.
    ///
    /// `sink` is called only for a panic: the handle reports the payload there if it is
    /// dropped after this without reading it.
    pub(crate) fn complete(
        &self,
        output: Result<T, Payload>,
        clear: usize,
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
        let (prev, waker) = self.finish(COMPLETE, clear);
        // The handle is gone (DETACHED came before COMPLETE): nobody else will take the output,
        // so it is dropped here, inside a boundary, and not with the task's last reference.
        let unread = if prev & DETACHED != 0 {
            self.output.with_mut(|o| {
                // SAFETY: the handle is gone, so the output is ours alone.
                unsafe { (*o).take() }
            })
        } else {
            None
        };
        Settle { unread, waker }
    }

    pub(crate) fn state(&self) -> usize {
        self.state.load(Ordering::SeqCst)
    }

    fn take_output(&self) -> Option<Result<T, JoinError>> {
        let state = self.state.load(Ordering::SeqCst);
        if state & CANCELLED != 0 {
            return Some(Err(JoinError::cancelled()));
        }
        if state & COMPLETE == 0 {
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
    fn register(&self, waker: &Waker) -> bool {
        let same = matches!(&*self.waker.lock(), Some(existing) if existing.will_wake(waker));
        if !same {
            let new = waker.clone();
            // Only the single handle registers, so nothing changed the slot meanwhile.
            let old = self.waker.lock().replace(new);
            drop(old);
        }
        let prev = self.state.fetch_or(WAITING, Ordering::SeqCst);
        prev & DONE != 0
    }

    /// The handle lets go. If the task already completed, the output is the handle's to dispose
    /// of: a value is dropped here, on the dropping thread (its `Drop` is the caller's code, as
    /// dropping the handle is); a panic nobody read goes to the panic sink.
    fn detach(&self) {
        let prev = self.state.fetch_or(DETACHED, Ordering::SeqCst);
        if prev & COMPLETE == 0 {
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
    fn claim(&self, bit: usize) -> bool {
        self.completion.claim(bit, RUNNING | DONE)
    }

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
        let claim = CANCELLED | if by_handle { CANCEL_BY_HANDLE } else { 0 };
        let Some(prev) = set_unless(&self.completion.state, claim, RUNNING | DONE) else {
            return false;
        };
        if by_handle {
            self.count_cancel_by_handle(prev);
        }
        let func = self.take_func();
        let dropped = unwind::catch(move || drop(func));
        self.hook.closure_gone(ClosureGone::Dropped {
            state: prev | CANCELLED,
        });
        let (_, waker) = self.completion.finish(0, 0);
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
        self.cancel_now(PanicsTo::Caller, true) || self.completion.state() & CANCELLED != 0
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
        if !cell.claim(RUNNING) {
            return cell.skipped();
        }
        let func = cell.take_func().expect("a claimed task has its closure");
        let submitted = cell.completion.submitted.at;
        let started = if submitted != 0 {
            registry.stats.start_time()
        } else {
            0
        };
        let output = unwind::catch(func);
        let worker = match mode {
            Mode::RunOn(index) => Some(index),
            _ => None,
        };
        cell.hook.closure_gone(ClosureGone::Ran {
            worker,
            panicked: output.is_err(),
        });
        let outcome = if output.is_ok() {
            Outcome::Completed
        } else {
            Outcome::Panicked
        };
        match mode {
            // The executing worker is known: count without a thread-local lookup.
            Mode::RunOn(index) => {
                if submitted != 0 {
                    registry
                        .stats
                        .record_sampled(Some(index), submitted, started);
                }
                registry
                    .stats
                    .record_task_end_on(index, outcome == Outcome::Panicked);
            }
            _ => {
                if submitted != 0 {
                    registry.record_sampled(submitted, started);
                }
                registry.record_task_end(outcome == Outcome::Panicked);
            }
        }
        let settle = cell
            .completion
            .complete(output, 0, || registry.panic_sink());
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
    fn count_cancel_by_handle(&self, prev: usize) {
        // A group's task is in the pool only once it holds a slot.
        if prev & GROUP_QUEUED == 0 || prev & GROUP_SLOTTED != 0 {
            // SAFETY: the claim found the task unstarted, so its job is still queued (its pool
            // alive until the job is executed), or an executor has it and waits in `skipped`
            // for CANCEL_COUNTED, set below, before it lets the job (and the pool) go.
            unsafe { self.completion.submitted.count_cancel_by_handle() };
        }
        self.completion
            .state
            .fetch_or(CANCEL_COUNTED, Ordering::SeqCst);
    }

    /// The outcome for an executor that found the task cancelled before it could claim it.
    /// A cancel through the handle counted it (module invariants): wait until that count has
    /// landed, which keeps the pool alive under it.
    #[cold]
    fn skipped(&self) -> Outcome {
        if self.completion.state() & CANCEL_BY_HANDLE == 0 {
            return Outcome::Skipped;
        }
        let mut spins = 0u32;
        while self.completion.state() & CANCEL_COUNTED == 0 {
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

/// Allocates a task for `func`: the job reference that runs it and the handle that awaits it.
pub(crate) fn new_task<F, T>(func: F, submitted: Submit) -> (UnsubmittedTask<F, T>, JoinHandle<T>)
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    new_hooked_task(func, submitted, (), 0)
}

/// [`new_task`] for a task whose `hook` is told when its closure is gone, starting in `state`
/// (a hook's bits).
pub(crate) fn new_hooked_task<F, T, H>(
    func: F,
    submitted: Submit,
    hook: H,
    state: usize,
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
    let handle = JoinHandle {
        task: Arc::clone(&cell) as Arc<dyn TaskOutput<T>>,
    };
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
    pub(crate) fn state_ptr(&self) -> *const AtomicUsize {
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
        let claimed = cell.claim(CANCELLED);
        debug_assert!(claimed, "a refused task cannot have started");
        let func = cell
            .take_func()
            .expect("a refused task still has its closure");
        Err(match refused {
            PushError::Full(_) => SpawnError::Full(func),
            PushError::Closed(_) => SpawnError::Shutdown(func),
        })
    }
}

/// A handle to a spawned task: block on it with [`join`](JoinHandle::join) or `.await` it.
///
/// Dropping the handle detaches the task: it still runs and its result is dropped (on the worker
/// if the handle went first, inside a catch boundary; on the dropping thread if the task had
/// already finished, so a panicking `Drop` of the result is raised there). A panic the handle
/// never delivered (through `join`, `.await` or `join_all`) is sent to the pool's panic
/// handler exactly once: by the worker if the handle was already gone, or by the handle's drop
/// if the task had already panicked.
///
/// ```
/// let pool = corepool::Pool::builder().threads(2).build()?;
/// let handle = pool.spawn(|| 6 * 7);
/// assert_eq!(handle.join().unwrap(), 42);
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[must_use = "dropping a JoinHandle detaches the task; call .join() or .await to get its result"]
pub struct JoinHandle<T> {
    task: Arc<dyn TaskOutput<T>>,
}

impl<T> JoinHandle<T> {
    pub(crate) fn from_task(task: Arc<dyn TaskOutput<T>>) -> Self {
        JoinHandle { task }
    }

    /// Waits for the task and returns its value, or why there is none.
    ///
    /// On a worker thread the worker keeps executing other tasks while it waits, so joining a
    /// handle inside the pool cannot deadlock it, even with one thread.
    pub fn join(self) -> Result<T, JoinError> {
        if let Some(out) = self.task.completion().take_output() {
            return out;
        }
        match WorkerThread::current() {
            Some(worker) => {
                let waker = worker.waker();
                if !self.task.completion().register(&waker) {
                    worker.wait_until(&|| self.task.completion().state() & DONE != 0);
                }
            }
            None => {
                let parker = ThreadParker::current();
                let waker = Waker::from(Arc::clone(&parker));
                while !self.task.completion().register(&waker) {
                    parker.park();
                }
            }
        }
        self.task
            .completion()
            .take_output()
            .expect("task done after wait")
    }

    /// Whether the task has finished (ran to completion, panicked, or was cancelled).
    pub fn is_finished(&self) -> bool {
        self.task.completion().state() & DONE != 0
    }

    /// Cancels the task if it has not started. Returns `true` if it will never run (now or
    /// before); `false` if it is running or done. A cancelled task's closure is dropped at once
    /// and its handle reports [`JoinError::is_cancelled`].
    ///
    /// # Panics
    /// If the closure's `Drop` (or a waker registered on this handle) panics, the panic is
    /// raised here, on the caller, once the cancel is complete: the handle already reports
    /// `Cancelled` and the pool is not affected.
    pub fn cancel(&self) -> bool {
        self.task.cancel()
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        self.task.completion().detach();
    }
}

impl<T> std::fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(out) = self.task.completion().take_output() {
            return Poll::Ready(out);
        }
        if self.task.completion().register(cx.waker()) {
            return Poll::Ready(self.task.completion().take_output().expect("task done"));
        }
        Poll::Pending
    }
}

/// Blocks a thread outside the pool until a waker fires. The token is a boolean under a mutex,
/// so a wake before `park` is never lost.
pub(crate) struct ThreadParker {
    notified: Mutex<bool>,
    cond: Condvar,
}

impl ThreadParker {
    pub(crate) fn new() -> Self {
        ThreadParker {
            notified: Mutex::new(false),
            cond: Condvar::new(),
        }
    }

    pub(crate) fn current() -> Arc<ThreadParker> {
        crate::sync::thread_local! {
            static PARKER: Arc<ThreadParker> = Arc::new(ThreadParker::new());
        }
        PARKER.with(Arc::clone)
    }

    pub(crate) fn park(&self) {
        let mut notified = self.notified.lock();
        while !*notified {
            self.cond.wait(&mut notified);
        }
        *notified = false;
    }
}

impl Wake for ThreadParker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let mut notified = self.notified.lock();
        *notified = true;
        self.cond.notify_one();
    }
}
