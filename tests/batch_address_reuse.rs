//! Issue #16, defect 3: `spawn_all`'s worker recognised the rest of its batch, popped back from
//! its own deque, by the address of a box a thief may already have freed. Under an allocator
//! that hands a freed block to the next allocation of its size, whatever thread makes it, a scope
//! job spawned from outside the pool got that address, a worker moved it to its own deque with
//! an injected batch, and the batch's worker took it for its rest: it freed the scope job as a
//! batch list and ran garbage (SIGSEGV, or the scope job never ran and the test hung).
//!
//! This binary installs such an allocator (every small size has one LIFO free list shared by
//! all threads) and stages the sequence that reached the reuse, round after round:
//!
//! 1. `spawn_all([t0, t1])` from outside: worker A runs the batch, pushes the rest (`t1`) on
//!    its deque and runs `t0`, which waits (not helping) so that worker B must steal the rest.
//! 2. B runs `t1`, which spawns `marker` on B's deque; B then frees the rest, pops `marker`, and
//!    `marker` opens a scope and hands it to a helper thread outside the pool.
//! 3. The helper, with a dummy block, arranges that its first scope job `x` gets another block
//!    and its second, `y`, the block the rest had; both are injected.
//! 4. `t0` waits on the pool (`block_on`) until `x` ran: A takes both injected jobs in one
//!    batch, runs `x`, and is left with `y` on its deque when `t0` returns; then A's batch loop
//!    pops `y`. It must run it as the scope job it is, which lets `marker`'s scope end.

mod common;

use corepool::{Pinning, Pool, Scope};
use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::pin::Pin;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// Blocks of up to this many bytes (alignment up to [`CLASS`]) are recycled.
const SMALL: usize = 256;
/// Size classes are multiples of this.
const CLASS: usize = 16;

/// A free block, linked to the next one of its class.
struct Free {
    next: *mut Free,
}

/// An allocator that reuses freed small blocks as eagerly as possible: one LIFO free list per
/// size class, shared by every thread, so the next allocation of a class (on any thread) gets
/// the block freed last. Blocks are never returned to the system.
struct ReusingAlloc {
    lists: [AtomicPtr<Free>; SMALL / CLASS + 1],
    lock: AtomicBool,
}

impl ReusingAlloc {
    const fn new() -> Self {
        #[allow(clippy::declare_interior_mutable_const)]
        const EMPTY: AtomicPtr<Free> = AtomicPtr::new(ptr::null_mut());
        ReusingAlloc {
            lists: [EMPTY; SMALL / CLASS + 1],
            lock: AtomicBool::new(false),
        }
    }

    fn class(layout: Layout) -> Option<usize> {
        (layout.size() <= SMALL && layout.align() <= CLASS)
            .then(|| layout.size().div_ceil(CLASS).max(1))
    }

    fn locked<R>(&self, f: impl FnOnce() -> R) -> R {
        while self
            .lock
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            std::hint::spin_loop();
        }
        let r = f();
        self.lock.store(false, Ordering::Release);
        r
    }
}

// SAFETY: small blocks come from `System` with the class's size and alignment `CLASS`, which
// covers any layout mapped to the class; a freed block is handed out again only after it was
// unlinked under the lock; everything else is `System`'s.
unsafe impl GlobalAlloc for ReusingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(class) = Self::class(layout) else {
            // SAFETY: forwarded.
            return unsafe { System.alloc(layout) };
        };
        let reused = self.locked(|| {
            let head = self.lists[class].load(Ordering::Relaxed);
            if !head.is_null() {
                // SAFETY: a block on the list is ours and holds a `Free`.
                let next = unsafe { (*head).next };
                self.lists[class].store(next, Ordering::Relaxed);
            }
            head
        });
        if !reused.is_null() {
            return reused.cast();
        }
        // SAFETY: a non-zero size and a power-of-two alignment.
        unsafe { System.alloc(Layout::from_size_align_unchecked(class * CLASS, CLASS)) }
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        let Some(class) = Self::class(layout) else {
            // SAFETY: forwarded.
            return unsafe { System.dealloc(block, layout) };
        };
        let block = block.cast::<Free>();
        self.locked(|| {
            // SAFETY: the block is at least `CLASS` bytes, aligned, and no longer in use.
            unsafe { (*block).next = self.lists[class].load(Ordering::Relaxed) };
            self.lists[class].store(block, Ordering::Relaxed);
        });
    }
}

