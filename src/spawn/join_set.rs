//! `JoinSet` (tokio's): a collection of tasks whose results come back as they complete, and
//! `AbortHandle`, a handle that can only cancel.
//!
//! Invariants:
//! - Each member's handle is polled with a waker of its own, which records the member's slot
//!   in the set's ready list and then wakes whoever waits on the set. A slot is polled again
//!   only when it is in the ready list, so `join_next` costs one poll per completed task (plus
//!   a spurious one now and then), not one per member.
//! - A member is put in the ready list when it is inserted (its first poll registers the
//!   waker), and the waiter's waker is stored *before* the ready list is read, so a completion
//!   between the two is never lost.
//! - A stale entry in the ready list (a slot freed, or reused by a later member) costs one
//!   spurious poll, never a wrong result: results come from the handle in the slot.

use crate::error::{JoinError, TaskId};
use crate::sync::Mutex;
use crate::task::cell::TaskOutput;
use crate::task::handle::JoinHandle;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// A handle that can cancel a task, and nothing else: it does not own the result, so it can be
/// cloned, kept or sent anywhere (tokio's `AbortHandle`).
///
/// Cancelling has the meaning of [`JoinHandle::cancel`]: a task that has not started never
/// runs, and its handle reports [`JoinError::is_cancelled`]; a running task is not interrupted
/// (a closure cannot be stopped from outside).
///
/// ```
/// use std::sync::mpsc;
/// let pool = corepool::Pool::builder().threads(1).build()?;
/// let (started, is_started) = mpsc::channel();
/// let (release, released) = mpsc::channel::<()>();
/// let busy = pool.spawn(move || {
///     started.send(()).unwrap();
///     released.recv().unwrap();
/// });
/// is_started.recv().unwrap(); // the only worker is busy
/// let h = pool.spawn(|| 1);
/// let abort = h.abort_handle();
/// assert_eq!(abort.id(), h.id());
/// assert!(abort.cancel(), "a task that has not started can be cancelled");
/// assert!(h.join().unwrap_err().is_cancelled());
/// release.send(()).unwrap();
/// busy.join().unwrap();
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[derive(Clone)]
pub struct AbortHandle {
    task: Arc<dyn Cancel>,
    id: TaskId,
}

/// The part of a task an `AbortHandle` needs, without its output type.
trait Cancel: Send + Sync {
    fn cancel(&self) -> bool;
    fn is_finished(&self) -> bool;
}

struct Erased<T>(Arc<dyn TaskOutput<T>>);

impl<T> Cancel for Erased<T> {
    fn cancel(&self) -> bool {
        self.0.cancel()
    }

    fn is_finished(&self) -> bool {
        self.0.completion().state().is_done()
    }
}

impl AbortHandle {
    /// Cancels the task if it has not started. Returns `true` if it will never run (now or
    /// before); `false` if it is running or done.
    ///
    /// # Panics
    /// As [`JoinHandle::cancel`]: a panic in the closure's `Drop` is raised here.
    pub fn cancel(&self) -> bool {
        self.task.cancel()
    }

    /// Whether the task has finished (ran to completion, panicked, or was cancelled).
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// The task's id.
    #[must_use]
    pub fn id(&self) -> TaskId {
        self.id
    }
}

impl std::fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AbortHandle")
            .field("id", &self.id)
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl<T: 'static> JoinHandle<T> {
    /// An [`AbortHandle`] for this task.
    #[must_use]
    pub fn abort_handle(&self) -> AbortHandle {
        AbortHandle {
            task: Arc::new(Erased(Arc::clone(self.task()))),
            id: self.id(),
        }
    }
}

/// The slots whose handles may have completed, and who waits for one.
#[derive(Default)]
struct Ready {
    slots: Mutex<VecDeque<usize>>,
    waiter: Mutex<Option<Waker>>,
}

/// The waker a member's handle is polled with.
struct SlotWaker {
    slot: usize,
    ready: Arc<Ready>,
}

impl Wake for SlotWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.ready.slots.lock().push_back(self.slot);
        // Taken out, then woken with no lock held: the waiter's waker is user code.
        let waiter = self.ready.waiter.lock().take();
        if let Some(waiter) = waiter {
            waiter.wake();
        }
    }
}

struct Member<T> {
    handle: JoinHandle<T>,
    waker: Waker,
}

/// A set of tasks whose results are taken as they complete (tokio's `JoinSet`).
///
/// Insert any [`JoinHandle`] (from [`spawn`](JoinSet::spawn), or any spawn method of any
/// pool: `spawn_blocking`, `spawn_future`, the task builder), then take results in completion
/// order with [`join_next`](Self::join_next) (blocking; on a worker it keeps executing other
/// tasks meanwhile) or [`join_next_async`](Self::join_next_async).
///
/// Dropping the set detaches its tasks (they still run; a panic goes to the pool's panic
/// handler), where tokio's cancels them: call [`cancel_all`](Self::cancel_all) first for that.
///
/// ```
/// use corepool::{JoinSet, Pool};
/// let pool = Pool::builder().threads(2).build()?;
/// let mut set = JoinSet::new();
/// for i in 0..4u64 {
///     set.spawn(&pool, move || i * 10);
/// }
/// let mut sum = 0;
/// while let Some(result) = set.join_next() {
///     sum += result?;
/// }
/// assert_eq!(sum, 60);
/// assert!(set.is_empty());
/// # Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
/// ```
pub struct JoinSet<T> {
    members: Vec<Option<Member<T>>>,
    free: Vec<usize>,
    len: usize,
    ready: Arc<Ready>,
}

