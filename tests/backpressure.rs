//! The backpressure rule: a full injection queue blocks `spawn` from outside until there is
//! room, makes `try_spawn` hand back the very same closure, makes `spawn_timeout` give up after
//! its timeout; spawning from inside a worker never blocks, and runs the task inline
//! (caller-runs) once the worker's own deque is at its limit. (The memory bound of caller-runs
//! is in `caller_runs.rs`.)
//!
//! At the edges: `queue_capacity(1)` round trips; threads blocked on a full CPU or I/O queue
//! while the pool shuts down get `SpawnError::Shutdown(f)` with their closure back (or, for the
//! infallible `spawn*`, a handle that says `Cancelled`); async submitters (`reserve()` /
//! `spawn_async`) dropped while they wait, before or after being woken, lose no permit:
//! afterwards exactly `capacity` `try_spawn`s fit while the worker is held; an unused permit
//! never holds up shutdown.

// These tests cover the spawn forms `Pool::task()` replaces, which stay until their removal.
#![allow(deprecated)]

mod common;

use common::{
    eventually, hold_worker, hold_workers, wait_for, watchdog, watchdog_for, DropFlag, Rng,
};
use corepool::{Permit, Pinning, Pool, ShutdownError, SpawnError};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier};
use std::task::{Context, Poll, Wake, Waker};
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
            corepool::defaults::QUEUE_CAPACITY
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
        for limit in [1usize, 8, corepool::defaults::LOCAL_QUEUE_LIMIT] {
            let mut builder = Pool::builder().threads(1).pinning(Pinning::None);
            if limit != corepool::defaults::LOCAL_QUEUE_LIMIT {
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

/// `queued()` and the metrics' queue depth count every submission waiting outside the
/// workers' deques (Normal lane, High lane, every inbox), and `queue_bound()` is the bound they
/// can reach: with capacity 4 and two held workers, 16 outside spawns are accepted and all 16
/// are reported. Before the fix only the Normal lane was counted: `queued()` said 4.
#[test]
fn queued_counts_every_lane_and_queue_bound_is_the_true_bound() {
    watchdog("queued_counts_every_lane", || {
        let pool = Pool::builder()
            .threads(2)
            .pinning(Pinning::None)
            .queue_capacity(4)
            .build()
            .unwrap();
        let held = common::hold_workers(&pool);
        let mut handles = Vec::new();
        for i in 0..4 {
            handles.push(pool.try_spawn(move || i).unwrap());
            handles.push(pool.spawn_with(corepool::Priority::High, move || i));
            handles.push(pool.spawn_on(0, move || i));
            handles.push(pool.spawn_on(1, move || i));
        }
        assert!(pool.try_spawn(|| 9).unwrap_err().is_full());
        assert_eq!(
            pool.queue_capacity(),
            4,
            "each lane holds the builder's capacity"
        );
        assert_eq!(pool.queue_bound(), 16);
        assert_eq!(pool.queued(), 16, "every accepted submission is counted");
        let m = pool.metrics();
        assert_eq!(
            (
                m.injection_queue_depth,
                m.injection_queue_capacity,
                m.injection_queue_bound
            ),
            (16, 4, 16)
        );
        held.release_and_join();
        let sum: i32 = corepool::join_all(handles)
            .into_iter()
            .map(Result::unwrap)
            .sum();
        assert_eq!(sum, 4 * (1 + 2 + 3));
        assert_eq!(pool.queued(), 0);
    });
}

/// With the only worker held, exactly `cap` tasks fit in the queue and the next one is `Full`.
fn assert_full_capacity_usable(pool: &Pool, cap: usize) {
    let (release, held) = hold_worker(pool);
    let ran = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::new();
    for i in 0..cap {
        let ran = Arc::clone(&ran);
        match pool.try_spawn(move || ran.fetch_add(1, SeqCst)) {
            Ok(h) => handles.push(h),
            Err(e) => panic!("slot {i} of {cap} is lost: try_spawn said {e:?}"),
        }
    }
    let over = pool.try_spawn(|| 0).unwrap_err();
    assert!(over.is_full(), "more than {cap} slots: {over:?}");
    assert_eq!(pool.queued(), cap);
    drop(release);
    held.join().unwrap();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(ran.load(SeqCst), cap);
}

#[test]
fn capacity_one_round_trip() {
    watchdog("capacity one", || {
        let pool = pool(1, 1);
        let (release, held) = hold_worker(&pool);
        let queued = pool.try_spawn(|| 1).unwrap();
        let e = pool.try_spawn(|| 2).unwrap_err();
        assert!(e.is_full());
        assert_eq!(e.into_inner()(), 2, "the closure comes back");
        let e = pool.spawn_timeout(|| 3, Duration::ZERO).unwrap_err();
        assert!(e.is_full());
        assert_eq!(e.into_inner()(), 3);
        let e = pool
            .spawn_timeout(|| 4, Duration::from_millis(20))
            .unwrap_err();
        assert!(e.is_full());
        assert_eq!(pool.metrics().rejected_full, 3);
        drop(release);
        held.join().unwrap();
        assert_eq!(queued.join().unwrap(), 1);
        // A long stream through one slot.
        let hs: Vec<_> = (0..2_000).map(|i| pool.spawn(move || i)).collect();
        for (i, h) in hs.into_iter().enumerate() {
            assert_eq!(h.join().unwrap(), i);
        }
        assert_full_capacity_usable(&pool, 1);
    });
}

#[derive(Debug)]
enum Blocked {
    Timeout(Result<u32, ()>),
    Spawn(bool),
}

/// Threads blocked on a full queue (CPU or I/O) while the pool shuts down get their closure
/// back (`spawn_timeout`) or a cancelled handle (`spawn`).
fn blocked_submitters_at_shutdown(io: bool, now: bool) {
    let pool = Pool::builder()
        .threads(1)
        .pinning(Pinning::None)
        .queue_capacity(1)
        .io_threads(1)
        .io_queue_capacity(1)
        .build()
        .unwrap();
    // Hold the only CPU worker or the only I/O thread, and fill the one slot.
    let (release, held) = if io {
        let (started_tx, started_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let h = pool.spawn_blocking(move || {
            started_tx.send(()).unwrap();
            let _ = release_rx.recv();
        });
        started_rx.recv().unwrap();
        assert!(eventually(Duration::from_secs(10), || pool
            .metrics()
            .io
            .queue_depth
            == 0));
        (release_tx, h)
    } else {
        hold_worker(&pool)
    };
    let filler = if io {
        pool.try_spawn_blocking(|| 10).unwrap()
    } else {
        pool.try_spawn(|| 10).unwrap()
    };
    let submitters: Vec<_> = (0..6u32)
        .map(|i| {
            let pool = pool.clone();
            std::thread::spawn(move || {
                let f = move || 100 + i;
                if i % 2 == 0 {
                    let r = if io {
                        pool.spawn_blocking_timeout(f, Duration::from_secs(3600))
                    } else {
                        pool.spawn_timeout(f, Duration::from_secs(3600))
                    };
                    match r {
                        Err(SpawnError::Shutdown(f)) => Blocked::Timeout(Ok(f())),
                        Err(SpawnError::Full(_)) => panic!("timed out instead of shutdown"),
                        Err(other) => panic!("unexpected {other}"),
                        Ok(_) => Blocked::Timeout(Err(())),
                    }
                } else {
                    let h = if io {
                        pool.spawn_blocking(f)
                    } else {
                        pool.spawn(f)
                    };
                    Blocked::Spawn(h.join().map_or_else(|e| e.is_cancelled(), |_| false))
                }
            })
        })
        .collect();
    // Let them block (not required for correctness: a late one is refused the same way).
    std::thread::sleep(Duration::from_millis(50));
    let p = pool.clone();
    let shutter = std::thread::spawn(move || {
        if now {
            p.shutdown_now()
        } else {
            p.shutdown();
            0
        }
    });
    for (i, s) in submitters.into_iter().enumerate() {
        match s.join().unwrap() {
            Blocked::Timeout(r) => assert_eq!(r, Ok(100 + i as u32), "closure {i} not handed back"),
            Blocked::Spawn(cancelled) => assert!(cancelled, "blocked spawn {i} did not cancel"),
        }
    }
    // The holder is still running; shutdown waits for it.
    drop(release);
    held.join().unwrap();
    let cancelled = shutter.join().unwrap();
    match filler.join() {
        Ok(v) => {
            assert!(!now, "shutdown_now ran a queued task");
            assert_eq!(v, 10)
        }
        Err(e) => {
            assert!(now && e.is_cancelled());
            assert_eq!(cancelled, 1);
        }
    }
    assert!(pool.try_spawn(|| 0).unwrap_err().is_shutdown());
    assert!(pool.try_spawn_blocking(|| 0).unwrap_err().is_shutdown());
}

#[test]
fn blocked_cpu_submitters_get_their_closures_back_at_shutdown() {
    watchdog("blocked cpu submitters, shutdown", || {
        blocked_submitters_at_shutdown(false, false)
    });
    watchdog("blocked cpu submitters, shutdown_now", || {
        blocked_submitters_at_shutdown(false, true)
    });
}

#[test]
fn blocked_io_submitters_get_their_closures_back_at_shutdown() {
    watchdog("blocked io submitters, shutdown", || {
        blocked_submitters_at_shutdown(true, false)
    });
    watchdog("blocked io submitters, shutdown_now", || {
        blocked_submitters_at_shutdown(true, true)
    });
}

/// A waker that records that it was woken.
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, SeqCst);
    }
}

