//! Recycled blocks for handle-less tasks (`detached.rs`): the memory of a task that ran is used
//! again for a new one, instead of a `malloc` on the submitting thread and a `free` on the
//! worker for every task. With the system allocator that pair is the largest part of an outside
//! spawn, and the free is the costly half: the block goes back to the arena of the thread that
//! allocated it, through the allocator's slow path.
//!
//! A block is [`BLOCK`]: the same size and alignment for every task type that fits in it. Each
//! thread keeps a cache of free blocks (no atomics). A thread that frees more than its cache
//! keeps (a worker running tasks submitted from outside) hands them on in batches (`imp::BATCH`)
//! to one shared stack, with one compare-and-swap per batch; a thread whose cache runs dry (the
//! submitter) takes the whole shared stack with one swap. Taking everything at once is what
//! keeps the stack free of the ABA problem: no thread ever pops a single node.
//!
//! Invariants:
//! - A block is in at most one place: in use by one task, in one thread's cache or batch, or on
//!   the shared stack. Only the owning thread touches its cache and batch.
//! - The blocks are ordinary allocations of [`BLOCK`] from the global allocator, so any thread
//!   may free one: a thread's cache and batch are freed when it exits, and a thread whose cache
//!   is gone already (a task dropped during thread exit) uses the allocator directly.
//! - Nothing is cached beyond what was in use: a block is only made when none is free here or
//!   on the shared stack, so the blocks are bounded by the most tasks alive at once, times the
//!   number of threads whose caches keep some.
//!
//! The shared stack is its own type, [`SharedStack`], so that loom can check it
//! (`loom-tests/tests/recycle.rs`). Under `corepool_loom` the pool itself does not recycle:
//! every block comes from the allocator and goes back to it, because loom's atomics cannot live
//! in a `static`.

use crate::sync::atomic::{AtomicUsize, Ordering};
use crate::sync::UnsafeCell;
use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};

/// The size and alignment of every recycled block.
pub(crate) const BLOCK: Layout = match Layout::from_size_align(64, 16) {
    Ok(layout) => layout,
    Err(_) => panic!("a valid layout"),
};

/// Whether a `T` fits in a recycled block.
pub(crate) const fn fits<T>() -> bool {
    std::mem::size_of::<T>() <= BLOCK.size() && std::mem::align_of::<T>() <= BLOCK.align()
}

/// Fresh blocks made, for the tests.
#[cfg(test)]
static FRESH: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A fresh block from the allocator.
fn fresh() -> *mut u8 {
    #[cfg(test)]
    FRESH.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // SAFETY: `BLOCK` has a non-zero size.
    let block = unsafe { alloc(BLOCK) };
    if block.is_null() {
        handle_alloc_error(BLOCK);
    }
    block
}

/// A block of [`BLOCK`] for a new task: a recycled one if this thread or the shared stack has
/// one, else a fresh allocation.
#[inline]
pub(crate) fn take() -> *mut u8 {
    imp::take().unwrap_or_else(fresh)
}

/// Gives back a block from [`take`], for reuse.
///
/// # Safety
/// `block` came from [`take`], is not used any more, and is given back once.
#[inline]
pub(crate) unsafe fn give_back(block: *mut u8) {
    // SAFETY: as the caller guarantees.
    unsafe { imp::give_back(block) }
}

/// A free block, as a node of a list: its first word links to the next. The link is a checked
/// cell, so that loom reports a taker that reads it unordered with its writer.
pub(crate) struct Free {
    next: UnsafeCell<*mut Free>,
}

impl Free {
    /// Makes `block` a node linking to `next`.
    ///
    /// # Safety
    /// `block` is a block of [`BLOCK`] that the caller owns and does not otherwise use.
    pub(crate) unsafe fn init(block: *mut u8, next: *mut Free) -> *mut Free {
        let node = block.cast::<Free>();
        // SAFETY: as the caller guarantees; a `Free` fits in a block.
        unsafe {
            node.write(Free {
                next: UnsafeCell::new(next),
            })
        };
        node
    }

    /// The node after `node`.
    ///
    /// # Safety
    /// `node` is a node of a list the caller owns.
    pub(crate) unsafe fn next(node: *mut Free) -> *mut Free {
        // SAFETY: as the caller guarantees: nobody else touches the node.
        unsafe { (*node).next.with_mut(|next| *next) }
    }

    /// Links `node` to `next`.
    ///
    /// # Safety
    /// As for [`next`](Self::next).
    unsafe fn set_next(node: *mut Free, next: *mut Free) {
        // SAFETY: as the caller guarantees.
        unsafe { (*node).next.with_mut(|link| *link = next) };
    }
}

