//! `Option`, `Result` and the standard collections as sources.
//!
//! Invariant: an `Option` is an indexed source of zero or one item; a hash or tree collection
//! is first gathered into a `Vec` (of references, or of its items), then driven as that `Vec`,
//! as rayon does: such collections cannot be split without their internals.

use super::{indexed_source, VecIntoIter};
use crate::iter::plumbing::Producer;
use crate::iter::IntoParallelIterator;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet, LinkedList, VecDeque};

/// An `Option` (or a `Result`'s `Ok`) as a parallel iterator of zero or one item.
#[derive(Clone, Debug)]
pub struct OptionIter<T> {
    opt: Option<T>,
}

impl<T: Send> Producer for OptionIter<T> {
    type Item = T;
    type IntoIter = std::option::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.opt.into_iter()
    }
    fn split_at(self, index: usize) -> (Self, Self) {
        let none = OptionIter { opt: None };
        if index == 0 {
            (none, self)
        } else {
            (self, none)
        }
    }
}
indexed_source!(impl[T: Send] OptionIter<T> => T, len(s) usize::from(s.opt.is_some()));

impl<T: Send> IntoParallelIterator for Option<T> {
    type Iter = OptionIter<T>;
    type Item = T;
    fn into_par_iter(self) -> OptionIter<T> {
        OptionIter { opt: self }
    }
}

impl<'a, T: Sync> IntoParallelIterator for &'a Option<T> {
    type Iter = OptionIter<&'a T>;
    type Item = &'a T;
    fn into_par_iter(self) -> Self::Iter {
        OptionIter { opt: self.as_ref() }
    }
}

impl<'a, T: Send> IntoParallelIterator for &'a mut Option<T> {
    type Iter = OptionIter<&'a mut T>;
    type Item = &'a mut T;
    fn into_par_iter(self) -> Self::Iter {
        OptionIter { opt: self.as_mut() }
    }
}

impl<T: Send, E> IntoParallelIterator for Result<T, E> {
    type Iter = OptionIter<T>;
    type Item = T;
    fn into_par_iter(self) -> OptionIter<T> {
        OptionIter { opt: self.ok() }
    }
}

impl<'a, T: Sync, E> IntoParallelIterator for &'a Result<T, E> {
    type Iter = OptionIter<&'a T>;
    type Item = &'a T;
    fn into_par_iter(self) -> Self::Iter {
        OptionIter {
            opt: self.as_ref().ok(),
        }
    }
}

/// `IntoParallelIterator` for a collection, by value and by reference, through a `Vec` of
/// what its own iterator yields.
macro_rules! through_vec {
    ($(impl[$($g:tt)*] $ty:ty => $item:ty;)*) => {$(
        impl<$($g)*> IntoParallelIterator for $ty {
            type Iter = VecIntoIter<$item>;
            type Item = $item;
            fn into_par_iter(self) -> Self::Iter {
                VecIntoIter::new(self.into_iter().collect())
            }
        }
    )*};
}

through_vec! {
    impl[K: Send, V: Send, S] HashMap<K, V, S> => (K, V);
    impl['a, K: Sync, V: Sync, S] &'a HashMap<K, V, S> => (&'a K, &'a V);
    impl['a, K: Sync, V: Send, S] &'a mut HashMap<K, V, S> => (&'a K, &'a mut V);
    impl[T: Send, S] HashSet<T, S> => T;
    impl['a, T: Sync, S] &'a HashSet<T, S> => &'a T;
    impl[K: Send, V: Send] BTreeMap<K, V> => (K, V);
    impl['a, K: Sync, V: Sync] &'a BTreeMap<K, V> => (&'a K, &'a V);
    impl['a, K: Sync, V: Send] &'a mut BTreeMap<K, V> => (&'a K, &'a mut V);
    impl[T: Send] BTreeSet<T> => T;
    impl['a, T: Sync] &'a BTreeSet<T> => &'a T;
    impl[T: Send] VecDeque<T> => T;
    impl['a, T: Sync] &'a VecDeque<T> => &'a T;
    impl['a, T: Send] &'a mut VecDeque<T> => &'a mut T;
    impl[T: Send] LinkedList<T> => T;
    impl['a, T: Sync] &'a LinkedList<T> => &'a T;
    impl['a, T: Send] &'a mut LinkedList<T> => &'a mut T;
    impl[T: Send] BinaryHeap<T> => T;
    impl['a, T: Sync] &'a BinaryHeap<T> => &'a T;
}

/// `par_drain(range)` on a `Vec` or `VecDeque` (rayon's `ParallelDrainRange`): removes the
/// elements in `range` at once and iterates over them, moved out, in order.
///
/// ```
/// use corepool::prelude::*;
/// let mut v: Vec<u32> = (0..10).collect();
/// let drained: Vec<u32> = v.par_drain(2..5).map(|x| x * 10).collect();
/// assert_eq!(drained, [20, 30, 40]);
/// assert_eq!(v, [0, 1, 5, 6, 7, 8, 9]);
/// ```
pub trait ParallelDrainRange<T: Send> {
    /// Removes `range` and iterates over its elements.
    ///
    /// # Panics
    /// As `Vec::drain`, if the range is out of bounds.
    fn par_drain<R: std::ops::RangeBounds<usize>>(&mut self, range: R) -> VecIntoIter<T>;
}

impl<T: Send> ParallelDrainRange<T> for Vec<T> {
    fn par_drain<R: std::ops::RangeBounds<usize>>(&mut self, range: R) -> VecIntoIter<T> {
        VecIntoIter::new(self.drain(range).collect())
    }
}

impl<T: Send> ParallelDrainRange<T> for VecDeque<T> {
    fn par_drain<R: std::ops::RangeBounds<usize>>(&mut self, range: R) -> VecIntoIter<T> {
        VecIntoIter::new(self.drain(range).collect())
    }
}

/// `par_drain()` on a whole hash map, hash set or binary heap (rayon's `ParallelDrainFull`):
/// empties it and iterates over its elements, moved out. (`Vec` and `VecDeque` take a range:
/// [`ParallelDrainRange`].)
///
/// ```
/// use corepool::prelude::*;
/// use std::collections::HashSet;
/// let mut set: HashSet<u32> = (0..100).collect();
/// assert_eq!(set.par_drain().sum::<u32>(), 4950);
/// assert!(set.is_empty());
/// ```
pub trait ParallelDrainFull<T: Send> {
    /// Empties the collection and iterates over what it held.
    fn par_drain(&mut self) -> VecIntoIter<T>;
}

macro_rules! drain_full {
    ($(impl[$($g:tt)*] $ty:ty => $item:ty;)*) => {$(
        impl<$($g)*> ParallelDrainFull<$item> for $ty {
            fn par_drain(&mut self) -> VecIntoIter<$item> {
                VecIntoIter::new(self.drain().collect())
            }
        }
    )*};
}

drain_full! {
    impl[K: Send, V: Send, S] HashMap<K, V, S> => (K, V);
    impl[T: Send, S] HashSet<T, S> => T;
    impl[T: Send + Ord] BinaryHeap<T> => T;
}
