//! Waking an idle pool: how many workers one piece of work wakes.
//!
//! The sleep protocol's "last searcher to find work wakes one more" rule must count the work
//! the searcher takes itself: a worker woken for a lone task takes it and wakes nobody else.
//! (That no wake-up is ever lost is checked in `workers.rs` and by the loom models.)

mod common;

use common::watchdog;
use corepool::{Pinning, Pool};
use std::time::Duration;

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
