//! `collect`, `par_extend`, `unzip`, `partition_map`: building collections from chains.
//!
//! Invariant: a `Vec` from an exact indexed chain is written in place (see `vec.rs`); every
//! other collection is built from per-run `Vec`s joined in input order, so ordered collections
//! keep input order and every item is moved exactly once (a panic drops the buffers built so
//! far, each item once).

mod vec;

use super::adapters::WhileSomeFlag;
use super::plumbing::{Consumer, Folder};
use super::{Either, FromParallelIterator, IntoParallelIterator, ParallelExtend, ParallelIterator};
use crate::sync::atomic::{AtomicBool, Ordering};
use crate::sync::Mutex;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet, LinkedList, VecDeque};
use std::hash::{BuildHasher, Hash};

/// Collects each run into a `Vec`; runs are joined into a list, in order.
#[derive(Clone, Copy)]
struct ListConsumer;

impl<T: Send> Consumer<T> for ListConsumer {
    type Folder = Vec<T>;
    type Result = LinkedList<Vec<T>>;
    fn folder(&self, _: usize) -> Vec<T> {
        Vec::new()
    }
    fn reduce(&self, mut left: Self::Result, mut right: Self::Result) -> Self::Result {
        left.append(&mut right);
        left
    }
}

impl<T> Folder<T> for Vec<T> {
    type Result = LinkedList<Vec<T>>;
    fn consume(mut self, item: T) -> Self {
        self.push(item);
        self
    }
    fn consume_iter<I: IntoIterator<Item = T>>(mut self, iter: I) -> Self {
        self.extend(iter);
        self
    }
    fn complete(self) -> Self::Result {
        let mut list = LinkedList::new();
        if !self.is_empty() {
            list.push_back(self);
        }
        list
    }
}

/// The items of `iter`, in order, as per-run `Vec`s.
fn to_list<I: ParallelIterator>(iter: I) -> LinkedList<Vec<I::Item>> {
    iter.drive_unindexed(ListConsumer)
}

/// Appends the items of `iter` to `out`, in order: in place when the chain is exact.
fn append_vec<I: ParallelIterator>(iter: I, out: &mut Vec<I::Item>) {
    match (iter.opt_len(), iter.exact_offsets()) {
        (Some(len), Some(_)) => vec::append_indexed(iter, len, out),
        _ => {
            let list = to_list(iter);
            out.reserve(list.iter().map(Vec::len).sum());
            for mut part in list {
                out.append(&mut part);
            }
        }
    }
}

pub(crate) fn collect_into_vec<I: ParallelIterator>(iter: I, target: &mut Vec<I::Item>) {
    target.clear();
    append_vec(iter, target);
}

impl<T: Send> FromParallelIterator<T> for Vec<T> {
    fn from_par_iter<I: IntoParallelIterator<Item = T>>(par_iter: I) -> Self {
        let mut v = Vec::new();
        append_vec(par_iter.into_par_iter(), &mut v);
        v
    }
}

impl<T: Send> ParallelExtend<T> for Vec<T> {
    fn par_extend<I: IntoParallelIterator<Item = T>>(&mut self, par_iter: I) {
        append_vec(par_iter.into_par_iter(), self);
    }
}

/// `ParallelExtend` through the per-run buffers and the collection's own `Extend`.
macro_rules! extend_through_buffers {
    ($(impl[$($g:tt)*] for $ty:ty where [$($bounds:tt)*] item $item:ty;)*) => {$(
        impl<$($g)*> ParallelExtend<$item> for $ty where $($bounds)* {
            fn par_extend<I: IntoParallelIterator<Item = $item>>(&mut self, par_iter: I) {
                for part in to_list(par_iter.into_par_iter()) {
                    self.extend(part);
                }
            }
        }
    )*};
}

