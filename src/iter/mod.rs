//! Composable parallel iterators with rayon's names (issue #19).
//!
//! `use corepool::prelude::*;` brings in the traits; a chain such as
//! `v.par_iter().filter(..).map(..).sum()` then runs on corepool: on the current worker's pool
//! inside a worker, on the global pool outside, on a given pool inside
//! [`Pool::install`](crate::Pool::install) or after [`ParallelIterator::with_pool`].
//!
//! Invariants (every adapter, source and consumer keeps them; see [`plumbing`] for the driver's):
//! - Every item a source produces is handed to the next stage exactly once, and every item
//!   that stage makes is either consumed or dropped exactly once, also when a closure panics or a
//!   search stops early.
//! - Ordered consumers (`collect`, `find_first`, `reduce`, ...) see the items in input order:
//!   results of pieces are only ever reduced left to right.
//! - A panic in a closure stops the other pieces at their next block and is re-raised on the
//!   caller once every piece has stopped; nothing half-built is returned.
//! - A chain moves onto a worker once, at its terminal operation, and splits only there.

pub mod plumbing;

mod adapters;
mod collect;
pub(crate) mod consumers;
pub(crate) mod sources;

pub use adapters::{
    Chain, Chunks, Cloned, Copied, Enumerate, Filter, FilterMap, FlatMap, FlatMapIter, Flatten,
    FlattenIter, Fold, FoldWith, Inspect, Interleave, Map, MapInit, MapWith, Mapped, MaxLen,
    MinLen, Positions, Rev, Skip, StepBy, Take, TryFold, Update, WhileSome, WithPool, Zip, ZipEq,
};
pub use consumers::Try;
pub use plumbing::skipped_items;
pub use sources::{
    Bridge, BytesIter, CharsIter, ChunksExactIter, ChunksExactMutIter, ChunksIter, ChunksMutIter,
    LinesIter, OptionIter, ParallelBridge, ParallelDrainFull, ParallelDrainRange, ParallelSlice,
    ParallelSliceMut, ParallelString, RangeIter, SliceIter, SliceIterMut, SplitIter,
    SplitWhitespaceIter, VecIntoIter, WindowsIter,
};

use plumbing::{Consumer, ProducerCallback};
use std::cmp::Ordering;
use std::iter::{Product, Sum};

/// The number of workers a chain plans for: the current worker's pool, else the pool used
/// off the workers.
pub(crate) fn current_threads() -> usize {
    plumbing::joiner::Joiner::Current.threads()
}

/// A parallel iterator (rayon's `ParallelIterator`): a chain of adapters over a source, run
/// by one of the terminal methods (`for_each`, `sum`, `collect`, ...).
///
/// ```
/// use corepool::prelude::*;
/// let v: Vec<u64> = (1..=100).collect();
/// let even_squares: u64 = v.par_iter().filter(|&&x| x % 2 == 0).map(|&x| x * x).sum();
/// assert_eq!(even_squares, v.iter().filter(|&&x| x % 2 == 0).map(|&x| x * x).sum::<u64>());
/// ```
pub trait ParallelIterator: Sized + Send {
    /// The items.
    type Item: Send;

    /// Feeds every item into `consumer` (the method sources and adapters implement; users
    /// call the terminal methods instead).
    fn drive_unindexed<C>(self, consumer: C) -> C::Result
    where
        C: Consumer<Self::Item>;

    /// The exact number of items, if known without running the chain.
    fn opt_len(&self) -> Option<usize> {
        None
    }

    /// Proof that this iterator's `drive_unindexed` gives every run the exact index of its
    /// first item, with runs disjoint, as corepool's bridge does: what lets `collect` write
    /// straight into a `Vec`. Only corepool's sources and adapters can give it; any other
    /// iterator is collected through per-run buffers instead.
    #[doc(hidden)]
    fn exact_offsets(&self) -> Option<Exact<Self>> {
        None
    }

