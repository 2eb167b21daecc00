//! How a parallel iterator is driven: producers, consumers, folders, and the bridge between them.
//!
//! This is the layer a source or an adapter is written against; users of the iterators never
//! see it. The names follow rayon's `iter::plumbing`, but the consumer side is simpler, because
//! corepool's splitter cuts the input lazily, only when another worker is taking work:
//!
//! - A [`Producer`] is an indexed source of items: it knows how to split itself at an index and
//!   to turn into a sequential iterator. An [`UnindexedProducer`] can only split in two halves
//!   of unknown size (a string cut at a line break, an iterator behind a lock).
//! - A [`Consumer`] is shared by reference among all pieces of one run. It makes a [`Folder`]
//!   for each contiguous run of the input ([`Consumer::folder`]), and joins the results of two
//!   adjacent runs ([`Consumer::reduce`]). A folder folds items one by one, in order.
//! - [`bridge`] connects a producer to a consumer on the current worker's pool: it folds the
//!   input in blocks sized by measurement, and splits off half of what is left only when a
//!   worker has taken the half it split off last (or it has none out).
//!
//! Invariants every implementation keeps, and every driver relies on:
//! - `Producer::split_at(i)` returns two producers whose items, in order, are exactly the items
//!   of the original: its first `i`, then the rest. So every item is produced exactly once.
//! - A folder's results are reduced left to right: `reduce(left, right)` is only ever called
//!   with `left` covering input that comes before `right`'s.
//! - The `offset` given to [`Consumer::folder`] is, in an indexed drive, the index of the run's
//!   first item. In an unindexed drive it is only an order key: a run with a larger offset comes
//!   after one with a smaller offset; equal offsets say nothing about order.

mod bridge;
pub(crate) mod joiner;

pub use bridge::skipped_items;
pub use bridge::{bridge, bridge_producer_consumer, bridge_unindexed};

/// An indexed source of items that can be split at any index (rayon's `Producer`).
///
/// Implement it, with [`IndexedParallelIterator::with_producer`](super::IndexedParallelIterator::with_producer),
/// to make your own type a source. The splitter calls `split_at` only with `index <= len`.
///
/// ```
/// use corepool::iter::plumbing::Producer;
/// // A source of the squares of a range of integers.
/// struct Squares(std::ops::Range<u32>);
/// impl Producer for Squares {
///     type Item = u32;
///     type IntoIter = std::iter::Map<std::ops::Range<u32>, fn(u32) -> u32>;
///     fn into_iter(self) -> Self::IntoIter {
///         self.0.map(|x| x * x)
///     }
///     fn split_at(self, index: usize) -> (Self, Self) {
///         let mid = self.0.start + index as u32;
///         (Squares(self.0.start..mid), Squares(mid..self.0.end))
///     }
/// }
/// let (a, b) = Squares(0..4).split_at(1);
/// assert_eq!(a.into_iter().chain(b.into_iter()).collect::<Vec<_>>(), [0, 1, 4, 9]);
/// ```
pub trait Producer: Send + Sized {
    /// The items produced.
    type Item;
    /// The sequential iterator this producer turns into.
    type IntoIter: Iterator<Item = Self::Item> + DoubleEndedIterator + ExactSizeIterator;

    /// The items, in order.
    fn into_iter(self) -> Self::IntoIter;

    /// Pieces shorter than this are not split further (see `with_min_len`).
    fn min_len(&self) -> usize {
        1
    }

    /// Pieces longer than this are split even when nobody is asking for work (see
    /// `with_max_len`).
    fn max_len(&self) -> usize {
        usize::MAX
    }

    /// The first `index` items, and the rest.
    fn split_at(self, index: usize) -> (Self, Self);
}

/// A source that can only be split in two halves of unknown size (rayon's
/// `UnindexedProducer`): text cut at a separator, an iterator behind a lock.
///
/// ```
/// use corepool::iter::plumbing::{bridge_unindexed, Consumer, Folder, UnindexedProducer};
/// use corepool::prelude::*;
/// // The numbers in a comma-separated text, split at a comma near the middle.
/// struct Csv<'a>(&'a str);
/// impl<'a> UnindexedProducer for Csv<'a> {
///     type Item = u32;
///     fn split(self) -> (Self, Option<Self>) {
///         match self.0[self.0.len() / 2..].find(',') {
///             Some(i) if self.0.len() > 8 => {
///                 let at = self.0.len() / 2 + i;
///                 (Csv(&self.0[..at]), Some(Csv(&self.0[at + 1..])))
///             }
///             _ => (self, None),
///         }
///     }
///     fn fold_with<F: Folder<u32>>(self, folder: F) -> F {
///         folder.consume_iter(self.0.split(',').map(|n| n.trim().parse::<u32>().unwrap()))
///     }
/// }
/// struct Numbers<'a>(&'a str);
/// impl ParallelIterator for Numbers<'_> {
///     type Item = u32;
///     fn drive_unindexed<C: Consumer<u32>>(self, consumer: C) -> C::Result {
///         bridge_unindexed(Csv(self.0), &consumer, 0)
///     }
/// }
/// let text = (1..=100).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
/// assert_eq!(Numbers(&text).sum::<u32>(), 5050);
/// assert_eq!(Numbers(&text).collect::<Vec<_>>(), (1..=100).collect::<Vec<_>>());
/// ```
pub trait UnindexedProducer: Send + Sized {
    /// The items produced.
    type Item;

