//! `spawn_detached`: a task with no `JoinHandle`. It runs like a spawned task whose handle was
//! dropped: counted as a spawn, a panic (of the closure, or of its `Drop` when cancelled)
//! reaches the panic handler exactly once, `shutdown_now` cancels it unrun, and a refused one
//! gives its closure back.
//!
//! Panicking user code prints the usual panic message on stderr; that is expected.
mod common;
use common::{hold_workers, pool_reporting_panics, wait_for, watchdog};
use corepool::Pool;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};

/// What the panic handler received, in order.
type Reports = Arc<Mutex<Vec<String>>>;

fn pool_with_handler(threads: usize, capacity: usize) -> (Pool, Reports) {
    let reports: Reports = Arc::default();
    let sink = Arc::clone(&reports);
    let pool = pool_reporting_panics(threads, capacity, move |message| {
        sink.lock().unwrap().push(message)
    });
    (pool, reports)
}

/// Counts its drops (run or not, the closure that owns it is dropped once).
struct Dropped(Arc<AtomicUsize>);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn detached_tasks_run_and_count_as_spawns() {
    watchdog("detached runs", || {
        let (pool, reports) = pool_with_handler(2, 64);
        let (tx, rx) = mpsc::channel();
        let n = 200;
        for i in 0..n {
            let tx = tx.clone();
            // More than the queue holds: a full queue makes the submitter wait, not fail.
            pool.spawn_detached(move || tx.send(i).unwrap()).unwrap();
        }
        // A closure too large for a recycled block, and one aligned past it, take their own
        // allocation: they run the same.
        let big = [7u64; 32];
        let tx2 = tx.clone();
        pool.spawn_detached(move || tx2.send(big.iter().sum::<u64>() as usize).unwrap())
            .unwrap();
        #[repr(align(64))]
        struct Aligned(usize);
        let aligned = Aligned(n + 1);
        let tx3 = tx.clone();
        pool.spawn_detached(move || tx3.send(aligned.0).unwrap())
            .unwrap();
        drop(tx);
        let mut got: Vec<usize> = rx.iter().collect();
        got.sort_unstable();
        let mut expected: Vec<usize> = (0..n).collect();
        expected.extend([n + 1, 224]);
        expected.sort_unstable();
        assert_eq!(got, expected);
        pool.shutdown();
        let m = pool.metrics();
        assert_eq!(
            m.spawned,
            n as u64 + 2,
            "each detached task counts as a spawn"
        );
        assert_eq!(m.completed, n as u64 + 2);
        assert_eq!((m.panicked, m.cancelled), (0, 0));
        assert!(reports.lock().unwrap().is_empty());
    });
}

#[test]
fn a_detached_task_spawned_from_a_worker_runs_on_that_pool() {
    watchdog("detached from a worker", || {
        let (pool, _reports) = pool_with_handler(2, 64);
        let (tx, rx) = mpsc::channel();
        pool.spawn_detached(move || {
            let outer = corepool::current_thread_index();
            corepool::spawn_detached(move || {
                tx.send((outer, corepool::current_thread_index())).unwrap();
            })
            .unwrap();
        })
        .unwrap();
        let (outer, inner) = rx.recv().unwrap();
        assert!(
            outer.is_some() && inner.is_some(),
            "both ran on the pool's workers"
        );
        pool.shutdown();
        assert_eq!(pool.metrics().spawned, 2);
    });
}

#[test]
fn a_detached_panic_reaches_the_handler_once_and_the_workers_live_on() {
    watchdog("detached panic", || {
        let (pool, reports) = pool_with_handler(1, 64);
        for i in 0..3 {
            pool.spawn_detached(move || panic!("detached {i}")).unwrap();
        }
        // The only worker survived the three panics and runs this.
        let (tx, rx) = mpsc::channel();
        pool.spawn_detached(move || tx.send(()).unwrap()).unwrap();
        rx.recv().unwrap();
        pool.shutdown();
        // In any order: a worker takes a batch from the queue and runs it from its deque.
        let mut got = reports.lock().unwrap().clone();
        got.sort();
        assert_eq!(got, ["detached 0", "detached 1", "detached 2"]);
        let m = pool.metrics();
        assert_eq!((m.completed, m.panicked), (4, 3));
    });
}

