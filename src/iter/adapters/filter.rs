//! `filter`, `filter_map`, `positions` and `while_some`: stages that drop items, so the chain
//! after them has no length.
//!
//! Invariant: every item reaches the predicate exactly once; kept items go on in order, and
//! dropped ones are dropped right there.

use super::{Enumerate, Stage, StageConsumer};
use crate::iter::plumbing::{Consumer, Folder};
use crate::iter::{IndexedParallelIterator, ParallelIterator};
use crate::sync::atomic::{AtomicBool, Ordering};

/// `filter`'s iterator.
#[derive(Clone, Debug)]
#[must_use = "iterator adapters do nothing until a terminal method runs them"]
pub struct Filter<I, P> {
    base: I,
    pred: P,
}

impl<I, P> Filter<I, P> {
    pub(crate) fn new(base: I, pred: P) -> Self {
        Filter { base, pred }
    }
}

struct FilterStage<'p, P>(&'p P);
impl<P> Clone for FilterStage<'_, P> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<P> Copy for FilterStage<'_, P> {}

impl<T, P: Fn(&T) -> bool + Sync + Send> Stage<T> for FilterStage<'_, P> {
    type Out = T;
    type State = ();
    fn state(&self) {}
    #[inline]
    fn push<F: Folder<T>>(&self, (): &mut (), next: F, item: T) -> F {
        if (self.0)(&item) {
            next.consume(item)
        } else {
            next
        }
    }
    fn push_iter<F: Folder<T>, I: Iterator<Item = T>>(&self, (): &mut (), next: F, items: I) -> F {
        next.consume_iter(items.filter(self.0))
    }
}

impl<I, P> ParallelIterator for Filter<I, P>
where
    I: ParallelIterator,
    P: Fn(&I::Item) -> bool + Sync + Send,
{
    type Item = I::Item;
    fn drive_unindexed<C: Consumer<I::Item>>(self, consumer: C) -> C::Result {
        let Filter { base, pred } = self;
        base.drive_unindexed(StageConsumer {
            base: consumer,
            stage: FilterStage(&pred),
        })
    }
}

/// `filter_map`'s iterator.
#[derive(Clone, Debug)]
#[must_use = "iterator adapters do nothing until a terminal method runs them"]
pub struct FilterMap<I, P> {
    base: I,
    f: P,
}

impl<I, P> FilterMap<I, P> {
    pub(crate) fn new(base: I, f: P) -> Self {
        FilterMap { base, f }
    }
}

struct FilterMapStage<'p, P>(&'p P);
impl<P> Clone for FilterMapStage<'_, P> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<P> Copy for FilterMapStage<'_, P> {}

impl<T, R, P: Fn(T) -> Option<R> + Sync + Send> Stage<T> for FilterMapStage<'_, P> {
    type Out = R;
    type State = ();
    fn state(&self) {}
    #[inline]
    fn push<F: Folder<R>>(&self, (): &mut (), next: F, item: T) -> F {
        match (self.0)(item) {
            Some(r) => next.consume(r),
            None => next,
        }
    }
    fn push_iter<F: Folder<R>, I: Iterator<Item = T>>(&self, (): &mut (), next: F, items: I) -> F {
        next.consume_iter(items.filter_map(self.0))
    }
}

impl<I, P, R> ParallelIterator for FilterMap<I, P>
where
    I: ParallelIterator,
    P: Fn(I::Item) -> Option<R> + Sync + Send,
    R: Send,
{
    type Item = R;
    fn drive_unindexed<C: Consumer<R>>(self, consumer: C) -> C::Result {
        let FilterMap { base, f } = self;
        base.drive_unindexed(StageConsumer {
            base: consumer,
            stage: FilterMapStage(&f),
        })
    }
}

/// `positions`' iterator: the indices of the items for which the predicate holds.
#[derive(Clone, Debug)]
#[must_use = "iterator adapters do nothing until a terminal method runs them"]
pub struct Positions<I, P> {
    base: I,
    pred: P,
}

impl<I, P> Positions<I, P> {
    pub(crate) fn new(base: I, pred: P) -> Self {
        Positions { base, pred }
    }
}

impl<I, P> ParallelIterator for Positions<I, P>
where
    I: IndexedParallelIterator,
    P: Fn(I::Item) -> bool + Sync + Send,
{
    type Item = usize;
    fn drive_unindexed<C: Consumer<usize>>(self, consumer: C) -> C::Result {
        let Positions { base, pred } = self;
        let keep = |(i, item)| pred(item).then_some(i);
        Enumerate::new(base)
            .filter_map(keep)
            .drive_unindexed(consumer)
    }
}

/// `while_some`'s iterator: the values up to the first `None` met (in time: pieces past it
/// stop at their next item, pieces before it may still hand on theirs).
#[derive(Clone, Debug)]
#[must_use = "iterator adapters do nothing until a terminal method runs them"]
pub struct WhileSome<I> {
    base: I,
}

impl<I> WhileSome<I> {
    pub(crate) fn new(base: I) -> Self {
        WhileSome { base }
    }
}

impl<T: Send, I: ParallelIterator<Item = Option<T>>> ParallelIterator for WhileSome<I> {
    type Item = T;
    fn drive_unindexed<C: Consumer<T>>(self, consumer: C) -> C::Result {
        let stop = AtomicBool::new(false);
        WhileSomeFlag {
            base: self.base,
            stop: &stop,
        }
        .drive_unindexed(consumer)
    }
}

/// `while_some` with the stop flag the caller reads afterwards (`collect` into an `Option`).
pub(crate) struct WhileSomeFlag<'s, I> {
    pub(crate) base: I,
    pub(crate) stop: &'s AtomicBool,
}

impl<T: Send, I: ParallelIterator<Item = Option<T>>> ParallelIterator for WhileSomeFlag<'_, I> {
    type Item = T;
    fn drive_unindexed<C: Consumer<T>>(self, consumer: C) -> C::Result {
        self.base.drive_unindexed(WhileSomeConsumer {
            base: consumer,
            stop: self.stop,
        })
    }
}

#[derive(Clone)]
struct WhileSomeConsumer<'s, C> {
    base: C,
    stop: &'s AtomicBool,
}

impl<'s, T, C: Consumer<T>> Consumer<Option<T>> for WhileSomeConsumer<'s, C> {
    type Folder = WhileSomeConsumer<'s, C::Folder>;
    type Result = C::Result;
    fn folder(&self, offset: usize) -> Self::Folder {
        WhileSomeConsumer {
            base: self.base.folder(offset),
            stop: self.stop,
        }
    }
    fn reduce(&self, left: C::Result, right: C::Result) -> C::Result {
        self.base.reduce(left, right)
    }
    fn full(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.base.full()
    }
}

impl<T, F: Folder<T>> Folder<Option<T>> for WhileSomeConsumer<'_, F> {
    type Result = F::Result;
    fn consume(mut self, item: Option<T>) -> Self {
        match item {
            Some(t) => self.base = self.base.consume(t),
            None => self.stop.store(true, Ordering::Relaxed),
        }
        self
    }
    fn complete(self) -> F::Result {
        self.base.complete()
    }
    fn full(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.base.full()
    }
}