type BoxFut<T> = Pin<Box<dyn Future<Output = T> + Send>>;

type BoxTask = Box<dyn FnOnce() -> usize + Send>;

type SpawnAsync = BoxFut<Result<corepool::JoinHandle<usize>, SpawnError<BoxTask>>>;

enum Waiter {
    Reserve(Pin<Box<corepool::Reserve>>),
    Async(SpawnAsync),
}

struct Slot {
    waiter: Option<Waiter>,
    flag: Arc<Flag>,
}

enum Polled {
    Pending,
    Permit(Permit),
    Handle(corepool::JoinHandle<usize>),
}

impl Slot {
    fn poll(&mut self) -> Polled {
        let waker = Waker::from(Arc::clone(&self.flag));
        let mut cx = Context::from_waker(&waker);
        self.flag.0.store(false, SeqCst);
        let out = match self.waiter.as_mut().expect("live waiter") {
            Waiter::Reserve(r) => match r.as_mut().poll(&mut cx) {
                Poll::Pending => return Polled::Pending,
                Poll::Ready(Ok(p)) => Polled::Permit(p),
                Poll::Ready(Err(ShutdownError)) => panic!("pool is running"),
            },
            Waiter::Async(f) => match f.as_mut().poll(&mut cx) {
                Poll::Pending => return Polled::Pending,
                Poll::Ready(Ok(h)) => Polled::Handle(h),
                Poll::Ready(Err(e)) => panic!("pool is running: {e:?}"),
            },
        };
        self.waiter = None;
        out
    }
}

