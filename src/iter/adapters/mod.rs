//! The adapters: stages between a source and a terminal operation.
//!
//! Invariant: an adapter that keeps the item count and order (map, enumerate, zip, rev, ...)
//! is indexed and forwards `opt_len`; one that does not (filter, flat_map, ...) reports no
//! length, so nothing downstream takes its offsets for indices. Consumer-side stages fold their
//! items straight into the next folder, so a chain of them is one loop per block.

mod chain;
mod chunks;
mod filter;
mod flat;
mod fold;
mod indexed;
mod map;
mod zip;

pub use chain::Chain;
pub use chunks::Chunks;
pub(crate) use filter::WhileSomeFlag;
pub use filter::{Filter, FilterMap, Positions, WhileSome};
pub use flat::{FlatMap, FlatMapIter, Flatten, FlattenIter};
pub use fold::{Fold, FoldWith, TryFold};
pub use indexed::{Enumerate, MaxLen, MinLen, Rev, Skip, StepBy, Take, WithPool};
pub(crate) use map::{CloneFn, CopyFn, InspectFn, MapFn, MapInitFn, MapWithFn, UpdateFn};
pub use map::{Cloned, Copied, Inspect, Map, MapInit, MapWith, Mapped, Update};
pub use zip::{Interleave, Zip, ZipEq};

use super::plumbing::{Consumer, Folder, Producer, ProducerCallback};
use super::IndexedParallelIterator;
use std::marker::PhantomData;

/// One consumer-side step: what happens to each item on its way to the next folder. Stages
/// hold references to the adapter's closures, so they are `Copy` into every folder.
pub(crate) trait Stage<In>: Send + Sync {
    /// What the next folder receives.
    type Out;
    /// State kept for one run of items (`map_init`'s value); `()` for most stages.
    type State;
    /// A fresh state for a run.
    fn state(&self) -> Self::State;
    /// Hands what `item` becomes to `next`.
    fn push<F: Folder<Self::Out>>(&self, state: &mut Self::State, next: F, item: In) -> F;

    /// Hands what a block of items becomes to `next`. Stages override this to pass `next` one
    /// adapted iterator, so a block of a chain folds in one loop (`sum` of a `filter`ed block
    /// is one `Iterator::sum`); the default pushes item by item.
    fn push_iter<F, I>(&self, state: &mut Self::State, mut next: F, items: I) -> F
    where
        F: Folder<Self::Out>,
        I: Iterator<Item = In>,
    {
        for item in items {
            next = self.push(state, next, item);
            if next.full() {
                break;
            }
        }
        next
    }
}

/// A consumer that runs `stage` in front of `base`.
#[derive(Clone)]
pub(crate) struct StageConsumer<C, S> {
    pub(crate) base: C,
    pub(crate) stage: S,
}

impl<In, C, S> Consumer<In> for StageConsumer<C, S>
where
    S: Stage<In> + Copy,
    C: Consumer<S::Out>,
{
    type Folder = StageFolder<C::Folder, S, S::State>;
    type Result = C::Result;

    fn folder(&self, offset: usize) -> Self::Folder {
        StageFolder {
            base: self.base.folder(offset),
            stage: self.stage,
            state: self.stage.state(),
        }
    }
    fn reduce(&self, left: C::Result, right: C::Result) -> C::Result {
        self.base.reduce(left, right)
    }
    fn full(&self) -> bool {
        self.base.full()
    }
    fn counts_blocks(&self) -> bool {
        self.base.counts_blocks()
    }
}

/// The folder of a [`StageConsumer`].
pub(crate) struct StageFolder<F, S, St> {
    base: F,
    stage: S,
    state: St,
}

