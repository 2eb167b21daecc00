//! Futures on the CPU workers: `spawn_future` and the wake protocol.
//!
//! Invariants (the state word, every bit of it in `task/state.rs`):
//! - SCHEDULED is set by exactly one waker before the task's `JobRef` is queued, and cleared by
//!   the worker that takes it, as it sets RUNNING. So a task is in at most one queue at a time
//!   and is never polled by two threads at once.
//! - A wake while RUNNING sets NOTIFIED instead of queueing; when the poll returns `Pending`,
//!   the poller clears RUNNING and, if NOTIFIED was set, re-queues the task itself. A wake is
//!   never lost and never doubles a poll.
//! - A wake after COMPLETE or CANCELLED does nothing.
//! - Every live future task is in its pool's `futures` table until it completes or is
//!   cancelled; when the pool's last CPU worker exits it cancels every task still there (their
//!   handles report Cancelled), and closes the wake queue so a later wake cancels instead of
//!   queueing into a pool with no workers.

use crate::sched::injection::PushError;
use crate::sched::job::{Job, JobRef, Mode, Outcome};
use crate::sched::registry::{Executor, Registry, Wait};
use crate::sched::shutdown::Cancel;
use crate::sched::unwind;
use crate::sched::worker::Caller;
use crate::sync::{IdCounter, UnsafeCell};
use crate::task::cell::{Completion, PanicsTo, TaskOutput};
use crate::task::handle::JoinHandle;
use crate::task::state::{AfterPending, Claim, Initial, TaskState, Wake as WakeState};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

struct FutureCell<Fut: Future> {
    completion: Completion<Fut::Output>,
    future: UnsafeCell<Option<Fut>>,
    registry: Arc<Registry>,
    id: u64,
}

// SAFETY: `future` is touched only by the thread that owns RUNNING (polling) or won the
// CANCELLED claim; the future and its output are Send.
unsafe impl<Fut: Future + Send> Sync for FutureCell<Fut> where Fut::Output: Send {}

impl<Fut> FutureCell<Fut>
where
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    fn take_future(&self) -> Option<Fut> {
        self.future.with_mut(|f| {
            // SAFETY: the caller owns RUNNING or the CANCELLED claim.
            unsafe { (*f).take() }
        })
    }

    /// Cancels the task unless it is being polled or is done; true if this call cancelled it.
    /// The future's `Drop` and the waiter's waker run after the cancel is complete; a panic from
    /// them goes as `on` says.
    fn cancel_now(&self, on: PanicsTo<'_>) -> bool {
        if self.completion.state.claim_cancel(false) == Claim::Lost {
            return false;
        }
        let future = self.take_future();
        let dropped = unwind::catch(move || drop(future));
        let waker = self
            .completion
            .waiter(self.completion.state.settle_cancelled_future());
        self.registry.futures_forget(self.id);
        let woken = waker.map_or(Ok(()), |waker| unwind::catch(move || waker.wake()));
        on.report("dropping a cancelled future", dropped.err());
        on.report("a cancelled future's waker", woken.err());
        true
    }

    /// Queues the task (SCHEDULED already set by the caller).
    fn schedule(self: &Arc<Self>) {
        let raw = Arc::into_raw(Arc::clone(self));
        // SAFETY: the leaked reference keeps the cell alive until the job is executed.
        let job = unsafe { JobRef::new(raw) };
        match Caller::of(&self.registry) {
            // A deque at its bound leaves the task to the wake queue (`Pool::spawn_future`), and
            // so does termination (`sched/shutdown.rs`: deques then hold closures only).
            Caller::Own(worker) if worker.has_room() && !self.registry.terminating() => {
                worker.push(job)
            }
            _ => match self.registry.woken.try_push(job) {
                Ok(()) => self.registry.sleep.notify_new_work(),
                Err(PushError::Closed(job) | PushError::Full(job)) => {
                    // No worker will ever run it: cancel it here.
                    // SAFETY: refused, so unexecuted and ours; executed once.
                    let outcome = unsafe { job.execute(Mode::Cancel, &self.registry) };
                    self.registry.record_outcome(outcome, Executor::CpuOutside);
                }
            },
        }
    }
}

impl<Fut> Wake for FutureCell<Fut>
where
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.completion.state.wake() == WakeState::Schedule {
            self.schedule();
        }
    }
}

impl<Fut> TaskOutput<Fut::Output> for FutureCell<Fut>
where
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    fn completion(&self) -> &Completion<Fut::Output> {
        &self.completion
    }

    fn cancel(&self) -> bool {
        if self.cancel_now(PanicsTo::Caller) {
            self.registry.stats.shared.outside_cancelled.add_shared(1);
            return true;
        }
        self.completion.state().is_cancelled()
    }
}

impl<Fut> Cancel for FutureCell<Fut>
where
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    fn cancel(&self) -> bool {
        // Called by the pool's last worker as it exits.
        self.cancel_now(PanicsTo::Pool(&self.registry))
    }
}

