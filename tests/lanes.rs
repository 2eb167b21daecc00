//! Priority lanes and per-worker inboxes: high priority overtakes a normal backlog (and normal
//! still finishes); `spawn_on` runs on that worker and keys stick to one worker; a task for a busy
//! worker is taken by a peer, but only once the peer's patience ran out, and a peer that may not
//! take from an inbox sleeps meanwhile. No test depends on timing: a worker is kept busy by
//! blocking it on a channel, and a watchdog only turns a hang into a failure.

// These tests cover the spawn forms `Pool::task()` replaces, which stay until their removal.
#![allow(deprecated)]

mod common;

use common::{wait_for, watchdog};
use corepool::{Pinning, Pool, Priority};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

#[test]
fn high_priority_overtakes_a_normal_backlog_and_normal_still_finishes() {
    common::watchdog("groups", || {
        let pool = Pool::builder()
            .threads(1)
            .queue_capacity(2000)
            .build()
            .unwrap();
        let (gate, held) = common::hold_worker(&pool);
        let order = Arc::new(Mutex::new(Vec::new()));
        let normal: Vec<_> = (0..200)
            .map(|i| {
                let order = Arc::clone(&order);
                pool.spawn(move || order.lock().unwrap().push(('n', i)))
            })
            .collect();
        let high: Vec<_> = (0..1000)
            .map(|i| {
                let order = Arc::clone(&order);
                pool.spawn_with(Priority::High, move || order.lock().unwrap().push(('h', i)))
            })
            .collect();
        gate.send(()).unwrap();
        held.join().unwrap();
        for h in high.into_iter().chain(normal) {
            h.join().unwrap();
        }
        let order = order.lock().unwrap();
        assert_eq!(order.len(), 1200);
        // High overtook the older Normal backlog...
        assert_eq!(order[0].0, 'h');
        let mean = |lane: char| {
            let positions: Vec<usize> = (0..order.len()).filter(|&p| order[p].0 == lane).collect();
            positions.iter().sum::<usize>() as f64 / positions.len() as f64
        };
        assert!(mean('h') < mean('n'));
        // ...but Normal was not starved while High kept coming: it got picks before the High
        // backlog ran dry (one Normal pick after every HIGH_BEFORE_NORMAL High picks).
        let last_high = order.iter().rposition(|(lane, _)| *lane == 'h').unwrap();
        let normals_before = order[..last_high].iter().filter(|(l, _)| *l == 'n').count();
        assert!(
            normals_before >= 1,
            "normal work was starved while high work ran"
        );
    });
}

#[test]
fn spawn_on_runs_on_that_worker_and_keys_stick_to_one_worker() {
    common::watchdog("groups", || {
        // A long patience: a worker descheduled by a loaded machine is not "busy".
        let pool = Pool::builder()
            .threads(4)
            .affinity_patience(Duration::from_secs(30))
            .build()
            .unwrap();
        for i in 0..4 {
            for _ in 0..20 {
                let ran_on = pool
                    .spawn_on(i, corepool::current_thread_index)
                    .join()
                    .unwrap();
                assert_eq!(ran_on, Some(i));
            }
        }
        for key in ["alpha", "beta", "gamma"] {
            let first = pool
                .spawn_keyed(key, corepool::current_thread_index)
                .join()
                .unwrap();
            for _ in 0..20 {
                let again = pool
                    .spawn_keyed(key, corepool::current_thread_index)
                    .join()
                    .unwrap();
                assert_eq!(again, first);
            }
        }
    });
}

#[test]
fn a_task_for_a_busy_worker_is_taken_by_a_peer() {
    common::watchdog("groups", || {
        let pool = Pool::builder()
            .threads(2)
            .affinity_patience(Duration::from_millis(5))
            .build()
            .unwrap();
        let (tx, rx) = mpsc::channel::<()>();
        // Worker 0 is busy until the task spawned onto it has run somewhere.
        let busy = pool.spawn_on(0, move || rx.recv().unwrap());
        std::thread::sleep(Duration::from_millis(5));
        let helper = pool.spawn_on(0, move || {
            tx.send(()).unwrap();
            corepool::current_thread_index()
        });
        assert_eq!(helper.join().unwrap(), Some(1));
        busy.join().unwrap();
    });
}

/// A pool of two unpinned workers with the given affinity patience.
fn two_workers(patience: Duration) -> Pool {
    Pool::builder()
        .threads(2)
        .pinning(Pinning::None)
        .affinity_patience(patience)
        .build()
        .unwrap()
}

/// Worker `index`'s `(parks, unparks)`.
fn parks(pool: &Pool, index: usize) -> (u64, u64) {
    let w = &pool.metrics().workers[index];
    (w.parks, w.unparks)
}