/// `FromParallelIterator` by `Default` + `ParallelExtend`, and that `ParallelExtend`.
macro_rules! collect_through_buffers {
    ($(impl[$($g:tt)*] for $ty:ty where [$($bounds:tt)*] item $item:ty;)*) => {$(
        impl<$($g)*> FromParallelIterator<$item> for $ty where $($bounds)* {
            fn from_par_iter<I: IntoParallelIterator<Item = $item>>(par_iter: I) -> Self {
                let mut out = <$ty>::default();
                out.par_extend(par_iter);
                out
            }
        }
        extend_through_buffers! { impl[$($g)*] for $ty where [$($bounds)*] item $item; }
    )*};
}

collect_through_buffers! {
    impl[T] for VecDeque<T> where [T: Send] item T;
    impl[T] for LinkedList<T> where [T: Send] item T;
    impl[T] for BinaryHeap<T> where [T: Ord + Send] item T;
    impl[K, V, S] for HashMap<K, V, S> where [K: Eq + Hash + Send, V: Send, S: BuildHasher + Default + Send] item (K, V);
    impl[T, S] for HashSet<T, S> where [T: Eq + Hash + Send, S: BuildHasher + Default + Send] item T;
    impl[K, V] for BTreeMap<K, V> where [K: Ord + Send, V: Send] item (K, V);
    impl[T] for BTreeSet<T> where [T: Ord + Send] item T;
    impl[] for String where [] item char;
    impl['a] for String where [] item &'a char;
    impl['a] for String where [] item &'a str;
    impl[] for String where [] item String;
    impl[] for String where [] item Box<str>;
    impl['a] for String where [] item Cow<'a, str>;
}

// Extending from references (std's `Extend<&T>` for `Copy` items), as rayon has it. Only
// extending: a `FromParallelIterator<&T>` beside `<T>` would make `collect` ambiguous.
extend_through_buffers! {
    impl['a, T] for VecDeque<T> where [T: Copy + Send + Sync + 'a] item &'a T;
    impl['a, T] for LinkedList<T> where [T: Copy + Send + Sync + 'a] item &'a T;
    impl['a, T] for BinaryHeap<T> where [T: Ord + Copy + Send + Sync + 'a] item &'a T;
    impl['a, K, V, S] for HashMap<K, V, S> where [K: Eq + Hash + Copy + Send + Sync + 'a, V: Copy + Send + Sync + 'a, S: BuildHasher + Send] item (&'a K, &'a V);
    impl['a, T, S] for HashSet<T, S> where [T: Eq + Hash + Copy + Send + Sync + 'a, S: BuildHasher + Send] item &'a T;
    impl['a, K, V] for BTreeMap<K, V> where [K: Ord + Copy + Send + Sync + 'a, V: Copy + Send + Sync + 'a] item (&'a K, &'a V);
    impl['a, T] for BTreeSet<T> where [T: Ord + Copy + Send + Sync + 'a] item &'a T;
}

impl<'a, T: Copy + Send + Sync + 'a> ParallelExtend<&'a T> for Vec<T> {
    fn par_extend<I: IntoParallelIterator<Item = &'a T>>(&mut self, par_iter: I) {
        append_vec(par_iter.into_par_iter().copied(), self);
    }
}

impl<T: Send> FromParallelIterator<T> for Box<[T]> {
    fn from_par_iter<I: IntoParallelIterator<Item = T>>(par_iter: I) -> Self {
        Vec::from_par_iter(par_iter).into_boxed_slice()
    }
}

impl<'a, C, T> FromParallelIterator<T> for Cow<'a, C>
where
    C: ToOwned + ?Sized,
    C::Owned: FromParallelIterator<T>,
    T: Send,
{
    fn from_par_iter<I: IntoParallelIterator<Item = T>>(par_iter: I) -> Self {
        Cow::Owned(C::Owned::from_par_iter(par_iter))
    }
}

/// Collects the values up to a `None`, which sets `stop` and stops every piece at its next
/// item.
trait CollectWhileSome<T: Send>: ParallelIterator<Item = Option<T>> {
    fn collect_while_some<C: FromParallelIterator<T>>(self, stop: &AtomicBool) -> C {
        C::from_par_iter(WhileSomeFlag { base: self, stop })
    }
}
impl<T: Send, I: ParallelIterator<Item = Option<T>>> CollectWhileSome<T> for I {}

impl FromParallelIterator<()> for () {
    fn from_par_iter<I: IntoParallelIterator<Item = ()>>(par_iter: I) {
        par_iter.into_par_iter().for_each(drop)
    }
}

impl<C, T, E> FromParallelIterator<Result<T, E>> for Result<C, E>
where
    C: FromParallelIterator<T>,
    T: Send,
    E: Send,
{
    /// The collection of the `Ok`s, or an error if any item is one (which one, when there are
    /// several, is whichever was met first in time); the other pieces stop at their next item.
    fn from_par_iter<I: IntoParallelIterator<Item = Result<T, E>>>(par_iter: I) -> Self {
        let error = Mutex::new(None);
        let stop = AtomicBool::new(false);
        let collection = par_iter
            .into_par_iter()
            .map(|item| match item {
                Ok(t) => Some(t),
                Err(e) => {
                    error.lock().get_or_insert(e);
                    None
                }
            })
            .collect_while_some(&stop);
        let error = error.lock().take();
        match error {
            Some(e) => Err(e),
            None => Ok(collection),
        }
    }
}

impl<C, T> FromParallelIterator<Option<T>> for Option<C>
where
    C: FromParallelIterator<T>,
    T: Send,
{
    /// The collection of the values, or `None` if any item is `None`.
    fn from_par_iter<I: IntoParallelIterator<Item = Option<T>>>(par_iter: I) -> Self {
        let stop = AtomicBool::new(false);
        let collection = par_iter.into_par_iter().collect_while_some(&stop);
        (!stop.load(Ordering::Relaxed)).then_some(collection)
    }
}

impl<A, B, FromA, FromB> FromParallelIterator<(A, B)> for (FromA, FromB)
where
    A: Send,
    B: Send,
    FromA: Default + Send + ParallelExtend<A>,
    FromB: Default + Send + ParallelExtend<B>,
{
    /// `unzip`: pairs into two collections.
    fn from_par_iter<I: IntoParallelIterator<Item = (A, B)>>(par_iter: I) -> Self {
        unzip(par_iter.into_par_iter())
    }
}

/// Splits pairs into two collections, each extended in input order.
pub(crate) fn unzip<I, A, B, FromA, FromB>(iter: I) -> (FromA, FromB)
where
    I: ParallelIterator<Item = (A, B)>,
    FromA: Default + Send + ParallelExtend<A>,
    FromB: Default + Send + ParallelExtend<B>,
    A: Send,
    B: Send,
{
    let pairs: Vec<(A, B)> = iter.collect();
    let (left, right): (Vec<A>, Vec<B>) = pairs.into_iter().unzip();
    let mut a = FromA::default();
    let mut b = FromB::default();
    a.par_extend(super::sources::VecIntoIter::new(left));
    b.par_extend(super::sources::VecIntoIter::new(right));
    (a, b)
}

/// Sorts the items into lefts and rights, each extended in input order.
pub(crate) fn partition_map<I, A, B, P, L, R>(iter: I, f: &P) -> (A, B)
where
    I: ParallelIterator,
    A: Default + Send + ParallelExtend<L>,
    B: Default + Send + ParallelExtend<R>,
    P: Fn(I::Item) -> Either<L, R> + Sync,
    L: Send,
    R: Send,
{
    let sorted: Vec<Either<L, R>> = iter.map(f).collect();
    let mut lefts = Vec::new();
    let mut rights = Vec::new();
    for item in sorted {
        match item {
            Either::Left(l) => lefts.push(l),
            Either::Right(r) => rights.push(r),
        }
    }
    let mut a = A::default();
    let mut b = B::default();
    a.par_extend(super::sources::VecIntoIter::new(lefts));
    b.par_extend(super::sources::VecIntoIter::new(rights));
    (a, b)
}
