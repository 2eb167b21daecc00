//! Contract 4 (backpressure): a full injection queue blocks `spawn` from outside until there is
//! room, makes `try_spawn` hand back the very same closure, makes `spawn_timeout` give up after
//! its timeout; spawning from inside a worker never blocks, and runs the task inline
//! (caller-runs) once the worker's own deque is at its limit. (The memory bound of caller-runs
//! is in `caller_runs.rs`.)

mod common;

use common::{hold_workers, wait_for, watchdog, DropFlag};
use corepool::{Pinning, Pool};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

fn pool(threads: usize, capacity: usize) -> Pool {
    Pool::builder()
        .threads(threads)
        .pinning(Pinning::None)
        .queue_capacity(capacity)
        .build()
        .unwrap()
}

#[test]
fn queue_capacity_and_queued_are_reported() {
    watchdog("queued", || {
        let pool = pool(1, 3);
        assert_eq!(pool.queue_capacity(), 3);
        let held = hold_workers(&pool);
        assert_eq!(pool.queued(), 0);
        let hs: Vec<_> = (0..3).map(|i| pool.try_spawn(move || i).unwrap()).collect();
        assert_eq!(pool.queued(), 3);
        assert!(pool.try_spawn(|| 9).unwrap_err().is_full());
        held.release_and_join();
        for (i, h) in hs.into_iter().enumerate() {
            assert_eq!(h.join().unwrap(), i);
        }
        assert_eq!(pool.queued(), 0);
        assert_eq!(
            Pool::builder().threads(1).build().unwrap().queue_capacity(),
            corepool::DEFAULT_QUEUE_CAPACITY
        );
    });
}

#[test]
fn blocking_spawn_waits_for_room_and_completes_after_release() {
    watchdog("blocking spawn", || {
        let pool = pool(1, 1);
        let held = hold_workers(&pool);
        let first = pool.try_spawn(|| 1).unwrap(); // takes the only slot
        assert_eq!(pool.queued(), 1);

        let returned = Arc::new(AtomicBool::new(false));
        let submitter = {
            let pool = pool.clone();
            let returned = Arc::clone(&returned);
            thread::spawn(move || {
                let h = pool.spawn(|| 2);
                returned.store(true, Ordering::SeqCst);
                h
            })
        };
        // The queue is full and its only consumer is held: nothing can make room, so `spawn`
        // must still be blocked however long we look.
        thread::sleep(Duration::from_millis(300));
        assert!(
            !returned.load(Ordering::SeqCst),
            "spawn returned while the queue was full"
        );
        assert_eq!(
            pool.queued(),
            1,
            "the blocked task did not sneak into the queue"
        );

        held.release_and_join();
        let second = submitter.join().unwrap();
        assert!(returned.load(Ordering::SeqCst));
        assert_eq!(first.join().unwrap(), 1);
        assert_eq!(second.join().unwrap(), 2);
    });
}

