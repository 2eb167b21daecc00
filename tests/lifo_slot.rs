//! The LIFO slot (tokio's idea, issue #20): a task spawned from a worker runs next on that
//! worker once its spawner returns, without waking a peer; but it never waits behind a spawner
//! that keeps running or blocks, and every task runs exactly once.
//!
//! No assertion here depends on timing: where the rule involves the affinity patience, a test
//! either sets it so long that a peer never takes the slot (the chain must stay put), or only
//! waits (under a watchdog) for what the rule promises eventually.

mod common;

use common::watchdog;
use corepool::{Pinning, Pool};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

fn pool(threads: usize, patience: Duration) -> Pool {
    Pool::builder()
        .threads(threads)
        .pinning(Pinning::None)
        .affinity_patience(patience)
        .build()
        .unwrap()
}

/// Each link records the worker it ran on, then spawns the next and returns.
fn link(left: usize, seen: Arc<Mutex<Vec<usize>>>, done: mpsc::Sender<()>) {
    seen.lock()
        .unwrap()
        .push(corepool::current_thread_index().unwrap());
    if left == 0 {
        done.send(()).unwrap();
    } else {
        drop(corepool::spawn(move || link(left - 1, seen, done)));
    }
}

/// tokio's LIFO slot scenario: a task that spawns its successor and returns. The successor is
/// the worker's next job, not a peer's: with a patience no test outlives, the whole chain runs
/// on the worker that ran its first link, however many peers idle beside it. (Before the slot,
/// each successor sat in the deque, where the idle peer, woken by the push, stole it.)
#[test]
fn a_chain_of_spawns_stays_on_one_worker() {
    watchdog("chain stays", || {
        let pool = pool(4, Duration::from_secs(3600));
        for round in 0..20 {
            let seen = Arc::new(Mutex::new(Vec::new()));
            let (tx, rx) = mpsc::channel();
            let s = Arc::clone(&seen);
            drop(pool.spawn(move || link(500, s, tx)));
            rx.recv().unwrap();
            let seen = seen.lock().unwrap();
            assert_eq!(seen.len(), 501, "round {round}: every link ran once");
            assert!(
                seen.iter().all(|&w| w == seen[0]),
                "round {round}: the chain moved between workers: {:?}",
                dedup(&seen)
            );
        }
    });
}

fn dedup(v: &[usize]) -> Vec<usize> {
    let mut out = v.to_vec();
    out.dedup();
    out
}

/// The successor of a spawner that keeps running is not stuck behind it: an idle peer takes it
/// once the patience has passed. The spawner spins until its successor ran, so without a peer
/// watching the slot this never ends (the watchdog fails it).
#[test]
fn a_spawner_that_keeps_running_does_not_starve_its_successor() {
    watchdog("spinning spawner", || {
        let pool = pool(2, Duration::from_millis(1));
        for _ in 0..20 {
            let ran = Arc::new(AtomicBool::new(false));
            let r = Arc::clone(&ran);
            let h = pool.spawn(move || {
                let mine = corepool::current_thread_index();
                let r2 = Arc::clone(&r);
                let (tx, rx) = mpsc::channel();
                drop(corepool::spawn(move || {
                    tx.send(corepool::current_thread_index()).unwrap();
                    r2.store(true, Ordering::SeqCst);
                }));
                while !r.load(Ordering::SeqCst) {
                    std::hint::spin_loop();
                }
                (mine, rx.recv().unwrap())
            });
            let (spawner, successor) = h.join().unwrap();
            assert_ne!(spawner, successor, "a peer ran it while the spawner spun");
        }
    });
}

/// The same with a spawner that blocks outside the pool's knowledge (a channel), waiting for
/// its own successor: a peer must take the successor, or the two wait for each other for ever.
#[test]
fn a_spawner_blocked_on_its_successor_is_not_a_deadlock() {
    watchdog("blocked spawner", || {
        let pool = pool(2, Duration::from_millis(1));
        for _ in 0..20 {
            let h = pool.spawn(|| {
                let (tx, rx) = mpsc::channel();
                drop(corepool::spawn(move || tx.send(7).unwrap()));
                rx.recv().unwrap()
            });
            assert_eq!(h.join().unwrap(), 7);
        }
    });
}

/// A spawner that waits for its successor through the pool (its handle) runs it itself, even
/// on a one-worker pool where nobody else could: the wait looks at the slot first.
#[test]
fn a_spawner_joining_its_successor_runs_it_from_the_slot() {
    watchdog("join successor", || {
        let pool = pool(1, Duration::from_secs(3600));
        let out = pool
            .spawn(|| {
                let me = corepool::current_thread_index();
                let h = corepool::spawn(move || corepool::current_thread_index() == me);
                h.join().unwrap()
            })
            .join()
            .unwrap();
        assert!(out);
    });
}

