//! Task groups: a group never runs more than its limit (and the pool keeps serving others), a
//! full group hands the closure back, cancel empties it, a cancelled queued task frees its place
//! once, long group queues are cancelled or handed on without recursing, and builder mistakes
//! are errors.

// These tests cover the spawn forms `Pool::task()` replaces, which stay until their removal.
#![allow(deprecated)]

mod common;

use corepool::{Pool, SpawnError};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier, Mutex};
use std::time::Duration;

#[test]
fn a_group_never_runs_more_than_its_limit_and_the_pool_keeps_serving_others() {
    common::watchdog("groups", || {
        let pool = Pool::builder().threads(8).build().unwrap();
        let group = pool
            .group()
            .max_concurrency(3)
            .capacity(10_000)
            .build()
            .unwrap();
        let running = Arc::new(AtomicUsize::new(0));
        let high_water = Arc::new(AtomicUsize::new(0));
        // The first group tasks block until a plain pool task (outside the group) runs: the
        // group must leave workers free for it.
        let (tx, rx) = mpsc::channel::<()>();
        let rx = Arc::new(Mutex::new(rx));
        let handles: Vec<_> = (0..10_000usize)
            .map(|i| {
                let running = Arc::clone(&running);
                let high_water = Arc::clone(&high_water);
                let rx = Arc::clone(&rx);
                group.spawn(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    high_water.fetch_max(now, Ordering::SeqCst);
                    if i == 0 {
                        rx.lock().unwrap().recv().unwrap();
                    }
                    std::hint::black_box((0..50).sum::<usize>());
                    running.fetch_sub(1, Ordering::SeqCst);
                    i
                })
            })
            .collect();
        pool.spawn(move || tx.send(()).unwrap()).join().unwrap();
        let sum: usize = corepool::join_all(handles)
            .into_iter()
            .map(Result::unwrap)
            .sum();
        assert_eq!(sum, (0..10_000).sum());
        group.wait();
        assert!(high_water.load(Ordering::SeqCst) <= 3);
        assert!(high_water.load(Ordering::SeqCst) >= 1);
        let m = group.metrics();
        assert_eq!(
            (m.running, m.queued, m.completed, m.cancelled),
            (0, 0, 10_000, 0)
        );
    });
}

#[test]
fn a_full_group_hands_the_closure_back_and_cancel_empties_it() {
    common::watchdog("groups", || {
        let pool = Pool::builder().threads(2).build().unwrap();
        let group = pool.group().max_concurrency(1).capacity(2).build().unwrap();
        let gate = Arc::new(Barrier::new(2));
        let g = Arc::clone(&gate);
        let first = group.spawn(move || {
            g.wait();
            0
        });
        let queued: Vec<_> = (1..=2)
            .map(|i| group.try_spawn(move || i).unwrap())
            .collect();
        let err = group.try_spawn(|| 99).unwrap_err();
        assert!(matches!(err, SpawnError::Full(_)));
        assert_eq!((err.into_inner())(), 99);
        assert_eq!(group.metrics().queued, 2);
        assert_eq!(group.cancel(), 2);
        for h in queued {
            assert!(h.join().unwrap_err().is_cancelled());
        }
        gate.wait();
        assert_eq!(first.join().unwrap(), 0);
        group.wait();
        let m = group.metrics();
        assert_eq!(
            (m.running, m.queued, m.completed, m.cancelled),
            (0, 0, 1, 2)
        );
        // A handle cancel of a queued task frees its queue place but no slot.
        let g2 = Arc::new(Barrier::new(2));
        let g = Arc::clone(&g2);
        let blocker = group.spawn(move || {
            g.wait();
        });
        let q = group.try_spawn(|| 1).unwrap();
        assert!(q.cancel());
        let after = group.try_spawn(|| 2).unwrap();
        g2.wait();
        blocker.join().unwrap();
        assert_eq!(after.join().unwrap(), 2);
        group.wait();
        assert_eq!(group.metrics().running, 0);
    });
}

