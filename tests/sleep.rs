//! The sleep protocol: no wake-up is lost, and waking an idle pool wakes as few workers as the
//! work needs.
//!
//! A task submitted to a pool whose workers went to sleep always runs. The "last searcher to
//! find work wakes one more" rule must count the work the searcher takes itself: a worker woken
//! for a lone task takes it and wakes nobody else. A sleeping worker's park and unpark counts
//! differ by one. (The loom models check the no-lost-wake-up rule exhaustively on small cases;
//! that an idle pool burns no CPU is in `idle_cpu.rs`.)

mod common;

use common::{wait_for, watchdog};
use corepool::{Pinning, Pool};
use std::sync::mpsc;
use std::time::Duration;

/// No lost wake-up: a task submitted to a pool whose workers went to sleep runs. Each round first
/// lets the workers go idle (spin, yield, then park), then submits; a lost wake-up hangs the
/// round and the watchdog fails the test.
#[test]
fn no_lost_wakeup_after_workers_sleep() {
    watchdog("lost wake-up", || {
        let pool = Pool::builder()
            .threads(2)
            .pinning(Pinning::None)
            .build()
            .unwrap();
        let pauses = [0u64, 20, 100, 500, 2000];
        for round in 0..400u64 {
            std::thread::sleep(Duration::from_micros(pauses[(round % 5) as usize]));
            match round % 4 {
                // From outside: the injection queue must wake a sleeper.
                0 => assert_eq!(pool.spawn(move || round).join().unwrap(), round),
                1 => assert_eq!(pool.join(|| round, || round + 1), (round, round + 1)),
                // From a worker that then blocks without helping: only the *other* worker can
                // run the child, so the push to the local deque must wake it.
                2 => {
                    let p = pool.clone();
                    let got = pool
                        .spawn(move || {
                            let (tx, rx) = mpsc::channel();
                            let child = p.spawn(move || tx.send(round).unwrap());
                            let got = rx.recv().unwrap();
                            child.join().unwrap();
                            got
                        })
                        .join()
                        .unwrap();
                    assert_eq!(got, round);
                }
                // A scope whose only child is stolen: the owner must be woken by the child.
                _ => {
                    let mut x = 0;
                    pool.scope(|s| s.spawn(|_| x = round));
                    assert_eq!(x, round);
                }
            }
        }
    });
}

/// Wake-ups so far, summed over the workers (a worker counts one each time it wakes from a
/// sleep).
fn wakes(pool: &Pool) -> u64 {
    pool.metrics().workers.iter().map(|w| w.unparks).sum()
}

/// Tasks submitted one at a time into an idle two-worker pool wake at most one worker each.
/// Before the fix, the woken worker stopped searching *before* taking its task, saw that task
/// still queued, and woke its peer for it: two wake-ups for every task that found both workers
/// asleep.
#[test]
fn lone_task_wakes_at_most_one_worker() {
    watchdog("lone task wakes at most one worker", || {
        let pool = Pool::builder()
            .threads(2)
            .pinning(Pinning::None)
            .build()
            .unwrap();
        const TASKS: u64 = 20;
        let mut per_task = Vec::new();
        let mut before = None;
        for i in 0..=TASKS {
            // Long enough for the workers to fall asleep again (one still awake finds the task
            // without a wake-up, which only lowers the count), and for a peer woken by the
            // previous task to have counted its wake-up.
            std::thread::sleep(Duration::from_millis(50));
            let now = wakes(&pool);
            if let Some(before) = before {
                per_task.push(now - before);
            }
            if i == TASKS {
                break;
            }
            before = Some(now);
            assert_eq!(pool.spawn(move || i * 3).join().unwrap(), i * 3);
        }
        assert!(
            per_task.iter().all(|&w| w <= 1),
            "wake-ups per lone task: {per_task:?} (a peer was woken for work the woken worker \
             took itself)"
        );
        pool.shutdown();
    });
}

/// A worker asleep right now shows one more park than unparks; a running one shows as many.
/// Before the fix both were bumped together after the sleep returned, so a sleeping worker
/// read `parks == unparks` and this waited for ever (the watchdog of `wait_for` failed it).
#[test]
fn a_sleeping_worker_shows_one_more_park_than_unparks() {
    watchdog("a_sleeping_worker_shows_one_more_park_than_unparks", || {
        let pool = Pool::builder()
            .threads(1)
            .pinning(Pinning::None)
            .build()
            .unwrap();
        let worker = |pool: &Pool| {
            let w = &pool.metrics().workers[0];
            (w.parks, w.unparks)
        };
        wait_for("the only worker to sleep", || {
            let (parks, unparks) = worker(&pool);
            parks == unparks + 1
        });
        let p = pool.clone();
        let (parks, unparks) = pool.spawn(move || worker(&p)).join().unwrap();
        assert_eq!(parks, unparks, "a running worker is not asleep");
        assert!(parks >= 1);
    });
}
