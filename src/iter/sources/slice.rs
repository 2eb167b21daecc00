//! Slices as sources: `par_iter`, `par_iter_mut`, and [`ParallelSlice`] / [`ParallelSliceMut`]
//! (`par_chunks`, `par_chunks_exact`, `par_windows`, `par_split`, the sorts).
//!
//! Invariant: a split at item `i` splits the slice at the first element of item `i`; mutable
//! sources split with `split_at_mut`, so every `&mut T` is handed out once, without `unsafe`.

use super::indexed_source;
use super::sort;
use crate::iter::plumbing::joiner::Joiner;
use crate::iter::plumbing::{bridge_unindexed, Consumer, Folder, Producer, UnindexedProducer};
use crate::iter::{IntoParallelIterator, ParallelIterator};
use std::cmp::Ordering;

/// `par_iter()` over a slice: items `&T`.
#[derive(Debug)]
pub struct SliceIter<'a, T> {
    slice: &'a [T],
}

impl<T> Clone for SliceIter<'_, T> {
    fn clone(&self) -> Self {
        SliceIter { slice: self.slice }
    }
}

impl<'a, T: Sync> Producer for SliceIter<'a, T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.slice.iter()
    }
    fn split_at(self, index: usize) -> (Self, Self) {
        let (a, b) = self.slice.split_at(index);
        (SliceIter { slice: a }, SliceIter { slice: b })
    }
}
indexed_source!(impl['a, T: Sync + 'a] SliceIter<'a, T> => &'a T, len(s) s.slice.len());

/// `par_iter_mut()` over a slice: items `&mut T`.
#[derive(Debug)]
pub struct SliceIterMut<'a, T> {
    slice: &'a mut [T],
}

impl<'a, T: Send> Producer for SliceIterMut<'a, T> {
    type Item = &'a mut T;
    type IntoIter = std::slice::IterMut<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.slice.iter_mut()
    }
    fn split_at(self, index: usize) -> (Self, Self) {
        let (a, b) = self.slice.split_at_mut(index);
        (SliceIterMut { slice: a }, SliceIterMut { slice: b })
    }
}
indexed_source!(impl['a, T: Send + 'a] SliceIterMut<'a, T> => &'a mut T, len(s) s.slice.len());

impl<'a, T: Sync + 'a> IntoParallelIterator for &'a [T] {
    type Iter = SliceIter<'a, T>;
    type Item = &'a T;
    fn into_par_iter(self) -> Self::Iter {
        SliceIter { slice: self }
    }
}

impl<'a, T: Sync + 'a> IntoParallelIterator for &'a Vec<T> {
    type Iter = SliceIter<'a, T>;
    type Item = &'a T;
    fn into_par_iter(self) -> Self::Iter {
        SliceIter { slice: self }
    }
}

impl<'a, T: Sync + 'a, const N: usize> IntoParallelIterator for &'a [T; N] {
    type Iter = SliceIter<'a, T>;
    type Item = &'a T;
    fn into_par_iter(self) -> Self::Iter {
        SliceIter { slice: self }
    }
}

impl<'a, T: Send + 'a> IntoParallelIterator for &'a mut [T] {
    type Iter = SliceIterMut<'a, T>;
    type Item = &'a mut T;
    fn into_par_iter(self) -> Self::Iter {
        SliceIterMut { slice: self }
    }
}

impl<'a, T: Send + 'a> IntoParallelIterator for &'a mut Vec<T> {
    type Iter = SliceIterMut<'a, T>;
    type Item = &'a mut T;
    fn into_par_iter(self) -> Self::Iter {
        SliceIterMut { slice: self }
    }
}

impl<'a, T: Send + 'a, const N: usize> IntoParallelIterator for &'a mut [T; N] {
    type Iter = SliceIterMut<'a, T>;
    type Item = &'a mut T;
    fn into_par_iter(self) -> Self::Iter {
        SliceIterMut { slice: self }
    }
}

