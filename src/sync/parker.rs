//! The parker of a thread outside the pool, for waiting on a waker.
//!
//! Invariant: the token is a boolean under a mutex, so a wake before `park` is never lost,
//! and `park` returns only after a wake (it consumes one token).

use crate::sync::{Condvar, Mutex};
use std::sync::Arc;
use std::task::Wake;

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