    /// Splits off a second half, if worth it; `None` when this piece should run as it is.
    fn split(self) -> (Self, Option<Self>);

    /// Feeds every item to `folder`, in order, stopping early when it is full.
    fn fold_with<F>(self, folder: F) -> F
    where
        F: Folder<Self::Item>;
}

/// Receives the producer of an indexed iterator (rayon's `ProducerCallback`): the way an
/// adapter reaches the producer of the iterator below it without naming its type.
///
/// ```
/// use corepool::iter::plumbing::{Producer, ProducerCallback};
/// use corepool::prelude::*;
/// // Asks an indexed iterator for its producer, and reads its first item.
/// struct First;
/// impl<T> ProducerCallback<T> for First {
///     type Output = Option<T>;
///     fn callback<P: Producer<Item = T>>(self, producer: P) -> Option<T> {
///         producer.into_iter().next()
///     }
/// }
/// assert_eq!((5..9u8).into_par_iter().map(|x| x * 2).with_producer(First), Some(10));
/// ```
pub trait ProducerCallback<T> {
    /// What the callback returns.
    type Output;
    /// Called with the producer.
    fn callback<P>(self, producer: P) -> Self::Output
    where
        P: Producer<Item = T>;
}

/// What a parallel iterator's items flow into: a terminal operation (`sum`, `collect`, ...)
/// or an adapter in front of one (`map`, `filter`, ...). Shared by reference among all pieces;
/// cheap to clone (consumers hold references), which nested drives (`flat_map`) need.
///
/// ```
/// use corepool::iter::plumbing::{Consumer, Folder};
/// use corepool::prelude::*;
/// // Counts the items of each run and adds the counts up.
/// #[derive(Clone)]
/// struct Count;
/// struct Counter(usize);
/// impl<T> Folder<T> for Counter {
///     type Result = usize;
///     fn consume(self, _: T) -> Self { Counter(self.0 + 1) }
///     fn complete(self) -> usize { self.0 }
/// }
/// impl<T> Consumer<T> for Count {
///     type Folder = Counter;
///     type Result = usize;
///     fn folder(&self, _offset: usize) -> Counter { Counter(0) }
///     fn reduce(&self, left: usize, right: usize) -> usize { left + right }
/// }
/// assert_eq!((0..1000u32).into_par_iter().filter(|x| x % 10 == 0).drive_unindexed(Count), 100);
/// ```
pub trait Consumer<Item>: Send + Sync + Clone {
    /// Folds the items of one contiguous run of the input.
    type Folder: Folder<Item, Result = Self::Result>;
    /// The result of a run, and of the whole drive.
    type Result: Send;

    /// A folder for a run starting at `offset` (see the module's invariants for what an
    /// offset means).
    fn folder(&self, offset: usize) -> Self::Folder;

    /// Joins the results of two adjacent runs, `left` before `right`.
    fn reduce(&self, left: Self::Result, right: Self::Result) -> Self::Result;

    /// True when the consumer needs no more items (a short-circuiting search has its answer):
    /// drivers stop handing out work.
    fn full(&self) -> bool {
        false
    }

    /// True when a folder writes by position (an in-place `collect`): then the bridge hands it
    /// at most the count it asked a producer block for, even if the producer yields more.
    /// Adapters that pass items one for one forward it.
    #[doc(hidden)]
    fn counts_blocks(&self) -> bool {
        false
    }
}

impl<Item, C: Consumer<Item>> Consumer<Item> for &C {
    type Folder = C::Folder;
    type Result = C::Result;
    #[inline]
    fn folder(&self, offset: usize) -> Self::Folder {
        (**self).folder(offset)
    }
    #[inline]
    fn reduce(&self, left: Self::Result, right: Self::Result) -> Self::Result {
        (**self).reduce(left, right)
    }
    #[inline]
    fn full(&self) -> bool {
        (**self).full()
    }
    fn counts_blocks(&self) -> bool {
        (**self).counts_blocks()
    }
}

/// Folds the items of one run, in order (rayon's `Folder`). See [`Consumer`] for an example.
pub trait Folder<Item>: Sized {
    /// What the run comes to.
    type Result;

    /// Takes one item.
    fn consume(self, item: Item) -> Self;

    /// Takes items until `iter` ends or the folder is full.
    fn consume_iter<I>(mut self, iter: I) -> Self
    where
        I: IntoIterator<Item = Item>,
    {
        for item in iter {
            self = self.consume(item);
            if self.full() {
                break;
            }
        }
        self
    }

    /// The run's result.
    fn complete(self) -> Self::Result;

    /// True when this folder wants no more items.
    fn full(&self) -> bool {
        false
    }
}