/// Two spawns from one task are parallel work: one of them goes to the deque, where an idle peer
/// takes it at once (no patience), while the spawner still runs. The spawner waits for that to
/// happen, so with both tasks kept from peers (or no peer woken) it never ends.
#[test]
fn a_second_spawn_is_published_to_peers_at_once() {
    watchdog("second spawn", || {
        let pool = pool(2, Duration::from_secs(3600));
        for _ in 0..20 {
            let h = pool.spawn(|| {
                let started = Arc::new(AtomicUsize::new(0));
                for _ in 0..2 {
                    let s = Arc::clone(&started);
                    drop(corepool::spawn(move || {
                        s.fetch_add(1, Ordering::SeqCst);
                    }));
                }
                while started.load(Ordering::SeqCst) == 0 {
                    std::hint::spin_loop();
                }
            });
            h.join().unwrap();
        }
    });
}

/// Exactly once, with the slot stolen often: a zero patience lets an idle peer take any full
/// slot it sees, while its owner takes it back at its task's end. A tree of tasks spawning
/// 0 to 3 children each; every task counts itself once.
#[test]
fn every_task_runs_exactly_once_when_slots_are_stolen() {
    watchdog("exactly once", || {
        for threads in [2, 3] {
            let pool = pool(threads, Duration::ZERO);
            const TASKS: usize = 20_000;
            let runs: Arc<Vec<AtomicUsize>> =
                Arc::new((0..TASKS).map(|_| AtomicUsize::new(0)).collect());
            let next = Arc::new(AtomicUsize::new(2));
            let (tx, rx) = mpsc::channel::<()>();
            fn task(
                id: usize,
                runs: Arc<Vec<AtomicUsize>>,
                next: Arc<AtomicUsize>,
                done: mpsc::Sender<()>,
            ) {
                runs[id].fetch_add(1, Ordering::SeqCst);
                let children = id % 4;
                for _ in 0..children {
                    let child = next.fetch_add(1, Ordering::SeqCst);
                    if child >= runs.len() {
                        break;
                    }
                    let (r, n, d) = (Arc::clone(&runs), Arc::clone(&next), done.clone());
                    drop(corepool::spawn(move || task(child, r, n, d)));
                }
                // A little work, so peers find full slots.
                for _ in 0..(id % 7) * 50 {
                    std::hint::spin_loop();
                }
                drop(done);
            }
            let (r, n) = (Arc::clone(&runs), Arc::clone(&next));
            drop(pool.spawn(move || task(1, r, n, tx)));
            // Every sender dropped: every task that was spawned has finished.
            assert!(rx.recv().is_err());
            let spawned = next.load(Ordering::SeqCst).min(TASKS);
            for (id, count) in runs.iter().enumerate().take(spawned).skip(1) {
                assert_eq!(
                    count.load(Ordering::SeqCst),
                    1,
                    "{threads} threads: task {id}"
                );
            }
            for count in runs.iter().skip(spawned) {
                assert_eq!(count.load(Ordering::SeqCst), 0);
            }
        }
    });
}

/// A shutdown while a task sits in a slot: the spawner returns, and its successor runs (or is
/// cancelled by `shutdown_now`); its handle reports which, and nothing hangs.
#[test]
fn a_slot_task_completes_or_is_cancelled_at_shutdown() {
    watchdog("slot shutdown", || {
        for now in [false, true] {
            let pool = pool(2, Duration::from_secs(3600));
            let (tx, rx) = mpsc::channel();
            let (go_tx, go_rx) = mpsc::channel::<()>();
            drop(pool.spawn(move || {
                tx.send(corepool::spawn(|| 5)).unwrap();
                // The successor sits in the slot while the pool is told to stop.
                go_rx.recv().unwrap();
            }));
            let h = rx.recv().unwrap();
            let stopper = std::thread::spawn(move || {
                if now {
                    pool.shutdown_now();
                } else {
                    pool.shutdown();
                }
            });
            std::thread::sleep(Duration::from_millis(20));
            go_tx.send(()).unwrap();
            match h.join() {
                Ok(v) => assert_eq!(v, 5),
                Err(e) => assert!(now && e.is_cancelled(), "{e}"),
            }
            stopper.join().unwrap();
        }
    });
}

/// An affinity patience too long to represent ("peers never take my work") is accepted: a
/// worker going to sleep beside a full slot sets no wake-up for it instead of overflowing the
/// clock (which panicked inside the sleep protocol and killed the worker). Every worker is
/// still alive afterwards: a broadcast reaches each.
#[test]
fn an_endless_patience_leaves_every_worker_alive() {
    watchdog("endless patience", || {
        let pool = pool(2, Duration::MAX);
        for _ in 0..5 {
            let h = pool.spawn(|| {
                let h = corepool::spawn(|| 3);
                // Long enough for the idle peer to go to sleep beside the full slot.
                std::thread::sleep(Duration::from_millis(20));
                h
            });
            assert_eq!(h.join().unwrap().join().unwrap(), 3);
        }
        assert_eq!(pool.broadcast(|ctx| ctx.index()).len(), 2);
    });
}