/// Declares a chunking source over a slice (`chunks`, `chunks_mut`, `chunks_exact`, ...):
/// item `i` starts at element `i * size`.
macro_rules! chunk_source {
    ($(#[$doc:meta])* $name:ident, $slice:ty, $item:ty, $bound:ident, $iter:ident, $method:ident, $split:ident, $len:expr) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name<'a, T> {
            slice: $slice,
            size: usize,
        }
        impl<'a, T: $bound> Producer for $name<'a, T> {
            type Item = $item;
            type IntoIter = std::slice::$iter<'a, T>;
            fn into_iter(self) -> Self::IntoIter {
                self.slice.$method(self.size)
            }
            fn split_at(self, index: usize) -> (Self, Self) {
                let at = index.saturating_mul(self.size).min(self.slice.len());
                let (a, b) = self.slice.$split(at);
                let size = self.size;
                ($name { slice: a, size }, $name { slice: b, size })
            }
        }
        indexed_source!(impl['a, T: $bound + 'a] $name<'a, T> => $item, len(s) ($len)(s.slice.len(), s.size));
    };
}

chunk_source!(
    /// `par_chunks`' iterator: items `&[T]` of `size` elements (the last may be shorter).
    ChunksIter, &'a [T], &'a [T], Sync, Chunks, chunks, split_at, usize::div_ceil
);
chunk_source!(
    /// `par_chunks_mut`'s iterator.
    ChunksMutIter, &'a mut [T], &'a mut [T], Send, ChunksMut, chunks_mut, split_at_mut, usize::div_ceil
);
chunk_source!(
    /// `par_chunks_exact`'s iterator: the elements past the last whole chunk are left out.
    ChunksExactIter, &'a [T], &'a [T], Sync, ChunksExact, chunks_exact, split_at, |n: usize, s: usize| n / s
);
chunk_source!(
    /// `par_chunks_exact_mut`'s iterator.
    ChunksExactMutIter, &'a mut [T], &'a mut [T], Send, ChunksExactMut, chunks_exact_mut, split_at_mut, |n: usize, s: usize| n / s
);

/// `par_windows`' iterator: every run of `size` consecutive elements.
#[derive(Debug)]
pub struct WindowsIter<'a, T> {
    slice: &'a [T],
    size: usize,
}

impl<'a, T: Sync> Producer for WindowsIter<'a, T> {
    type Item = &'a [T];
    type IntoIter = std::slice::Windows<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.slice.windows(self.size)
    }
    fn split_at(self, index: usize) -> (Self, Self) {
        // Window `index` starts at element `index`; the left part keeps the elements its last
        // window reaches.
        let left_end = (index + self.size - 1).min(self.slice.len());
        let size = self.size;
        (
            WindowsIter {
                slice: &self.slice[..left_end],
                size,
            },
            WindowsIter {
                slice: &self.slice[index.min(self.slice.len())..],
                size,
            },
        )
    }
}
indexed_source!(impl['a, T: Sync + 'a] WindowsIter<'a, T> => &'a [T], len(s) (s.slice.len() + 1).saturating_sub(s.size));

/// `par_split`'s iterator: the subslices between elements that match a predicate.
pub struct SplitIter<'a, T, P> {
    slice: &'a [T],
    pred: P,
}

/// An unindexed piece of a [`SplitIter`]: `slice` starts at a subslice's start and ends at a
/// subslice's end (just before a separator, or at the end of the whole slice).
struct SplitProducer<'a, 'p, T, P> {
    slice: &'a [T],
    pred: &'p P,
}

impl<'a, T: Sync, P: Fn(&T) -> bool + Sync> UnindexedProducer for SplitProducer<'a, '_, T, P> {
    type Item = &'a [T];
    fn split(self) -> (Self, Option<Self>) {
        let mid = self.slice.len() / 2;
        // A separator at or after the middle (else before it) splits the piece in two pieces
        // that each hold whole subslices.
        let at = self.slice[mid..]
            .iter()
            .position(self.pred)
            .map(|i| mid + i)
            .or_else(|| self.slice[..mid].iter().rposition(self.pred));
        match at {
            Some(at) => (
                SplitProducer {
                    slice: &self.slice[..at],
                    pred: self.pred,
                },
                Some(SplitProducer {
                    slice: &self.slice[at + 1..],
                    pred: self.pred,
                }),
            ),
            None => (self, None),
        }
    }
    fn fold_with<F: Folder<&'a [T]>>(self, folder: F) -> F {
        folder.consume_iter(self.slice.split(self.pred))
    }
}

impl<'a, T: Sync, P: Fn(&T) -> bool + Sync + Send> ParallelIterator for SplitIter<'a, T, P> {
    type Item = &'a [T];
    fn drive_unindexed<C: Consumer<&'a [T]>>(self, consumer: C) -> C::Result {
        let producer = SplitProducer {
            slice: self.slice,
            pred: &self.pred,
        };
        bridge_unindexed(producer, &consumer, 0)
    }
}

/// Parallel methods on shared slices (rayon's `ParallelSlice`).
///
/// ```
/// use corepool::prelude::*;
/// let v: Vec<u32> = (1..=10).collect();
/// let sums: Vec<u32> = v.par_chunks(4).map(|c| c.iter().sum()).collect();
/// assert_eq!(sums, [10, 26, 19]);
/// assert_eq!(v.par_windows(2).filter(|w| w[0] < w[1]).count(), 9);
/// let parts: Vec<&[u32]> = [1, 0, 2, 3, 0, 4].par_split(|&x| x == 0).collect();
/// assert_eq!(parts, [&[1][..], &[2, 3], &[4]]);
/// ```
pub trait ParallelSlice<T: Sync> {
    /// The slice itself.
    fn as_parallel_slice(&self) -> &[T];

