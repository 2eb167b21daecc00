//! `fold`, `fold_with`, `try_fold`: one accumulator per run of items, handed on as an item.
//!
//! Invariant: a run's accumulator starts from `identity()` (or a clone of `init`), takes the
//! run's items in order, and is handed to the next folder exactly once, when the run completes;
//! `try_fold` stops feeding it at its first break and hands on the break.

use crate::iter::consumers::Try;
use crate::iter::plumbing::{Consumer, Folder};
use crate::iter::ParallelIterator;
use std::ops::ControlFlow;

/// `fold`'s iterator: its items are the accumulators of the runs.
#[derive(Clone, Debug)]
#[must_use = "iterator adapters do nothing until a terminal method runs them"]
pub struct Fold<I, ID, F> {
    base: I,
    identity: ID,
    fold: F,
}

impl<I, ID, F> Fold<I, ID, F> {
    pub(crate) fn new(base: I, identity: ID, fold: F) -> Self {
        Fold {
            base,
            identity,
            fold,
        }
    }
}

impl<I, ID, F, T> ParallelIterator for Fold<I, ID, F>
where
    I: ParallelIterator,
    F: Fn(T, I::Item) -> T + Sync + Send,
    ID: Fn() -> T + Sync + Send,
    T: Send,
{
    type Item = T;
    fn drive_unindexed<C: Consumer<T>>(self, consumer: C) -> C::Result {
        let Fold {
            base,
            identity,
            fold,
        } = self;
        base.drive_unindexed(FoldConsumer {
            base: consumer,
            identity: &identity,
            fold: &fold,
        })
    }
}

struct FoldConsumer<'f, C, ID, F> {
    base: C,
    identity: &'f ID,
    fold: &'f F,
}

impl<C: Clone, ID, F> Clone for FoldConsumer<'_, C, ID, F> {
    fn clone(&self) -> Self {
        FoldConsumer {
            base: self.base.clone(),
            identity: self.identity,
            fold: self.fold,
        }
    }
}

impl<'f, In, T, C, ID, F> Consumer<In> for FoldConsumer<'f, C, ID, F>
where
    C: Consumer<T>,
    F: Fn(T, In) -> T + Sync + Send,
    ID: Fn() -> T + Sync + Send,
    T: Send,
{
    type Folder = FoldFolder<'f, C::Folder, F, T>;
    type Result = C::Result;
    fn folder(&self, offset: usize) -> Self::Folder {
        FoldFolder {
            base: self.base.folder(offset),
            fold: self.fold,
            acc: (self.identity)(),
        }
    }
    fn reduce(&self, left: C::Result, right: C::Result) -> C::Result {
        self.base.reduce(left, right)
    }
    fn full(&self) -> bool {
        self.base.full()
    }
}

struct FoldFolder<'f, N, F, T> {
    base: N,
    fold: &'f F,
    acc: T,
}

impl<In, T, N, F> Folder<In> for FoldFolder<'_, N, F, T>
where
    N: Folder<T>,
    F: Fn(T, In) -> T + Sync + Send,
{
    type Result = N::Result;
    #[inline]
    fn consume(mut self, item: In) -> Self {
        self.acc = (self.fold)(self.acc, item);
        self
    }
    fn consume_iter<It: IntoIterator<Item = In>>(mut self, iter: It) -> Self {
        self.acc = iter.into_iter().fold(self.acc, self.fold);
        self
    }
    fn complete(self) -> N::Result {
        self.base.consume(self.acc).complete()
    }
    fn full(&self) -> bool {
        self.base.full()
    }
}

/// `fold_with`'s iterator.
#[derive(Clone, Debug)]
#[must_use = "iterator adapters do nothing until a terminal method runs them"]
pub struct FoldWith<I, T, F> {
    base: I,
    init: T,
    fold: F,
}

impl<I, T, F> FoldWith<I, T, F> {
    pub(crate) fn new(base: I, init: T, fold: F) -> Self {
        FoldWith { base, init, fold }
    }
}

