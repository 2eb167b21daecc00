//! Model: async backpressure (`src/reserve.rs`, the permit and async-waiter part of
//! `src/injection_queue.rs`) and `block_on` (`src/block_on.rs`).
//!
//! Invariants checked:
//! - A `Reserve` future that returned `Pending` on a full queue is registered as a waiter and
//!   woken when a slot frees (registration, SeqCst fence and re-try against the consumer's
//!   release, fence and read of `waiting`): else a loom deadlock.
//! - A waiter that was woken but is dropped without taking the slot passes the wake-up on, so a
//!   second waiter is woken (else: deadlock).
//! - One release wakes one waiter (the oldest), and two releases racing each other wake two
//!   distinct waiters: with wake-one, no slot is left unused while a waiter waits (else:
//!   deadlock), and a release with one waiter left wakes nobody else.
//! - A `Permit` used after the pool closed is refused with the closure handed back and its slot
//!   freed; used before, its task runs under a graceful shutdown. Either way every slot of the
//!   queue is given back (`loom_api::injection_slots_in_use` is 0 at the end).
//! - `block_on` off the pool parks on its own parker and is woken by the handle's completion
//!   (a wake before the park is kept); on a worker it keeps executing tasks and is woken
//!   through the sleep protocol.
#![cfg(corepool_loom)]

mod common;

use common::{model, pool, Counter, Flag, Seen};
use corepool::loom_api;
use loom::sync::{Condvar, Mutex};
use loom::thread;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

fn poll_once<F: Future + Unpin>(future: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(waker))
}

/// Queue capacity 1, its slot held by main's permit. Another thread's `reserve().await`
/// (through `block_on` off the pool) waits; main spawns into its permit, the worker takes the
/// job and frees the slot, which wakes the waiter. Both handles resolve through `block_on`.
#[test]
fn reserve_woken_when_slot_frees() {
    model("reserve::reserve_woken_when_slot_frees", || {
        let pool = pool(1, 1);
        let permit = pool
            .block_on(pool.reserve())
            .expect("an empty queue has room");
        let waiter = {
            let pool = pool.clone();
            thread::spawn(move || {
                let permit = pool
                    .block_on(pool.reserve())
                    .expect("woken when the slot frees");
                let handle = permit.spawn(|| 2u8).expect("the pool is running");
                pool.block_on(handle).expect("the task runs")
            })
        };
        let handle = permit.spawn(|| 1u8).expect("the pool is running");
        assert_eq!(pool.block_on(handle).expect("the task runs"), 1);
        assert_eq!(waiter.join().unwrap(), 2);
        pool.shutdown();
        assert_eq!(loom_api::injection_slots_in_use(&pool), 0);
    });
}

/// `spawn_async`, both of its paths: queue capacity 1, its slot held by main's permit. Another
/// thread's `spawn_async` finds the queue full (or, if main's job was already taken, takes the
/// free slot directly, the fast path) and otherwise waits as a `Reserve` until the worker frees
/// the slot. Both tasks run, both handles resolve, every slot is given back.
#[test]
fn spawn_async_fast_or_waits() {
    model("reserve::spawn_async_fast_or_waits", || {
        let pool = pool(1, 1);
        let permit = pool
            .block_on(pool.reserve())
            .expect("an empty queue has room");
        let waiter = {
            let pool = pool.clone();
            thread::spawn(move || {
                let handle = pool
                    .block_on(pool.spawn_async(|| 2u8))
                    .unwrap_or_else(|_| panic!("the pool is running"));
                pool.block_on(handle).expect("the task runs")
            })
        };
        let handle = permit.spawn(|| 1u8).expect("the pool is running");
        assert_eq!(pool.block_on(handle).expect("the task runs"), 1);
        assert_eq!(waiter.join().unwrap(), 2);
        pool.shutdown();
        assert_eq!(loom_api::injection_slots_in_use(&pool), 0);
    });
}

/// Counts registrations; main waits for both waiters before it frees the slot.
#[derive(Default)]
struct Registered {
    count: Mutex<usize>,
    cond: Condvar,
}

impl Registered {
    fn add(&self) {
        *self.count.lock().unwrap() += 1;
        self.cond.notify_all();
    }

    fn wait_for(&self, n: usize) {
        let mut count = self.count.lock().unwrap();
        while *count < n {
            count = self.cond.wait(count).unwrap();
        }
    }
}

/// Queue capacity 1, its slot held by main's permit; two `Reserve` futures wait (both polled
/// `Pending`). Main drops its permit, which wakes the first waiter in line. Waiter 1, once
/// woken, drops its future without taking the slot: it must pass the wake-up on to waiter 2.
/// Waiter 2 takes a permit and drops it (freeing the slot, which wakes waiter 1 if it is still
/// waiting). Without the baton pass in `forget_waiter`, waiter 2 waits for ever (deadlock).
/// The model asserts that waiter 1 was sometimes woken first (the baton path).
#[test]
fn dropped_woken_waiter_passes_wakeup() {
    static BATON: Seen = Seen::new("waiter 1 woken first and dropped before waiter 2 got a slot");
    model("reserve::dropped_woken_waiter_passes_wakeup", || {
        let pool = pool(1, 1);
        let held = pool
            .block_on(pool.reserve())
            .expect("an empty queue has room");
        let registered = Arc::new(Registered::default());
        let second_has_permit = Arc::new(AtomicBool::new(false));
        let first = {
            let (pool, registered) = (pool.clone(), Arc::clone(&registered));
            let second_has_permit = Arc::clone(&second_has_permit);
            thread::spawn(move || {
                let flag = Flag::new();
                let waker = Waker::from(Arc::clone(&flag));
                let mut reserve = pool.reserve();
                assert!(
                    poll_once(&mut reserve, &waker).is_pending(),
                    "the only slot is held"
                );
                registered.add();
                flag.wait();
                BATON.mark_if(!second_has_permit.load(Relaxed));
                // Woken, but leaves without taking the slot.
                drop(reserve);
            })
        };
        let second = {
            let (pool, registered) = (pool.clone(), Arc::clone(&registered));
            thread::spawn(move || {
                let flag = Flag::new();
                let waker = Waker::from(Arc::clone(&flag));
                let mut reserve = pool.reserve();
                assert!(
                    poll_once(&mut reserve, &waker).is_pending(),
                    "the only slot is held"
                );
                registered.add();
                let permit = loop {
                    flag.wait();
                    if let Poll::Ready(permit) = poll_once(&mut reserve, &waker) {
                        break permit.expect("the pool is running");
                    }
                };
                second_has_permit.store(true, Relaxed);
                drop(permit);
            })
        };
        registered.wait_for(2);
        drop(held);
        first.join().unwrap();
        second.join().unwrap();
        assert_eq!(loom_api::injection_slots_in_use(&pool), 0);
        pool.shutdown();
    });
    BATON.assert_seen();
}

