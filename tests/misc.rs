//! The extras: a million tiny tasks from outside (default capacity, so backpressure engages)
//! each run exactly once; a scope mutating a borrowed Vec through disjoint chunks; and
//! `JoinHandle` as a `Future` under a tiny hand-written `block_on`.

mod common;

use common::{block_on, hold_workers, panic_message, watchdog};
use corepool::{Pinning, Pool};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

/// Forwards to a `JoinHandle` and records whether its first poll was Ready, *after* that poll
/// returned.
struct Probe<T> {
    inner: corepool::JoinHandle<T>,
    first_poll: Arc<Mutex<Option<bool>>>,
}

impl<T> Future for Probe<T> {
    type Output = Result<T, corepool::JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let result = Pin::new(&mut self.inner).poll(cx);
        let mut first = self.first_poll.lock().unwrap();
        if first.is_none() {
            *first = Some(result.is_ready());
        }
        result
    }
}

#[test]
fn a_million_tiny_tasks_each_run_exactly_once() {
    watchdog("million", || {
        const N: usize = 1_000_000;
        let pool = Pool::builder()
            .threads(2)
            .pinning(Pinning::None)
            .build()
            .unwrap();
        assert_eq!(pool.queue_capacity(), corepool::DEFAULT_QUEUE_CAPACITY);
        let runs: Arc<Vec<AtomicU8>> = Arc::new((0..N).map(|_| AtomicU8::new(0)).collect());
        let total = Arc::new(AtomicUsize::new(0));
        for i in 0..N {
            let (runs, total) = (Arc::clone(&runs), Arc::clone(&total));
            drop(pool.spawn(move || {
                runs[i].fetch_add(1, Ordering::Relaxed);
                total.fetch_add(1, Ordering::Relaxed);
            }));
        }
        pool.shutdown(); // graceful: returns after every accepted task ran
        assert_eq!(total.load(Ordering::Relaxed), N);
        let wrong: Vec<(usize, u8)> = runs
            .iter()
            .map(|r| r.load(Ordering::Relaxed))
            .enumerate()
            .filter(|&(_, r)| r != 1)
            .take(10)
            .collect();
        assert!(
            wrong.is_empty(),
            "tasks not run exactly once (index, runs): {wrong:?}"
        );
    });
}

#[test]
fn scope_mutates_a_borrowed_vec_through_disjoint_chunks() {
    watchdog("scope chunks", || {
        for threads in [1, 2, 4] {
            let pool = Pool::builder()
                .threads(threads)
                .pinning(Pinning::None)
                .build()
                .unwrap();
            let mut data: Vec<u64> = (0..10_000).collect();
            let label = String::from("borrowed"); // shared borrow alongside the mutable ones
            let seen = AtomicUsize::new(0);
            pool.scope(|s| {
                for chunk in data.chunks_mut(333) {
                    let (label, seen) = (&label, &seen);
                    s.spawn(move |s| {
                        assert_eq!(label, "borrowed");
                        // Split again and hand the halves to nested tasks.
                        let mid = chunk.len() / 2;
                        let (left, right) = chunk.split_at_mut(mid);
                        s.spawn(move |_| left.iter_mut().for_each(|x| *x *= 2));
                        right.iter_mut().for_each(|x| *x *= 2);
                        seen.fetch_add(1, Ordering::SeqCst);
                    });
                }
            });
            assert_eq!(seen.load(Ordering::SeqCst), 10_000usize.div_ceil(333));
            assert_eq!(
                data,
                (0..10_000).map(|x| x * 2).collect::<Vec<u64>>(),
                "{threads} threads"
            );
        }
        // Via the free function and returning a value out of the scope.
        let mut v = vec![1u32; 100];
        let r = corepool::scope(|s| {
            for x in v.iter_mut() {
                s.spawn(move |_| *x += 1);
            }
            "ret"
        });
        assert_eq!(r, "ret");
        assert!(v.iter().all(|&x| x == 2));
    });
}

#[test]
fn join_handle_is_a_future() {
    watchdog("future", || {
        let pool = Pool::builder()
            .threads(2)
            .pinning(Pinning::None)
            .build()
            .unwrap();

        let (out, _) = block_on(pool.spawn(|| 40 + 2));
        assert_eq!(out.unwrap(), 42);

        // Pending first, then woken: the workers stay held until the first poll has returned,
        // so that poll must be Pending and the result must come through the waker.
        let held = hold_workers(&pool);
        let first_poll = Arc::new(Mutex::new(None));
        let probe = Probe {
            inner: pool.spawn(|| String::from("late")),
            first_poll: Arc::clone(&first_poll),
        };
        let release = {
            let first_poll = Arc::clone(&first_poll);
            std::thread::spawn(move || {
                common::wait_for("the first poll", || first_poll.lock().unwrap().is_some());
                held.release_and_join();
            })
        };
        let (out, polls) = block_on(probe);
        assert_eq!(out.unwrap(), "late");
        assert_eq!(
            *first_poll.lock().unwrap(),
            Some(false),
            "first poll was Pending"
        );
        assert!(polls >= 2, "woken and polled again (polls {polls})");
        release.join().unwrap();

        // A panicking task.
        let (out, _) = block_on(pool.spawn(|| -> u8 { panic!("async boom") }));
        assert_eq!(panic_message(&*out.unwrap_err().into_panic()), "async boom");

        // Several handles awaited in one async block, including one already finished.
        let done = pool.spawn(|| 1u64);
        while !done.is_finished() {
            std::thread::yield_now();
        }
        let handles: Vec<_> = (0..50u64).map(|i| pool.spawn(move || i * i)).collect();
        let (sum, _) = block_on(async move {
            let mut sum = done.await.unwrap();
            for h in handles {
                sum += h.await.unwrap();
            }
            sum
        });
        assert_eq!(sum, 1 + (0..50u64).map(|i| i * i).sum::<u64>());

        // Awaiting a handle from a thread that is a worker of another pool works too.
        let other = Pool::builder()
            .threads(1)
            .pinning(Pinning::None)
            .build()
            .unwrap();
        let h = pool.spawn(|| 9);
        let v = other.spawn(move || block_on(h).0).join().unwrap();
        assert_eq!(v.unwrap(), 9);
    });
}
