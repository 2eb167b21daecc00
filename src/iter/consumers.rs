//! The terminal operations that fold to one value: `for_each`, `reduce`, `try_reduce`, `sum`,
//! `product`, and the searches (`find_*`, and through them `any`, `all`, `position_*`).
//!
//! Invariant: results of runs are combined left to right only, so an associative operation
//! gives the sequential answer; a search stops the other pieces through `full()` as soon as
//! its answer can no longer change, and never returns an item that is not the answer.

use super::plumbing::{Consumer, Folder};
use super::ParallelIterator;
use crate::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::convert::Infallible;
use std::iter::{Product, Sum};
use std::marker::PhantomData;
use std::ops::ControlFlow;

/// The types `try_*` methods accept: `Option<T>`, `Result<T, E>` and `ControlFlow<B, C>`
/// (what `std`'s unstable `Try` covers; sealed).
///
/// ```
/// use corepool::prelude::*;
/// let parsed: Result<u32, std::num::ParseIntError> =
///     ["1", "2", "x"].par_iter().map(|s| s.parse::<u32>()).try_reduce(|| 0, |a, b| Ok(a + b));
/// assert!(parsed.is_err());
/// let total = (1..=4u32).into_par_iter().map(Some).try_reduce(|| 0, |a, b| a.checked_add(b));
/// assert_eq!(total, Some(10));
/// ```
pub trait Try: sealed::Sealed {
    /// The value when it does not stop.
    type Output;
    /// What it carries when it stops.
    type Residual;
    /// The continuing value.
    fn from_output(output: Self::Output) -> Self;
    /// The stopping value.
    fn from_residual(residual: Self::Residual) -> Self;
    /// Continue with the output, or break with the residual.
    fn branch(self) -> ControlFlow<Self::Residual, Self::Output>;
}

mod sealed {
    pub trait Sealed {}
}

impl<T> sealed::Sealed for Option<T> {}
impl<T> Try for Option<T> {
    type Output = T;
    type Residual = Option<Infallible>;
    fn from_output(output: T) -> Self {
        Some(output)
    }
    fn from_residual(_: Option<Infallible>) -> Self {
        None
    }
    fn branch(self) -> ControlFlow<Option<Infallible>, T> {
        match self {
            Some(t) => ControlFlow::Continue(t),
            None => ControlFlow::Break(None),
        }
    }
}

impl<T, E> sealed::Sealed for Result<T, E> {}
impl<T, E> Try for Result<T, E> {
    type Output = T;
    type Residual = Result<Infallible, E>;
    fn from_output(output: T) -> Self {
        Ok(output)
    }
    fn from_residual(residual: Result<Infallible, E>) -> Self {
        match residual {
            Err(e) => Err(e),
            Ok(never) => match never {},
        }
    }
    fn branch(self) -> ControlFlow<Result<Infallible, E>, T> {
        match self {
            Ok(t) => ControlFlow::Continue(t),
            Err(e) => ControlFlow::Break(Err(e)),
        }
    }
}

impl<B, C> sealed::Sealed for ControlFlow<B, C> {}
impl<B, C> Try for ControlFlow<B, C> {
    type Output = C;
    type Residual = ControlFlow<B, Infallible>;
    fn from_output(output: C) -> Self {
        ControlFlow::Continue(output)
    }
    fn from_residual(residual: ControlFlow<B, Infallible>) -> Self {
        match residual {
            ControlFlow::Break(b) => ControlFlow::Break(b),
            ControlFlow::Continue(never) => match never {},
        }
    }
    fn branch(self) -> ControlFlow<ControlFlow<B, Infallible>, C> {
        match self {
            ControlFlow::Continue(c) => ControlFlow::Continue(c),
            ControlFlow::Break(b) => ControlFlow::Break(ControlFlow::Break(b)),
        }
    }
}

/// A consumer that folds with `fold`, starts runs with `start`, and reduces with `reduce`;
/// most terminals are one of these.
struct Reduce<'f, S, F, R, T> {
    start: &'f S,
    fold: &'f F,
    reduce: &'f R,
    _item: PhantomData<fn(T)>,
}

impl<S, F, R, T> Clone for Reduce<'_, S, F, R, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<S, F, R, T> Copy for Reduce<'_, S, F, R, T> {}

