//! Where forks go: an explicit pool, or the pool of the current worker (the global pool outside
//! any worker).
//!
//! Invariant: every operation that splits work first moves onto a worker of its pool
//! ([`Joiner::install`]); after that `Current` and `Pool` name the same pool.

use crate::Pool;

/// An explicit pool, or the current worker's pool.
#[derive(Clone, Copy)]
pub(crate) enum Joiner<'p> {
    Pool(&'p Pool),
    Current,
}

impl Joiner<'_> {
    #[inline]
    pub(crate) fn join<A, B, RA, RB>(self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        match self {
            Joiner::Pool(pool) => pool.join(a, b),
            Joiner::Current => crate::join(a, b),
        }
    }

    /// Runs `op` on a worker of the pool (on the caller if a `Pool` is shut down).
    pub(crate) fn install<R: Send>(self, op: impl FnOnce() -> R + Send) -> R {
        match self {
            Joiner::Pool(pool) => pool.install(op),
            Joiner::Current if crate::current_thread_index().is_some() => op(),
            Joiner::Current => crate::scope(|_| op()),
        }
    }

    /// A scope on the pool (see [`Pool::scope`]).
    pub(crate) fn scope<'scope, R: Send>(
        self,
        op: impl FnOnce(&crate::Scope<'scope>) -> R + Send,
    ) -> R {
        match self {
            Joiner::Pool(pool) => pool.scope(op),
            Joiner::Current => crate::scope(op),
        }
    }

    /// Drives `future` here; on a worker, keeps executing the pool's tasks while it is pending.
    pub(crate) fn block_on<Fut: std::future::Future>(self, future: Fut) -> Fut::Output {
        match self {
            Joiner::Pool(pool) => pool.block_on(future),
            Joiner::Current => Pool::block_on_here(future),
        }
    }

    /// The number of workers to plan for. For `Current`: the current worker's pool, or the
    /// pool the free functions use off the workers (not `num_cpus::get()` here, which on a
    /// pinned worker reads its single core).
    pub(crate) fn threads(self) -> usize {
        match self {
            Joiner::Pool(pool) => pool.threads(),
            Joiner::Current => crate::sched::worker::WorkerThread::current()
                .map_or_else(crate::global::outside_pool_threads, |w| {
                    w.registry.num_threads()
                }),
        }
    }
}
