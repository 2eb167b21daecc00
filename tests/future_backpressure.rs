//! Issue #16, defect 4: `spawn_future` from a worker is bounded like `spawn`. A worker's deque
//! never holds more than `local_queue_limit` jobs because of futures: past it, `spawn_future`
//! polls the new future once right there (caller-polls), and a wake on a worker at the bound
//! queues the task on the pool's wake queue. Nothing in it waits for another task, so it never
//! deadlocks, whatever the futures wait for (the watchdog is for hangs only).

mod common;

use common::watchdog;
use corepool::{Pinning, Pool};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

const LIMIT: usize = 16;

fn pool(threads: usize) -> Pool {
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
            let pool = pool(threads);
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
            let pool = pool(threads);
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