impl<'f, In, T, S, F, R> Consumer<In> for Reduce<'f, S, F, R, T>
where
    T: Send,
    S: Fn() -> T + Sync,
    F: Fn(T, In) -> T + Sync,
    R: Fn(T, T) -> T + Sync,
{
    type Folder = ReduceFolder<'f, F, T>;
    type Result = T;
    fn folder(&self, _: usize) -> Self::Folder {
        ReduceFolder {
            acc: (self.start)(),
            fold: self.fold,
        }
    }
    fn reduce(&self, left: T, right: T) -> T {
        (self.reduce)(left, right)
    }
}

struct ReduceFolder<'f, F, T> {
    acc: T,
    fold: &'f F,
}

impl<In, T, F: Fn(T, In) -> T> Folder<In> for ReduceFolder<'_, F, T> {
    type Result = T;
    #[inline]
    fn consume(mut self, item: In) -> Self {
        self.acc = (self.fold)(self.acc, item);
        self
    }
    fn consume_iter<I: IntoIterator<Item = In>>(mut self, iter: I) -> Self {
        self.acc = iter.into_iter().fold(self.acc, self.fold);
        self
    }
    fn complete(self) -> T {
        self.acc
    }
}

pub(crate) fn drive_reduce<I, T, S, F, R>(iter: I, start: &S, fold: &F, reduce: &R) -> T
where
    I: ParallelIterator,
    T: Send,
    S: Fn() -> T + Sync,
    F: Fn(T, I::Item) -> T + Sync,
    R: Fn(T, T) -> T + Sync,
{
    iter.drive_unindexed(Reduce {
        start,
        fold,
        reduce,
        _item: PhantomData,
    })
}

pub(crate) fn for_each<I: ParallelIterator, F: Fn(I::Item) + Sync>(iter: I, f: &F) {
    drive_reduce(iter, &|| (), &|(), item| f(item), &|(), ()| ())
}

pub(crate) fn reduce<I, ID, OP>(iter: I, identity: &ID, op: &OP) -> I::Item
where
    I: ParallelIterator,
    ID: Fn() -> I::Item + Sync,
    OP: Fn(I::Item, I::Item) -> I::Item + Sync,
{
    drive_reduce(iter, identity, op, op)
}

/// How a [`Total`] adds up: `Sum` or `Product`.
trait TotalOp<T, S> {
    fn of<I: Iterator<Item = T>>(items: I) -> S;
    fn merge(a: S, b: S) -> S;
}

struct SumOp;
impl<T, S: Sum<T> + Sum<S>> TotalOp<T, S> for SumOp {
    fn of<I: Iterator<Item = T>>(items: I) -> S {
        items.sum()
    }
    fn merge(a: S, b: S) -> S {
        [a, b].into_iter().sum()
    }
}

struct ProductOp;
impl<T, S: Product<T> + Product<S>> TotalOp<T, S> for ProductOp {
    fn of<I: Iterator<Item = T>>(items: I) -> S {
        items.product()
    }
    fn merge(a: S, b: S) -> S {
        [a, b].into_iter().product()
    }
}

/// `sum` and `product` through `std`'s traits: each block is totalled by `Sum`/`Product` over
/// its iterator (so a block compiles to the sequential loop), and totals are merged in order.
struct Total<Op, S>(PhantomData<fn() -> (Op, S)>);

impl<Op, S> Clone for Total<Op, S> {
    fn clone(&self) -> Self {
        Total(PhantomData)
    }
}

impl<T, Op: TotalOp<T, S>, S: Send> Consumer<T> for Total<Op, S> {
    type Folder = TotalFolder<Op, S>;
    type Result = S;
    fn folder(&self, _: usize) -> Self::Folder {
        TotalFolder(Op::of(std::iter::empty()), PhantomData)
    }
    fn reduce(&self, left: S, right: S) -> S {
        Op::merge(left, right)
    }
}

struct TotalFolder<Op, S>(S, PhantomData<fn() -> Op>);

