//! User code that breaks the plumbing's promises cannot make corepool drop an item twice or
//! write one slot twice: a producer that yields more items than it was split into, a length
//! that changes between calls, a drive that hands two runs the same offsets. Each is safe Rust,
//! so corepool must answer with a clear panic or a (wrong but memory-safe) result; every item
//! made is dropped exactly once either way.

use corepool::iter::plumbing::{bridge, Consumer, Producer, ProducerCallback};
use corepool::prelude::*;
use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Records every drop by id; a second drop of one id is caught here.
static DROPPED: Mutex<Option<HashSet<usize>>> = Mutex::new(None);
static MADE: AtomicUsize = AtomicUsize::new(0);
/// The tests that make `Item`s run one at a time, so the counts above are theirs alone.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Debug)]
struct Item(usize);

fn item(seed: usize) -> Item {
    let id = MADE.fetch_add(1, Ordering::SeqCst);
    let _ = seed;
    Item(id)
}

impl Drop for Item {
    fn drop(&mut self) {
        let fresh = DROPPED
            .lock()
            .unwrap()
            .get_or_insert_with(HashSet::new)
            .insert(self.0);
        assert!(fresh, "item {} dropped twice", self.0);
    }
}

/// Every item made so far was dropped exactly once.
fn all_dropped_once() {
    let dropped = DROPPED.lock().unwrap().as_ref().map_or(0, HashSet::len);
    assert_eq!(dropped, MADE.load(Ordering::SeqCst));
}

/// A producer that ignores the split point: both halves yield everything.
struct Liar {
    len: usize,
}

impl Producer for Liar {
    type Item = Item;
    type IntoIter = std::iter::Map<std::ops::Range<usize>, fn(usize) -> Item>;
    fn into_iter(self) -> Self::IntoIter {
        (0..self.len).map(item)
    }
    fn split_at(self, _: usize) -> (Self, Self) {
        (Liar { len: self.len }, Liar { len: self.len })
    }
}

/// An indexed iterator over a `Liar`, whose `len` may also change between calls.
struct LyingIter {
    len: usize,
    calls: AtomicUsize,
    growing: bool,
}

impl ParallelIterator for LyingIter {
    type Item = Item;
    fn drive_unindexed<C: Consumer<Item>>(self, consumer: C) -> C::Result {
        bridge(self, consumer)
    }
    fn opt_len(&self) -> Option<usize> {
        Some(IndexedParallelIterator::len(self))
    }
}

impl IndexedParallelIterator for LyingIter {
    fn len(&self) -> usize {
        let calls = self.calls.fetch_add(1, Ordering::SeqCst);
        if self.growing {
            self.len * (calls + 1)
        } else {
            self.len
        }
    }
    fn with_producer<CB: ProducerCallback<Item>>(self, callback: CB) -> CB::Output {
        callback.callback(Liar { len: self.len })
    }
}

fn lying(len: usize, growing: bool) -> LyingIter {
    LyingIter {
        len,
        calls: AtomicUsize::new(0),
        growing,
    }
}

#[test]
fn a_lying_producer_collected_in_place_panics_cleanly() {
    let _serial = serial();
    let pool = corepool::Pool::builder().threads(3).build().unwrap();
    for len in [1, 2, 100, 10_000] {
        for growing in [false, true] {
            // `enumerate` is corepool's own indexed adapter, so `collect` writes in place.
            let result = catch_unwind(AssertUnwindSafe(|| {
                pool.install(|| lying(len, growing).enumerate().collect::<Vec<_>>())
            }));
            // Whatever the outcome, each item ever made was dropped once (a result is dropped
            // here).
            drop(result);
            all_dropped_once();
        }
    }
}

#[test]
fn a_lying_producer_through_other_consumers_is_memory_safe() {
    let _serial = serial();
    let pool = corepool::Pool::builder().threads(3).build().unwrap();
    let n = pool.install(|| lying(1000, false).map(|i| i.0 % 7).count());
    assert!(n >= 1000, "every produced item counted at least once: {n}");
    let v: Vec<usize> = pool.install(|| lying(1000, false).filter(|_| true).map(|i| i.0).collect());
    assert!(v.len() >= 1000);
    all_dropped_once();
}

/// A drive that runs the same consumer twice over the same offsets.
struct Doubled(Vec<u32>);

impl ParallelIterator for Doubled {
    type Item = u32;
    fn drive_unindexed<C: Consumer<u32>>(self, consumer: C) -> C::Result {
        let a = self
            .0
            .clone()
            .into_par_iter()
            .drive_unindexed(consumer.clone());
        let b = self.0.into_par_iter().drive_unindexed(consumer.clone());
        consumer.reduce(a, b)
    }
    fn opt_len(&self) -> Option<usize> {
        Some(self.0.len()) // a lie: it yields twice as many
    }
}

#[test]
fn a_drive_that_repeats_offsets_is_collected_through_buffers() {
    // Not provably exact, so `collect` does not write in place: the result has every item.
    let v: Vec<u32> = Doubled((0..1000).collect()).collect();
    let mut expected: Vec<u32> = (0..1000).chain(0..1000).collect();
    expected.sort_unstable();
    let mut got = v.clone();
    got.sort_unstable();
    assert_eq!(got, expected);
}