    /// Runs this chain on `pool` instead of the current one (an alternative to
    /// [`Pool::install`](crate::Pool::install)).
    fn with_pool(self, pool: &crate::Pool) -> WithPool<'_, Self> {
        WithPool::new(self, pool)
    }

    // ---- adapters ----

    /// Applies `f` to every item.
    fn map<F, R>(self, f: F) -> Map<Self, F>
    where
        F: Fn(Self::Item) -> R + Sync + Send,
        R: Send,
    {
        Mapped::new(self, adapters::MapFn(f))
    }

    /// Applies `f` to every item with a `&mut` clone of `init`, one clone per run of items
    /// (`T` is shared by reference to make the clones, so it must also be `Sync`).
    fn map_with<F, T, R>(self, init: T, f: F) -> MapWith<Self, T, F>
    where
        F: Fn(&mut T, Self::Item) -> R + Sync + Send,
        T: Send + Sync + Clone,
        R: Send,
    {
        Mapped::new(self, adapters::MapWithFn(init, f))
    }

    /// Applies `f` to every item with a `&mut` value made by `init`, once per run of items
    /// (a buffer, a random generator).
    fn map_init<F, INIT, T, R>(self, init: INIT, f: F) -> MapInit<Self, INIT, F>
    where
        F: Fn(&mut T, Self::Item) -> R + Sync + Send,
        INIT: Fn() -> T + Sync + Send,
        R: Send,
    {
        Mapped::new(self, adapters::MapInitFn(init, f))
    }

    /// Calls `f` on a reference to every item as it passes.
    fn inspect<F>(self, f: F) -> Inspect<Self, F>
    where
        F: Fn(&Self::Item) + Sync + Send,
    {
        Mapped::new(self, adapters::InspectFn(f))
    }

    /// Lets `f` modify every item in place as it passes.
    fn update<F>(self, f: F) -> Update<Self, F>
    where
        F: Fn(&mut Self::Item) + Sync + Send,
    {
        Mapped::new(self, adapters::UpdateFn(f))
    }

    /// Copies every `&T` item.
    fn copied<'a, T>(self) -> Copied<Self>
    where
        T: 'a + Copy + Send + Sync,
        Self: ParallelIterator<Item = &'a T>,
    {
        Mapped::new(self, adapters::CopyFn)
    }

    /// Clones every `&T` item.
    fn cloned<'a, T>(self) -> Cloned<Self>
    where
        T: 'a + Clone + Send + Sync,
        Self: ParallelIterator<Item = &'a T>,
    {
        Mapped::new(self, adapters::CloneFn)
    }

    /// Keeps the items for which `pred` is true.
    fn filter<P>(self, pred: P) -> Filter<Self, P>
    where
        P: Fn(&Self::Item) -> bool + Sync + Send,
    {
        Filter::new(self, pred)
    }

    /// Maps every item to an `Option` and keeps the `Some`s.
    fn filter_map<P, R>(self, f: P) -> FilterMap<Self, P>
    where
        P: Fn(Self::Item) -> Option<R> + Sync + Send,
        R: Send,
    {
        FilterMap::new(self, f)
    }

    /// Maps every item to a parallel iterator and flattens the results.
    fn flat_map<F, PI>(self, f: F) -> FlatMap<Self, F>
    where
        F: Fn(Self::Item) -> PI + Sync + Send,
        PI: IntoParallelIterator,
    {
        FlatMap::new(self, f)
    }

    /// Maps every item to a sequential iterator and flattens the results (cheaper than
    /// `flat_map` when each item yields a few items).
    fn flat_map_iter<F, SI>(self, f: F) -> FlatMapIter<Self, F>
    where
        F: Fn(Self::Item) -> SI + Sync + Send,
        SI: IntoIterator,
        SI::Item: Send,
    {
        FlatMapIter::new(self, f)
    }

    /// The values of `Some` items, up to the first `None` met; the other pieces stop at their
    /// next item.
    ///
    /// ```
    /// use corepool::prelude::*;
    /// let all: Vec<u32> = (0..100u32).into_par_iter().map(Some).while_some().collect();
    /// assert_eq!(all.len(), 100);
    /// let cut: Vec<u32> = (0..100u32).into_par_iter().map(|x| (x != 5).then_some(x)).while_some().collect();
    /// assert!(!cut.contains(&5) && cut.len() < 100);
    /// ```
    fn while_some<T>(self) -> WhileSome<Self>
    where
        Self: ParallelIterator<Item = Option<T>>,
        T: Send,
    {
        WhileSome::new(self)
    }

    /// Flattens items that are themselves parallel iterators.
    fn flatten(self) -> Flatten<Self>
    where
        Self::Item: IntoParallelIterator,
    {
        Flatten::new(self)
    }

    /// Flattens items that are sequential iterators.
    fn flatten_iter(self) -> FlattenIter<Self>
    where
        Self::Item: IntoIterator,
        <Self::Item as IntoIterator>::Item: Send,
    {
        FlattenIter::new(self)
    }

    /// This iterator's items, then `other`'s.
    fn chain<C>(self, other: C) -> Chain<Self, C::Iter>
    where
        C: IntoParallelIterator<Item = Self::Item>,
    {
        Chain::new(self, other.into_par_iter())
    }

    // ---- consumers ----

    /// Calls `op` on every item.
    fn for_each<OP>(self, op: OP)
    where
        OP: Fn(Self::Item) + Sync + Send,
    {
        consumers::for_each(self, &op)
    }

    /// Calls `op` on every item with a `&mut` clone of `init`, one clone per run of items.
    fn for_each_with<OP, T>(self, init: T, op: OP)
    where
        OP: Fn(&mut T, Self::Item) + Sync + Send,
        T: Send + Sync + Clone,
    {
        self.map_with(init, op).for_each(drop)
    }

    /// Calls `op` on every item with a `&mut` value made by `init`, once per run of items.
    fn for_each_init<OP, INIT, T>(self, init: INIT, op: OP)
    where
        OP: Fn(&mut T, Self::Item) + Sync + Send,
        INIT: Fn() -> T + Sync + Send,
    {
        self.map_init(init, op).for_each(drop)
    }

    /// Calls `op` on every item until one returns an error (or `None`), which is returned;
    /// the other pieces stop at their next item.
    fn try_for_each<OP, R>(self, op: OP) -> R
    where
        OP: Fn(Self::Item) -> R + Sync + Send,
        R: Try<Output = ()> + Send,
    {
        self.map(op).try_reduce(|| (), |(), ()| R::from_output(()))
    }

    /// `try_for_each` with a `&mut` clone of `init` per run of items.
    fn try_for_each_with<OP, T, R>(self, init: T, op: OP) -> R
    where
        OP: Fn(&mut T, Self::Item) -> R + Sync + Send,
        T: Send + Sync + Clone,
        R: Try<Output = ()> + Send,
    {
        self.map_with(init, op)
            .try_reduce(|| (), |(), ()| R::from_output(()))
    }

    /// `try_for_each` with a `&mut` value made by `init` per run of items.
    fn try_for_each_init<OP, INIT, T, R>(self, init: INIT, op: OP) -> R
    where
        OP: Fn(&mut T, Self::Item) -> R + Sync + Send,
        INIT: Fn() -> T + Sync + Send,
        R: Try<Output = ()> + Send,
    {
        self.map_init(init, op)
            .try_reduce(|| (), |(), ()| R::from_output(()))
    }

    /// Reduces the items with an associative `op`, starting every run from `identity()`.
    fn reduce<OP, ID>(self, identity: ID, op: OP) -> Self::Item
    where
        OP: Fn(Self::Item, Self::Item) -> Self::Item + Sync + Send,
        ID: Fn() -> Self::Item + Sync + Send,
    {
        consumers::reduce(self, &identity, &op)
    }

    /// Reduces the items with an associative `op`; `None` if there are none.
    fn reduce_with<OP>(self, op: OP) -> Option<Self::Item>
    where
        OP: Fn(Self::Item, Self::Item) -> Self::Item + Sync + Send,
    {
        self.map(Some).reduce(
            || None,
            |a, b| match (a, b) {
                (Some(a), Some(b)) => Some(op(a, b)),
                (a, None) => a,
                (None, b) => b,
            },
        )
    }

    /// Like `reduce`, for items that are `Option`s or `Result`s: stops at the first `None` or
    /// error and returns it.
    fn try_reduce<T, OP, ID>(self, identity: ID, op: OP) -> Self::Item
    where
        OP: Fn(T, T) -> Self::Item + Sync + Send,
        ID: Fn() -> T + Sync + Send,
        Self::Item: Try<Output = T>,
        T: Send,
    {
        consumers::try_reduce(self, &identity, &op)
    }

    /// Folds each run of items into an accumulator started from `identity()`; the result is a
    /// parallel iterator of accumulators (one per run), usually reduced next.
    fn fold<T, ID, F>(self, identity: ID, fold_op: F) -> Fold<Self, ID, F>
    where
        F: Fn(T, Self::Item) -> T + Sync + Send,
        ID: Fn() -> T + Sync + Send,
        T: Send,
    {
        Fold::new(self, identity, fold_op)
    }

    /// `fold` with an accumulator cloned from `init`.
    fn fold_with<F, T>(self, init: T, fold_op: F) -> FoldWith<Self, T, F>
    where
        F: Fn(T, Self::Item) -> T + Sync + Send,
        T: Send + Clone,
    {
        FoldWith::new(self, init, fold_op)
    }

    /// `fold` for `Option`/`Result` accumulators: a run stops at its first `None` or error.
    fn try_fold<T, R, ID, F>(self, identity: ID, fold_op: F) -> TryFold<Self, R, ID, F>
    where
        F: Fn(T, Self::Item) -> R + Sync + Send,
        ID: Fn() -> T + Sync + Send,
        R: Try<Output = T> + Send,
    {
        TryFold::new(self, identity, fold_op)
    }

    /// The sum of the items.
    fn sum<S>(self) -> S
    where
        S: Send + Sum<Self::Item> + Sum<S>,
    {
        consumers::sum(self)
    }

    /// The product of the items.
    fn product<P>(self) -> P
    where
        P: Send + Product<Self::Item> + Product<P>,
    {
        consumers::product(self)
    }

    /// The number of items.
    fn count(self) -> usize {
        self.map(|_| 1usize).sum()
    }

    /// The least item (the first of equal ones, as `std`'s `min`).
    fn min(self) -> Option<Self::Item>
    where
        Self::Item: Ord,
    {
        self.min_by(Ord::cmp)
    }

    /// The least item by `f` (the first of equal ones).
    fn min_by<F>(self, f: F) -> Option<Self::Item>
    where
        F: Fn(&Self::Item, &Self::Item) -> Ordering + Sync + Send,
    {
        self.reduce_with(|a, b| if f(&b, &a) == Ordering::Less { b } else { a })
    }

    /// The item with the least key (the first of equal ones).
    fn min_by_key<K, F>(self, f: F) -> Option<Self::Item>
    where
        K: Ord + Send,
        F: Fn(&Self::Item) -> K + Sync + Send,
    {
        self.map(|x| (f(&x), x))
            .min_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, x)| x)
    }

    /// The greatest item (the last of equal ones, as `std` does).
    fn max(self) -> Option<Self::Item>
    where
        Self::Item: Ord,
    {
        self.max_by(Ord::cmp)
    }

    /// The greatest item by `f` (the last of equal ones).
    fn max_by<F>(self, f: F) -> Option<Self::Item>
    where
        F: Fn(&Self::Item, &Self::Item) -> Ordering + Sync + Send,
    {
        self.reduce_with(|a, b| if f(&a, &b) == Ordering::Greater { a } else { b })
    }

    /// The item with the greatest key (the last of equal ones).
    fn max_by_key<K, F>(self, f: F) -> Option<Self::Item>
    where
        K: Ord + Send,
        F: Fn(&Self::Item) -> K + Sync + Send,
    {
        self.map(|x| (f(&x), x))
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, x)| x)
    }

    /// True if `pred` holds for some item; stops the other pieces once one is found.
    fn any<P>(self, pred: P) -> bool
    where
        P: Fn(Self::Item) -> bool + Sync + Send,
    {
        self.map(pred).find_any(|&hit| hit).is_some()
    }

    /// True if `pred` holds for every item; stops the other pieces at the first that fails.
    fn all<P>(self, pred: P) -> bool
    where
        P: Fn(Self::Item) -> bool + Sync + Send,
    {
        self.map(pred).find_any(|&ok| !ok).is_none()
    }

    /// Some item for which `pred` holds, whichever is found first in time.
    fn find_any<P>(self, pred: P) -> Option<Self::Item>
    where
        P: Fn(&Self::Item) -> bool + Sync + Send,
    {
        consumers::find(self, &pred, consumers::Find::Any)
    }

    /// The first item, in input order, for which `pred` holds.
    fn find_first<P>(self, pred: P) -> Option<Self::Item>
    where
        P: Fn(&Self::Item) -> bool + Sync + Send,
    {
        consumers::find(self, &pred, consumers::Find::First)
    }

    /// The last item, in input order, for which `pred` holds.
    fn find_last<P>(self, pred: P) -> Option<Self::Item>
    where
        P: Fn(&Self::Item) -> bool + Sync + Send,
    {
        consumers::find(self, &pred, consumers::Find::Last)
    }

    /// Some `Some` that `f` returns, whichever is found first in time.
    fn find_map_any<P, R>(self, f: P) -> Option<R>
    where
        P: Fn(Self::Item) -> Option<R> + Sync + Send,
        R: Send,
    {
        self.filter_map(f).find_any(|_| true)
    }

    /// The first `Some` that `f` returns, in input order.
    fn find_map_first<P, R>(self, f: P) -> Option<R>
    where
        P: Fn(Self::Item) -> Option<R> + Sync + Send,
        R: Send,
    {
        self.filter_map(f).find_first(|_| true)
    }

    /// The last `Some` that `f` returns, in input order.
    fn find_map_last<P, R>(self, f: P) -> Option<R>
    where
        P: Fn(Self::Item) -> Option<R> + Sync + Send,
        R: Send,
    {
        self.filter_map(f).find_last(|_| true)
    }

    /// Collects the items into any [`FromParallelIterator`] collection, in input order where
    /// the collection has one.
    fn collect<C>(self) -> C
    where
        C: FromParallelIterator<Self::Item>,
    {
        C::from_par_iter(self)
    }

    /// Splits pairs into two collections.
    fn unzip<A, B, FromA, FromB>(self) -> (FromA, FromB)
    where
        Self: ParallelIterator<Item = (A, B)>,
        FromA: Default + Send + ParallelExtend<A>,
        FromB: Default + Send + ParallelExtend<B>,
        A: Send,
        B: Send,
    {
        collect::unzip(self)
    }

    /// Splits the items into those for which `pred` holds and the rest.
    fn partition<A, B, P>(self, pred: P) -> (A, B)
    where
        A: Default + Send + ParallelExtend<Self::Item>,
        B: Default + Send + ParallelExtend<Self::Item>,
        P: Fn(&Self::Item) -> bool + Sync + Send,
    {
        self.partition_map(|x| {
            if pred(&x) {
                Either::Left(x)
            } else {
                Either::Right(x)
            }
        })
    }

    /// Maps every item to [`Either`] and collects the lefts and the rights.
    fn partition_map<A, B, P, L, R>(self, f: P) -> (A, B)
    where
        A: Default + Send + ParallelExtend<L>,
        B: Default + Send + ParallelExtend<R>,
        P: Fn(Self::Item) -> Either<L, R> + Sync + Send,
        L: Send,
        R: Send,
    {
        collect::partition_map(self, &f)
    }
}

