//! Batch spawn and settled joins: `spawn_all` behaves like `spawn` for each task (and cancels
//! them on a closed pool), spreads a batch over the pool while its first task runs, and settles
//! every handle under `shutdown_now`; `join_all` settles success, panic and cancel in order.
//! (The batch's rest at a reused address is in `batch_address_reuse.rs`.)

mod common;

use corepool::Pool;
use std::sync::{Arc, Barrier};

#[test]
fn join_all_settles_success_panic_and_cancel_in_order() {
    let pool = Pool::builder().threads(1).build().unwrap();
    let (gate, held) = common::hold_worker(&pool);
    let ok = pool.spawn(|| 1);
    let boom = pool.spawn(|| -> i32 { panic!("settled") });
    let cancelled = pool.spawn(|| 3);
    assert!(cancelled.cancel());
    gate.send(()).unwrap();
    let results = corepool::join_all(vec![ok, boom, cancelled]);
    held.join().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(*results[0].as_ref().unwrap(), 1);
    assert!(results[1].as_ref().unwrap_err().is_panic());
    assert!(results[2].as_ref().unwrap_err().is_cancelled());
    let again = futures::executor::block_on(corepool::join_all_async(vec![
        pool.spawn(|| 5),
        pool.spawn(|| 6),
    ]));
    assert_eq!(
        again.into_iter().map(Result::unwrap).collect::<Vec<_>>(),
        [5, 6]
    );
}

#[test]
fn spawn_all_matches_spawn_and_cancels_on_a_closed_pool() {
    let pool = Pool::builder()
        .threads(2)
        .queue_capacity(16)
        .build()
        .unwrap();
    let handles = pool.spawn_all((0..10_000u64).map(|i| move || i));
    let sum: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(sum, (0..10_000).sum());
    let inside = pool.install(|| {
        let p = corepool::Pool::builder().threads(1).build().unwrap();
        drop(p);
        3
    });
    assert_eq!(inside, 3);
    assert_eq!(pool.metrics().spawned, 10_000);
    pool.shutdown();
    let late = pool.spawn_all((0..5).map(|i| move || i));
    assert!(late
        .into_iter()
        .all(|h| h.join().unwrap_err().is_cancelled()));
}

#[test]
fn a_batch_spreads_over_the_pool_while_its_first_task_runs() {
    // Two tasks of one batch that can only finish together: the second must be taken by the
    // other worker while the first waits on it, whether or not that worker was already
    // looking for work when the batch started.
    common::watchdog("groups", || {
        let pool = Pool::builder().threads(2).build().unwrap();
        for _ in 0..200 {
            let both = Arc::new(Barrier::new(2));
            let handles = pool.spawn_all((0..2).map(|i| {
                let both = Arc::clone(&both);
                move || {
                    both.wait();
                    i
                }
            }));
            let results: Vec<i32> = corepool::join_all(handles)
                .into_iter()
                .map(Result::unwrap)
                .collect();
            assert_eq!(results, [0, 1]);
        }
    });
}

#[test]
fn spawn_all_settles_every_handle_and_counts_every_task_under_shutdown_now() {
    common::watchdog("groups", || {
        let pool = Pool::builder()
            .threads(2)
            .queue_capacity(64)
            .build()
            .unwrap();
        let n = 5_000u64;
        let handles = pool.spawn_all((0..n).map(|i| move || i));
        let cancelled = pool.shutdown_now() as u64;
        let mut ran = 0;
        for (i, h) in handles.into_iter().enumerate() {
            match h.join() {
                Ok(v) => {
                    assert_eq!(v, i as u64);
                    ran += 1;
                }
                Err(e) => assert!(e.is_cancelled()),
            }
        }
        assert_eq!(ran + cancelled, n);
        let m = pool.metrics();
        assert_eq!((m.spawned, m.completed, m.cancelled), (n, ran, cancelled));
    });
}
