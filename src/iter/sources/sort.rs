//! Parallel sorts: a stable merge sort (std's stable sort on the leaves, parallel merges that
//! ping-pong between the slice and one buffer) and an unstable sort (median splits with
//! `select_nth_unstable`, std's unstable sort on the leaves).
//!
//! Invariants (stable sort):
//! - Every element lives in exactly one place at a time, in the slice or in the buffer, at the
//!   position of its region. A `Region` owns the promise to leave its elements in the slice
//!   (`into_v`) or in the buffer: `sort_region` keeps it when it returns or unwinds, and
//!   dropping a `Region` unsorted (an unrun `join` half) keeps it too.
//! - A `Merge` owns its destination's holes: whatever happens, when it is dropped it moves the
//!   sources it has not merged yet into the rest of its destination, so a panicking comparator
//!   or an unrun half (join discards the second closure when the first panicked) leaves a
//!   permutation, never a duplicate or a gap.
//! - The buffer never owns elements when it is dropped (its length stays 0): it is raw storage.
//! - Ties take the left run first, and each split of a merge keeps every left element equal to
//!   the pivot before every right one, so the sort is stable.

use crate::iter::plumbing::joiner::Joiner;
use std::cmp::Ordering;
use std::mem::ManuallyDrop;
use std::ptr;

/// Below this many elements a sort runs sequentially.
const SEQ_SORT: usize = 1 << 14;
/// Leaves are at least this long.
const MIN_LEAF: usize = 1 << 13;
/// Merges shorter than this run sequentially.
const MIN_MERGE: usize = 1 << 13;
/// Leaves per worker: enough for stealing to even out a slow worker, few enough that the extra
/// levels (a merge pass, or a `select_nth_unstable` pass) stay cheap; chosen with the sort
/// benchmarks (`benches/`), where it beat one and four for both sorts.
const LEAVES_PER_THREAD: usize = 2;

/// A raw pointer that may cross threads: every use below is to a region no other task touches.
struct SendPtr<T>(*mut T);

impl<T> Clone for SendPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for SendPtr<T> {}

// SAFETY: tasks given a `SendPtr` only access disjoint regions (module invariants); moving
// `T` values between threads is what `T: Send` allows.
unsafe impl<T: Send> Send for SendPtr<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for SendPtr<T> {}

impl<T> SendPtr<T> {
    /// # Safety
    /// `offset` must stay within the allocation.
    #[inline]
    unsafe fn add(self, offset: usize) -> SendPtr<T> {
        // SAFETY: forwarded from the caller.
        SendPtr(unsafe { self.0.add(offset) })
    }
}