/// See [`ParallelIterator::exact_offsets`]: a value only corepool can make.
#[doc(hidden)]
pub struct Exact<T: ?Sized>(std::marker::PhantomData<fn(&T)>);

impl<T: ?Sized> Exact<T> {
    /// # Safety
    /// `T::drive_unindexed` must hand every run the exact index of its first item, with the
    /// runs disjoint and within `0..opt_len()`, whatever user code it calls does.
    pub(crate) unsafe fn new() -> Self {
        Exact(std::marker::PhantomData)
    }
}

/// One of two values, for [`ParallelIterator::partition_map`] (rayon re-exports `either`'s).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Either<L, R> {
    /// The first kind.
    Left(L),
    /// The second kind.
    Right(R),
}

/// A parallel iterator whose length is known and whose items can be reached by index
/// (rayon's `IndexedParallelIterator`): slices, `Vec`s, ranges, and the adapters that keep
/// the count (`map`, `enumerate`, `zip`, `rev`, `take`, ...).
///
/// ```
/// use corepool::prelude::*;
/// let a = [1.0, 2.0, 3.0];
/// let b = [4.0, 5.0, 6.0];
/// let dot: f64 = a.par_iter().zip(&b).map(|(x, y)| x * y).sum();
/// assert_eq!(dot, 32.0);
/// let firsts: Vec<_> = (0..10u32).into_par_iter().rev().enumerate().take(2).collect();
/// assert_eq!(firsts, [(0, 9), (1, 8)]);
/// ```
// rayon's trait has `len` without `is_empty` too; a chain is rarely asked whether it is empty.
#[allow(clippy::len_without_is_empty)]
pub trait IndexedParallelIterator: ParallelIterator {
    /// The number of items.
    fn len(&self) -> usize;

