//! The sources: what a chain starts from (slices, `Vec`s, ranges, `Option`s, the standard
//! collections, strings, any sequential iterator).
//!
//! Invariant: an indexed source is its own producer, so `bridge` hands out its items; each
//! `split_at(i)` yields its first `i` items and the rest, so every item is produced once.

mod bridge;
mod collections;
mod range;
mod slice;
pub(crate) mod sort;
mod string;
mod vec;

pub(crate) use bridge::windows;
pub use bridge::{Bridge, ParallelBridge};
pub use collections::{OptionIter, ParallelDrainFull, ParallelDrainRange};
pub use range::RangeIter;
pub use slice::{
    ChunksExactIter, ChunksExactMutIter, ChunksIter, ChunksMutIter, ParallelSlice,
    ParallelSliceMut, SliceIter, SliceIterMut, SplitIter, WindowsIter,
};
pub use string::{BytesIter, CharsIter, LinesIter, ParallelString, SplitWhitespaceIter};
pub use vec::VecIntoIter;

/// `ParallelIterator` and `IndexedParallelIterator` for a source that is its own producer.
macro_rules! indexed_source {
    (impl[$($g:tt)*] $ty:ty => $item:ty, len($s:ident) $len:expr) => {
        impl<$($g)*> crate::iter::ParallelIterator for $ty {
            type Item = $item;
            fn drive_unindexed<C: crate::iter::plumbing::Consumer<$item>>(
                self,
                consumer: C,
            ) -> C::Result {
                crate::iter::plumbing::bridge(self, consumer)
            }
            fn opt_len(&self) -> Option<usize> {
                Some(crate::iter::IndexedParallelIterator::len(self))
            }
            fn exact_offsets(&self) -> Option<crate::iter::Exact<Self>> {
                // SAFETY: driven by `bridge`, which gives exact disjoint offsets (see the
                // `bridged!` adapters).
                Some(unsafe { crate::iter::Exact::new() })
            }
        }
        impl<$($g)*> crate::iter::IndexedParallelIterator for $ty {
            fn len(&self) -> usize {
                let $s = self;
                $len
            }
            fn with_producer<CB: crate::iter::plumbing::ProducerCallback<$item>>(
                self,
                callback: CB,
            ) -> CB::Output {
                callback.callback(self)
            }
        }
    };
}
pub(crate) use indexed_source;