#[test]
fn shutdown_now_cancels_queued_detached_tasks_unrun() {
    watchdog("detached cancelled", || {
        let (pool, reports) = pool_with_handler(1, 64);
        let held = hold_workers(&pool);
        let ran = Arc::new(AtomicUsize::new(0));
        let dropped = Arc::new(AtomicUsize::new(0));
        for _ in 0..5 {
            let ran = Arc::clone(&ran);
            let guard = Dropped(Arc::clone(&dropped));
            pool.spawn_detached(move || {
                let _guard = guard;
                ran.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
        }
        // A cancelled closure whose `Drop` panics: the handler gets it, shutdown completes.
        let doomed = PanicOnDrop("cancelled closure drop");
        pool.spawn_detached(move || drop(doomed)).unwrap();
        let stopper = {
            let pool = pool.clone();
            std::thread::spawn(move || pool.shutdown_now())
        };
        wait_for("shutdown to start", || pool.is_shutdown());
        drop(held);
        assert_eq!(
            stopper.join().unwrap(),
            6,
            "every queued detached task cancelled"
        );
        assert_eq!(ran.load(Ordering::SeqCst), 0);
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            5,
            "each closure dropped once"
        );
        assert_eq!(*reports.lock().unwrap(), ["cancelled closure drop"]);
        assert_eq!(pool.metrics().cancelled, 6);
        // Refused after shutdown: the closure comes back.
        let late = Arc::clone(&ran);
        let err = pool
            .spawn_detached(move || {
                late.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap_err();
        assert!(err.is_shutdown());
        (err.into_inner())();
        assert_eq!(
            ran.load(Ordering::SeqCst),
            1,
            "the refused closure came back unrun"
        );
    });
}

#[test]
fn a_full_queue_refuses_try_spawn_detached_and_gives_the_closure_back() {
    watchdog("detached refused", || {
        let (pool, _reports) = pool_with_handler(1, 2);
        let held = hold_workers(&pool);
        let ran = Arc::new(AtomicUsize::new(0));
        let mut accepted = 0;
        let refused = loop {
            let ran = Arc::clone(&ran);
            match pool.try_spawn_detached(move || {
                ran.fetch_add(1, Ordering::SeqCst);
            }) {
                Ok(()) => accepted += 1,
                Err(err) => break err,
            }
            assert!(accepted <= 2, "a queue of capacity 2 took {accepted}");
        };
        assert!(refused.is_full());
        assert_eq!(accepted, 2);
        assert_eq!(pool.metrics().rejected_full, 1);
        // The refused closure is whole: running it here runs the task's body.
        (refused.into_inner())();
        assert_eq!(ran.load(Ordering::SeqCst), 1);
        drop(held);
        pool.shutdown();
        assert_eq!(ran.load(Ordering::SeqCst), 3, "the accepted ones ran");
    });
}

#[test]
fn detached_spawns_from_many_threads_at_once_each_run_once() {
    watchdog("detached from many threads", || {
        // Several outside submitters and the workers themselves spawn at once, so task blocks
        // are freed on one thread and reused on another all the time.
        let (pool, _reports) = pool_with_handler(2, 16);
        let ran = Arc::new(AtomicUsize::new(0));
        let (threads, each) = (3, common::volume(2_000, 50_000));
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    for i in 0..each {
                        let ran = Arc::clone(&ran);
                        pool.spawn_detached(move || {
                            ran.fetch_add(1, Ordering::Relaxed);
                            if i % 2 == 0 {
                                // A child spawned from the worker, with a value to drop.
                                let owned = Box::new(1);
                                corepool::spawn_detached(move || {
                                    ran.fetch_add(*owned, Ordering::Relaxed);
                                })
                                .unwrap();
                            }
                        })
                        .unwrap();
                    }
                });
            }
        });
        let expected = threads * (each + each.div_ceil(2));
        wait_for("every detached task to run", || {
            ran.load(Ordering::Relaxed) == expected
        });
        pool.shutdown();
        assert_eq!(ran.load(Ordering::Relaxed), expected, "none ran twice");
        let m = pool.metrics();
        assert_eq!((m.spawned, m.completed), (expected as u64, expected as u64));
    });
}

/// A value whose `Drop` panics with its message.
struct PanicOnDrop(&'static str);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("{}", self.0);
    }
}
