//! `par_bridge`: any sequential iterator as a parallel source, in order, with bounded memory.
//!
//! Invariants:
//! - Items are pulled by one thread at a time, in order, into windows; window `k` is processed
//!   (in parallel, as an owned `Vec`) while window `k + 1` is being pulled, so at most two
//!   windows of items exist at once: the memory is bounded, whatever the source's length.
//! - A window's runs are keyed after every earlier window's (offsets shifted by the items
//!   pulled before it), and results are reduced window by window in order, so ordered
//!   consumers (`collect`, `find_first`) see the source's order, which rayon's `par_bridge`
//!   does not keep.
//! - A full consumer stops the pulling at the next window; a panic in a window stops it too,
//!   and reaches the caller once the pull in flight has returned.

use super::VecIntoIter;
use crate::iter::adapters::{Key, Keyed};
use crate::iter::plumbing::joiner::Joiner;
use crate::iter::plumbing::{Consumer, Folder};
use crate::iter::ParallelIterator;

/// The largest window, per worker: big enough that a window's parallel run dwarfs the cost of
/// starting it, small enough to bound memory.
const WINDOW_PER_THREAD: usize = 1024;

/// `par_bridge`'s iterator.
#[derive(Debug, Clone)]
#[must_use = "iterator adapters do nothing until a terminal method runs them"]
pub struct Bridge<I> {
    iter: I,
    max_window: Option<usize>,
}

impl<I> Bridge<I> {
    /// Caps the items pulled ahead at `2 * window` (the default is 1024 per worker); at least
    /// 1. Smaller windows bound memory further and start work sooner on a slow source.
    pub fn window(mut self, window: usize) -> Self {
        self.max_window = Some(window.max(1));
        self
    }
}

/// `par_bridge()` on any `Iterator + Send` (rayon's `ParallelBridge`).
///
/// ```
/// use corepool::prelude::*;
/// let (tx, rx) = std::sync::mpsc::channel();
/// std::thread::spawn(move || (0..1000u64).for_each(|i| tx.send(i).unwrap()));
/// // Unlike rayon's, the order is kept.
/// let squares: Vec<u64> = rx.into_iter().par_bridge().map(|x| x * x).collect();
/// assert_eq!(squares, (0..1000u64).map(|x| x * x).collect::<Vec<_>>());
/// ```
pub trait ParallelBridge: Sized {
    /// This iterator as a parallel iterator.
    fn par_bridge(self) -> Bridge<Self>;
}

impl<I: Iterator + Send> ParallelBridge for I
where
    I::Item: Send,
{
    fn par_bridge(self) -> Bridge<Self> {
        Bridge {
            iter: self,
            max_window: None,
        }
    }
}

impl<I: Iterator + Send> ParallelIterator for Bridge<I>
where
    I::Item: Send,
{
    type Item = I::Item;
    fn drive_unindexed<C: Consumer<I::Item>>(self, consumer: C) -> C::Result {
        let Bridge { iter, max_window } = self;
        Joiner::Current.install(move || {
            let max =
                max_window.unwrap_or_else(|| crate::iter::current_threads() * WINDOW_PER_THREAD);
            windows(iter, max, &consumer)
        })
    }
}

/// Pulls `iter` in growing windows (up to `max` items) and drives each window while the next
/// is pulled; returns the in-order reduction of the windows' results.
pub(crate) fn windows<I, C>(mut iter: I, max: usize, consumer: &C) -> C::Result
where
    I: Iterator + Send,
    I::Item: Send,
    C: Consumer<I::Item>,
{
    let pull = |iter: &mut I, n: usize| -> Vec<I::Item> { iter.by_ref().take(n).collect() };
    // Start small, so a short or slow source gets going at once; double up to `max`.
    let mut size = 1;
    let mut window = pull(&mut iter, size);
    let mut done = consumer.folder(0).complete();
    let mut offset = 0;
    while !window.is_empty() && !consumer.full() {
        let len = window.len();
        let next_size = (size * 2).min(max);
        let keyed = Keyed {
            base: consumer.clone(),
            key: Key::Shift(offset),
        };
        let (result, next) = crate::join(
            || VecIntoIter::new(window).drive_unindexed(keyed),
            || pull(&mut iter, next_size),
        );
        done = consumer.reduce(done, result);
        offset += len;
        size = next_size;
        window = next;
    }
    done
}
