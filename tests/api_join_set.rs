//! `JoinSet` and `AbortHandle`: results in completion order, blocking and async, on and off
//! the pool; cancelling through a handle that does not own the result.

mod common;

use common::{hold_worker, watchdog};
use corepool::{JoinSet, Pool};
use std::sync::mpsc;

#[test]
fn join_next_returns_results_in_completion_order() {
    watchdog("join-set-order", || {
        let pool = Pool::builder().threads(3).build().unwrap();
        let mut set = JoinSet::new();
        let mut releases = Vec::new();
        for i in 0..3 {
            let (tx, rx) = mpsc::channel::<()>();
            releases.push(tx);
            set.spawn(&pool, move || {
                rx.recv().unwrap();
                i
            });
        }
        assert_eq!(set.len(), 3);
        assert!(set.try_join_next().is_none(), "nothing has completed yet");
        for i in [2, 0, 1] {
            releases[i].send(()).unwrap();
            assert_eq!(set.join_next().unwrap().unwrap(), i);
        }
        assert!(set.join_next().is_none());
        assert!(set.is_empty());
    });
}

#[test]
fn join_next_on_a_one_thread_pool_runs_the_tasks_while_it_waits() {
    watchdog("join-set-worker", || {
        let pool = Pool::builder().threads(1).build().unwrap();
        let p = pool.clone();
        let sum: u32 = pool.install(move || {
            let mut set = JoinSet::new();
            for i in 0..10 {
                set.spawn(&p, move || i);
            }
            set.join_all().into_iter().map(Result::unwrap).sum()
        });
        assert_eq!(sum, 45);
    });
}

#[test]
fn join_next_async_and_any_handle_can_join_the_set() {
    watchdog("join-set-async", || {
        let pool = Pool::builder().threads(2).build().unwrap();
        let mut set = JoinSet::new();
        set.insert(pool.spawn(|| 1));
        set.insert(pool.spawn_blocking(|| 2));
        set.insert(pool.spawn_future(async { 3 }));
        let mut got = futures::executor::block_on(async {
            let mut got = Vec::new();
            while let Some(r) = set.join_next_async().await {
                got.push(r.unwrap());
            }
            got
        });
        got.sort();
        assert_eq!(got, [1, 2, 3]);
    });
}

#[test]
fn panics_and_cancellations_come_back_with_their_ids() {
    watchdog("join-set-errors", || {
        let pool = Pool::builder().threads(1).build().unwrap();
        let (release, held) = hold_worker(&pool);
        let mut set = JoinSet::new();
        let panicking = set.spawn(&pool, || -> u8 { panic!("member") });
        let cancelled = set.spawn(&pool, || 2);
        assert!(cancelled.cancel(), "queued behind the held worker");
        assert!(cancelled.is_finished());
        drop(release);
        held.join().unwrap();
        let mut errors = Vec::new();
        while let Some(r) = set.join_next() {
            errors.push(r.unwrap_err());
        }
        errors.sort_by_key(|e| e.is_cancelled());
        assert!(errors[0].is_panic());
        assert_eq!(errors[0].id(), panicking.id());
        assert!(errors[1].is_cancelled());
        assert_eq!(errors[1].id(), cancelled.id());
    });
}

#[test]
fn cancel_all_cancels_what_has_not_started() {
    watchdog("join-set-cancel-all", || {
        let pool = Pool::builder().threads(1).build().unwrap();
        let (release, held) = hold_worker(&pool);
        let mut set = JoinSet::new();
        for i in 0..5 {
            set.spawn(&pool, move || i);
        }
        assert_eq!(set.cancel_all(), 5);
        drop(release);
        held.join().unwrap();
        let results = set.join_all();
        assert_eq!(results.len(), 5);
        assert!(results
            .iter()
            .all(|r| r.as_ref().unwrap_err().is_cancelled()));
    });
}

#[test]
fn an_abort_handle_of_a_running_task_does_not_cancel_it() {
    watchdog("abort-running", || {
        let pool = Pool::builder().threads(1).build().unwrap();
        let (started_tx, started_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let h = pool.spawn(move || {
            started_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            "ran"
        });
        let abort = h.abort_handle();
        let clone = abort.clone();
        started_rx.recv().unwrap();
        assert!(!clone.cancel());
        assert!(!abort.is_finished());
        release_tx.send(()).unwrap();
        assert_eq!(h.join().unwrap(), "ran");
        assert!(abort.is_finished());
    });
}
