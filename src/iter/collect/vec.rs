//! Collecting an indexed chain straight into a `Vec`'s spare capacity, in input order.
//!
//! Invariants:
//! - Output slot `start + i` is written at most once, by the run that owns input index `i`
//!   (the bridge hands every index to exactly one run, and a run's offset is the index of its
//!   first item), only through the one raw pointer taken from the `Vec` before any run starts,
//!   and only below the length the chain reported (a chain that yields more panics instead).
//! - Every written slot belongs to exactly one live `Run`, which drops it unless the run is
//!   merged into its left neighbour (ownership moves) or handed over whole to the `Vec`.
//! - The `Vec`'s length is set only when a single run covers all `len` slots, so no
//!   uninitialized slot is ever read and nothing written is dropped twice or leaked, whether
//!   the chain finishes or panics.

use crate::iter::plumbing::{Consumer, Folder};
use crate::iter::ParallelIterator;
use std::marker::PhantomData;
use std::mem;
use std::ptr;

/// Ownership of the initialized output slots `start .. start + len` (offsets from `base`).
pub(crate) struct Run<U> {
    base: *mut U,
    start: usize,
    len: usize,
    /// The run's last writable offset + 1 (the chain's reported length).
    end: usize,
    _owns: PhantomData<U>,
}

// SAFETY: a `Run` owns `U` values (like a `Vec<U>` slice would); moving it to another thread
// moves the ownership of those values, which `U: Send` allows.
unsafe impl<U: Send> Send for Run<U> {}

impl<U> Drop for Run<U> {
    fn drop(&mut self) {
        // SAFETY: slots `start .. start + len` were initialized by this run's folds (or the
        // runs merged into it) and are owned by no one else; dropping them here is their only
        // drop, since a run handed to the `Vec` is forgotten instead.
        unsafe {
            ptr::drop_in_place(ptr::slice_from_raw_parts_mut(
                self.base.add(self.start),
                self.len,
            ));
        }
    }
}

impl<U> Folder<U> for Run<U> {
    type Result = Run<U>;
    #[inline]
    fn consume(mut self, value: U) -> Self {
        let at = self.start + self.len;
        assert!(
            at < self.end,
            "corepool: an indexed parallel iterator yielded more items than its length"
        );
        // SAFETY: `at` is the index of this item (a run's items are consecutive from its
        // offset), below the reserved length `end` (checked), owned by this run alone and not
        // yet written. If a later item panics, `self` drops exactly the slots written so far.
        unsafe { self.base.add(at).write(value) };
        self.len += 1;
        self
    }
    fn complete(self) -> Run<U> {
        self
    }
}

/// The output buffer's base pointer, shareable across the runs.
struct OutPtr<U>(*mut U);

impl<U> Clone for OutPtr<U> {
    fn clone(&self) -> Self {
        OutPtr(self.0)
    }
}

// SAFETY: runs write disjoint slots through this pointer (module invariant), and each slot's
// value is a `U: Send` that may end up owned by another thread's `Run` or by the caller.
unsafe impl<U: Send> Send for OutPtr<U> {}
// SAFETY: as above: sharing the address lets runs write disjoint slots; no slot is ever read
// or written by two runs.
unsafe impl<U: Send> Sync for OutPtr<U> {}

struct CollectConsumer<U> {
    out: OutPtr<U>,
    len: usize,
}

impl<U> Clone for CollectConsumer<U> {
    fn clone(&self) -> Self {
        CollectConsumer {
            out: self.out.clone(),
            len: self.len,
        }
    }
}

impl<U: Send> Consumer<U> for CollectConsumer<U> {
    type Folder = Run<U>;
    type Result = Run<U>;

    fn folder(&self, offset: usize) -> Run<U> {
        Run {
            base: self.out.0,
            start: offset,
            len: 0,
            end: self.len,
            _owns: PhantomData,
        }
    }

    fn counts_blocks(&self) -> bool {
        true
    }

    fn reduce(&self, mut left: Run<U>, right: Run<U>) -> Run<U> {
        if left.start + left.len == right.start {
            left.len += right.len;
            mem::forget(right); // its slots now belong to `left`
        } else {
            // Only when a run stopped early (a panic elsewhere, on its way to the caller):
            // keep every slot owned by exactly one run.
            drop(right);
        }
        left
    }
}

/// Appends the `len` items of `iter` (an indexed chain: `opt_len() == Some(len)`) to `out`,
/// written in place.
pub(crate) fn append_indexed<I>(iter: I, len: usize, out: &mut Vec<I::Item>)
where
    I: ParallelIterator,
{
    out.reserve(len);
    let old = out.len();
    let consumer = CollectConsumer {
        // SAFETY: `old` is within the allocation (`reserve` made room for `len` more).
        out: OutPtr(unsafe { out.as_mut_ptr().add(old) }),
        len,
    };
    let run = iter.drive_unindexed(consumer);
    // A panic anywhere has already unwound past here (dropping every run). A run that does not
    // cover everything means the chain yielded fewer items than it said: `run` drops what it
    // owns as we panic.
    assert!(
        run.start == 0 && run.len == len,
        "corepool: an indexed parallel iterator yielded {} items (at {}) of its length {len}",
        run.len,
        run.start,
    );
    mem::forget(run);
    // SAFETY: the single run covering `0..len` proves every slot `old..old + len` was written
    // exactly once; its ownership of them moves to the `Vec` (the run was forgotten).
    unsafe { out.set_len(old + len) };
}