/// Sorts `v` stably with `cmp` on the joiner's pool.
pub(crate) fn stable<T, F>(joiner: Joiner<'_>, v: &mut [T], cmp: &F)
where
    T: Send,
    F: Fn(&T, &T) -> Ordering + Sync,
{
    let len = v.len();
    let threads = joiner.threads();
    if len < SEQ_SORT || threads == 1 || std::mem::size_of::<T>() == 0 {
        v.sort_by(cmp);
        return;
    }
    let mut depth = 0;
    while (1usize << depth) < threads * LEAVES_PER_THREAD && (len >> (depth + 1)) >= MIN_LEAF {
        depth += 1;
    }
    let mut buf: Vec<T> = Vec::with_capacity(len);
    let vp = SendPtr(v.as_mut_ptr());
    let bp = SendPtr(buf.as_mut_ptr());
    let merge_grain = (len / (threads * 8)).max(MIN_MERGE);
    joiner.install(|| {
        let region = Region {
            v: vp,
            buf: bp,
            len,
            into_v: true,
        };
        // SAFETY: `vp`, `bp`: distinct allocations of at least `len` slots; all elements start in
        // `v` and `sort_region` returns (or unwinds) with all back in `v` (`into_v = true`); we
        // hold `&mut v`, so nobody else uses it meanwhile.
        unsafe { sort_region(joiner, region, depth, cmp, merge_grain) }
    });
    drop(buf); // length 0: frees the storage, drops no element
}

/// `a < b` under `cmp`.
#[inline(always)]
fn less<T>(cmp: &impl Fn(&T, &T) -> Ordering, a: &T, b: &T) -> bool {
    cmp(a, b) == Ordering::Less
}

/// A region of the slice whose elements are all in `v` and not yet sorted, with the promise
/// to leave them in `v` (`into_v`) or in `buf` (its slots there are holes).
///
/// Whoever holds it must keep the promise: [`sort_region`] does by sorting; dropping it unsorted
/// (when `join` discards the closure that owns it because the other half panicked) moves the
/// elements to `buf` if that was the promise.
struct Region<T> {
    v: SendPtr<T>,
    buf: SendPtr<T>,
    len: usize,
    into_v: bool,
}

impl<T> Region<T> {
    /// The two halves of the region, each with the opposite promise (the parent merges from
    /// where they end up into where it promised). Ownership moves from `self` to them.
    fn split(self, mid: usize) -> (Region<T>, Region<T>) {
        let this = ManuallyDrop::new(self);
        debug_assert!(mid <= this.len);
        (
            Region {
                v: this.v,
                buf: this.buf,
                len: mid,
                into_v: !this.into_v,
            },
            // SAFETY: `mid <= len`: the offsets stay within both allocations.
            unsafe {
                Region {
                    v: this.v.add(mid),
                    buf: this.buf.add(mid),
                    len: this.len - mid,
                    into_v: !this.into_v,
                }
            },
        )
    }
}

impl<T> Drop for Region<T> {
    fn drop(&mut self) {
        if !self.into_v {
            // SAFETY: the region's elements are all in `v` and its `buf` slots are holes
            // (`Region` invariant); this moves them, and the `v` copies stop being owners.
            unsafe { ptr::copy_nonoverlapping(self.v.0, self.buf.0, self.len) };
        }
    }
}

/// Sorts `region` in `depth` levels of halving and keeps its promise (see [`Region`]), also
/// when unwinding.
///
/// # Safety
/// `region.v` and `region.buf` must point to `region.len` slots each, in distinct allocations,
/// used by nobody else during the call; `v`'s slots hold the elements, `buf`'s are holes.
unsafe fn sort_region<T, F>(
    joiner: Joiner<'_>,
    region: Region<T>,
    depth: u32,
    cmp: &F,
    merge_grain: usize,
) where
    T: Send,
    F: Fn(&T, &T) -> Ordering + Sync,
{
    let (v, buf, len, into_v) = (region.v, region.buf, region.len, region.into_v);
    if depth == 0 {
        // SAFETY: `v` holds `len` initialized elements used by nobody else (caller contract).
        let slice = unsafe { std::slice::from_raw_parts_mut(v.0, len) };
        // std's sort leaves a permutation in `slice` even if `cmp` panics; then dropping
        // `region` (while unwinding, or here) moves the elements to `buf` if so promised.
        slice.sort_by(cmp);
        drop(region);
        return;
    }
    let mid = len / 2;
    let (first, second) = region.split(mid);
    // Children leave their halves where this level merges *from*: the other location.
    let halves = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        joiner.join(
            // SAFETY: the halves are disjoint parts of our region, with the same contract.
            move || unsafe { sort_region(joiner, first, depth - 1, cmp, merge_grain) },
            // SAFETY: as above.
            move || unsafe { sort_region(joiner, second, depth - 1, cmp, merge_grain) },
        )
    }));
    let (src, dst) = if into_v { (buf, v) } else { (v, buf) };
    if let Err(payload) = halves {
        // Both halves kept their promise (sorted, unwound, or dropped unrun): the region is
        // in `src`. Move it to `dst` to keep ours while the panic continues.
        // SAFETY: `src` holds the `len` elements, `dst`'s slots are holes of the same region.
        unsafe { ptr::copy_nonoverlapping(src.0, dst.0, len) };
        std::panic::resume_unwind(payload);
    }
    let merge = Merge {
        left: src,
        left_end: mid,
        // SAFETY: `mid <= len`, within the region.
        right: unsafe { src.add(mid) },
        right_end: len - mid,
        dst,
    };
    par_merge(joiner, merge, cmp, merge_grain);
}

/// A pending merge of two sorted runs `left[..left_end]` and `right[..right_end]` into `dst`.
///
/// The pointers advance as elements are merged (and the lengths shrink), so at any moment the
/// remaining sources exactly fill the remaining destination. Dropping it moves whatever is left
/// (which also finishes a normal merge, when one run is empty).
struct Merge<T> {
    left: SendPtr<T>,
    left_end: usize,
    right: SendPtr<T>,
    right_end: usize,
    dst: SendPtr<T>,
}

impl<T> Merge<T> {
    fn len(&self) -> usize {
        self.left_end + self.right_end
    }
}

impl<T> Drop for Merge<T> {
    fn drop(&mut self) {
        // The remaining `left_end` left and `right_end` right elements are owned by this merge,
        // and so are the next `left_end + right_end` destination holes, in another allocation.
        // SAFETY: as just said; after the copies the destination owns them and this merge is gone.
        unsafe {
            ptr::copy_nonoverlapping(self.left.0, self.dst.0, self.left_end);
            ptr::copy_nonoverlapping(self.right.0, self.dst.0.add(self.left_end), self.right_end);
        }
    }
}

