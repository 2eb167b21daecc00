//! Futures and async embedding: `JoinHandle` as a future from tokio and futures executors,
//! `spawn_future` wake semantics, `block_on` (which keeps helping on a worker, and makes the free
//! functions use its pool), and async backpressure (`reserve`) that never blocks the runtime
//! thread and loses no wake-up.
//!
//! `spawn_future` from a worker is bounded like `spawn`: a worker's deque never holds more than
//! `local_queue_limit` jobs because of futures. Past it, `spawn_future` polls the new future once
//! right there (caller-polls), and a wake on a worker at the bound queues the task on the pool's
//! wake queue. Nothing there waits for another task, so it never deadlocks, whatever the futures
//! wait for (the watchdog is for hangs only).
//!
//! A test named `bug_*`, or whose doc comment starts "Fixed bug", guards a fixed bug: it failed on
//! the code before the fix, and its doc comment says what the bug was.

mod common;

use common::{block_on, hold_workers, panic_message, watchdog, watchdog_for};
use corepool::{Pinning, Pool};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

#[test]
fn ten_thousand_awaits_from_a_tokio_multi_thread_runtime() {
    let pool = Pool::builder().threads(2).build().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let total = rt.block_on(async move {
        let mut tasks = Vec::new();
        for chunk in 0..10u64 {
            let pool = pool.clone();
            tasks.push(tokio::spawn(async move {
                let mut sum = 0;
                for i in 0..1_000u64 {
                    sum += pool.spawn(move || chunk * 1_000 + i).await.unwrap();
                }
                sum
            }));
        }
        let mut total = 0;
        for t in tasks {
            total += t.await.unwrap();
        }
        total
    });
    assert_eq!(total, (0..10_000u64).sum());
}

#[test]
fn ten_thousand_awaits_from_a_tokio_current_thread_runtime() {
    let pool = Pool::builder().threads(2).build().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let total = rt.block_on(async move {
        let handles: Vec<_> = (0..10_000u64).map(|i| pool.spawn(move || i * 2)).collect();
        let mut total = 0;
        for h in handles {
            total += h.await.unwrap();
        }
        total
    });
    assert_eq!(total, (0..10_000u64).map(|i| i * 2).sum());
}

#[test]
fn handles_work_with_futures_block_on_and_join_all() {
    let pool = Pool::builder().threads(2).build().unwrap();
    let handles: Vec<_> = (0..1000u32).map(|i| pool.spawn(move || i)).collect();
    let results = futures::executor::block_on(futures::future::join_all(handles));
    let sum: u32 = results.into_iter().map(Result::unwrap).sum();
    assert_eq!(sum, (0..1000).sum());
}

/// A future that needs `remaining` wake-ups, each sent from another OS thread.
struct WokenFromElsewhere {
    remaining: usize,
    polls: Arc<AtomicUsize>,
}

impl Future for WokenFromElsewhere {
    type Output = usize;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        if self.remaining == 0 {
            return Poll::Ready(7);
        }
        self.remaining -= 1;
        let waker = cx.waker().clone();
        std::thread::spawn(move || waker.wake());
        Poll::Pending
    }
}

#[test]
fn spawn_future_survives_many_wakes_from_other_threads_counted_exactly() {
    common::watchdog("async embedding", || {
        let pool = Pool::builder().threads(2).build().unwrap();
        let polls = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..20)
            .map(|_| {
                pool.spawn_future(WokenFromElsewhere {
                    remaining: 100,
                    polls: Arc::clone(&polls),
                })
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), 7);
        }
        // Each wake leads to exactly one more poll: 101 polls per future, no more, no fewer.
        assert_eq!(polls.load(Ordering::SeqCst), 20 * 101);
    });
}

/// Wakes itself many times *during* its own poll, from a worker thread, then once more.
struct WakesWhilePolled {
    rounds: usize,
    polls: Arc<AtomicUsize>,
    in_poll: Arc<AtomicUsize>,
}

impl Future for WakesWhilePolled {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        assert_eq!(
            self.in_poll.fetch_add(1, Ordering::SeqCst),
            0,
            "polled concurrently"
        );
        self.polls.fetch_add(1, Ordering::SeqCst);
        let result = if self.rounds == 0 {
            Poll::Ready(())
        } else {
            self.rounds -= 1;
            for _ in 0..3 {
                cx.waker().wake_by_ref();
            }
            Poll::Pending
        };
        self.in_poll.fetch_sub(1, Ordering::SeqCst);
        result
    }
}

