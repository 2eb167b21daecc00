//! `Pool::task()`: every spawn option through one builder, and `spawn_on` out of range as an
//! error instead of a silent wrap.

mod common;

use common::{hold_worker, watchdog};
use corepool::{Pool, Priority, SpawnError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn on_pool(patience: Duration) -> Pool {
    Pool::builder()
        .threads(2)
        .queue_capacity(1)
        .affinity_patience(patience)
        .build()
        .unwrap()
}

#[test]
fn on_runs_on_that_worker_and_refuses_a_worker_the_pool_lacks() {
    watchdog("task-on", || {
        let pool = on_pool(Duration::from_secs(60));
        for i in 0..2 {
            let h = pool
                .task()
                .on(i)
                .spawn(corepool::current_thread_index)
                .unwrap();
            assert_eq!(h.join().unwrap(), Some(i));
        }
        match pool.task().on(2).try_spawn(|| "back") {
            Err(SpawnError::NoSuchWorker(f)) => assert_eq!(f(), "back"),
            other => panic!("expected NoSuchWorker, got {other:?}"),
        }
        let err = pool.task().on(usize::MAX).spawn(|| ()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the task was placed on a worker the pool does not have"
        );
    });
}

#[test]
#[allow(deprecated)]
fn spawn_on_out_of_range_panics_instead_of_wrapping() {
    let pool = Pool::builder().threads(2).build().unwrap();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        drop(pool.spawn_on(2, || ()));
    }));
    let message = common::panic_message(&*result.unwrap_err());
    assert_eq!(message, "spawn_on(2): the pool has 2 workers");
}

#[test]
fn keyed_sends_one_key_to_one_worker() {
    watchdog("task-keyed", || {
        let pool = on_pool(Duration::from_secs(60));
        let workers: Vec<_> = (0..6)
            .map(|_| {
                pool.task()
                    .keyed("alice")
                    .spawn(corepool::current_thread_index)
                    .unwrap()
                    .join()
                    .unwrap()
            })
            .collect();
        assert!(workers.iter().all(|w| *w == workers[0] && w.is_some()));
    });
}

#[test]
fn timeout_and_try_spawn_hand_the_closure_back_when_full() {
    watchdog("task-full", || {
        let pool = Pool::builder()
            .threads(1)
            .queue_capacity(1)
            .build()
            .unwrap();
        let (release, held) = hold_worker(&pool);
        let queued = pool.task().try_spawn(|| 1).unwrap(); // the one slot
        match pool.task().try_spawn(|| 2) {
            Err(SpawnError::Full(f)) => assert_eq!(f(), 2),
            other => panic!("expected Full, got {other:?}"),
        }
        match pool.task().timeout(Duration::from_millis(1)).spawn(|| 3) {
            Err(SpawnError::Full(f)) => assert_eq!(f(), 3),
            other => panic!("expected Full, got {other:?}"),
        }
        drop(release);
        held.join().unwrap();
        assert_eq!(queued.join().unwrap(), 1);
        pool.shutdown();
        match pool.task().spawn(|| 4) {
            Err(SpawnError::Shutdown(f)) => assert_eq!(f(), 4),
            other => panic!("expected Shutdown, got {other:?}"),
        }
    });
}

#[test]
fn high_priority_is_taken_before_normal() {
    watchdog("task-priority", || {
        let pool = Pool::builder().threads(1).build().unwrap();
        let (release, held) = hold_worker(&pool);
        let order = Arc::new(Mutex::new(Vec::new()));
        let record = |name: &'static str| {
            let order = Arc::clone(&order);
            move || order.lock().unwrap().push(name)
        };
        let normal = pool.task().spawn(record("normal")).unwrap();
        let high = pool
            .task()
            .priority(Priority::High)
            .spawn(record("high"))
            .unwrap();
        drop(release);
        held.join().unwrap();
        normal.join().unwrap();
        high.join().unwrap();
        assert_eq!(*order.lock().unwrap(), ["high", "normal"]);
    });
}

#[test]
fn blocking_runs_on_the_io_pool_and_the_last_placement_wins() {
    watchdog("task-blocking", || {
        let pool = Pool::builder().threads(1).build().unwrap();
        let name = || std::thread::current().name().unwrap().to_owned();
        let io = pool.task().on(0).blocking().spawn(name).unwrap();
        assert!(io.join().unwrap().contains("-io-"));
        let cpu = pool.task().blocking().on(0).spawn(name).unwrap();
        assert!(!cpu.join().unwrap().contains("-io-"));
    });
}