/// Merges, splitting the work in two (through `join`) while it is larger than `grain`.
fn par_merge<T, F>(joiner: Joiner<'_>, merge: Merge<T>, cmp: &F, grain: usize)
where
    T: Send,
    F: Fn(&T, &T) -> Ordering + Sync,
{
    if merge.len() <= grain || merge.left_end == 0 || merge.right_end == 0 {
        merge_seq(merge, cmp);
        return;
    }
    // SAFETY: both runs are initialized, owned by `merge`, and not written while borrowed
    // here. If `cmp` panics in the search, `merge` is dropped whole and fills `dst`.
    let (left, right) = unsafe {
        (
            std::slice::from_raw_parts(merge.left.0, merge.left_end),
            std::slice::from_raw_parts(merge.right.0, merge.right_end),
        )
    };
    let (lm, rm) = if left.len() >= right.len() {
        let lm = left.len() / 2;
        let pivot = &left[lm];
        // Right elements strictly less than the pivot go first: ties stay left-first.
        (lm, right.partition_point(|x| less(cmp, x, pivot)))
    } else {
        let rm = right.len() / 2;
        let pivot = &right[rm];
        // Left elements not greater than the pivot go first: ties stay left-first.
        (left.partition_point(|x| !less(cmp, pivot, x)), rm)
    };
    let merge = ManuallyDrop::new(merge);
    // `lm <= left_end`, `rm <= right_end`, `lm + rm <= len`: every offset stays within its run
    // or the destination, and the two parts split `merge`'s pieces disjointly and exactly.
    // SAFETY: so ownership moves from `merge` (not dropped) to them, with nothing that can panic.
    let (first, second) = unsafe {
        (
            Merge {
                left: merge.left,
                left_end: lm,
                right: merge.right,
                right_end: rm,
                dst: merge.dst,
            },
            Merge {
                left: merge.left.add(lm),
                left_end: merge.left_end - lm,
                right: merge.right.add(rm),
                right_end: merge.right_end - rm,
                dst: merge.dst.add(lm + rm),
            },
        )
    };
    // If `first` panics and join drops the `second` closure unrun, dropping it moves its
    // sources into place.
    joiner.join(
        move || par_merge(joiner, first, cmp, grain),
        move || par_merge(joiner, second, cmp, grain),
    );
}

/// The sequential merge: takes the smaller head each step (the left one on ties).
fn merge_seq<T, F>(mut m: Merge<T>, cmp: &F)
where
    F: Fn(&T, &T) -> Ordering,
{
    while m.left_end > 0 && m.right_end > 0 {
        // SAFETY: both heads are initialized elements owned by `m`; if `cmp` panics, `m`
        // is dropped with both heads still counted and fills the destination.
        let take_right = unsafe { less(cmp, &*m.right.0, &*m.left.0) };
        let src = if take_right { m.right.0 } else { m.left.0 };
        // SAFETY: moves one owned element into the next destination hole, then advances past
        // both: the source slot and the hole leave `m`'s accounting together.
        unsafe {
            ptr::copy_nonoverlapping(src, m.dst.0, 1);
            m.dst = m.dst.add(1);
            if take_right {
                m.right = m.right.add(1);
                m.right_end -= 1;
            } else {
                m.left = m.left.add(1);
                m.left_end -= 1;
            }
        }
    }
    // Dropping `m` moves the rest of the one non-empty run.
}

/// Sorts `v` without preserving the order of equal elements, on the joiner's pool.
pub(crate) fn unstable<T, F>(joiner: Joiner<'_>, v: &mut [T], cmp: &F)
where
    T: Send,
    F: Fn(&T, &T) -> Ordering + Sync,
{
    let len = v.len();
    let threads = joiner.threads();
    if len < SEQ_SORT || threads == 1 {
        v.sort_unstable_by(cmp);
        return;
    }
    let leaf = (len / (threads * LEAVES_PER_THREAD)).max(MIN_LEAF);
    joiner.install(|| quick(joiner, v, cmp, leaf));
}

/// Splits at the median (so both halves are equal and every left element is `<=` every
/// right one), sorts the halves in parallel. Safe code: std keeps `v` a permutation on panic.
fn quick<T, F>(joiner: Joiner<'_>, v: &mut [T], cmp: &F, leaf: usize)
where
    T: Send,
    F: Fn(&T, &T) -> Ordering + Sync,
{
    if v.len() <= leaf {
        v.sort_unstable_by(cmp);
        return;
    }
    let mid = v.len() / 2;
    v.select_nth_unstable_by(mid, cmp);
    let (left, right) = v.split_at_mut(mid);
    joiner.join(
        || quick(joiner, left, cmp, leaf),
        || quick(joiner, right, cmp, leaf),
    );
}
