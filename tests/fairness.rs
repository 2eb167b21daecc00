//! Fairness under local load (tokio's `ping_pong_saturation`, "spawn from another thread under
//! load", "complete a task under load", a self-respawning closure, a group's chain of
//! hand-offs): whatever a worker's local work does, an outside spawn, a wake from another thread
//! and an older local job are each reached within a bounded number of picks.
//!
//! The bound is counted in picks (jobs run by the load), never in wall time: every load job
//! bumps `PICKS`, and a waiting job records how many picks went by between its submission and
//! its start. The documented rule is one shared-source look every 61 picks; the tests allow
//! [`BOUND`] per worker, and stop the load after [`GIVE_UP`] picks, so a starving scheduler
//! fails with a number instead of hanging.

mod common;

use common::watchdog;
use corepool::{Pinning, Pool};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// Picks a waiting job may be kept waiting, per worker (about 4 fairness intervals).
const BOUND: u64 = 250;

/// The bound for `threads` workers, in picks counted over all of them. With one worker the
/// count is that worker's own. With several, the rule holds per worker, but the count is
/// global: while the worker that holds the waiting job is off its core (these machines run
/// more workers than cores, beside other builds), its peers' picks still count, so the bound
/// is looser. A starving scheduler still blows through it (it reaches [`GIVE_UP`]).
fn bound(threads: usize, per_worker: u64) -> u64 {
    let slack = if threads == 1 { 1 } else { 8 };
    per_worker * threads as u64 * slack
}
/// The load gives up after this many picks, so a starving pool fails instead of hanging.
const GIVE_UP: u64 = 2_000_000;

fn pool(threads: usize) -> Pool {
    Pool::builder()
        .threads(threads)
        .pinning(Pinning::None)
        .build()
        .unwrap()
}

/// The shared counters of one test run.
#[derive(Default)]
struct Load {
    picks: AtomicU64,
    stop: AtomicBool,
}

impl Load {
    /// One pick of the load; false once the load should end.
    fn pick(&self) -> bool {
        let n = self.picks.fetch_add(1, Ordering::SeqCst);
        !self.stop.load(Ordering::SeqCst) && n < GIVE_UP
    }

    fn picks(&self) -> u64 {
        self.picks.load(Ordering::SeqCst)
    }

    /// Waits until the load has run for a while (it is really running on every worker).
    fn wait_running(&self) {
        let start = self.picks();
        common::wait_for("the load to run", || self.picks() > start + 10_000);
    }
}

/// A closure that respawns itself (detached) until the load stops.
fn respawn(pool: &Pool, load: &Arc<Load>) {
    let (p, l) = (pool.clone(), Arc::clone(load));
    drop(pool.spawn(move || {
        if l.pick() {
            respawn(&p, &l);
        }
    }));
}

/// A future that wakes itself and returns `Pending` until the load stops.
struct Spinner(Arc<Load>);

impl Future for Spinner {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.pick() {
            cx.waker().wake_by_ref();
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }
}

/// Submits a probe from this (outside) thread while the load runs and returns how many picks
/// went by before it started. The probe ends the load.
fn outside_probe(pool: &Pool, load: &Arc<Load>) -> u64 {
    load.wait_running();
    let before = load.picks();
    let l = Arc::clone(load);
    let started = pool.spawn(move || {
        let at = l.picks();
        l.stop.store(true, Ordering::SeqCst);
        at
    });
    started.join().unwrap() - before
}

#[test]
fn a_self_respawning_closure_does_not_starve_an_outside_spawn() {
    watchdog("respawning closures", || {
        for threads in [1, 2, 4] {
            let pool = pool(threads);
            let load = Arc::new(Load::default());
            for _ in 0..threads {
                respawn(&pool, &load);
            }
            let waited = outside_probe(&pool, &load);
            assert!(
                waited <= bound(threads, BOUND),
                "{threads} workers: the outside task waited {waited} picks"
            );
            pool.shutdown();
        }
    });
}

#[test]
fn self_waking_futures_do_not_starve_an_outside_spawn_or_an_outside_wake() {
    watchdog("self-waking futures", || {
        for threads in [1, 2, 4] {
            let pool = pool(threads);
            let load = Arc::new(Load::default());
            let spinners: Vec<_> = (0..threads)
                .map(|_| pool.spawn_future(Spinner(Arc::clone(&load))))
                .collect();
            // A future parked until this thread wakes it: "complete a task under load".
            let parked = Arc::new(Parked::default());
            let waiting = pool.spawn_future(WaitForWake(Arc::clone(&parked), Arc::clone(&load)));
            common::wait_for("the parked future to register", || {
                parked.waker.lock().unwrap().is_some()
            });
            load.wait_running();
            let before = load.picks();
            parked.woken.store(true, Ordering::SeqCst);
            let waker = parked.waker.lock().unwrap().take().unwrap();
            waker.wake();
            let woken_at = waiting.join().unwrap();
            assert!(
                woken_at - before <= bound(threads, BOUND),
                "{threads} workers: the woken future waited {} picks",
                woken_at - before
            );
            // And a spawn from this thread (its probe ends the load).
            load.stop.store(false, Ordering::SeqCst);
            let waited = outside_probe(&pool, &load);
            assert!(
                waited <= bound(threads, BOUND),
                "{threads} workers: the outside task waited {waited} picks"
            );
            for s in spinners {
                s.join().unwrap();
            }
            pool.shutdown();
        }
    });
}