    /// Calls `callback` with this iterator's producer (what sources and adapters implement).
    fn with_producer<CB>(self, callback: CB) -> CB::Output
    where
        CB: ProducerCallback<Self::Item>;

    /// Pairs every item with its index.
    fn enumerate(self) -> Enumerate<Self> {
        Enumerate::new(self)
    }

    /// Pairs items with `other`'s, stopping at the shorter.
    fn zip<Z>(self, other: Z) -> Zip<Self, Z::Iter>
    where
        Z: IntoParallelIterator,
        Z::Iter: IndexedParallelIterator,
    {
        Zip::new(self, other.into_par_iter())
    }

    /// Pairs items with `other`'s.
    ///
    /// # Panics
    /// On the caller, before running anything, if the lengths differ.
    fn zip_eq<Z>(self, other: Z) -> ZipEq<Self, Z::Iter>
    where
        Z: IntoParallelIterator,
        Z::Iter: IndexedParallelIterator,
    {
        let other = other.into_par_iter();
        let (a, b) = (self.len(), other.len());
        assert!(a == b, "corepool: zip_eq of lengths {a} and {b}");
        ZipEq::new(self, other)
    }

    /// The first `n` items.
    fn take(self, n: usize) -> Take<Self> {
        Take::new(self, n)
    }