impl<T, Op: TotalOp<T, S>, S> Folder<T> for TotalFolder<Op, S> {
    type Result = S;
    fn consume(self, item: T) -> Self {
        TotalFolder(
            Op::merge(self.0, Op::of(std::iter::once(item))),
            PhantomData,
        )
    }
    fn consume_iter<I: IntoIterator<Item = T>>(self, iter: I) -> Self {
        TotalFolder(Op::merge(self.0, Op::of(iter.into_iter())), PhantomData)
    }
    fn complete(self) -> S {
        self.0
    }
}

pub(crate) fn sum<I, S>(iter: I) -> S
where
    I: ParallelIterator,
    S: Send + Sum<I::Item> + Sum<S>,
{
    iter.drive_unindexed(Total::<SumOp, S>(PhantomData))
}

pub(crate) fn product<I, P>(iter: I) -> P
where
    I: ParallelIterator,
    P: Send + Product<I::Item> + Product<P>,
{
    iter.drive_unindexed(Total::<ProductOp, P>(PhantomData))
}

/// `try_reduce`: a run stops at its first break; a break anywhere stops every run (`stop`),
/// and the leftmost break seen wins the reduction.
pub(crate) fn try_reduce<I, T, ID, OP>(iter: I, identity: &ID, op: &OP) -> I::Item
where
    I: ParallelIterator,
    I::Item: Try<Output = T>,
    T: Send,
    ID: Fn() -> T + Sync,
    OP: Fn(T, T) -> I::Item + Sync,
{
    let stop = AtomicBool::new(false);
    iter.drive_unindexed(TryReduce {
        identity,
        op,
        stop: &stop,
        _item: PhantomData,
    })
}

struct TryReduce<'f, ID, OP, R> {
    identity: &'f ID,
    op: &'f OP,
    stop: &'f AtomicBool,
    _item: PhantomData<fn(R)>,
}

impl<ID, OP, R> Clone for TryReduce<'_, ID, OP, R> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<ID, OP, R> Copy for TryReduce<'_, ID, OP, R> {}

/// `branch`, keeping a break as the whole value (what `reduce` hands on).
fn keep_break<R: Try>(value: R) -> ControlFlow<R, R::Output> {
    match value.branch() {
        ControlFlow::Continue(t) => ControlFlow::Continue(t),
        ControlFlow::Break(r) => ControlFlow::Break(R::from_residual(r)),
    }
}

impl<T, R, ID, OP> TryReduce<'_, ID, OP, R>
where
    R: Try<Output = T>,
    OP: Fn(T, T) -> R,
{
    /// Combines two partial results in order: a break (the left one first) wins.
    fn combine(&self, left: ControlFlow<R, T>, right: ControlFlow<R, T>) -> ControlFlow<R, T> {
        let combined = match (left, right) {
            (ControlFlow::Continue(a), ControlFlow::Continue(b)) => keep_break((self.op)(a, b)),
            (ControlFlow::Break(r), _) | (_, ControlFlow::Break(r)) => ControlFlow::Break(r),
        };
        if combined.is_break() {
            self.stop.store(true, Ordering::Relaxed);
        }
        combined
    }
}

fn settle<R: Try>(flow: ControlFlow<R, R::Output>) -> R {
    match flow {
        ControlFlow::Continue(t) => R::from_output(t),
        ControlFlow::Break(r) => r,
    }
}

impl<'f, T, R, ID, OP> Consumer<R> for TryReduce<'f, ID, OP, R>
where
    R: Try<Output = T> + Send,
    T: Send,
    ID: Fn() -> T + Sync,
    OP: Fn(T, T) -> R + Sync,
{
    type Folder = TryReduceFolder<'f, ID, OP, R, T>;
    type Result = R;
    fn folder(&self, _: usize) -> Self::Folder {
        TryReduceFolder {
            consumer: *self,
            acc: ControlFlow::Continue((self.identity)()),
        }
    }
    fn reduce(&self, left: R, right: R) -> R {
        settle(self.combine(keep_break(left), keep_break(right)))
    }
    fn full(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

struct TryReduceFolder<'f, ID, OP, R, T> {
    consumer: TryReduce<'f, ID, OP, R>,
    acc: ControlFlow<R, T>,
}

impl<T, R, ID, OP> Folder<R> for TryReduceFolder<'_, ID, OP, R, T>
where
    R: Try<Output = T>,
    OP: Fn(T, T) -> R,
{
    type Result = R;
    fn consume(mut self, item: R) -> Self {
        self.acc = self.consumer.combine(self.acc, keep_break(item));
        self
    }
    fn complete(self) -> R {
        settle(self.acc)
    }
    fn full(&self) -> bool {
        self.acc.is_break() || self.consumer.stop.load(Ordering::Relaxed)
    }
}

/// Which item a search returns.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Find {
    /// Whichever is found first in time.
    Any,
    /// The first in input order.
    First,
    /// The last in input order.
    Last,
}

