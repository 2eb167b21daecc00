//! Ranges of every integer type as sources: `(a..b).into_par_iter()`, `(a..=b).into_par_iter()`.
//!
//! Invariant: a range is held as its first value and a count, so every range whose length fits
//! a `usize` is indexed (std's `Range<u64>` is not an `ExactSizeIterator`); item `i` is
//! `start + i`, computed with wrapping arithmetic that is exact because it stays in the range.

use super::indexed_source;
use crate::iter::plumbing::Producer;
use crate::iter::IntoParallelIterator;
use std::ops::{Range, RangeInclusive};

/// A range of integers as a parallel iterator.
#[derive(Clone, Debug)]
pub struct RangeIter<T> {
    start: T,
    len: usize,
}

/// The values of a [`RangeIter`] piece, in order.
#[derive(Clone, Debug)]
pub struct RangeSeq<T> {
    start: T,
    offsets: Range<usize>,
}

macro_rules! int_ranges {
    ($($t:ty),*) => {$(
        impl Iterator for RangeSeq<$t> {
            type Item = $t;
            #[inline]
            fn next(&mut self) -> Option<$t> {
                // `as` wraps: the offset is below the range's length, so the sum is in range.
                self.offsets.next().map(|i| self.start.wrapping_add(i as $t))
            }
            fn size_hint(&self) -> (usize, Option<usize>) {
                self.offsets.size_hint()
            }
            /// One counter and one running value: the loop a sequential range compiles to.
            #[inline]
            fn fold<B, F: FnMut(B, $t) -> B>(self, init: B, mut f: F) -> B {
                let mut value = self.start.wrapping_add(self.offsets.start as $t);
                let mut acc = init;
                for _ in self.offsets {
                    acc = f(acc, value);
                    value = value.wrapping_add(1);
                }
                acc
            }
        }
        impl DoubleEndedIterator for RangeSeq<$t> {
            #[inline]
            fn next_back(&mut self) -> Option<$t> {
                self.offsets.next_back().map(|i| self.start.wrapping_add(i as $t))
            }
        }
        impl ExactSizeIterator for RangeSeq<$t> {}

        impl Producer for RangeIter<$t> {
            type Item = $t;
            type IntoIter = RangeSeq<$t>;
            fn into_iter(self) -> RangeSeq<$t> {
                RangeSeq { start: self.start, offsets: 0..self.len }
            }
            fn split_at(self, index: usize) -> (Self, Self) {
                let mid = self.start.wrapping_add(index as $t);
                (
                    RangeIter { start: self.start, len: index },
                    RangeIter { start: mid, len: self.len - index },
                )
            }
        }
        indexed_source!(impl[] RangeIter<$t> => $t, len(s) s.len);

        impl IntoParallelIterator for Range<$t> {
            type Iter = RangeIter<$t>;
            type Item = $t;
            /// # Panics
            /// If the range holds more than `usize::MAX` values (only possible for 128-bit
            /// integers, or 64-bit ones on a 32-bit target).
            fn into_par_iter(self) -> RangeIter<$t> {
                let len = if self.start < self.end {
                    self.end.abs_diff(self.start)
                } else {
                    0
                };
                let len = usize::try_from(len)
                    .expect("corepool: a parallel range may hold at most usize::MAX values");
                RangeIter { start: self.start, len }
            }
        }

        impl IntoParallelIterator for RangeInclusive<$t> {
            type Iter = RangeIter<$t>;
            type Item = $t;
            /// # Panics
            /// If the range holds more than `usize::MAX` values (`0..=u64::MAX` on a 64-bit
            /// target, for one).
            fn into_par_iter(self) -> RangeIter<$t> {
                let (start, end) = (*self.start(), *self.end());
                if self.is_empty() {
                    return RangeIter { start, len: 0 };
                }
                let len = usize::try_from(end.abs_diff(start))
                    .ok()
                    .and_then(|n| n.checked_add(1))
                    .expect("corepool: a parallel range may hold at most usize::MAX values");
                RangeIter { start, len }
            }
        }
    )*};
}

int_ranges!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize);
