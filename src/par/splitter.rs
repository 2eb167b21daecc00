//! The adaptive splitter: lazy binary splitting, driven by steals.
//!
//! Invariants:
//! - Every index of the input is folded exactly once, in a block of a piece that owns it; the
//!   accumulators of a piece are merged left to right, so an associative merge sees the input in
//!   order. (Pieces only come from `ParSource::split_at`, which hands out disjoint halves.)
//! - A worker keeps at most one half of this operation stealable at a time: it splits (pushes a
//!   half through `join`) only when the half it pushed last has been taken by a thief, or when
//!   it has none left in its deque. Nobody stealing means no splits beyond ~log2(len / block),
//!   and every steal is answered within one block.
//! - A block is sized by measurement to take about `TARGET_BLOCK_NANOS`, so the demand check,
//!   the abort check and the clock read cost nothing per item, while a hungry peer waits at most
//!   about one block. A stolen piece starts again from one item, since its items may cost
//!   1000x more or less than the ones its victim measured.
//! - A panic in a fold sets `abort`; every other piece stops at its next block boundary, and the
//!   panic reaches the caller through the joins once all pieces have stopped.

use super::source::ParSource;
use crate::sync::atomic::{AtomicBool, Ordering};
use crate::Pool;
use std::time::Instant;

/// How long one sequential block should take: the latency with which a steal is answered.
const TARGET_BLOCK_NANOS: u64 = 20_000;
/// The largest block, in items, whatever the timing says.
const MAX_BLOCK: usize = 1 << 20;

/// What an operation does with the pieces the splitter cuts.
pub(crate) trait Consumer<P: ParSource>: Sync {
    /// The partial result of one contiguous run of the input.
    type Acc: Send;
    /// An empty partial result for a run starting at input index `offset`.
    fn start(&self, offset: usize) -> Self::Acc;
    /// Folds `piece`, which starts at input index `offset` and directly follows what `acc`
    /// covers.
    fn fold(&self, acc: Self::Acc, piece: P, offset: usize) -> Self::Acc;
    /// Merges two partial results; `left` covers the input just before `right` (unless the
    /// operation was aborted by a panic, when the pieces may have stopped early).
    fn merge(&self, left: Self::Acc, right: Self::Acc) -> Self::Acc;
}

/// Where forks go: an explicit pool, or the pool of the current worker (the global pool outside
/// any worker).
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

/// The state shared by all pieces of one operation.
struct Ctx<'p> {
    joiner: Joiner<'p>,
    abort: AtomicBool,
}

/// Sets `abort` if dropped, i.e. if the fold it guards unwinds.
struct AbortOnUnwind<'a>(&'a AtomicBool);

impl Drop for AbortOnUnwind<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// The learned block size, passed down to the pieces split off (they do similar work).
#[derive(Clone, Copy)]
struct Block {
    size: usize,
}

impl Block {
    /// The first block of an operation, or of a stolen piece (whose items may cost anything).
    const FIRST: Block = Block { size: 1 };

    /// Grows the block while it takes well under the target, and shrinks it in proportion
    /// when it takes well over (items got dearer: the next steal must not wait long).
    #[inline]
    fn adapt(&mut self, items: usize, nanos: u64) {
        if items < self.size {
            return; // a short final block says nothing
        }
        if nanos < TARGET_BLOCK_NANOS / 2 {
            self.size = (self.size * 2).min(MAX_BLOCK);
        } else if nanos > TARGET_BLOCK_NANOS * 2 {
            let scaled = self.size as u128 * u128::from(TARGET_BLOCK_NANOS) / u128::from(nanos);
            self.size = usize::try_from(scaled).unwrap_or(1).max(1);
        }
    }
}

/// Runs `consumer` over `source`, splitting on demand, on the joiner's pool. Must be called
/// on a worker of that pool (see [`Joiner::install`]) for the splits to be cheap.
pub(crate) fn drive<P, C>(joiner: Joiner<'_>, source: P, consumer: &C) -> C::Acc
where
    P: ParSource,
    C: Consumer<P>,
{
    let ctx = Ctx {
        joiner,
        abort: AtomicBool::new(false),
    };
    run(&ctx, consumer, source, 0, None, Block::FIRST)
}

/// Folds `source` (starting at input index `offset`) block by block, splitting it in two
/// whenever the work this worker last made stealable (`pending`) has been taken.
///
/// `pending` is the "taken" flag of the newest half this worker pushed that may still be in
/// its deque; `None` means its deque holds nothing of this operation, so a split is due.
fn run<P, C>(
    ctx: &Ctx<'_>,
    consumer: &C,
    mut source: P,
    mut offset: usize,
    pending: Option<&AtomicBool>,
    mut block: Block,
) -> C::Acc
where
    P: ParSource,
    C: Consumer<P>,
{
    let mut acc = consumer.start(offset);
    let mut last = Instant::now();
    loop {
        let len = source.len();
        if len == 0 || ctx.abort.load(Ordering::Relaxed) {
            return acc;
        }
        let hungry = match pending {
            None => true,
            Some(taken) => taken.load(Ordering::Relaxed),
        };
        if hungry && len >= 2 * block.size {
            let mid = len / 2;
            let (left, right) = source.split_at(mid);
            let taken = AtomicBool::new(false);
            let parent = crate::current_thread_index();
            let (l, r) = ctx.joiner.join(
                || run(ctx, consumer, left, offset, Some(&taken), block),
                || {
                    taken.store(true, Ordering::Relaxed);
                    // Popped back by this worker: its deque again holds what it held before
                    // the split. Stolen: the thief's deque holds nothing of ours.
                    // A thief also re-learns the block size: its half may cost differently.
                    let stolen = crate::current_thread_index() != parent;
                    let (pending, block) = if stolen {
                        (None, Block::FIRST)
                    } else {
                        (pending, block)
                    };
                    run(ctx, consumer, right, offset + mid, pending, block)
                },
            );
            return consumer.merge(consumer.merge(acc, l), r);
        }
        let n = block.size.min(len);
        let (head, tail) = source.split_at(n);
        let guard = AbortOnUnwind(&ctx.abort);
        acc = consumer.fold(acc, head, offset);
        std::mem::forget(guard);
        source = tail;
        offset += n;
        let now = Instant::now();
        let nanos = u64::try_from(now.duration_since(last).as_nanos()).unwrap_or(u64::MAX);
        last = now;
        block.adapt(n, nanos);
    }
}