    /// Chunks of `size` elements (the last may be shorter).
    ///
    /// # Panics
    /// If `size` is 0.
    fn par_chunks(&self, size: usize) -> ChunksIter<'_, T> {
        assert!(
            size != 0,
            "corepool: par_chunks needs a chunk size of at least 1"
        );
        ChunksIter {
            slice: self.as_parallel_slice(),
            size,
        }
    }

    /// Chunks of exactly `size` elements; the rest is left out.
    ///
    /// # Panics
    /// If `size` is 0.
    fn par_chunks_exact(&self, size: usize) -> ChunksExactIter<'_, T> {
        assert!(
            size != 0,
            "corepool: par_chunks_exact needs a chunk size of at least 1"
        );
        ChunksExactIter {
            slice: self.as_parallel_slice(),
            size,
        }
    }

    /// Every window of `size` consecutive elements.
    ///
    /// # Panics
    /// If `size` is 0.
    fn par_windows(&self, size: usize) -> WindowsIter<'_, T> {
        assert!(
            size != 0,
            "corepool: par_windows needs a window size of at least 1"
        );
        WindowsIter {
            slice: self.as_parallel_slice(),
            size,
        }
    }

    /// The subslices between elements for which `pred` holds.
    fn par_split<P>(&self, pred: P) -> SplitIter<'_, T, P>
    where
        P: Fn(&T) -> bool + Sync + Send,
    {
        SplitIter {
            slice: self.as_parallel_slice(),
            pred,
        }
    }
}

impl<T: Sync> ParallelSlice<T> for [T] {
    fn as_parallel_slice(&self) -> &[T] {
        self
    }
}

/// Parallel methods on mutable slices (rayon's `ParallelSliceMut`): chunks and the sorts.
///
/// ```
/// use corepool::prelude::*;
/// let mut v = vec![5, 3, 9, 1, 7];
/// v.par_sort();
/// assert_eq!(v, [1, 3, 5, 7, 9]);
/// v.par_chunks_mut(2).for_each(|c| c.reverse());
/// assert_eq!(v, [3, 1, 7, 5, 9]);
/// v.par_sort_unstable_by_key(|&x| std::cmp::Reverse(x));
/// assert_eq!(v, [9, 7, 5, 3, 1]);
/// ```
pub trait ParallelSliceMut<T: Send> {
    /// The slice itself.
    fn as_parallel_slice_mut(&mut self) -> &mut [T];

    /// Mutable chunks of `size` elements (the last may be shorter).
    ///
    /// # Panics
    /// If `size` is 0.
    fn par_chunks_mut(&mut self, size: usize) -> ChunksMutIter<'_, T> {
        assert!(
            size != 0,
            "corepool: par_chunks_mut needs a chunk size of at least 1"
        );
        ChunksMutIter {
            slice: self.as_parallel_slice_mut(),
            size,
        }
    }

    /// Mutable chunks of exactly `size` elements; the rest is left out.
    ///
    /// # Panics
    /// If `size` is 0.
    fn par_chunks_exact_mut(&mut self, size: usize) -> ChunksExactMutIter<'_, T> {
        assert!(
            size != 0,
            "corepool: par_chunks_exact_mut needs a chunk size of at least 1"
        );
        ChunksExactMutIter {
            slice: self.as_parallel_slice_mut(),
            size,
        }
    }

    /// Sorts, stable (a parallel merge sort).
    fn par_sort(&mut self)
    where
        T: Ord,
    {
        sort::stable(Joiner::Current, self.as_parallel_slice_mut(), &T::cmp);
    }

    /// Sorts by a comparator, stable.
    fn par_sort_by<F>(&mut self, compare: F)
    where
        F: Fn(&T, &T) -> Ordering + Sync,
    {
        sort::stable(Joiner::Current, self.as_parallel_slice_mut(), &compare);
    }

    /// Sorts by a key, stable.
    fn par_sort_by_key<K, F>(&mut self, key: F)
    where
        K: Ord,
        F: Fn(&T) -> K + Sync,
    {
        let cmp = |a: &T, b: &T| key(a).cmp(&key(b));
        sort::stable(Joiner::Current, self.as_parallel_slice_mut(), &cmp);
    }

    /// Sorts, unstable (a parallel quicksort).
    fn par_sort_unstable(&mut self)
    where
        T: Ord,
    {
        sort::unstable(Joiner::Current, self.as_parallel_slice_mut(), &T::cmp);
    }

    /// Sorts by a comparator, unstable.
    fn par_sort_unstable_by<F>(&mut self, compare: F)
    where
        F: Fn(&T, &T) -> Ordering + Sync,
    {
        sort::unstable(Joiner::Current, self.as_parallel_slice_mut(), &compare);
    }

    /// Sorts by a key, unstable.
    fn par_sort_unstable_by_key<K, F>(&mut self, key: F)
    where
        K: Ord,
        F: Fn(&T) -> K + Sync,
    {
        let cmp = |a: &T, b: &T| key(a).cmp(&key(b));
        sort::unstable(Joiner::Current, self.as_parallel_slice_mut(), &cmp);
    }
}

impl<T: Send> ParallelSliceMut<T> for [T] {
    fn as_parallel_slice_mut(&mut self) -> &mut [T] {
        self
    }
}