#[test]
fn a_wake_during_the_poll_polls_again_once_and_never_concurrently() {
    common::watchdog("async embedding", || {
        let pool = Pool::builder().threads(2).build().unwrap();
        let polls = Arc::new(AtomicUsize::new(0));
        let h = pool.spawn_future(WakesWhilePolled {
            rounds: 1000,
            polls: Arc::clone(&polls),
            in_poll: Arc::new(AtomicUsize::new(0)),
        });
        h.join().unwrap();
        assert_eq!(polls.load(Ordering::SeqCst), 1001);
    });
}

#[test]
fn futures_on_the_pool_can_await_other_pool_tasks() {
    let pool = Pool::builder().threads(1).build().unwrap();
    let p = pool.clone();
    let h = pool.spawn_future(async move {
        let mut sum = 0;
        for i in 0..100u64 {
            sum += p.spawn(move || i).await.unwrap();
        }
        sum
    });
    assert_eq!(h.join().unwrap(), (0..100).sum());
}

#[test]
fn panics_in_futures_reach_the_handle() {
    let pool = Pool::builder().threads(1).build().unwrap();
    let h = pool.spawn_future(async { panic!("future boom") });
    let err = h.join().unwrap_err();
    assert!(err.is_panic());
    assert_eq!(pool.spawn_future(async { 1 }).join().unwrap(), 1);
}

#[test]
fn pending_futures_are_cancelled_at_shutdown() {
    common::watchdog("async embedding", || {
        let pool = Pool::builder().threads(1).build().unwrap();
        let h = pool.spawn_future(std::future::pending::<()>());
        // Let it be polled once.
        while pool.queued() > 0 {
            std::thread::yield_now();
        }
        let cancelled = pool.shutdown_now();
        assert!(h.join().unwrap_err().is_cancelled());
        assert!(cancelled >= 1);
    });
}

#[test]
fn block_on_on_a_worker_keeps_helping() {
    common::watchdog("async embedding", || {
        let pool = Pool::builder().threads(1).build().unwrap();
        let p = pool.clone();
        // On the only worker: block on a handle of a task queued behind us.
        let v = pool.install(move || {
            let queued = p.spawn(|| 5);
            p.block_on(queued).unwrap()
        });
        assert_eq!(v, 5);
        assert_eq!(pool.block_on(async { 9 }), 9);
    });
}

#[test]
fn async_backpressure_never_blocks_the_runtime_thread() {
    // 100,000 tasks through 4 slots is at least 25,000 hand-offs between the runtime thread and
    // the worker, each a scheduler wake-up: 0.3 s on an idle 2-core machine, but 25-55 s was
    // measured with two CPU hogs beside it (load 13; the process used 0.2 s of CPU, the rest
    // was waiting for a core, and the queue kept moving between thread dumps). A lost wake-up
    // still fails the test: no timer or other thread would ever re-wake the stuck side.
    common::watchdog_for("async embedding", Duration::from_secs(300), || {
        let pool = Pool::builder()
            .threads(1)
            .queue_capacity(4)
            .build()
            .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async move {
            // Hold the only worker; release it only from a timer task on this same runtime
            // after it ticked 20 times. If a submitter blocked the runtime thread while the
            // queue is full, the timer could never tick and the watchdog would fire.
            let gate = Arc::new(Barrier::new(2));
            let g = Arc::clone(&gate);
            let held = pool.spawn(move || {
                g.wait();
            });
            let ticks = Arc::new(AtomicUsize::new(0));
            let ticker = {
                let ticks = Arc::clone(&ticks);
                tokio::spawn(async move {
                    let mut interval = tokio::time::interval(Duration::from_millis(1));
                    for _ in 0..20 {
                        interval.tick().await;
                        ticks.fetch_add(1, Ordering::SeqCst);
                    }
                    // Release the worker from a blocking-safe place.
                    tokio::task::spawn_blocking(move || gate.wait())
                        .await
                        .unwrap();
                })
            };
            let done = Arc::new(AtomicUsize::new(0));
            let mut submitters = Vec::new();
            for s in 0..4u64 {
                let pool = pool.clone();
                let done = Arc::clone(&done);
                submitters.push(tokio::spawn(async move {
                    let mut handles = Vec::with_capacity(25_000);
                    for i in 0..25_000u64 {
                        let done = Arc::clone(&done);
                        let h = pool
                            .spawn_async(move || {
                                done.fetch_add(1, Ordering::Relaxed);
                                s * 25_000 + i
                            })
                            .await
                            .expect("pool is running");
                        handles.push(h);
                    }
                    let mut sum = 0;
                    for h in handles {
                        sum += h.await.unwrap();
                    }
                    sum
                }));
            }
            let mut total = 0;
            for s in submitters {
                total += s.await.unwrap();
            }
            ticker.await.unwrap();
            held.await.unwrap();
            assert_eq!(total, (0..100_000u64).sum());
            assert_eq!(done.load(Ordering::SeqCst), 100_000);
            assert_eq!(ticks.load(Ordering::SeqCst), 20);
        });
    });
}