/// Wake-one under racing releases: queue capacity 2, both slots held by permits; two `Reserve`
/// futures wait. Main and a third thread drop one permit each at the same time: each release
/// wakes one waiter, the two wake different waiters (the first leaves the queue as it is
/// woken), and both waiters get a permit. A release that woke nobody, or two that woke the same
/// waiter, leaves one waiting for ever (deadlock). (That one release wakes exactly one waiter
/// is checked by `tests/user_code_panics.rs`, where the wakers count.)
#[test]
fn racing_releases_wake_distinct_waiters() {
    model("reserve::racing_releases_wake_distinct_waiters", || {
        let pool = pool(1, 2);
        let held_a = pool.block_on(pool.reserve()).expect("room");
        let held_b = pool.block_on(pool.reserve()).expect("room");
        let registered = Arc::new(Registered::default());
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let (pool, registered) = (pool.clone(), Arc::clone(&registered));
                thread::spawn(move || {
                    let flag = Flag::new();
                    let waker = Waker::from(Arc::clone(&flag));
                    let mut reserve = pool.reserve();
                    assert!(
                        poll_once(&mut reserve, &waker).is_pending(),
                        "both slots held"
                    );
                    registered.add();
                    loop {
                        flag.wait();
                        if let Poll::Ready(permit) = poll_once(&mut reserve, &waker) {
                            // Keep the slot: the other waiter must be woken by the other
                            // release, not by this permit's drop.
                            return permit.expect("the pool is running");
                        }
                    }
                })
            })
            .collect();
        registered.wait_for(2);
        let other = thread::spawn(move || drop(held_b));
        drop(held_a);
        other.join().unwrap();
        let permits: Vec<_> = waiters.into_iter().map(|w| w.join().unwrap()).collect();
        drop(permits);
        assert_eq!(loom_api::injection_slots_in_use(&pool), 0);
        pool.shutdown();
    });
}

/// A permit taken before the shutdown is used while another thread shuts the pool down: used
/// before the close, its task runs (the worker waits for it); after, `spawn` refuses it with
/// the closure handed back and frees the slot. Both occur; the slot count ends at 0.
#[test]
fn permit_used_after_shutdown_is_refused() {
    static REFUSED: Seen = Seen::new("the permit was refused after the close");
    static ACCEPTED: Seen = Seen::new("the permit's task was accepted and ran");
    model("reserve::permit_used_after_shutdown_is_refused", || {
        let pool = pool(1, 1);
        let runs = Counter::new();
        let permit = pool
            .block_on(pool.reserve())
            .expect("an empty queue has room");
        let closer = {
            let pool = pool.clone();
            thread::spawn(move || pool.shutdown())
        };
        let r = runs.clone();
        let accepted = match permit.spawn(move || r.incr()) {
            Ok(handle) => {
                handle
                    .join()
                    .expect("accepted before the close, so it runs");
                true
            }
            Err(e) => {
                assert!(e.is_shutdown(), "refused only because of the shutdown");
                drop(e.into_inner());
                false
            }
        };
        closer.join().unwrap();
        assert_eq!(runs.get(), usize::from(accepted));
        assert_eq!(
            loom_api::injection_slots_in_use(&pool),
            0,
            "the permit's slot is given back"
        );
        assert!(pool.block_on(pool.reserve()).is_err(), "closed: no permit");
        REFUSED.mark_if(!accepted);
        ACCEPTED.mark_if(accepted);
    });
    REFUSED.assert_seen();
    ACCEPTED.assert_seen();
}

/// `block_on` of a task's handle off the pool: the thread parks on `block_on`'s own parker
/// until the worker completes the task (a completion before the park is not lost).
#[test]
fn block_on_handle_off_pool() {
    model("reserve::block_on_handle_off_pool", || {
        let pool = pool(1, 2);
        let handle = pool.spawn(|| 5u8);
        assert_eq!(pool.block_on(handle).expect("the task runs"), 5);
        pool.shutdown();
    });
}

/// `block_on` on the only worker, of a task that worker itself spawned: it keeps executing
/// tasks while the handle is pending (else: deadlock) and re-polls once woken.
#[test]
fn block_on_handle_on_worker() {
    model("reserve::block_on_handle_on_worker", || {
        let pool = pool(1, 2);
        let value = pool.install(|| {
            let handle = corepool::spawn(|| 6u8);
            corepool::Pool::block_on_here(handle).expect("the task runs")
        });
        assert_eq!(value, 6);
        pool.shutdown();
    });
}
