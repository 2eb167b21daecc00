//! The bridge: lazy binary splitting, driven by steals (issue #8's splitter, under the iterators).
//!
//! Invariants:
//! - Every item of the input is folded exactly once, in a block of a piece that owns it; the
//!   results of the pieces are reduced left to right, so an associative reduction sees the
//!   input in order. (Pieces only come from `Producer::split_at`, which hands out disjoint
//!   halves.)
//! - A worker keeps at most one half of this drive stealable at a time: it splits (pushes a
//!   half through `join`) only when the half it pushed last has been taken by a thief, or when
//!   it has none left in its deque. Nobody stealing means no splits beyond ~log2(len / block),
//!   and every steal is answered within one block. (`with_max_len` forces further splits.)
//! - A block is sized by measurement to take about `TARGET_BLOCK_NANOS`, so the demand check,
//!   the stop checks and the clock read cost nothing per item, while a hungry peer waits at most
//!   about one block. A stolen piece starts again from one item, since its items may cost
//!   1000x more or less than the ones its victim measured.
//! - A panic in a fold sets `abort`; every other piece stops at its next block boundary, and the
//!   panic reaches the caller through the joins once all pieces have stopped. A full consumer
//!   (a search that has its answer) stops the pieces the same way, and the items they never ran
//!   are counted in [`skipped_items`].

use super::joiner::Joiner;
use super::{Consumer, Folder, Producer, ProducerCallback, UnindexedProducer};
use crate::iter::IndexedParallelIterator;
use crate::sync::atomic::{AtomicBool, Ordering};
use crate::sync::StatCounter;
use std::time::Instant;

/// How long one sequential block should take: the latency with which a steal is answered.
const TARGET_BLOCK_NANOS: u64 = 20_000;
/// The largest block, in items, whatever the timing says.
const MAX_BLOCK: usize = 1 << 20;

/// Items that short-circuited drives never ran, since the process started.
pub(crate) static SKIPPED: StatCounter = StatCounter::new();

/// How many items, in all drives since the process started, were never run because a
/// short-circuiting consumer (`find_any`, `any`, `all`, `try_*`, ...) already had its answer.
/// Counted for indexed drives (whose pieces know their length); a cheap way to see that a
/// search really stopped the work instead of finishing it.
///
/// ```
/// use corepool::prelude::*;
/// let before = corepool::iter::skipped_items();
/// let hit = (0..10_000_000u64).into_par_iter().find_any(|&x| x == 10);
/// assert_eq!(hit, Some(10));
/// assert!(corepool::iter::skipped_items() > before);
/// ```
pub fn skipped_items() -> u64 {
    SKIPPED.get()
}

