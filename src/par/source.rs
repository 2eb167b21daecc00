//! Splittable inputs for the data-parallel operations: slices, mutable slices, index ranges, and
//! chunked slices.
//!
//! Invariant: `split_at(mid)` (with `mid <= len()`) returns two disjoint pieces whose items, in
//! order, are exactly the items of the original: its first `mid`, then the rest. `into_seq`
//! yields exactly `len()` items, in order. Every item is therefore handed out exactly once,
//! however the splitter cuts the input, which is what lets a `&mut [T]` be processed in
//! parallel without `unsafe`.

use std::ops::Range;

mod sealed {
    /// Only corepool implements the source traits.
    pub trait Sealed {}
}
use sealed::Sealed;

/// An input the data-parallel operations can split: a slice (items `&T`), a mutable slice (items
/// `&mut T`) or a `Range<usize>` (items `usize`). Obtained through [`IntoParSource`]; its methods
/// are used by corepool's splitter only.
///
/// ```
/// use corepool::ParSource;
/// fn items<S: ParSource>(_: S) {}
/// items(&[1, 2, 3][..]);
/// items(0..10usize);
/// ```
// `is_empty` would be unused: the splitter only ever asks for the length.
#[allow(clippy::len_without_is_empty)]
pub trait ParSource: Sealed + Send + Sized {
    /// What one call of the user closure receives.
    type Item: Send;
    #[doc(hidden)]
    type Seq: Iterator<Item = Self::Item> + DoubleEndedIterator + ExactSizeIterator;
    #[doc(hidden)]
    fn len(&self) -> usize;
    #[doc(hidden)]
    fn split_at(self, mid: usize) -> (Self, Self);
    #[doc(hidden)]
    fn into_seq(self) -> Self::Seq;
}

/// Anything that can be turned into a [`ParSource`]: `&[T]`, `&Vec<T>`, `&[T; N]` (items
/// `&T`), their `&mut` forms (items `&mut T`), and `Range<usize>` (items `usize`).
///
/// ```
/// let pool = corepool::Pool::builder().threads(2).build()?;
/// let v = vec![1, 2, 3];
/// assert_eq!(pool.par_map(&v, |x| x * 10), [10, 20, 30]);          // &Vec<T>
/// assert_eq!(pool.par_map(0..3, |i| i * 10), [0, 10, 20]);          // Range<usize>
/// let mut w = [1, 2, 3];
/// pool.par_for_each(&mut w, |x| *x += 1);                           // &mut [T; N]
/// assert_eq!(w, [2, 3, 4]);
/// # Ok::<(), corepool::BuildError>(())
/// ```
pub trait IntoParSource {
    /// The source this converts into.
    type Source: ParSource;
    #[doc(hidden)]
    fn into_par_source(self) -> Self::Source;
}

impl<T: Sync> Sealed for &[T] {}
impl<'a, T: Sync> ParSource for &'a [T] {
    type Item = &'a T;
    type Seq = std::slice::Iter<'a, T>;
    #[inline]
    fn len(&self) -> usize {
        <[T]>::len(self)
    }
    #[inline]
    fn split_at(self, mid: usize) -> (Self, Self) {
        <[T]>::split_at(self, mid)
    }
    #[inline]
    fn into_seq(self) -> Self::Seq {
        self.iter()
    }
}

impl<T: Send> Sealed for &mut [T] {}
impl<'a, T: Send> ParSource for &'a mut [T] {
    type Item = &'a mut T;
    type Seq = std::slice::IterMut<'a, T>;
    #[inline]
    fn len(&self) -> usize {
        <[T]>::len(self)
    }
    #[inline]
    fn split_at(self, mid: usize) -> (Self, Self) {
        <[T]>::split_at_mut(self, mid)
    }
    #[inline]
    fn into_seq(self) -> Self::Seq {
        self.iter_mut()
    }
}

impl Sealed for Range<usize> {}
impl ParSource for Range<usize> {
    type Item = usize;
    type Seq = Range<usize>;
    #[inline]
    fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }
    #[inline]
    fn split_at(self, mid: usize) -> (Self, Self) {
        let mid = self.start + mid;
        (self.start..mid, mid..self.end)
    }
    #[inline]
    fn into_seq(self) -> Self::Seq {
        self
    }
}