    /// All but the first `n` items.
    fn skip(self, n: usize) -> Skip<Self> {
        Skip::new(self, n)
    }

    /// Every `step`-th item, from the first.
    ///
    /// # Panics
    /// If `step` is 0 (as `Iterator::step_by`).
    fn step_by(self, step: usize) -> StepBy<Self> {
        assert!(step != 0, "corepool: step_by(0)");
        StepBy::new(self, step)
    }

    /// The items in reverse order.
    fn rev(self) -> Rev<Self> {
        Rev::new(self)
    }

    /// Groups the items into `Vec`s of `size` (the last may be shorter).
    ///
    /// # Panics
    /// If `size` is 0.
    fn chunks(self, size: usize) -> Chunks<Self> {
        assert!(size != 0, "corepool: chunks(0)");
        Chunks::new(self, size)
    }

    /// Never splits the work into runs shorter than `min` items: each run (one `fold`
    /// accumulator, one `map_init` value) covers at least `min` items, unless the whole input
    /// is shorter.
    fn with_min_len(self, min: usize) -> MinLen<Self> {
        MinLen::new(self, min)
    }

    /// Splits the work into pieces of at most `max` items, even when no worker asks for work
    /// (for items so costly that each should be stealable on its own).
    fn with_max_len(self, max: usize) -> MaxLen<Self> {
        MaxLen::new(self, max)
    }