/// Async submitters dropped while waiting for room, before and after their wake-up, with
/// permits used or dropped: afterwards the full capacity is usable again.
fn cancelled_async_waiters_lose_no_permit(rng: &mut Rng) {
    let cap = [1, 2, 5][rng.below(3) as usize];
    let pool = pool(1, cap);
    let ran = Arc::new(AtomicUsize::new(0));
    let (release, held) = hold_worker(&pool);
    let fillers: Vec<_> = (0..cap)
        .map(|_| {
            let ran = Arc::clone(&ran);
            pool.try_spawn(move || ran.fetch_add(1, SeqCst)).unwrap()
        })
        .collect();
    let mut slots: Vec<Slot> = (0..24)
        .map(|i| Slot {
            waiter: Some(if i % 2 == 0 {
                Waiter::Reserve(Box::pin(pool.reserve()))
            } else {
                let ran = Arc::clone(&ran);
                let f: BoxTask = Box::new(move || ran.fetch_add(1, SeqCst));
                Waiter::Async(Box::pin(pool.spawn_async(f)))
            }),
            flag: Arc::new(Flag(AtomicBool::new(false))),
        })
        .collect();
    for s in &mut slots {
        assert!(matches!(s.poll(), Polled::Pending), "queue should be full");
    }
    // Drop a third while they are still queued, never woken.
    for s in &mut slots {
        if rng.chance(33) {
            s.waiter = None;
        }
    }
    let mut handles = Vec::new();
    let mut spawned = 0;
    drop(release); // the worker drains; room appears one slot at a time
    held.join().unwrap();
    let mut last_progress = Instant::now();
    while slots.iter().any(|s| s.waiter.is_some()) {
        let mut progressed = false;
        for s in slots.iter_mut().filter(|s| s.waiter.is_some()) {
            if !s.flag.0.load(SeqCst) {
                continue;
            }
            progressed = true;
            if rng.chance(25) {
                // Woken, but dropped without taking the slot: the wake-up must be passed on.
                s.waiter = None;
                continue;
            }
            match s.poll() {
                Polled::Pending => {}
                Polled::Permit(p) => {
                    if rng.chance(50) {
                        drop(p); // unused: the slot is freed
                    } else {
                        let ran = Arc::clone(&ran);
                        handles.push(p.spawn(move || ran.fetch_add(1, SeqCst)).unwrap());
                        spawned += 1;
                    }
                }
                Polled::Handle(h) => {
                    handles.push(h);
                    spawned += 1;
                }
            }
        }
        if progressed {
            last_progress = Instant::now();
        } else {
            assert!(
                last_progress.elapsed() < Duration::from_secs(10),
                "lost wake-up: {} waiters pending, queue {}/{}",
                slots.iter().filter(|s| s.waiter.is_some()).count(),
                pool.queued(),
                cap
            );
            std::thread::yield_now();
        }
    }
    for h in fillers.into_iter().chain(handles) {
        h.join().unwrap();
    }
    assert_eq!(ran.load(SeqCst), cap + spawned);
    assert_full_capacity_usable(&pool, cap);
}