impl<In, F, S> Folder<In> for StageFolder<F, S, S::State>
where
    S: Stage<In>,
    F: Folder<S::Out>,
{
    type Result = F::Result;
    #[inline]
    fn consume(mut self, item: In) -> Self {
        self.base = self.stage.push(&mut self.state, self.base, item);
        self
    }
    fn consume_iter<I: IntoIterator<Item = In>>(mut self, items: I) -> Self {
        self.base = self
            .stage
            .push_iter(&mut self.state, self.base, items.into_iter());
        self
    }
    fn complete(self) -> F::Result {
        self.base.complete()
    }
    fn full(&self) -> bool {
        self.base.full()
    }
}

/// How a [`Keyed`] consumer maps the offsets of the drive below it.
#[derive(Clone, Copy)]
pub(crate) enum Key {
    /// Add this many (the items of an indexed part before this one).
    Shift(usize),
    /// Every run gets this one key (its order relative to others is unknown).
    Fixed(usize),
}

/// A consumer seen through shifted or fixed offsets (the second half of a `chain`, the inner
/// iterators of a `flat_map`).
#[derive(Clone)]
pub(crate) struct Keyed<C> {
    pub(crate) base: C,
    pub(crate) key: Key,
}

impl<T, C: Consumer<T>> Consumer<T> for Keyed<C> {
    type Folder = C::Folder;
    type Result = C::Result;
    fn folder(&self, offset: usize) -> C::Folder {
        self.base.folder(match self.key {
            Key::Shift(n) => offset.saturating_add(n),
            Key::Fixed(k) => k,
        })
    }
    fn reduce(&self, left: C::Result, right: C::Result) -> C::Result {
        self.base.reduce(left, right)
    }
    fn full(&self) -> bool {
        self.base.full()
    }
    fn counts_blocks(&self) -> bool {
        self.base.counts_blocks()
    }
}

/// How an adapter over two indexed iterators of one item type (`chain`, `interleave`) builds
/// its producer from theirs.
pub(crate) trait JoinProducers {
    fn join<PA, PB>(a: PA, a_len: usize, b: PB, b_len: usize) -> impl Producer<Item = PA::Item>
    where
        PA: Producer,
        PB: Producer<Item = PA::Item>;
}

/// Calls `callback` with `J`'s producer over the producers of `a` and `b` (reaching each
/// through its own callback, since their types cannot be named here).
pub(crate) fn with_two_producers<J, A, B, CB>(a: A, b: B, callback: CB) -> CB::Output
where
    J: JoinProducers,
    A: IndexedParallelIterator,
    B: IndexedParallelIterator<Item = A::Item>,
    CB: ProducerCallback<A::Item>,
{
    struct First<CB, B, J> {
        callback: CB,
        b: B,
        a_len: usize,
        join: PhantomData<J>,
    }
    impl<CB, T, B, J> ProducerCallback<T> for First<CB, B, J>
    where
        B: IndexedParallelIterator<Item = T>,
        CB: ProducerCallback<T>,
        J: JoinProducers,
    {
        type Output = CB::Output;
        fn callback<PA: Producer<Item = T>>(self, a: PA) -> CB::Output {
            let b_len = self.b.len();
            self.b.with_producer(Second {
                callback: self.callback,
                a,
                a_len: self.a_len,
                b_len,
                join: self.join,
            })
        }
    }
    struct Second<CB, PA, J> {
        callback: CB,
        a: PA,
        a_len: usize,
        b_len: usize,
        join: PhantomData<J>,
    }
    impl<CB, T, PA, J> ProducerCallback<T> for Second<CB, PA, J>
    where
        PA: Producer<Item = T>,
        CB: ProducerCallback<T>,
        J: JoinProducers,
    {
        type Output = CB::Output;
        fn callback<PB: Producer<Item = T>>(self, b: PB) -> CB::Output {
            self.callback
                .callback(J::join(self.a, self.a_len, b, self.b_len))
        }
    }
    let a_len = a.len();
    a.with_producer(First {
        callback,
        b,
        a_len,
        join: PhantomData::<J>,
    })
}