/// The state shared by all pieces of one drive.
struct Ctx {
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
    /// The first block of a drive, or of a stolen piece (whose items may cost anything).
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

/// Drives an indexed iterator into `consumer`: the usual body of
/// [`ParallelIterator::drive_unindexed`](super::super::ParallelIterator::drive_unindexed) for
/// an indexed source.
pub fn bridge<I, C>(par_iter: I, consumer: C) -> C::Result
where
    I: IndexedParallelIterator,
    C: Consumer<I::Item>,
{
    struct Callback<C> {
        len: usize,
        consumer: C,
    }
    impl<T, C: Consumer<T>> ProducerCallback<T> for Callback<C> {
        type Output = C::Result;
        fn callback<P: Producer<Item = T>>(self, producer: P) -> C::Result {
            bridge_producer_consumer(self.len, producer, &self.consumer)
        }
    }
    let len = par_iter.len();
    par_iter.with_producer(Callback { len, consumer })
}

/// Folds the `len` items of `producer` into `consumer`, splitting on demand, on the current
/// worker's pool (moving onto the global pool first outside any worker). The first item has
/// offset 0.
pub fn bridge_producer_consumer<P, C>(len: usize, producer: P, consumer: &C) -> C::Result
where
    P: Producer,
    C: Consumer<P::Item>,
{
    Joiner::Current.install(|| {
        let ctx = Ctx {
            abort: AtomicBool::new(false),
        };
        run(&ctx, consumer, producer, len, 0, None, Block::FIRST)
    })
}

/// Folds `producer` (`len` items starting at input index `offset`) block by block, splitting
/// it in two whenever the work this worker last made stealable (`pending`) has been taken.
///
/// `pending` is the "taken" flag of the newest half this worker pushed that may still be in
/// its deque; `None` means its deque holds nothing of this drive, so a split is due.
fn run<P, C>(
    ctx: &Ctx,
    consumer: &C,
    mut producer: P,
    mut len: usize,
    mut offset: usize,
    pending: Option<&AtomicBool>,
    mut block: Block,
) -> C::Result
where
    P: Producer,
    C: Consumer<P::Item>,
{
    // The run's folder is made when its first block is folded, so a run that splits before
    // folding anything adds no empty result, and one that started folding takes at least `min`
    // items before it splits: `with_min_len` bounds every run, not only every piece.
    let start = offset;
    let mut folder: Option<C::Folder> = None;
    let mut last = Instant::now();
    let min = producer.min_len().max(1);
    let max = producer.max_len().max(1);
    let counted = consumer.counts_blocks();
    while len > 0 {
        if ctx.abort.load(Ordering::Relaxed) {
            break;
        }
        if folder.as_ref().is_some_and(Folder::full) || consumer.full() {
            SKIPPED.add(len as u64);
            break;
        }
        let folded = offset - start;
        let hungry = match pending {
            None => true,
            Some(taken) => taken.load(Ordering::Relaxed),
        };
        let split_due = len >= 2 * min && ((hungry && len >= 2 * block.size) || len > max);
        if split_due && (folded == 0 || folded >= min) {
            let mid = len / 2;
            // `split_at` may be a user's: a panic there stops the other pieces too.
            let guard = AbortOnUnwind(&ctx.abort);
            let (left, right) = producer.split_at(mid);
            std::mem::forget(guard);
            let taken = AtomicBool::new(false);
            let parent = crate::current_thread_index();
            let (l, r) = crate::join(
                || run(ctx, consumer, left, mid, offset, Some(&taken), block),
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
                    run(
                        ctx,
                        consumer,
                        right,
                        len - mid,
                        offset + mid,
                        pending,
                        block,
                    )
                },
            );
            return match folder {
                Some(folder) => {
                    let done = consumer.reduce(folder.complete(), l);
                    consumer.reduce(done, r)
                }
                None => consumer.reduce(l, r),
            };
        }
        let n = if split_due {
            (min - folded).min(len) // the rest of this run's minimum, then the split
        } else {
            block.size.min(len).min(max)
        };
        let guard = AbortOnUnwind(&ctx.abort);
        let (head, tail) = producer.split_at(n);
        let run_folder = folder.take().unwrap_or_else(|| consumer.folder(start));
        folder = Some(if counted {
            // At most `n` items, whatever the producer yields: each run writes only the
            // positions it was given (an in-place `collect` relies on it).
            run_folder.consume_iter(head.into_iter().take(n))
        } else {
            run_folder.consume_iter(head.into_iter())
        });
        std::mem::forget(guard);
        producer = tail;
        len -= n;
        offset += n;
        let now = Instant::now();
        let nanos = u64::try_from(now.duration_since(last).as_nanos()).unwrap_or(u64::MAX);
        last = now;
        block.adapt(n, nanos);
    }
    match folder {
        Some(folder) => folder.complete(),
        None => consumer.folder(start).complete(),
    }
}

/// How many more times an unindexed drive may split without a steal: rayon's policy (about
/// one split per worker, re-armed when a piece is stolen), since an unindexed piece cannot be
/// folded in measured blocks.
#[derive(Clone, Copy)]
struct Splits(usize);

impl Splits {
    fn try_split(&mut self, stolen: bool) -> bool {
        if stolen {
            self.0 = self.0.max(crate::iter::current_threads());
        }
        if self.0 > 0 {
            self.0 /= 2;
            true
        } else {
            false
        }
    }
}

/// Folds an unindexed producer into `consumer`, splitting it while the split budget lasts; every
/// run gets `offset` as its order key.
pub fn bridge_unindexed<P, C>(producer: P, consumer: &C, offset: usize) -> C::Result
where
    P: UnindexedProducer,
    C: Consumer<P::Item>,
{
    Joiner::Current.install(|| {
        let splits = Splits(crate::iter::current_threads());
        unindexed(consumer, producer, splits, false, offset)
    })
}

fn unindexed<P, C>(
    consumer: &C,
    producer: P,
    mut splits: Splits,
    stolen: bool,
    offset: usize,
) -> C::Result
where
    P: UnindexedProducer,
    C: Consumer<P::Item>,
{
    if consumer.full() {
        return consumer.folder(offset).complete();
    }
    if splits.try_split(stolen) {
        match producer.split() {
            (left, Some(right)) => {
                let parent = crate::current_thread_index();
                let (l, r) = crate::join(
                    || unindexed(consumer, left, splits, false, offset),
                    || {
                        let stolen = crate::current_thread_index() != parent;
                        unindexed(consumer, right, splits, stolen, offset)
                    },
                );
                return consumer.reduce(l, r);
            }
            (whole, None) => return whole.fold_with(consumer.folder(offset)).complete(),
        }
    }
    producer.fold_with(consumer.folder(offset)).complete()
}