#[global_allocator]
static ALLOC: ReusingAlloc = ReusingAlloc::new();

/// One round's flags.
#[derive(Default)]
struct Round {
    /// The scope `marker` opened, for the helper (0 until then).
    scope: AtomicUsize,
    /// The helper injected both scope jobs.
    injected: AtomicBool,
    /// `x` ran; `t0` waits for it through `x_waker`.
    x_ran: AtomicBool,
    x_waker: Mutex<Option<Waker>>,
    /// `y` ran: `marker`'s scope may end.
    y_ran: AtomicBool,
}

/// Ready once `x` ran.
struct XRan(Arc<Round>);

impl Future for XRan {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let round = &self.0;
        if round.x_ran.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        *round.x_waker.lock().unwrap() = Some(cx.waker().clone());
        if round.x_ran.load(Ordering::SeqCst) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

fn spin_until(flag: impl Fn() -> bool) {
    while !flag() {
        std::thread::yield_now();
    }
}

/// The helper's part: two scope jobs spawned from outside the pool into `marker`'s scope, the
/// second in the block freed last before the first was made (where the rest of the batch was).
fn helper(round: Arc<Round>) {
    spin_until(|| round.scope.load(Ordering::SeqCst) != 0);
    let scope = round.scope.load(Ordering::SeqCst) as *const Scope<'static>;
    // SAFETY: `marker` keeps its scope open until `injected` is set below, after the last use;
    // the jobs spawned borrow nothing (they own what they use), so `'static` is no lie to them.
    let scope = unsafe { &*scope };
    // The captures pad each scope job to the size of the batch's rest (a list of jobs and an
    // index), so the jobs share its size class.
    let pad = [0usize; 2];
    let dummy = Box::new([0u64; 4]);
    let (r, p) = (Arc::clone(&round), pad);
    scope.spawn(move |_| {
        std::hint::black_box(p);
        r.x_ran.store(true, Ordering::SeqCst);
        if let Some(waker) = r.x_waker.lock().unwrap().take() {
            waker.wake();
        }
    });
    drop(dummy);
    let (r, p) = (Arc::clone(&round), pad);
    scope.spawn(move |_| {
        std::hint::black_box(p);
        r.y_ran.store(true, Ordering::SeqCst);
    });
    round.injected.store(true, Ordering::SeqCst);
}

fn one_round() {
    let pool = Pool::builder()
        .threads(2)
        .pinning(Pinning::None)
        .build()
        .expect("a two-worker pool builds");
    let round = Arc::new(Round::default());
    let helper_thread = {
        let round = Arc::clone(&round);
        std::thread::spawn(move || helper(round))
    };
    let t0 = {
        let (pool, round) = (pool.clone(), Arc::clone(&round));
        Box::new(move || {
            spin_until(|| round.injected.load(Ordering::SeqCst));
            pool.block_on(XRan(Arc::clone(&round)));
            None
        }) as Box<dyn FnOnce() -> Option<corepool::JoinHandle<()>> + Send>
    };
    let t1 = {
        let (pool, round) = (pool.clone(), Arc::clone(&round));
        Box::new(move || {
            let marker_pool = pool.clone();
            Some(pool.spawn(move || {
                marker_pool.scope(|s| {
                    round
                        .scope
                        .store(s as *const Scope<'_> as usize, Ordering::SeqCst);
                    spin_until(|| round.injected.load(Ordering::SeqCst));
                    // Not before `y` ran: until then this worker must not take `y` from the
                    // batch's worker.
                    spin_until(|| round.y_ran.load(Ordering::SeqCst));
                });
            }))
        }) as Box<dyn FnOnce() -> Option<corepool::JoinHandle<()>> + Send>
    };
    for result in corepool::join_all(pool.spawn_all([t0, t1])) {
        if let Some(marker) = result.expect("both tasks of the batch run") {
            marker.join().expect("marker's scope ends");
        }
    }
    helper_thread.join().expect("the helper finishes");
    assert!(round.x_ran.load(Ordering::SeqCst) && round.y_ran.load(Ordering::SeqCst));
    pool.shutdown();
}

#[test]
fn rest_of_batch_is_not_confused_with_a_job_at_a_reused_address() {
    common::watchdog("batch identity", || {
        for _ in 0..20 {
            one_round();
        }
    });
}
