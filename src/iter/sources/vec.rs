//! Owned sources: a `Vec<T>` (and arrays) by value, items moved out.
//!
//! Invariant: the `Vec`'s length is set to 0 before any item is moved out, so the `Vec` only
//! frees its buffer; each item is then owned by exactly one `DrainProducer` piece, which either
//! moves it out through its iterator or drops it (a piece never iterated, an iterator dropped
//! early, a panic), exactly once.

use crate::iter::plumbing::{Consumer, Producer, ProducerCallback};
use crate::iter::{IndexedParallelIterator, IntoParallelIterator, ParallelIterator};
use std::ptr;

/// `into_par_iter()` of a `Vec<T>`: items `T`, moved out.
#[derive(Debug, Clone)]
pub struct VecIntoIter<T> {
    vec: Vec<T>,
}

impl<T> VecIntoIter<T> {
    pub(crate) fn new(vec: Vec<T>) -> Self {
        VecIntoIter { vec }
    }
}

impl<T: Send> IntoParallelIterator for Vec<T> {
    type Iter = VecIntoIter<T>;
    type Item = T;
    fn into_par_iter(self) -> VecIntoIter<T> {
        VecIntoIter { vec: self }
    }
}

impl<T: Send, const N: usize> IntoParallelIterator for [T; N] {
    type Iter = VecIntoIter<T>;
    type Item = T;
    fn into_par_iter(self) -> VecIntoIter<T> {
        VecIntoIter {
            vec: Vec::from(self),
        }
    }
}

impl<T: Send> ParallelIterator for VecIntoIter<T> {
    type Item = T;
    fn drive_unindexed<C: Consumer<T>>(self, consumer: C) -> C::Result {
        crate::iter::plumbing::bridge(self, consumer)
    }
    fn opt_len(&self) -> Option<usize> {
        Some(self.vec.len())
    }
    fn exact_offsets(&self) -> Option<crate::iter::Exact<Self>> {
        // SAFETY: driven by `bridge`, which gives exact disjoint offsets.
        Some(unsafe { crate::iter::Exact::new() })
    }
}

impl<T: Send> IndexedParallelIterator for VecIntoIter<T> {
    fn len(&self) -> usize {
        self.vec.len()
    }
    fn with_producer<CB: ProducerCallback<T>>(self, callback: CB) -> CB::Output {
        let mut vec = self.vec;
        let len = vec.len();
        // SAFETY: the items `0..len` are initialized; from here they are owned by the
        // producer (module invariant), and the `Vec` (length 0) only frees the buffer, after
        // the callback has returned or unwound.
        let producer = unsafe {
            vec.set_len(0);
            DrainProducer {
                slice: std::slice::from_raw_parts_mut(vec.as_mut_ptr(), len),
            }
        };
        callback.callback(producer)
    }
}

/// Owns the items of `slice` (moved out of a `Vec`).
struct DrainProducer<'a, T> {
    slice: &'a mut [T],
}

impl<'a, T: Send> Producer for DrainProducer<'a, T> {
    type Item = T;
    type IntoIter = SliceDrain<'a, T>;
    fn into_iter(mut self) -> SliceDrain<'a, T> {
        let slice = std::mem::take(&mut self.slice);
        SliceDrain {
            iter: slice.iter_mut(),
        }
    }
    fn split_at(mut self, index: usize) -> (Self, Self) {
        let slice = std::mem::take(&mut self.slice);
        let (a, b) = slice.split_at_mut(index);
        (DrainProducer { slice: a }, DrainProducer { slice: b })
    }
}

impl<T> Drop for DrainProducer<'_, T> {
    fn drop(&mut self) {
        // SAFETY: the items still in `slice` are owned by this piece and were never moved out
        // (`into_iter` and `split_at` take the slice first).
        unsafe { ptr::drop_in_place(std::mem::take(&mut self.slice) as *mut [T]) };
    }
}

/// Moves the items out one by one; drops the ones it did not hand out.
struct SliceDrain<'a, T> {
    iter: std::slice::IterMut<'a, T>,
}

impl<T> Iterator for SliceDrain<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        // SAFETY: each element is visited once by the iterator, and owned by this drain.
        self.iter.next().map(|p| unsafe { ptr::read(p) })
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.iter.size_hint()
    }
}

impl<T> DoubleEndedIterator for SliceDrain<'_, T> {
    fn next_back(&mut self) -> Option<T> {
        // SAFETY: as in `next`.
        self.iter.next_back().map(|p| unsafe { ptr::read(p) })
    }
}

impl<T> ExactSizeIterator for SliceDrain<'_, T> {}

impl<T> Drop for SliceDrain<'_, T> {
    fn drop(&mut self) {
        let rest = std::mem::take(&mut self.iter).into_slice();
        // SAFETY: the elements the iterator has not yet visited are owned here and were never
        // read out.
        unsafe { ptr::drop_in_place(rest as *mut [T]) };
    }
}