struct WakeFlag(std::sync::atomic::AtomicBool);

impl std::task::Wake for WakeFlag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn a_waiter_dropped_after_its_wake_up_leaves_the_slot_to_the_next() {
    common::watchdog("async embedding", || {
        let pool = Pool::builder()
            .threads(1)
            .queue_capacity(1)
            .build()
            .unwrap();
        let gate = Arc::new(Barrier::new(2));
        let g = Arc::clone(&gate);
        let held = pool.spawn(move || {
            g.wait();
        });
        while pool.queued() > 0 {
            std::thread::yield_now();
        }
        let filler = pool.spawn(|| ());
        // Two futures wait for room. Room appears once and wakes the waiters; the first is
        // dropped before it takes the slot, and the second, polled only when woken, gets it.
        let flag_waker = |flag: &Arc<WakeFlag>| std::task::Waker::from(Arc::clone(flag));
        let first_woken = Arc::new(WakeFlag(std::sync::atomic::AtomicBool::new(false)));
        let second_woken = Arc::new(WakeFlag(std::sync::atomic::AtomicBool::new(false)));
        let (first_waker, second_waker) = (flag_waker(&first_woken), flag_waker(&second_woken));
        let mut first = Box::pin(pool.reserve());
        let mut second = Box::pin(pool.reserve());
        let mut first_cx = Context::from_waker(&first_waker);
        let mut second_cx = Context::from_waker(&second_waker);
        assert!(first.as_mut().poll(&mut first_cx).is_pending());
        assert!(second.as_mut().poll(&mut second_cx).is_pending());
        gate.wait();
        // The worker takes `filler`, freeing the slot and waking the waiters.
        while !first_woken.0.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        drop(first);
        while !second_woken.0.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        let permit = match second.as_mut().poll(&mut second_cx) {
            Poll::Ready(permit) => permit.expect("room appears for the second waiter"),
            Poll::Pending => panic!("woken without room"),
        };
        let h = permit.spawn(|| 3).expect("pool is running");
        assert_eq!(h.join().unwrap(), 3);
        held.join().unwrap();
        filler.join().unwrap();
        let permit = pool.block_on(pool.reserve()).unwrap();
        pool.shutdown();
        // A permit taken before the shutdown is refused after it, closure handed back.
        let err = permit.spawn(|| 4).unwrap_err();
        assert!(err.is_shutdown());
        assert_eq!((err.into_inner())(), 4);
        assert!(pool.block_on(pool.reserve()).is_err());
    });
}

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

/// `pool.block_on(fut)` called off the workers makes the free functions inside the future use
/// `pool`. Before the fix `block_on` ignored `self`: `corepool::spawn` and `corepool::join`
/// inside it ran on the global pool.
#[test]
fn free_functions_inside_block_on_use_that_pool() {
    watchdog("free_functions_inside_block_on_use_that_pool", || {
        let pool = Pool::builder()
            .threads(2)
            .pinning(Pinning::None)
            .build()
            .unwrap();
        let (p, q, r) = (pool.clone(), pool.clone(), pool.clone());
        let (spawned, joined, nested) = pool.block_on(async move {
            let spawned = corepool::spawn(move || p.current_thread_index().is_some())
                .await
                .unwrap();
            let (a, b) = corepool::join(
                || q.current_thread_index().is_some(),
                || q.current_thread_index().is_some(),
            );
            // A nested `block_on` of the global (no-pool) kind keeps the entered pool.
            let nested = Pool::block_on_here(async move {
                corepool::scope(|_| r.current_thread_index().is_some())
            });
            (spawned, a && b, nested)
        });
        assert!(spawned, "corepool::spawn inside pool.block_on runs on pool");
        assert!(joined, "corepool::join inside pool.block_on runs on pool");
        assert!(nested, "corepool::scope inside pool.block_on runs on pool");
        // After `block_on` returned, off the workers the free functions use the global pool.
        let after = pool.clone();
        assert!(
            !corepool::spawn(move || after.current_thread_index().is_some())
                .join()
                .unwrap()
        );
    });
}

