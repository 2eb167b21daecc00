//! `chain`: one iterator's items, then another's.
//!
//! Invariant: the second part's runs always sort after the first part's: its offsets are
//! shifted by the first part's length when that is known, and pinned to the largest key when it
//! is not (so ordered consumers never take a second-part item for an earlier one).

use super::{with_two_producers, JoinProducers, Key, Keyed};
use crate::iter::plumbing::{Consumer, Producer, ProducerCallback};
use crate::iter::{IndexedParallelIterator, ParallelIterator};

/// `chain`'s iterator.
#[derive(Clone, Debug)]
#[must_use = "iterator adapters do nothing until a terminal method runs them"]
pub struct Chain<A, B> {
    a: A,
    b: B,
}

impl<A, B> Chain<A, B> {
    pub(crate) fn new(a: A, b: B) -> Self {
        Chain { a, b }
    }
}

impl<A, B> ParallelIterator for Chain<A, B>
where
    A: ParallelIterator,
    B: ParallelIterator<Item = A::Item>,
{
    type Item = A::Item;
    fn drive_unindexed<C: Consumer<A::Item>>(self, consumer: C) -> C::Result {
        let key = match self.a.opt_len() {
            Some(len) => Key::Shift(len),
            None => Key::Fixed(usize::MAX),
        };
        let second = Keyed {
            base: consumer.clone(),
            key,
        };
        let Chain { a, b } = self;
        let (left, right) = crate::join(
            || a.drive_unindexed(consumer.clone()),
            || b.drive_unindexed(second),
        );
        consumer.reduce(left, right)
    }
    fn opt_len(&self) -> Option<usize> {
        self.a.opt_len()?.checked_add(self.b.opt_len()?)
    }
    // Not `exact_offsets`: the shift is the first part's reported length, which a user's
    // iterator might report differently from what its drive covers.
}

impl<A, B> IndexedParallelIterator for Chain<A, B>
where
    A: IndexedParallelIterator,
    B: IndexedParallelIterator<Item = A::Item>,
{
    fn len(&self) -> usize {
        self.a.len() + self.b.len()
    }
    fn with_producer<CB: ProducerCallback<A::Item>>(self, callback: CB) -> CB::Output {
        with_two_producers::<ChainJoin, _, _, _>(self.a, self.b, callback)
    }
}

/// Builds the chain producer.
struct ChainJoin;

impl JoinProducers for ChainJoin {
    fn join<PA, PB>(a: PA, a_len: usize, b: PB, _: usize) -> impl Producer<Item = PA::Item>
    where
        PA: Producer,
        PB: Producer<Item = PA::Item>,
    {
        ChainProducer { a, a_len, b }
    }
}

/// The producer of an indexed chain (used when an indexed adapter sits on top of it).
struct ChainProducer<A, B> {
    a: A,
    a_len: usize,
    b: B,
}

impl<A, B> Producer for ChainProducer<A, B>
where
    A: Producer,
    B: Producer<Item = A::Item>,
{
    type Item = A::Item;
    type IntoIter = ChainIter<A::IntoIter, B::IntoIter>;
    fn into_iter(self) -> Self::IntoIter {
        ChainIter {
            a: self.a.into_iter(),
            b: self.b.into_iter(),
        }
    }
    fn min_len(&self) -> usize {
        self.a.min_len().max(self.b.min_len())
    }
    fn max_len(&self) -> usize {
        self.a.max_len().min(self.b.max_len())
    }
    fn split_at(self, index: usize) -> (Self, Self) {
        if index <= self.a_len {
            let (a1, a2) = self.a.split_at(index);
            let (b0, b) = self.b.split_at(0);
            (
                ChainProducer {
                    a: a1,
                    a_len: index,
                    b: b0,
                },
                ChainProducer {
                    a: a2,
                    a_len: self.a_len - index,
                    b,
                },
            )
        } else {
            let (a, a0) = self.a.split_at(self.a_len);
            let (b1, b2) = self.b.split_at(index - self.a_len);
            (
                ChainProducer {
                    a,
                    a_len: self.a_len,
                    b: b1,
                },
                ChainProducer {
                    a: a0,
                    a_len: 0,
                    b: b2,
                },
            )
        }
    }
}

/// `a` then `b`, with an exact length (std's `Chain` has none).
struct ChainIter<A, B> {
    a: A,
    b: B,
}

impl<A: ExactSizeIterator, B: ExactSizeIterator<Item = A::Item>> Iterator for ChainIter<A, B> {
    type Item = A::Item;
    fn next(&mut self) -> Option<A::Item> {
        self.a.next().or_else(|| self.b.next())
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.a.len() + self.b.len();
        (n, Some(n))
    }
}

impl<A, B> DoubleEndedIterator for ChainIter<A, B>
where
    A: DoubleEndedIterator + ExactSizeIterator,
    B: DoubleEndedIterator + ExactSizeIterator<Item = A::Item>,
{
    fn next_back(&mut self) -> Option<A::Item> {
        self.b.next_back().or_else(|| self.a.next_back())
    }
}

impl<A: ExactSizeIterator, B: ExactSizeIterator<Item = A::Item>> ExactSizeIterator
    for ChainIter<A, B>
{
}