#[test]
fn many_blocked_submitters_all_get_through_exactly_once() {
    watchdog("many submitters", || {
        const SUBMITTERS: usize = 4;
        const EACH: usize = 500;
        let pool = pool(2, 1);
        let runs: Arc<Vec<AtomicUsize>> = Arc::new(
            (0..SUBMITTERS * EACH)
                .map(|_| AtomicUsize::new(0))
                .collect(),
        );
        let threads: Vec<_> = (0..SUBMITTERS)
            .map(|t| {
                let pool = pool.clone();
                let runs = Arc::clone(&runs);
                thread::spawn(move || {
                    let mut handles = Vec::with_capacity(EACH);
                    for i in t * EACH..(t + 1) * EACH {
                        let runs = Arc::clone(&runs);
                        let task = move || {
                            runs[i].fetch_add(1, Ordering::SeqCst);
                            i
                        };
                        // Mix the blocking forms.
                        let h = if i % 2 == 0 {
                            pool.spawn(task)
                        } else {
                            pool.spawn_timeout(task, Duration::from_secs(3600)).unwrap()
                        };
                        handles.push((i, h));
                    }
                    for (i, h) in handles {
                        assert_eq!(h.join().unwrap(), i);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        for (i, r) in runs.iter().enumerate() {
            assert_eq!(r.load(Ordering::SeqCst), 1, "task {i} ran {r:?} times");
        }
    });
}

#[test]
fn try_spawn_on_full_queue_hands_back_the_same_closure() {
    watchdog("try_spawn full", || {
        let pool = pool(1, 1);
        let held = hold_workers(&pool);
        let filler = pool.try_spawn(|| "filler").unwrap();

        let token = Box::new(0xC0FFEE_u64);
        let token_addr = &*token as *const u64 as usize;
        let dropped = Arc::new(AtomicBool::new(false));
        let guard = DropFlag(Arc::clone(&dropped));
        let ran = Arc::new(AtomicBool::new(false));
        let ran2 = Arc::clone(&ran);
        let task = move || {
            let _guard = guard;
            ran2.store(true, Ordering::SeqCst);
            token
        };

        let err = pool.try_spawn(task).unwrap_err();
        assert!(err.is_full() && !err.is_shutdown());
        assert!(matches!(err, corepool::SpawnError::Full(_)));
        assert_eq!(err.to_string(), "the pool's injection queue is full");
        assert_eq!(format!("{err:?}"), "Full(..)");
        assert!(
            !dropped.load(Ordering::SeqCst),
            "the refused closure was dropped"
        );
        assert!(!ran.load(Ordering::SeqCst), "the refused closure ran");
        assert_eq!(pool.queued(), 1, "a refused task takes no slot");

        let back = err.into_inner();
        assert!(!dropped.load(Ordering::SeqCst));
        let token = back();
        assert!(ran.load(Ordering::SeqCst));
        assert!(dropped.load(Ordering::SeqCst));
        assert_eq!(*token, 0xC0FFEE);
        assert_eq!(
            &*token as *const u64 as usize, token_addr,
            "the very same captured box"
        );

        held.release_and_join();
        assert_eq!(filler.join().unwrap(), "filler");
        // Room again: the same call succeeds.
        assert_eq!(pool.try_spawn(|| 5).unwrap().join().unwrap(), 5);
    });
}

#[test]
fn spawn_timeout_returns_full_after_the_timeout() {
    watchdog("spawn_timeout", || {
        let pool = pool(1, 1);
        let held = hold_workers(&pool);
        let filler = pool.try_spawn(|| 0).unwrap();

        let timeout = Duration::from_millis(150);
        let token = Box::new(77u32);
        let token_addr = &*token as *const u32 as usize;
        let start = Instant::now();
        let err = pool.spawn_timeout(move || token, timeout).unwrap_err();
        assert!(start.elapsed() >= timeout, "gave up before the timeout");
        assert!(err.is_full());
        let token = (err.into_inner())();
        assert_eq!((*token, &*token as *const u32 as usize), (77, token_addr));

        // Room appearing during the wait lets it through.
        let waiter = {
            let pool = pool.clone();
            thread::spawn(move || {
                pool.spawn_timeout(|| 3, Duration::from_secs(60))
                    .map_err(|e| e.is_full())
            })
        };
        thread::sleep(Duration::from_millis(100));
        assert!(
            !waiter.is_finished(),
            "spawn_timeout returned while the queue was full"
        );
        held.release_and_join();
        assert_eq!(waiter.join().unwrap().unwrap().join().unwrap(), 3);
        assert_eq!(filler.join().unwrap(), 0);

        // A timeout too large for an Instant waits like `spawn`.
        let held = hold_workers(&pool);
        let filler = pool.try_spawn(|| 0).unwrap();
        let waiter = {
            let pool = pool.clone();
            thread::spawn(move || {
                pool.spawn_timeout(|| 4, Duration::MAX)
                    .map_err(|e| e.is_full())
            })
        };
        thread::sleep(Duration::from_millis(100));
        assert!(!waiter.is_finished());
        held.release_and_join();
        assert_eq!(waiter.join().unwrap().unwrap().join().unwrap(), 4);
        assert_eq!(filler.join().unwrap(), 0);

        // A zero timeout on a queue with room succeeds.
        assert_eq!(
            pool.spawn_timeout(|| 6, Duration::ZERO)
                .unwrap()
                .join()
                .unwrap(),
            6
        );
    });
}

/// From inside a worker, spawning never blocks, even though the injection queue is full and the
/// spawning task occupies the only worker (blocking would deadlock: nobody else could make room).
#[test]
fn spawning_from_a_worker_never_blocks_on_a_full_queue() {
    watchdog("worker spawn", || {
        const EACH: usize = 1000;
        let pool = pool(1, 1);
        let go = Arc::new(Barrier::new(2));
        let count = Arc::new(AtomicUsize::new(0));
        let parent = {
            let pool2 = pool.clone();
            let go = Arc::clone(&go);
            let count = Arc::clone(&count);
            pool.spawn(move || {
                go.wait(); // the test fills the injection queue meanwhile
                assert_eq!(pool2.queued(), pool2.queue_capacity(), "queue is full");
                let mut handles = Vec::new();
                for _ in 0..EACH {
                    let c = Arc::clone(&count);
                    handles.push(pool2.spawn(move || c.fetch_add(1, Ordering::SeqCst)));
                    let c = Arc::clone(&count);
                    let h = pool2.try_spawn(move || c.fetch_add(1, Ordering::SeqCst));
                    handles.push(h.expect("try_spawn from a worker is never Full"));
                    let c = Arc::clone(&count);
                    let h = pool2
                        .spawn_timeout(move || c.fetch_add(1, Ordering::SeqCst), Duration::ZERO);
                    handles.push(h.expect("spawn_timeout from a worker is never Full"));
                    let c = Arc::clone(&count);
                    handles.push(corepool::spawn(move || c.fetch_add(1, Ordering::SeqCst)));
                }
                let n = handles.len();
                for h in handles {
                    h.join().unwrap();
                }
                n
            })
        };
        // The parent has left the queue (it runs on the only worker, waiting for `go`).
        wait_for("the parent to start", || pool.queued() == 0);
        let filler = pool.try_spawn(|| "filler").unwrap();
        assert_eq!(pool.queued(), 1);
        go.wait();
        assert_eq!(parent.join().unwrap(), 4 * EACH);
        assert_eq!(count.load(Ordering::SeqCst), 4 * EACH);
        assert_eq!(filler.join().unwrap(), "filler");
    });
}

/// Caller-runs, observed exactly: on a one-thread pool nobody else can run a spawned child, so a
/// child that has run by the time `spawn` returns was run inline. The first `limit` spawns are
/// queued; every later one (deque at its limit) runs inline.
#[test]
fn spawn_from_worker_runs_inline_once_the_local_deque_is_at_its_limit() {
    watchdog("caller runs", || {
        for limit in [1usize, 8, corepool::DEFAULT_LOCAL_QUEUE_LIMIT] {
            let mut builder = Pool::builder().threads(1).pinning(Pinning::None);
            if limit != corepool::DEFAULT_LOCAL_QUEUE_LIMIT {
                builder = builder.local_queue_limit(limit);
            }
            let pool = builder.build().unwrap();
            let p = pool.clone();
            let (inline_flags, total_runs) = pool
                .spawn(move || {
                    let total = limit + 50;
                    let runs = Arc::new(AtomicUsize::new(0));
                    let mut inline = Vec::with_capacity(total);
                    let mut handles = Vec::new();
                    for _ in 0..total {
                        let ran = Arc::new(AtomicBool::new(false));
                        let (r, n) = (Arc::clone(&ran), Arc::clone(&runs));
                        handles.push(p.spawn(move || {
                            r.store(true, Ordering::SeqCst);
                            n.fetch_add(1, Ordering::SeqCst);
                        }));
                        inline.push(ran.load(Ordering::SeqCst));
                    }
                    for h in handles {
                        h.join().unwrap();
                    }
                    (inline, runs.load(Ordering::SeqCst))
                })
                .join()
                .unwrap();
            let expected: Vec<bool> = (0..limit + 50).map(|i| i >= limit).collect();
            assert_eq!(
                inline_flags, expected,
                "limit {limit}: which spawns ran inline"
            );
            assert_eq!(total_runs, limit + 50, "every child ran exactly once");
        }
    });
}
