//! The one-item-in, one-item-out adapters: `map`, `map_with`, `map_init`, `inspect`, `update`,
//! `copied`, `cloned`. They share one implementation, [`Mapped`], over a [`MapOp`].
//!
//! Invariant: each item is passed to the op exactly once and its output handed on, in order;
//! per-run state (`map_with`'s clone, `map_init`'s value) lives for one run of items on one
//! thread and is never shared.

use super::Stage;
use crate::iter::plumbing::{Consumer, Folder, Producer, ProducerCallback};
use crate::iter::{IndexedParallelIterator, ParallelIterator};

/// What a [`Mapped`] adapter does to each item. Implemented by corepool's adapters only.
#[doc(hidden)]
pub trait MapOp<T>: Send + Sync + sealed::Sealed {
    type Output: Send;
    type State;
    fn state(&self) -> Self::State;
    fn apply(&self, state: &mut Self::State, item: T) -> Self::Output;
}

mod sealed {
    pub trait Sealed {}
}

/// A parallel iterator that applies an op to every item; see the aliases [`Map`], [`MapWith`],
/// [`MapInit`], [`Inspect`], [`Update`], [`Copied`], [`Cloned`].
#[derive(Clone, Debug)]
#[must_use = "iterator adapters do nothing until a terminal method runs them"]
pub struct Mapped<I, O> {
    base: I,
    op: O,
}

impl<I, O> Mapped<I, O> {
    pub(crate) fn new(base: I, op: O) -> Self {
        Mapped { base, op }
    }
}

/// `map`'s iterator.
pub type Map<I, F> = Mapped<I, MapFn<F>>;
/// `map_with`'s iterator.
pub type MapWith<I, T, F> = Mapped<I, MapWithFn<T, F>>;
/// `map_init`'s iterator.
pub type MapInit<I, INIT, F> = Mapped<I, MapInitFn<INIT, F>>;
/// `inspect`'s iterator.
pub type Inspect<I, F> = Mapped<I, InspectFn<F>>;
/// `update`'s iterator.
pub type Update<I, F> = Mapped<I, UpdateFn<F>>;
/// `copied`'s iterator.
pub type Copied<I> = Mapped<I, CopyFn>;
/// `cloned`'s iterator.
pub type Cloned<I> = Mapped<I, CloneFn>;

#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct MapFn<F>(pub(crate) F);
impl<F> sealed::Sealed for MapFn<F> {}
impl<T, R: Send, F: Fn(T) -> R + Send + Sync> MapOp<T> for MapFn<F> {
    type Output = R;
    type State = ();
    fn state(&self) {}
    #[inline]
    fn apply(&self, (): &mut (), item: T) -> R {
        (self.0)(item)
    }
}

#[doc(hidden)]
#[derive(Clone, Debug)]
pub struct MapWithFn<T, F>(pub(crate) T, pub(crate) F);
impl<T, F> sealed::Sealed for MapWithFn<T, F> {}
impl<In, T, R, F> MapOp<In> for MapWithFn<T, F>
where
    T: Clone + Send + Sync,
    R: Send,
    F: Fn(&mut T, In) -> R + Send + Sync,
{
    type Output = R;
    type State = T;
    fn state(&self) -> T {
        self.0.clone()
    }
    #[inline]
    fn apply(&self, state: &mut T, item: In) -> R {
        (self.1)(state, item)
    }
}

#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct MapInitFn<INIT, F>(pub(crate) INIT, pub(crate) F);
impl<INIT, F> sealed::Sealed for MapInitFn<INIT, F> {}
impl<In, T, R, INIT, F> MapOp<In> for MapInitFn<INIT, F>
where
    R: Send,
    INIT: Fn() -> T + Send + Sync,
    F: Fn(&mut T, In) -> R + Send + Sync,
{
    type Output = R;
    type State = T;
    fn state(&self) -> T {
        (self.0)()
    }
    #[inline]
    fn apply(&self, state: &mut T, item: In) -> R {
        (self.1)(state, item)
    }
}

#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct InspectFn<F>(pub(crate) F);
impl<F> sealed::Sealed for InspectFn<F> {}
impl<T: Send, F: Fn(&T) + Send + Sync> MapOp<T> for InspectFn<F> {
    type Output = T;
    type State = ();
    fn state(&self) {}
    #[inline]
    fn apply(&self, (): &mut (), item: T) -> T {
        (self.0)(&item);
        item
    }
}

#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct UpdateFn<F>(pub(crate) F);
impl<F> sealed::Sealed for UpdateFn<F> {}
impl<T: Send, F: Fn(&mut T) + Send + Sync> MapOp<T> for UpdateFn<F> {
    type Output = T;
    type State = ();
    fn state(&self) {}
    #[inline]
    fn apply(&self, (): &mut (), mut item: T) -> T {
        (self.0)(&mut item);
        item
    }
}