/// Blocks worker 0 in a task until the returned sender is used (or dropped).
fn hold_worker_0(pool: &Pool) -> (std::sync::mpsc::Sender<()>, corepool::JoinHandle<()>) {
    let (release, released) = std::sync::mpsc::channel::<()>();
    let (started, is_started) = std::sync::mpsc::channel::<()>();
    let held = pool.spawn_on(0, move || {
        started.send(()).unwrap();
        let _ = released.recv();
    });
    is_started.recv().unwrap();
    (release, held)
}

/// An idle peer sleeps while a busy worker's inbox holds a task it may not take yet (the
/// owner's patience has not run out), and the task runs on its owner once that is free. Before
/// the fix `has_other_visible_work` counted that inbox as work for the peer, which busy-looped
/// for the whole patience (an hour here) and never parked: the `wait_for` watchdog failed it.
#[test]
fn a_peer_sleeps_while_an_inbox_it_may_not_take_from_waits() {
    watchdog(
        "a_peer_sleeps_while_an_inbox_it_may_not_take_from_waits",
        || {
            let pool = two_workers(Duration::from_secs(3600));
            let (release, held) = hold_worker_0(&pool);
            wait_for("worker 1 to sleep", || {
                let (p, u) = parks(&pool, 1);
                p == u + 1
            });
            let before = parks(&pool, 1).0;
            let task = pool.spawn_on(0, corepool::current_thread_index);
            // The push to a busy owner's inbox wakes worker 1, which must go back to sleep.
            wait_for("worker 1 to sleep again after the push", || {
                let (p, u) = parks(&pool, 1);
                p > before && p == u + 1
            });
            assert!(!task.is_finished(), "the task waits for its owner");
            release.send(()).unwrap();
            held.join().unwrap();
            assert_eq!(task.join().unwrap(), Some(0), "it ran on its owner");
        },
    );
}

/// A task spawned onto a worker that stays busy runs on a peer once the patience ran out: the
/// sleeping peer's timed wake-up fires then. (Guards the wake-up that replaced the busy loop:
/// without it the peer would sleep until something else woke it, here never.)
#[test]
fn a_sleeping_peer_takes_an_inbox_task_once_the_patience_ran_out() {
    watchdog(
        "a_sleeping_peer_takes_an_inbox_task_once_the_patience_ran_out",
        || {
            let pool = two_workers(Duration::from_millis(200));
            let (release, held) = hold_worker_0(&pool);
            let task = pool.spawn_on(0, corepool::current_thread_index);
            // Worker 0 stays blocked until the task finished, so only worker 1 can run it.
            assert_eq!(task.join().unwrap(), Some(1));
            release.send(()).unwrap();
            held.join().unwrap();
        },
    );
}

/// `spawn_on(0)` and `spawn_keyed` (for a key of worker 0) called on worker 0, which then
/// stays busy, wait in worker 0's inbox and run there, as the docs promise while the patience
/// (an hour) has not run out. Before the fix the self case pushed onto worker 0's own deque,
/// where worker 1 stole both at once: they ran on worker 1.
#[test]
fn spawn_on_from_the_target_worker_waits_in_its_inbox() {
    watchdog("spawn_on_from_the_target_worker_waits_in_its_inbox", || {
        let pool = two_workers(Duration::from_secs(3600));
        // A key of worker 0: an idle owner is woken for its inbox and runs the task itself.
        let key = (0u32..)
            .find(|k| {
                pool.spawn_keyed(k, corepool::current_thread_index)
                    .join()
                    .unwrap()
                    == Some(0)
            })
            .unwrap();
        let (go, wait_go) = std::sync::mpsc::channel::<()>();
        let (spawned, is_spawned) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let p = pool.clone();
        let outer = pool.spawn_on(0, move || {
            wait_go.recv().unwrap();
            let on = p.spawn_on(0, corepool::current_thread_index);
            let keyed = p.spawn_keyed(&key, corepool::current_thread_index);
            spawned.send((on, keyed)).unwrap();
            let _ = released.recv();
        });
        wait_for("worker 1 to sleep", || {
            let (p, u) = parks(&pool, 1);
            p == u + 1
        });
        let before = parks(&pool, 1).0;
        go.send(()).unwrap();
        let (on, keyed) = is_spawned.recv().unwrap();
        // The spawns woke worker 1 (to watch the inbox, or, before the fix, to steal the
        // tasks); once it is asleep again it has done whatever it was going to do.
        wait_for("worker 1 to sleep again", || {
            let (p, u) = parks(&pool, 1);
            p > before && p == u + 1
        });
        release.send(()).unwrap();
        outer.join().unwrap();
        assert_eq!(
            on.join().unwrap(),
            Some(0),
            "spawn_on(0) on worker 0 ran there"
        );
        assert_eq!(
            keyed.join().unwrap(),
            Some(0),
            "spawn_keyed on its worker ran there"
        );
    });
}