/// The shared stack of free blocks: lists pushed whole (one compare-and-swap each), taken all
/// at once (one swap).
///
/// Invariant: no thread ever pops a single node, so the stack has no ABA problem. A push links
/// its list's tail to the top it read and succeeds only if that is still the top: if the same
/// address was taken and pushed back in between, it is the top again, and linking to it is
/// still right. The push's release orders the list's links (and the blocks' last uses) before
/// the taker's acquire swap, which owns the whole list from then on.
pub(crate) struct SharedStack {
    /// The address of the top node, 0 if empty.
    top: AtomicUsize,
}

impl SharedStack {
    #[cfg(not(corepool_loom))]
    pub(crate) const fn new() -> Self {
        SharedStack {
            top: AtomicUsize::new(0),
        }
    }

    #[cfg(corepool_loom)]
    pub(crate) fn new() -> Self {
        SharedStack {
            top: AtomicUsize::new(0),
        }
    }

    /// Pushes the list `head..=tail`, which the caller owns and gives up.
    ///
    /// # Safety
    /// `head..=tail` is a list of [`Free`] nodes that the caller owns, `tail` its last node.
    pub(crate) unsafe fn push_list(&self, head: *mut Free, tail: *mut Free) {
        let mut top = self.top.load(Ordering::Relaxed);
        loop {
            // SAFETY: `tail` is the caller's; the stack does not see it before the CAS below.
            unsafe { Free::set_next(tail, top as *mut Free) };
            // Release: the links written above are visible to the thread that takes the stack.
            match self.top.compare_exchange_weak(
                top,
                head as usize,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(now) => top = now,
            }
        }
    }

    /// Takes every node on the stack (null if empty); the caller owns the list.
    pub(crate) fn take_all(&self) -> *mut Free {
        // A plain look first: an empty stack costs no read-modify-write.
        if self.top.load(Ordering::Relaxed) == 0 {
            return std::ptr::null_mut();
        }
        // Acquire: the links were written before the lists were pushed (Release).
        self.top.swap(0, Ordering::Acquire) as *mut Free
    }
}

#[cfg(not(corepool_loom))]
mod imp {
    use super::{dealloc, Free, SharedStack, BLOCK};
    use std::cell::Cell;
    use std::ptr;

    /// Free blocks a thread keeps for its own next tasks.
    const CACHE: usize = 64;
    /// Free blocks a thread collects beyond its cache before it hands them to the shared stack.
    pub(super) const BATCH: usize = 32;

    /// The process's shared stack of free blocks.
    static SHARED: SharedStack = SharedStack::new();

    /// One thread's free blocks.
    struct Local {
        /// The cache: a list this thread takes from first.
        cache: Cell<*mut Free>,
        /// Blocks this thread gave back to its cache and has not taken since (a cache adopted
        /// from the shared stack is not counted: its length is unknown, and it only shrinks).
        cached: Cell<usize>,
        /// The batch being collected for the shared stack, its last node, and its length.
        batch: Cell<*mut Free>,
        batch_tail: Cell<*mut Free>,
        batched: Cell<usize>,
    }

    impl Drop for Local {
        fn drop(&mut self) {
            for head in [self.cache.get(), self.batch.get()] {
                let mut node = head;
                while !node.is_null() {
                    // SAFETY: a node of this thread's own list (module invariants): read its
                    // link before its block is freed.
                    let next = unsafe { Free::next(node) };
                    // SAFETY: every block is an allocation of `BLOCK`, owned by this list.
                    unsafe { dealloc(node.cast(), BLOCK) };
                    node = next;
                }
            }
        }
    }

    thread_local! {
        static LOCAL: Local = const {
            Local {
                cache: Cell::new(ptr::null_mut()),
                cached: Cell::new(0),
                batch: Cell::new(ptr::null_mut()),
                batch_tail: Cell::new(ptr::null_mut()),
                batched: Cell::new(0),
            }
        };
    }

    pub(super) fn take() -> Option<*mut u8> {
        LOCAL
            .try_with(|local| {
                let mut head = local.cache.get();
                if head.is_null() {
                    // Everything the other threads handed on, in one RMW (none when empty).
                    head = SHARED.take_all();
                    if head.is_null() {
                        return None;
                    }
                }
                // SAFETY: a node of this thread's cache, or of the list just taken whole.
                local.cache.set(unsafe { Free::next(head) });
                local.cached.set(local.cached.get().saturating_sub(1));
                Some(head.cast::<u8>())
            })
            .ok()
            .flatten()
    }