    /// Alternates items with `other`'s, then the rest of the longer one.
    fn interleave<I>(self, other: I) -> Interleave<Self, I::Iter>
    where
        I: IntoParallelIterator<Item = Self::Item>,
        I::Iter: IndexedParallelIterator,
    {
        Interleave::new(self, other.into_par_iter())
    }

    /// The index of some item for which `pred` holds.
    fn position_any<P>(self, pred: P) -> Option<usize>
    where
        P: Fn(Self::Item) -> bool + Sync + Send,
    {
        self.map(pred)
            .enumerate()
            .find_any(|&(_, hit)| hit)
            .map(|(i, _)| i)
    }

    /// The index of the first item for which `pred` holds.
    fn position_first<P>(self, pred: P) -> Option<usize>
    where
        P: Fn(Self::Item) -> bool + Sync + Send,
    {
        self.map(pred)
            .enumerate()
            .find_first(|&(_, hit)| hit)
            .map(|(i, _)| i)
    }

    /// The index of the last item for which `pred` holds.
    fn position_last<P>(self, pred: P) -> Option<usize>
    where
        P: Fn(Self::Item) -> bool + Sync + Send,
    {
        self.map(pred)
            .enumerate()
            .find_last(|&(_, hit)| hit)
            .map(|(i, _)| i)
    }

    /// The indices of the items for which `pred` holds.
    fn positions<P>(self, pred: P) -> Positions<Self, P>
    where
        P: Fn(Self::Item) -> bool + Sync + Send,
    {
        Positions::new(self, pred)
    }

    /// Collects into `target`, replacing its contents and reusing its allocation.
    fn collect_into_vec(self, target: &mut Vec<Self::Item>) {
        collect::collect_into_vec(self, target)
    }

    /// Splits pairs into two `Vec`s, replacing their contents.
    fn unzip_into_vecs<A, B>(self, left: &mut Vec<A>, right: &mut Vec<B>)
    where
        Self: IndexedParallelIterator<Item = (A, B)>,
        A: Send,
        B: Send,
    {
        let (a, b): (Vec<A>, Vec<B>) = self.unzip();
        *left = a;
        *right = b;
    }
}