#[derive(Default)]
struct Parked {
    woken: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

/// Pending until `Parked::woken`; returns the pick count when it was polled woken.
struct WaitForWake(Arc<Parked>, Arc<Load>);

impl Future for WaitForWake {
    type Output = u64;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u64> {
        if self.0.woken.load(Ordering::SeqCst) {
            return Poll::Ready(self.1.picks());
        }
        *self.0.waker.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// One side of a ping-pong pair: it runs when the ball is on its side, passes it and wakes the
/// other side, until every pair has started (then both sides finish).
struct Side {
    pair: Arc<Pair>,
    me: usize,
    started: Arc<AtomicUsize>,
    /// The pick count when the last pair started.
    all_started_at: Arc<AtomicU64>,
    pairs: usize,
    load: Arc<Load>,
}

struct Pair {
    ball: AtomicUsize,
    wakers: Mutex<[Option<Waker>; 2]>,
    counted: AtomicBool,
}

impl Future for Side {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &*self;
        if !this.pair.counted.swap(true, Ordering::SeqCst)
            && this.started.fetch_add(1, Ordering::SeqCst) + 1 == this.pairs
        {
            this.all_started_at
                .store(this.load.picks(), Ordering::SeqCst);
        }
        let everyone = this.started.load(Ordering::SeqCst) == this.pairs;
        if everyone || !this.load.pick() {
            // Done: let the other side finish too.
            this.pair.ball.store(2, Ordering::SeqCst);
            let other = this.pair.wakers.lock().unwrap()[1 - this.me].take();
            if let Some(w) = other {
                w.wake();
            }
            return Poll::Ready(());
        }
        this.pair.wakers.lock().unwrap()[this.me] = Some(cx.waker().clone());
        let ball = this.pair.ball.load(Ordering::SeqCst);
        if ball == 2 {
            return Poll::Ready(());
        }
        if ball == this.me {
            this.pair.ball.store(1 - this.me, Ordering::SeqCst);
            let other = this.pair.wakers.lock().unwrap()[1 - this.me].take();
            match other {
                Some(w) => w.wake(),
                // The other side has not been polled yet: keep the ball moving ourselves.
                None => cx.waker().wake_by_ref(),
            }
        }
        Poll::Pending
    }
}

#[test]
fn ping_pong_pairs_all_start() {
    // tokio's `ping_pong_saturation`: pairs of futures that wake each other keep every worker
    // busy; every pair must still get to start, and does so before the load gives up.
    watchdog("ping-pong pairs", || {
        for threads in [1, 2, 4] {
            let pool = pool(threads);
            let pairs = 100;
            let started = Arc::new(AtomicUsize::new(0));
            let load = Arc::new(Load::default());
            let all_started_at = Arc::new(AtomicU64::new(0));
            let mut handles = Vec::new();
            for _ in 0..pairs {
                let pair = Arc::new(Pair {
                    ball: AtomicUsize::new(0),
                    wakers: Mutex::new([None, None]),
                    counted: AtomicBool::new(false),
                });
                for me in 0..2 {
                    handles.push(pool.spawn_future(Side {
                        pair: Arc::clone(&pair),
                        me,
                        started: Arc::clone(&started),
                        all_started_at: Arc::clone(&all_started_at),
                        pairs,
                        load: Arc::clone(&load),
                    }));
                }
            }
            // Counted from the last spawn: before it, the load runs while this thread spawns.
            let spawned_at = load.picks();
            for h in handles {
                h.join().unwrap();
            }
            assert_eq!(started.load(Ordering::SeqCst), pairs, "{threads} workers");
            let waited = all_started_at
                .load(Ordering::SeqCst)
                .saturating_sub(spawned_at);
            assert!(
                load.picks() < GIVE_UP,
                "{threads} workers: the load gave up before every pair started"
            );
            assert!(
                waited <= bound(threads, pairs as u64 * BOUND),
                "{threads} workers: the last pair started {waited} picks after the last spawn"
            );
            pool.shutdown();
        }
    });
}

fn group_respawn(group: &corepool::Group, load: &Arc<Load>) {
    let (g, l) = (group.clone(), Arc::clone(load));
    drop(group.spawn(move || {
        if l.pick() {
            group_respawn(&g, &l);
        }
    }));
}

#[test]
fn a_groups_chain_of_hand_offs_does_not_starve_an_outside_spawn() {
    watchdog("group hand-offs", || {
        for threads in [1, 2, 4] {
            let pool = pool(threads);
            let load = Arc::new(Load::default());
            let group = pool.group().max_concurrency(threads).build().unwrap();
            // Each group task queues its successor in the group before it ends, so the slot it
            // gives back is handed to that successor on the same worker, again and again.
            for _ in 0..threads {
                group_respawn(&group, &load);
            }
            let waited = outside_probe(&pool, &load);
            assert!(
                waited <= bound(threads, BOUND),
                "{threads} workers: the outside task waited {waited} picks"
            );
            group.cancel();
            group.wait();
            pool.shutdown();
        }
    });
}
