//! `flat_map`, `flat_map_iter`, `flatten`, `flatten_iter`: each item becomes many.
//!
//! Invariant: the items an item becomes are handed on in their order, right after the items of
//! the items before it. `flat_map`'s inner parallel iterators are driven one after the other by
//! the folder that met their item, each on its own bridge, so they may split too; their results
//! are reduced onto the folder's result in order. Inner runs carry the outer run's offset as
//! their order key (their own indices mean nothing outside).

use super::{Key, Keyed, Stage, StageConsumer};
use crate::iter::plumbing::{Consumer, Folder};
use crate::iter::{IntoParallelIterator, ParallelIterator};

/// `flat_map`'s iterator.
#[derive(Clone, Debug)]
#[must_use = "iterator adapters do nothing until a terminal method runs them"]
pub struct FlatMap<I, F> {
    base: I,
    f: F,
}

impl<I, F> FlatMap<I, F> {
    pub(crate) fn new(base: I, f: F) -> Self {
        FlatMap { base, f }
    }
}

impl<I, F, PI> ParallelIterator for FlatMap<I, F>
where
    I: ParallelIterator,
    F: Fn(I::Item) -> PI + Sync + Send,
    PI: IntoParallelIterator,
{
    type Item = PI::Item;
    fn drive_unindexed<C: Consumer<PI::Item>>(self, consumer: C) -> C::Result {
        let FlatMap { base, f } = self;
        base.drive_unindexed(FlatMapConsumer {
            base: consumer,
            f: &f,
        })
    }
}

struct FlatMapConsumer<'f, C, F> {
    base: C,
    f: &'f F,
}

impl<C: Clone, F> Clone for FlatMapConsumer<'_, C, F> {
    fn clone(&self) -> Self {
        FlatMapConsumer {
            base: self.base.clone(),
            f: self.f,
        }
    }
}

impl<'f, T, C, F, PI> Consumer<T> for FlatMapConsumer<'f, C, F>
where
    F: Fn(T) -> PI + Sync + Send,
    PI: IntoParallelIterator,
    C: Consumer<PI::Item>,
{
    type Folder = FlatMapFolder<'f, C, F, C::Result>;
    type Result = C::Result;
    fn folder(&self, offset: usize) -> Self::Folder {
        FlatMapFolder {
            base: self.base.clone(),
            f: self.f,
            key: offset,
            result: None,
        }
    }
    fn reduce(&self, left: C::Result, right: C::Result) -> C::Result {
        self.base.reduce(left, right)
    }
    fn full(&self) -> bool {
        self.base.full()
    }
}

/// Drives each item's parallel iterator in turn, reducing the results in order.
struct FlatMapFolder<'f, C, F, R> {
    base: C,
    f: &'f F,
    key: usize,
    result: Option<R>,
}

impl<T, C, F, PI> Folder<T> for FlatMapFolder<'_, C, F, C::Result>
where
    F: Fn(T) -> PI + Sync + Send,
    PI: IntoParallelIterator,
    C: Consumer<PI::Item>,
{
    type Result = C::Result;
    fn consume(mut self, item: T) -> Self {
        let inner = (self.f)(item).into_par_iter().drive_unindexed(Keyed {
            base: &self.base,
            key: Key::Fixed(self.key),
        });
        self.result = Some(match self.result.take() {
            None => inner,
            Some(done) => self.base.reduce(done, inner),
        });
        self
    }
    fn complete(self) -> C::Result {
        match self.result {
            Some(result) => result,
            None => self.base.folder(self.key).complete(),
        }
    }
    fn full(&self) -> bool {
        self.base.full()
    }
}

/// `flatten`'s iterator: `flat_map` with the items themselves.
#[derive(Clone, Debug)]
#[must_use = "iterator adapters do nothing until a terminal method runs them"]
pub struct Flatten<I> {
    base: I,
}

impl<I> Flatten<I> {
    pub(crate) fn new(base: I) -> Self {
        Flatten { base }
    }
}

impl<I> ParallelIterator for Flatten<I>
where
    I: ParallelIterator,
    I::Item: IntoParallelIterator,
{
    type Item = <I::Item as IntoParallelIterator>::Item;
    fn drive_unindexed<C: Consumer<Self::Item>>(self, consumer: C) -> C::Result {
        FlatMap::new(self.base, |x| x).drive_unindexed(consumer)
    }
}

/// `flat_map_iter`'s iterator.
#[derive(Clone, Debug)]
#[must_use = "iterator adapters do nothing until a terminal method runs them"]
pub struct FlatMapIter<I, F> {
    base: I,
    f: F,
}

impl<I, F> FlatMapIter<I, F> {
    pub(crate) fn new(base: I, f: F) -> Self {
        FlatMapIter { base, f }
    }
}

struct FlatMapIterStage<'f, F>(&'f F);
impl<F> Clone for FlatMapIterStage<'_, F> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<F> Copy for FlatMapIterStage<'_, F> {}

impl<T, F, SI> Stage<T> for FlatMapIterStage<'_, F>
where
    F: Fn(T) -> SI + Sync + Send,
    SI: IntoIterator,
{
    type Out = SI::Item;
    type State = ();
    fn state(&self) {}
    #[inline]
    fn push<N: Folder<SI::Item>>(&self, (): &mut (), next: N, item: T) -> N {
        next.consume_iter((self.0)(item))
    }
    fn push_iter<N: Folder<SI::Item>, I: Iterator<Item = T>>(
        &self,
        (): &mut (),
        next: N,
        items: I,
    ) -> N {
        next.consume_iter(items.flat_map(self.0))
    }
}

impl<I, F, SI> ParallelIterator for FlatMapIter<I, F>
where
    I: ParallelIterator,
    F: Fn(I::Item) -> SI + Sync + Send,
    SI: IntoIterator,
    SI::Item: Send,
{
    type Item = SI::Item;
    fn drive_unindexed<C: Consumer<SI::Item>>(self, consumer: C) -> C::Result {
        let FlatMapIter { base, f } = self;
        base.drive_unindexed(StageConsumer {
            base: consumer,
            stage: FlatMapIterStage(&f),
        })
    }
}

/// `flatten_iter`'s iterator.
#[derive(Clone, Debug)]
#[must_use = "iterator adapters do nothing until a terminal method runs them"]
pub struct FlattenIter<I> {
    base: I,
}

impl<I> FlattenIter<I> {
    pub(crate) fn new(base: I) -> Self {
        FlattenIter { base }
    }
}

impl<I> ParallelIterator for FlattenIter<I>
where
    I: ParallelIterator,
    I::Item: IntoIterator,
    <I::Item as IntoIterator>::Item: Send,
{
    type Item = <I::Item as IntoIterator>::Item;
    fn drive_unindexed<C: Consumer<Self::Item>>(self, consumer: C) -> C::Result {
        FlatMapIter::new(self.base, |x| x).drive_unindexed(consumer)
    }
}