impl<Fut> Job for FutureCell<Fut>
where
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    unsafe fn execute(this: *const Self, mode: Mode, registry: &Registry) -> Outcome {
        // SAFETY: the queued `JobRef` owned one strong reference (made in `schedule` or
        // `spawn_future`); it is consumed here, once.
        let cell = unsafe { Arc::from_raw(this) };
        if mode == Mode::Cancel {
            return if cell.cancel_now(PanicsTo::Pool(registry)) {
                Outcome::Cancelled
            } else {
                Outcome::Nothing
            };
        }
        // SCHEDULED -> RUNNING, unless it was cancelled while queued.
        if cell.completion.state.start_poll() == Claim::Lost {
            return Outcome::Nothing;
        }
        let waker = Waker::from(Arc::clone(&cell));
        let mut cx = Context::from_waker(&waker);
        let polled = unwind::catch(|| {
            cell.future.with_mut(|f| {
                // SAFETY: we own RUNNING, so nobody else touches the slot; the future is never
                // moved out while it may still be polled (it lives in the Arc'd cell).
                let future = unsafe { (*f).as_mut() }.expect("a running task has its future");
                // SAFETY: see above: pinned in place inside the cell until dropped.
                unsafe { Pin::new_unchecked(future) }.poll(&mut cx)
            })
        });
        let (output, outcome) = match polled {
            Ok(Poll::Pending) => {
                // Still pending once the closures drained under a graceful shutdown: cancelled
                // (`sched/shutdown.rs`, "Futures under a graceful shutdown").
                if registry.futures_closing() {
                    cell.cancel_pending(registry);
                    return Outcome::Cancelled;
                }
                cell.after_pending();
                return Outcome::Ran;
            }
            Ok(Poll::Ready(value)) => (Ok(value), Outcome::Completed),
            Err(payload) => (Err(payload), Outcome::Panicked),
        };
        let future = cell.take_future();
        unwind::guarded(
            move || drop(future),
            |payload| registry.report_panic("dropping a finished future", payload),
        );
        registry.futures_forget(cell.id);
        registry.record_task_end(outcome == Outcome::Panicked);
        let sink = || registry.panic_sink();
        cell.completion
            .complete(output, TaskState::complete_future, sink)
            .run(registry);
        outcome
    }
}

impl<Fut> FutureCell<Fut>
where
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    /// RUNNING -> CANCELLED after a `Pending` poll (a graceful shutdown gave up on it): the
    /// poller owns the future, drops it and resolves the handle. A wake that came in during the
    /// poll (NOTIFIED) is dropped with it; a later one sees CANCELLED and does nothing.
    fn cancel_pending(&self, registry: &Registry) {
        let waker = self
            .completion
            .waiter(self.completion.state.cancel_after_pending());
        let future = self.take_future();
        unwind::guarded(
            move || drop(future),
            |payload| registry.report_panic("dropping a cancelled future", payload),
        );
        registry.futures_forget(self.id);
        if let Some(waker) = waker {
            unwind::wake_user(waker, |payload| {
                registry.report_panic("a cancelled future's waker", payload)
            });
        }
    }

    /// RUNNING -> idle, or -> SCHEDULED and re-queued if a wake came in during the poll.
    fn after_pending(self: &Arc<Self>) {
        if self.completion.state.end_pending_poll() == AfterPending::Requeue {
            self.schedule();
        }
    }
}

/// Spawns `future` on `registry`'s CPU workers; admission follows `wait` like a closure spawn.
pub(crate) fn spawn_future<Fut>(registry: &Arc<Registry>, future: Fut) -> JoinHandle<Fut::Output>
where
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    static NEXT_ID: IdCounter = IdCounter::new(0);
    let cell = Arc::new(FutureCell {
        completion: Completion::new(Initial::Scheduled, crate::metrics::Submit::NONE),
        future: UnsafeCell::new(Some(future)),
        registry: Arc::clone(registry),
        id: NEXT_ID.next(),
    });
    let handle = JoinHandle::from_task(Arc::clone(&cell) as Arc<dyn TaskOutput<Fut::Output>>);
    registry.futures_track(cell.id, Arc::clone(&cell) as Arc<dyn Cancel>);
    let raw = Arc::into_raw(Arc::clone(&cell));
    // SAFETY: the leaked reference keeps the cell alive until the job is executed or refused.
    let job = unsafe { JobRef::new(raw) };
    let pushed = match Caller::of(registry) {
        // A graceful shutdown whose closures drained cancels new futures (`sched/shutdown.rs`).
        Caller::Own(_) if registry.futures_closing() => Err(PushError::Closed(job)),
        // During termination futures wait on the wake queue, not on a deque (`sched/shutdown.rs`).
        Caller::Own(_) if registry.terminating() => match registry.woken.try_push(job) {
            Ok(()) => {
                registry.sleep.notify_new_work();
                Ok(())
            }
            Err(refused) => Err(refused),
        },
        Caller::Own(worker) => {
            // At the deque's bound, the first poll runs here (see `Pool::spawn_future`).
            worker.push_or_run(job);
            Ok(())
        }
        Caller::OtherPool(worker) => {
            worker.push_helping(job, Wait::Forever, |job| registry.inject(job, Wait::No))
        }
        Caller::Outside => registry.inject(job, Wait::Forever),
    };
    let accepted = match pushed {
        Ok(()) => true,
        Err(_) => {
            // SAFETY: the queue refused the job, so the reference leaked above is ours again.
            drop(unsafe { Arc::from_raw(raw) });
            // If the shutdown's sweep of the futures table got to it first, the sweep cancelled
            // and counted it: it then counts as spawned, not as refused.
            !cell.cancel_now(PanicsTo::Caller)
        }
    };
    registry.record_submission(if accepted { Ok(()) } else { Err(false) }, false);
    handle
}