#[test]
fn async_submitters_dropped_while_waiting_lose_no_permit() {
    let mut rng = Rng::seeded("async-cancel");
    watchdog_for(
        "async waiters dropped",
        Duration::from_secs(120),
        move || {
            for _ in 0..common::volume(30, 2_000) {
                cancelled_async_waiters_lose_no_permit(&mut rng);
            }
        },
    );
}

#[test]
fn tokio_timeouts_cancel_spawn_async_without_losing_permits() {
    let mut rng = Rng::seeded("tokio-timeouts");
    watchdog_for(
        "tokio timeouts around spawn_async",
        Duration::from_secs(120),
        move || {
            for _ in 0..common::volume(3, 50) {
                let cap = 1 + rng.below(4) as usize;
                let pool = pool(1, cap);
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_time()
                    .build()
                    .unwrap();
                let ran = Arc::new(AtomicUsize::new(0));
                let seed = rng.next_u64();
                let (spawned, timed_out) = rt.block_on({
                    let pool = pool.clone();
                    let ran = Arc::clone(&ran);
                    async move {
                        let mut rng = Rng::new(seed);
                        let mut tasks = Vec::new();
                        for _ in 0..200 {
                            let pool = pool.clone();
                            let ran = Arc::clone(&ran);
                            let wait = Duration::from_micros(rng.below(4000));
                            let work = Duration::from_micros(rng.below(200));
                            tasks.push(tokio::spawn(async move {
                                let fut = pool.spawn_async(move || {
                                    std::thread::sleep(work);
                                    ran.fetch_add(1, SeqCst);
                                });
                                match tokio::time::timeout(wait, fut).await {
                                    Ok(Ok(h)) => {
                                        h.await.unwrap();
                                        (1, 0)
                                    }
                                    Ok(Err(e)) => panic!("pool is running: {e:?}"),
                                    Err(_elapsed) => (0, 1), // dropped while waiting for room
                                }
                            }));
                        }
                        let mut totals = (0, 0);
                        for t in tasks {
                            let (s, c) = t.await.unwrap();
                            totals.0 += s;
                            totals.1 += c;
                        }
                        totals
                    }
                });
                assert_eq!(ran.load(SeqCst), spawned);
                eprintln!("cap {cap}: {spawned} spawned, {timed_out} cancelled while waiting");
                assert_full_capacity_usable(&pool, cap);
            }
        },
    );
}

#[test]
fn waiting_async_submitters_are_refused_at_shutdown_and_permits_never_hold_it_up() {
    watchdog("async waiters at shutdown", || {
        let pool = pool(1, 1);
        let (release, held) = hold_worker(&pool);
        let permit = pool.block_on(pool.reserve()).unwrap(); // takes the only slot
        let mut reserve = Slot {
            waiter: Some(Waiter::Reserve(Box::pin(pool.reserve()))),
            flag: Arc::new(Flag(AtomicBool::new(false))),
        };
        assert!(matches!(reserve.poll(), Polled::Pending));
        let p = pool.clone();
        let waiting_async = std::thread::spawn(move || match p.block_on(p.spawn_async(|| 7)) {
            Err(SpawnError::Shutdown(f)) => f(),
            Err(SpawnError::Full(_)) => panic!("spawn_async never says Full"),
            Err(other) => panic!("unexpected {other}"),
            Ok(_) => panic!("spawned into a full queue"),
        });
        std::thread::sleep(Duration::from_millis(20));
        let p = pool.clone();
        let shutter = std::thread::spawn(move || p.shutdown());
        // The waiting reserve is woken and refused.
        assert!(eventually(Duration::from_secs(10), || reserve
            .flag
            .0
            .load(SeqCst)));
        match &mut reserve.waiter {
            Some(Waiter::Reserve(r)) => {
                let waker = Waker::from(Arc::clone(&reserve.flag));
                let polled = r.as_mut().poll(&mut Context::from_waker(&waker));
                assert!(matches!(polled, Poll::Ready(Err(ShutdownError))));
            }
            _ => unreachable!(),
        }
        assert_eq!(waiting_async.join().unwrap(), 7, "closure handed back");
        drop(release);
        held.join().unwrap();
        // The unused permit does not hold up shutdown; using it now hands the closure back.
        shutter.join().unwrap();
        let e = permit.spawn(|| 9).unwrap_err();
        assert!(e.is_shutdown());
        assert_eq!(e.into_inner()(), 9);
        assert!(pool.block_on(pool.reserve()).is_err());
    });
}
