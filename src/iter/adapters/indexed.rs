//! The adapters that keep items reachable by index: `enumerate`, `rev`, `take`, `skip`,
//! `step_by`, `with_min_len`, `with_max_len`; and `with_pool`.
//!
//! Invariant: each wraps its base's producer so that `split_at(i)` still hands out the first
//! `i` items of *this* adapter's sequence and the rest, computed from the base's length; so every
//! base item is produced at most once (`take`, `skip` and `step_by` drop the others unproduced).

use crate::iter::plumbing::{bridge, Consumer, Producer, ProducerCallback};
use crate::iter::{IndexedParallelIterator, ParallelIterator};

/// `ParallelIterator` for an indexed adapter over `I`: bridged, with its exact length.
macro_rules! bridged {
    ($name:ident, $item:ty) => {
        impl<I: IndexedParallelIterator> ParallelIterator for $name<I> {
            type Item = $item;
            fn drive_unindexed<C: Consumer<$item>>(self, consumer: C) -> C::Result {
                bridge(self, consumer)
            }
            fn opt_len(&self) -> Option<usize> {
                Some(IndexedParallelIterator::len(self))
            }
            fn exact_offsets(&self) -> Option<crate::iter::Exact<Self>> {
                // SAFETY: `bridge` gives each run its first item's index, hands out `0..len` once
                // each, and takes at most the asked count from each producer block for a
                // position-writing consumer (`counts_blocks`), whatever that producer does.
                Some(unsafe { crate::iter::Exact::new() })
            }
        }
    };
}
pub(crate) use bridged;

