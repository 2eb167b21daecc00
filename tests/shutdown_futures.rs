//! Graceful shutdown returns for any mix of work that terminates (tokio's `lifo_slot_budget`
//! shape and a chain of futures that each spawn the next): queued closures and their children
//! run, and futures still pending once the closures have drained are cancelled (their handles
//! report `Cancelled`). After a timed-out `shutdown_timeout`, dropping the pool does not wait
//! again.

mod common;

use common::watchdog;
use corepool::{JoinHandle, Pinning, Pool};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;

fn pool(threads: usize) -> Pool {
    Pool::builder()
        .threads(threads)
        .pinning(Pinning::None)
        .build()
        .unwrap()
}

/// Wakes itself and stays pending for ever; counts its polls.
struct Forever(Arc<AtomicUsize>);

impl Future for Forever {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.fetch_add(1, Ordering::SeqCst);
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[test]
fn shutdown_returns_while_futures_reschedule_themselves() {
    watchdog("self-waking futures at shutdown", || {
        for threads in [1, 2, 4] {
            let pool = pool(threads);
            let polls = Arc::new(AtomicUsize::new(0));
            let handles: Vec<_> = (0..threads * 2)
                .map(|_| pool.spawn_future(Forever(Arc::clone(&polls))))
                .collect();
            // Queued closures still run, children included.
            let ran = Arc::new(AtomicUsize::new(0));
            for _ in 0..100 {
                let (ran, p) = (Arc::clone(&ran), pool.clone());
                drop(pool.spawn(move || {
                    ran.fetch_add(1, Ordering::SeqCst);
                    let ran = Arc::clone(&ran);
                    drop(p.spawn(move || ran.fetch_add(1, Ordering::SeqCst)));
                }));
            }
            common::wait_for("the futures to spin", || {
                polls.load(Ordering::SeqCst) > 1000
            });
            pool.shutdown();
            assert_eq!(ran.load(Ordering::SeqCst), 200, "{threads} workers");
            for h in handles {
                assert!(h.join().unwrap_err().is_cancelled());
            }
        }
    });
}

/// A future that spawns its successor on the pool and completes; the handles of the chain go
/// to `chain` in order.
type Chain = Arc<Mutex<Vec<JoinHandle<()>>>>;

fn chain_link(pool: Pool, chain: Chain) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        let next = pool.spawn_future(chain_link(pool.clone(), Arc::clone(&chain)));
        chain.lock().unwrap().push(next);
    })
}

#[test]
fn shutdown_returns_while_futures_spawn_their_successors() {
    watchdog("a chain of futures at shutdown", || {
        for threads in [1, 2, 4] {
            let pool = pool(threads);
            let chain = Arc::new(Mutex::new(Vec::new()));
            let first = pool.spawn_future(chain_link(pool.clone(), Arc::clone(&chain)));
            common::wait_for("the chain to run", || chain.lock().unwrap().len() > 1000);
            pool.shutdown();
            first.join().unwrap();
            // Handles are pushed after their successor may already have run (on another
            // worker), so the order says nothing: the chain has one live link at a time, and
            // exactly one link, the first spawned once the closures drained, is refused.
            let chain = std::mem::take(&mut *chain.lock().unwrap());
            let results: Vec<_> = chain.into_iter().map(JoinHandle::join).collect();
            let cancelled = results
                .iter()
                .filter(|r| r.as_ref().is_err_and(|e| e.is_cancelled()))
                .count();
            assert_eq!(cancelled, 1, "{threads} workers");
            assert!(results
                .iter()
                .all(|r| r.is_ok() || r.as_ref().unwrap_err().is_cancelled()));
        }
    });
}

#[test]
fn a_future_waiting_for_a_closure_completes_during_a_graceful_shutdown() {
    watchdog("future awaits closure at shutdown", || {
        for threads in [1, 2] {
            let pool = pool(threads);
            let (go, wait) = mpsc::channel::<()>();
            let closure = pool.spawn(move || {
                wait.recv().unwrap();
                40
            });
            let future = pool.spawn_future(async move { closure.await.unwrap() + 2 });
            let p = pool.clone();
            let stopper = thread::spawn(move || p.shutdown());
            common::wait_for("shutdown to start", || pool.is_shutdown());
            go.send(()).unwrap();
            stopper.join().unwrap();
            assert_eq!(future.join().unwrap(), 42, "{threads} workers");
        }
    });
}

#[test]
fn dropping_a_pool_after_a_timed_out_shutdown_does_not_wait_again() {
    watchdog("drop after shutdown_timeout", || {
        let pool = pool(1);
        let (go, wait) = mpsc::channel::<()>();
        let (started_tx, started) = mpsc::channel::<()>();
        let stuck = pool.spawn(move || {
            started_tx.send(()).unwrap();
            wait.recv().unwrap();
            "done"
        });
        started.recv().unwrap();
        assert!(!pool.shutdown_timeout(Duration::from_millis(20)));
        // The task is still blocked, and only this thread can release it: a drop that waits
        // for it never returns (the watchdog fails the test).
        drop(pool);
        go.send(()).unwrap();
        assert_eq!(stuck.join().unwrap(), "done");
    });
}
