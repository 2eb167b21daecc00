//! `par_map`: writing results straight into a `Vec`'s spare capacity, in input order.
//!
//! Invariants:
//! - Output slot `i` is written at most once, by the piece that owns input index `i` (the
//!   splitter hands every index to exactly one piece), and only through the one raw pointer
//!   taken from the `Vec` before any piece starts.
//! - Every written slot belongs to exactly one live `Run`, which drops it unless the run is
//!   merged into its left neighbour (ownership moves) or handed over whole to the `Vec`.
//! - The `Vec`'s length is set only when a single run covers `0..len`, so no uninitialized
//!   slot is ever read and nothing written is dropped twice or leaked, whether the map
//!   finishes or panics.

use super::source::ParSource;
use super::splitter::{drive, Consumer, Joiner};
use std::marker::PhantomData;
use std::mem;
use std::ptr;

/// The output buffer's base pointer, shareable across the pieces.
struct OutPtr<U>(*mut U);

// SAFETY: pieces write disjoint slots through this pointer (module invariant), and each slot's
// value is a `U: Send` that may end up owned by another thread's `Run` or by the caller.
unsafe impl<U: Send> Send for OutPtr<U> {}
// SAFETY: as above: sharing the address lets pieces write disjoint slots; no slot is ever read
// or written by two pieces.
unsafe impl<U: Send> Sync for OutPtr<U> {}

/// Ownership of the initialized output slots `start .. start + len`.
pub(crate) struct Run<U> {
    base: *mut U,
    start: usize,
    len: usize,
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

struct MapConsumer<'f, F, U> {
    f: &'f F,
    out: OutPtr<U>,
}

impl<P, F, U> Consumer<P> for MapConsumer<'_, F, U>
where
    P: ParSource,
    F: Fn(P::Item) -> U + Sync,
    U: Send,
{
    type Acc = Run<U>;

    fn start(&self, offset: usize) -> Run<U> {
        Run {
            base: self.out.0,
            start: offset,
            len: 0,
            _owns: PhantomData,
        }
    }

    #[inline]
    fn fold(&self, mut run: Run<U>, piece: P, offset: usize) -> Run<U> {
        debug_assert_eq!(run.start + run.len, offset, "blocks are folded in order");
        for item in piece.into_seq() {
            let value = (self.f)(item);
            // SAFETY: `run.start + run.len` is the index of `item` (blocks are contiguous and
            // folded in order), which is below the capacity and owned by this piece alone, and
            // not yet written. If `f` panics, `run` drops exactly the slots written so far.
            unsafe { run.base.add(run.start + run.len).write(value) };
            run.len += 1;
        }
        run
    }

    fn merge(&self, mut left: Run<U>, right: Run<U>) -> Run<U> {
        if left.start + left.len == right.start {
            left.len += right.len;
            mem::forget(right); // its slots now belong to `left`
        } else {
            // Only after an abort (a panic elsewhere, which is on its way to the caller):
            // keep every slot owned by exactly one run.
            drop(right);
        }
        left
    }
}

/// Maps `source` into a new `Vec`, in input order.
pub(crate) fn map_collect<P, F, U>(joiner: Joiner<'_>, source: P, f: &F) -> Vec<U>
where
    P: ParSource,
    F: Fn(P::Item) -> U + Sync,
    U: Send,
{
    let len = source.len();
    let mut out: Vec<U> = Vec::with_capacity(len);
    let consumer = MapConsumer {
        f,
        out: OutPtr(out.as_mut_ptr()),
    };
    let run = joiner.install(|| drive(joiner, source, &consumer));
    // A panic anywhere has already unwound past here (dropping every run). A run that does not
    // cover everything would mean a broken invariant: `run` drops what it owns as we panic.
    assert!(
        run.start == 0 && run.len == len,
        "corepool: par_map covered {}..{} of 0..{len}",
        run.start,
        run.start + run.len
    );
    mem::forget(run);
    // SAFETY: the single run covering `0..len` proves every slot below `len` was written
    // exactly once; its ownership of them moves to the `Vec` (the run was forgotten).
    unsafe { out.set_len(len) };
    out
}