    pub(super) unsafe fn give_back(block: *mut u8) {
        let kept = LOCAL.try_with(|local| {
            if local.cached.get() < CACHE {
                // SAFETY: the caller gave the block up: it is ours to link.
                let node = unsafe { Free::init(block, local.cache.get()) };
                local.cache.set(node);
                local.cached.set(local.cached.get() + 1);
                return;
            }
            let batch = local.batch.get();
            // SAFETY: as above.
            let node = unsafe { Free::init(block, batch) };
            if batch.is_null() {
                local.batch_tail.set(node);
            }
            local.batch.set(node);
            local.batched.set(local.batched.get() + 1);
            if local.batched.get() == BATCH {
                // SAFETY: the batch is this thread's list, `batch_tail` its last node.
                unsafe { SHARED.push_list(node, local.batch_tail.get()) };
                local.batch.set(ptr::null_mut());
                local.batched.set(0);
            }
        });
        if kept.is_err() {
            // This thread's cache is gone (thread exit): straight back to the allocator.
            // SAFETY: every block is an allocation of `BLOCK`, and the caller gave this one up.
            unsafe { dealloc(block, BLOCK) };
        }
    }
}

#[cfg(corepool_loom)]
mod imp {
    use super::{dealloc, BLOCK};

    pub(super) fn take() -> Option<*mut u8> {
        None
    }

    pub(super) unsafe fn give_back(block: *mut u8) {
        // SAFETY: every block is an allocation of `BLOCK` (`fresh`), given up by the caller.
        unsafe { dealloc(block, BLOCK) };
    }
}

#[cfg(all(test, not(corepool_loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    fn fresh_made() -> usize {
        FRESH.load(Ordering::Relaxed)
    }

    // One test: the shared stack and the count of fresh blocks are process-wide.
    #[test]
    fn blocks_given_back_are_reused_on_this_thread_and_across_threads() {
        // On one thread: the block given back is the next one taken, no fresh one made.
        let a = take();
        // SAFETY: from `take`, given back once, not used after.
        unsafe { give_back(a) };
        let before = fresh_made();
        let b = take();
        assert_eq!((b, fresh_made()), (a, before), "taken again from the cache");
        // SAFETY: as above.
        unsafe { give_back(b) };

        // Across threads: blocks taken here and freed on a thread that never takes any go
        // past its cache to the shared stack, in batches, and are taken here again.
        let n = 64 + 2 * imp::BATCH;
        let blocks: Vec<usize> = (0..n).map(|_| take() as usize).collect();
        std::thread::spawn(move || {
            for block in blocks {
                // SAFETY: each from `take`, given back once, and not used after.
                unsafe { give_back(block as *mut u8) };
            }
        })
        .join()
        .unwrap();
        let before = fresh_made();
        let taken: Vec<*mut u8> = (0..n).map(|_| take()).collect();
        let made = fresh_made() - before;
        for block in taken {
            // SAFETY: each from `take`, given back once.
            unsafe { give_back(block) };
        }
        // The freeing thread's own cache (64) went back to the allocator when it exited.
        assert_eq!(made, n - 2 * imp::BATCH, "both batches were reused here");

        // Two threads at once, each writing into every block it takes and giving it back, so
        // blocks pass between them through the shared stack alone (what ThreadSanitizer
        // checks: the stack's release and acquire order a block's last use before its reuse).
        let pass = |mark: usize| {
            move || {
                for round in 0..200 {
                    let blocks: Vec<*mut usize> =
                        (0..CACHE_AND_BATCHES).map(|_| take().cast()).collect();
                    for &block in &blocks {
                        // SAFETY: a block of `BLOCK`, ours until given back; word 1 (word 0
                        // is the free list's link).
                        unsafe { block.add(1).write(mark + round) };
                    }
                    for block in blocks {
                        // SAFETY: as above; then given back once.
                        unsafe { assert_eq!(block.add(1).read(), mark + round) };
                        // SAFETY: from `take`, given back once, not used after.
                        unsafe { give_back(block.cast()) };
                    }
                }
            }
        };
        let a = std::thread::spawn(pass(0));
        let b = std::thread::spawn(pass(1 << 20));
        a.join().unwrap();
        b.join().unwrap();
    }

    /// More than a thread's cache: the rest goes to the shared stack.
    const CACHE_AND_BATCHES: usize = 64 + 4 * imp::BATCH;
}