pub(crate) fn find<I, P>(iter: I, pred: &P, which: Find) -> Option<I::Item>
where
    I: ParallelIterator,
    P: Fn(&I::Item) -> bool + Sync,
{
    // The best run key with a hit so far: the least for `First`, the greatest for `Last`.
    let best = AtomicUsize::new(match which {
        Find::Last => 0,
        _ => usize::MAX,
    });
    let found = AtomicBool::new(false);
    iter.drive_unindexed(FindConsumer {
        pred,
        which,
        best: &best,
        found: &found,
    })
}

struct FindConsumer<'f, P> {
    pred: &'f P,
    which: Find,
    best: &'f AtomicUsize,
    found: &'f AtomicBool,
}

impl<P> Clone for FindConsumer<'_, P> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<P> Copy for FindConsumer<'_, P> {}

impl<'f, T: Send, P: Fn(&T) -> bool + Sync> Consumer<T> for FindConsumer<'f, P> {
    type Folder = FindFolder<'f, P, T>;
    type Result = Option<T>;
    fn folder(&self, key: usize) -> Self::Folder {
        FindFolder {
            consumer: *self,
            key,
            item: None,
        }
    }
    fn reduce(&self, left: Option<T>, right: Option<T>) -> Option<T> {
        match self.which {
            Find::Last => right.or(left),
            _ => left.or(right),
        }
    }
    fn full(&self) -> bool {
        self.which == Find::Any && self.found.load(Ordering::Relaxed)
    }
}

/// A run's search; `key` orders it among the other runs (see the plumbing's invariants).
struct FindFolder<'f, P, T> {
    consumer: FindConsumer<'f, P>,
    key: usize,
    item: Option<T>,
}

impl<T, P: Fn(&T) -> bool> FindFolder<'_, P, T> {
    /// Keeps `item` as this run's hit and tells the other runs.
    fn hit(&mut self, item: T) {
        let c = self.consumer;
        c.found.store(true, Ordering::Relaxed);
        match c.which {
            Find::Any => {}
            Find::First => {
                c.best.fetch_min(self.key, Ordering::Relaxed);
            }
            Find::Last => {
                c.best.fetch_max(self.key, Ordering::Relaxed);
            }
        }
        self.item = Some(item);
    }
}

impl<T, P: Fn(&T) -> bool> Folder<T> for FindFolder<'_, P, T> {
    type Result = Option<T>;
    fn consume(mut self, item: T) -> Self {
        if (self.consumer.pred)(&item) {
            self.hit(item);
        }
        self
    }
    /// A block is searched without looking at the other runs (they are checked between
    /// blocks), so the loop is the sequential `find`.
    fn consume_iter<I: IntoIterator<Item = T>>(mut self, items: I) -> Self {
        if self.full() {
            return self;
        }
        let pred = self.consumer.pred;
        let found = match self.consumer.which {
            Find::Last => items.into_iter().filter(|x| pred(x)).last(),
            _ => items.into_iter().find(|x| pred(x)),
        };
        if let Some(item) = found {
            self.hit(item);
        }
        self
    }
    fn complete(self) -> Option<T> {
        self.item
    }
    fn full(&self) -> bool {
        let c = self.consumer;
        match c.which {
            Find::Any => self.item.is_some() || c.found.load(Ordering::Relaxed),
            // A run with a hit is done; so is one that lies after a run with a hit.
            Find::First => self.item.is_some() || c.best.load(Ordering::Relaxed) < self.key,
            // A run keeps its last hit, so it goes on; one that lies before a hit's run is done.
            Find::Last => {
                c.found.load(Ordering::Relaxed) && c.best.load(Ordering::Relaxed) > self.key
            }
        }
    }
}