#[test]
fn group_blocking_tasks_respect_the_limit() {
    common::watchdog("groups", || {
        let pool = Pool::builder().threads(1).io_threads(8).build().unwrap();
        let group = pool.group().max_concurrency(2).build().unwrap();
        let running = Arc::new(AtomicUsize::new(0));
        let high_water = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..40)
            .map(|_| {
                let running = Arc::clone(&running);
                let high_water = Arc::clone(&high_water);
                group.spawn_blocking(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    high_water.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(1));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(high_water.load(Ordering::SeqCst), 2);
    });
}

#[test]
fn group_builder_mistakes_are_errors() {
    let pool = Pool::builder().threads(1).build().unwrap();
    let err = pool.group().max_concurrency(0).build().unwrap_err();
    assert!(err.to_string().contains("max_concurrency(0)"));
    let err = pool.group().capacity(0).build().unwrap_err();
    assert!(err.to_string().contains("capacity(0)"));
}

#[test]
fn a_closed_pool_cancels_a_long_group_queue_without_recursing() {
    // A blocking group whose queue is long when the pool closes: the running task's release
    // finds the I/O queue closed. Cancelling the queue one refused hand-off at a time recursed
    // once per queued task and overflowed the I/O thread's stack.
    common::watchdog("groups", || {
        let pool = Pool::builder().threads(1).io_threads(2).build().unwrap();
        let queued = 50_000;
        let group = pool
            .group()
            .max_concurrency(1)
            .capacity(queued)
            .build()
            .unwrap();
        let (tx, rx) = mpsc::channel::<()>();
        let first = group.spawn_blocking(move || rx.recv().unwrap());
        let rest: Vec<_> = (0..queued)
            .map(|i| group.try_spawn_blocking(move || i).unwrap())
            .collect();
        // Learns when the I/O queue is closed (it closes after the CPU workers are gone). It
        // probes from the other I/O thread: a thread outside the pool is refused from the start
        // of the shutdown, before the I/O queue closes. `Full` is not closed: these probes can
        // fill the I/O queue before that.
        let p = pool.clone();
        let probe = pool.spawn_blocking(move || {
            while !matches!(p.try_spawn_blocking(|| ()), Err(SpawnError::Shutdown(_))) {
                std::thread::yield_now();
            }
        });
        let closer = pool.clone();
        let shutdown = std::thread::spawn(move || closer.shutdown());
        probe.join().unwrap();
        tx.send(()).unwrap();
        first.join().unwrap();
        for h in rest {
            assert!(h.join().unwrap_err().is_cancelled());
        }
        shutdown.join().unwrap();
        let m = group.metrics();
        assert_eq!(
            (m.running, m.queued, m.completed, m.cancelled),
            (0, 0, 1, queued as u64)
        );
    });
}

/// A queued task cancelled through its handle frees its place at once; its entry is skipped
/// when the slot comes round, and after that the capacity is exact again (the freed place is
/// not counted twice).
#[test]
fn a_cancelled_queued_task_frees_its_place_once() {
    common::watchdog("groups", || {
        let pool = Pool::builder().threads(2).build().unwrap();
        let group = pool.group().max_concurrency(1).capacity(2).build().unwrap();
        let fill = |gate: &Arc<Barrier>| {
            let g = Arc::clone(gate);
            let blocker = group.spawn(move || {
                g.wait();
                0
            });
            let queued: Vec<_> = (1..=2)
                .map(|i| group.try_spawn(move || i).unwrap())
                .collect();
            assert!(matches!(group.try_spawn(|| 9), Err(SpawnError::Full(_))));
            (blocker, queued)
        };
        let gate = Arc::new(Barrier::new(2));
        let (blocker, mut queued) = fill(&gate);
        let first = queued.remove(0);
        assert!(first.cancel());
        assert_eq!(group.metrics().queued, 1);
        queued.push(
            group
                .try_spawn(|| 3)
                .expect("the cancelled task's place is free"),
        );
        assert!(
            matches!(group.try_spawn(|| 9), Err(SpawnError::Full(_))),
            "one place freed, not two"
        );
        gate.wait();
        assert_eq!(blocker.join().unwrap(), 0);
        assert!(first.join().unwrap_err().is_cancelled());
        let ran: Vec<i32> = queued.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(ran, [2, 3]);
        group.wait();
        let m = group.metrics();
        assert_eq!(
            (m.running, m.queued, m.completed, m.cancelled),
            (0, 0, 3, 1)
        );
        // The skipped entry gave its place back exactly once: the capacity is exact again.
        let (blocker, queued) = fill(&gate);
        gate.wait();
        assert_eq!(blocker.join().unwrap(), 0);
        for h in queued {
            h.join().unwrap();
        }
        group.wait();
    });
}

/// Several spawner threads, handle cancels and `Group::cancel` calls at once, on a group
/// whose queue keeps filling up: the limit holds, every handle settles exactly once (ran or
/// cancelled), and the counts add up when the group is idle.
#[test]
fn spawners_cancels_and_group_cancel_race_without_losing_a_task() {
    common::watchdog("groups", || {
        let pool = Pool::builder().threads(4).build().unwrap();
        let group = pool
            .group()
            .max_concurrency(2)
            .capacity(64)
            .build()
            .unwrap();
        let running = Arc::new(AtomicUsize::new(0));
        let high_water = Arc::new(AtomicUsize::new(0));
        let ran = Arc::new(AtomicUsize::new(0));
        let per_thread = 5_000;
        let spawners: Vec<_> = (0..3)
            .map(|t| {
                let (group, running, high_water, ran) = (
                    group.clone(),
                    Arc::clone(&running),
                    Arc::clone(&high_water),
                    Arc::clone(&ran),
                );
                std::thread::spawn(move || {
                    let mut outcomes = (0usize, 0usize);
                    let mut handles = Vec::new();
                    for i in 0..per_thread {
                        let (running, high_water, ran) = (
                            Arc::clone(&running),
                            Arc::clone(&high_water),
                            Arc::clone(&ran),
                        );
                        let h = group.spawn(move || {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            high_water.fetch_max(now, Ordering::SeqCst);
                            std::hint::black_box((0..20).sum::<usize>());
                            running.fetch_sub(1, Ordering::SeqCst);
                            ran.fetch_add(1, Ordering::SeqCst);
                        });
                        if (i + t) % 7 == 0 {
                            h.cancel();
                        }
                        if i % 1_000 == 999 && t == 0 {
                            group.cancel();
                        }
                        handles.push(h);
                    }
                    for h in handles {
                        match h.join() {
                            Ok(()) => outcomes.0 += 1,
                            Err(e) => {
                                assert!(e.is_cancelled(), "{e}");
                                outcomes.1 += 1;
                            }
                        }
                    }
                    outcomes
                })
            })
            .collect();
        let (mut completed, mut cancelled) = (0, 0);
        for s in spawners {
            let (c, x) = s.join().unwrap();
            completed += c;
            cancelled += x;
        }
        group.wait();
        assert_eq!(completed + cancelled, 3 * per_thread);
        assert_eq!(ran.load(Ordering::SeqCst), completed);
        assert!(high_water.load(Ordering::SeqCst) <= 2);
        let m = group.metrics();
        assert_eq!(
            (m.running, m.queued, m.completed, m.cancelled),
            (0, 0, completed as u64, cancelled as u64)
        );
    });
}

/// A task that joins a group task it spawned, while the next group task waits for a message
/// the joiner sends after the join: the next task must stay where it can wait without holding
/// up the join (on the deque, not run inside the join's wait on the same worker).
#[test]
fn joining_a_group_task_from_a_task_does_not_run_the_next_one_inside_the_join() {
    common::watchdog("groups", || {
        let pool = Pool::builder().threads(1).build().unwrap();
        let group = pool.group().max_concurrency(1).build().unwrap();
        let g = group.clone();
        let outer = pool.spawn(move || {
            let (tx, rx) = mpsc::channel::<()>();
            let a = g.spawn(|| 1);
            let b = g.spawn(move || rx.recv_timeout(Duration::from_secs(10)).is_ok());
            assert_eq!(a.join().unwrap(), 1);
            tx.send(()).unwrap();
            b
        });
        let b = outer.join().unwrap();
        assert!(
            b.join().unwrap(),
            "the next task ran inside the join and missed the message"
        );
        group.wait();
    });
}

/// One worker whose deque is past its bound, a closed pool and a long group queue: each
/// release hands the slot on through the deque, never by running the next task inside its own
/// release (one stack frame per queued task would overflow the stack).
#[test]
fn a_long_group_queue_on_a_worker_with_a_full_deque_does_not_recurse() {
    common::watchdog("groups", || {
        let n = 100_000;
        let pool = Pool::builder().threads(1).build().unwrap();
        let group = pool.group().max_concurrency(1).capacity(n).build().unwrap();
        let (tx, rx) = mpsc::channel::<()>();
        let p = pool.clone();
        let first = group.spawn(move || {
            rx.recv().unwrap();
            for _ in 0..300 {
                drop(p.spawn(|| ()));
            }
            p.shutdown();
        });
        let rest: Vec<_> = (0..n)
            .map(|i| group.try_spawn(move || i).unwrap())
            .collect();
        tx.send(()).unwrap();
        first.join().unwrap();
        let ran = rest.into_iter().filter_map(|h| h.join().ok()).count() as u64;
        group.wait();
        let m = group.metrics();
        assert_eq!((m.completed, m.cancelled), (ran + 1, n as u64 - ran));
    });
}