/// Declares an adapter struct over a base iterator, with its constructor.
macro_rules! adapter {
    ($(#[$doc:meta])* $name:ident { $($field:ident: $ty:ty),* }) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        #[must_use = "iterator adapters do nothing until a terminal method runs them"]
        pub struct $name<I> {
            base: I,
            $($field: $ty,)*
        }
        impl<I> $name<I> {
            pub(crate) fn new(base: I, $($field: $ty),*) -> Self {
                $name { base, $($field),* }
            }
        }
    };
}

adapter!(
    /// `enumerate`'s iterator.
    Enumerate {}
);
adapter!(
    /// `rev`'s iterator.
    Rev {}
);
adapter!(
    /// `take`'s iterator.
    Take { n: usize }
);
adapter!(
    /// `skip`'s iterator.
    Skip { n: usize }
);
adapter!(
    /// `step_by`'s iterator.
    StepBy { step: usize }
);
adapter!(
    /// `with_min_len`'s iterator.
    MinLen { min: usize }
);
adapter!(
    /// `with_max_len`'s iterator.
    MaxLen { max: usize }
);

bridged!(Enumerate, (usize, I::Item));
bridged!(Rev, I::Item);
bridged!(Take, I::Item);
bridged!(Skip, I::Item);
bridged!(StepBy, I::Item);
bridged!(MinLen, I::Item);
bridged!(MaxLen, I::Item);

// ---- enumerate ----

impl<I: IndexedParallelIterator> IndexedParallelIterator for Enumerate<I> {
    fn len(&self) -> usize {
        self.base.len()
    }
    fn with_producer<CB: ProducerCallback<(usize, I::Item)>>(self, callback: CB) -> CB::Output {
        struct Callback<CB>(CB);
        impl<T, CB: ProducerCallback<(usize, T)>> ProducerCallback<T> for Callback<CB> {
            type Output = CB::Output;
            fn callback<P: Producer<Item = T>>(self, base: P) -> CB::Output {
                self.0.callback(EnumerateProducer { base, offset: 0 })
            }
        }
        self.base.with_producer(Callback(callback))
    }
}

struct EnumerateProducer<P> {
    base: P,
    offset: usize,
}

impl<P: Producer> Producer for EnumerateProducer<P> {
    type Item = (usize, P::Item);
    type IntoIter = std::iter::Zip<std::ops::Range<usize>, P::IntoIter>;
    fn into_iter(self) -> Self::IntoIter {
        let items = self.base.into_iter();
        (self.offset..self.offset + items.len()).zip(items)
    }
    fn min_len(&self) -> usize {
        self.base.min_len()
    }
    fn max_len(&self) -> usize {
        self.base.max_len()
    }
    fn split_at(self, index: usize) -> (Self, Self) {
        let (a, b) = self.base.split_at(index);
        (
            EnumerateProducer {
                base: a,
                offset: self.offset,
            },
            EnumerateProducer {
                base: b,
                offset: self.offset + index,
            },
        )
    }
}

// ---- rev ----

impl<I: IndexedParallelIterator> IndexedParallelIterator for Rev<I> {
    fn len(&self) -> usize {
        self.base.len()
    }
    fn with_producer<CB: ProducerCallback<I::Item>>(self, callback: CB) -> CB::Output {
        struct Callback<CB>(CB, usize);
        impl<T, CB: ProducerCallback<T>> ProducerCallback<T> for Callback<CB> {
            type Output = CB::Output;
            fn callback<P: Producer<Item = T>>(self, base: P) -> CB::Output {
                self.0.callback(RevProducer { base, len: self.1 })
            }
        }
        let len = self.base.len();
        self.base.with_producer(Callback(callback, len))
    }
}

struct RevProducer<P> {
    base: P,
    len: usize,
}

impl<P: Producer> Producer for RevProducer<P> {
    type Item = P::Item;
    type IntoIter = std::iter::Rev<P::IntoIter>;
    fn into_iter(self) -> Self::IntoIter {
        self.base.into_iter().rev()
    }
    fn min_len(&self) -> usize {
        self.base.min_len()
    }
    fn max_len(&self) -> usize {
        self.base.max_len()
    }
    fn split_at(self, index: usize) -> (Self, Self) {
        let (front, back) = self.base.split_at(self.len - index);
        (
            RevProducer {
                base: back,
                len: index,
            },
            RevProducer {
                base: front,
                len: self.len - index,
            },
        )
    }
}

// ---- take and skip ----

/// Hands on the `keep_left` side of the base producer split at `at`.
struct SplitCallback<CB> {
    callback: CB,
    at: usize,
    keep_left: bool,
}

impl<T, CB: ProducerCallback<T>> ProducerCallback<T> for SplitCallback<CB> {
    type Output = CB::Output;
    fn callback<P: Producer<Item = T>>(self, base: P) -> CB::Output {
        let (left, right) = base.split_at(self.at);
        if self.keep_left {
            self.callback.callback(left)
        } else {
            self.callback.callback(right)
        }
    }
}

impl<I: IndexedParallelIterator> IndexedParallelIterator for Take<I> {
    fn len(&self) -> usize {
        self.base.len().min(self.n)
    }
    fn with_producer<CB: ProducerCallback<I::Item>>(self, callback: CB) -> CB::Output {
        let at = self.len();
        self.base.with_producer(SplitCallback {
            callback,
            at,
            keep_left: true,
        })
    }
}

impl<I: IndexedParallelIterator> IndexedParallelIterator for Skip<I> {
    fn len(&self) -> usize {
        self.base.len().saturating_sub(self.n)
    }
    fn with_producer<CB: ProducerCallback<I::Item>>(self, callback: CB) -> CB::Output {
        let at = self.n.min(self.base.len());
        self.base.with_producer(SplitCallback {
            callback,
            at,
            keep_left: false,
        })
    }
}

// ---- step_by ----

impl<I: IndexedParallelIterator> IndexedParallelIterator for StepBy<I> {
    fn len(&self) -> usize {
        self.base.len().div_ceil(self.step)
    }
    fn with_producer<CB: ProducerCallback<I::Item>>(self, callback: CB) -> CB::Output {
        struct Callback<CB> {
            callback: CB,
            step: usize,
            len: usize,
        }
        impl<T, CB: ProducerCallback<T>> ProducerCallback<T> for Callback<CB> {
            type Output = CB::Output;
            fn callback<P: Producer<Item = T>>(self, base: P) -> CB::Output {
                self.callback.callback(StepByProducer {
                    base,
                    step: self.step,
                    len: self.len,
                })
            }
        }
        let (step, len) = (self.step, self.base.len());
        self.base.with_producer(Callback {
            callback,
            step,
            len,
        })
    }
}

/// `len` is the base's item count.
struct StepByProducer<P> {
    base: P,
    step: usize,
    len: usize,
}

impl<P: Producer> Producer for StepByProducer<P> {
    type Item = P::Item;
    type IntoIter = std::iter::StepBy<P::IntoIter>;
    fn into_iter(self) -> Self::IntoIter {
        self.base.into_iter().step_by(self.step)
    }
    // The base's limits, in this adapter's items (one per `step` of the base's).
    fn min_len(&self) -> usize {
        self.base.min_len().div_ceil(self.step)
    }
    fn max_len(&self) -> usize {
        (self.base.max_len() / self.step).max(1)
    }
    fn split_at(self, index: usize) -> (Self, Self) {
        let at = index.saturating_mul(self.step).min(self.len);
        let (a, b) = self.base.split_at(at);
        let step = self.step;
        (
            StepByProducer {
                base: a,
                step,
                len: at,
            },
            StepByProducer {
                base: b,
                step,
                len: self.len - at,
            },
        )
    }
}

// ---- with_min_len and with_max_len ----

/// A producer whose piece-length limits are replaced.
struct LenProducer<P> {
    base: P,
    min: usize,
    max: usize,
}

impl<P: Producer> Producer for LenProducer<P> {
    type Item = P::Item;
    type IntoIter = P::IntoIter;
    fn into_iter(self) -> P::IntoIter {
        self.base.into_iter()
    }
    fn min_len(&self) -> usize {
        self.min
    }
    fn max_len(&self) -> usize {
        self.max
    }
    fn split_at(self, index: usize) -> (Self, Self) {
        let (a, b) = self.base.split_at(index);
        let (min, max) = (self.min, self.max);
        (
            LenProducer { base: a, min, max },
            LenProducer { base: b, min, max },
        )
    }
}

/// Wraps the base producer in a [`LenProducer`], tightening one limit.
struct LenCallback<CB> {
    callback: CB,
    min: Option<usize>,
    max: Option<usize>,
}

impl<T, CB: ProducerCallback<T>> ProducerCallback<T> for LenCallback<CB> {
    type Output = CB::Output;
    fn callback<P: Producer<Item = T>>(self, base: P) -> CB::Output {
        let min = self.min.map_or(base.min_len(), |m| m.max(base.min_len()));
        let max = self.max.map_or(base.max_len(), |m| m.min(base.max_len()));
        self.callback.callback(LenProducer { base, min, max })
    }
}

impl<I: IndexedParallelIterator> IndexedParallelIterator for MinLen<I> {
    fn len(&self) -> usize {
        self.base.len()
    }
    fn with_producer<CB: ProducerCallback<I::Item>>(self, callback: CB) -> CB::Output {
        let min = Some(self.min);
        self.base.with_producer(LenCallback {
            callback,
            min,
            max: None,
        })
    }
}

impl<I: IndexedParallelIterator> IndexedParallelIterator for MaxLen<I> {
    fn len(&self) -> usize {
        self.base.len()
    }
    fn with_producer<CB: ProducerCallback<I::Item>>(self, callback: CB) -> CB::Output {
        let max = Some(self.max);
        self.base.with_producer(LenCallback {
            callback,
            min: None,
            max,
        })
    }
}

// ---- with_pool ----

/// `with_pool`'s iterator: the chain runs on the given pool. Call it last in a chain (it
/// is not indexed itself; `collect` still writes an indexed chain in place).
#[derive(Clone, Debug)]
#[must_use = "iterator adapters do nothing until a terminal method runs them"]
pub struct WithPool<'p, I> {
    base: I,
    pool: &'p crate::Pool,
}

impl<'p, I> WithPool<'p, I> {
    pub(crate) fn new(base: I, pool: &'p crate::Pool) -> Self {
        WithPool { base, pool }
    }
}

impl<I: ParallelIterator> ParallelIterator for WithPool<'_, I> {
    type Item = I::Item;
    fn drive_unindexed<C: Consumer<I::Item>>(self, consumer: C) -> C::Result {
        let base = self.base;
        self.pool.install(move || base.drive_unindexed(consumer))
    }
    fn opt_len(&self) -> Option<usize> {
        self.base.opt_len()
    }
    fn exact_offsets(&self) -> Option<crate::iter::Exact<Self>> {
        self.base.exact_offsets()?;
        // SAFETY: the chain runs unchanged inside `install`, so its offsets are its base's.
        Some(unsafe { crate::iter::Exact::new() })
    }
}
