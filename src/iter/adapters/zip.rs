//! `zip`, `zip_eq` and `interleave`: two indexed iterators in step.
//!
//! Invariant: both producers are split at the same positions of the combined sequence, so the
//! pairs (or the alternation) are those of the sequential adapters; `zip` trims both sides to
//! the shorter length before anything runs, so no item past it is ever produced.

use super::{with_two_producers, JoinProducers};
use crate::iter::plumbing::{bridge, Consumer, Producer, ProducerCallback};
use crate::iter::{IndexedParallelIterator, ParallelIterator};

/// `zip`'s iterator.
#[derive(Clone, Debug)]
#[must_use = "iterator adapters do nothing until a terminal method runs them"]
pub struct Zip<A, B> {
    a: A,
    b: B,
}

impl<A, B> Zip<A, B> {
    pub(crate) fn new(a: A, b: B) -> Self {
        Zip { a, b }
    }
}

impl<A: IndexedParallelIterator, B: IndexedParallelIterator> ParallelIterator for Zip<A, B> {
    type Item = (A::Item, B::Item);
    fn drive_unindexed<C: Consumer<Self::Item>>(self, consumer: C) -> C::Result {
        bridge(self, consumer)
    }
    fn opt_len(&self) -> Option<usize> {
        Some(self.len())
    }
    fn exact_offsets(&self) -> Option<crate::iter::Exact<Self>> {
        // SAFETY: driven by `bridge` (see the `bridged!` adapters).
        Some(unsafe { crate::iter::Exact::new() })
    }
}

impl<A: IndexedParallelIterator, B: IndexedParallelIterator> IndexedParallelIterator for Zip<A, B> {
    fn len(&self) -> usize {
        self.a.len().min(self.b.len())
    }
    fn with_producer<CB: ProducerCallback<Self::Item>>(self, callback: CB) -> CB::Output {
        struct CallbackA<CB, B> {
            callback: CB,
            b: B,
            len: usize,
        }
        impl<CB, ITEM, B> ProducerCallback<ITEM> for CallbackA<CB, B>
        where
            B: IndexedParallelIterator,
            CB: ProducerCallback<(ITEM, B::Item)>,
        {
            type Output = CB::Output;
            fn callback<PA: Producer<Item = ITEM>>(self, a: PA) -> CB::Output {
                let a = a.split_at(self.len).0;
                self.b.with_producer(CallbackB {
                    callback: self.callback,
                    a,
                    len: self.len,
                })
            }
        }
        struct CallbackB<CB, PA> {
            callback: CB,
            a: PA,
            len: usize,
        }
        impl<CB, ITEM, PA> ProducerCallback<ITEM> for CallbackB<CB, PA>
        where
            PA: Producer,
            CB: ProducerCallback<(PA::Item, ITEM)>,
        {
            type Output = CB::Output;
            fn callback<PB: Producer<Item = ITEM>>(self, b: PB) -> CB::Output {
                let b = b.split_at(self.len).0;
                self.callback.callback(ZipProducer { a: self.a, b })
            }
        }
        let len = self.len();
        self.a.with_producer(CallbackA {
            callback,
            b: self.b,
            len,
        })
    }
}

struct ZipProducer<A, B> {
    a: A,
    b: B,
}

impl<A: Producer, B: Producer> Producer for ZipProducer<A, B> {
    type Item = (A::Item, B::Item);
    type IntoIter = std::iter::Zip<A::IntoIter, B::IntoIter>;
    fn into_iter(self) -> Self::IntoIter {
        self.a.into_iter().zip(self.b.into_iter())
    }
    fn min_len(&self) -> usize {
        self.a.min_len().max(self.b.min_len())
    }
    fn max_len(&self) -> usize {
        self.a.max_len().min(self.b.max_len())
    }
    fn split_at(self, index: usize) -> (Self, Self) {
        let (a1, a2) = self.a.split_at(index);
        let (b1, b2) = self.b.split_at(index);
        (ZipProducer { a: a1, b: b1 }, ZipProducer { a: a2, b: b2 })
    }
}

/// `zip_eq`'s iterator (`zip` of two iterators checked to be equally long).
#[derive(Clone, Debug)]
#[must_use = "iterator adapters do nothing until a terminal method runs them"]
pub struct ZipEq<A, B> {
    zip: Zip<A, B>,
}

impl<A, B> ZipEq<A, B> {
    pub(crate) fn new(a: A, b: B) -> Self {
        ZipEq {
            zip: Zip::new(a, b),
        }
    }
}

impl<A: IndexedParallelIterator, B: IndexedParallelIterator> ParallelIterator for ZipEq<A, B> {
    type Item = (A::Item, B::Item);
    fn drive_unindexed<C: Consumer<Self::Item>>(self, consumer: C) -> C::Result {
        bridge(self.zip, consumer)
    }
    fn opt_len(&self) -> Option<usize> {
        Some(self.zip.len())
    }
    fn exact_offsets(&self) -> Option<crate::iter::Exact<Self>> {
        // SAFETY: driven by `bridge` (see the `bridged!` adapters).
        Some(unsafe { crate::iter::Exact::new() })
    }
}

impl<A: IndexedParallelIterator, B: IndexedParallelIterator> IndexedParallelIterator
    for ZipEq<A, B>
{
    fn len(&self) -> usize {
        self.zip.len()
    }
    fn with_producer<CB: ProducerCallback<Self::Item>>(self, callback: CB) -> CB::Output {
        self.zip.with_producer(callback)
    }
}