const LIMIT: usize = 16;

fn limited_pool(threads: usize) -> Pool {
    Pool::builder()
        .threads(threads)
        .pinning(Pinning::None)
        .local_queue_limit(LIMIT)
        .build()
        .unwrap()
}

/// Counts the futures alive: made and not yet dropped (a finished future is dropped).
#[derive(Clone, Default)]
struct Live(Arc<AtomicUsize>);

struct Token(Arc<AtomicUsize>);

impl Live {
    fn token(&self) -> Token {
        self.0.fetch_add(1, Ordering::SeqCst);
        Token(Arc::clone(&self.0))
    }

    fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Drop for Token {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The deque depth of the worker running this code.
fn own_depth(pool: &Pool) -> usize {
    let index = pool.current_thread_index().expect("runs on a worker");
    pool.metrics().workers[index].local_queue_depth
}

/// Pending, waking itself each time, until `flag` is set: a future that yields while it waits
/// for the task that spawned it.
struct YieldUntil(Arc<AtomicBool>);

impl Future for YieldUntil {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.load(Ordering::SeqCst) {
            Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// Many futures that finish at their first poll, spawned in a loop on a worker: the spawner's
/// deque stays within its bound and the futures alive at any time are at most the ones queued
/// there plus those being polled. (The code before the fix queued every one: on one thread,
/// all 20 000 were alive when the loop ended.)
#[test]
fn spawn_future_from_a_worker_keeps_the_deque_and_live_futures_bounded() {
    const FUTURES: usize = 20_000;
    for threads in [1, 2] {
        watchdog("spawn_future bounded", move || {
            let pool = limited_pool(threads);
            let live = Live::default();
            let spawner = {
                let (pool, live) = (pool.clone(), live.clone());
                pool.clone().spawn(move || {
                    let (mut max_live, mut max_depth) = (0, 0);
                    let mut handles = Vec::with_capacity(FUTURES);
                    for i in 0..FUTURES {
                        let token = live.token();
                        handles.push(pool.spawn_future(async move {
                            drop(token);
                            i
                        }));
                        max_live = max_live.max(live.get());
                        if i % 64 == 0 {
                            max_depth = max_depth.max(own_depth(&pool));
                        }
                    }
                    for (i, handle) in handles.into_iter().enumerate() {
                        assert_eq!(handle.join().expect("every future completes"), i);
                    }
                    (max_live, max_depth)
                })
            };
            let (max_live, max_depth) = spawner.join().expect("the spawner finishes");
            assert!(
                max_depth <= LIMIT,
                "{threads} thread(s): the spawner's deque held {max_depth} jobs (bound {LIMIT})"
            );
            assert!(
                max_live <= LIMIT + threads,
                "{threads} thread(s): {max_live} futures were alive at once (bound {})",
                LIMIT + threads
            );
            assert_eq!(live.get(), 0);
            assert!(
                pool.metrics().caller_runs > 0,
                "some first polls ran inline"
            );
        });
    }
}

/// Futures that cannot finish until their spawner goes on: half wait for a message it sends
/// after the loop, half yield until a flag it sets after the loop. Spawning them never waits for
/// them (no deadlock on one or two threads), and the bound still holds: the yielding ones, woken
/// at the bound, wait in the wake queue.
#[test]
fn spawn_future_from_a_worker_never_waits_for_the_futures_it_spawns() {
    const FUTURES: usize = 2_000;
    for threads in [1, 2] {
        watchdog("spawn_future no deadlock", move || {
            let pool = limited_pool(threads);
            let spawner = {
                let pool = pool.clone();
                pool.clone().spawn(move || {
                    let flag = Arc::new(AtomicBool::new(false));
                    let mut senders = Vec::new();
                    let mut handles = Vec::new();
                    let mut max_depth = 0;
                    for i in 0..FUTURES {
                        let handle = if i % 2 == 0 {
                            let (tx, rx) = futures::channel::oneshot::channel::<usize>();
                            senders.push(tx);
                            pool.spawn_future(async move { rx.await.expect("sent") })
                        } else {
                            let flag = Arc::clone(&flag);
                            pool.spawn_future(async move {
                                YieldUntil(flag).await;
                                i
                            })
                        };
                        handles.push(handle);
                        max_depth = max_depth.max(own_depth(&pool));
                    }
                    flag.store(true, Ordering::SeqCst);
                    for (i, tx) in senders.into_iter().enumerate() {
                        tx.send(2 * i).expect("the future waits");
                    }
                    for (i, handle) in handles.into_iter().enumerate() {
                        assert_eq!(handle.join().expect("every future completes"), i);
                    }
                    max_depth
                })
            };
            let max_depth = spawner.join().expect("the spawner finishes");
            assert!(
                max_depth <= LIMIT,
                "{threads} thread(s): the spawner's deque held {max_depth} jobs (bound {LIMIT})"
            );
        });
    }
}

/// Outside a worker, `block_on` (`block_on.rs`) and `JoinHandle::join` (`job_handle.rs`) park
/// on the same thread-local `ThreadParker` token. A future driven by `pool.block_on` polls
/// handle A (registering block_on's waker), then blocks in `B.join()`; A finishes during that
/// join and sets the token; `join`'s `park()` consumes it as a spurious wake and parks again
/// until B is done. The future returns `Pending` and `block_on` parks with the token already
/// spent: A's wake-up is lost and `block_on` never returns. (Same with a nested `block_on`.)
#[test]
fn bug_blocking_join_inside_block_on_swallows_the_wake_up() {
    let pool = Pool::builder()
        .threads(2)
        .pinning(Pinning::None)
        .build()
        .unwrap();
    let p = pool.clone();
    let out = watchdog_for(
        "block_on with a blocking join inside",
        Duration::from_secs(10),
        move || {
            // A must not finish before the first poll (that poll would return 1 at once and
            // never reach the join): it waits for `go`, set right before the blocking join.
            let go = Arc::new(AtomicBool::new(false));
            let gate = Arc::clone(&go);
            let fast = p.spawn(move || {
                while !gate.load(Ordering::Acquire) {
                    std::thread::yield_now();
                }
                1
            });
            let slow = p.spawn(|| {
                std::thread::sleep(Duration::from_millis(100));
                2
            });
            let mut fast = Some(fast);
            let mut slow = Some(slow);
            let mut got = 0;
            p.block_on(std::future::poll_fn(move |cx| {
                use std::future::Future;
                let f = fast.as_mut().unwrap();
                if let std::task::Poll::Ready(v) = std::pin::Pin::new(f).poll(cx) {
                    return std::task::Poll::Ready(v.unwrap() + got);
                }
                if let Some(s) = slow.take() {
                    go.store(true, Ordering::Release);
                    got = s.join().unwrap();
                }
                std::task::Poll::Pending
            }))
        },
    );
    assert_eq!(out, 3);
}

/// Nested async backpressure on one worker deadlocks.
///
/// `injection_queue.rs` `release()` → `wake_one()` wakes only the *front* async waiter. On a
/// worker, `block_on` (block_on.rs) helps by running other jobs, so a second `block_on` can
/// run *on top of* the first on the same stack. When both wait in `reserve()` and a slot frees,
/// the wake goes to the outer (front) waiter, which cannot be polled until the inner one
/// returns; the inner waiter is never woken, the worker finds no work and sleeps forever.
#[test]
fn bug_nested_block_on_reserve_on_one_worker_loses_the_wake_up() {
    let pool = Pool::builder()
        .threads(1)
        .pinning(Pinning::None)
        .queue_capacity(1)
        .build()
        .unwrap();
    let p = pool.clone();
    let out = watchdog_for(
        "nested block_on(spawn_async) on one worker",
        Duration::from_secs(10),
        move || {
            let q = p.clone();
            p.install(move || {
                // 1. Fill the one injection slot with a task X (from the worker, through a permit).
                let x = q.block_on(q.reserve()).unwrap().spawn(|| 1).unwrap();
                // 2. Queue J on this worker's own deque: J waits for room (the inner waiter).
                let r = q.clone();
                let j = corepool::spawn(move || {
                    r.block_on(async { r.spawn_async(|| 2).await.ok().unwrap().await.unwrap() })
                });
                // 3. Wait for room here (the outer waiter). While waiting, this worker pops J,
                //    whose wait runs on top of ours; J then takes X, freeing the slot, and the
                //    wake-up goes to us (front of the queue), not to J.
                let z =
                    q.block_on(async { q.spawn_async(|| 3).await.ok().unwrap().await.unwrap() });
                x.join().unwrap() + j.join().unwrap() + z
            })
        },
    );
    assert_eq!(out, 6);
}