/// `slice.chunks(size)` as a source: items are `&[T]` of `size` elements (the last may be
/// shorter).
pub(crate) struct Chunks<'a, T> {
    pub(crate) slice: &'a [T],
    pub(crate) size: usize,
}

impl<T: Sync> Sealed for Chunks<'_, T> {}
impl<'a, T: Sync> ParSource for Chunks<'a, T> {
    type Item = &'a [T];
    type Seq = std::slice::Chunks<'a, T>;
    #[inline]
    fn len(&self) -> usize {
        self.slice.len().div_ceil(self.size)
    }
    #[inline]
    fn split_at(self, mid: usize) -> (Self, Self) {
        let at = mid.saturating_mul(self.size).min(self.slice.len());
        let (a, b) = self.slice.split_at(at);
        (
            Chunks {
                slice: a,
                size: self.size,
            },
            Chunks {
                slice: b,
                size: self.size,
            },
        )
    }
    #[inline]
    fn into_seq(self) -> Self::Seq {
        self.slice.chunks(self.size)
    }
}

/// `slice.chunks_mut(size)` as a source: items are `&mut [T]`.
pub(crate) struct ChunksMut<'a, T> {
    pub(crate) slice: &'a mut [T],
    pub(crate) size: usize,
}

impl<T: Send> Sealed for ChunksMut<'_, T> {}
impl<'a, T: Send> ParSource for ChunksMut<'a, T> {
    type Item = &'a mut [T];
    type Seq = std::slice::ChunksMut<'a, T>;
    #[inline]
    fn len(&self) -> usize {
        self.slice.len().div_ceil(self.size)
    }
    #[inline]
    fn split_at(self, mid: usize) -> (Self, Self) {
        let at = mid.saturating_mul(self.size).min(self.slice.len());
        let size = self.size;
        let (a, b) = self.slice.split_at_mut(at);
        (ChunksMut { slice: a, size }, ChunksMut { slice: b, size })
    }
    #[inline]
    fn into_seq(self) -> Self::Seq {
        self.slice.chunks_mut(self.size)
    }
}

impl<'a, T: Sync> IntoParSource for &'a [T] {
    type Source = &'a [T];
    fn into_par_source(self) -> Self::Source {
        self
    }
}

impl<'a, T: Sync> IntoParSource for &'a Vec<T> {
    type Source = &'a [T];
    fn into_par_source(self) -> Self::Source {
        self
    }
}

impl<'a, T: Sync, const N: usize> IntoParSource for &'a [T; N] {
    type Source = &'a [T];
    fn into_par_source(self) -> Self::Source {
        self
    }
}

impl<'a, T: Send> IntoParSource for &'a mut [T] {
    type Source = &'a mut [T];
    fn into_par_source(self) -> Self::Source {
        self
    }
}

impl<'a, T: Send> IntoParSource for &'a mut Vec<T> {
    type Source = &'a mut [T];
    fn into_par_source(self) -> Self::Source {
        self
    }
}

impl<'a, T: Send, const N: usize> IntoParSource for &'a mut [T; N] {
    type Source = &'a mut [T];
    fn into_par_source(self) -> Self::Source {
        self
    }
}

impl IntoParSource for Range<usize> {
    type Source = Range<usize>;
    fn into_par_source(self) -> Self::Source {
        self
    }
}

/// A source as an indexed parallel iterator: how the `par_*` functions run on `corepool::iter`.
pub(crate) struct SourceIter<S>(pub(crate) S);

impl<S: ParSource> crate::iter::plumbing::Producer for SourceIter<S> {
    type Item = S::Item;
    type IntoIter = S::Seq;
    fn into_iter(self) -> S::Seq {
        self.0.into_seq()
    }
    fn split_at(self, index: usize) -> (Self, Self) {
        let (a, b) = self.0.split_at(index);
        (SourceIter(a), SourceIter(b))
    }
}

crate::iter::sources::indexed_source!(impl[S: ParSource] SourceIter<S> => S::Item, len(s) s.0.len());
