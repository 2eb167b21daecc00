//! `block_on`: driving a future to completion on the calling thread.
//!
//! Invariants:
//! - Outside a worker the thread parks on a parker whose token survives a wake that comes
//!   before the park, so a wake is never lost.
//! - On a worker, a wake sets `woken` (SeqCst) and then wakes the worker through the sleep
//!   protocol; the worker clears `woken` *before* each poll and waits while helping only until
//!   `woken` is set, so a wake during a poll leads to another poll.
//! - `block_on`s nested on one worker's stack (a task run while an outer one waits calls
//!   `block_on` itself) form a chain, innermost first. A wake of an outer one also re-polls the
//!   innermost: the outer future cannot be polled before the inner call returns, and what it
//!   was woken for (a freed queue slot, say: the injection queue wakes one waiter per slot) may
//!   be what the inner one waits for too. Each signal counts its wakes; the innermost waits
//!   until its own flag is set or the sum over its outer signals moved since its last poll, so
//!   a spurious re-poll happens once per outer wake, never in a loop.

use crate::sched::registry::Registry;
use crate::sched::worker::WorkerThread;
use crate::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use crate::sync::parker::ThreadParker;
use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// Polls `future` to completion here; on a worker, runs other tasks while it is pending.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match WorkerThread::current() {
        None => {
            // Its own parker, not the thread's: a `JoinHandle::join` inside the future's poll
            // parks on the thread's parker and must not consume this one's wake-up.
            let parker = Arc::new(ThreadParker::new());
            let waker = Waker::from(Arc::clone(&parker));
            let mut cx = Context::from_waker(&waker);
            loop {
                if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
                    return value;
                }
                parker.park();
            }
        }
        Some(worker) => {
            let outer = INNERMOST.with(Cell::get);
            let signal = Arc::new(WorkerSignal {
                woken: AtomicBool::new(false),
                wakes: AtomicUsize::new(0),
                registry: Arc::clone(&worker.registry),
                index: worker.index,
                outer,
            });
            let _innermost = Innermost::enter(&signal);
            let waker = Waker::from(Arc::clone(&signal));
            let mut cx = Context::from_waker(&waker);
            loop {
                signal.woken.store(false, Ordering::SeqCst);
                let outer_wakes = signal.outer_wakes();
                if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
                    return value;
                }
                worker.wait_until(&|| {
                    signal.woken.load(Ordering::SeqCst) || signal.outer_wakes() != outer_wakes
                });
            }
        }
    }
}

#[cfg(not(corepool_loom))]
crate::sync::thread_local! {
    /// The innermost `block_on` running on this worker thread (null: none).
    static INNERMOST: Cell<*const WorkerSignal> = const { Cell::new(std::ptr::null()) };
}
#[cfg(corepool_loom)]
crate::sync::thread_local! {
    static INNERMOST: Cell<*const WorkerSignal> = Cell::new(std::ptr::null());
}

/// Makes a signal the innermost of its thread for as long as it lives (also when the poll
/// unwinds), then restores the one it was nested in.
struct Innermost {
    outer: *const WorkerSignal,
}

impl Innermost {
    fn enter(signal: &Arc<WorkerSignal>) -> Innermost {
        INNERMOST.with(|c| c.set(Arc::as_ptr(signal)));
        Innermost {
            outer: signal.outer,
        }
    }
}

impl Drop for Innermost {
    fn drop(&mut self) {
        INNERMOST.with(|c| c.set(self.outer));
    }
}

struct WorkerSignal {
    woken: AtomicBool,
    /// How many times this signal was woken: the block_ons nested in it watch the count.
    wakes: AtomicUsize,
    registry: Arc<Registry>,
    index: usize,
    /// The `block_on` this one is nested in on the same worker (null: none). Its frame, and so
    /// its signal, outlives this one: the inner call returns first.
    outer: *const WorkerSignal,
}

// SAFETY: `outer` is only dereferenced on the thread that created the signal (in
// `outer_wakes`, called by its `block_on`); the rest is `Send + Sync`.
unsafe impl Send for WorkerSignal {}
// SAFETY: as above.
unsafe impl Sync for WorkerSignal {}

impl WorkerSignal {
    /// The sum of the wake counts of the block_ons this one is nested in.
    fn outer_wakes(&self) -> usize {
        let mut sum = 0usize;
        let mut outer = self.outer;
        while !outer.is_null() {
            // SAFETY: an outer signal is kept alive by its `block_on`, which is further down
            // this thread's stack and returns after this one (see `outer`).
            let signal = unsafe { &*outer };
            sum = sum.wrapping_add(signal.wakes.load(Ordering::SeqCst));
            outer = signal.outer;
        }
        sum
    }
}

impl Wake for WorkerSignal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.wakes.fetch_add(1, Ordering::SeqCst);
        self.registry.sleep.wake_worker(self.index);
    }
}
