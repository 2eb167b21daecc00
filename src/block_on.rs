//! `block_on`: driving a future to completion on the calling thread.
//!
//! Invariants:
//! - Outside a worker the thread parks on a parker whose token survives a wake that comes
//!   before the park, so a wake is never lost.
//! - On a worker, a wake sets `woken` (SeqCst) and then wakes the worker through the sleep
//!   protocol; the worker clears `woken` *before* each poll and waits while helping only until
//!   `woken` is set, so a wake during a poll leads to another poll.

use crate::job_handle::ThreadParker;
use crate::registry::Registry;
use crate::sync::atomic::{AtomicBool, Ordering};
use crate::worker::WorkerThread;
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
            let signal = Arc::new(WorkerSignal {
                woken: AtomicBool::new(false),
                registry: Arc::clone(&worker.registry),
                index: worker.index,
            });
            let waker = Waker::from(Arc::clone(&signal));
            let mut cx = Context::from_waker(&waker);
            loop {
                signal.woken.store(false, Ordering::SeqCst);
                if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
                    return value;
                }
                worker.wait_until(&|| signal.woken.load(Ordering::SeqCst));
            }
        }
    }
}

struct WorkerSignal {
    woken: AtomicBool,
    registry: Arc<Registry>,
    index: usize,
}

impl Wake for WorkerSignal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.registry.sleep.wake_worker(self.index);
    }
}
