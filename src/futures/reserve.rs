//! Async backpressure: waiting for room in the injection queue without blocking a thread.
//!
//! Invariants:
//! - A `Reserve` future that returned `Pending` is registered as a waiter in the injection queue
//!   and is woken when room appears (see `injection_queue`); if it is dropped after being woken
//!   without taking the slot, the wake-up is passed on, so no room is left unused while others
//!   wait.
//! - A `Permit` owns one slot of the queue. `Permit::spawn` turns it into a queued task, or — if
//!   the pool closed meanwhile — frees it and hands the closure back. Dropping an unused permit
//!   frees the slot. A permit never holds up shutdown.

use crate::error::{ShutdownError, SpawnError};
use crate::sched::injection::Slot;
use crate::sched::lanes::Lane;
use crate::sched::registry::{Registry, Wait};
use crate::task::cell::new_task;
use crate::task::handle::JoinHandle;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// A future that waits for room in a pool's injection queue; see
/// [`Pool::reserve`](crate::Pool::reserve).
#[must_use = "futures do nothing unless polled"]
pub struct Reserve {
    registry: Arc<Registry>,
    waiter: Option<u64>,
}

impl Reserve {
    pub(crate) fn new(registry: Arc<Registry>) -> Self {
        Reserve {
            registry,
            waiter: None,
        }
    }
}

impl Future for Reserve {
    type Output = Result<Permit, ShutdownError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        match this
            .registry
            .injected
            .poll_permit(&mut this.waiter, cx.waker())
        {
            Slot::Ok => Poll::Ready(Ok(Permit {
                registry: Some(Arc::clone(&this.registry)),
            })),
            Slot::Closed => Poll::Ready(Err(ShutdownError)),
            Slot::Full => Poll::Pending,
        }
    }
}

impl Drop for Reserve {
    fn drop(&mut self) {
        self.registry
            .injected
            .forget_waiter(&mut self.waiter, false);
    }
}

impl std::fmt::Debug for Reserve {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reserve")
            .field("waiting", &self.waiter.is_some())
            .finish()
    }
}

/// One reserved slot in a pool's injection queue: spawning with it never waits.
///
/// ```
/// # let pool = corepool::Pool::builder().threads(1).build()?;
/// let permit = futures_lite_block_on(pool.reserve()).expect("pool is running");
/// let handle = permit.spawn(|| 1 + 1).expect("pool is running");
/// assert_eq!(handle.join().unwrap(), 2);
/// # fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output { corepool::Pool::block_on_here(f) }
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[must_use = "an unused permit holds a queue slot until it is dropped"]
pub struct Permit {
    registry: Option<Arc<Registry>>,
}

impl Permit {
    /// Spawns `func` into the reserved slot. If the pool was shut down since the permit was
    /// taken, the closure comes back in [`SpawnError::Shutdown`].
    pub fn spawn<F, T>(mut self, func: F) -> Result<JoinHandle<T>, SpawnError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let registry = self.registry.take().expect("a permit is used once");
        let (task, handle) = new_task(func, registry.stats.sample_submit());
        let result = task.submit(|job| {
            let pushed = registry.injected.push_with_permit(job);
            if pushed.is_ok() {
                // The permit became a job through an RMW on the queue's state word: no fence
                // needed (`sched/sleep`, "fence-free publication").
                registry.sleep.notify_published_by_rmw();
            }
            pushed
        });
        registry.record_submission(
            result.as_ref().map(|_| ()).map_err(SpawnError::is_full),
            false,
        );
        result.map(|()| handle)
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some(registry) = self.registry.take() {
            registry.injected.release_permit();
        }
    }
}

impl std::fmt::Debug for Permit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Permit").finish_non_exhaustive()
    }
}

/// Reserves a slot then spawns: the body of [`Pool::spawn_async`](crate::Pool::spawn_async).
pub(crate) async fn spawn_async<F, T>(
    registry: Arc<Registry>,
    func: F,
) -> Result<JoinHandle<T>, SpawnError<F>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    // Fast path: while there is room, one reservation and no permit (as `try_spawn`). A full
    // queue is not a refusal here, so it is not counted as one: the closure comes back and
    // waits for room below, like any `Reserve`. A queue that already looks full (a plain load;
    // the reservation decides) goes straight to waiting, without allocating a task first.
    if !registry.injected.looks_full() {
        return spawn_async_fast(registry, func).await;
    }
    spawn_async_wait(registry, func).await
}

/// `spawn_async` while the queue seemed to have room.
async fn spawn_async_fast<F, T>(
    registry: Arc<Registry>,
    func: F,
) -> Result<JoinHandle<T>, SpawnError<F>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let (task, handle) = new_task(func, registry.stats.sample_submit());
    let func =
        match crate::spawn::submit::submit_lane_unrecorded(&registry, task, Wait::No, Lane::Normal)
        {
            (Ok(()), own) => {
                registry.record_cpu_submission(Ok(()), own);
                return Ok(handle);
            }
            (Err(SpawnError::Full(func)), _) => {
                // The refused task's handle only reports Cancelled: free its cell before waiting.
                drop(handle);
                func
            }
            // Shutdown (a Normal-lane submission is never refused otherwise).
            (Err(refused), own) => {
                registry.record_cpu_submission(Err(false), own);
                return Err(refused);
            }
        };
    spawn_async_wait(registry, func).await
}

/// `spawn_async` through a `Reserve`: waits for room without blocking the thread.
async fn spawn_async_wait<F, T>(
    registry: Arc<Registry>,
    func: F,
) -> Result<JoinHandle<T>, SpawnError<F>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match Reserve::new(Arc::clone(&registry)).await {
        Ok(permit) => permit.spawn(func),
        Err(ShutdownError) => {
            registry.record_submission(Err(false), false);
            Err(SpawnError::Shutdown(func))
        }
    }
}