#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct CopyFn;
impl sealed::Sealed for CopyFn {}
impl<'a, T: Copy + Send + Sync + 'a> MapOp<&'a T> for CopyFn {
    type Output = T;
    type State = ();
    fn state(&self) {}
    #[inline]
    fn apply(&self, (): &mut (), item: &'a T) -> T {
        *item
    }
}

#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct CloneFn;
impl sealed::Sealed for CloneFn {}
impl<'a, T: Clone + Send + Sync + 'a> MapOp<&'a T> for CloneFn {
    type Output = T;
    type State = ();
    fn state(&self) {}
    #[inline]
    fn apply(&self, (): &mut (), item: &'a T) -> T {
        item.clone()
    }
}

/// A [`MapOp`] as a consumer-side [`Stage`].
struct AsStage<'o, O>(&'o O);

impl<O> Clone for AsStage<'_, O> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<O> Copy for AsStage<'_, O> {}

impl<T, O: MapOp<T>> Stage<T> for AsStage<'_, O> {
    type Out = O::Output;
    type State = O::State;
    fn state(&self) -> O::State {
        self.0.state()
    }
    #[inline]
    fn push<F: Folder<O::Output>>(&self, state: &mut O::State, next: F, item: T) -> F {
        next.consume(self.0.apply(state, item))
    }
    fn push_iter<F, I>(&self, state: &mut O::State, next: F, items: I) -> F
    where
        F: Folder<O::Output>,
        I: Iterator<Item = T>,
    {
        next.consume_iter(items.map(|item| self.0.apply(state, item)))
    }
}

impl<I, O> ParallelIterator for Mapped<I, O>
where
    I: ParallelIterator,
    O: MapOp<I::Item>,
{
    type Item = O::Output;

    fn drive_unindexed<C: Consumer<O::Output>>(self, consumer: C) -> C::Result {
        let Mapped { base, op } = self;
        base.drive_unindexed(super::StageConsumer {
            base: consumer,
            stage: AsStage(&op),
        })
    }

    fn opt_len(&self) -> Option<usize> {
        self.base.opt_len()
    }

    fn exact_offsets(&self) -> Option<crate::iter::Exact<Self>> {
        self.base.exact_offsets()?;
        // SAFETY: a map stage hands each item on as one item to the folder of the same run,
        // so the runs and their offsets are its base's.
        Some(unsafe { crate::iter::Exact::new() })
    }
}

impl<I, O> IndexedParallelIterator for Mapped<I, O>
where
    I: IndexedParallelIterator,
    O: MapOp<I::Item>,
{
    fn len(&self) -> usize {
        self.base.len()
    }

    fn with_producer<CB: ProducerCallback<O::Output>>(self, callback: CB) -> CB::Output {
        struct Callback<'o, CB, O> {
            callback: CB,
            op: &'o O,
        }
        impl<T, CB: ProducerCallback<O::Output>, O: MapOp<T>> ProducerCallback<T> for Callback<'_, CB, O> {
            type Output = CB::Output;
            fn callback<P: Producer<Item = T>>(self, base: P) -> CB::Output {
                self.callback.callback(MapProducer { base, op: self.op })
            }
        }
        let Mapped { base, op } = self;
        base.with_producer(Callback { callback, op: &op })
    }
}

struct MapProducer<'o, P, O> {
    base: P,
    op: &'o O,
}

impl<'o, P: Producer, O: MapOp<P::Item>> Producer for MapProducer<'o, P, O> {
    type Item = O::Output;
    type IntoIter = MapIter<'o, P::IntoIter, O>;
    fn into_iter(self) -> Self::IntoIter {
        MapIter {
            iter: self.base.into_iter(),
            state: self.op.state(),
            op: self.op,
        }
    }
    fn min_len(&self) -> usize {
        self.base.min_len()
    }
    fn max_len(&self) -> usize {
        self.base.max_len()
    }
    fn split_at(self, index: usize) -> (Self, Self) {
        let (a, b) = self.base.split_at(index);
        (
            MapProducer {
                base: a,
                op: self.op,
            },
            MapProducer {
                base: b,
                op: self.op,
            },
        )
    }
}

/// The sequential iterator of a [`MapProducer`] (one op state per block).
struct MapIter<'o, I: Iterator, O: MapOp<I::Item>> {
    iter: I,
    op: &'o O,
    state: O::State,
}

impl<I: Iterator, O: MapOp<I::Item>> Iterator for MapIter<'_, I, O> {
    type Item = O::Output;
    #[inline]
    fn next(&mut self) -> Option<O::Output> {
        let item = self.iter.next()?;
        Some(self.op.apply(&mut self.state, item))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.iter.size_hint()
    }
}

impl<I: DoubleEndedIterator, O: MapOp<I::Item>> DoubleEndedIterator for MapIter<'_, I, O> {
    #[inline]
    fn next_back(&mut self) -> Option<O::Output> {
        let item = self.iter.next_back()?;
        Some(self.op.apply(&mut self.state, item))
    }
}

impl<I: ExactSizeIterator, O: MapOp<I::Item>> ExactSizeIterator for MapIter<'_, I, O> {}