impl<I, T, F> ParallelIterator for FoldWith<I, T, F>
where
    I: ParallelIterator,
    F: Fn(T, I::Item) -> T + Sync + Send,
    T: Send + Sync + Clone,
{
    type Item = T;
    fn drive_unindexed<C: Consumer<T>>(self, consumer: C) -> C::Result {
        let FoldWith { base, init, fold } = self;
        Fold::new(base, || init.clone(), fold).drive_unindexed(consumer)
    }
}

/// `try_fold`'s iterator: its items are the runs' results (a break, or the accumulator).
#[derive(Clone, Debug)]
#[must_use = "iterator adapters do nothing until a terminal method runs them"]
pub struct TryFold<I, R, ID, F> {
    base: I,
    identity: ID,
    fold: F,
    _result: std::marker::PhantomData<fn() -> R>,
}

impl<I, R, ID, F> TryFold<I, R, ID, F> {
    pub(crate) fn new(base: I, identity: ID, fold: F) -> Self {
        TryFold {
            base,
            identity,
            fold,
            _result: std::marker::PhantomData,
        }
    }
}

impl<I, R, ID, F, T> ParallelIterator for TryFold<I, R, ID, F>
where
    I: ParallelIterator,
    F: Fn(T, I::Item) -> R + Sync + Send,
    ID: Fn() -> T + Sync + Send,
    R: Try<Output = T> + Send,
{
    type Item = R;
    fn drive_unindexed<C: Consumer<R>>(self, consumer: C) -> C::Result {
        let TryFold {
            base,
            identity,
            fold,
            ..
        } = self;
        base.drive_unindexed(TryFoldConsumer {
            base: consumer,
            identity: &identity,
            fold: &fold,
        })
    }
}

struct TryFoldConsumer<'f, C, ID, F> {
    base: C,
    identity: &'f ID,
    fold: &'f F,
}

impl<C: Clone, ID, F> Clone for TryFoldConsumer<'_, C, ID, F> {
    fn clone(&self) -> Self {
        TryFoldConsumer {
            base: self.base.clone(),
            identity: self.identity,
            fold: self.fold,
        }
    }
}

impl<'f, In, T, R, C, ID, F> Consumer<In> for TryFoldConsumer<'f, C, ID, F>
where
    C: Consumer<R>,
    F: Fn(T, In) -> R + Sync + Send,
    ID: Fn() -> T + Sync + Send,
    R: Try<Output = T> + Send,
{
    type Folder = TryFoldFolder<'f, C::Folder, F, R, T>;
    type Result = C::Result;
    fn folder(&self, offset: usize) -> Self::Folder {
        TryFoldFolder {
            base: self.base.folder(offset),
            fold: self.fold,
            acc: ControlFlow::Continue((self.identity)()),
        }
    }
    fn reduce(&self, left: C::Result, right: C::Result) -> C::Result {
        self.base.reduce(left, right)
    }
    fn full(&self) -> bool {
        self.base.full()
    }
}

/// A run's accumulator, or the break that ended the run (it then takes no more items).
struct TryFoldFolder<'f, N, F, R, T> {
    base: N,
    fold: &'f F,
    acc: ControlFlow<R, T>,
}

impl<In, T, R, N, F> Folder<In> for TryFoldFolder<'_, N, F, R, T>
where
    N: Folder<R>,
    F: Fn(T, In) -> R + Sync + Send,
    R: Try<Output = T>,
{
    type Result = N::Result;
    fn consume(mut self, item: In) -> Self {
        if let ControlFlow::Continue(t) = self.acc {
            self.acc = match (self.fold)(t, item).branch() {
                ControlFlow::Continue(t) => ControlFlow::Continue(t),
                ControlFlow::Break(r) => ControlFlow::Break(R::from_residual(r)),
            };
        }
        self
    }
    fn complete(self) -> N::Result {
        let result = match self.acc {
            ControlFlow::Continue(t) => R::from_output(t),
            ControlFlow::Break(r) => r,
        };
        self.base.consume(result).complete()
    }
    fn full(&self) -> bool {
        self.acc.is_break() || self.base.full()
    }
}