impl<T> Default for JoinSet<T> {
    fn default() -> Self {
        JoinSet {
            members: Vec::new(),
            free: Vec::new(),
            len: 0,
            ready: Arc::default(),
        }
    }
}

impl<T> JoinSet<T> {
    /// An empty set.
    #[must_use]
    pub fn new() -> Self {
        JoinSet::default()
    }

    /// How many tasks the set holds (those whose result has not been taken).
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the set holds no task.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds a task by its handle.
    pub fn insert(&mut self, handle: JoinHandle<T>) {
        let slot = self.free.pop().unwrap_or_else(|| {
            self.members.push(None);
            self.members.len() - 1
        });
        let waker = Waker::from(Arc::new(SlotWaker {
            slot,
            ready: Arc::clone(&self.ready),
        }));
        self.members[slot] = Some(Member { handle, waker });
        self.len += 1;
        // Polled once by the next `join_next`, which registers the slot's waker.
        self.ready.slots.lock().push_back(slot);
    }

    /// Polls for the next completed task: its result, `None` if the set is empty, or
    /// `Pending` (and `cx`'s waker is woken when one completes).
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        if self.len == 0 {
            return Poll::Ready(None);
        }
        // Before the ready list is read: a completion after that read wakes this waker.
        *self.ready.waiter.lock() = Some(cx.waker().clone());
        loop {
            let Some(slot) = self.ready.slots.lock().pop_front() else {
                return Poll::Pending;
            };
            let Some(member) = self.members.get_mut(slot).and_then(Option::as_mut) else {
                continue; // stale: the slot was emptied since
            };
            let mut slot_cx = Context::from_waker(&member.waker);
            if let Poll::Ready(result) = Pin::new(&mut member.handle).poll(&mut slot_cx) {
                self.members[slot] = None;
                self.free.push(slot);
                self.len -= 1;
                return Poll::Ready(Some(result));
            }
        }
    }

    /// Waits for the next task to complete and returns its result (values, panics and
    /// cancellations alike), or `None` once the set is empty. On a worker it keeps executing
    /// other tasks while it waits.
    pub fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        crate::futures::block_on::block_on(std::future::poll_fn(|cx| self.poll_join_next(cx)))
    }

    /// [`join_next`](Self::join_next) as a future, for async code.
    pub async fn join_next_async(&mut self) -> Option<Result<T, JoinError>> {
        std::future::poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// The result of a task that has already completed, without waiting; `None` if none has
    /// (or the set is empty).
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        // `Waker::noop` is newer than the crate's MSRV.
        struct Noop;
        impl Wake for Noop {
            fn wake(self: Arc<Self>) {}
        }
        let waker = Waker::from(Arc::new(Noop));
        match self.poll_join_next(&mut Context::from_waker(&waker)) {
            Poll::Ready(result) => result,
            Poll::Pending => None,
        }
    }

    /// Waits for every task and returns the results in completion order.
    pub fn join_all(mut self) -> Vec<Result<T, JoinError>> {
        let mut results = Vec::with_capacity(self.len);
        while let Some(result) = self.join_next() {
            results.push(result);
        }
        results
    }

    /// Cancels every task that has not started (see [`JoinHandle::cancel`]); returns how many
    /// will never run. Their results (`Cancelled`) stay in the set, to be taken as any other.
    ///
    /// # Panics
    /// If a cancelled closure's `Drop` panics, after every task was asked to cancel: the first
    /// such panic is raised here.
    pub fn cancel_all(&mut self) -> usize {
        let mut cancelled = 0;
        let mut first_panic = None;
        for member in self.members.iter().flatten() {
            match crate::sched::unwind::catch(|| member.handle.cancel()) {
                Ok(true) => cancelled += 1,
                Ok(false) => {}
                Err(payload) => {
                    // The cancel completed before the panic was raised.
                    cancelled += 1;
                    first_panic.get_or_insert(payload);
                }
            }
        }
        if let Some(payload) = first_panic {
            std::panic::resume_unwind(payload);
        }
        cancelled
    }

    /// Empties the set, detaching every task (they still run).
    pub fn detach_all(&mut self) {
        let members = std::mem::take(&mut self.members);
        self.free.clear();
        self.len = 0;
        self.ready.slots.lock().clear();
        // Last: dropping a finished task's handle drops its result here, which may panic.
        drop(members);
    }
}

impl<T> std::fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len).finish()
    }
}
