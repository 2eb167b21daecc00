//! `JoinHandle`: the user's side of a task. It waits (helping, on a worker), polls, cancels,
//! or detaches; the task cell (`cell.rs`) and the state word (`state.rs`) say what each may do.

use crate::error::{JoinError, TaskId};
use crate::sched::worker::WorkerThread;
use crate::sync::parker::ThreadParker;
use crate::task::cell::TaskOutput;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

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
pub struct JoinHandle<T> {
    task: Arc<dyn TaskOutput<T>>,
    /// The task's id, taken from the counter the first time anyone asks (0 until then), so a
    /// spawn whose id nobody reads pays nothing for it.
    id: std::sync::atomic::AtomicU64,
}

impl<T> JoinHandle<T> {
    pub(crate) fn from_task(task: Arc<dyn TaskOutput<T>>) -> Self {
        JoinHandle {
            task,
            id: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The task, for the handles built on this one (`AbortHandle`, `JoinSet`).
    pub(crate) fn task(&self) -> &Arc<dyn TaskOutput<T>> {
        &self.task
    }

    /// The task's id; a [`JoinError`] from this handle carries the same one.
    #[must_use]
    pub fn id(&self) -> TaskId {
        use std::sync::atomic::Ordering;
        // Only the handle's own id: not part of any protocol, so std's atomic, also under
        // loom. Two threads asking at once agree on the first id stored.
        match self.id.load(Ordering::Relaxed) {
            0 => {
                let fresh = TaskId::next();
                match self
                    .id
                    .compare_exchange(0, fresh.get(), Ordering::Relaxed, Ordering::Relaxed)
                {
                    Ok(_) => fresh,
                    Err(first) => TaskId::from_raw(first),
                }
            }
            id => TaskId::from_raw(id),
        }
    }

    /// The task's output, with an error stamped with this task's id.
    fn take_output(&self) -> Option<Result<T, JoinError>> {
        self.task
            .completion()
            .take_output()
            .map(|out| out.map_err(|e| e.with_id(self.id())))
    }

    /// Waits for the task and returns its value, or why there is none.
    ///
    /// On a worker thread the worker keeps executing other tasks while it waits, so joining a
    /// handle inside the pool cannot deadlock it, even with one thread.
    pub fn join(self) -> Result<T, JoinError> {
        if let Some(out) = self.take_output() {
            return out;
        }
        match WorkerThread::current() {
            Some(worker) => {
                let waker = worker.waker();
                if !self.task.completion().register(&waker) {
                    worker.wait_until(&|| self.task.completion().state().is_done());
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
        self.take_output().expect("task done after wait")
    }

    /// Whether the task has finished (ran to completion, panicked, or was cancelled).
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.task.completion().state().is_done()
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
            .field("id", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(out) = self.take_output() {
            return Poll::Ready(out);
        }
        if self.task.completion().register(cx.waker()) {
            return Poll::Ready(self.take_output().expect("task done"));
        }
        Poll::Pending
    }
}
