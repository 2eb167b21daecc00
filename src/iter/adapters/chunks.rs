//! `chunks`: the items grouped into `Vec`s of a fixed size.
//!
//! Invariant: chunk `k` holds base items `k * size ..` (the last may be shorter); a split at
//! chunk `i` splits the base at item `i * size`, so chunks never straddle pieces.

use super::indexed::bridged;
use crate::iter::plumbing::{bridge, Consumer, Producer, ProducerCallback};
use crate::iter::{IndexedParallelIterator, ParallelIterator};

/// `chunks`' iterator.
#[derive(Clone, Debug)]
#[must_use = "iterator adapters do nothing until a terminal method runs them"]
pub struct Chunks<I> {
    base: I,
    size: usize,
}

impl<I> Chunks<I> {
    pub(crate) fn new(base: I, size: usize) -> Self {
        Chunks { base, size }
    }
}

bridged!(Chunks, Vec<I::Item>);

impl<I: IndexedParallelIterator> IndexedParallelIterator for Chunks<I> {
    fn len(&self) -> usize {
        self.base.len().div_ceil(self.size)
    }
    fn with_producer<CB: ProducerCallback<Vec<I::Item>>>(self, callback: CB) -> CB::Output {
        struct Callback<CB> {
            callback: CB,
            size: usize,
            len: usize,
        }
        impl<T, CB: ProducerCallback<Vec<T>>> ProducerCallback<T> for Callback<CB> {
            type Output = CB::Output;
            fn callback<P: Producer<Item = T>>(self, base: P) -> CB::Output {
                self.callback.callback(ChunkProducer {
                    base,
                    size: self.size,
                    len: self.len,
                })
            }
        }
        let (size, len) = (self.size, self.base.len());
        self.base.with_producer(Callback {
            callback,
            size,
            len,
        })
    }
}

/// `len` is the base's item count.
struct ChunkProducer<P> {
    base: P,
    size: usize,
    len: usize,
}

impl<P: Producer> Producer for ChunkProducer<P> {
    type Item = Vec<P::Item>;
    type IntoIter = ChunkIter<P::IntoIter>;
    fn into_iter(self) -> Self::IntoIter {
        ChunkIter {
            iter: self.base.into_iter(),
            size: self.size,
        }
    }
    // The base's limits, in chunks.
    fn min_len(&self) -> usize {
        self.base.min_len().div_ceil(self.size)
    }
    fn max_len(&self) -> usize {
        (self.base.max_len() / self.size).max(1)
    }
    fn split_at(self, index: usize) -> (Self, Self) {
        let at = index.saturating_mul(self.size).min(self.len);
        let (a, b) = self.base.split_at(at);
        let size = self.size;
        (
            ChunkProducer {
                base: a,
                size,
                len: at,
            },
            ChunkProducer {
                base: b,
                size,
                len: self.len - at,
            },
        )
    }
}

struct ChunkIter<I> {
    iter: I,
    size: usize,
}

impl<I: ExactSizeIterator> Iterator for ChunkIter<I> {
    type Item = Vec<I::Item>;
    fn next(&mut self) -> Option<Vec<I::Item>> {
        let chunk: Vec<_> = self.iter.by_ref().take(self.size).collect();
        (!chunk.is_empty()).then_some(chunk)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.iter.len().div_ceil(self.size);
        (n, Some(n))
    }
}

impl<I: DoubleEndedIterator + ExactSizeIterator> DoubleEndedIterator for ChunkIter<I> {
    fn next_back(&mut self) -> Option<Vec<I::Item>> {
        let left = self.iter.len();
        if left == 0 {
            return None;
        }
        let last = match left % self.size {
            0 => self.size,
            short => short,
        };
        let mut chunk: Vec<_> = self.iter.by_ref().rev().take(last).collect();
        chunk.reverse();
        Some(chunk)
    }
}

impl<I: ExactSizeIterator> ExactSizeIterator for ChunkIter<I> {}