/// `interleave`'s iterator.
#[derive(Clone, Debug)]
#[must_use = "iterator adapters do nothing until a terminal method runs them"]
pub struct Interleave<A, B> {
    a: A,
    b: B,
}

impl<A, B> Interleave<A, B> {
    pub(crate) fn new(a: A, b: B) -> Self {
        Interleave { a, b }
    }
}

impl<A, B> ParallelIterator for Interleave<A, B>
where
    A: IndexedParallelIterator,
    B: IndexedParallelIterator<Item = A::Item>,
{
    type Item = A::Item;
    fn drive_unindexed<C: Consumer<A::Item>>(self, consumer: C) -> C::Result {
        bridge(self, consumer)
    }
    fn opt_len(&self) -> Option<usize> {
        Some(self.len())
    }
    fn exact_offsets(&self) -> Option<crate::iter::Exact<Self>> {
        // SAFETY: driven by `bridge` (see the `bridged!` adapters).
        Some(unsafe { crate::iter::Exact::new() })
    }
}

impl<A, B> IndexedParallelIterator for Interleave<A, B>
where
    A: IndexedParallelIterator,
    B: IndexedParallelIterator<Item = A::Item>,
{
    fn len(&self) -> usize {
        self.a.len() + self.b.len()
    }
    fn with_producer<CB: ProducerCallback<A::Item>>(self, callback: CB) -> CB::Output {
        with_two_producers::<InterleaveJoin, _, _, _>(self.a, self.b, callback)
    }
}

/// Builds the interleave producer.
struct InterleaveJoin;

impl JoinProducers for InterleaveJoin {
    fn join<PA, PB>(a: PA, a_len: usize, b: PB, b_len: usize) -> impl Producer<Item = PA::Item>
    where
        PA: Producer,
        PB: Producer<Item = PA::Item>,
    {
        InterleaveProducer {
            a,
            b,
            a_len,
            b_len,
            b_next: false,
        }
    }
}

/// `b_next`: the first item of this piece comes from `b`.
struct InterleaveProducer<A, B> {
    a: A,
    b: B,
    a_len: usize,
    b_len: usize,
    b_next: bool,
}

impl<A, B> Producer for InterleaveProducer<A, B>
where
    A: Producer,
    B: Producer<Item = A::Item>,
{
    type Item = A::Item;
    type IntoIter = InterleaveIter<A::IntoIter, B::IntoIter>;
    fn into_iter(self) -> Self::IntoIter {
        InterleaveIter {
            a: self.a.into_iter(),
            b: self.b.into_iter(),
            b_next: self.b_next,
        }
    }
    fn min_len(&self) -> usize {
        self.a.min_len().max(self.b.min_len())
    }
    fn max_len(&self) -> usize {
        self.a.max_len().min(self.b.max_len())
    }
    fn split_at(self, index: usize) -> (Self, Self) {
        // How many of the first `index` items each side gives: alternately while both last,
        // then the rest from the longer.
        let short = self.a_len.min(self.b_len);
        let (lead, follow) = if index <= 2 * short {
            (index.div_ceil(2), index / 2)
        } else if (self.b_next && self.b_len == short) || (!self.b_next && self.a_len == short) {
            (short, index - short)
        } else {
            (index - short, short)
        };
        let (a_count, b_count) = if self.b_next {
            (follow, lead)
        } else {
            (lead, follow)
        };
        let (a1, a2) = self.a.split_at(a_count);
        let (b1, b2) = self.b.split_at(b_count);
        let left = InterleaveProducer {
            a: a1,
            b: b1,
            a_len: a_count,
            b_len: b_count,
            b_next: self.b_next,
        };
        let right = InterleaveProducer {
            a: a2,
            b: b2,
            a_len: self.a_len - a_count,
            b_len: self.b_len - b_count,
            b_next: self.b_next ^ (index % 2 == 1),
        };
        (left, right)
    }
}

/// Alternates `a` and `b` (starting with `b` if `b_next`), then the rest of the longer.
struct InterleaveIter<A, B> {
    a: A,
    b: B,
    b_next: bool,
}

impl<A, B> Iterator for InterleaveIter<A, B>
where
    A: ExactSizeIterator,
    B: ExactSizeIterator<Item = A::Item>,
{
    type Item = A::Item;
    fn next(&mut self) -> Option<A::Item> {
        let first = if self.b_next {
            self.b.next()
        } else {
            self.a.next()
        };
        match first {
            Some(item) => {
                self.b_next = !self.b_next;
                Some(item)
            }
            None if self.b_next => self.a.next(),
            None => self.b.next(),
        }
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.a.len() + self.b.len();
        (n, Some(n))
    }
}

impl<A, B> DoubleEndedIterator for InterleaveIter<A, B>
where
    A: DoubleEndedIterator + ExactSizeIterator,
    B: DoubleEndedIterator + ExactSizeIterator<Item = A::Item>,
{
    fn next_back(&mut self) -> Option<A::Item> {
        let (ra, rb) = (self.a.len(), self.b.len());
        // The last item comes from `b` when `b` is longer (it leads and matches `a`, or it
        // follows and outlasts it); from `a` otherwise, by the same rule.
        let from_b = if self.b_next { rb > ra } else { rb >= ra };
        if from_b {
            self.b.next_back()
        } else {
            self.a.next_back()
        }
    }
}

impl<A, B> ExactSizeIterator for InterleaveIter<A, B>
where
    A: ExactSizeIterator,
    B: ExactSizeIterator<Item = A::Item>,
{
}
