//! `par_bridge`: any sequential iterator as a parallel source, in order, with bounded memory.
//!
//! Invariants:
//! - Items are pulled by one thread at a time, in order, into windows; window `k` is processed
//!   (in parallel, as an owned `Vec`) while window `k + 1` is being pulled, and the two together
//!   never exceed the budget: the memory is bounded, whatever the source's length.
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

/// Pulls `iter` in growing windows and drives each window while the next is pulled, keeping
/// at most `budget` (at least 1) items pulled and not yet consumed; returns the in-order
/// reduction of the windows' results.
pub(crate) fn windows<I, C>(mut iter: I, budget: usize, consumer: &C) -> C::Result
where
    I: Iterator + Send,
    I::Item: Send,
    C: Consumer<I::Item>,
{
    let budget = budget.max(1);
    let pull = |iter: &mut I, n: usize| -> Vec<I::Item> { iter.by_ref().take(n).collect() };
    // Start with one item, so a short or slow source gets going at once; then grow.
    let mut window = pull(&mut iter, 1);
    let mut done = consumer.folder(0).complete();
    let mut offset = 0;
    while !window.is_empty() && !consumer.full() {
        let len = window.len();
        // What may be pulled while this window is in flight.
        let ahead = (len * 2).min(budget - len);
        let keyed = Keyed {
            base: consumer.clone(),
            key: Key::Shift(offset),
        };
        let items = VecIntoIter::new(window);
        let result = if ahead > 0 {
            let (result, next) =
                crate::join(|| items.drive_unindexed(keyed), || pull(&mut iter, ahead));
            window = next;
            result
        } else {
            // No room to pull ahead (a budget of one): one window at a time.
            let result = items.drive_unindexed(keyed);
            window = pull(&mut iter, len);
            result
        };
        done = consumer.reduce(done, result);
        offset += len;
    }
    done
}