/// Anything that can become a parallel iterator by value (rayon's `IntoParallelIterator`).
///
/// ```
/// use corepool::prelude::*;
/// let v = vec![String::from("a"), String::from("bc")];
/// let lens: Vec<usize> = v.into_par_iter().map(|s| s.len()).collect();
/// assert_eq!(lens, [1, 2]);
/// assert_eq!((1..=4u8).into_par_iter().map(u32::from).sum::<u32>(), 10);
/// ```
pub trait IntoParallelIterator {
    /// The iterator.
    type Iter: ParallelIterator<Item = Self::Item>;
    /// Its items.
    type Item: Send;
    /// Converts.
    fn into_par_iter(self) -> Self::Iter;
}

impl<I: ParallelIterator> IntoParallelIterator for I {
    type Iter = I;
    type Item = I::Item;
    fn into_par_iter(self) -> I {
        self
    }
}

/// `par_iter()`: a parallel iterator over references (rayon's `IntoParallelRefIterator`).
///
/// ```
/// use corepool::prelude::*;
/// let words = vec!["a", "bb", "ccc"];
/// assert_eq!(words.par_iter().map(|w| w.len()).sum::<usize>(), 6);
/// ```
pub trait IntoParallelRefIterator<'data> {
    /// The iterator.
    type Iter: ParallelIterator<Item = Self::Item>;
    /// Its items (references).
    type Item: Send + 'data;
    /// Iterates over `&self`.
    fn par_iter(&'data self) -> Self::Iter;
}

impl<'data, I: 'data + ?Sized> IntoParallelRefIterator<'data> for I
where
    &'data I: IntoParallelIterator,
{
    type Iter = <&'data I as IntoParallelIterator>::Iter;
    type Item = <&'data I as IntoParallelIterator>::Item;
    fn par_iter(&'data self) -> Self::Iter {
        self.into_par_iter()
    }
}

/// `par_iter_mut()`: a parallel iterator over mutable references.
///
/// ```
/// use corepool::prelude::*;
/// let mut v = vec![1, 2, 3];
/// v.par_iter_mut().for_each(|x| *x *= 10);
/// assert_eq!(v, [10, 20, 30]);
/// ```
pub trait IntoParallelRefMutIterator<'data> {
    /// The iterator.
    type Iter: ParallelIterator<Item = Self::Item>;
    /// Its items (mutable references).
    type Item: Send + 'data;
    /// Iterates over `&mut self`.
    fn par_iter_mut(&'data mut self) -> Self::Iter;
}

impl<'data, I: 'data + ?Sized> IntoParallelRefMutIterator<'data> for I
where
    &'data mut I: IntoParallelIterator,
{
    type Iter = <&'data mut I as IntoParallelIterator>::Iter;
    type Item = <&'data mut I as IntoParallelIterator>::Item;
    fn par_iter_mut(&'data mut self) -> Self::Iter {
        self.into_par_iter()
    }
}

/// A collection that can be built from a parallel iterator (rayon's `FromParallelIterator`).
///
/// ```
/// use corepool::prelude::*;
/// use std::collections::HashMap;
/// let squares: HashMap<u32, u32> = (0..4u32).into_par_iter().map(|x| (x, x * x)).collect();
/// assert_eq!(squares[&3], 9);
/// let all: Result<Vec<u32>, String> = (0..3u32).into_par_iter().map(Ok).collect();
/// assert_eq!(all, Ok(vec![0, 1, 2]));
/// ```
pub trait FromParallelIterator<T: Send> {
    /// Builds the collection.
    fn from_par_iter<I>(par_iter: I) -> Self
    where
        I: IntoParallelIterator<Item = T>;
}

/// A collection that can be extended from a parallel iterator (rayon's `ParallelExtend`).
///
/// ```
/// use corepool::prelude::*;
/// let mut v = vec![0];
/// v.par_extend((1..4).into_par_iter());
/// assert_eq!(v, [0, 1, 2, 3]);
/// ```
pub trait ParallelExtend<T: Send> {
    /// Appends the items, in order where the collection has one.
    fn par_extend<I>(&mut self, par_iter: I)
    where
        I: IntoParallelIterator<Item = T>;
}
